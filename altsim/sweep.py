"""`altsim run`: one experiment or a sweep (a grid) from a TOML file, resumable after a kill.

TOML layout::

    [experiment]            # fields of ExperimentConfig (except `problem`)
    family = "coupled_quadratic"
    rounds = 300
    seeds = [0, 1, 2, 3]

    [problem]               # parameters of the family
    n = 20
    chi = 0.5

    [sweep]                 # optional grid: each key takes every listed value
    m = [5, 10, 20]
    "problem.delta" = [0.5, 2.0]

    [regime]                # optional: compare FedAlt and FedSim against the paper's prediction
    enabled = true
    eta_grid = [0.1, 0.2, 0.4]          # optional, the study of `altsim.rates.regime_study`: each algorithm
    tune_seeds = [100, 101, 102, 103]   # at its own step size tuned on these seeds, FedAlt at every
    fedalt_local_steps = [[1, 1], [5, 5]]   # (tau_u, tau_v), the paper's [P] and altsim's [D]
    margin = 0.1                        # predictions beside the measurement, a band around each boundary

Output folder::

    config.toml                 the input, copied
    environment.json            altsim and torch versions, device
    points/<id>/summary.json    one per grid point, written last and atomically: its presence marks the point done
    points/<id>/rounds.csv      tidy per-round data of the point
    summary.json                rebuilt from the points on disk after every run
    rounds.csv                  every point's rows, with a `point` column
    scores.csv                  (the tuned regime study, instead of rounds.csv) per point, variant and seed: the
                                tuned eta and the final running average of Delta_w (w = m/n) compared
    regime_table.md             (the tuned regime study) the three predictions at every row, and the agreement rates

Rerunning on the same folder resumes: finished points are skipped, temporary files of an
interrupted write are removed and their points redone. A different config in the folder is
refused rather than mixed.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from altsim.executors import EXECUTORS, dask_client, run_all
from altsim.executors import exit_with_parent as exit_with_parent  # lived here before: re-exported
from altsim.folders import POINT_FILES, POINTS, OutputFolder, Repairs
from altsim.io import (
    atomic_write,
    dumps,
    read_json,
    sha256_file,
    write_json,
    write_text,
)
from altsim.plugins import import_plugins
from altsim.rates.experiment import ExperimentConfig, environment, work_started
from altsim.rates.regime_study import RegimeStudy
from altsim.results import ROUND_COLUMNS
from altsim.theory import require
from altsim.theory.checks import shown, unknown_name_message

REGIME_ALGORITHMS = ("fedalt", "fedsim")
"""The two algorithms whose winner the paper's section-6 condition predicts."""
_SECTIONS = {"experiment", "problem", "sweep", "regime"}
STUDY_SETS = ("eta", "eta_v", "tau_u", "tau_v", "algorithms", "bounds", "official")
"""`[experiment]` keys a tuned regime study sets itself, so a `[sweep]` beside it may not."""
SWEEP_KEYS_DOC = {
    "KEY": "Any `[experiment]` key, e.g. `m = [5, 10, 20]`: a non-empty list of distinct values, each "
    "checked as that key is. Beside a tuned regime study, not " + ", ".join(STUDY_SETS) + " (the "
    "study sets them itself).",
    "problem.NAME": 'A `[problem]` key NAME of the family, quoted: `"problem.delta" = [0.5, 2.0]`; a '
    "non-empty list of distinct values, each checked as that key is.",
}
"""The keys a `[sweep]` table takes, for the config reference (`altsim.reference`)."""
REGIME_ENABLED_DOC = (
    "Compare FedAlt and FedSim at every point: true or false. Alone, each point's runs are held "
    "against the paper's section-6 prediction; with `eta_grid` and `tune_seeds`, the tuned study runs "
    "(every other key of this table needs enabled = true). Both fedalt and fedsim must be in algorithms."
)
"""The `[regime]` key `enabled`, which is not a `RegimeStudy` field, for the config reference."""


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """A base experiment and the grid to sweep over."""

    base: dict
    """ExperimentConfig fields, `problem` included."""
    grid: dict[str, list]
    """Key ('m', 'rounds', 'problem.delta', ...) -> values; empty for a single experiment."""
    regime: bool = False
    """Whether to compare FedAlt and FedSim against the paper's regime prediction at every point."""
    study: RegimeStudy | None = None
    """The tuned regime study (`altsim.rates.regime_study`) run at every point instead of one plain run."""

    def points(self) -> list[tuple[str, ExperimentConfig, dict]]:
        """(point id, config, the grid values of this point), every config validated before any work."""
        keys = sorted(self.grid)
        out = []
        for values in itertools.product(*(self.grid[k] for k in keys)) if keys else [()]:
            d = json.loads(json.dumps(self.base))
            assign = dict(zip(keys, values))
            for k, v in assign.items():
                if k.startswith("problem."):
                    d.setdefault("problem", {})[k.split(".", 1)[1]] = v
                elif k == "problem" and isinstance(v, dict):  # merged into [problem], key by key
                    d["problem"] = {**d.get("problem", {}), **v}
                else:
                    d[k] = v
            cfg = ExperimentConfig.from_dict(d)
            out.append((point_id(cfg), cfg, assign))
        seen: dict[str, dict] = {}
        for _, cfg, assign in out:
            key = json.dumps(_normal(_experiment(cfg)), sort_keys=True)
            if key in seen:
                raise ValueError(
                    f"sweep: the points {shown(seen[key], 80)} and {shown(assign, 80)} are the same "
                    "experiment (equal values, after 2 and 2.0 count as one); each point must differ"
                )
            seen[key] = assign
        return out

    def preflight(self) -> None:
        """Build every point's problem and step sizes, so that a bad point fails before any point runs."""
        from altsim.rates.experiment import preflight

        if getattr(self, "_checked", False):
            return
        for _, cfg, _ in self.points():
            if self.study is not None:
                import warnings

                self.study.check(cfg)
                with warnings.catch_warnings():
                    warnings.simplefilter(
                        "ignore"
                    )  # "eta outside a bound's conditions": the study reports coverage
                    for (
                        tau_u,
                        tau_v,
                    ) in (
                        self.study.fedalt_local_steps
                    ):  # every variant's run, at the grid's extremes
                        for eta in (min(self.study.eta_grid), max(self.study.eta_grid)):
                            preflight(
                                dataclasses.replace(
                                    cfg, eta=eta, eta_v=None, tau_u=tau_u, tau_v=tau_v, bounds=()
                                )
                            )
                continue
            if self.regime:
                missing = sorted(set(REGIME_ALGORITHMS) - set(cfg.algorithms))
                if missing:
                    raise ValueError(
                        f"regime.enabled=true: a regime study compares {' and '.join(REGIME_ALGORITHMS)}; "
                        f"algorithms {list(cfg.algorithms)} lacks {', '.join(missing)}"
                    )
            preflight(cfg)
        object.__setattr__(
            self, "_checked", True
        )  # a frozen spec checked once need not be checked again


def _experiment(cfg: ExperimentConfig) -> dict:
    """The experiment `cfg` runs, as data: its config with the family's defaults filled in, so that a
    default written out and one left out are the same experiment."""
    from altsim.synthetic import family_config

    d = cfg.to_dict()
    d["problem"] = dataclasses.asdict(family_config(cfg.family, cfg.problem))
    return d


def _normal(value: Any) -> Any:
    """`value` with every number a float (a bool stays a bool), for telling repeated values apart:
    `2` and `2.0` configure the same experiment."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    return value


def point_id(cfg: ExperimentConfig) -> str:
    """A point's id: the first 12 hex digits of the SHA-1 of its config as sorted JSON, so the same config
    always lands in the same folder (and a rerun finds it done)."""
    blob = json.dumps(cfg.to_dict(), sort_keys=True).encode()
    return hashlib.sha1(blob).hexdigest()[:12]


def parse_spec(table: dict) -> SweepSpec:
    """The `SweepSpec` of a config's tables ([experiment], [problem], [sweep], [regime]), refusing unknown
    tables and keys, repeated grid values and a regime study whose grid overrides what it sets itself;
    every point is validated (`SweepSpec.preflight`) before it returns."""
    unknown = [k for k in table if k not in _SECTIONS]
    if unknown:
        raise ValueError(unknown_name_message("config", unknown, sorted(_SECTIONS), kind="table"))
    for sec in _SECTIONS & set(table):
        if not isinstance(table[sec], dict):
            raise ValueError(f"config: [{sec}] must be a table")
    base = dict(table.get("experiment", {}))
    if "problem" in base:
        raise ValueError("config: put problem parameters in the [problem] table, not [experiment]")
    base["problem"] = dict(table.get("problem", {}))
    grid = {}
    for k, v in table.get("sweep", {}).items():
        if not isinstance(v, list) or not v:
            raise ValueError(f"sweep.{k}={shown(v)}: must be a non-empty list of values")
        seen = [json.dumps(_normal(x), sort_keys=True) for x in v]
        if len(set(seen)) != len(seen):
            raise ValueError(
                f"sweep.{k}={shown(v)}: a value is repeated (2 and 2.0 count as one); each grid "
                "value must be distinct"
            )
        if k == "problem" and not all(isinstance(x, dict) for x in v):
            raise ValueError(
                f"sweep.problem={shown(v)}: must be a list of tables, each merged into [problem]"
            )

        grid[k] = v
    if "problem" in grid:
        tables = {key for x in grid["problem"] for key in x}
        twice = sorted(tables & {g.split(".", 1)[1] for g in grid if g.startswith("problem.")})
        if twice:
            raise ValueError(
                f"sweep: problem.{twice[0]} is swept both in sweep.problem's tables and as "
                f'"problem.{twice[0]}"; sweep it in one place'
            )
    _check_sweep_keys(grid, base)
    regime = table.get("regime", {})
    study_keys = {f.name for f in dataclasses.fields(RegimeStudy)}
    unknown = [k for k in regime if k != "enabled" and k not in study_keys]
    if unknown:
        raise ValueError(
            unknown_name_message("regime", unknown, ["enabled", *sorted(study_keys)], kind="key")
        )
    enabled = regime.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ValueError(f"regime.enabled={shown(enabled)}: must be true or false")
    study = None
    if set(regime) & study_keys:
        if not enabled:
            raise ValueError(
                f"regime: {', '.join(sorted(set(regime) & study_keys))} given but enabled=false; "
                "set enabled = true to run the tuned regime study"
            )
        if "eta_grid" not in regime or "tune_seeds" not in regime:
            raise ValueError("regime: the tuned study needs both eta_grid and tune_seeds")
        study = RegimeStudy(**{k: regime[k] for k in study_keys & set(regime)})
        overridden = sorted(set(grid) & set(STUDY_SETS))
        if overridden:
            raise ValueError(
                f"sweep.{overridden[0]}: a regime study sets {', '.join(overridden)} itself (step sizes from "
                "regime.eta_grid, FedAlt's local steps from regime.fedalt_local_steps); its points would "
                "repeat one study and count its rows twice"
            )
    spec = SweepSpec(base, grid, enabled, study)
    spec.preflight()  # validate every point now, before any work
    return spec


def sweep_keys(family: str | None) -> list[str]:
    """The keys a `[sweep]` table takes: every `[experiment]` key, and `problem.NAME` for each parameter
    NAME of `family` (none when the family is not registered, or None)."""
    from altsim.synthetic import FAMILIES

    keys = [f.name for f in dataclasses.fields(ExperimentConfig)]
    if family in FAMILIES:
        keys += [f"problem.{f.name}" for f in dataclasses.fields(FAMILIES[family].config)]
    return keys


def _check_sweep_keys(grid: dict, base: dict) -> None:
    """Refuse a sweep key that is no `[experiment]` key nor `problem.NAME` of the family, naming the nearest
    valid one. A swept family, or one not registered yet (a plugin's), leaves `problem.NAME` to each point."""
    from altsim.synthetic import FAMILIES

    default = ExperimentConfig.__dataclass_fields__["family"].default
    family = base.get("family", default) if "family" not in grid else None
    known = isinstance(family, str) and family in FAMILIES
    keys = sweep_keys(family if known else None)
    unknown = [k for k in grid if k not in keys and not (k.startswith("problem.") and not known)]
    if unknown:
        # the keys of the kind the user gave, so that the line stays short enough to show whole
        kinds = {k.startswith("problem.") for k in unknown}
        if len(kinds) == 1:
            problem_keys = kinds.pop()
            keys = [k for k in keys if k.startswith("problem.") == problem_keys]
        raise ValueError(unknown_name_message("sweep", unknown, keys, kind="key"))


def load_spec(path: str | Path, plugins: Sequence[str] = ()) -> SweepSpec:
    """The `SweepSpec` of the TOML config at `path` (`parse_spec`).

    The config's `[experiment] plugins` are imported first, each looked for in the config's own
    folder before the import path; `plugins` (e.g. `--plugins` on the command line, already
    imported by the caller) are added to them, so that every point, on every executor, imports
    them all and the results record them."""
    from altsim.synthetic import load_toml_table

    table = load_toml_table(path)
    experiment = table.get("experiment")
    if isinstance(experiment, dict):
        listed = experiment.get("plugins", [])
        if isinstance(listed, list):  # anything else is refused by the config's own validation
            import_plugins(listed, [Path(path).resolve().parent])
        if plugins:
            merged = [*(listed if isinstance(listed, list) else []), *plugins]
            experiment["plugins"] = list(dict.fromkeys(merged))
    elif plugins:
        table["experiment"] = {"plugins": list(plugins)}
    return parse_spec(table)


# --- one point ------------------------------------------------------------------------------
def run_point(
    point: str,
    config_dict: dict,
    out_dir: str,
    regime: bool,
    study: dict | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Run one grid point and write its files atomically (cost.json, then summary.json last).
    `progress(algorithm, t, T)` is called as rounds finish (not for a regime study's point).
    Top-level: picklable."""
    import torch

    from altsim.rates import run
    from altsim.results import rounds_csv, summarize

    torch.set_num_threads(int(os.environ.get("ALTSIM_THREADS", torch.get_num_threads())))
    import warnings

    cfg = ExperimentConfig.from_dict(config_dict)
    start = time.perf_counter()
    if study is not None:
        summary, scored = _study_point(cfg, RegimeStudy(**study)), None
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the sweep's preflight already warned about this point
            scored = run(cfg, progress=progress)
        summary = summarize(scored)
    wall = time.perf_counter() - start
    rounds = cfg.rounds * len(cfg.algorithms) if study is None else None
    cost = {  # apart from the summary, which must be the same on every rerun
        "wall_seconds": wall,
        "rounds": rounds,
        "rounds_per_second": rounds / wall if rounds and wall > 0 else None,
        "threads": torch.get_num_threads(),
        "device": str(cfg.device),
    }
    summary["point"] = point
    sweep = {"regime": bool(regime), "study": json.loads(dumps(study)) if study else None}
    if sweep != PLAIN_POINT:  # a plain point's summary stays as before (its checksum, its bytes)
        summary["sweep"] = sweep
    if regime and study is None:
        summary["regime"] = regime_verdict(scored)
    pdir = Path(out_dir) / "points" / point
    summary["files"] = {}
    if (
        study is None
    ):  # a study's point keeps its per-seed scores in the summary, not every round of every variant
        csv_text = rounds_csv(scored)
        write_text(pdir / "rounds.csv", csv_text)
        summary["files"]["rounds.csv"] = {
            "sha256": hashlib.sha256(csv_text.encode()).hexdigest(),
            "rows": csv_text.count("\n") - 1,
        }
    summary["summary_sha256"] = _summary_hash(summary)
    write_json(pdir / "cost.json", cost)
    write_json(
        pdir / "summary.json", summary
    )  # last: its presence, with the checksums, marks the point done
    return summary


def _cost(out: Path, per_point: list[dict]) -> dict:
    """What the points on disk cost, from their cost.json: compute seconds and simulated rounds summed,
    rounds per second, and the thread counts and devices they ran with (a point whose cost.json is
    missing or unreadable is left out, and counted)."""
    costs, unknown = [], 0
    for p in per_point:
        try:
            c = read_json(out / "points" / p["point"] / "cost.json", "point cost")
            float(c["wall_seconds"])
            costs.append(c)
        except (ValueError, KeyError, TypeError, OSError):
            unknown += 1
    wall = sum(float(c["wall_seconds"]) for c in costs)
    rounds = sum(int(c["rounds"]) for c in costs if isinstance(c.get("rounds"), int))
    return {
        "wall_seconds": wall,
        "rounds": rounds,
        "rounds_per_second": rounds / wall if rounds and wall > 0 else None,
        "threads": sorted({c.get("threads") for c in costs if isinstance(c.get("threads"), int)}),
        "device": sorted({str(c.get("device")) for c in costs}),
        "points_without_cost": unknown,
    }


def _study_point(cfg: ExperimentConfig, study: RegimeStudy):
    """A point of the tuned regime study: its summary, with the rows and, per variant (labelled as in the
    rows), the tuned eta and the scored measurement per seed (what scores.csv lists)."""
    from altsim.rates.regime_study import study_point
    from altsim.results import final_stationarity

    rows, trajectories = study_point(cfg, study)
    etas = {
        rows[0]["fedsim_variant"]: rows[0]["eta_tuned"]["fedsim"],
        **{r["fedalt_variant"]: r["eta_tuned"]["fedalt"] for r in rows},
    }
    w = rows[0]["measure_weight"]
    summary = {
        "config": cfg.to_dict(),
        "regime_study": rows,
        "algorithms": {
            label: {
                "eta": etas[label],
                "final_stationarity": final_stationarity(tr),
                "measure_weight": w,
                "final_weighted_per_seed": tr.running_average(w)[:, -1].tolist(),
            }
            for label, tr in trajectories.items()
        },
    }
    return summary


def regime_verdict(result) -> dict:
    """Empirical winner (paired over seeds, 95%) against the paper's section-6 prediction."""
    from altsim.rates.regime_study import paired_winner
    from altsim.theory import regime_winner

    tr = result.trajectories
    if not set(REGIME_ALGORITHMS) <= set(
        tr
    ):  # preflight refuses such a study; this guards direct calls
        raise ValueError("regime study needs both fedalt and fedsim in `algorithms`")
    a, s = tr["fedalt"].running_average()[:, -1], tr["fedsim"].running_average()[:, -1]
    diff = a - s  # same seeds: same sampling and noise streams, so the difference is paired
    empirical, mean, lo, hi = paired_winner(diff)
    c = result.constants
    set_ = result.settings["fedalt"]
    predicted = regime_winner(c.sigma_u, c.sigma_v, c.delta, c.L_u, c.L_v, set_["n"], set_["m"])
    return {
        "empirical": empirical,
        "predicted": str(predicted),
        "agree": empirical == predicted,
        "diff_mean": mean,
        "diff_ci": [lo, hi],
        "m_over_n": set_["m"] / set_["n"],
        "delta": c.delta,
        "sigma_v": c.sigma_v,
        "sigma_u": c.sigma_u,
        "chi": c.chi,
    }


# --- the sweep ------------------------------------------------------------------------------
def _summary_hash(summary: dict) -> str:
    """SHA-256 of a point summary's strict JSON without its own checksum field."""
    body = {k: v for k, v in summary.items() if k != "summary_sha256"}
    return hashlib.sha256(dumps(body, sort_keys=True).encode()).hexdigest()


def _read_point(
    pdir: Path, cfg: ExperimentConfig | None = None, sweep: dict | None = None
) -> tuple[str, dict | None]:
    """('done', summary) for a verified point, else (what is wrong, None): 'missing' when never started.

    Verified: the summary matches the checksum it records, and so does every file it lists; its point
    id is its folder's name; and its config is `cfg`, the grid's config for that id (a point folder
    copied over another is not done)."""
    f = pdir / "summary.json"
    if not f.exists():
        return "missing", None
    try:
        s = read_json(f, "point summary")
    except ValueError as e:
        return str(e), None
    if (
        not isinstance(s, dict)
        or not isinstance(s.get("algorithms"), dict)
        or not isinstance(s.get("files"), dict)
    ):
        return f"{f} is not a complete point summary", None
    if s.get("summary_sha256") != _summary_hash(s):
        return f"{f} does not match the checksum it records (edited or damaged)", None
    if s.get("point") != pdir.name:
        return (
            f"{f} is the summary of point {shown(s.get('point'))}, not of {pdir.name} (copied?)",
            None,
        )
    if cfg is not None and s.get("config") != json.loads(dumps(cfg.to_dict())):
        return f"{f} records a config that is not this grid's point {pdir.name} (copied?)", None
    if sweep is not None and s.get("sweep", PLAIN_POINT) != sweep:
        return f"{f} was run with other [regime] settings than this sweep's (copied?)", None
    wanted = set() if (sweep or PLAIN_POINT).get("study") else {"rounds.csv"}
    if not wanted <= set(s["files"]) or not set(s["files"]) <= POINT_FILES:
        return f"{f} does not list the files a point holds", None
    for name, want in s["files"].items():
        path = pdir / name
        if not path.exists():
            return f"{path} is missing", None
        try:
            same = isinstance(want, dict) and sha256_file(path) == want.get("sha256")
        except (OSError, ValueError) as e:
            return f"{path} cannot be read ({e})", None
        if not same:
            return f"{path} does not match the checksum its summary records", None
    return "done", s


PLAIN_POINT = {"regime": False, "study": None}
"""The sweep settings of a point that is neither a regime study's nor a regime comparison's (what a
point summary written before they were recorded stands for)."""


def _sweep_settings(spec: SweepSpec) -> dict:
    """What of the sweep, beyond the point's config, a point's numbers depend on: recorded in its
    summary and checked on resume, so that a point of another study is not taken for this one's."""
    study = json.loads(dumps(spec.study.to_dict())) if spec.study is not None else None
    return {"regime": bool(spec.regime), "study": study}


def _progress_printer(total: int, stream) -> Callable[[int, str, bool], None]:
    start = time.perf_counter()

    def show(done: int, point: str, skipped: bool) -> None:
        el = time.perf_counter() - start
        bar = "#" * int(30 * done / max(total, 1))
        note = "skipped (done before)" if skipped else f"{el:.1f} s"
        end = "\n" if (done == total or not stream.isatty()) else "\r"
        print(f"[{bar:<30}] {done}/{total} point {point} {note}", end=end, file=stream, flush=True)

    return show


def _stamp_hash(stamp: dict) -> str:
    return hashlib.sha256(dumps(stamp, sort_keys=True).encode()).hexdigest()[:16]


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    *,
    executor: str = "local",
    workers: int | None = None,
    config_text: str | None = None,
    stream=sys.stderr,
    dask_address: str | None = None,
    round_progress: bool = True,
) -> dict:
    """Run every point not already on disk under `out`, then rebuild the summary from disk.

    `stream` gets a line per point and, with `round_progress` on the local executor and a terminal,
    a progress bar of the rounds with an ETA (tqdm; a log file gets the point lines only). The
    summary records what the points cost (`cost`: compute seconds, rounds per second, threads,
    device).

    The folder is claimed (`altsim.folders.OutputFolder`): it must be new, empty, or this sweep's own, and
    no other altsim process may write there meanwhile. Finished points are verified against the
    checksum their summary records; a corrupt or missing point is recomputed, with a line saying so."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor={executor!r}: must be one of {', '.join(EXECUTORS)}")
    if workers is not None:
        require("workers", workers, low=1, integer=True)
    spec.preflight()  # every point, before any file is written
    points = spec.points()
    stamp = json.loads(
        dumps(
            {
                "base": spec.base,
                "grid": spec.grid,
                "regime": spec.regime,
                **({"study": spec.study.to_dict()} if spec.study is not None else {}),
            }
        )
    )
    client = (
        dask_client(dask_address) if executor == "dask" else None
    )  # a bad address is refused before any file
    folder = OutputFolder(
        out, "run", _stamp_hash(stamp)
    )  # repairs are warnings, shown under --quiet too
    try:
        with folder:
            with work_started():  # the folder is claimed: from here on a failure is not a refusal
                return _run_points(
                    spec,
                    points,
                    stamp,
                    folder,
                    executor,
                    workers,
                    config_text,
                    stream,
                    client,
                    round_progress,
                )
    finally:
        if client is not None:
            client.close()  # our client only; a cluster at dask_address is the user's


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _run_points(
    spec, points, stamp, folder, executor, workers, config_text, stream, client, round_progress=True
) -> dict:
    out: Path = folder.path
    write_json(out / "sweep.json", stamp)
    if config_text is not None:
        write_text(out / "config.toml", config_text)
    write_json(out / "environment.json", environment(points[0][1].device))
    folder.record("sweep.json", "config.toml", "environment.json")
    _set_aside_stale_points(out, {pid for pid, _, _ in points}, folder.repairs)
    show = _progress_printer(len(points), stream)
    todo, count = [], 0
    sweep = _sweep_settings(spec)
    for pid, cfg, _ in points:
        status, _ = _read_point(out / POINTS / pid, cfg, sweep)
        if status == "done":
            count += 1
            show(count, pid, True)
        else:
            if status != "missing":
                folder.repairs.move_aside(f"{POINTS}/{pid}", f"{status}; recomputing it")
            todo.append((pid, cfg))
    study = spec.study.to_dict() if spec.study is not None else None
    args = [(pid, cfg.to_dict(), str(out), spec.regime, study) for pid, cfg in todo]

    bar = None

    def done(a: tuple) -> None:
        nonlocal count
        count += 1
        if bar is not None:  # the point's line above the bar, not through it
            bar.clear()
        show(count, a[0], False)
        if bar is not None:
            bar.refresh()

    fn: Callable[..., dict] = run_point
    if executor == "local" and spec.study is None and todo and round_progress and _is_tty(stream):
        # rounds, not points: a long one-point run shows its progress and an ETA
        bar = tqdm(
            total=sum(cfg.rounds * len(cfg.algorithms) for _, cfg in todo),
            unit="round",
            desc="rounds",
            file=stream,
            leave=False,
            mininterval=0.5,
            ncols=min(100, shutil.get_terminal_size().columns),  # 80 where a terminal reports 0
        )
        seen: dict[str, int] = {}

        def advance(name: str, t: int, T: int) -> None:
            bar.update(t - seen.get(name, 0))
            seen[name] = 0 if t >= T else t

        fn = functools.partial(run_point, progress=advance)
    try:
        run_all(executor, fn, args, workers=workers, client=client, on_done=done)
    except (
        KeyboardInterrupt
    ):  # SIGINT or SIGTERM: the summary of the points that finished, then stop
        if bar is not None:
            bar.close()
            bar = None
        rebuild(folder, points, spec)
        raise
    finally:
        if bar is not None:
            bar.close()
    return rebuild(folder, points, spec)


def _set_aside_stale_points(out: Path, grid: set[str], repairs: Repairs) -> None:
    """Move aside every point folder that is no point of this grid (an id of another altsim version)."""
    if (out / POINTS).is_dir():
        for entry in sorted((out / POINTS).iterdir()):
            if entry.name not in grid and not entry.name.startswith("."):
                repairs.move_aside(f"{POINTS}/{entry.name}", "not a point of this sweep's grid")


def _write_scores(path: Path, per_point: list[dict]) -> None:
    """A study's measurements: one row per (point, variant, scoring seed) with the tuned eta, the weight w = m/n
    of the personal term and the final running average (1/T) sum_t Delta_w, the number the study compares."""
    lines = ["point,variant,eta,seed,weight,final_running_average"]
    for p in per_point:
        seeds = p["summary"]["config"]["seeds"]
        for label, entry in p["summary"]["algorithms"].items():
            lines += [
                f'{p["point"]},"{label}",{entry["eta"]!r},{seed},{entry["measure_weight"]!r},'
                f"{'nan' if value is None else repr(value)}"
                for seed, value in zip(seeds, entry["final_weighted_per_seed"])
            ]
    write_text(path, "\n".join(lines) + "\n")


def rebuild(folder: OutputFolder, points, spec: SweepSpec) -> dict:
    """summary.json and rounds.csv (a study: scores.csv) from the points on disk (so a resumed sweep equals an
    uninterrupted one), their checksums recorded in the folder's manifest. The CSV is streamed point by
    point: a large sweep is never held in memory."""
    out: Path = folder.path
    per_point = []
    sweep = _sweep_settings(spec)
    for pid, cfg, assign in points:
        _, s = _read_point(out / POINTS / pid, cfg, sweep)
        if s is not None:
            per_point.append({"point": pid, "values": assign, "summary": s})
    if spec.study is not None:
        _write_scores(out / "scores.csv", per_point)
    else:

        def concatenate(tmp: str) -> None:
            with open(tmp, "w") as dst:
                dst.write("point," + ",".join(ROUND_COLUMNS) + "\n")
                for p in per_point:
                    with open(out / "points" / p["point"] / "rounds.csv") as src:
                        next(src)  # the point's header
                        for line in src:
                            dst.write(f"{p['point']},{line}")

        atomic_write(out / "rounds.csv", concatenate)
    summary: dict[str, Any] = {
        "points": per_point,
        "n_points": len(points),
        "n_done": len(per_point),
    }
    if (
        len(points) == 1 and per_point and spec.study is None
    ):  # one experiment: its summary at the top
        summary.update({k: v for k, v in per_point[0]["summary"].items() if k != "point"})
    if spec.study is not None and per_point:
        from altsim.rates.regime_study import aggregate, markdown_table

        rows = [dict(r, point=p["point"]) for p in per_point for r in p["summary"]["regime_study"]]
        summary["regime_study"] = {
            **aggregate(rows, spec.study.level),
            "study": dataclasses.asdict(spec.study),
        }
        write_text(
            out / "regime_table.md", markdown_table(rows, summary["regime_study"], spec.study.level)
        )
    elif spec.regime and per_point:
        verdicts = [p["summary"]["regime"] for p in per_point]
        decided = [v for v in verdicts if v["empirical"] != "tie"]
        summary["regime"] = {
            "agreement_rate": float(np.mean([v["agree"] for v in verdicts])),
            "agreement_rate_decided": float(np.mean([v["agree"] for v in decided]))
            if decided
            else None,
            "points": len(verdicts),
            "decided": len(decided),
        }
    summary["cost"] = _cost(out, per_point)
    plugins = spec.base.get("plugins") or []
    if plugins:  # name -> file, so that `altsim plot` can import them again
        summary["plugins"] = import_plugins(plugins)
    write_json(out / "summary.json", summary)
    folder.record("summary.json", "rounds.csv", "scores.csv", "regime_table.md")
    return summary
