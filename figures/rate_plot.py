"""Rate plot: the measured running average of Delta_t (band: 95% interval over seeds) against
each algorithm's bound, on log-log axes, with reference slopes. Answers: does the bound hold,
and how loose is it?"""

from __future__ import annotations

import numpy as np

from . import style


def rate_plot(
    comparisons: dict,
    *,
    bounds: dict[str, str] | None = None,
    title: str | None = None,
    note: str | None = None,
    reference_slopes=(-0.5, -1.0),
):
    """Draw `comparisons` ({algorithm: Comparison}); `bounds` picks the bound per algorithm (default: first check)."""
    fig, ax = style.new_figure(7.2, 6.0)
    T_max, y_min, y_max, weights = 1, np.inf, 0.0, set()
    notes = []
    for k_alg, (alg, comp) in enumerate(comparisons.items()):
        col, lab = style.color(alg), style.label(alg)
        want = (bounds or {}).get(alg)
        chk = next(
            (c for c in comp.checks if c.name == want), comp.checks[0] if comp.checks else None
        )
        if chk is not None:
            weights.add(round(chk.weight, 12))
            T, mean, low, high = chk.horizons, chk.mean, chk.low, chk.high
        elif (
            comp.measured is not None
        ):  # no bound covers the run: draw the measurement alone (weight 1)
            weights.add(1.0)
            T, mean, low, high = (comp.measured[k] for k in ("horizons", "mean", "low", "high"))
        else:
            continue
        n_div, n_all = (
            len(comp.diverged_seeds),
            (chk.n_seeds if chk is not None else comp.measured["n_seeds"]),
        )
        if not np.isfinite(mean).any():
            notes.append(
                f"{lab}: all {n_all} seeds diverged (first at round {min(comp.diverged_seeds.values())})"
            )
            continue
        div = f", {n_div} of {n_all} seeds diverged (mean of the rest)" if n_div else ""
        ax.fill_between(T, np.maximum(low, 1e-300), high, color=col, alpha=0.18, linewidth=0)
        marks = np.unique(
            np.geomspace(1 + 0.6 * k_alg, len(T), 12).astype(int) - 1
        )  # staggered: overlapping lines stay visible
        slope = f", slope {chk.measured_slope:.2f}" if chk is not None else " (no covering bound)"
        ax.plot(
            T,
            mean,
            color=col,
            lw=2.0,
            marker=style.marker(alg),
            markevery=marks.tolist(),
            ms=4.5,
            mfc="white",
            label=f"{lab} measured{slope}{div}",
        )
        if chk is not None:
            ax.plot(
                T,
                chk.curve,
                color=col,
                lw=1.6,
                ls="--",
                label=f"{lab} bound {chk.name} [{chk.provenance}], slope {chk.bound_slope:.2f}",
            )
            y_max = max(y_max, np.nanmax(chk.curve))
        T_max = max(T_max, int(T[-1]))
        y_min, y_max = (
            min(y_min, np.nanmin(mean[mean > 0]) if (mean > 0).any() else y_min),
            max(y_max, np.nanmax(mean)),
        )
    if notes:
        ax.text(
            0.02,
            0.02,
            "\n".join(notes),
            transform=ax.transAxes,
            fontsize=8,
            color="firebrick",
            va="bottom",
        )
    if not np.isfinite(y_min):  # nothing finite to draw: no log axes, no reference slopes
        ax.text(
            0.5,
            0.5,
            "nothing to draw: every seed of every algorithm diverged",
            transform=ax.transAxes,
            ha="center",
            va="center",
        )
        fig.suptitle(title or "Measured stationarity against the bound")
        return fig
    # Reference slopes through the lower right corner of the data, so they never cross the legend.
    for k, p in enumerate(reference_slopes):
        T = np.geomspace(max(1.0, T_max / 30), T_max, 20)
        ax.plot(
            T,
            0.7 * y_min * (T / T_max) ** p,
            color=style.REFERENCE_COLOR,
            lw=1.0,
            ls=":" if k == 0 else "-.",
            label=rf"reference slope $T^{{{p:g}}}$",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(y_min * 0.4, y_max * 1.5)
    ax.set_xlabel("rounds $T$")
    w = f", $w$ = {weights.pop():g}" if len(weights) == 1 else ""
    ax.set_ylabel(style.RUNNING_AVG_LABEL + w)
    fig.suptitle(title or "Measured stationarity against the bound")
    if note:
        ax.set_title(note, fontsize=8, color="0.3")
    fig.legend(loc="outside lower center", ncol=2, frameon=False, fontsize=7.5)
    return fig
