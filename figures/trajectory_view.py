"""Teaching view: FedAlt's stair-steps against FedSim's diagonal steps on a 2-D problem.

One client, u and v each one-dimensional, so F(u, v) is a contour map. FedAlt moves v with u
held (a vertical step), then u at the new v (a horizontal step); FedSim moves both at once
from the same point (a diagonal step). `trajectory_animation` draws the same as a GIF.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from altsim.theory.checks import require, require_instance, require_mapping, shown

from . import style

DEFAULT_PROBLEM = dict(
    n=1,
    d_u=1,
    d_v=1,
    L_u=1.0,
    L_v=1.0,
    chi=0.6,
    delta=1.0,
    nonconvexity=0.3,
    frequency=1.5,
    init_scale=2.5,
)


def paths(
    problem_params: dict | None = None,
    *,
    eta: float = 0.6,
    rounds: int = 10,
    seed: int = 3,
    start: tuple[float, float] = (-2.5, 2.0),
):
    """(problem, {alg: array of path vertices (k, 2)}) with FedAlt's intermediate corner points.
    Refused before any work: `problem_params` that is not None or a mapping, eta not > 0, rounds not
    an integer in [1, 10^4], and a `start` that is not two finite numbers."""
    require_mapping(
        "problem_params", problem_params, "coupled_quadratic's parameters", optional=True
    )
    require("eta", eta, low=0, low_open=True)
    require("rounds", rounds, low=1, high=10_000, integer=True)
    if not (isinstance(start, (tuple, list)) and len(start) == 2):
        raise TypeError(f"start={shown(start)}: must be a pair (u0, v0)")
    require("start[0]", start[0])
    require("start[1]", start[1])
    from altsim.rates import FedAlt, FedSim, simulate
    from altsim.synthetic import make_problem

    p = make_problem("coupled_quadratic", {**DEFAULT_PROBLEM, **(problem_params or {})}, seed=seed)
    p = p.with_initial_point([start[0]], [[start[1]]])  # the teaching view picks its start point
    cert = p.certified_constants()
    u0, V0 = p.initial_point()
    out = {}
    for alg in (
        FedAlt(gamma_u=eta / cert.L_u, gamma_v=eta / cert.L_v),
        FedSim(gamma_u=eta / cert.L_u, gamma_v=eta / cert.L_v),
    ):
        states = [(float(u0[0]), float(V0[0, 0]))]
        simulate(
            p,
            alg,
            rounds=rounds,
            m=1,
            seeds=[0],
            on_round=lambda t, u, V: states.append(  # noqa: B023 (used within the iteration)
                (float(u[0, 0]), float(V[0, 0, 0]))
            ),
        )
        if alg.name == "fedalt":  # corner (u^t, v^{t+1}) between round ends: the stair-step
            verts = [states[0]]
            for (ua, _), (ub, vb) in zip(states[:-1], states[1:]):
                verts += [(ua, vb), (ub, vb)]
            out[alg.name] = np.array(verts)
        else:
            out[alg.name] = np.array(states)
    return p, out


def _contours(ax, p, pts):
    lo, hi = pts.min(0), pts.max(0)
    pad = 0.35 * (hi - lo) + 0.5
    U, Vv = np.meshgrid(
        np.linspace(lo[0] - pad[0], hi[0] + pad[0], 240),
        np.linspace(lo[1] - pad[1], hi[1] + pad[1], 240),
    )
    uu = torch.as_tensor(U.reshape(-1, 1), dtype=torch.float64)
    vv = torch.as_tensor(Vv.reshape(-1, 1), dtype=torch.float64)
    F = p.loss(uu, vv, torch.zeros(len(uu), dtype=torch.long)).numpy().reshape(U.shape)
    levels = np.quantile(F, np.linspace(0.0, 1.0, 16))
    ax.contourf(U, Vv, F, levels=levels, cmap="Greys", alpha=0.35)
    cs = ax.contour(U, Vv, F, levels=levels, colors="0.35", linewidths=0.6)
    ax.clabel(cs, fontsize=6, fmt="%.2f")
    ax.set_aspect("equal")
    ax.set_xlabel("shared parameter $u$")
    ax.set_ylabel("personal parameter $v$")


def trajectory_view(
    problem_params: dict | None = None, *, eta: float = 0.6, rounds: int = 10, seed: int = 3
):
    """The teaching view (module docstring): FedAlt's and FedSim's paths from one start over the contours of
    a one-client, 1 + 1-dimensional coupled quadratic (`DEFAULT_PROBLEM`, updated by `problem_params`)."""
    p, path = paths(problem_params, eta=eta, rounds=rounds, seed=seed)
    fig, ax = style.new_figure(6.4, 5.6)
    _contours(ax, p, np.vstack(list(path.values())))
    for alg, pts in path.items():
        ax.plot(
            pts[:, 0],
            pts[:, 1],
            color=style.color(alg),
            lw=2.0,
            ls="-" if alg == "fedalt" else "--",
            marker=style.marker(alg),
            ms=4,
            label=f"{style.label(alg)}"
            + (" (v first, then u)" if alg == "fedalt" else " (both at once)"),
        )
    ax.plot(*path["fedalt"][0], marker="*", color="black", ms=12, ls="", label="start")
    ax.legend(loc="best")
    fig.suptitle(
        rf"FedAlt vs FedSim on $F(u, v)$, one client, $\chi$ = {p.config.chi}, $\eta$ = {eta}, {rounds} rounds"
    )
    return fig


def trajectory_animation(
    path_gif: str | Path,
    problem_params: dict | None = None,
    *,
    eta: float = 0.6,
    rounds: int = 10,
    seed: int = 3,
    fps: int = 3,
) -> Path:
    """Write the trajectory view as a GIF (matplotlib's Pillow writer), atomically. A `path_gif` that
    is not a path and `fps` not an integer in [1, 100] are refused, as `paths` refuses the rest."""
    import os

    require_instance("path_gif", path_gif, (str, os.PathLike), "a file path")
    require("fps", fps, low=1, high=100, integer=True)
    from matplotlib.animation import FuncAnimation, PillowWriter

    p, path = paths(problem_params, eta=eta, rounds=rounds, seed=seed)
    fig, ax = style.new_figure(6.0, 5.2)
    _contours(ax, p, np.vstack(list(path.values())))
    lines = {
        alg: ax.plot(
            [],
            [],
            color=style.color(alg),
            lw=2.0,
            marker=style.marker(alg),
            ms=4,
            ls="-" if alg == "fedalt" else "--",
            label=style.label(alg),
        )[0]
        for alg in path
    }
    ax.legend(loc="best")
    title = fig.suptitle("")

    def frame(k):
        for alg, pts in path.items():
            upto = 2 * k + 1 if alg == "fedalt" else k + 1  # FedAlt has a corner per round
            lines[alg].set_data(pts[:upto, 0], pts[:upto, 1])
        title.set_text(f"round {k} of {rounds}: FedAlt stair-steps, FedSim diagonals")
        return list(lines.values())

    anim = FuncAnimation(fig, frame, frames=rounds + 1, blit=False)
    from altsim.io import atomic_write

    path_gif = atomic_write(
        path_gif, lambda tmp: anim.save(tmp, writer=PillowWriter(fps=fps)), ".tmp.gif"
    )
    return path_gif
