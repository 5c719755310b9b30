"""FedAlt: personal parameters first, then the shared ones (THEORY.md section 2, [P]).

Round t, for every sampled client i in S_t (all at once, batched):

    v <- v_i^t                                    # the client's own v
    repeat tau_v times:  v <- v - gamma_v * h_i(u^t, v)     # u held at u^t
    v_i^{t+1} <- v
    u_i <- u^t
    repeat tau_u times:  u_i <- u_i - gamma_u * g_i(u_i, v_i^{t+1})   # the NEW v
server:   u^{t+1} <- (1/m) sum_{i in S_t} u_i
clients not in S_t keep v_i^t.

g_i, h_i are stochastic gradients (exact plus the problem's noise) drawn from the
counter-based stream at (seed, t, i, step, block).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from altsim.theory import require

from .noise import NoiseStream, stochastic_grad_u, stochastic_grad_v


@dataclass(frozen=True)
class FedAlt:
    """Hyperparameters of FedAlt."""

    gamma_u: float
    """Step size on u; > 0."""
    gamma_v: float
    """Step size on v; > 0."""
    tau_u: int = 1
    """Local steps on u per round; >= 1."""
    tau_v: int = 1
    """Local steps on v per round; >= 1."""
    stateless: bool = False
    """Stateless clients: a sampled client starts its personal steps from its initial v_i^0, not
    from the v_i it left last time (clients that cannot keep state between rounds)."""

    name = "fedalt"

    @classmethod
    def official(cls, gamma: float, tau: int = 1, stateless: bool = False) -> "FedAlt":
        """The official code's variant: one step size and one number of local steps for both blocks."""
        return cls(gamma_u=gamma, gamma_v=gamma, tau_u=tau, tau_v=tau, stateless=stateless)

    def __post_init__(self) -> None:
        require("gamma_u", self.gamma_u, low=0, low_open=True)
        require("gamma_v", self.gamma_v, low=0, low_open=True)
        require("tau_u", self.tau_u, low=1, integer=True)
        require("tau_v", self.tau_v, low=1, integer=True)

    def setting(self) -> dict:
        return {"algorithm": self.name, "gamma_u": self.gamma_u, "gamma_v": self.gamma_v,
                "tau_u": self.tau_u, "tau_v": self.tau_v, "stateless": self.stateless}

    def round(self, problem, u: torch.Tensor, V: torch.Tensor, clients: torch.Tensor, noise: NoiseStream, t: int):
        """One round: u (R, d_u), V (R, n, d_v), clients (R, m) -> (u^{t+1}, V^{t+1})."""
        index = clients.unsqueeze(-1).expand(*clients.shape, problem.d_v)
        u_local = u.unsqueeze(1).expand(*clients.shape, problem.d_u)
        v = (problem.initial_point()[1].expand_as(V) if self.stateless else V).gather(1, index)
        for k in range(self.tau_v):
            v = v - self.gamma_v * stochastic_grad_v(problem, noise, t, k, u_local, v, clients)
        for k in range(self.tau_u):
            u_local = u_local - self.gamma_u * stochastic_grad_u(problem, noise, t, k, u_local, v, clients)
        return u_local.mean(1), V.scatter(1, index, v)
