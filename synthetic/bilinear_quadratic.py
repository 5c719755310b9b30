r"""Bilinear quadratics: every curvature at its certified constant, the coupling at exactly L_uv. An
adversarial family for `altsim falsify` (docs/theory.md section 8).

Problem
-------
Client i, with x = u - a_i, y = v_i - b_i and P the d_u x d_v matrix with ones on its diagonal:

.. math::
    F_i(u, v_i) = \frac{L_u}{2}\lVert x\rVert^2 + L_{uv}\,\langle x, P y\rangle + \frac{L_v}{2}\lVert y\rVert^2,
    \qquad \chi = L_{uv}/\sqrt{L_u L_v} < 1.

The Hessian blocks are L_u I, L_v I and L_uv P exactly, so the descent lemma of the joint step
(curvature 1 + chi in the scaled coordinates, along the direction where u and v move together)
is an equality: the instance that shows whether a bound's chi-dependence is attained. The centres
a_i differ across clients (spread), the b_i are standard normal.

Certified constants (exact)
---------------------------
L_u, L_v, L_uv as given; sigma_u, sigma_v the noise (exact plus sigma/sqrt(d) z; `noise_correlation`
as in the closed-form family). delta is infinite: grad_u F_i = L_u x + L_uv P y differs across clients
by as much as their v_i do, and A3 takes the supremum over every V. So only bounds without delta
(full participation, one step: `fedsim_gd_full`, `fedsim_sgd_full`, `fedalt_gd_full`, `fedalt_sgd_full`)
say anything here. F* exactly: minimising over v_i leaves (L_u/2)((1 - chi^2)||x_{:r}||^2 + ||x_{r:}||^2),
r = min(d_u, d_v), minimised over u at the mean of the a_i.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .problem import Certified, Family, Problem, build_arguments, register


@dataclass(frozen=True)
class BilinearQuadraticConfig:
    """Parameters of the bilinear-quadratic family; the curvatures and the coupling are its exact constants."""

    n: int = 4
    """Number of clients n; an integer >= 1."""
    d_u: int = 2
    """Dimension d_u of u; an integer >= 1."""
    d_v: int = 2
    """Dimension d_v of each v_i; an integer >= 1."""
    L_u: float = 1.0
    """Curvature in u (exactly L_u); > 0."""
    L_v: float = 1.0
    """Curvature in v (exactly L_v); > 0."""
    chi: float = 0.5
    """Coupling L_uv / sqrt(L_u L_v); in [0, 1) (1 would make F_i flat along a direction)."""
    spread: float = 1.0
    """Standard deviation of the centres a_i (the clients' disagreement on u); >= 0."""
    sigma_u: float = 0.0
    """Standard deviation of the u-gradient noise (additive Gaussian, exact); >= 0."""
    sigma_v: float = 0.0
    """Standard deviation of the v-gradient noise (additive Gaussian, exact); >= 0."""
    noise_correlation: float = 0.0
    """Correlation of the u-noise with the v-noise of the same local step; in [-1, 1] (see coupled_quadratic)."""
    init_scale: float = 1.0
    """Standard deviation of u^0 and of v_i^0 - b_i; >= 0."""

    def __post_init__(self) -> None:
        from altsim.theory import require

        for k in ("n", "d_u", "d_v"):
            require(k, getattr(self, k), low=1, integer=True)
        require("L_u", self.L_u, low=0, low_open=True)
        require("L_v", self.L_v, low=0, low_open=True)
        require("chi", self.chi, low=0, high=1, high_open=True)
        for k in ("spread", "sigma_u", "sigma_v", "init_scale"):
            require(k, getattr(self, k), low=0)
        require("noise_correlation", self.noise_correlation, low=-1, high=1)


class BilinearQuadratic(Problem):
    """See the module docstring."""

    family = "bilinear_quadratic"

    def __init__(
        self,
        config: BilinearQuadraticConfig,
        *,
        seed: int = 0,
        device=torch.device("cpu"),
        dtype=torch.float64,
    ):
        cfg = config
        self.device, self.dtype = build_arguments(cfg, BilinearQuadraticConfig, seed, device, dtype)
        self.cfg = self.config = cfg
        self.seed = int(seed)
        self.n, self.d_u, self.d_v = cfg.n, cfg.d_u, cfg.d_v
        self.sigma_u, self.sigma_v = cfg.sigma_u, cfg.sigma_v
        self._noise_correlation = float(cfg.noise_correlation)
        self.r = min(cfg.d_u, cfg.d_v)
        self.L_uv = cfg.chi * math.sqrt(cfg.L_u * cfg.L_v)
        g = torch.Generator().manual_seed(seed)
        draw = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
        a, b = cfg.spread * draw(cfg.n, cfg.d_u), draw(cfg.n, cfg.d_v)
        u0, dv = cfg.init_scale * draw(cfg.d_u), cfg.init_scale * draw(cfg.n, cfg.d_v)
        self._a64 = a
        self.a, self.b = a.to(self.device, dtype), b.to(self.device, dtype)
        self._u0, self._V0 = u0.to(self.device, dtype), (b + dv).to(self.device, dtype)

    def _xy(self, u, v, clients):
        a, b = self.client_rows(clients, self.a, self.b)
        return u - a, v - b

    def _Py(self, y):  # P y: the first r coordinates of y, padded to d_u
        out = y.new_zeros(*y.shape[:-1], self.d_u)
        out[..., : self.r] = y[..., : self.r]
        return out

    def _Ptx(self, x):  # P^T x
        out = x.new_zeros(*x.shape[:-1], self.d_v)
        out[..., : self.r] = x[..., : self.r]
        return out

    def loss(self, u, v, clients):
        """F_i(u, v) = (L_u/2)||x||^2 + L_uv <x, P y> + (L_v/2)||y||^2 with x = u - a_i, y = v - b_i; shape (..., k)."""
        cfg = self.cfg
        x, y = self._xy(u, v, clients)
        return (
            cfg.L_u / 2 * x.pow(2).sum(-1)
            + self.L_uv * (x * self._Py(y)).sum(-1)
            + cfg.L_v / 2 * y.pow(2).sum(-1)
        )

    def grad_u(self, u, v, clients):
        """grad_u F_i = L_u x + L_uv P y; shape (..., k, d_u)."""
        x, y = self._xy(u, v, clients)
        return self.cfg.L_u * x + self.L_uv * self._Py(y)

    def grad_v(self, u, v, clients):
        """grad_v F_i = L_v y + L_uv P^T x; shape (..., k, d_v)."""
        x, y = self._xy(u, v, clients)
        return self.cfg.L_v * y + self.L_uv * self._Ptx(x)

    def initial_point(self):
        """(u0, V0): u0 = init_scale * normal, v_i^0 = b_i + init_scale * normal, drawn from the seed."""
        return self._u0.clone(), self._V0.clone()

    def exact_minimum(self) -> float:
        """min F: per coordinate k of u, (c_k / 2) Var_i(a_ik), c_k = L_u (1 - chi^2) for k < r, else L_u."""
        cfg = self.cfg
        var = self._a64.var(dim=0, unbiased=False)
        c = torch.full((cfg.d_u,), cfg.L_u, dtype=torch.float64)
        c[: self.r] = cfg.L_u * (1 - cfg.chi**2)
        return float((c / 2 * var).sum())

    def certified_constants(self) -> Certified:
        """L_u, L_v, L_uv and sigma exactly as configured, delta = inf (A3 fails for every finite delta here),
        F_lower = the exact minimum (`exact_minimum`) and the initial gap above it."""
        F_lower = self.exact_minimum()
        u0, V0 = self.initial_point()
        return Certified(
            L_u=self.cfg.L_u,
            L_v=self.cfg.L_v,
            L_uv=self.L_uv,
            sigma_u=self.sigma_u,
            sigma_v=self.sigma_v,
            delta=math.inf,
            delta_F0=float(self.objective(u0, V0)) - F_lower,
            F_lower=F_lower,
        )


register(
    Family(
        "bilinear_quadratic",
        BilinearQuadraticConfig,
        BilinearQuadratic,
        "adversarial: pure quadratics, coupling at exactly L_uv (delta infinite: for the full-participation "
        "bounds)",
        dict(n=4, d_u=2, d_v=3, chi=0.6, spread=1.0, sigma_u=0.3, sigma_v=0.2),
    )
)
