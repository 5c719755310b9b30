r"""Kinked quadratics: clients that are concave near their centre and convex outside, constants certified
exactly. An adversarial family for `altsim falsify` (docs/theory.md section 8).

Problem
-------
Client i, coordinates k of u (no coupling, chi = 0):

.. math::
    F_i(u, v) = \sum_k \psi_i(u_k - c_{ik}) + \frac{L_v}{2}\lVert v - e_i\rVert^2,

where psi_i(x) = L_u x^2/2 (a convex client) or, for the last `kinked` clients, the concave-core
function psi(x) = -L_u x^2/2 on |x| <= r and L_u (|x| - 2r)^2/2 - L_u r^2 outside: C^1, curvature -L_u
inside and +L_u outside, so grad_u is L_u-Lipschitz everywhere and F_i is bounded below (by -L_u r^2 per
coordinate, at |x| = 2r).

Such clients are where the proofs' inequalities become equalities: a pure quadratic at curvature
L_u attains the descent lemma, and a client whose local run stays inside its concave core drifts
as far as the drift lemma allows (its gradient grows by (1 + alpha L_u) per step).

Certified constants (exact)
---------------------------
L_u, L_v as given, L_uv = 0; sigma_u, sigma_v the noise (exact plus sigma/sqrt(d) z);
delta^2 = sum_k sup_x Var_i psi_i'(x - c_ik): on each interval between the kinks (c_ik +- r) every
psi_i' is affine, so the variance is a convex quadratic and its supremum over the line is at a kink
(beyond the outermost kinks every slope is L_u and the variance is constant); F* exactly, per
coordinate, as the smallest of the average's values at the kinks and at each interval's stationary
point (the average is a quadratic on each interval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .problem import Certified, Family, Problem, build_arguments, register


@dataclass(frozen=True)
class KinkedQuadraticConfig:
    """Parameters of the kinked-quadratic family (no coupling: chi = 0); L_u and L_v are its exact constants."""

    n: int = 2
    """Number of clients n; an integer >= 1."""
    d_u: int = 1
    """Dimension d_u of u; an integer >= 1."""
    d_v: int = 1
    """Dimension d_v of each v_i; an integer >= 1."""
    L_u: float = 1.0
    """Curvature magnitude in u (+L_u outside a concave core, -L_u inside); > 0."""
    L_v: float = 1.0
    """Curvature in v (the same for every client); > 0."""
    kinked: int = 1
    """How many clients (the last ones) have a concave core; an integer in [0, n]."""
    radius: float = 1.0
    """Half-width r of each concave core; > 0."""
    spread: float = 1.0
    """Standard deviation of the centres c_ik (the clients' disagreement, so delta); >= 0."""
    sigma_u: float = 0.0
    """Standard deviation of the u-gradient noise (additive Gaussian, exact); >= 0."""
    sigma_v: float = 0.0
    """Standard deviation of the v-gradient noise (additive Gaussian, exact); >= 0."""
    noise_correlation: float = 0.0
    """Correlation, per coordinate, of the u-gradient's noise with the v-gradient's noise drawn at the same
    local step; in [-1, 1]. Not 0 breaks FedAlt's fresh-sample assumption (its bounds then refuse the run);
    FedSim's bounds allow it. Has an effect only when both sigma_u and sigma_v are > 0."""
    init_scale: float = 1.0
    """Standard deviation of u^0 and of v_i^0 - e_i; >= 0."""

    def __post_init__(self) -> None:
        from altsim.theory import require

        require("n", self.n, low=1, integer=True)
        require("d_u", self.d_u, low=1, integer=True)
        require("d_v", self.d_v, low=1, integer=True)
        require("L_u", self.L_u, low=0, low_open=True)
        require("L_v", self.L_v, low=0, low_open=True)
        require("kinked", self.kinked, low=0, high=self.n, integer=True)
        require("radius", self.radius, low=0, low_open=True)
        for k in ("spread", "sigma_u", "sigma_v", "init_scale"):
            require(k, getattr(self, k), low=0)
        require("noise_correlation", self.noise_correlation, low=-1, high=1)


def _psi(x: torch.Tensor, kinked: torch.Tensor, L: float, r: float) -> torch.Tensor:
    """psi_i(x) elementwise; `kinked` (broadcast against x) marks the concave-core clients."""
    core = torch.where(x.abs() <= r, -L * x**2 / 2, L * (x.abs() - 2 * r) ** 2 / 2 - L * r**2)
    return torch.where(kinked, core, L * x**2 / 2)


def _psi_grad(x: torch.Tensor, kinked: torch.Tensor, L: float, r: float) -> torch.Tensor:
    """psi_i'(x) elementwise: the oracles use it, and the certificates (on float64 CPU copies of the data)."""
    core = torch.where(x.abs() <= r, -L * x, L * (x - 2 * r * torch.sign(x)))
    return torch.where(kinked, core, L * x)


def _on_cpu(f, x: np.ndarray, kinked: np.ndarray, L: float, r: float) -> np.ndarray:
    return f(torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(kinked), L, r).numpy()


class KinkedQuadratic(Problem):
    """See the module docstring."""

    family = "kinked_quadratic"

    def __init__(
        self,
        config: KinkedQuadraticConfig,
        *,
        seed: int = 0,
        device=torch.device("cpu"),
        dtype=torch.float64,
    ):
        cfg = config
        self.device, self.dtype = build_arguments(cfg, KinkedQuadraticConfig, seed, device, dtype)
        self.cfg = self.config = cfg
        self.seed = int(seed)
        self.n, self.d_u, self.d_v = cfg.n, cfg.d_u, cfg.d_v
        self.sigma_u, self.sigma_v = cfg.sigma_u, cfg.sigma_v
        self._noise_correlation = float(cfg.noise_correlation)
        g = torch.Generator().manual_seed(seed)
        draw = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
        centres, self._e = cfg.spread * draw(cfg.n, cfg.d_u), draw(cfg.n, cfg.d_v)
        u0, dv = cfg.init_scale * draw(cfg.d_u), cfg.init_scale * draw(cfg.n, cfg.d_v)
        self._centres_np = centres.numpy()
        self._kinked_np = (np.arange(cfg.n) >= cfg.n - cfg.kinked)[:, None] & np.ones(
            (1, cfg.d_u), dtype=bool
        )
        self.c = centres.to(self.device, dtype)
        self.e = self._e.to(self.device, dtype)
        self.kinked = torch.as_tensor(self._kinked_np[:, 0], device=self.device)
        self._u0 = u0.to(self.device, dtype)
        self._V0 = (self._e + dv).to(self.device, dtype)

    def _x(self, u, clients):
        (c,) = self.client_rows(clients, self.c)
        return u - c

    def loss(self, u, v, clients):
        """F_i(u, v) = sum_k psi_i(u_k - c_ik) + (L_v/2)||v - e_i||^2; shape (..., k)."""
        cfg = self.cfg
        psi = _psi(self._x(u, clients), self.kinked[clients].unsqueeze(-1), cfg.L_u, cfg.radius)
        (e,) = self.client_rows(clients, self.e)
        return psi.sum(-1) + cfg.L_v / 2 * (v - e).pow(2).sum(-1)

    def grad_u(self, u, v, clients):
        """grad_u F_i: psi_i' per coordinate (slope -L_u inside a concave core, +L_u outside); shape (..., k, d_u)."""
        return _psi_grad(
            self._x(u, clients), self.kinked[clients].unsqueeze(-1), self.cfg.L_u, self.cfg.radius
        )

    def grad_v(self, u, v, clients):
        """grad_v F_i = L_v (v - e_i); shape (..., k, d_v)."""
        (e,) = self.client_rows(clients, self.e)
        return self.cfg.L_v * (v - e)

    def initial_point(self):
        """(u0, V0): u0 = init_scale * normal, v_i^0 = e_i + init_scale * normal, drawn from the seed."""
        return self._u0.clone(), self._V0.clone()

    def _kinks(self, k: int) -> np.ndarray:
        c, kinked = self._centres_np[:, k], self._kinked_np[:, k]
        return np.sort(
            np.concatenate([c[kinked] - self.cfg.radius, c[kinked] + self.cfg.radius, [0.0]])
        )

    def certified_delta(self) -> float:
        """The exact partial gradient diversity: sqrt of sum over coordinates k of sup_x Var_i psi_i'(x - c_ik),
        each supremum taken at a kink (the variance is a convex quadratic between kinks)."""
        cfg, total = self.cfg, 0.0
        for k in range(self.d_u):
            x = self._kinks(
                k
            )  # the supremum of the variance is at a kink (or anywhere, without kinks)
            g = _on_cpu(
                _psi_grad,
                x[None, :] - self._centres_np[:, k : k + 1],
                self._kinked_np[:, k : k + 1],
                cfg.L_u,
                cfg.radius,
            )
            total += float(g.var(axis=0).max())
        return math.sqrt(total)

    def exact_minimum_u(self) -> float:
        """min over u of (1/n) sum_i sum_k psi_i(u_k - c_ik), exactly (per coordinate, piecewise quadratic)."""
        cfg, total = self.cfg, 0.0
        for k in range(self.d_u):
            c, kinked = self._centres_np[:, k : k + 1], self._kinked_np[:, k : k + 1]
            kinks = np.unique(self._kinks(k))
            span = 4 * (cfg.radius + np.abs(c).max() + 1.0)
            edges = np.concatenate([[kinks[0] - span], kinks, [kinks[-1] + span]])
            candidates = [kinks]
            for a, b in zip(
                edges[:-1], edges[1:]
            ):  # the mean gradient is affine on (a, b): its root, if inside
                ga, gb = (
                    float(
                        _on_cpu(_psi_grad, np.array([[t]]) - c, kinked, cfg.L_u, cfg.radius).mean()
                    )
                    for t in (a, b)
                )
                if ga != gb:
                    root = a - ga * (b - a) / (gb - ga)
                    if a <= root <= b:
                        candidates.append(np.array([root]))
            xs = np.concatenate(candidates)
            total += float(
                _on_cpu(_psi, xs[None, :] - c, kinked, cfg.L_u, cfg.radius).mean(axis=0).min()
            )
        return total

    def certified_constants(self) -> Certified:
        """L_u, L_v and sigma as configured, L_uv = 0, delta from `certified_delta`, F_lower the exact minimum
        (`exact_minimum_u`; the v-part's is 0) and the initial gap above it."""
        F_lower = self.exact_minimum_u()  # the v-part's minimum is 0, at v_i = e_i
        u0, V0 = self.initial_point()
        return Certified(
            L_u=self.cfg.L_u,
            L_v=self.cfg.L_v,
            L_uv=0.0,
            sigma_u=self.sigma_u,
            sigma_v=self.sigma_v,
            delta=self.certified_delta(),
            delta_F0=float(self.objective(u0, V0)) - F_lower,
            F_lower=F_lower,
        )


register(
    Family(
        "kinked_quadratic",
        KinkedQuadraticConfig,
        KinkedQuadratic,
        "adversarial: clients concave near their centre and convex outside (chi = 0); every constant exact",
        dict(n=4, d_u=2, d_v=2, kinked=2, radius=0.7, spread=1.0, sigma_u=0.3, sigma_v=0.2),
    )
)
