"""`altsim falsify`: attack a bound the way a referee would, searching for the run that breaks it.

The package, by job:

- `search`: the search loop (`falsify`): a random phase, then a (1+1) evolution strategy from the worst
  instance, the bookkeeping of that instance, and the shrinking of a violation (`shrink`);
- `space`: where it searches: the normalised coordinates (`SPACE`), the problem families, and the
  config of a search point inside a bound's conditions (`instance`);
- `targets`: what it measures per candidate (`evaluate`, `attempt_from_result`; the drift lemma,
  `drift_lemma_ratio`) and when that is a violation (`confirm`, on fresh seeds);
- `records`: what it leaves behind: the report (`search_report`) and the TOML config of an instance
  (`config_toml`);
- `report`: the progress lines it prints (`print_progress`);
- `state`: the search's state, which every report carries (`search_state`) and `--resume` continues
  from (`state_from_report`): its options, phase, random number generator and worst instance;
- `command`: the `altsim falsify` command: the folder, the report written after every run, `--resume`,
  and SIGINT / SIGTERM (`run_falsify`).

Every name other code uses is importable from `altsim.testing.falsify` itself.
"""

from altsim.testing.falsify.records import config_toml, search_report
from altsim.testing.falsify.report import print_progress
from altsim.testing.falsify.search import falsify, search_objective, shrink
from altsim.testing.falsify.space import (
    ALL_FAMILIES,
    SEARCH_FAMILIES,
    SPACE,
    WITHOUT_DELTA,
    _decode,
    family_at,
    instance,
)
from altsim.testing.falsify.targets import (
    CONFIRM_SEEDS,
    DRIFT_LEMMA_BOUNDS,
    TARGETS,
    Attempt,
    attempt_from_result,
    confirm,
    drift_lemma_ratio,
    drift_share,
    evaluate,
)

__all__ = [
    "ALL_FAMILIES",
    "CONFIRM_SEEDS",
    "DRIFT_LEMMA_BOUNDS",
    "SEARCH_FAMILIES",
    "SPACE",
    "TARGETS",
    "WITHOUT_DELTA",
    "Attempt",
    "_decode",
    "attempt_from_result",
    "config_toml",
    "confirm",
    "drift_lemma_ratio",
    "drift_share",
    "evaluate",
    "falsify",
    "family_at",
    "instance",
    "print_progress",
    "search_objective",
    "search_report",
    "shrink",
]
