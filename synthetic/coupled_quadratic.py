r"""Coupled quadratic with bounded periodic nonconvexity: every constant certified in closed form.

For client i, with r = min(d_u, d_v) and the first r coordinates coupled,

.. math::
    F_i(u, v) = \frac a2 \|u\|^2 + \langle b_i, u\rangle + \frac c2 \|v - e_i\|^2
      + A_u \sum_j \cos(\omega u_j) + A_v \sum_j \cos(\omega v_j)
      + s \sum_{j<r} \sin(\theta_u u_j + \theta_v v_j).

The knobs are the target constants. With nu the nonconvexity share and chi the coupling:

- a = (1 - chi - nu) L_u, c = (1 - chi - nu) L_v    (the convex part; needs chi + nu < 1)
- A_u omega^2 = nu L_u, A_v omega^2 = nu L_v        (per-block periodic terms: nonconvex when nu > 1 - chi - nu)
- s theta_u^2 = chi L_u, s theta_v^2 = chi L_v     (coupling: s theta_u theta_v = chi sqrt(L_u L_v))

Certificates (the Hessian of each periodic term is diagonal per coordinate pair):

- L_u = a + A_u omega^2 + s theta_u^2 bounds |eig grad^2_uu F_i|; likewise L_v;
- L_uv = s theta_u theta_v = chi sqrt(L_u L_v) bounds ||grad^2_uv F_i||;
- delta: grad_u F_i - grad_u F = (b_i - mean b) + (coupling gradient - its mean). The
  coupling gradient's coordinates lie in [-s theta_u, s theta_u], so their population
  standard deviation is at most s theta_u sqrt(r) =: delta_c; by Minkowski,
  delta <= delta_c + sqrt((1/n) sum ||b_i - mean b||^2). The b_i are centred and scaled so
  that the second term is exactly delta - delta_c; theta_u is chosen so delta_c <= delta/2.
- F* >= F_lower = -(A_u d_u + A_v d_v + s r): mean b = 0, so the quadratic parts are >= 0.
- sigma_u, sigma_v are exact: the noise is Gaussian with E||xi||^2 = sigma^2.

Knob limits: chi and nu in [0, 1) with chi + nu < 1; delta = 0 needs chi = 0 (otherwise
the coupling gradient differs across clients whatever b is).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from altsim.theory import require

from .problem import Certified, Family, Problem, build_arguments, register


@dataclass(frozen=True)
class CoupledQuadraticConfig:
    """Parameters of the coupled-quadratic family; each is the constant it certifies, where one exists."""

    n: int = 20
    """Number of clients n; an integer >= 1."""
    d_u: int = 10
    """Dimension d_u of the shared parameters u; an integer >= 1."""
    d_v: int = 10
    """Dimension d_v of each personal v_i; an integer >= 1."""
    L_u: float = 1.0
    """Target (and certified) smoothness of the u-block; > 0."""
    L_v: float = 1.0
    """Target (and certified) smoothness of the v-block; > 0."""
    chi: float = 0.5
    """Target (and certified) coupling L_uv / sqrt(L_u L_v); in [0, 1 - nonconvexity)."""
    delta: float = 1.0
    """Target (and certified, for n >= 2) partial gradient diversity; >= 0 (0 needs chi = 0)."""
    sigma_u: float = 0.0
    """Standard deviation of the u-gradient noise, E||xi_u||^2 = sigma_u^2 exactly; >= 0."""
    sigma_v: float = 0.0
    """Standard deviation of the v-gradient noise, E||xi_v||^2 = sigma_v^2 exactly; >= 0."""
    noise_correlation: float = 0.0
    """Correlation, per coordinate, of the u-gradient's noise with the v-gradient's noise drawn at the same
    local step; in [-1, 1]. Not 0 breaks FedAlt's fresh-sample assumption (its bounds then refuse the run);
    FedSim's bounds allow it. Has an effect only when both sigma_u and sigma_v are > 0."""
    nonconvexity: float = 0.3
    """Share nu of each block's curvature held by the periodic terms; in [0, 1), with chi + nonconvexity < 1."""
    frequency: float = 2.0
    """Frequency omega of the per-block periodic terms and the floor of the coupling's; > 0."""
    personal_spread: float = 1.0
    """Scale of the per-client personal optima e_i; >= 0."""
    init_scale: float = 1.0
    """Scale of the initial point (u0, V0); >= 0."""

    def __post_init__(self) -> None:
        for k in ("n", "d_u", "d_v"):
            require(k, getattr(self, k), low=1, integer=True)
        require("L_u", self.L_u, low=0, low_open=True)
        require("L_v", self.L_v, low=0, low_open=True)
        require("nonconvexity", self.nonconvexity, low=0, high=1, high_open=True)
        require("chi", self.chi, low=0, high=1 - self.nonconvexity, high_open=True)
        for k in ("delta", "sigma_u", "sigma_v", "personal_spread", "init_scale"):
            require(k, getattr(self, k), low=0)
        require("frequency", self.frequency, low=0, low_open=True)
        require("noise_correlation", self.noise_correlation, low=-1, high=1)
        if self.delta == 0 and self.chi > 0:
            raise ValueError(
                f"delta=0 with chi={self.chi}: unreachable, the coupling makes u-gradients differ "
                "across clients; use chi=0 or delta>0"
            )


class CoupledQuadratic(Problem):
    """The closed-form family of the module docstring: a coupled quadratic plus bounded periodic terms,
    every constant certified from the config."""

    family = "coupled_quadratic"

    def __init__(
        self,
        config: CoupledQuadraticConfig,
        *,
        seed: int = 0,
        device=torch.device("cpu"),
        dtype=torch.float64,
    ):
        self.device, self.dtype = build_arguments(
            config, CoupledQuadraticConfig, seed, device, dtype
        )
        self.config, self.seed = config, int(seed)
        cfg = config
        self.n, self.d_u, self.d_v = int(cfg.n), int(cfg.d_u), int(cfg.d_v)
        self.r = min(self.d_u, self.d_v)
        self.sigma_u, self.sigma_v = float(cfg.sigma_u), float(cfg.sigma_v)
        self._noise_correlation = float(cfg.noise_correlation)
        convex = 1 - cfg.chi - cfg.nonconvexity
        self.a, self.c = convex * cfg.L_u, convex * cfg.L_v
        self.omega = cfg.frequency
        self.A_u, self.A_v = (
            cfg.nonconvexity * cfg.L_u / self.omega**2,
            cfg.nonconvexity * cfg.L_v / self.omega**2,
        )
        if cfg.chi > 0:
            # Frequency high enough that the coupling takes at most half of delta.
            self.theta_u = max(self.omega, 2 * cfg.chi * cfg.L_u * math.sqrt(self.r) / cfg.delta)
            self.s = cfg.chi * cfg.L_u / self.theta_u**2
            self.theta_v = self.theta_u * math.sqrt(cfg.L_v / cfg.L_u)
        else:
            self.theta_u = self.theta_v = self.s = 0.0
        self.delta_coupling = self.s * self.theta_u * math.sqrt(self.r)
        # Instance data: drawn on the CPU in float64 from the seed, so every device gets the same numbers.
        gen = torch.Generator().manual_seed(self.seed)
        b = torch.randn(self.n, self.d_u, generator=gen, dtype=torch.float64)
        b = b - b.mean(0)
        spread = b.pow(2).sum(1).mean().sqrt()
        b_target = cfg.delta - self.delta_coupling
        b = b * (b_target / spread) if self.n >= 2 and spread > 0 else torch.zeros_like(b)
        e = cfg.personal_spread * torch.randn(self.n, self.d_v, generator=gen, dtype=torch.float64)
        u0 = cfg.init_scale * torch.randn(self.d_u, generator=gen, dtype=torch.float64)
        V0 = cfg.init_scale * torch.randn(self.n, self.d_v, generator=gen, dtype=torch.float64)
        self.b, self.e, self._u0, self._V0 = (x.to(self.device, self.dtype) for x in (b, e, u0, V0))
        self._b_spread = float(b.pow(2).sum(1).mean().sqrt())

    # -- oracles ------------------------------------------------------------------------
    def _phase(self, u, v):
        return self.theta_u * u[..., : self.r] + self.theta_v * v[..., : self.r]

    def loss(self, u, v, clients):
        """F_i(u, v): the quadratic parts, the periodic terms and the coupling sin(theta_u u_j + theta_v v_j)
        over the first r coordinates; shape (..., k)."""
        b, e = self.client_rows(clients, self.b, self.e)
        out = (
            0.5 * self.a * u.pow(2).sum(-1)
            + (b * u).sum(-1)
            + 0.5 * self.c * (v - e).pow(2).sum(-1)
        )
        out = (
            out
            + self.A_u * torch.cos(self.omega * u).sum(-1)
            + self.A_v * torch.cos(self.omega * v).sum(-1)
        )
        if self.s:
            out = out + self.s * torch.sin(self._phase(u, v)).sum(-1)
        return out

    def grad_u(self, u, v, clients):
        """grad_u F_i(u, v) in closed form; shape (..., k, d_u)."""
        g = (
            self.a * u
            + self.client_rows(clients, self.b, self.e)[0]
            - self.A_u * self.omega * torch.sin(self.omega * u)
        )
        if self.s:
            g = g.clone()
            g[..., : self.r] += self.s * self.theta_u * torch.cos(self._phase(u, v))
        return g

    def grad_v(self, u, v, clients):
        """grad_v F_i(u, v) in closed form; shape (..., k, d_v)."""
        h = self.c * (
            v - self.client_rows(clients, self.b, self.e)[1]
        ) - self.A_v * self.omega * torch.sin(self.omega * v)
        if self.s:
            h = h.clone()
            h[..., : self.r] += self.s * self.theta_v * torch.cos(self._phase(u, v))
        return h

    # -- certificates -------------------------------------------------------------------
    def certified_constants(self) -> Certified:
        """The certificates of the module docstring: L_u, L_v, L_uv = chi sqrt(L_u L_v), sigma exactly,
        delta <= delta_c + the spread of the b_i, and F_lower = -(A_u d_u + A_v d_v + s r) with the initial gap."""
        cfg = self.config
        F_lower = -(self.A_u * self.d_u + self.A_v * self.d_v + self.s * self.r)
        delta = self.delta_coupling + self._b_spread if self.n >= 2 else 0.0
        u0, V0 = self.initial_point()
        F0 = float(self.objective(u0, V0))
        return Certified(
            L_u=self.a + self.A_u * self.omega**2 + self.s * self.theta_u**2,
            L_v=self.c + self.A_v * self.omega**2 + self.s * self.theta_v**2,
            L_uv=self.s * self.theta_u * self.theta_v,
            sigma_u=cfg.sigma_u,
            sigma_v=cfg.sigma_v,
            delta=delta,
            delta_F0=F0 - F_lower,
            F_lower=F_lower,
        )

    def initial_point(self):
        """(u0, V0), drawn from the seed at `init_scale` (a copy each call)."""
        return self._u0.clone(), self._V0.clone()

    def describe(self) -> dict:
        """The family, the seed and every config parameter: what identifies the instance."""
        return {"family": self.family, "seed": self.seed, **asdict(self.config)}


def build(
    config: CoupledQuadraticConfig,
    *,
    seed: int = 0,
    device=torch.device("cpu"),
    dtype=torch.float64,
) -> CoupledQuadratic:
    """The `CoupledQuadratic` instance of `config` and `seed` (the family's builder in `FAMILIES`)."""
    return CoupledQuadratic(config, seed=seed, device=device, dtype=dtype)


register(
    Family(
        "coupled_quadratic",
        CoupledQuadraticConfig,
        build,
        "coupled quadratic + bounded periodic nonconvexity; every constant certified in closed form",
        dict(n=5, d_u=3, d_v=2, chi=0.4, delta=1.0, sigma_u=0.3, sigma_v=0.3),
    )
)
