r"""Shared representation with personal heads: nonconvex bilinear least squares.

The shared u is a feature map U (k x p, flattened row-major) and client i's personal v_i is a
head in R^k. Client i holds N samples x_ij ~ N(0, I_p) with labels from a teacher,
y_ij = w_i^T U* x_ij + label_noise * e_ij, whose heads w_i = w_0 + head_spread * g_i differ across
clients: the structure of the paper's experiments (a shared body, a personal last layer).

.. math::
    F_i(U, v) = \frac{1}{2N} \sum_j (v^T U x_{ij} - y_{ij})^2 + \frac{\mu}{2}(\|U\|_F^2 + \|v\|^2).

With r_j = v^T U x_j - y_j, Sigma_i = X_i^T X_i / N (operator norm lambda_i), c_i = X_i^T y_i / N
and e_i = Sigma_i U^T v - c_i: grad_v F_i = U e_i + ... = U Sigma_i U^T v - U c_i + mu v and
grad_U F_i = v e_i^T + mu U.

Certificates hold on the region ||U||_F <= B_U, ||v|| <= B_v (the bilinear model has no global
constants); `inside_region` tells whether a state lies in it, and runs should be checked
against it (the measured constants along a trajectory show whether they stay inside):

- L_u = B_v^2 max_i lambda_i + mu, L_v = B_U^2 max_i lambda_i + mu (Hessian blocks v v^T (.) Sigma_i and U Sigma_i U^T);
- L_uv = max_i (2 lambda_i B_U B_v + ||c_i||) (the cross derivative b e_i^T + v (Sigma_i U^T b)^T);
- delta^2 <= (1/n) sum_i B_v^2 (lambda_i B_U B_v + ||c_i||)^2 (the variance is at most the second moment
  of the client-specific part; the ridge gradient is common to all clients and cancels);
- minibatch noise: sigma^2 <= max_i (N-b)/(b(N-1)) (1/N) sum_j G_ij^2, G_ij the region's bound on
  a per-sample gradient; Gaussian noise: sigma exact;
- F_lower = 0 (squares and ridge are nonnegative).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch

from altsim.theory import require

from .finite_sum import FiniteSumConfig, FiniteSumProblem
from .problem import Certified, Family, build_arguments, register


@dataclass(frozen=True)
class SharedRepresentationConfig(FiniteSumConfig):
    """Parameters of the shared-representation family (plus those of `FiniteSumConfig`).

    With minibatch noise, sigma is certified on the region."""

    features: int = 8
    """Input dimension p; an integer >= 1."""
    rank: int = 3
    """Representation dimension k (= d_v); an integer >= 1. d_u = k p."""
    radius_u: float = 4.0
    """Region radius B_U for ||U||_F on which constants are certified; > 0."""
    radius_v: float = 4.0
    """Region radius B_v for ||v_i||; > 0."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for k in ("features", "rank"):
            require(k, getattr(self, k), low=1, integer=True)
        require("radius_u", self.radius_u, low=0, low_open=True)
        require("radius_v", self.radius_v, low=0, low_open=True)


class SharedRepresentation(FiniteSumProblem):
    """The shared-representation family of the module docstring: a shared feature map U, personal heads v_i,
    teacher data; constants certified on the region ||U||_F <= radius_u, ||v_i|| <= radius_v."""

    family = "shared_representation"

    def __init__(
        self,
        config: SharedRepresentationConfig,
        *,
        seed: int = 0,
        device=torch.device("cpu"),
        dtype=torch.float64,
    ):
        cfg = config
        self.device, self.dtype = build_arguments(
            cfg, SharedRepresentationConfig, seed, device, dtype
        )
        self.config, self.seed = cfg, int(seed)
        self.n, self.p, self.k, self.samples = cfg.n, cfg.features, cfg.rank, cfg.samples
        self.d_u, self.d_v = cfg.rank * cfg.features, cfg.rank
        self.noise, self.batch_size = cfg.noise, cfg.batch_size
        gaussian = cfg.noise == "gaussian"
        self.sigma_u, self.sigma_v = (cfg.sigma_u, cfg.sigma_v) if gaussian else (0.0, 0.0)
        gen = torch.Generator().manual_seed(self.seed)
        f64: dict[str, Any] = dict(generator=gen, dtype=torch.float64)
        U_star = torch.randn(self.k, self.p, **f64) / math.sqrt(self.p)
        heads = torch.randn(self.k, **f64) + cfg.head_spread * torch.randn(self.n, self.k, **f64)
        X = torch.randn(self.n, self.samples, self.p, **f64)
        Y = torch.einsum("ik,kp,inp->in", heads, U_star, X) + cfg.label_noise * torch.randn(
            self.n, self.samples, **f64
        )
        u0 = cfg.init_scale * torch.randn(self.d_u, **f64) / math.sqrt(self.p)
        V0 = cfg.init_scale * torch.randn(self.n, self.d_v, **f64)
        self.X, self.Y, self._u0, self._V0 = (t.to(self.device, self.dtype) for t in (X, Y, u0, V0))
        self._X64, self._Y64 = X, Y

    def _forward(self, u, v, clients):
        U = u.reshape(*u.shape[:-1], self.k, self.p)
        X, Y = self.client_rows(clients, self.X, self.Y)  # (..., c, N, p), (..., c, N)
        UX = torch.einsum("...kp,...np->...nk", U, X)
        r = (
            torch.einsum("...nk,...k->...n", UX, v) - Y
        )  # batched matrix-vector products, not elementwise passes
        return U, X, UX, r

    def loss(self, u, v, clients):
        """F_i(U, v) = (1/(2N)) sum_j (v^T U x_ij - y_ij)^2 + (mu/2)(||U||_F^2 + ||v||^2); shape (..., k)."""
        _, _, _, r = self._forward(u, v, clients)
        mu = self.config.ridge
        return 0.5 * r.pow(2).mean(-1) + 0.5 * mu * (u.pow(2).sum(-1) + v.pow(2).sum(-1))

    def _grads(self, u, v, clients, weights):
        _U, X, UX, r = self._forward(u, v, clients)
        mu = self.config.ridge
        w = (
            r / self.samples if weights is None else r * weights
        )  # each residual with its sample's weight
        e = torch.einsum("...n,...np->...p", w, X)  # (..., c, p): the weighted mean of r_j x_j
        gU = v.unsqueeze(-1) * e.unsqueeze(-2)  # v e^T
        gv = torch.einsum("...n,...nk->...k", w, UX)
        return gU.reshape(u.shape) + mu * u, gv + mu * v

    def inside_region(self, u: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
        """Whether ||U||_F <= B_U and every ||v_i|| <= B_v (per leading index)."""
        return (u.norm(dim=-1) <= self.config.radius_u) & (
            V.norm(dim=-1) <= self.config.radius_v
        ).all(-1)

    def project_to_region(
        self, u: torch.Tensor, V: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Scale u and each v_i into the certified region (for measuring constants inside it)."""
        su = (self.config.radius_u / u.norm(dim=-1, keepdim=True).clamp_min(1e-300)).clamp(max=1.0)
        sv = (self.config.radius_v / V.norm(dim=-1, keepdim=True).clamp_min(1e-300)).clamp(max=1.0)
        return u * su, V * sv

    def certified_constants(self) -> Certified:
        """The module docstring's certificates, valid on the region only (`inside_region`): L_u, L_v, L_uv and
        delta from the data's second moments and the radii, sigma (minibatch: from the per-sample gradient
        bounds; Gaussian: exact), F_lower = 0."""
        cfg = self.config
        BU, Bv, mu = cfg.radius_u, cfg.radius_v, cfg.ridge
        X, Y = self._X64, self._Y64
        lam = torch.linalg.matrix_norm(X.transpose(1, 2) @ X / self.samples, ord=2)  # (n,)
        c = (X * Y.unsqueeze(-1)).mean(1).norm(dim=-1)  # (n,)
        lmax = float(lam.max())
        delta = math.sqrt(float((Bv**2 * (lam * BU * Bv + c) ** 2).mean()))
        if cfg.noise == "minibatch":
            N, b = self.samples, cfg.batch_size
            xn, yn = X.norm(dim=-1), Y.abs()  # (n, N)
            resid = Bv * BU * xn + yn  # bound on |r_j| in the region
            G_u, G_v = Bv * xn * resid, BU * xn * resid
            fpc = (N - b) / (b * (N - 1)) if N > 1 else 0.0
            sigma_u = math.sqrt(fpc * float(G_u.pow(2).mean(1).max()))
            sigma_v = math.sqrt(fpc * float(G_v.pow(2).mean(1).max()))
        else:
            sigma_u, sigma_v = cfg.sigma_u, cfg.sigma_v
        u0, V0 = self.initial_point()
        F0 = float(self.objective(u0, V0))
        return Certified(
            L_u=Bv**2 * lmax + mu,
            L_v=BU**2 * lmax + mu,
            L_uv=float((2 * lam * BU * Bv + c).max()),
            sigma_u=sigma_u,
            sigma_v=sigma_v,
            delta=delta,
            delta_F0=F0,
            F_lower=0.0,
        )

    def initial_point(self):
        """(u0, V0), normals drawn from the seed at `init_scale` (u0 scaled by 1/sqrt(features))."""
        return self._u0.clone(), self._V0.clone()

    def describe(self) -> dict:
        """The family, the seed, every config parameter and the region the certificates hold on."""
        return {
            "family": self.family,
            "seed": self.seed,
            **asdict(self.config),
            "region": f"||U||_F <= {self.config.radius_u}, ||v_i|| <= {self.config.radius_v}",
        }


register(
    Family(
        "shared_representation",
        SharedRepresentationConfig,
        lambda cfg, seed=0, device=torch.device("cpu"), dtype=torch.float64: SharedRepresentation(
            cfg, seed=seed, device=device, dtype=dtype
        ),
        "bilinear shared feature map + personal heads (teacher data); constants certified on a stated region",
        dict(n=4, features=3, rank=2, samples=6, noise="minibatch", batch_size=2),
        lambda c: (
            c.n,
            c.rank * c.features,
            c.rank,
            c.n * c.samples * (c.features + 1) + c.n * c.rank,
        ),
    )
)
