"""altsim.theory: the convergence theory of partially personalized FL as symbolic objects.

- `symbols`: one sympy symbol per quantity;
- `assumptions`: A1-A3 with provenance, and validated `Constants`;
- `bound.Bound`: expression + conditions (each with a machine-readable kind) + provenance,
  evaluable with numpy and torch;
- `paper`: what the paper states ([P]) or what we reconstruct of it ([R]);
- `fedsim_sgd`, `fedsim_local`, `fedalt_sgd`, `fedalt_partial`, `fedalt_local`: explicit bounds derived here ([D]);
- `weights`: the search over a proof's free Young weights;
- `rate`: the paper's rate shape with constants derived here ([D] paper-level) and the slope fit;
- `stepsize`: step-size rules and the eta minimising a bound;
- `regime`: which algorithm's [D] bound is smaller at its own best step size;
- `calibrate`: fit a template's unknown constants.

`BOUNDS` maps each bound's name to it; `bounds_for(algorithm)` lists one algorithm's;
`DERIVATIONS` maps each [D] bound's name to the sympy identities of its proof. The theory
itself is written up in docs/theory.md.
"""

from __future__ import annotations

from . import fedalt_local, fedalt_partial, fedalt_sgd, fedsim_local, fedsim_sgd, paper, rate
from .assumptions import ASSUMPTIONS, Constants, require
from .bound import CONDITION_KINDS, STEP_SIZE_KINDS, Bound, Condition, Coverage, normalised_eta
from .calibrate import calibrate, fit_constants
from .paper import regime_condition, regime_margin, regime_winner, stationarity
from .regime import regime_winner_derived
from .stepsize import allowed_eta, block_step_sizes, horizon_free_eta, minimize_rate, optimal_eta

_DERIVED_MODULES = (fedsim_sgd, fedsim_local, fedalt_sgd, fedalt_partial, fedalt_local)
"""Modules of [D] bounds: each has BOUNDS (constructors) and DERIVATION (its proof's identities)."""

BOUNDS: dict[str, Bound] = {
    b.name: b
    for b in (f() for f in (*(f for mod in _DERIVED_MODULES for f in mod.BOUNDS), *paper.BOUNDS))
}

DERIVATIONS: dict[str, tuple] = {
    f().name: mod.DERIVATION for mod in _DERIVED_MODULES for f in mod.BOUNDS
}
"""[D] bound name -> the `Identity` steps of its derivation (a module's bounds share its derivation)."""


def get_bound(name: str) -> Bound:
    try:
        return BOUNDS[name]
    except KeyError:
        raise ValueError(
            f"bound={name!r}: unknown; choose one of {', '.join(sorted(BOUNDS))}"
        ) from None


def bounds_for(algorithm: str, provenance: str | None = None) -> list[Bound]:
    return [
        b
        for b in BOUNDS.values()
        if b.algorithm == algorithm and (provenance is None or b.provenance == provenance)
    ]


__all__ = [
    "ASSUMPTIONS",
    "BOUNDS",
    "CONDITION_KINDS",
    "DERIVATIONS",
    "STEP_SIZE_KINDS",
    "Bound",
    "Condition",
    "Constants",
    "Coverage",
    "allowed_eta",
    "block_step_sizes",
    "bounds_for",
    "calibrate",
    "fit_constants",
    "get_bound",
    "horizon_free_eta",
    "minimize_rate",
    "normalised_eta",
    "optimal_eta",
    "paper",
    "rate",
    "regime_condition",
    "regime_margin",
    "regime_winner",
    "regime_winner_derived",
    "require",
    "stationarity",
]
