"""Rate plot: the measured running average of Delta_w (band: 95% interval over seeds) against
each algorithm's bound, on log-log axes, with reference slopes. Answers: does the bound hold,
and how loose is it? Below it, when two or more algorithms ran, their paired difference seed by
seed (A - B with its interval), which answers: which is better, and is the difference real?

Every algorithm is drawn with one measure, the run's w = m/n (docs/theory.md section 4). A bound
is drawn only beside the measure it bounds: one whose weight differs (w = 1 at partial
participation) is named in the note instead, and the table gives its ratio.
"""

from __future__ import annotations

import math

import numpy as np

from altsim.rates.compare import pairable, paired_difference
from altsim.theory.checks import (
    require,
    require_bool,
    require_mapping,
    require_str,
    shown,
)
from altsim.theory.rate import PAPER_LEVEL

from . import style


def _paper_level(alg: str, comp) -> tuple[np.ndarray, np.ndarray, str] | tuple[None, None, str]:
    """(horizons, curve, label) of the algorithm's paper-level rate at its run's setting, or
    (None, None, why not)."""
    pl = next((q for q in PAPER_LEVEL.values() if q.algorithm == alg), None)
    if pl is None:
        return None, None, f"{style.label(alg)}: no paper-level rate"
    why = pl.applies(comp.setting)
    if why:
        return None, None, f"{style.label(alg)}: paper-level rate does not apply ({why[0]})"
    T = comp.measured["horizons"]
    sample = np.unique(np.geomspace(1, len(T), 40).astype(int) - 1)  # smooth enough, and cheap
    return T[sample], pl.curve(comp.setting, T[sample]), f"{pl.name} [D]"


def rate_plot(
    comparisons: dict,
    *,
    bounds: dict[str, str] | None = None,
    title: str | None = None,
    note: str | None = None,
    reference_slopes=(-0.5, -1.0),
    paper_level: bool = False,
    level: float = 0.95,
):
    """Draw `comparisons` ({algorithm: Comparison}): `bounds` picks the bound per algorithm (default:
    its first check); `paper_level` overlays each algorithm's paper-level rate (docs/theory.md section
    7.11) where it applies; with two or more algorithms, a lower panel draws the first one minus each
    other, paired over seeds, with its `level` interval.

    Refused before anything is drawn: `comparisons` that is not a mapping of algorithm names to
    `Comparison`s, `bounds` that is not None or a mapping of algorithm names to bound names (or None), a title
    or note that is not a str, `reference_slopes` that are not numbers, a `paper_level` that is not
    a bool and a `level` outside (0, 1)."""
    style.require_comparisons("comparisons", comparisons)
    require_mapping("bounds", bounds, "a mapping of algorithm names to bound names", optional=True)
    for alg, name in (bounds or {}).items():  # None: the algorithm's first check
        require_str(f"bounds[{alg!r}]", name, "a bound's name", optional=True)
    style.require_title("title", title)
    style.require_title("note", note)
    if isinstance(reference_slopes, (str, bytes)) or not isinstance(
        reference_slopes, (tuple, list)
    ):
        raise TypeError(
            f"reference_slopes={shown(reference_slopes)}: must be a list of slopes, not "
            f"{type(reference_slopes).__name__}"
        )
    for j, slope in enumerate(reference_slopes):
        require(f"reference_slopes[{j}]", slope)
    require_bool("paper_level", paper_level)
    require("level", level, low=0, high=1, low_open=True, high_open=True)
    drawn = {a: c for a, c in comparisons.items() if c.measured is not None}
    pairs = [(b, c) for b, c in list(drawn.items())[1:] if pairable(next(iter(drawn.values())), c)]
    if pairs:
        fig, (ax, dax) = style.new_figure(
            7.2, 8.0, nrows=2, sharex=True, gridspec_kw={"height_ratios": [3.0, 1.3]}
        )
    else:
        fig, ax = style.new_figure(7.2, 6.0)
        dax = None
    T_max, y_min, y_max, weights = 1, np.inf, 0.0, set()
    notes = []
    for k_alg, (alg, comp) in enumerate(drawn.items()):
        col, lab = style.color(alg), style.label(alg)
        meas = comp.measured
        w = meas["weight"]
        weights.add(round(w, 12))
        T, mean, low, high = (meas[k] for k in ("horizons", "mean", "low", "high"))
        want = (bounds or {}).get(alg)
        chk = next(
            (c for c in comp.checks if c.name == want), comp.checks[0] if comp.checks else None
        )
        if chk is not None and not math.isclose(chk.weight, w, rel_tol=1e-12):
            notes.append(
                f"{lab}: {chk.name} bounds Delta with w = {chk.weight:g}, not this axis' "
                f"w = {w:g}; its ratio is in the table"
            )
            chk = None
        n_div, n_all = len(comp.diverged_seeds), meas["n_seeds"]
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
        slope = f", slope {chk.measured_slope:.2f}" if chk is not None else ""
        covered = "" if comp.checks else " (no covering bound)"
        ax.plot(
            T,
            mean,
            color=col,
            lw=2.0,
            marker=style.marker(alg),
            markevery=marks.tolist(),
            ms=4.5,
            mfc="white",
            label=f"{lab} measured{slope}{covered}{div}",
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
        if paper_level:
            Tp, curve, what = _paper_level(alg, comp)
            if curve is None:
                notes.append(what)
            else:
                ax.plot(Tp, curve, color=col, lw=1.3, ls=(0, (1, 1.5)), label=f"{lab} {what}")
                y_max = max(y_max, np.nanmax(curve))
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
    w_text = f", $w$ = {weights.pop():g}" if len(weights) == 1 else ""
    ax.set_ylabel(style.RUNNING_AVG_LABEL + w_text)
    if dax is not None:
        _difference_panel(dax, drawn, pairs, level)
        dax.set_xlabel("rounds $T$")
    else:
        ax.set_xlabel("rounds $T$")
    fig.suptitle(title or "Measured stationarity against the bound")
    if note:
        ax.set_title(note, fontsize=8, color="0.3")
    fig.legend(loc="outside lower center", ncol=2, frameon=False, fontsize=7.5)
    return fig


def _difference_panel(ax, drawn: dict, pairs: list, level: float) -> None:
    """The first algorithm minus each other one, paired seed by seed, with its interval, relative to
    the other's mean at each horizon (so it reads in percent; the sign and the significance are those
    of the difference itself). Below zero, the first one's stationarity is the smaller."""
    first = next(iter(drawn))
    for other, comp in pairs:
        d = paired_difference(drawn[first], comp, level)
        scale = comp.measured["mean"]
        with np.errstate(all="ignore"):
            mean, low, high = (100 * d[k] / scale for k in ("mean", "low", "high"))
        T = d["horizons"]
        if not np.isfinite(mean).any():
            continue
        col = style.color(other)
        ax.fill_between(T, low, high, color=col, alpha=0.2, linewidth=0)
        verdict = "significant" if (d["high"][-1] < 0 or d["low"][-1] > 0) else "not significant"
        ax.plot(
            T,
            mean,
            color=col,
            lw=1.6,
            label=f"({style.label(first)} − {style.label(other)}) / {style.label(other)}, paired over "
            f"{d['n_seeds']} seeds, {level:.0%} interval: {mean[-1]:+.2g}% at T = {int(T[-1])}, "
            f"{verdict}",
        )
    ax.axhline(0.0, color=style.REFERENCE_COLOR, lw=0.9)
    ax.set_ylabel(f"paired difference, %\n(< 0: {style.label(first)} smaller)")
