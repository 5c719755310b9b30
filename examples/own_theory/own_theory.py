"""Your own theory, tested by altsim: an algorithm, a problem family and two bounds, in one plugin.

Copy this folder, edit this file, and name it in a config (`plugins = ["own_theory"]`, looked for
next to the config first) or on the command line (`--plugins own_theory`, looked for in the current
folder first). Importing it registers everything below, after which altsim treats it like its own:
`altsim run`, sweeps, `altsim falsify`, `altsim bound`, `altsim problem`, `altsim plot`, and every
executor.

- The algorithm, `fedalt_shared_first`: FedAlt with the order of its blocks swapped. Each sampled
  client takes its steps on the shared u first (at its own v_i), then on its personal v_i at the u
  it reached; the server averages u.
- The family, `separable_quadratic`: F_i(u, v) = a/2 ||u - b_i||^2 + c/2 ||v - e_i||^2, whose
  constants are exact: L_u = a, L_v = c, L_uv = 0, delta^2 = a^2 mean_i ||b_i - mean b||^2, and
  F* = a/2 mean_i ||b_i - mean b||^2.
- Two bounds on the new algorithm, deterministic, full participation, one step per block:
  - `shared_first_gd` (plausible): 2 Delta_F0 / (c(eta) T) with c(eta) = eta (1 - eta/2), for
    eta <= min(1, 1/(chi sqrt 2)). At full participation with one step per block the two blocks
    play symmetric roles, so this is FedAlt's cruder bound (altsim's docs/theory.md section 7.5)
    with u and v exchanged;
  - `shared_first_too_small`: the same divided by 8, a proof that lost a factor. `altsim falsify`
    breaks it within seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp
import torch

from altsim.rates import FedAlt, LocalState, register_algorithm
from altsim.rates.noise import BLOCK_U, stochastic_grad_u, stochastic_grad_v
from altsim.synthetic import Certified, Family, Problem, register
from altsim.theory import Bound, Condition, register_bound
from altsim.theory.conditions import (
    DETERMINISTIC,
    FULL_PARTICIPATION,
    ONE_STEP_EACH,
    STATEFUL_CLIENTS,
    STEP_RULE,
)
from altsim.theory.symbols import Delta_F0, T, chi, eta


# --- the algorithm ----------------------------------------------------------------------------
@register_algorithm
@dataclass(frozen=True)
class SharedFirst(FedAlt):
    """FedAlt with its blocks swapped: tau_u steps on u at the client's v_i, then tau_v steps on v_i at
    the u it reached. Step sizes, local steps and options are FedAlt's (`from_experiment` too)."""

    name = "fedalt_shared_first"
    label, color, marker = "FedAlt, shared first (plugin)", "#CC79A7", "D"

    def local_update(self, problem, local: LocalState, noise, t: int) -> LocalState:
        """tau_u steps on u with v held at v_i^t, then tau_v steps on v at the client's new u."""
        u, v = local.u, local.v
        for k in range(self.tau_u):
            u = u - self.gamma_u * stochastic_grad_u(
                problem, noise, t, k, u, v, local.clients, BLOCK_U
            )
        for k in range(self.tau_v):
            v = v - self.gamma_v * stochastic_grad_v(problem, noise, t, k, u, v, local.clients)
        return local.with_(u=u, v=v)


# --- the family -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SeparableQuadraticConfig:
    """Parameters of `separable_quadratic`."""

    n: int = 8
    """Clients; >= 1."""
    d: int = 4
    """Dimension of u and of each v_i; >= 1."""
    a: float = 1.0
    """Curvature in u (L_u); > 0."""
    c: float = 2.0
    """Curvature in v (L_v); > 0."""
    spread: float = 1.0
    """Scale of the clients' optima b_i of u (the diversity delta grows with it); >= 0."""
    sigma_u: float = 0.0
    """Gradient noise on u (standard deviation of the whole vector); >= 0."""
    sigma_v: float = 0.0
    """Gradient noise on v; >= 0."""

    def __post_init__(self) -> None:
        for name in ("n", "d"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r}: must be an integer >= 1")
        for name, low in (("a", 0.0), ("c", 0.0)):
            if not getattr(self, name) > low:
                raise ValueError(f"{name}={getattr(self, name)!r}: must be > 0")
        for name in ("spread", "sigma_u", "sigma_v"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name}={getattr(self, name)!r}: must be >= 0")


class SeparableQuadratic(Problem):
    """F_i(u, v) = a/2 ||u - b_i||^2 + c/2 ||v - e_i||^2, with b_i, e_i drawn from the seed."""

    family = "separable_quadratic"

    def __init__(self, cfg, *, seed=0, device="cpu", dtype=torch.float64):
        self.config, self.seed = cfg, seed
        self.device, self.dtype = torch.device(device), dtype
        self.n, self.d_u, self.d_v = cfg.n, cfg.d, cfg.d
        self.sigma_u, self.sigma_v = cfg.sigma_u, cfg.sigma_v
        gen = torch.Generator().manual_seed(seed)
        b = cfg.spread * torch.randn(cfg.n, cfg.d, generator=gen, dtype=torch.float64)
        e = torch.randn(cfg.n, cfg.d, generator=gen, dtype=torch.float64)
        self.b, self.e = b.to(self.device, dtype), e.to(self.device, dtype)

    def loss(self, u, v, clients):
        """F_i(u, v) for each client index."""
        b, e = self.client_rows(clients, self.b, self.e)
        return 0.5 * self.config.a * (u - b).pow(2).sum(-1) + 0.5 * self.config.c * (v - e).pow(
            2
        ).sum(-1)

    def grad_u(self, u, v, clients):
        """a (u - b_i)."""
        return self.config.a * (u - self.client_rows(clients, self.b)[0])

    def grad_v(self, u, v, clients):
        """c (v - e_i)."""
        return self.config.c * (v - self.client_rows(clients, self.e)[0])

    def initial_point(self):
        """u0 = 0 and every v_i = 0."""
        zeros = dict(dtype=self.dtype, device=self.device)
        return torch.zeros(self.d_u, **zeros), torch.zeros(self.n, self.d_v, **zeros)

    def certified_constants(self) -> Certified:
        """Every constant exact: grad_u F_i - grad_u F = -a (b_i - mean b), so delta^2 is a^2 times the
        spread of the b_i, and F* = a/2 mean_i ||b_i - mean b||^2 (u = mean b, v_i = e_i)."""
        cfg = self.config
        spread2 = float((self.b - self.b.mean(0)).pow(2).sum(-1).mean())
        F_star = 0.5 * cfg.a * spread2
        u0, V0 = self.initial_point()
        return Certified(
            L_u=cfg.a,
            L_v=cfg.c,
            L_uv=0.0,
            sigma_u=cfg.sigma_u,
            sigma_v=cfg.sigma_v,
            delta=cfg.a * math.sqrt(spread2),
            delta_F0=float(self.objective(u0, V0)) - F_star,
            F_lower=F_star,
        )

    def describe(self) -> dict:
        """The family, its parameters and the seed: what makes two instances the same."""
        return {"family": self.family, "seed": self.seed, **vars(self.config)}


register(
    Family(
        "separable_quadratic",
        SeparableQuadraticConfig,
        SeparableQuadratic,
        "separable quadratics, every constant exact (examples/own_theory)",
        dict(n=5, d=2, sigma_u=0.3, sigma_v=0.3),
    )
)


# --- the bounds -------------------------------------------------------------------------------
_c = eta * (1 - eta / 2)
_eta_max = 1 / sp.Max(1, chi * sp.sqrt(2))  # min(1, 1/(chi sqrt 2))
_CONDITIONS = (
    *ONE_STEP_EACH,
    STEP_RULE,
    FULL_PARTICIPATION,
    *DETERMINISTIC,
    STATEFUL_CLIENTS,
    Condition(eta <= 1, "eta <= 1", "step_range"),
    Condition(eta * chi * sp.sqrt(2) <= 1, "eta chi sqrt(2) <= 1", "step_range"),
)

register_bound(
    Bound(
        name="shared_first_gd",
        algorithm="fedalt_shared_first",
        expression=2 * Delta_F0 / (_c * T),
        conditions=_CONDITIONS,
        provenance="D",
        reference="examples/own_theory: FedAlt's cruder bound with u and v exchanged",
        summary="shared first, deterministic, full participation, one step per block",
        eta_max=_eta_max,
        rate="T^-1",
    )
)

register_bound(
    Bound(
        name="shared_first_too_small",
        algorithm="fedalt_shared_first",
        expression=Delta_F0 / (4 * _c * T),
        conditions=_CONDITIONS,
        provenance="D",
        reference="examples/own_theory: a proof that lost a factor 8 (falsify breaks it)",
        summary="deliberately too small: shared_first_gd / 8",
        eta_max=_eta_max,
        rate="T^-1",
    )
)
