"""Which algorithm wins, by the bounds altsim proved [D] (beside the paper's section-6 condition [P]).

For a setting (the constants, n, m, T and the run options), each algorithm's explicit [D] bounds
whose conditions hold apart from the step size are evaluated at their own best step size: the eta
minimising the bound at horizon T inside every step-size condition (`stepsize.allowed_eta`; a
sampling cap can bind before the step range does). The algorithm whose best bound is smaller wins
(docs/theory.md section 6). Where an algorithm has no covering [D] bound, there is no verdict, and
the answer says why: the derived regime speaks only where altsim has proofs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .bound import PROVENANCES, STEP_SIZE_KINDS, Bound
from .checks import check_values, require, require_instance, shown, validate_values
from .registry import BOUNDS
from .stepsize import allowed_eta, optimal_eta
from .symbols import DEFAULTS, DOMAINS

REGIME_ALGORITHMS = ("fedalt", "fedsim")
_CHOSEN_BY_ETA = STEP_SIZE_KINDS | {
    "step_rule"
}  # the bound picks eta itself, and both blocks follow it
RUN_DEFAULTS = {**DEFAULTS, "tau": 1, "tau_u": 1, "tau_v": 1}
"""What a setting that does not say otherwise runs with: one local step per block, stateful clients, fresh samples."""


def _check_values(values: Mapping[str, float]) -> None:
    """Raise naming the first value of a known symbol outside its domain (`checks.validate_values`);
    names that are not symbols pass (a bound of a user's may take its own)."""
    if not isinstance(values, Mapping):
        raise TypeError(
            f"values={shown(values)}: must be a mapping of symbol names to numbers, not "
            f"{type(values).__name__}"
        )
    validate_values({k: v for k, v in values.items() if k in DOMAINS})


def _check_bounds(bounds) -> None:
    """Refuse a `bounds` that is not None or a mapping of names to `Bound`s."""
    if bounds is None:
        return
    require_instance("bounds", bounds, Mapping, "None or a mapping of names to altsim.theory.Bound")
    for k, b in bounds.items():
        require_instance(f"bounds[{k!r}]", b, Bound, "an altsim.theory.Bound")


def best_value(bound: Bound, values: Mapping[str, float]) -> dict:
    """{'value', 'eta'} of `bound` at its best allowed step size, or {'reason'} when it does not apply.

    The step size is searched in (0, `allowed_eta`): inside every step-size condition, so the
    value is one the bound guarantees. A bound without a step size is evaluated as it stands
    ('eta' is None). Settings are completed with `RUN_DEFAULTS`. Refused before any work: a `bound`
    that is not a Bound, and `values` that is not a mapping or holds a known symbol outside its domain
    (T may be any real >= 1, a constant +inf where not certified)."""
    require_instance("bound", bound, Bound, "an altsim.theory.Bound")
    check_values(values, allow_inf=True, real=("T",))
    vals = {**RUN_DEFAULTS, **values}
    missing = sorted(
        p for p in set(bound.parameters) - {"eta", "eta_v"} if p not in vals
    )  # eta_v follows eta
    if missing:
        return {"reason": f"needs {', '.join(missing)}"}
    failing = [
        why
        for c in bound.conditions
        if c.kind not in _CHOSEN_BY_ETA
        for why in [c.check(vals)]
        if why is not None
    ]
    if failing:
        return {"reason": "; ".join(failing)}
    if "eta" not in bound.parameters:
        return {"value": float(bound.evaluate(vals)), "eta": None}
    cap = allowed_eta(bound, vals)
    if not cap > 0:
        return {"reason": "no step size meets the step-size conditions"}
    eta, value = optimal_eta(bound, vals, vals["T"], eta_cap=cap)
    if not (math.isfinite(value) and value > 0):
        return {"reason": f"no finite value at the best step size (eta = {eta:.6g})"}
    return {"value": float(value), "eta": float(eta)}


def tightest_bound(
    algorithm: str,
    values: Mapping[str, float],
    *,
    bounds: Mapping[str, Bound] | None = None,
    provenance: str | None = "D",
) -> dict:
    """The registered bound on `algorithm` that is smallest at its own best step size.

    Every bound of `provenance` (all of them with None) whose conditions hold at `values` apart
    from the step size is evaluated by `best_value`; the smallest value wins, the earlier
    registered bound on a tie. The one implementation of "the best bound" that `altsim bound`,
    the derived regime verdict and the regime study all call.

    Returns {'bound': name, 'value', 'eta'} or, where no bound applies, {'bound': None,
    'reasons': {name: why}}. Refused before any work: an `algorithm` that is not a str, a
    `provenance` that is not None or one of `bound.PROVENANCES`, and a value of a known symbol
    outside its domain (`checks.validate_values`: T=-1, T="100", m > n)."""
    if not isinstance(algorithm, str):
        raise ValueError(
            f"algorithm={shown(algorithm)}: must be an algorithm's name (a str), not "
            f"{type(algorithm).__name__}"
        )
    if provenance is not None and (
        not isinstance(provenance, str) or provenance not in PROVENANCES
    ):
        raise ValueError(
            f"provenance={shown(provenance)}: must be None or one of {', '.join(PROVENANCES)}"
        )
    _check_values(values)
    _check_bounds(bounds)
    pool = BOUNDS if bounds is None else bounds
    best: dict | None = None
    reasons: dict[str, str] = {}
    for b in pool.values():
        if b.algorithm != algorithm or (provenance is not None and b.provenance != provenance):
            continue
        r = best_value(b, values)
        if "value" in r:
            if best is None or r["value"] < best["value"]:
                best = {"bound": b.name, **r}
        else:
            reasons[b.name] = r["reason"]
    return best if best is not None else {"bound": None, "reasons": reasons}


def regime_winner_derived(
    values: Mapping[str, float], bounds: Mapping[str, Bound] | None = None, rtol: float = 1e-12
) -> dict:
    """Which of FedAlt and FedSim has the smaller best [D] bound at `values` (which must hold T).

    Returns {'winner': 'fedalt' | 'fedsim' | 'tie' | None, 'fedalt': {...}, 'fedsim': {...}, 'reason'}:
    per algorithm its `tightest_bound` (name, value, eta) or why none applies. A value of a known
    symbol outside its domain is refused before any work (`checks.validate_values`)."""
    _check_values(values)
    _check_bounds(bounds)
    require("rtol", rtol, low=0)
    out: dict = {alg: tightest_bound(alg, values, bounds=bounds) for alg in REGIME_ALGORITHMS}
    a, s = out["fedalt"].get("value"), out["fedsim"].get("value")
    if a is None or s is None:
        lacking = [alg for alg in REGIME_ALGORITHMS if out[alg].get("value") is None]
        out.update(winner=None, reason=f"no [D] bound applies to {' and '.join(lacking)} here")
    elif abs(a - s) <= rtol * max(abs(a), abs(s)):
        out.update(winner="tie", reason="the best [D] bounds are equal")
    else:
        out.update(
            winner="fedalt" if a < s else "fedsim",
            reason=f"best [D] bounds {out['fedalt']['bound']} = {a:.6g} and "
            f"{out['fedsim']['bound']} = {s:.6g}",
        )
    return out
