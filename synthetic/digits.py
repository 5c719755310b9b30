"""Real data: scikit-learn's handwritten digits (1,797 images of 8 x 8 pixels, 10 classes), split
across clients with label skew. Measured only: no constant is certified, and no bound covers a run.

The paper's empirical claims, in miniature: a representation shared by all clients and a personal
classification head per client, trained with minibatch noise; how much of full personalization's
gain in held-out accuracy partial personalization gets, and FedAlt against FedSim
(`altsim.rates.personalization`).

Data. The images (pixels scaled to [0, 1]) are split once, stratified by class, into a training
pool and a held-out pool (`test_fraction`). Client i draws class proportions p_i ~ Dirichlet(alpha)
(small alpha: few classes per client) and then `samples` training images and `test_samples` held-out
images, both with the class proportions p_i, from the two pools. Training and held-out images
never overlap; two clients may share an image of the same pool. Everything is a function of the
problem seed.

Model. u = (W, b) with W of shape (k, 64) and b of shape (k,): the shared representation
h(x) = tanh(W x + b). v_i = (A_i, a_i) with A_i of shape (10, k): client i's head, logits A_i h + a_i.
F_i(u, v_i) = mean over its training images of the softmax cross-entropy, plus (mu/2)(|u|^2 + |v_i|^2).
F >= 0, so F_lower = 0.

Needs scikit-learn, which ships the data (no download): `pip install "altsim[data]"`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from altsim.theory import require

from .finite_sum import FiniteSumConfig, FiniteSumProblem
from .problem import Certified, Family, build_arguments, register

CLASSES = 10
PIXELS = 64


@dataclass(frozen=True)
class DigitsConfig(FiniteSumConfig):
    """Parameters of the digits family (plus those of `FiniteSumConfig`; `head_spread` and
    `label_noise` have no effect here: the heterogeneity is the label skew)."""

    samples: int = 50
    """Training images N per client; an integer >= 1."""
    test_samples: int = 50
    """Held-out images per client; an integer >= 1."""
    alpha: float = 0.3
    """Dirichlet concentration of each client's class proportions; > 0 (small: strong label skew)."""
    hidden: int = 16
    """Representation width k; an integer >= 1. d_u = 64 k + k, d_v = 10 k + 10."""
    test_fraction: float = 0.3
    """Share of the images held out (stratified by class); in (0, 1)."""
    ridge: float = 1e-3
    """Ridge mu (an L2 penalty mu/2 ||.||^2) on both blocks; >= 0."""
    noise: str = "minibatch"
    """Gradient noise: 'minibatch' (b of the N images per gradient, the default here) or 'gaussian'."""
    batch_size: int = 10
    """Minibatch size b: an integer in [1, samples]."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require("test_samples", self.test_samples, low=1, integer=True)
        require("alpha", self.alpha, low=0, low_open=True)
        require("hidden", self.hidden, low=1, integer=True)
        require("test_fraction", self.test_fraction, low=0, high=1, low_open=True, high_open=True)


def load_images() -> tuple[np.ndarray, np.ndarray]:
    """(X of shape (1797, 64) in [0, 1], y of shape (1797,)) from scikit-learn's bundled copy."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ValueError(
            "family='digits' needs scikit-learn, which ships the data: pip install 'altsim[data]'"
        ) from None
    data = load_digits()
    return data.data.astype(np.float64) / 16.0, data.target.astype(np.int64)


def client_split(
    y: np.ndarray,
    n: int,
    samples: int,
    test_samples: int,
    alpha: float,
    test_fraction: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train index (n, samples), test index (n, test_samples), class proportions (n, 10)) into y.

    A stratified train/test split of all images, then per client Dirichlet(alpha) class proportions
    and draws (with replacement inside a pool) from the matching pool."""
    rng = np.random.default_rng(seed)
    train_pool, test_pool = {}, {}
    for c in range(CLASSES):
        idx = rng.permutation(np.flatnonzero(y == c))
        cut = int(round(len(idx) * (1 - test_fraction)))
        train_pool[c], test_pool[c] = idx[:cut], idx[cut:]
    props = rng.dirichlet(np.full(CLASSES, alpha), size=n)
    train, test = (
        np.empty((n, samples), dtype=np.int64),
        np.empty((n, test_samples), dtype=np.int64),
    )
    for i in range(n):
        for out, pool, k in ((train, train_pool, samples), (test, test_pool, test_samples)):
            labels = rng.choice(CLASSES, size=k, p=props[i])
            out[i] = [rng.choice(pool[c]) for c in labels]
    return train, test, props


class Digits(FiniteSumProblem):
    """The digits family of the module docstring: a shared tanh representation and personal softmax heads on
    scikit-learn's handwritten digits, split across clients with Dirichlet label skew; measured only."""

    family = "digits"

    def __init__(
        self,
        config: DigitsConfig,
        *,
        seed: int = 0,
        device=torch.device("cpu"),
        dtype=torch.float64,
    ):
        cfg = config
        self.device, self.dtype = build_arguments(cfg, DigitsConfig, seed, device, dtype)
        self.config, self.seed = cfg, int(seed)
        self.n, self.k, self.samples = cfg.n, cfg.hidden, cfg.samples
        self.d_u, self.d_v = cfg.hidden * PIXELS + cfg.hidden, CLASSES * cfg.hidden + CLASSES
        self.noise, self.batch_size = cfg.noise, cfg.batch_size
        gaussian = cfg.noise == "gaussian"
        self.sigma_u, self.sigma_v = (cfg.sigma_u, cfg.sigma_v) if gaussian else (0.0, 0.0)
        images, labels = load_images()
        train, test, self.class_proportions = client_split(
            labels, cfg.n, cfg.samples, cfg.test_samples, cfg.alpha, cfg.test_fraction, self.seed
        )
        gen = torch.Generator().manual_seed(self.seed)
        u0 = (
            cfg.init_scale
            * torch.randn(self.d_u, generator=gen, dtype=torch.float64)
            / math.sqrt(PIXELS)
        )
        V0 = (
            cfg.init_scale
            * torch.randn(self.n, self.d_v, generator=gen, dtype=torch.float64)
            / math.sqrt(self.k)
        )
        as_t = lambda a, dt=self.dtype: torch.as_tensor(a).to(self.device, dt)  # noqa: E731
        self.X, self.Y = as_t(images[train]), as_t(labels[train], torch.int64)
        self.X_test, self.Y_test = as_t(images[test]), as_t(labels[test], torch.int64)
        self._onehot = torch.nn.functional.one_hot(self.Y, CLASSES).to(self.dtype)
        self._u0, self._V0 = as_t(u0), as_t(V0)

    def _unpack(self, u, v):
        k = self.k
        W, b = u[..., : k * PIXELS].reshape(*u.shape[:-1], k, PIXELS), u[..., k * PIXELS :]
        A, a = v[..., : CLASSES * k].reshape(*v.shape[:-1], CLASSES, k), v[..., CLASSES * k :]
        return W, b, A, a

    def _logits(self, u, v, X):
        """u (..., c, d_u), v (..., c, d_v), X (..., c, N, 64) -> hidden (..., c, N, k), logits (..., c, N, 10)."""
        W, b, A, a = self._unpack(
            u.contiguous(), v
        )  # an expanded u would take another kernel: not batch-invariant
        H = torch.tanh(torch.einsum("...kp,...np->...nk", W, X) + b.unsqueeze(-2))
        return H, torch.einsum("...ck,...nk->...nc", A, H) + a.unsqueeze(-2)

    def loss(self, u, v, clients):
        """F_i(u, v): mean softmax cross-entropy over the client's training images plus the ridge; shape (..., k)."""
        X, onehot = self.client_rows(clients, self.X, self._onehot)
        _, logits = self._logits(u, v, X)
        ce = -(onehot * torch.log_softmax(logits, -1)).sum(-1).mean(-1)
        return ce + 0.5 * self.config.ridge * (u.pow(2).sum(-1) + v.pow(2).sum(-1))

    def _residual(self, u, v, clients, weights):
        X, onehot = self.client_rows(clients, self.X, self._onehot)
        H, logits = self._logits(u, v, X)
        r = torch.softmax(logits, -1) - onehot  # d(cross-entropy)/d(logits), (..., c, N, 10)
        w = (
            torch.full(r.shape[:-1], 1.0 / self.samples, dtype=r.dtype, device=r.device)
            if weights is None
            else weights
        )
        return X, H, r, w

    def _v_block(self, v, X, H, r, w):
        gA = torch.einsum("...n,...nc,...nk->...ck", w, r, H)
        ga = (w.unsqueeze(-1) * r).sum(-2)
        return torch.cat([gA.reshape(*gA.shape[:-2], -1), ga], dim=-1) + self.config.ridge * v

    def _u_block(self, u, v, X, H, r, w):
        _, _, A, _ = self._unpack(u, v)
        back = torch.einsum("...nc,...ck->...nk", r, A) * (1 - H.pow(2))  # d/d(pre-activation)
        gW = torch.einsum("...n,...nk,...np->...kp", w, back, X)
        gb = (w.unsqueeze(-1) * back).sum(-2)
        return torch.cat([gW.reshape(*gW.shape[:-2], -1), gb], dim=-1) + self.config.ridge * u

    def _grad_v(self, u, v, clients, weights):
        return self._v_block(v, *self._residual(u, v, clients, weights))

    def _grad_u(self, u, v, clients, weights):
        return self._u_block(u, v, *self._residual(u, v, clients, weights))

    def _grads(
        self, u, v, clients, weights
    ):  # both blocks from one forward pass (measured constants use it)
        res = self._residual(u, v, clients, weights)
        return self._u_block(u, v, *res), self._v_block(v, *res)

    def held_out_accuracy(self, u: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
        """(R, n): each client's accuracy on its own held-out images; u (R, d_u) shared or (R, n, d_u) per client."""
        if u.dim() == V.dim() - 1:  # one shared u: every client uses it
            u = u.unsqueeze(-2).expand(*V.shape[:-1], self.d_u)
        _, logits = self._logits(u, V, self.X_test.expand(V.shape[0], *self.X_test.shape))
        Y = self.Y_test.expand(V.shape[0], *self.Y_test.shape)
        return (logits.argmax(-1) == Y).to(torch.float64).mean(-1)

    def certified_constants(self) -> Certified:
        """Nothing certified: L_u, L_v, L_uv and delta infinite, sigma exact only for Gaussian noise (minibatch
        noise: infinite), F_lower = 0 (cross-entropy and ridge are nonnegative) and Delta_F0 = F(u0, V0)."""
        inf = math.inf
        u0, V0 = self.initial_point()
        F0 = float(self.objective(u0, V0))
        gaussian = self.noise == "gaussian"
        return Certified(
            L_u=inf,
            L_v=inf,
            L_uv=inf,
            sigma_u=self.sigma_u if gaussian else inf,
            sigma_v=self.sigma_v if gaussian else inf,
            delta=inf,
            delta_F0=F0,
            F_lower=0.0,
        )

    def initial_point(self):
        """(u0, V0), small normals drawn from the seed (scaled by 1/sqrt(64) and 1/sqrt(k))."""
        return self._u0.clone(), self._V0.clone()

    def describe(self) -> dict:
        """The family, the seed, every config parameter, and notes: nothing certified, where the data is from."""
        return {
            "family": self.family,
            "seed": self.seed,
            **asdict(self.config),
            "certified": "none (measured only)",
            "data": "scikit-learn load_digits, 1797 images, 8 x 8",
        }


register(
    Family(
        "digits",
        DigitsConfig,
        lambda cfg, seed=0, device=torch.device("cpu"), dtype=torch.float64: Digits(
            cfg, seed=seed, device=device, dtype=dtype
        ),
        "real data (scikit-learn's digits) with label skew: shared tanh representation, personal heads; measured only",
        dict(n=4, samples=8, test_samples=4, hidden=3, batch_size=3),
        lambda c: (
            c.n,
            c.hidden * (PIXELS + 1),
            CLASSES * (c.hidden + 1),
            c.n * (c.samples + c.test_samples) * (PIXELS + 1) + c.n * c.samples * CLASSES,
        ),
    )
)
