"""Sweep plot: the final stationarity (1/T) sum_t Delta_t against one swept quantity (participation
m/n, heterogeneity delta, ...), one line per algorithm with its 95% interval over seeds."""

from __future__ import annotations

import numpy as np

from altsim.theory.checks import require_str, unknown_name_message

from . import style


def _x_value(point: dict, key: str) -> float:
    s = point["summary"]
    if key == "m_over_n":
        setting = next(iter(s["algorithms"].values()))["setting"]
        return setting["m"] / setting["n"]
    table, name = (
        (s["config"]["problem"], key.split(".", 1)[1])
        if key.startswith("problem.")
        else (s["config"], key)
    )
    value = table.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        numeric = sorted(
            k for k, v in table.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
        )
        prefix = "problem." if key.startswith("problem.") else ""
        if name not in table:
            choices = ["m_over_n", *(prefix + k for k in numeric)]
            raise ValueError(unknown_name_message("x", key, choices, kind="axis"))
        raise ValueError(
            f"x={key!r}: not a number in this sweep's configs; choose m_over_n or one of "
            f"{', '.join(prefix + k for k in numeric)}"
        )
    return float(value)


@style.reads("sweep_summary", "a sweep's summary (summary.json)")
def sweep_plot(sweep_summary: dict, *, x: str = "m_over_n", title: str | None = None):
    """x: 'm_over_n', an experiment field ('rounds') or 'problem.<name>' ('problem.delta')."""
    require_str("x", x, "an axis name ('m_over_n', an [experiment] field or 'problem.NAME')")
    style.require_title("title", title)
    if not sweep_summary.get("points"):
        raise ValueError("sweep plot: the sweep has no finished points yet")
    for p in sweep_summary["points"]:
        _x_value(p, x)  # refuse a bad axis before drawing anything
    fig, ax = style.new_figure(6.4, 4.4)
    algs = list(sweep_summary["points"][0]["summary"]["algorithms"])
    for alg in algs:
        xs, mean, lo, hi = [], [], [], []
        for p in sweep_summary["points"]:
            entry = p["summary"]["algorithms"][alg]
            fd = entry.get(
                "final_stationarity", entry.get("final_delta")
            )  # result folders from before the rename
            xs.append(_x_value(p, x))
            mean.append(fd["mean"])
            lo.append(fd["ci"][0])
            hi.append(fd["ci"][1])
        order = np.argsort(xs)
        xs, mean, lo, hi = (np.asarray(a)[order] for a in (xs, mean, lo, hi))
        ax.errorbar(
            xs,
            mean,
            yerr=[mean - lo, hi - mean],
            color=style.color(alg),
            marker=style.marker(alg),
            capsize=3,
            lw=1.8,
            label=style.label(alg),
        )
    ax.set_yscale("log")
    ax.set_xlabel(
        {
            "m_over_n": "participation $m/n$",
            "problem.delta": r"heterogeneity $\delta$",
            "problem.sigma_v": r"personal noise $\sigma_v$",
            "problem.chi": r"coupling $\chi$",
        }.get(x, x)
    )
    ax.set_ylabel(r"final $\frac{1}{T}\sum_{t<T}\Delta_t$ ($w$ = 1)")
    ax.legend()
    fig.suptitle(title or "Final stationarity across the sweep")
    return fig
