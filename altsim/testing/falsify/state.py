"""The state of a search, as the report keeps it (`search_state`), so that `altsim falsify --resume`
continues a search that was interrupted, killed, or simply ran out of budget.

What it holds: the options the search was started with (`OPTIONS`; a resume must give the same), its
phase (`random` search, or the `climb` of the evolution strategy), the exact state of its random
number generator, the climb's step size, the worst instance so far (`Attempt`, with its point in the
search cube), the counts of runs and refusals, the unconfirmed candidates, and the seconds spent and
budgeted over every session.

What is deterministic: the search points are drawn from that generator only, so a search resumed from
the state written after its k-th run draws exactly the points an uninterrupted search draws after its
k-th run, and measures them alike (a run is deterministic given its config). A run in progress when
the search was stopped is not recorded; the resumed search draws its point again. Where the random phase
ends and where a session stops are set by the clock (a fraction of each session's budget), as in an
uninterrupted search: two searches of equal budgets need not stop at the same run.

Floats that JSON cannot hold (an infinite ratio: a diverged seed) are written as the strings "inf",
"-inf" and "nan"; the generator's 128-bit integers as decimal strings.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from altsim.rates.experiment import ExperimentConfig
from altsim.testing.falsify.space import SPACE
from altsim.testing.falsify.targets import Attempt

STATE_FORMAT = 1
"""The version of `search_state`; a report of another version is not resumed."""
OPTIONS = (
    "bound",
    "family",
    "scale",
    "seed",
    "n_seeds",
    "random_fraction",
    "min_drift_share",
    "max_rounds",
    "target",
    "plugins",
)
"""The arguments of `falsify` that make a search what it is: a resume must give each the same."""
PHASES = ("random", "climb")


@dataclasses.dataclass
class SearchState:
    """Where a search stands after its last recorded run."""

    options: dict
    phase: str = "random"
    rng: dict | None = None
    """`numpy.random.PCG64` state (`bit_generator.state`); None: a new generator from `options["seed"]`."""
    step: float = 0.2
    best: Attempt | None = None
    best_z: np.ndarray | None = None
    evaluations: int = 0
    refused: int = 0
    unconfirmed: list[dict] = dataclasses.field(default_factory=list)
    elapsed: float = 0.0
    budget: float = 0.0
    sessions: int = 0

    def generator(self) -> np.random.Generator:
        """The search's random number generator, where the state left it."""
        rng = np.random.default_rng(self.options["seed"])
        if self.rng is not None:
            rng.bit_generator.state = self.rng
        return rng


def differing_option(recorded: Mapping, given: Mapping) -> tuple[str, Any, Any] | None:
    """The first option (`OPTIONS`) whose `given` value differs from the `recorded` one, with both
    values; None when all agree. Numbers compare by value (1 equals 1.0), plugins as lists."""
    for name in OPTIONS:
        old, new = recorded.get(name), given.get(name)
        if name == "plugins":
            old, new = list(old or []), list(new or [])
        if old != new:
            return name, old, new
    return None


def _number(x: float) -> float | str:
    x = float(x)
    return x if math.isfinite(x) else repr(x)  # 'inf', '-inf', 'nan'


def _float(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{what}: not a number ({type(value).__name__})")
    if isinstance(value, str) and value not in ("inf", "-inf", "nan"):
        raise ValueError(f"{what}: not a number ({value[:20]!r})")
    return float(value)


def _int(value: Any, what: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{what}: not an integer >= {low}")
    return value


def attempt_json(a: Attempt) -> dict:
    """An `Attempt` as JSON data: its numbers (non-finite ones as strings) and its config's dict."""
    return {
        "ratio": _number(a.ratio),
        "violated": bool(a.violated),
        "T": int(a.T),
        "measured": _number(a.measured),
        "bound": _number(a.bound),
        "exact": bool(a.exact),
        "drift_share": _number(a.drift_share),
        "config": a.config.to_dict(),
    }


def attempt_from_json(d: Any, what: str) -> Attempt:
    """The `Attempt` that `attempt_json` wrote, or a ValueError naming (after `what`) what is wrong."""
    if not isinstance(d, Mapping):
        raise ValueError(f"{what}: not a table")
    missing = [
        k
        for k in ("ratio", "violated", "T", "measured", "bound", "exact", "drift_share", "config")
        if k not in d
    ]
    if missing:
        raise ValueError(f"{what}: has no {missing[0]!r}")
    if not isinstance(d["config"], Mapping):
        raise ValueError(f"{what}.config: not a table")
    for k in ("violated", "exact"):
        if not isinstance(d[k], bool):
            raise ValueError(f"{what}.{k}: not true or false")
    try:
        config = ExperimentConfig.from_dict(d["config"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what}.config: {e}") from None
    return Attempt(
        ratio=_float(d["ratio"], f"{what}.ratio"),
        violated=d["violated"],
        config=config,
        T=_int(d["T"], f"{what}.T", 1),
        measured=_float(d["measured"], f"{what}.measured"),
        bound=_float(d["bound"], f"{what}.bound"),
        exact=d["exact"],
        drift_share=_float(d["drift_share"], f"{what}.drift_share"),
    )


def _rng_json(state: dict) -> dict:
    return {
        "bit_generator": state["bit_generator"],
        "state": {k: str(v) for k, v in state["state"].items()},
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }


def _rng_from_json(d: Any, what: str) -> dict:
    if not isinstance(d, Mapping) or d.get("bit_generator") != "PCG64":
        raise ValueError(f"{what}: not the state of a PCG64 generator")
    inner = d.get("state")
    if not isinstance(inner, Mapping) or set(inner) != {"state", "inc"}:
        raise ValueError(f"{what}.state: must hold 'state' and 'inc'")
    words = {}
    for k in ("state", "inc"):
        v = inner[k]
        if not (isinstance(v, str) and v.isdigit() and len(v) <= 40 and int(v) < 2**128):
            raise ValueError(f"{what}.state.{k}: not a 128-bit integer in decimal")
        words[k] = int(v)
    state = {
        "bit_generator": "PCG64",
        "state": words,
        "has_uint32": _int(d.get("has_uint32"), f"{what}.has_uint32"),
        "uinteger": _int(d.get("uinteger"), f"{what}.uinteger"),
    }
    try:  # the generator itself is the final judge of a state
        np.random.PCG64().state = state
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what}: {e}") from None
    return state


def state_json(s: SearchState, rng: np.random.Generator) -> dict:
    """`s` as JSON data, with `rng`'s current state."""
    return {
        "format": STATE_FORMAT,
        "options": {k: (list(v) if k == "plugins" else v) for k, v in s.options.items()},
        "phase": s.phase,
        "rng": _rng_json(rng.bit_generator.state),
        "step": s.step,
        "best": attempt_json(s.best) if s.best is not None else None,
        "best_z": [float(v) for v in s.best_z] if s.best_z is not None else None,
        "evaluations": s.evaluations,
        "refused": s.refused,
        "unconfirmed": list(s.unconfirmed),
        "elapsed_seconds": s.elapsed,
        "budget_seconds": s.budget,
        "sessions": s.sessions,
    }


def state_from_report(report: Any, where: str = "report") -> SearchState:
    """The state a report recorded (its `search_state`), or a ValueError naming what is wrong with it
    (`where` names the report: its file)."""
    if not isinstance(report, Mapping):
        raise ValueError(f"{where}: not a falsify report (a JSON object)")
    d = report.get("search_state")
    if d is None:
        raise ValueError(
            f"{where}: records no search state (written by altsim 0.2.0 or earlier), so its search "
            "cannot be resumed"
        )
    what = f"{where}: search_state"
    if not isinstance(d, Mapping):
        raise ValueError(f"{what}: not a table")
    if d.get("format") != STATE_FORMAT:
        raise ValueError(f"{what}: format {d.get('format')!r}, not {STATE_FORMAT}")
    options = d.get("options")
    if not isinstance(options, Mapping) or set(options) != set(OPTIONS):
        raise ValueError(f"{what}.options: must hold exactly {', '.join(OPTIONS)}")
    if isinstance(options["seed"], bool) or not isinstance(options["seed"], int):
        raise ValueError(f"{what}.options.seed: not an integer")
    if d.get("phase") not in PHASES:
        raise ValueError(f"{what}.phase: must be one of {', '.join(PHASES)}")
    step = _float(d.get("step"), f"{what}.step")
    if not 0 < step <= 1:
        raise ValueError(f"{what}.step: must be in (0, 1]")
    best = None if d.get("best") is None else attempt_from_json(d["best"], f"{what}.best")
    z = d.get("best_z")
    best_z = None
    if z is not None:
        if not (
            isinstance(z, list)
            and len(z) == len(SPACE)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in z)
            and all(0 <= v <= 1 for v in z)
        ):
            raise ValueError(f"{what}.best_z: must be {len(SPACE)} numbers in [0, 1]")
        best_z = np.array(z, dtype=float)
    if (best is None) != (best_z is None):
        raise ValueError(f"{what}: best and best_z must be given together")
    unconfirmed = d.get("unconfirmed")
    if not isinstance(unconfirmed, list) or not all(isinstance(u, dict) for u in unconfirmed):
        raise ValueError(f"{what}.unconfirmed: not a list of tables")
    elapsed = _float(d.get("elapsed_seconds"), f"{what}.elapsed_seconds")
    budget = _float(d.get("budget_seconds"), f"{what}.budget_seconds")
    if not (math.isfinite(elapsed) and elapsed >= 0 and math.isfinite(budget) and budget >= 0):
        raise ValueError(f"{what}: elapsed_seconds and budget_seconds must be finite and >= 0")
    return SearchState(
        options=dict(options),
        phase=d["phase"],
        rng=_rng_from_json(d.get("rng"), f"{what}.rng"),
        step=step,
        best=best,
        best_z=best_z,
        evaluations=_int(d.get("evaluations"), f"{what}.evaluations"),
        refused=_int(d.get("refused"), f"{what}.refused"),
        unconfirmed=list(unconfirmed),
        elapsed=elapsed,
        budget=budget,
        sessions=_int(d.get("sessions"), f"{what}.sessions"),
    )
