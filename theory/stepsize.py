"""Step sizes from the theory: the block rule, the eta that minimises a bound, horizon-free schedules.

Block rule (docs/theory.md section 2, [R]): gamma_u = eta / (L_u tau_u), gamma_v = eta / (L_v tau_v).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .bound import STEP_SIZE_KINDS, Bound
from .checks import check_values, require, require_instance, require_number_array
from .symbols import DEFAULTS


def _require_bound(bound) -> None:
    require_instance("bound", bound, Bound, "an altsim.theory.Bound")


def _check_bound_values(bound: Bound, values, symbols: set[str]) -> None:
    """Refuse, naming it, a value of a known symbol outside its domain, or one of `symbols` (those the
    computation reads) missing; constants may be +inf (not certified), T any real >= 1."""
    check_values(values, allow_inf=True, real=("T",))
    missing = sorted(
        k for k in symbols if k not in values and k not in ("eta", "eta_v", "T", *DEFAULTS)
    )
    if missing:
        raise ValueError(f"values: bound {bound.name!r} needs {', '.join(missing)}")


def _eta_max_symbols(bound: Bound) -> set[str]:
    return {s.name for s in bound.eta_max.free_symbols} if bound.eta_max is not None else set()


def block_step_sizes(
    eta: float, L_u: float, L_v: float, tau_u: int = 1, tau_v: int = 1
) -> tuple[float, float]:
    """(gamma_u, gamma_v) from the normalised step size eta."""
    require("eta", eta, low=0, low_open=True)
    require("L_u", L_u, low=0, low_open=True)
    require("L_v", L_v, low=0, low_open=True)
    require("tau_u", tau_u, low=1, integer=True)
    require("tau_v", tau_v, low=1, integer=True)
    return eta / (L_u * tau_u), eta / (L_v * tau_v)


def official_step_size(eta: float, L_u: float, L_v: float, tau: int = 1) -> float:
    """The official code's one step size for both blocks: eta / (max(L_u, L_v) tau) (docs/theory.md section 2)."""
    require("eta", eta, low=0, low_open=True)
    require("L_u", L_u, low=0, low_open=True)
    require("L_v", L_v, low=0, low_open=True)
    require("tau", tau, low=1, integer=True)
    return eta / (max(L_u, L_v) * tau)


def minimize_rate(
    a: float, b: float, c: float, T: float, eta_max: float = math.inf
) -> tuple[float, float]:
    """Minimise phi(eta) = a/(eta T) + b eta + c eta^2 over 0 < eta <= eta_max.

    phi' = 0 reads 2c eta^3 + b eta^2 - a/T = 0. Closed forms: eta = sqrt(a/(bT)) when c = 0 and
    eta = (a/(2cT))^(1/3) when b = 0. Otherwise the positive root is unique (phi is convex on
    eta > 0) and lies below both of those, so Brent's method finds it in that bracket.
    The minimiser is the root clipped to eta_max. Returns (eta, phi(eta)).
    """
    from scipy.optimize import brentq

    require("a", a, low=0, low_open=True)
    require("b", b, low=0)
    require("c", c, low=0)
    require("T", T, low=0, low_open=True)
    require("eta_max", eta_max, low=0, low_open=True, allow_inf=True)
    eta_b = math.sqrt(a / (b * T)) if b > 0 else math.inf
    eta_c = (a / (2 * c * T)) ** (1 / 3) if c > 0 else math.inf
    if b == 0 and c == 0:
        eta = eta_max
    elif c == 0 or b == 0:
        eta = min(eta_b, eta_c)
    else:
        hi = min(eta_b, eta_c)
        slope = lambda e: 2 * c * e**3 + b * e**2 - a / T  # noqa: E731
        # With b or c tiny beside the other term, rounding can put the root at the bracket's end.
        eta = hi if slope(hi) <= 0 else brentq(slope, 0.0, hi, xtol=1e-15 * hi, rtol=1e-15)
    eta = min(eta, eta_max)
    if not math.isfinite(eta):
        raise ValueError("unbounded: with b = c = 0 the rate decreases in eta; give eta_max")
    return eta, a / (eta * T) + b * eta + c * eta**2


def allowed_eta(bound: Bound, values: Mapping[str, float], points: int = 200) -> float:
    """The largest eta in (0, eta_max) at which every step-size condition of `bound` (kinds step_range,
    sampling_cap, descent) holds at `values`, found on a log grid then refined by bisection; 0 if none.

    The conditions hold for all small enough eta, so the allowed set is an interval from 0 up to
    this value (on the grid's resolution).

    Refused before any work: a `bound` that is not a Bound or has no step-size range, `values`
    that is not a mapping or lacks a symbol the step-size conditions read, or holds one outside its
    domain, and `points` that is not an integer in [2, 10^6]."""
    _require_bound(bound)
    if bound.eta_max is None:
        raise ValueError(f"bound={bound.name!r}: has no step-size range to search")
    step_conditions = [c for c in bound.conditions if c.kind in STEP_SIZE_KINDS]
    _check_bound_values(
        bound,
        values,
        _eta_max_symbols(bound).union(*(c.symbols for c in step_conditions)) - {"eta", "eta_v"},
    )
    require("points", points, low=2, high=10**6, integer=True)
    eta_max = bound.eta_max_at(values)

    def ok(etas: np.ndarray) -> np.ndarray:
        # every eta at once: one vectorised evaluation (or one weight search) per condition
        good = np.ones(etas.shape, dtype=bool)
        for c in step_conditions:
            good &= c.holds_on({**values, "eta": etas})
        return good

    grid = eta_max * np.geomspace(1e-6, 1 - 1e-9, points)
    good = ok(grid)
    if not good.any():
        return 0.0
    lo = float(grid[good].max())
    above = grid[grid > lo]
    hi = float(above[0]) if above.size else eta_max
    for _ in range(3):  # refine the edge on finer and finer grids
        fine = np.linspace(lo, hi, 66)[1:-1]
        good = ok(fine)
        if good.any():
            lo = float(fine[good].max())
        above = fine[fine > lo]
        hi = float(above[0]) if above.size else hi
    return lo


def optimal_eta(
    bound: Bound,
    values: Mapping[str, float],
    T: float,
    grid: int = 2001,
    eta_cap: float | None = None,
) -> tuple[float, float]:
    """The eta in (0, min(eta_max, eta_cap)) minimising `bound` at horizon T (numeric; every other symbol given).

    A log-spaced grid brackets the minimum, then a bounded Brent search refines it. The
    grid guards against the bounds' non-convexity in eta near eta_max. `eta_cap` restricts the
    search further (e.g. to `allowed_eta`, where a sampling cap binds before eta_max).

    Refused before any work: a `bound` that is not a Bound or has no step-size range, `values`
    that is not a mapping, lacks a symbol of the bound or holds one outside its domain (L_u = -1),
    a horizon `T` below 1, a `grid` that is not an integer in [3, 10^6] and an `eta_cap` that is
    not None or > 0.
    """
    from scipy.optimize import minimize_scalar

    _require_bound(bound)
    if bound.eta_max is None:
        raise ValueError(f"bound={bound.name!r}: has no step-size range to optimise over")
    _check_bound_values(
        bound, values, (set(bound.parameters) | _eta_max_symbols(bound)) - {"eta", "eta_v"}
    )
    require("T", T, low=1)
    require("grid", grid, low=3, high=10**6, integer=True)
    if eta_cap is not None:
        require("eta_cap", eta_cap, low=0, low_open=True, allow_inf=True)
    vals = dict(values)
    eta_max = bound.eta_max_at(vals)
    if eta_cap is not None:
        eta_max = min(eta_max, eta_cap)
    hi = eta_max * (1 - 1e-9)
    if (
        bound.weights
    ):  # each evaluation searches the weights: a coarser grid, then a fine one instead of Brent
        grid = min(grid, 161)
    etas = np.geomspace(hi * 1e-8, hi, grid)
    vals = {**vals, "T": T}
    f = bound.evaluate({**vals, "eta": etas})
    f = np.where(np.isfinite(f) & (f > 0), f, np.inf)
    k = int(np.argmin(f))
    lo_b, hi_b = etas[max(k - 1, 0)], etas[min(k + 1, grid - 1)]
    if bound.weights:
        fine = np.linspace(lo_b, hi_b, 81)
        g = bound.evaluate({**vals, "eta": fine})
        g = np.where(np.isfinite(g) & (g > 0), g, np.inf)
        j = int(np.argmin(g))
        return (float(fine[j]), float(g[j])) if g[j] <= f[k] else (float(etas[k]), float(f[k]))
    res = minimize_scalar(
        lambda e: float(bound.evaluate({**vals, "eta": e})),
        bounds=(lo_b, hi_b),
        method="bounded",
        options={"xatol": 1e-12 * hi},
    )
    best_eta, best = (
        (float(res.x), float(res.fun)) if res.fun <= f[k] else (float(etas[k]), float(f[k]))
    )
    return best_eta, best


def horizon_free_eta(t, eta0: float, eta_max: float):
    """eta_t = min(eta_max, eta0 / sqrt(t + 1)): the anytime schedule for an unknown horizon."""
    require_number_array("t", t, low=0)
    require("eta0", eta0, low=0, low_open=True)
    require("eta_max", eta_max, low=0, low_open=True, allow_inf=True)
    return np.minimum(eta_max, eta0 / np.sqrt(np.asarray(t, dtype=float) + 1.0))
