"""FedSim: shared and personal parameters updated at the same time (THEORY.md section 2, [P]).

Round t, for every sampled client i in S_t (all at once, batched):

    (u_i, v) <- (u^t, v_i^t)
    repeat tau times:                      # both gradients at the same local point
        g, h <- g_i(u_i, v), h_i(u_i, v)
        u_i <- u_i - gamma_u * g
        v   <- v   - gamma_v * h
    v_i^{t+1} <- v
server:   u^{t+1} <- (1/m) sum_{i in S_t} u_i
clients not in S_t keep v_i^t.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from altsim.theory import require

from .noise import NoiseStream, stochastic_grad_u, stochastic_grad_v


@dataclass(frozen=True)
class JointSteps:
    """Hyperparameters shared by the algorithms that step both blocks at once (FedSim, FedAvg,
    full personalization), and their local loop."""

    gamma_u: float
    """Step size on u; > 0."""
    gamma_v: float
    """Step size on v; > 0."""
    tau: int = 1
    """Local steps per round, each on both blocks; >= 1."""

    name = "joint"

    def __post_init__(self) -> None:
        require("gamma_u", self.gamma_u, low=0, low_open=True)
        require("gamma_v", self.gamma_v, low=0, low_open=True)
        require("tau", self.tau, low=1, integer=True)

    def setting(self) -> dict:
        return {"algorithm": self.name, "gamma_u": self.gamma_u, "gamma_v": self.gamma_v, "tau": self.tau}

    def local_steps(self, problem, u_local, v, clients, noise: NoiseStream, t: int):
        """tau steps on both blocks, both gradients at the same local point."""
        for k in range(self.tau):
            g = stochastic_grad_u(problem, noise, t, k, u_local, v, clients)
            h = stochastic_grad_v(problem, noise, t, k, u_local, v, clients)
            u_local, v = u_local - self.gamma_u * g, v - self.gamma_v * h
        return u_local, v


@dataclass(frozen=True)
class FedSim(JointSteps):
    """Hyperparameters of FedSim."""

    stateless: bool = False
    """Stateless clients: a sampled client starts from its initial v_i^0 (see FedAlt.stateless)."""

    name = "fedsim"

    @classmethod
    def official(cls, gamma: float, tau: int = 1, stateless: bool = False) -> "FedSim":
        """The official code's variant: one step size for both blocks."""
        return cls(gamma_u=gamma, gamma_v=gamma, tau=tau, stateless=stateless)

    def setting(self) -> dict:
        return {**super().setting(), "stateless": self.stateless}

    def round(self, problem, u: torch.Tensor, V: torch.Tensor, clients: torch.Tensor, noise: NoiseStream, t: int):
        """One round: u (R, d_u), V (R, n, d_v), clients (R, m) -> (u^{t+1}, V^{t+1})."""
        index = clients.unsqueeze(-1).expand(*clients.shape, problem.d_v)
        u_local = u.unsqueeze(1).expand(*clients.shape, problem.d_u)
        v = (problem.initial_point()[1].expand_as(V) if self.stateless else V).gather(1, index)
        u_local, v = self.local_steps(problem, u_local, v, clients, noise, t)
        return u_local.mean(1), V.scatter(1, index, v)
