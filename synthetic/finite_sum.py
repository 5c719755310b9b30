"""Shared machinery of the finite-sum families: per-client data, minibatch noise, teacher data.

Each client i holds N samples (X_i, y_i). The stochastic oracle either adds Gaussian noise
(exact sigma, the default) or averages the per-sample gradients over a minibatch of b of the
N samples drawn uniformly without replacement: the b smallest of N standard normals z
supplied by the engine mark the batch, so batches come from the engine's counter-based stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from altsim.theory import require

from .problem import Problem


@dataclass(frozen=True)
class FiniteSumConfig:
    """Parameters every finite-sum family has (each family adds its model's own)."""

    n: int = 20
    """Number of clients n; an integer >= 1."""
    samples: int = 20
    """Samples N per client; an integer >= 1."""
    head_spread: float = 1.0
    """Spread of the teacher's personal heads around a common head; >= 0 (sets heterogeneity)."""
    label_noise: float = 0.0
    """Standard deviation of the Gaussian noise added to the teacher's labels; >= 0."""
    ridge: float = 0.01
    """Ridge mu (an L2 penalty mu/2 ||.||^2) on both blocks; >= 0."""
    noise: str = "gaussian"
    """Gradient noise: 'gaussian' (additive, exact sigma) or 'minibatch' (b of the N samples per gradient)."""
    sigma_u: float = 0.0
    """Gaussian noise level on the u-gradient; >= 0 (ignored for minibatch)."""
    sigma_v: float = 0.0
    """Gaussian noise level on the v-gradient; >= 0 (ignored for minibatch)."""
    batch_size: int = 5
    """Minibatch size b: an integer in [1, samples] (checked always, used by minibatch noise only)."""
    init_scale: float = 0.5
    """Scale of the initial point (u0, V0); >= 0."""

    def __post_init__(self) -> None:
        for k in ("n", "samples"):
            require(k, getattr(self, k), low=1, integer=True)
        for k in ("head_spread", "label_noise", "ridge", "sigma_u", "sigma_v", "init_scale"):
            require(k, getattr(self, k), low=0)
        if self.noise not in ("gaussian", "minibatch"):
            raise ValueError(f"noise={self.noise!r}: must be 'gaussian' or 'minibatch'")
        require("batch_size", self.batch_size, low=1, high=self.samples, integer=True)


def minibatch_weights(z: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Weights 1/b on the b smallest entries of z along the last axis, 0 elsewhere."""
    kth = torch.kthvalue(z, batch_size, dim=-1, keepdim=True).values
    chosen = (z <= kth).to(z.dtype)
    return chosen / batch_size


class FiniteSumProblem(Problem):
    """A problem whose F_i is a mean over N samples; subclasses define `_grads(u, v, clients, weights)`."""

    noise: str
    batch_size: int
    samples: int

    def _grads(self, u, v, clients, weights):  # pragma: no cover - abstract
        raise NotImplementedError

    def _grad_u(self, u, v, clients, weights):
        """The u-block of `_grads`; a family overrides it (and `_grad_v`) where one block is cheaper alone."""
        return self._grads(u, v, clients, weights)[0]

    def _grad_v(self, u, v, clients, weights):
        return self._grads(u, v, clients, weights)[1]

    def grad_u(self, u, v, clients):
        """grad_u F_i(u, v): the mean of the per-sample gradients over all N samples; shape (..., k, d_u)."""
        return self._grad_u(u, v, clients, None)

    def grad_v(self, u, v, clients):
        """grad_v F_i(u, v): the mean over all N samples; shape (..., k, d_v)."""
        return self._grad_v(u, v, clients, None)

    @property
    def noisy_u(self) -> bool:
        """Whether the u-gradients are stochastic: minibatch noise, or Gaussian noise with sigma_u > 0."""
        return self.noise == "minibatch" or self.sigma_u > 0

    @property
    def noisy_v(self) -> bool:
        """Whether the v-gradients are stochastic: minibatch noise, or Gaussian noise with sigma_v > 0."""
        return self.noise == "minibatch" or self.sigma_v > 0

    @property
    def samples_shared_by_blocks(self) -> bool:
        """True with minibatch noise: one draw picks a batch of data points both blocks' gradients can use."""
        return self.noise == "minibatch"

    @property
    def noise_dim_u(self) -> int:
        """N (one normal per sample, the b smallest mark the minibatch) with minibatch noise, else d_u."""
        return self.samples if self.noise == "minibatch" else self.d_u

    @property
    def noise_dim_v(self) -> int:
        """N with minibatch noise, else d_v."""
        return self.samples if self.noise == "minibatch" else self.d_v

    def stochastic_grad_u(self, u, v, clients, z):
        """The u-gradient averaged over the minibatch the b smallest entries of `z` mark (minibatch noise), or
        the exact gradient plus Gaussian noise (`Problem.stochastic_grad_u`)."""
        if self.noise == "minibatch" and z is not None:
            return self._grad_u(u, v, clients, minibatch_weights(z, self.batch_size))
        return super().stochastic_grad_u(u, v, clients, z)

    def stochastic_grad_v(self, u, v, clients, z):
        """The v-gradient averaged over the minibatch `z` marks (minibatch noise), or with Gaussian noise."""
        if self.noise == "minibatch" and z is not None:
            return self._grad_v(u, v, clients, minibatch_weights(z, self.batch_size))
        return super().stochastic_grad_v(u, v, clients, z)

    def _weighted_mean(self, x: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
        """Mean over the sample axis (-2 of x, with x of shape (..., N, d)), or the minibatch average."""
        if weights is None:
            return x.mean(-2)
        return (weights.unsqueeze(-1) * x).sum(-2)
