"""Baselines to hold FedAlt and FedSim against (same state, same random streams).

- `FedAvg`: nothing personal. Every client's v is the same shared vector: sampled clients
  start from (u^t, v^t), take tau joint local steps, and the server averages both blocks and
  sends the new v to every client.
- `LocalOnly`: no communication. The shared u is never sent anywhere, so it stays at u^0;
  each sampled client takes tau_v steps on its own v_i.
- `FullPersonalization`: every parameter is personal. Each client keeps its own copy u_i of the
  shared block (state the engine carries beside u and V) and trains (u_i, v_i) on its own data,
  with no averaging. The engine's u is the clients' mean of u_i, so Delta_t is measured at the
  averaged model: what full personalization gives the partially personalized objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from altsim.theory import require

from .fedsim import JointSteps
from .noise import NoiseStream, stochastic_grad_v


@dataclass(frozen=True)
class FedAvg(JointSteps):
    """Hyperparameters of FedAvg on the joint parameters (u, v): gamma_u, gamma_v, tau."""

    name = "fedavg"

    def round(self, problem, u: torch.Tensor, V: torch.Tensor, clients: torch.Tensor, noise: NoiseStream, t: int):
        shared_v = V.mean(1)  # all rows are equal after the first round; before it, start from their mean
        u_local = u.unsqueeze(1).expand(*clients.shape, problem.d_u)
        v = shared_v.unsqueeze(1).expand(*clients.shape, problem.d_v)
        u_local, v = self.local_steps(problem, u_local, v, clients, noise, t)
        return u_local.mean(1), v.mean(1, keepdim=True).expand_as(V).clone()


@dataclass(frozen=True)
class LocalOnly:
    """Hyperparameters of local-only training (personal parameters only; u stays at u^0)."""

    gamma_v: float
    """Step size on v; > 0."""
    tau_v: int = 1
    """Local steps on v per round; >= 1."""
    gamma_u: float = 0.0
    """Unused (u is never communicated); kept so that settings line up with the other algorithms."""

    name = "local_only"

    def __post_init__(self) -> None:
        require("gamma_v", self.gamma_v, low=0, low_open=True)
        require("tau_v", self.tau_v, low=1, integer=True)

    def setting(self) -> dict:
        return {"algorithm": self.name, "gamma_u": self.gamma_u, "gamma_v": self.gamma_v, "tau_v": self.tau_v}

    def round(self, problem, u: torch.Tensor, V: torch.Tensor, clients: torch.Tensor, noise: NoiseStream, t: int):
        index = clients.unsqueeze(-1).expand(*clients.shape, problem.d_v)
        u_local = u.unsqueeze(1).expand(*clients.shape, problem.d_u)
        v = V.gather(1, index)
        for k in range(self.tau_v):
            v = v - self.gamma_v * stochastic_grad_v(problem, noise, t, k, u_local, v, clients)
        return u, V.scatter(1, index, v)


@dataclass(frozen=True)
class FullPersonalization(JointSteps):
    """Hyperparameters of full personalization (no shared parameters, no communication): gamma_u (on
    each client's own copy of u), gamma_v, tau."""

    name = "full_personalization"

    def init_extra(self, problem, u: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
        """Per-client copies of u, shape (R, n, d_u), all starting at u^0."""
        return u.unsqueeze(1).expand(u.shape[0], problem.n, problem.d_u).clone()

    def round(self, problem, u, V, clients, noise: NoiseStream, t: int, U_personal: torch.Tensor):
        iu = clients.unsqueeze(-1).expand(*clients.shape, problem.d_u)
        iv = clients.unsqueeze(-1).expand(*clients.shape, problem.d_v)
        u_local, v = self.local_steps(problem, U_personal.gather(1, iu), V.gather(1, iv), clients, noise, t)
        U_new = U_personal.scatter(1, iu, u_local)
        return U_new.mean(1), V.scatter(1, iv, v), U_new
