"""Result files: what a run leaves behind (summary.json, rounds.csv, trajectories.npz, a printed
table), and reading them back so that figures can be redrawn without rerunning.

The summary has, per algorithm: measured (mean of (1/T) sum_t Delta_t over seeds), measured_ci,
bound, name, provenance, ratio, verdict, the certified constants and the config that reruns it.

Names: Delta_t is called `stationarity` in files (`final_stationarity`, the `stationarity`
columns and npz keys). Its old name `delta` (which clashed with the diversity constant delta)
is still written as an alias for one release and still read.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

import numpy as np

from altsim.figures import style
from altsim.io import read_json, require_plain_file
from altsim.rates import Comparison, Result, Trajectory, compare
from altsim.rates.compare import mean_ci, survivors_interval
from altsim.rates.frames import ROUND_COLUMNS, round_table
from altsim.theory import BOUNDS
from altsim.theory.checks import require_instance, require_mapping

CONSTANT_KEYS = ("L_u", "L_v", "L_uv", "chi", "sigma_u", "sigma_v", "delta", "delta_F0")


def summarize(result: Result, comparisons: dict | None = None) -> dict:
    """summary.json's content for `result`: its config, environment and certified constants, and per
    algorithm the step size, every check, the bounds that do not cover the run (with reasons) and the
    headline check (the bound that chose the step size, else the first), or the measurement alone where
    no bound covers it; held-out accuracy and the personalization report where the family has held-out
    data. `comparisons` defaults to `result.compare()`."""
    require_instance("result", result, Result, "an altsim.rates.Result")
    if comparisons is not None:
        style.require_comparisons("comparisons", comparisons)
    comparisons = comparisons if comparisons is not None else result.compare()
    consts = result.constants.as_dict()
    out = {
        "config": result.config.to_dict(),
        "environment": result.environment,
        "constants": {k: consts[k] for k in (*CONSTANT_KEYS, "F_lower")},
        "algorithms": {},
    }
    for alg, comp in comparisons.items():
        setting = result.settings[alg]
        final = final_stationarity(result.trajectories[alg])
        entry = {
            "eta": setting["eta"],
            "gamma_u": setting.get("gamma_u"),
            "gamma_v": setting.get("gamma_v"),
            "constants": {k: consts[k] for k in CONSTANT_KEYS},
            "config": {**result.config.to_dict(), "algorithm": alg, "eta": setting["eta"]},
            "checks": [c.summary() for c in comp.checks],
            "not_covering": comp.not_covering,
            "diverged_seeds": comp.to_dict()["diverged_seeds"],
            "final_stationarity": final,
            "final_delta": final,  # deprecated alias of final_stationarity (one release)
            "calibrated_template": comp.calibrated_template,
            "setting": setting,
            # how figures show it, kept so that a plot without the algorithm's plugin looks the same
            "look": {
                "label": style.label(alg),
                "color": style.color(alg),
                "marker": style.marker(alg),
            },
        }
        # the headline: the bound that chose the step size, else the first the config asked for, else the first
        wanted = [result.step_bounds.get(alg), *result.config.bounds]
        primary = next(
            (c for name in wanted for c in comp.checks if c.name == name),
            comp.checks[0] if comp.checks else None,
        )
        if primary is not None:
            entry.update(
                {
                    "measured": primary.measured,
                    "measured_ci": list(primary.measured_ci),
                    "bound": primary.bound,
                    "n_seeds": primary.n_seeds,
                    "n_diverged": primary.n_diverged,
                    "name": primary.name,
                    "provenance": primary.provenance,
                    "ratio": primary.ratio,
                    "verdict": primary.verdict,
                    "T": primary.T,
                    "personal_weight": primary.weight,
                    "measured_slope": primary.measured_slope,
                    "bound_slope": primary.bound_slope,
                }
            )
        else:  # no bound covers the run: the measurement alone, with the reasons in not_covering
            entry.update(
                {
                    # the run's one measure, w = m/n, as for every other algorithm of the run
                    "measured": final["mean_m_over_n"],
                    "measured_ci": final["ci_m_over_n"],
                    "n_seeds": final["n_seeds"],
                    "n_diverged": final["n_diverged"],
                    "bound": None,
                    "name": None,
                    "provenance": None,
                    "ratio": None,
                    "verdict": "diverged" if final["n_diverged"] else "no covering bound",
                    "covered": False,
                    "T": int(result.trajectories[alg].horizons[-1]),
                    "personal_weight": result.trajectories[alg].m / result.trajectories[alg].n,
                }
            )
        if alg in result.held_out_accuracy:
            acc = np.asarray(result.held_out_accuracy[alg], dtype=float)
            entry["held_out_accuracy"] = {**mean_ci(acc), "per_seed": acc.tolist()}
        out["algorithms"][alg] = entry
    if result.held_out_accuracy:
        from altsim.rates.personalization import personalization_report

        out["personalization"] = personalization_report(out)
    return out


def final_stationarity(tr) -> dict:
    """Mean and 95% interval over the surviving seeds of (1/T) sum_t Delta_t (weight 1), and of the
    m/n-weighted one; the diverged seeds are counted, not averaged."""
    require_instance("tr", tr, Trajectory, "an altsim.rates.Trajectory")
    out = {}
    for key, w in (("", 1.0), ("_m_over_n", tr.m / tr.n)):
        mean, lo, hi = survivors_interval(tr, w, exact=False)
        out["mean" + key], out["ci" + key] = float(mean[-1]), [float(lo[-1]), float(hi[-1])]
    out["per_seed"] = tr.running_average(1.0)[:, -1].tolist()
    out["n_seeds"], out["n_diverged"] = len(tr.seeds), int((tr.diverged_at >= 0).sum())
    return out


def _measured_text(s: dict) -> str:
    lo, hi = s["measured_ci"]
    n, k = s.get("n_seeds"), s.get("n_diverged", 0)
    if s["measured"] is None or not math.isfinite(s["measured"]):
        return f"all {n} seeds diverged" if k and n else "no measurement"
    text = f"{s['measured']:.4g} [{_num(lo)}, {_num(hi)}]"
    return text + (f" ({k}/{n} diverged)" if k else "")


def _num(x) -> str:
    return "-" if x is None else f"{x:.4g}"


@style.reads("summary", "a run's summary (summary.json)")
def table(summary: dict) -> str:
    """The printed table of a summary: per algorithm T, the measured average of Delta_w with its 95%
    interval at the run's one measure w = m/n, the same with w = 1 beside it, the headline bound, its
    name and provenance, the ratio and the verdict. A bound is held against the measure it bounds:
    one whose weight is not m/n is marked, and its ratio is of its own measure."""
    algs = summary["algorithms"]
    a = max([9, *(len(alg) for alg in algs)])  # a plugin's names may be longer than the built-ins'
    run_w = {_run_weight(s) for s in algs.values()}
    names = {alg: _bound_name(s, run_w) for alg, s in algs.items()}
    b = max([22, *(len(n) for n in names.values())])
    head = (
        f"{'algorithm':<{a}} {'T':>5}  {'measured avg Delta_w (95% CI)':<34} {'Delta_1':>9} "
        f"{'bound':>9}  {'name [prov]':<{b}} {'ratio':>6}  verdict"
    )
    lines = [head, "-" * len(head)]
    for alg, s in algs.items():
        final = s.get("final_stationarity") or {}
        at_run_w = s.get("personal_weight") is not None and any(
            math.isclose(s["personal_weight"], r) for r in run_w
        )
        meas = _measured_text(  # the headline check's own numbers when it is at the run's measure
            s
            if at_run_w or not final
            else {**s, "measured": final["mean_m_over_n"], "measured_ci": final["ci_m_over_n"]}
        )
        one = _num(final["mean"]) if final else "-"
        if s["bound"] is None:
            lines.append(
                f"{alg:<{a}} {s['T']:>5}  {meas:<34} {one:>9} {'-':>9}  {'-':<{b}} {'-':>6}  "
                f"{s['verdict']}"
            )
            continue
        ratio = "-" if s["ratio"] is None or not math.isfinite(s["ratio"]) else f"{s['ratio']:.3f}"
        lines.append(
            f"{alg:<{a}} {s['T']:>5}  {meas:<34} {one:>9} {s['bound']:>9.4g}  {names[alg]:<{b}} "
            f"{ratio:>6}  {s['verdict']}"
        )
    lines.append(
        f"Delta_w: personal term weighted by w = {', '.join(f'{w:g}' for w in sorted(run_w))} (m/n) "
        "for every algorithm; Delta_1 weights it by 1"
        + (
            "; a bound marked (w = ...) bounds that measure, and its ratio is of it"
            if any("(w =" in n for n in names.values())
            else ""
        )
    )
    return "\n".join(lines)


def _run_weight(s: dict) -> float:
    """The run's measure weight m/n, read off its setting (the weight every algorithm shares)."""
    setting = s.get("setting") or {}
    try:
        return float(setting["m"]) / float(setting["n"])
    except (KeyError, TypeError, ZeroDivisionError):
        return float(s.get("personal_weight", 1.0))


def _bound_name(s: dict, run_w: set) -> str:
    """'name [prov]' of the headline bound, marked with its weight when it is not the run's."""
    if s["bound"] is None:
        return "-"
    text = f"{s['name']} [{s['provenance']}]"
    w = s.get("personal_weight")
    if w is not None and not any(math.isclose(w, r) for r in run_w):
        text += f" (w = {w:g})"
    return text


def trajectories_arrays(result: Result) -> dict[str, np.ndarray]:
    """trajectories.npz's arrays, keyed ALGORITHM/NAME: rounds, seeds, the measured gradient norms and gap,
    Delta_t and its running average at weight 1 and m/n, the diverged rounds (and the deprecated
    `delta` aliases)."""
    require_instance("result", result, Result, "an altsim.rates.Result")
    arrays = {}
    for alg, tr in result.trajectories.items():
        w = tr.m / tr.n  # both weightings of the personal term (docs/theory.md section 4)
        s1, sw = tr.stationarity(1.0), tr.stationarity(w)
        arrays.update(
            {
                f"{alg}/rounds": tr.rounds,
                f"{alg}/seeds": tr.seeds,
                f"{alg}/grad_u_sq": tr.grad_u_sq,
                f"{alg}/grad_v_sq_mean": tr.grad_v_sq_mean,
                f"{alg}/objective_gap": tr.objective_gap,
                f"{alg}/stationarity": s1,
                f"{alg}/running_average": tr.running_average(1.0),
                f"{alg}/stationarity_m_over_n": sw,
                f"{alg}/running_average_m_over_n": tr.running_average(w),
                f"{alg}/diverged_at": tr.diverged_at,
                f"{alg}/delta": s1,
                f"{alg}/delta_m_over_n": sw,  # deprecated aliases (one release)
            }
        )
    return arrays


def rounds_csv(result: Result) -> str:
    """Tidy per-round data: one row per (algorithm, seed, measured round) (`rates.frames.round_table`)."""
    require_instance("result", result, Result, "an altsim.rates.Result")
    columns = round_table(result.trajectories)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(ROUND_COLUMNS)
    as_text = {"algorithm": str, "seed": int, "round": int}
    cells = [
        [as_text.get(c, lambda x: repr(float(x)))(x) for x in columns[c]] for c in ROUND_COLUMNS
    ]
    w.writerows(zip(*cells))
    return buf.getvalue()


# --- reading results back -------------------------------------------------------------------
def load_summary(directory: str | Path) -> dict:
    """The summary.json of a result folder, or a ValueError when the folder has none or it is not a summary."""
    require_instance("directory", directory, (str, os.PathLike), "a folder's path")
    f = Path(directory) / "summary.json"
    if not f.exists():
        raise ValueError(
            f"result_dir={str(directory)!r}: no summary.json (not an altsim result folder)"
        )
    summary = read_json(f, "summary")
    if not isinstance(summary, dict):
        raise ValueError(f"summary {str(f)!r}: not an altsim summary (a JSON object)")
    return summary


def load_trajectories(directory: str | Path, summary: dict | None = None) -> dict[str, Trajectory]:
    """One Trajectory per algorithm of a single experiment folder (demo or one-point run)."""
    require_instance("directory", directory, (str, os.PathLike), "a folder's path")
    require_mapping("summary", summary, "a run's summary (summary.json)", optional=True)
    d = Path(directory)
    summary = summary or load_summary(d)
    if "algorithms" not in summary:
        raise ValueError(
            f"result_dir={str(directory)!r}: a sweep of {summary.get('n_points')} points; "
            "use --kind regime or --kind sweep, or point at one of its points/<id> folders"
        )
    rows: dict[str, list] = {}
    csv_path = require_plain_file(d / "rounds.csv", "rounds")  # a FIFO would hang the reader
    try:
        with open(csv_path, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                rows.setdefault(r["algorithm"], []).append(r)
        out = {}
        for alg, entry in summary["algorithms"].items():
            rs = rows[alg]
            seeds = sorted({int(r["seed"]) for r in rs})
            rounds = sorted({int(r["round"]) for r in rs})
            si, ri = {s: i for i, s in enumerate(seeds)}, {t: i for i, t in enumerate(rounds)}
            arr = {
                k: np.full((len(seeds), len(rounds)), np.nan)
                for k in ("grad_u_sq", "grad_v_sq_mean", "objective_gap")
            }
            for r in rs:
                for k in arr:
                    arr[k][si[int(r["seed"])], ri[int(r["round"])]] = float(r[k])
            out[alg] = _trajectory(alg, entry, seeds, rounds, arr, si)
    except OSError as e:
        raise ValueError(f"rounds {str(csv_path)!r}: cannot read ({e.strerror or e})") from None
    except (KeyError, ValueError, TypeError, UnicodeDecodeError, csv.Error) as e:
        raise ValueError(
            f"rounds {str(csv_path)!r}: not the rounds.csv of this summary ({type(e).__name__}: {e})"
        ) from None
    return out


def _trajectory(alg, entry, seeds, rounds, arr, si) -> Trajectory:
    setting = entry["setting"]
    diverged = np.full(len(seeds), -1)
    for s, t in entry.get("diverged_seeds", {}).items():
        diverged[si[int(s)]] = int(t)
    L_u, L_v = float(setting["scale_L_u"]), float(setting["scale_L_v"])  # what normalised Delta_t
    return Trajectory(
        alg,
        {**setting, "rounds": len(rounds)},
        np.array(seeds),
        np.array(rounds),
        arr["grad_u_sq"],
        arr["grad_v_sq_mean"],
        arr["objective_gap"],
        L_u,
        L_v,
        diverged,
    )


def load_comparisons(directory: str | Path) -> tuple[dict, dict[str, Comparison]]:
    """(summary, {algorithm: Comparison}) recomputed from the saved trajectories and settings."""
    summary = load_summary(directory)
    trajs = load_trajectories(directory, summary)
    comps = {}
    for alg, tr in trajs.items():
        setting = dict(summary["algorithms"][alg]["setting"])
        for k in (
            *CONSTANT_KEYS,
            "chi",
        ):  # strict JSON writes an uncertified (infinite) constant as null
            if k in setting and setting[k] is None:
                setting[k] = math.inf
        comps[alg] = compare(tr, [b for b in BOUNDS.values() if b.algorithm == alg], setting)
    return summary, comps
