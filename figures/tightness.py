"""Tightness plot: measured / bound against T, one line per (algorithm, bound). Answers: how loose
is each bound, and does it tighten or loosen with T? The line ratio = 1 is where a bound would be violated."""

from __future__ import annotations

import numpy as np

from . import style

_DASHES = ["-", "--", "-.", ":"]


def tightness_plot(comparisons: dict, *, title: str | None = None):
    """measured / bound against T (log scale) for each check of `comparisons` ({algorithm: Comparison}), one
    line per (algorithm, bound), with the line ratio = 1 where a bound would be violated."""
    style.require_comparisons("comparisons", comparisons)
    style.require_title("title", title)
    fig, ax = style.new_figure(7.0, 4.6)
    for alg, comp in comparisons.items():
        for k, chk in enumerate(comp.checks):
            ratio = chk.mean / chk.curve
            ax.plot(
                chk.horizons,
                ratio,
                color=style.color(alg),
                ls=_DASHES[k % len(_DASHES)],
                lw=1.8,
                label=f"{style.label(alg)}: {chk.name} [{chk.provenance}]",
            )
    ax.axhline(1.0, color="black", lw=1.2)
    ax.text(
        1.0,
        1.0,
        " ratio = 1: bound violated above",
        transform=ax.get_yaxis_transform(),
        va="bottom",
        ha="right",
        fontsize=8,
    )
    ax.set_xscale("log")
    ratios = [c.mean / c.curve for comp in comparisons.values() for c in comp.checks]
    finite = [float(np.max(r[np.isfinite(r)])) * 1.1 for r in ratios if np.isfinite(r).any()]
    top = max([1.1] + finite)
    if any(c.n_diverged for comp in comparisons.values() for c in comp.checks):
        ax.set_title(
            "diverged seeds are left out of the mean; a check with every seed diverged has no line",
            fontsize=8,
            color="firebrick",
        )
    ax.set_ylim(0, top)
    ax.set_xlabel("rounds $T$")
    ax.set_ylabel(r"measured / bound, $\frac{1}{T}\sum_{t<T}\Delta_t$ over the bound at $T$")
    fig.suptitle(title or "How tight is each bound?")
    if ratios:
        fig.legend(loc="outside lower center", ncol=2, frameon=False, fontsize=8)
    else:
        ax.text(
            0.5,
            0.5,
            "no bound covers these runs: nothing to compare",
            transform=ax.transAxes,
            ha="center",
        )
    return fig
