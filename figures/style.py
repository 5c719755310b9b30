"""One style for every altsim figure: Okabe-Ito colours (colour-blind safe) plus distinct line
styles and markers, so that figures also read in grayscale."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=False)  # headless by default; notebooks may already have chosen a backend

import matplotlib.pyplot as plt  # noqa: E402

PALETTE = {"fedalt": "#0072B2", "fedsim": "#D55E00", "fedavg": "#009E73", "local_only": "#CC79A7", "full_personalization": "#E69F00",
           "reference": "#7f7f7f"}
MARKERS = {"fedalt": "o", "fedsim": "s", "fedavg": "^", "local_only": "v", "full_personalization": "D"}
LABELS = {"fedalt": "FedAlt", "fedsim": "FedSim", "fedavg": "FedAvg", "local_only": "local only",
          "full_personalization": "full personalization"}
DELTA_LABEL = r"$\Delta_t = \|\nabla_u F\|^2/L_u + \frac{w}{n}\sum_i \|\nabla_{v} F_i\|^2/L_v$"
RUNNING_AVG_LABEL = r"running average $\frac{1}{T}\sum_{t<T}\Delta_t$"
"""Delta_t's personal term has weight w (THEORY.md section 4); plots append its value."""

RC = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def color(alg: str) -> str:
    return PALETTE.get(alg, "#000000")


def label(alg: str) -> str:
    return LABELS.get(alg, alg)


def new_figure(width: float = 7.0, height: float = 4.6):
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def save(fig, path_stem, formats=("png", "pdf")) -> list:
    """Save `fig` as PATH_STEM.png and .pdf, atomically; returns the paths."""
    from pathlib import Path

    from altsim.rates.io import save_figure

    stem = Path(path_stem)
    with plt.rc_context(RC):
        return [save_figure(fig, stem.with_suffix("." + f), bbox_inches="tight", pad_inches=0.08) for f in formats]
