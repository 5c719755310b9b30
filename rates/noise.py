"""Counter-based random streams: every draw is a pure function of its coordinates.

A normal draw is indexed by (seed, round, client, step, block, coordinate) and a sampling
key by (seed, round, client). Nothing depends on how seeds or clients are batched, so a
batched run, a run of one seed alone and the per-client reference loop see the same
numbers, on any device.

The hash is MurmurHash3's 32-bit finaliser chained over the coordinates. The scalar
coordinates (seed, round, step, block) are hashed first (in Python, or as a 0-d tensor when
the round index is one, as in the compiled path), then the client, in int64 with every
intermediate below 2^63 (the 32x32-bit products are split in 16-bit halves). Only the last
mix runs over the full (seeds, clients, dim) tensor, and it runs in int32 with wrapping
multiplication: the same 32-bit words in half the memory traffic and a third of the passes
(tests/test_rates.py checks the two forms agree bit for bit). Its 32-bit word gives a uniform
in (2^-33, 1 - 2^-33), and the normal quantile function (torch.special.ndtri) turns it into a
standard normal (|z| <= 6.3: the tails beyond have probability 3e-10).
"""

from __future__ import annotations

import math

import torch

_M32 = 0xFFFFFFFF
_GOLDEN = 0x9E3779B9
BLOCK_U, BLOCK_V, SAMPLING = 1, 2, 3


def _mul32(h: torch.Tensor, c: int) -> torch.Tensor:
    """(h * c) mod 2^32 for 0 <= h < 2^32 without int64 overflow."""
    lo, hi = c & 0xFFFF, c >> 16
    return (h * lo + (((h * hi) & 0xFFFF) << 16)) & _M32


def _fmix32(h: torch.Tensor) -> torch.Tensor:
    h = h ^ (h >> 16)
    h = _mul32(h, 0x85EBCA6B)
    h = h ^ (h >> 13)
    h = _mul32(h, 0xC2B2AE35)
    return h ^ (h >> 16)


def _signed32(c: int) -> int:
    """The int32 with the bit pattern of the unsigned 32-bit c."""
    return c - (1 << 32) if c >= 1 << 31 else c


def _fmix32_wrapping(h: torch.Tensor) -> torch.Tensor:
    """_fmix32 on an int32 tensor holding the 32-bit words: multiplication wraps modulo 2^32 and
    the right shifts are made logical by masking, so the bits equal _fmix32's."""
    h = h ^ ((h >> 16) & 0xFFFF)
    h = h * _signed32(0x85EBCA6B)
    h = h ^ ((h >> 13) & 0x7FFFF)
    h = h * _signed32(0xC2B2AE35)
    return h ^ ((h >> 16) & 0xFFFF)


def _unit_interval(w: torch.Tensor) -> torch.Tensor:
    """(w + 1/2) 2^-32 in float64 for the unsigned word w held in int32 (exact: 34 bits at most)."""
    p = (w.to(torch.float64) + 0.5) * 2.0**-32
    return p + (p < 0)  # a negative int32 is the word minus 2^32


def _hash_ints(h, *keys: int):
    """hash(h, *keys): Python ints give an int; a 0-d int64 tensor h or key gives a 0-d tensor."""
    for k in keys:
        h = _fmix32(((h ^ (k & _M32)) + _GOLDEN) & _M32)
    return h


def _as_int32(h: torch.Tensor) -> torch.Tensor:
    """32-bit words held in int64 (0 <= h < 2^32) as int32 bit patterns."""
    return (h - ((h >> 31) << 32)).to(torch.int32)


def hash_words(*keys) -> torch.Tensor:
    """A 32-bit hash (in int64) of broadcastable integer tensors or ints; the first must be a tensor."""
    h: torch.Tensor | None = None
    for k in keys:
        k = k & _M32 if isinstance(k, int) else k.to(torch.int64) & _M32
        h = _fmix32(((k if h is None else h ^ k) + _GOLDEN) & _M32)  # type: ignore[arg-type]
    assert h is not None, "hash_words needs at least one key"
    return h


class NoiseStream:
    """Normal draws and sampling keys for a batch of run seeds (shape (R,))."""

    def __init__(
        self,
        seeds: torch.Tensor,
        device: torch.device,
        dtype: torch.dtype,
        reuse_local_draw: bool = False,
    ):
        self.seeds = torch.as_tensor(seeds, dtype=torch.int64, device=device)
        self.device, self.dtype = device, dtype
        self.reuse_local_draw = bool(reuse_local_draw)
        """Every local step of a round draws what step 0 drew (one minibatch per round and block)."""
        self._seed_hash = hash_words(self.seeds)  # (R,), hashed once
        self._coords: dict[int, torch.Tensor] = {}

    def _scalar_hash(self, t, *keys: int) -> torch.Tensor:
        """hash(seed, t, *keys) per seed: the scalar keys are mixed first (in Python when t is an int),
        one tensor mix joins them."""
        k = _hash_ints(0, t, *keys)
        return _fmix32(((self._seed_hash ^ k) + _GOLDEN) & _M32)

    def _coord_words(self, dim: int) -> torch.Tensor:
        """A 32-bit word per coordinate (int32 bit patterns), computed once per dim."""
        if dim not in self._coords:
            coord = torch.arange(dim, device=self.device, dtype=torch.int64)
            self._coords[dim] = _as_int32(_fmix32(_mul32(coord, 0x68E31DA4) ^ 0x1B873593))
        return self._coords[dim]

    def normal(self, t, clients: torch.Tensor, step: int, block: int, dim: int) -> torch.Tensor:
        """Standard normals of shape clients.shape + (dim,), indexed by (seed, t, step, block, client, j)
        (step 0 for every step when the stream reuses one draw per round)."""
        if self.reuse_local_draw:
            step = 0
        scalar = self._scalar_hash(t, step, block).view(-1, *([1] * (clients.dim() - 1)))
        per_client = _as_int32(hash_words(scalar, clients)).unsqueeze(-1)  # (R, ..., 1)
        w = _fmix32_wrapping(
            per_client ^ self._coord_words(dim)
        )  # the only mix over the full tensor
        return torch.special.ndtri(_unit_interval(w)).to(self.dtype)

    def sample_clients(self, t, n: int, m: int) -> torch.Tensor:
        """m of n clients per seed, uniformly without replacement: (R, m) long, sorted per row.

        Each client gets a 62-bit key hashed from (seed, t, client); the m smallest keys win.
        """
        clients = torch.arange(n, device=self.device, dtype=torch.int64)
        if m == n:
            return clients.expand(len(self.seeds), n)
        h = hash_words(self._scalar_hash(t, SAMPLING).view(-1, 1), clients)
        key = (_fmix32(h ^ 0x1B873593) << 30) | (_fmix32(h ^ 0xCC9E2D51) >> 2)
        chosen = torch.topk(key, m, dim=1, largest=False, sorted=False).indices
        return torch.sort(chosen, dim=1).values


def stochastic_grad_u(
    problem, noise: NoiseStream, t: int, step: int, u, v, clients, block: int = BLOCK_U
):
    """The u-gradient a client sees at local step `step` of round t: exact if the problem is noiseless.

    `block=BLOCK_V` reuses the draw of the v-gradient at the same step (the same minibatch). A problem
    with a noise correlation rho mixes its own draw with that v-draw: rho z_v + sqrt(1 - rho^2) z_u, unit
    variance per coordinate, correlated rho with the v-noise on the coordinates both blocks have."""
    if not problem.noisy_u:
        return problem.stochastic_grad_u(u, v, clients, None)
    z = noise.normal(t, clients, step, block, problem.noise_dim_u)
    rho = problem.noise_correlation if block == BLOCK_U else 0.0
    if rho:
        z = (
            rho * noise.normal(t, clients, step, BLOCK_V, problem.noise_dim_u)
            + math.sqrt(1 - rho * rho) * z
        )
    return problem.stochastic_grad_u(u, v, clients, z)


def stochastic_grad_v(problem, noise: NoiseStream, t: int, step: int, u, v, clients):
    """The v-gradient a client sees at local step `step` of round t."""
    z = noise.normal(t, clients, step, BLOCK_V, problem.noise_dim_v) if problem.noisy_v else None
    return problem.stochastic_grad_v(u, v, clients, z)
