"""One style for every altsim figure: Okabe-Ito colours (colour-blind safe) plus distinct line
styles and markers, so that figures also read in grayscale."""

from __future__ import annotations

import matplotlib

matplotlib.use(
    "Agg", force=False
)  # headless by default; notebooks may already have chosen a backend

import functools
from collections.abc import Mapping

import matplotlib.pyplot as plt

from altsim.theory.checks import require_instance, require_str, shown, unknown_name_message

_SPARE_COLORS = ("#56B4E9", "#F0E442", "#000000", "#7f3c8d", "#11a579")
_SPARE_MARKERS = ("P", "X", "h", "<", ">")
REFERENCE_COLOR = "#7f7f7f"
"""Reference slopes and other guides."""


def _algorithm(alg: str):
    """The registered algorithm class (its label, color and marker), or None for an unknown name."""
    from altsim.rates import ALGORITHMS

    return ALGORITHMS.get(alg)


def _spare(alg: str, options):
    import zlib

    return options[zlib.crc32(alg.encode()) % len(options)]  # stable across runs, unlike hash()


_RECORDED: dict[str, dict] = {}
"""Looks that result folders recorded, for algorithms whose plugin is not imported (`remember`)."""


def remember(alg: str, look: dict) -> None:
    """Use `look` ({'label', 'color', 'marker'}, as a result folder recorded it) for `alg` where no
    registered algorithm of that name says otherwise (its plugin could not be imported)."""
    if isinstance(look, dict):
        _RECORDED[alg] = {k: v for k, v in look.items() if isinstance(v, str)}


def _own(alg: str, attribute: str):
    """The algorithm class's own label/color/marker: a subclass is another algorithm, so it does not
    inherit its parent's look (it gets its name and a spare colour instead). An algorithm nobody
    registered here keeps the look its results recorded."""
    cls = _algorithm(alg)
    if cls is None:
        return _RECORDED.get(alg, {}).get(attribute)
    return vars(cls).get(attribute)


def color(alg: str) -> str:
    """The colour of algorithm `alg` in every figure: its class's own `color`, else a spare one fixed by its name."""
    return _own(alg, "color") or _spare(alg, _SPARE_COLORS)


def marker(alg: str) -> str:
    """The marker of algorithm `alg`: its class's own `marker`, else a spare one fixed by its name."""
    return _own(alg, "marker") or _spare(alg, _SPARE_MARKERS)


def label(alg: str) -> str:
    """The legend label of algorithm `alg`: its class's own `label`, else its registered name."""
    return _own(alg, "label") or alg


DELTA_LABEL = r"$\Delta_t = \|\nabla_u F\|^2/L_u + \frac{w}{n}\sum_i \|\nabla_{v} F_i\|^2/L_v$"
RUNNING_AVG_LABEL = r"running average $\frac{1}{T}\sum_{t<T}\Delta_t$"
"""Delta_t's personal term has weight w (docs/theory.md section 4); plots append its value."""

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


def new_figure(width: float = 7.0, height: float = 4.6, **subplots):
    """A figure in altsim's style; `subplots` (ncols, sharey, ...) go to plt.subplots."""
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(width, height), layout="constrained", **subplots)
    return fig, ax


def reads(name: str, what: str, kind: type | tuple[type, ...] = Mapping):
    """Decorator of a figure function whose first argument (`name`) is results as plain data: refused
    with a TypeError unless it is a `kind` (what it must be: `what`), and with a ValueError naming it
    when it does not hold what the figure reads (a summary altsim did not write, or damaged); a figure
    the failed call opened is closed."""

    def decorate(draw):
        @functools.wraps(draw)
        def checked(*args, **kwargs):
            data = args[0] if args else kwargs.get(name)
            require_instance(name, data, kind, what)
            before = set(plt.get_fignums())
            try:
                return draw(*args, **kwargs)
            except (KeyError, IndexError, TypeError, AttributeError, ValueError) as e:
                for number in set(plt.get_fignums()) - before:
                    plt.close(number)
                if isinstance(e, ValueError):
                    raise
                raise ValueError(
                    f"{name}: not {what} as altsim writes it ({type(e).__name__}: {shown(str(e))})"
                ) from None

        return checked

    return decorate


def require_comparisons(name: str, value) -> None:
    """Refuse `value` unless it maps algorithm names to `altsim.rates.Comparison`s (TypeError naming
    the argument or the first entry that is not one)."""
    from altsim.rates import Comparison

    require_instance(
        name, value, Mapping, "a mapping of algorithm names to altsim.rates.Comparison"
    )
    for k, c in value.items():
        require_instance(f"{name}[{shown(k)}]", c, Comparison, "an altsim.rates.Comparison")


def require_title(name: str, value) -> None:
    """Refuse a title or note that is not a str or None (TypeError naming it)."""
    require_str(name, value, optional=True)


def save(fig, path_stem, formats=("png", "pdf")) -> list:
    """Save `fig` as PATH_STEM.png and .pdf, atomically; returns the paths. A `fig` that is not a
    matplotlib Figure, a `path_stem` that is not a path, or `formats` that are not matplotlib's
    formats are refused before anything is written."""
    import os
    from pathlib import Path

    from matplotlib.figure import Figure

    from altsim.io import save_figure

    require_instance("fig", fig, Figure, "a matplotlib Figure")
    require_instance("path_stem", path_stem, (str, os.PathLike), "a file path")
    if isinstance(formats, str) or not isinstance(formats, (tuple, list)) or not formats:
        raise TypeError(
            f"formats={shown(formats)}: must be a non-empty list of formats ('png', 'pdf')"
        )
    supported = fig.canvas.get_supported_filetypes()
    for f in formats:
        if not isinstance(f, str) or f not in supported:
            raise ValueError(unknown_name_message("formats[]", f, sorted(supported), kind="format"))
    if not str(path_stem) or str(path_stem).endswith(("/", os.sep)):
        raise ValueError(f"path_stem={shown(str(path_stem))}: must name a file, not a folder")
    stem = Path(path_stem)
    with plt.rc_context(RC):
        return [
            save_figure(fig, stem.with_suffix("." + f), bbox_inches="tight", pad_inches=0.08)
            for f in formats
        ]
