"""Fit a template's unknown constants to measurements: the smallest cover, as a linear program.

A template such as C1 sqrt(s1/T) + C2 (s2/T)^(2/3) + C3/T is linear in its constants. Given
measurements y_j at settings x_j, `calibrate` finds C >= 0 minimising sum_j template(x_j)
subject to template(x_j) >= y_j for every j: the tightest template that still covers every
measurement. The result is a `Bound` with provenance "calibrated", usable to predict runs
it was not fitted on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import sympy as sp

from .bound import Bound
from .checks import check_values, require, require_instance, shown, unknown_name_message


def calibrate(
    bound: Bound,
    settings: Sequence[Mapping[str, float]],
    measured: Sequence[float],
    constants: Sequence[str] | None = None,
) -> Bound:
    """Return `bound` with its linear unknown constants fitted (see the module docstring); its
    arguments are refused as `fit_constants` refuses them, before any work."""
    _check_arguments(bound, settings, measured, constants)
    fitted = fit_constants(bound, settings, measured, constants)
    syms = {s.name: s for s in bound.expression.free_symbols}
    left = tuple(u for u in bound.unknowns if u not in fitted)
    return dataclasses.replace(
        bound,
        name=bound.name + "_calibrated",
        expression=bound.expression.subs({syms[k]: v for k, v in fitted.items()}),
        provenance="calibrated",
        reference=f"{bound.reference}; constants fitted by altsim.theory.calibrate on {len(measured)} measurements: "
        + ", ".join(f"{k}={v:.6g}" for k, v in fitted.items()),
        unknowns=left,
    )


def _check_arguments(bound, settings, measured, constants) -> None:
    require_instance("bound", bound, Bound, "an altsim.theory.Bound")
    for name, seq in (("settings", settings), ("measured", measured)):
        if isinstance(seq, (str, bytes, Mapping)) or not isinstance(seq, Sequence | np.ndarray):
            raise TypeError(f"{name}={shown(seq)}: must be a list, not {type(seq).__name__}")
    for j, x in enumerate(settings):
        check_values(x, name=f"settings[{j}]", real=("T",))
    for j, y in enumerate(measured):
        require(f"measured[{j}]", y)
    if len(settings) != len(measured) or len(measured) == 0:
        raise ValueError(
            f"settings and measured must be non-empty and of equal length (got {len(settings)}, "
            f"{len(measured)})"
        )
    if constants is not None:
        if isinstance(constants, (str, bytes)) or not isinstance(constants, Sequence):
            raise TypeError(
                f"constants={shown(constants)}: must be None or a list of names, not "
                f"{type(constants).__name__}"
            )
        known = sorted(s.name for s in bound.expression.free_symbols)
        for c in constants:
            if not isinstance(c, str) or c not in known:
                raise ValueError(unknown_name_message("constants[]", c, known, kind="symbol"))


def fit_constants(
    bound: Bound,
    settings: Sequence[Mapping[str, float]],
    measured: Sequence[float],
    constants: Sequence[str] | None = None,
) -> dict[str, float]:
    """The constants of `calibrate`, as {name: value}.

    Refused before any work: a `bound` that is not a Bound; `settings` that is not a sequence of
    mappings; `measured` that is not a sequence of finite numbers of the same, non-zero length;
    `constants` that is not None or a sequence of names of the bound's symbols."""
    from scipy.optimize import linprog

    _check_arguments(bound, settings, measured, constants)
    names = list(constants if constants is not None else bound.unknowns)
    syms = [sp.Symbol(c, nonnegative=True) for c in names]
    syms = [next((f for f in bound.expression.free_symbols if f.name == s.name), s) for s in syms]
    for s in syms:
        if sp.diff(bound.expression, s, 2) != 0:
            raise ValueError(
                f"constant {s.name!r} does not enter {bound.name!r} linearly; give its value instead"
            )
    y = np.asarray(measured, dtype=float)
    if len(settings) != len(y) or len(y) == 0:
        raise ValueError(
            f"settings and measured must be non-empty and of equal length (got {len(settings)}, {len(y)})"
        )
    base = bound.expression.subs({s: 0 for s in syms})
    columns = [bound.expression.diff(s) for s in syms]

    def ev(expr) -> np.ndarray:
        b = dataclasses.replace(bound, expression=expr, unknowns=())
        return np.array([float(b.evaluate(dict(x))) for x in settings])

    phi = np.column_stack([ev(c) for c in columns])
    offset = ev(base)
    res = linprog(
        c=phi.sum(axis=0),
        A_ub=-phi,
        b_ub=offset - y,
        bounds=[(0, None)] * len(syms),
        method="highs",
    )
    if not res.success:
        raise ValueError(
            f"no nonnegative constants make {bound.name!r} cover every measurement: {res.message}"
        )
    return {s.name: float(v) for s, v in zip(syms, res.x)}
