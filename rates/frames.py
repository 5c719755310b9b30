"""Tidy tables of a run, for notebooks and files: one row per observation, one column per variable.

- `round_table(trajectories)`: rounds.csv's columns, one row per (algorithm, seed, measured round);
  `altsim.results.rounds_csv` writes it, and `Result.to_frame()` returns it as a pandas DataFrame.
- `comparison_table(comparison)`: one row per (curve, horizon): the measurement at the run's one
  measure w = m/n with its interval, and each covering bound's value; `Comparison.to_frame()`.

pandas is optional (`pip install "altsim[notebook]"`): only the `to_frame` calls need it, and they
say so when it is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .measurement import Trajectory

ROUND_COLUMNS = (
    "algorithm",
    "seed",
    "round",
    "grad_u_sq",
    "grad_v_sq_mean",
    "stationarity",
    "stationarity_m_over_n",
    "running_average",
    "objective_gap",
    "delta",
    "delta_m_over_n",
)
"""Columns of rounds.csv; the last two are deprecated aliases of the stationarity columns (one release)."""

COMPARISON_COLUMNS = ("algorithm", "curve", "provenance", "weight", "T", "value", "low", "high")
"""Columns of `comparison_table`: `curve` is "measured" or a bound's name; low and high are the
measurement's interval (NaN for a bound)."""


def round_table(trajectories: Mapping[str, Trajectory]) -> dict[str, np.ndarray]:
    """rounds.csv's columns (`ROUND_COLUMNS`) as arrays of one length: one row per (algorithm, seed,
    measured round), Delta_t at weight 1 and m/n and the running average at weight 1."""
    parts: dict[str, list[np.ndarray]] = {c: [] for c in ROUND_COLUMNS}
    for alg, tr in trajectories.items():
        R, K = tr.grad_u_sq.shape
        d1, dw = tr.stationarity(1.0), tr.stationarity(tr.m / tr.n)
        columns = {
            "algorithm": np.full(R * K, alg, dtype=object),
            "seed": np.repeat(np.asarray(tr.seeds, dtype=np.int64), K),
            "round": np.tile(np.asarray(tr.rounds, dtype=np.int64), R),
            "grad_u_sq": tr.grad_u_sq.ravel(),
            "grad_v_sq_mean": tr.grad_v_sq_mean.ravel(),
            "stationarity": d1.ravel(),
            "stationarity_m_over_n": dw.ravel(),
            "running_average": tr.running_average(1.0).ravel(),
            "objective_gap": tr.objective_gap.ravel(),
            "delta": d1.ravel(),
            "delta_m_over_n": dw.ravel(),
        }
        for c in ROUND_COLUMNS:
            parts[c].append(columns[c])
    return {
        c: np.concatenate(v) if v else np.zeros(0, dtype=object if c == "algorithm" else float)
        for c, v in parts.items()
    }


def comparison_table(comparison: Any) -> dict[str, np.ndarray]:
    """`COMPARISON_COLUMNS` of one algorithm's `Comparison`: the measurement at the run's measure
    (with its interval) and every covering bound along the horizons."""
    rows: dict[str, list] = {c: [] for c in COMPARISON_COLUMNS}

    def add(curve: str, provenance: str, weight: float, T, value, low, high) -> None:
        n = len(T)
        for c, v in zip(
            COMPARISON_COLUMNS,
            (comparison.algorithm, curve, provenance, weight, T, value, low, high),
        ):
            rows[c].append(np.asarray(v) if np.ndim(v) else np.full(n, v, dtype=object))

    m = comparison.measured
    if m is not None:
        add("measured", "", m["weight"], m["horizons"], m["mean"], m["low"], m["high"])
    for chk in comparison.checks:
        nan = np.full(len(chk.horizons), np.nan)
        add(chk.name, chk.provenance, chk.weight, chk.horizons, chk.curve, nan, nan)
    out = {c: np.concatenate(v) if v else np.zeros(0) for c, v in rows.items()}
    for c in ("weight", "T", "value", "low", "high"):
        out[c] = out[c].astype(float)
    return out


def data_frame(columns: Mapping[str, np.ndarray], what: str) -> Any:
    """A pandas DataFrame of `columns`; an ImportError naming the extra to install when pandas is
    missing (`what` names the call, e.g. "Result.to_frame")."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError(
            f'{what} needs pandas: pip install "altsim[notebook]" (or pip install pandas)'
        ) from None
    return pd.DataFrame(dict(columns))
