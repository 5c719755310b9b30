"""Regime map: where does the paper predict FedAlt's bound to be smaller than FedSim's, and who wins
in the runs? Filled regions: the paper's section-6 prediction; markers: the empirical winner at
each sweep point (paired over seeds, 95%); title: the agreement rate.

Axes. Dividing the section-6 condition by sigma_v^2 shows it depends on the noise only through
y = (sigma_u^2 + (1 - m/n) delta^2) / sigma_v^2: FedAlt is predicted to win exactly when
y > m (1 - 2m/n) L_u / L_v. So with x = m/n and this y, the regions are exact for every point
(for the sweep's n, L_u, L_v), whatever its sigma_u, sigma_v and delta."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from altsim.theory import regime_winner

from . import style

_MARK = {"fedalt": "o", "fedsim": "s", "tie": "X"}


@style.reads("sweep_summary", "a sweep's summary (summary.json)")
def regime_map(sweep_summary: dict, *, title: str | None = None):
    """The regime map of a sweep with regime verdicts (module docstring): the section-6 prediction as filled
    regions over m/n and (sigma_u^2 + (1 - m/n) delta^2)/sigma_v^2, each point's measured winner as a
    marker, the agreement rate in the title. ValueError when the sweep has no regime verdicts."""
    style.require_title("title", title)
    pts = [p["summary"] for p in sweep_summary["points"] if "regime" in p["summary"]]
    if not pts:
        raise ValueError(
            "regime map: the sweep has no regime verdicts (enable [regime] in its config)"
        )
    r = [p["regime"] for p in pts]
    x = np.array([v["m_over_n"] for v in r])
    y = np.array(
        [
            (v["sigma_u"] ** 2 + (1 - v["m_over_n"]) * v["delta"] ** 2)
            / max(v["sigma_v"] ** 2, 1e-300)
            for v in r
        ]
    )
    c = pts[0]["constants"]
    n = pts[0]["algorithms"]["fedalt"]["setting"]["n"]
    fig, ax = style.new_figure(7.0, 5.2)
    gx = np.linspace(0.0, 1.0, 400)
    gy = np.geomspace(max(y.min() / 3, 1e-6), y.max() * 3, 300)
    X, Y = np.meshgrid(gx, gy)
    m = np.clip(np.round(X * n), 1, n)
    # sigma_v = 1, delta = 0 and sigma_u^2 = y: the condition in the (x, y) coordinates
    pred = regime_winner(np.sqrt(Y), 1.0, 0.0, c["L_u"], c["L_v"], n, m)
    code = np.vectorize({"fedalt": 0, "fedsim": 1, "tie": 2}.get)(pred).astype(float)
    ax.pcolormesh(
        X,
        Y,
        code,
        cmap=ListedColormap(["#cfe3f2", "#f6d3bd", "#e0e0e0"]),
        vmin=0,
        vmax=2,
        shading="auto",
    )
    chis = sorted({round(v["chi"], 6) for v in r})
    offsets = {ch: (k - (len(chis) - 1) / 2) * 0.022 for k, ch in enumerate(chis)}
    for v, xi, yi in zip(r, x, y):
        col = style.color(v["empirical"]) if v["empirical"] != "tie" else "0.3"
        ax.scatter(
            xi + offsets[round(v["chi"], 6)],
            yi,
            marker=_MARK[v["empirical"]],
            s=70,
            facecolor=col,
            edgecolor="black" if v["agree"] else "red",
            linewidth=1.6 if v["agree"] else 2.4,
            zorder=3,
        )
    ax.set_yscale("log")
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("participation $m/n$")
    ax.set_ylabel(r"$(\sigma_u^2 + (1 - m/n)\,\delta^2)\,/\,\sigma_v^2$")
    agree = sweep_summary["regime"]
    fig.suptitle(
        title
        or f"Which algorithm wins? Agreement with the paper: {agree['agreement_rate']:.0%} of "
        f"{agree['points']} points ({agree['decided']} with a significant winner)"
    )
    ax.set_title(
        f"regions: the paper's section-6 prediction (exact in these axes; n = {n}, L_u = {c['L_u']:g}, "
        f"L_v = {c['L_v']:g})\nmarkers: empirical winner, side by side for each "
        + r"$\chi$"
        + f" ({', '.join(f'{ch:g}' for ch in chis)})",
        fontsize=8,
        color="0.3",
    )
    handles = [
        Patch(color="#cfe3f2", label="predicted: FedAlt"),
        Patch(color="#f6d3bd", label="predicted: FedSim"),
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
            marker="s",
            ls="",
            mfc=style.color("fedsim"),
            mec="black",
            label="measured: FedSim",
        ),
        Line2D(
            [],
            [],
            marker="X",
            ls="",
            mfc="0.3",
            mec="black",
            label="measured: no significant winner",
        ),
        Line2D(
            [], [], marker="o", ls="", mfc="white", mec="red", mew=2.4, label="red edge: disagrees"
        ),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False, fontsize=8)
    return fig
