"""What the engine measures: the exact gradient norms of a state, and a run's `Trajectory`.

At every measured round the engine computes, with full gradients over all n clients,
||grad_u F||^2, (1/n) sum_i ||grad_v F_i||^2 and F (`measure`); `Trajectory` holds them per seed
and forms Delta_t with `altsim.theory.stationarity`, the one place that formula lives
(docs/theory.md section 4). `scales_of` chooses the L_u, L_v that normalise step sizes and Delta_t.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from altsim.synthetic import measured_constants
from altsim.theory import stationarity
from altsim.theory.checks import require_instance


@dataclass
class Trajectory:
    """Per-seed measurements of one run (plain numpy data)."""

    algorithm: str
    setting: dict
    seeds: np.ndarray
    rounds: np.ndarray
    grad_u_sq: np.ndarray
    grad_v_sq_mean: np.ndarray
    objective_gap: np.ndarray
    L_u: float
    L_v: float
    diverged_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    @property
    def n(self) -> int:
        """The number of clients n of the run."""
        return int(self.setting["n"])

    @property
    def m(self) -> int:
        """The clients m sampled per round."""
        return int(self.setting["m"])

    def stationarity(self, weight: float = 1.0) -> np.ndarray:
        """Delta_t per seed and measured round, shape (R, K)."""
        return stationarity(self.grad_u_sq, self.grad_v_sq_mean, self.L_u, self.L_v, weight)

    def running_average(self, weight: float = 1.0) -> np.ndarray:
        """(1/T) sum_{t<T} Delta_t for every measured T (exact when every round is measured)."""
        d = self.stationarity(weight)
        return np.cumsum(d, axis=1) / np.arange(1, d.shape[1] + 1)

    @property
    def horizons(self) -> np.ndarray:
        """T for each running-average entry: the number of rounds averaged, T = t + 1."""
        return self.rounds + 1


def measure(
    problem, u: torch.Tensor, V: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(||grad_u F||^2, mean_i ||grad_v F_i||^2, F) for u (R, d_u), V (R, n, d_v); each (R,).
    A problem that is not a `Problem`, or u, V that are not tensors of those shapes, are refused by
    name before any work."""
    from altsim.synthetic.problem import require_problem

    require_problem("problem", problem)
    require_instance("u", u, torch.Tensor, "a tensor of shape (R, d_u)")
    require_instance("V", V, torch.Tensor, "a tensor of shape (R, n, d_v)")
    if u.dim() != 2 or u.shape[1] != problem.d_u or u.shape[0] < 1:
        raise ValueError(f"u: must have shape (R, {problem.d_u}), not {tuple(u.shape)}")
    if tuple(V.shape) != (u.shape[0], problem.n, problem.d_v):
        raise ValueError(
            f"V: must have shape ({u.shape[0]}, {problem.n}, {problem.d_v}), not {tuple(V.shape)}"
        )
    return measure_unchecked(problem, u, V)


def measure_unchecked(
    problem, u: torch.Tensor, V: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`measure` without its argument checks: the engine's measurement of every round (inside a
    compiled round too, where a check would only cost), on arguments it built itself."""
    R = u.shape[0]
    clients = problem.all_clients.expand(R, problem.n)
    uu = u.unsqueeze(1).expand(R, problem.n, problem.d_u)
    gu = problem.grad_u(uu, V, clients).mean(1)
    gv = problem.grad_v(uu, V, clients)
    F = problem.loss(uu, V, clients).mean(1)
    return gu.pow(2).sum(-1), gv.pow(2).sum(-1).mean(1), F


def scales_of(problem, cert) -> tuple[float, float, str]:
    """(L_u, L_v, source) normalising step sizes and Delta_t: certified when finite, else measured."""
    if math.isfinite(cert.L_u) and math.isfinite(cert.L_v):
        return cert.L_u, cert.L_v, "certified"
    meas = measured_constants(problem)
    return (
        meas["L_u"]["value"],
        meas["L_v"]["value"],
        "measured (the problem certifies no finite L_u, L_v)",
    )
