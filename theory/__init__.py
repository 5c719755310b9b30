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
- `checks`: `require`, `require_bool`, `shown` and the other value checks every entry point uses;
- `registry`: `BOUNDS`, `get_bound`, `bounds_for`, `register_bound` (a user's own bounds);
- `regime`: `tightest_bound` (each algorithm's smallest bound at its own best step size) and
  which algorithm's [D] bound is smaller;
- `calibrate`: fit a template's unknown constants.

`BOUNDS` maps each bound's name to it; `bounds_for(algorithm)` lists one algorithm's;
`register_bound(bound)` adds a user's own;
`DERIVATIONS` maps each [D] bound's name to the sympy identities of its proof. The theory
itself is written up in docs/theory.md.
"""

from __future__ import annotations

from . import (
    checks,
    fedalt_local,
    fedalt_partial,
    fedalt_sgd,
    fedsim_local,
    fedsim_sgd,
    paper,
    rate,
)
from .assumptions import ASSUMPTIONS, Constants
from .bound import CONDITION_KINDS, STEP_SIZE_KINDS, Bound, Condition, Coverage, normalised_eta
from .calibrate import calibrate, fit_constants
from .checks import require, require_bool, shown
from .paper import regime_condition, regime_margin, regime_winner, stationarity
from .regime import best_value, regime_winner_derived, tightest_bound
from .registry import BOUNDS, DERIVATIONS, bounds_for, get_bound, register_bound
from .stepsize import allowed_eta, block_step_sizes, horizon_free_eta, minimize_rate, optimal_eta

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
    "best_value",
    "block_step_sizes",
    "bounds_for",
    "calibrate",
    "checks",
    "fedalt_local",
    "fedalt_partial",
    "fedalt_sgd",
    "fedsim_local",
    "fedsim_sgd",
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
    "register_bound",
    "require",
    "require_bool",
    "shown",
    "stationarity",
    "tightest_bound",
]
