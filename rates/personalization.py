"""How much personalization buys, measured on held-out data (the paper's empirical claims, in miniature).

From a run's summary (plain data: per-seed held-out accuracy and final stationarity per algorithm),
paired over seeds (every algorithm ran on the same seeds, so on the same client draws and noise):

(a) **share of full personalization's gain** that a partially personalized algorithm gets:

        share = mean_s(acc_partial - acc_none) / mean_s(acc_full - acc_none),

    with acc_none from `fedavg` (nothing personal) and acc_full from `full_personalization`
    (everything personal); 1 means partial personalization gets all of the gain, > 1 more than all.
    Its 95% interval is a paired percentile bootstrap over seeds (a ratio of means has no
    Student-t interval); the gains themselves get Student-t intervals.
(b) **FedAlt against FedSim**: the paired differences FedAlt - FedSim in final stationarity
    (1/T) sum_t Delta_t (smaller is better) and in held-out accuracy (larger is better), Student-t.

Measured only: no bound is involved, and none is claimed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from altsim.theory import require

from .compare import mean_ci

NONE, FULL = "fedavg", "full_personalization"
PARTIAL = ("fedalt", "fedsim")
BOOTSTRAP_RESAMPLES = 10_000


def share_of_gain(
    partial: np.ndarray,
    none: np.ndarray,
    full: np.ndarray,
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = 0.95,
) -> dict:
    """(a) for per-seed accuracies (same seeds, same order): the share and its paired bootstrap interval."""
    require("level", level, low=0, high=1, low_open=True, high_open=True)
    require("resamples", resamples, low=100, integer=True)
    partial, none, full = (np.asarray(x, dtype=float) for x in (partial, none, full))
    if not (partial.shape == none.shape == full.shape and partial.ndim == 1 and len(partial) >= 2):
        raise ValueError(
            f"share_of_gain: needs per-seed arrays of one shape with >= 2 seeds, got "
            f"{partial.shape}, {none.shape}, {full.shape}"
        )
    gain_p, gain_f = partial - none, full - none
    out: dict[str, Any] = {
        "share": math.nan,
        "ci": [math.nan, math.nan],
        "method": f"paired percentile bootstrap, {resamples} resamples",
        "gain_partial": mean_ci(gain_p, level),
        "gain_full": mean_ci(gain_f, level),
    }
    if not (np.all(np.isfinite(gain_p)) and np.all(np.isfinite(gain_f))):
        return {**out, "undefined": "a seed has no finite accuracy (diverged?)"}
    lo_f, hi_f = out["gain_full"]["ci"]
    out["share"] = float(gain_p.mean() / gain_f.mean()) if gain_f.mean() != 0 else math.nan
    if (
        lo_f <= 0 <= hi_f
    ):  # the denominator may be 0 or of either sign: the ratio has no finite interval
        return {
            **out,
            "undefined": "full personalization's gain is not significantly different from 0, so its share "
            "has no finite interval",
        }
    idx = np.random.default_rng(seed).integers(0, len(partial), size=(resamples, len(partial)))
    boot = gain_p[idx].mean(1) / gain_f[idx].mean(1)
    dropped = int((~np.isfinite(boot)).sum())
    if dropped:
        return {
            **out,
            "undefined": f"{dropped} of {resamples} resamples have no full-personalization gain",
        }
    out["ci"] = [float(x) for x in np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])]
    return out


def personalization_report(summary: dict) -> dict:
    """(a) and (b) from a run summary whose algorithms carry `held_out_accuracy` (see the module docstring)."""
    algs = summary["algorithms"]
    acc = {
        a: np.asarray(e["held_out_accuracy"]["per_seed"], dtype=float)
        for a, e in algs.items()
        if "held_out_accuracy" in e
    }
    stat = {
        a: np.asarray(e["final_stationarity"]["per_seed"], dtype=float) for a, e in algs.items()
    }
    out: dict = {
        "seeds": list(summary["config"]["seeds"]),
        "diverged_seeds": {
            a: e.get("n_diverged", 0) for a, e in algs.items() if e.get("n_diverged", 0)
        },
        "accuracy": {a: algs[a]["held_out_accuracy"] for a in acc},
        "share_of_full_gain": {},
    }
    missing = [a for a in (NONE, FULL) if a not in acc]
    for a in PARTIAL:
        if a in acc and not missing:
            out["share_of_full_gain"][a] = share_of_gain(acc[a], acc[NONE], acc[FULL])
    if missing:
        out["share_of_full_gain_missing"] = f"needs {' and '.join(missing)} in `algorithms`"
    if all(a in acc for a in PARTIAL):
        d_acc, d_stat = acc["fedalt"] - acc["fedsim"], stat["fedalt"] - stat["fedsim"]
        out["fedalt_minus_fedsim"] = {
            "held_out_accuracy": mean_ci(d_acc),
            "final_stationarity": mean_ci(d_stat),
        }
    return out


def report_text(report: dict) -> str:
    """A few lines for the terminal."""
    lines = [f"held-out accuracy over {len(report['seeds'])} seeds (mean, 95% CI):"]
    for a, e in report["accuracy"].items():
        lines.append(f"  {a:<22} {e['mean']:.4f} [{e['ci'][0]:.4f}, {e['ci'][1]:.4f}]")
    for a, e in report["share_of_full_gain"].items():
        ci = (
            f"[{e['ci'][0]:.3f}, {e['ci'][1]:.3f}] ({e['method']})"
            if "undefined" not in e
            else f"(no interval: {e['undefined']})"
        )
        lines.append(f"(a) {a}: {e['share']:.3f} of full personalization's gain over FedAvg {ci}")
    if report.get("diverged_seeds"):
        lines.append(
            f"diverged seeds (their accuracy is taken at the last finite state): {report['diverged_seeds']}"
        )
    if "share_of_full_gain_missing" in report:
        lines.append(f"(a) not computed: {report['share_of_full_gain_missing']}")
    if "fedalt_minus_fedsim" in report:
        d = report["fedalt_minus_fedsim"]
        for k, better in (
            ("final_stationarity", "smaller is better"),
            ("held_out_accuracy", "larger is better"),
        ):
            lines.append(
                f"(b) FedAlt - FedSim, {k} ({better}): {d[k]['mean']:+.5f} "
                f"[{d[k]['ci'][0]:+.5f}, {d[k]['ci'][1]:+.5f}]"
            )
    return "\n".join(lines)
