"""What a search leaves behind: its JSON-ready report (`search_report`) and the TOML config of an
instance it found (`config_toml`), which `altsim run` reruns.

`altsim falsify` writes the report as `falsify.json` and the worst instance (and a shrunk
counterexample, if any) through `config_toml`; `tests/test_tightness.py` replays the committed ones
(tests/data/falsify/) from the report's `worst_ratio`, `worst_T`, `worst_drift_share`, `target` and
`worst_ratio_fresh_seeds`.

The command writes the report after every run, marked `"complete": false` until the search ends, so a
search that is killed keeps every run it finished; the report's `search_state` (`state`) is what
`altsim falsify --resume` continues from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np
import tomli_w

from altsim.testing.falsify.space import SPACE
from altsim.testing.falsify.targets import CONFIRM_SEEDS, Attempt
from altsim.theory import Bound
from altsim.theory.checks import shown

PARTIAL_REASONS = ("in_progress", "interrupted", "terminated")
"""Why a report is partial (`"complete": false`): written after a run while the search goes on (and left
so by a search that was killed: no altsim process holds the folder any more), or the last report of a
search stopped by SIGINT (`interrupted`) or SIGTERM (`terminated`)."""


def search_report(
    bound_name: str,
    bound: Bound,
    *,
    scale: float,
    family: str,
    budget: float,
    elapsed: float,
    evaluations: int,
    refused: int,
    best: Attempt | None,
    shrunk: Attempt | None,
    fresh: Attempt | None,
    min_drift_share: float,
    target: str,
    max_rounds: int | None,
    unconfirmed: list[dict],
    complete: bool = True,
    partial_reason: str | None = None,
    sessions: int = 1,
    state: dict | None = None,
) -> dict:
    """The report of a search: its settings, the worst instance found (`best`), its rerun on fresh seeds
    (`fresh`; None where it needs none) and the shrunk counterexample (`shrunk`; None without a violation).

    A report written while the search runs (`complete=False`) says why it is partial (`partial_reason`,
    `PARTIAL_REASONS`); its `worst_ratio_fresh_seeds` is None until the rerun on fresh seeds is done.
    `sessions` counts the search's starts (1 + its resumes), and `state` is its `search_state`, from which
    `altsim falsify --resume` continues (`state`); `budget` and `elapsed` add up every session's."""
    if complete != (partial_reason is None) or partial_reason not in (None, *PARTIAL_REASONS):
        raise ValueError(
            f"partial_reason={partial_reason!r}: None for a complete report, else one of "
            f"{', '.join(PARTIAL_REASONS)}"
        )
    pending = (  # a rerun on fresh seeds the search owes its worst instance, once it ends
        not complete
        and best is not None
        and not best.violated
        and not best.exact
        and math.isfinite(best.ratio)
    )
    return {
        "bound": bound_name,
        "complete": complete,
        "partial_reason": partial_reason,
        "algorithm": bound.algorithm,
        "provenance": bound.provenance,
        "scale": scale,
        "family": family,
        "budget_seconds": budget,
        "elapsed_seconds": elapsed,
        "evaluations": evaluations,
        "refused": refused,
        "worst_ratio": best.ratio if best else None,
        "worst_T": best.T if best else None,
        "worst_measured": best.measured if best else None,
        "worst_bound": best.bound if best else None,
        "violation": bool(best and best.violated),
        "worst_config": best.config.to_dict() if best else None,
        "counterexample": shrunk.config.to_dict() if shrunk else None,
        "counterexample_ratio": shrunk.ratio if shrunk else None,
        "worst_ratio_fresh_seeds": (
            None if pending else fresh.ratio if fresh else best.ratio if best else None
        ),
        "worst_T_fresh_seeds": (
            None if pending else fresh.T if fresh else best.T if best else None
        ),
        "worst_is_exact": bool(best and best.exact),
        "worst_drift_share": best.drift_share if best else None,
        "min_drift_share": min_drift_share,
        "target": target,
        "max_rounds": max_rounds if max_rounds is not None else SPACE["rounds"][1],
        "unconfirmed_candidates": unconfirmed,
        "confirmation": f"{len(CONFIRM_SEEDS)} fresh seeds, Bonferroni over the horizons, level 95%",
        "sessions": sessions,
        "search_state": state,
    }


def plain(value):
    """`value` with numpy scalars and arrays made Python ones and tuples made lists, recursively: what TOML
    holds, and what `tomllib` reads back."""
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _key(path: str, key: object) -> str:
    """`path.key`, the key shown as its repr unless it is a bare TOML key."""
    name = key if isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_-]+", key) else shown(key)
    return f"{path}.{name}" if path else str(name)


def _unwritable(value, path: str) -> str | None:
    """Where in `value` (reached by `path`) TOML cannot follow, and why: a None, or a table key that is
    not a str; None where there is nothing of the kind."""
    if value is None:
        fix = "" if path.endswith("]") else " (leave the key out for its default)"
        return f"{path}=None: TOML holds no None{fix}"
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{_key(path, k)}: a key must be a str, not {type(k).__name__}"
            where = _unwritable(v, _key(path, k))
            if where is not None:
                return where
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            where = _unwritable(v, f"{path}[{i}]")
            if where is not None:
                return where
    return None


_COMMENT_UNSAFE = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F) if c != 0x09}
"""Characters TOML refuses in a comment (control characters but tab), written as visible escapes."""


def config_toml(config: dict, comment: str) -> str:
    """A TOML file that `altsim run` reruns: `comment` as `#` lines, then the tables [experiment] (every key
    of `config` but `problem`, those that are None left out: they take their defaults) and [problem].

    Written by tomli-w, so any string, list or number reads back unchanged with `tomllib`; each line of
    `comment` stays one comment line (its control characters written as `\\xNN`), so it cannot add keys.

    Refused before anything is written, in one line: a `config` that is not a mapping or has no `problem`
    mapping, a `comment` that is not a str, and a None TOML cannot hold (in `problem`, or inside a list
    or table), named by its key (`problem.KEY`)."""
    if not isinstance(config, Mapping):
        raise TypeError(
            f"config={shown(config)}: must be a mapping (ExperimentConfig.to_dict()), not "
            f"{type(config).__name__}"
        )
    if "problem" not in config:
        raise ValueError(
            "config: has no 'problem' table (the problem's parameters; {} for none); it has "
            f"{shown(sorted(map(str, config)))}"
        )
    if not isinstance(config["problem"], Mapping):
        raise TypeError(
            f"config['problem']={shown(config['problem'])}: must be a mapping of the problem's "
            f"parameters, not {type(config['problem']).__name__}"
        )
    if not isinstance(comment, str):
        raise TypeError(
            f"comment={shown(comment)}: must be a str ('' for none), not {type(comment).__name__}"
        )
    # a None of [experiment] is left out (it takes its default); any other None TOML cannot write
    experiment = {k: v for k, v in config.items() if k != "problem" and v is not None}
    where = _unwritable(experiment, "") or _unwritable(config["problem"], "problem")
    if where is not None:
        raise ValueError(f"config: {where}")
    header = "".join(f"# {line.translate(_COMMENT_UNSAFE)}\n" for line in comment.splitlines())
    return header + tomli_w.dumps(plain({"experiment": experiment, "problem": config["problem"]}))
