"""Tightness plot: measured / bound against T, one line per (algorithm, bound). Answers: how loose
is each bound, and does it tighten or loosen with T? The line ratio = 1 is where a bound would be violated."""

from __future__ import annotations

import numpy as np

from . import style

_DASHES = ["-", "--", "-.", ":"]


def tightness_plot(comparisons: dict, *, title: str | None = None):
    fig, ax = style.new_figure(7.0, 4.6)
    for alg, comp in comparisons.items():
        for k, chk in enumerate(comp.checks):
            ratio = chk.mean / chk.curve
            ax.plot(chk.horizons, ratio, color=style.color(alg), ls=_DASHES[k % len(_DASHES)], lw=1.8,
                    label=f"{style.label(alg)}: {chk.name} [{chk.provenance}]")
    ax.axhline(1.0, color="black", lw=1.2)
    ax.text(1.0, 1.0, " ratio = 1: bound violated above", transform=ax.get_yaxis_transform(), va="bottom", ha="right",
            fontsize=8)
    ax.set_xscale("log")
    top = max([1.1] + [float(np.nanmax(c.mean / c.curve)) * 1.1 for comp in comparisons.values() for c in comp.checks])
    ax.set_ylim(0, top)
    ax.set_xlabel("rounds $T$")
    ax.set_ylabel(r"measured / bound, $\frac{1}{T}\sum_{t<T}\Delta_t$ over the bound at $T$")
    fig.suptitle(title or "How tight is each bound?")
    fig.legend(loc="outside lower center", ncol=2, frameon=False, fontsize=8)
    return fig
