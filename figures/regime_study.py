"""The tuned regime study as a figure: does each prediction's sign match the measured winner?

One panel per prediction ([P] the paper's section-6 condition, [D] altsim's bounds). The x-axis is
the prediction's signed margin (> 0: FedAlt predicted), the y-axis the measured advantage of FedAlt,
(FedSim - FedAlt) / FedSim in the final running average of Delta_w (w = m/n), with its paired interval.
A prediction agrees with the measurement in the upper-right and lower-left quadrants; the grey band
|margin| < b is where no side is claimed. Marker shape: FedAlt's (tau_u, tau_v); fill: the measured
winner (grey: no significant winner); a red edge: a significant winner the prediction got wrong,
outside the band. Works for any family, since the axes need no closed form of the condition."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from . import style

_SHAPES = ("v", "P", "X", "h", "<", ">")
_VARIANT_SHAPES = {
    (1, 1): "o",
    (1, 5): "s",
    (5, 1): "^",
    (5, 5): "D",
}  # the same variant looks the same in every study
_TITLES = {
    "paper": "[P] the paper's section-6 condition",
    "derived": "[D] altsim's bounds, each at its best η",
}


def study_rows(sweep_summary: dict) -> list[dict]:
    """Every row of every finished point of a tuned regime study."""
    rows = [
        r for p in sweep_summary.get("points", []) for r in p["summary"].get("regime_study", [])
    ]
    if not rows:
        raise ValueError(
            "regime study figure: the sweep has no tuned regime rows (set regime.eta_grid and "
            "regime.tune_seeds in its config)"
        )
    return rows


def _rate_text(entry: dict, level: float) -> str:
    o = entry["outside"]
    if not o["of"]:
        return "no significant row outside the band"
    lo, hi = o["wilson"]
    return (
        f"agrees at {o['agree']}/{o['of']} = {o['rate']:.0%} "
        f"(Wilson {level:.0%} [{lo:.0%}, {hi:.0%}]) outside the band"
    )


@style.reads("sweep_summary", "a sweep's summary (summary.json)")
def regime_study_plot(sweep_summary: dict, *, title: str | None = None):
    """The tuned regime study (module docstring): per prediction ([P], [D]) a panel of measured advantage
    against predicted margin, with the agreement rate and its interval in the panel's title."""
    style.require_title("title", title)
    rows = study_rows(sweep_summary)
    agg = sweep_summary.get("regime_study")
    if agg is None:
        from altsim.rates.regime_study import aggregate

        agg = aggregate(rows)
    band = agg.get("study", {}).get("margin", 0.1)
    level = agg.get("study", {}).get("level", 0.95)
    variants = sorted({(r["tau_u"], r["tau_v"]) for r in rows})
    shape = {v: _VARIANT_SHAPES.get(v, _SHAPES[k % len(_SHAPES)]) for k, v in enumerate(variants)}
    fig, axes = style.new_figure(11.0, 4.9, ncols=2, sharey=True)
    y = np.array([r["advantage"] for r in rows], dtype=float)
    err = np.array([r["advantage_ci"] for r in rows], dtype=float)
    finite = np.isfinite(y)
    span = max(float(np.nanmax(np.abs(err[finite]))) if finite.any() else 0.01, 1e-4) * 2.5
    # symlog: advantages of 0.01% and of 80% both show; linear within +-linthresh
    linthresh = (
        max(min(float(np.nanmin(np.abs(y[finite]))) if finite.any() else 1e-3, 1e-2), 1e-4)
        if finite.any()
        else 1e-3
    )
    for ax, p in zip(axes, ("paper", "derived")):
        x = np.array([r[p]["margin"] for r in rows], dtype=float)
        ax.axvspan(0, 1.05, color="#cfe3f2", zorder=0)
        ax.axvspan(-1.05, 0, color="#f6d3bd", zorder=0)
        ax.axvspan(-band, band, color="0.85", zorder=1)
        ax.axhline(0, color="0.3", lw=0.8, zorder=2)
        for r, xi, yi, (lo, hi) in zip(rows, x, y, err):
            if not (math.isfinite(xi) and math.isfinite(yi)):
                continue
            won = r["empirical"]
            wrong = (
                won in ("fedalt", "fedsim")
                and r[p]["winner"] in ("fedalt", "fedsim")
                and not r[p]["in_band"]
                and r[p]["winner"] != won
            )  # exactly the rows `aggregate` counts as disagreeing
            ax.errorbar(
                xi, yi, yerr=[[yi - lo], [hi - yi]], fmt="none", ecolor="0.35", lw=0.9, zorder=3
            )
            ax.scatter(
                xi,
                yi,
                marker=shape[(r["tau_u"], r["tau_v"])],
                s=46,
                zorder=4,
                facecolor=style.color(won) if won in ("fedalt", "fedsim") else "0.6",
                edgecolor="red" if wrong else "black",
                linewidth=2.2 if wrong else 0.8,
            )
        ax.set_xlim(-1.05, 1.05)
        ax.set_yscale("symlog", linthresh=linthresh, linscale=0.6)
        ax.set_ylim(-span, span)
        ax.set_xlabel("predicted margin  (> 0: FedAlt, < 0: FedSim)")
        ax.set_title(f"{_TITLES[p]}\n{_rate_text(agg[p], level)}", fontsize=9)
        ax.yaxis.set_major_formatter(lambda v, _: "0" if v == 0 else f"{v * 100:+.3g}%")
    axes[0].set_ylabel(
        "measured FedAlt advantage (FedSim − FedAlt) / FedSim\n"
        f"paired {level:.0%} CI; symlog, linear within ±{linthresh * 100:.2g}%"
    )
    sig = agg["significant"]
    family = rows[0].get("family") or sweep_summary["points"][0]["summary"]["config"]["family"]
    consts = sorted({r["constants"] for r in rows})
    fig.suptitle(
        title
        or f"Which algorithm wins? {family}: {sig['agree']}/{sig['of']} rows with a significant winner; "
        f"constants {' and '.join(consts)}",
        fontsize=10,
    )
    handles = [
        Patch(color="#cfe3f2", label="FedAlt predicted"),
        Patch(color="#f6d3bd", label="FedSim predicted"),
        Patch(color="0.85", label=f"band |margin| < {band:g}"),
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            mfc=style.color("fedalt"),
            mec="black",
            label="measured: FedAlt",
        ),
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            mfc=style.color("fedsim"),
            mec="black",
            label="measured: FedSim",
        ),
        Line2D([], [], marker="o", ls="", mfc="0.6", mec="black", label="no significant winner"),
        Line2D(
            [],
            [],
            marker="o",
            ls="",
            mfc="white",
            mec="red",
            mew=2.2,
            label="red edge: prediction wrong",
        ),
        *[
            Line2D(
                [],
                [],
                marker=shape[v],
                ls="",
                mfc="white",
                mec="black",
                label=f"FedAlt τ_u={v[0]}, τ_v={v[1]}",
            )
            for v in variants
        ],
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=5, frameon=False, fontsize=8)
    return fig
