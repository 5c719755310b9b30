"""Free weights: the Young's-inequality parameters a bound holds for every value of.

Some [D] bounds are proved as "for every theta, omega, ... > 0 (with a positive descent
coefficient), the measure is at most expr(theta, omega, ...)". The bound is then the infimum
over the weights. `minimise_over_weights` searches for it numerically, elementwise over any
broadcast shape: a coarse log grid per weight, then a golden-section refinement, in a few
coordinate sweeps. Every value it returns is expr at some admissible weights, so it is a valid
bound whether or not the search found the exact infimum; a better search only makes it tighter.
Points where no weight makes expr a positive finite number return +inf (the bound says nothing).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

LOG_RANGE = (math.log(1e-9), math.log(1e9))
"""Each weight is searched in [1e-9, 1e9]: wide enough that a weight the optimum pushes to 0 or
infinity (a term that vanishes, e.g. no drift at tau = 1) costs under 1e-8 relative."""
JOINT_RANGE = (math.log(1e-3), math.log(1e3))
"""Where the starting grid looks when there are more than two weights (the per-axis grid is coarse
then, and the useful weights of the proofs lie well inside it); the sweeps search all of LOG_RANGE."""
_GOLDEN = (math.sqrt(5) - 1) / 2


def _admissible(f: np.ndarray) -> np.ndarray:
    """Values that are not a positive finite number say nothing: +inf."""
    return np.where(np.isfinite(f) & (f > 0), f, np.inf)


_INFEASIBLE = 1e200
"""Objective value where the descent coefficient is not positive: above every bound, and made smaller the
closer the coefficient is to positive, so that the search walks into the admissible weights."""


def minimise_over_weights(
    fn: Callable[..., np.ndarray],
    args: Mapping[str, np.ndarray],
    weights: Sequence[str],
    sweeps: int = 4,
    grid: int = 49,
    golden: int = 24,
    joint_points: int = 700,
    transform: Callable[[np.ndarray], np.ndarray] = _admissible,
    descent: Callable[..., np.ndarray] | None = None,
) -> tuple[np.ndarray, dict]:
    """(min over the weights of transform(fn(**args, **weights)), the weights attaining it), elementwise.

    `fn` takes keyword arrays that broadcast together; `args` are the fixed ones. Returns the best
    value found per element (shape: the broadcast of `args`) and a dict weight name -> its value there.
    `descent` (same arguments) is the bound's descent coefficient: where it is not positive the search
    climbs it instead, and the value returned there is +inf.
    """
    import warnings

    shape = np.broadcast_shapes(*(np.shape(a) for a in args.values())) if args else ()

    def f(zs: Mapping[str, np.ndarray]) -> np.ndarray:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kw = {**args, **{w: np.exp(zs[w]) for w in weights}}  # zs: log-weights
            out = np.asarray(fn(**kw), dtype=float)
            out = transform(out + np.zeros(np.broadcast_shapes(out.shape, shape)))
            if descent is not None:
                c = np.asarray(descent(**kw), dtype=float) + np.zeros(out.shape)
                c = np.where(np.isfinite(c), c, -1e9)
                out = np.where(c > 0, out, _INFEASIBLE * (1 + np.minimum(-c, 1e9) / 1e9))
        return out

    lo, hi = LOG_RANGE
    # start from the best point of a coarse joint grid: from a single start a coordinate search can sit in a
    # region where no single weight's change makes the descent coefficient positive
    per_axis = max(3, int(round(joint_points ** (1 / max(len(weights), 1)))))
    axis = np.linspace(*(JOINT_RANGE if len(weights) > 2 else LOG_RANGE), per_axis)
    mesh = np.meshgrid(*([axis] * len(weights)), indexing="ij")
    flat = [g.reshape(-1) for g in mesh]
    extra = (slice(None),) + (None,) * len(shape)
    vals = f({w: flat[j][extra] for j, w in enumerate(weights)})
    k = np.argmin(vals, axis=0)
    best = np.take_along_axis(vals, k[None, ...], axis=0)[0] if shape else vals.reshape(-1)[k]
    z = {w: flat[j][k] for j, w in enumerate(weights)}
    ticks = np.linspace(lo, hi, grid)
    step = ticks[1] - ticks[0]
    for _ in range(sweeps):
        for w in weights:
            # coarse grid over this weight, the others fixed
            trial = {**z, w: np.broadcast_to(ticks[extra], (grid, *shape))}
            vals = f(trial) if shape else f(trial).reshape(grid)
            k = np.argmin(vals, axis=0)
            at_grid = np.take_along_axis(vals, k[None, ...], axis=0)[0] if shape else vals[k]
            centre = ticks[k]
            a, b = np.maximum(centre - step, lo), np.minimum(centre + step, hi)
            # golden section in [a, b], elementwise
            c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
            fc, fd = f({**z, w: c}), f({**z, w: d})
            for _ in range(golden):
                left = fc <= fd
                b = np.where(left, d, b)
                a = np.where(left, a, c)
                # left: the new pair is (a new point, old c); right: (old d, a new point); one evaluation
                # serves both, since f is elementwise
                fresh = np.where(left, b - _GOLDEN * (b - a), a + _GOLDEN * (b - a))
                f_fresh = f({**z, w: fresh})
                c, d, fc, fd = (
                    np.where(left, fresh, d),
                    np.where(left, c, fresh),
                    np.where(left, f_fresh, fd),
                    np.where(left, fc, f_fresh),
                )
            z_gold = np.where(fc <= fd, c, d)
            f_gold = np.minimum(fc, fd)
            cand_z = np.where(f_gold <= at_grid, z_gold, centre)
            cand_f = np.minimum(f_gold, at_grid)
            better = cand_f < best
            z[w] = np.where(better, cand_z, z[w])
            best = np.where(better, cand_f, best)
    best = np.where(best >= _INFEASIBLE, np.inf, best)
    return best, {w: np.exp(z[w]) for w in weights}
