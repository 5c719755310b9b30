r"""A small network with a personal last layer, on synthetic teacher data. Constants: measured only.

The shared u holds a hidden layer (W in R^{h x p}, b in R^h); client i's personal v_i is the
output head in R^h:

.. math::
    F_i(u, v) = \frac{1}{2N} \sum_j (v^T \tanh(W x_{ij} + b) - y_{ij})^2 + \frac{\mu}{2}(\|u\|^2 + \|v\|^2),

with labels from a teacher network of the same shape whose heads differ across clients.
**No constant is certified** (the model has no useful global smoothness constants):
`certified_constants()` reports L_u, L_v, L_uv and delta as infinite (an upper bound that
says nothing), sigma exact only for Gaussian noise, and F_lower = 0. Use
`measured_constants()` to estimate them; explicit bounds do not cover runs on this family.
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
class SmallNetworkConfig(FiniteSumConfig):
    """Parameters of the small-network family (plus those of `FiniteSumConfig`); sigma of minibatch
    noise is measured only."""

    ridge: float = 0.001
    """Ridge mu (an L2 penalty mu/2 ||.||^2) on both blocks; >= 0."""
    features: int = 8
    """Input dimension p; an integer >= 1."""
    hidden: int = 16
    """Hidden width h (= d_v); an integer >= 1. d_u = h p + h."""

    def __post_init__(self) -> None:
        super().__post_init__()
        for k in ("features", "hidden"):
            require(k, getattr(self, k), low=1, integer=True)


class SmallNetwork(FiniteSumProblem):
    """The small-network family of the module docstring: a shared tanh hidden layer and personal output heads
    on teacher data; measured only."""

    family = "small_network"

    def __init__(
        self,
        config: SmallNetworkConfig,
        *,
        seed: int = 0,
        device=torch.device("cpu"),
        dtype=torch.float64,
    ):
        cfg = config
        self.device, self.dtype = build_arguments(cfg, SmallNetworkConfig, seed, device, dtype)
        self.config, self.seed = cfg, int(seed)
        self.n, self.p, self.h, self.samples = cfg.n, cfg.features, cfg.hidden, cfg.samples
        self.d_u, self.d_v = cfg.hidden * cfg.features + cfg.hidden, cfg.hidden
        self.noise, self.batch_size = cfg.noise, cfg.batch_size
        gaussian = cfg.noise == "gaussian"
        self.sigma_u, self.sigma_v = (cfg.sigma_u, cfg.sigma_v) if gaussian else (0.0, 0.0)
        gen = torch.Generator().manual_seed(self.seed)
        f64: dict[str, Any] = dict(generator=gen, dtype=torch.float64)
        W_t = torch.randn(self.h, self.p, **f64) / math.sqrt(self.p)
        heads = (
            torch.randn(self.h, **f64) + cfg.head_spread * torch.randn(self.n, self.h, **f64)
        ) / math.sqrt(self.h)
        X = torch.randn(self.n, self.samples, self.p, **f64)
        Y = (torch.tanh(X @ W_t.T) * heads.unsqueeze(1)).sum(-1) + cfg.label_noise * torch.randn(
            self.n, self.samples, **f64
        )
        u0 = cfg.init_scale * torch.randn(self.d_u, **f64) / math.sqrt(self.p)
        V0 = cfg.init_scale * torch.randn(self.n, self.d_v, **f64) / math.sqrt(self.h)
        self.X, self.Y, self._u0, self._V0 = (t.to(self.device, self.dtype) for t in (X, Y, u0, V0))

    def _forward(self, u, v, clients):
        W = u[..., : self.h * self.p].reshape(*u.shape[:-1], self.h, self.p)
        b = u[..., self.h * self.p :]
        X, Y = self.client_rows(clients, self.X, self.Y)
        H = torch.tanh(torch.einsum("...hp,...np->...nh", W, X) + b.unsqueeze(-2))  # (..., c, N, h)
        r = (H * v.unsqueeze(-2)).sum(-1) - Y
        return X, H, r

    def loss(self, u, v, clients):
        """F_i(u, v) = (1/(2N)) sum_j (v^T tanh(W x_ij + b) - y_ij)^2 + (mu/2)(||u||^2 + ||v||^2); shape (..., k)."""
        _, _, r = self._forward(u, v, clients)
        return 0.5 * r.pow(2).mean(-1) + 0.5 * self.config.ridge * (
            u.pow(2).sum(-1) + v.pow(2).sum(-1)
        )

    def _grads(self, u, v, clients, weights):
        X, H, r = self._forward(u, v, clients)
        mu = self.config.ridge
        gv = self._weighted_mean(r.unsqueeze(-1) * H, weights) + mu * v
        back = (
            r.unsqueeze(-1) * v.unsqueeze(-2) * (1 - H.pow(2))
        )  # dF/d(pre-activation), (..., c, N, h)
        if weights is None:
            w = torch.full(
                back.shape[:-1], 1.0 / self.samples, dtype=back.dtype, device=back.device
            )
        else:
            w = weights
        gW = torch.einsum("...n,...nh,...np->...hp", w, back, X)
        gb = (w.unsqueeze(-1) * back).sum(-2)
        gu = torch.cat([gW.reshape(*gW.shape[:-2], -1), gb], dim=-1) + mu * u
        return gu, gv

    def certified_constants(self) -> Certified:
        """Nothing certified: L_u, L_v, L_uv and delta infinite, sigma exact only for Gaussian noise (minibatch
        noise: infinite), F_lower = 0 and Delta_F0 = F(u0, V0)."""
        inf = math.inf
        u0, V0 = self.initial_point()
        F0 = float(self.objective(u0, V0))
        return Certified(
            L_u=inf,
            L_v=inf,
            L_uv=inf,
            sigma_u=self.sigma_u if self.noise == "gaussian" else inf,
            sigma_v=self.sigma_v if self.noise == "gaussian" else inf,
            delta=inf,
            delta_F0=F0,
            F_lower=0.0,
        )

    def initial_point(self):
        """(u0, V0), normals drawn from the seed at `init_scale` (scaled by 1/sqrt(features) and 1/sqrt(hidden))."""
        return self._u0.clone(), self._V0.clone()

    def describe(self) -> dict:
        """The family, the seed, every config parameter, and a note that nothing is certified."""
        return {
            "family": self.family,
            "seed": self.seed,
            **asdict(self.config),
            "certified": "none (measured only)",
        }


register(
    Family(
        "small_network",
        SmallNetworkConfig,
        lambda cfg, seed=0, device=torch.device("cpu"), dtype=torch.float64: SmallNetwork(
            cfg, seed=seed, device=device, dtype=dtype
        ),
        "one tanh hidden layer shared, personal output head (teacher data); constants measured only",
        dict(n=4, features=3, hidden=5, samples=6, sigma_u=0.2, sigma_v=0.2),
        lambda c: (
            c.n,
            c.hidden * (c.features + 1),
            c.hidden,
            c.n * c.samples * (c.features + 1) + c.n * c.hidden,
        ),
    )
)
