"""Held-out accuracy of no, partial and full personalization, the share of full personalization's
gain that partial personalization gets (a), and FedAlt against FedSim (b); all paired over seeds,
with 95% intervals (`altsim.rates.personalization`)."""

from __future__ import annotations

import numpy as np

from . import style


def _num(x) -> float:
    return float("nan") if x is None else float(x)


@style.reads("summary", "a run's summary (summary.json)")
def personalization_plot(summary: dict, *, title: str | None = None):
    """Three panels from a result summary's `personalization` report: held-out accuracy per algorithm (seeds
    and mean, 95% interval), (a) the share of full personalization's gain each partial algorithm gets, and
    (b) FedAlt against FedSim, paired over seeds. ValueError when the result has no held-out accuracy."""
    style.require_title("title", title)
    rep = summary.get("personalization")
    if rep is None:
        raise ValueError(
            "personalization figure: the result has no held-out accuracy (a family with held-out data, "
            "such as digits, is needed)"
        )
    fig, axes = style.new_figure(13.5, 4.4, ncols=3)
    ax = axes[0]
    algs = list(rep["accuracy"])
    for k, a in enumerate(algs):
        e = rep["accuracy"][a]
        per_seed = summary["algorithms"][a]["held_out_accuracy"]["per_seed"]
        jitter = np.linspace(-0.15, 0.15, len(per_seed))
        ax.scatter(k + jitter, per_seed, s=10, color=style.color(a), alpha=0.45, zorder=2)
        ax.errorbar(
            k,
            e["mean"],
            yerr=[[e["mean"] - e["ci"][0]], [e["ci"][1] - e["mean"]]],
            fmt=style.marker(a),
            color=style.color(a),
            mec="black",
            ms=8,
            capsize=4,
            zorder=3,
        )
    ax.set_xticks(range(len(algs)), [style.label(a) for a in algs], rotation=15)
    ax.set_ylabel("held-out accuracy (mean over clients)")
    ax.set_title("held-out accuracy: seeds and mean, 95% CI", fontsize=9)

    ax = axes[1]
    shares = rep["share_of_full_gain"]
    for k, (a, e) in enumerate(shares.items()):
        share, (lo, hi) = (
            _num(e["share"]),
            (_num(c) for c in e["ci"]),
        )  # strict JSON writes an undefined value as null
        if "undefined" in e or not np.isfinite([share, lo, hi]).all():
            ax.plot(k, share, style.marker(a), color=style.color(a), mec="black", ms=8)
            ax.annotate(
                "no interval:\n" + e.get("undefined", "undefined"),
                (k, 0.5),
                ha="center",
                fontsize=6,
                color="0.3",
                wrap=True,
            )
            continue
        ax.errorbar(
            k,
            share,
            yerr=[[share - lo], [hi - share]],
            fmt=style.marker(a),
            color=style.color(a),
            mec="black",
            ms=8,
            capsize=4,
        )
    for level, text in ((0.0, "no personalization"), (1.0, "full personalization")):
        ax.axhline(level, color=style.REFERENCE_COLOR, ls="--", lw=1)
        ax.annotate(
            text,
            (1.0, level),
            xycoords=("axes fraction", "data"),
            ha="right",
            va="bottom",
            fontsize=7,
            color=style.REFERENCE_COLOR,
        )
    ax.set_xticks(range(len(shares)), [style.label(a) for a in shares])
    ax.set_xlim(-0.6, len(shares) - 0.4)
    gain = next(iter(shares.values()))["gain_full"] if shares else None
    note = (
        f"full's gain over FedAvg {_num(gain['mean']):+.4f} [{_num(gain['ci'][0]):+.4f}, {_num(gain['ci'][1]):+.4f}]"
        if gain
        else rep.get("share_of_full_gain_missing", "")
    )
    ax.set_title(
        f"(a) share of full personalization's gain\n(bootstrap 95% CI; {note})", fontsize=8
    )
    ax.set_ylabel("share: (partial − FedAvg) / (full − FedAvg)")

    ax = axes[2]
    d = rep.get("fedalt_minus_fedsim")
    if d is not None:
        sim = summary["algorithms"]["fedsim"]
        scale = {
            "final_stationarity": _num(sim["final_stationarity"]["mean"]),
            "held_out_accuracy": 1.0,
        }
        names = {
            "final_stationarity": "stationarity, relative\n(< 0: FedAlt better)",
            "held_out_accuracy": "accuracy, points\n(> 0: FedAlt better)",
        }
        for k, key in enumerate(names):
            m, (lo, hi) = (
                _num(d[key]["mean"]) / scale[key],
                (_num(c) / scale[key] for c in d[key]["ci"]),
            )
            ax.errorbar(
                k,
                100 * m,
                yerr=[[100 * (m - lo)], [100 * (hi - m)]],
                fmt="o",
                color=style.color("fedalt"),
                mec="black",
                ms=8,
                capsize=4,
            )
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xticks(range(2), list(names.values()), fontsize=8)
        ax.set_xlim(-0.6, 1.6)
        ax.set_ylabel("FedAlt − FedSim (%), paired 95% CI")
    ax.set_title("(b) FedAlt against FedSim", fontsize=9)
    cfg = summary["config"]
    fig.suptitle(
        title
        or f"{cfg['family']}: n = {cfg['problem'].get('n', '?')} clients, {cfg['rounds']} rounds, "
        f"{len(rep['seeds'])} seeds (measured only, no bound)",
        fontsize=10,
    )
    return fig
