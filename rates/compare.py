"""Hold a trajectory against every bound that covers its run: plain data a figure can draw.

For each covering bound with personal weight w, the measurement is, per seed,
(1/T) sum_{t<T} Delta_t^{(w)}; across R seeds we report the mean and a 95% Student-t
interval for E[.] (the quantity the bounds bound). The verdict:

- "holds": the interval lies at or below the bound;
- "violated": the interval lies above the bound (significant at 95%);
- "inconclusive": the interval straddles the bound (or one random seed gives no interval);
- "diverged": some seed diverged. The measurement, its interval and the ratio are then taken over
  the surviving seeds (with the count of diverged ones beside them), but no verdict of holds or
  violated is drawn: a divergence inside a bound's conditions is itself the finding. When every
  seed diverged there is no measurement at all, and the check says so.

A run without randomness (sigma_u = sigma_v = 0 and m = n) is exact: its interval is the point
(`is_exact`, the one place that test lives).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from altsim.theory import Bound, normalised_eta
from altsim.theory.checks import require_instance, require_mapping

from .frames import comparison_table, data_frame
from .measurement import Trajectory

VERDICTS = ("holds", "violated", "inconclusive", "diverged")
VERDICT_RTOL = 1e-9
"""Relative slack of a verdict, as `altsim falsify` allows: a bound attained exactly by a run without
randomness (measured / bound = 1 + 2e-16) holds."""


def mean_interval(
    samples: np.ndarray, exact: bool, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over axis 0 and a Student-t interval of the mean (a point interval when `exact`)."""
    from scipy.stats import t as student_t

    samples = np.asarray(samples, dtype=float)
    mean = samples.mean(axis=0)
    R = samples.shape[0]
    if exact:
        return mean, mean.copy(), mean.copy()
    if R < 2:
        inf = np.full_like(mean, math.inf)
        return mean, -inf, inf
    half = student_t.ppf(0.5 + level / 2, R - 1) * samples.std(axis=0, ddof=1) / math.sqrt(R)
    return mean, mean - half, mean + half


def mean_ci(samples, level: float = 0.95) -> dict:
    """{'mean', 'ci': [low, high]} of one per-seed vector: its mean and Student-t interval (plain floats)."""
    mean, lo, hi = mean_interval(
        np.asarray(samples, dtype=float)[:, None], exact=False, level=level
    )
    return {"mean": float(mean[0]), "ci": [float(lo[0]), float(hi[0])]}


def is_exact(setting) -> bool:
    """Whether a run has no randomness at all: no gradient noise and every client in every round.
    A setting that is not a mapping is refused (TypeError)."""
    require_mapping("setting", setting, "a run's setting (a mapping)")
    return (
        setting.get("sigma_u", 1) == 0
        and setting.get("sigma_v", 1) == 0
        and setting.get("m") == setting.get("n")
    )


def verdict(low: float, high: float, bound: float) -> str:
    """'holds' if the interval [low, high] lies at or below `bound`, 'violated' if above it, 'inconclusive' if
    it straddles it, 'diverged' if an end is nan (docs/theory.md section 8)."""
    if math.isnan(low) or math.isnan(high):
        return "diverged"
    slack = bound * (1 + VERDICT_RTOL)  # float rounding of an exact run is not a violation
    if high <= slack:
        return "holds"
    if low > slack:
        return "violated"
    return "inconclusive"


def fit_slope(T: np.ndarray, y: np.ndarray, tail: float = 0.1) -> float:
    """Least-squares slope of log y against log T over T >= tail * T_max (log-spaced points)."""
    T, y = np.asarray(T, float), np.asarray(y, float)
    keep = (T >= tail * T.max()) & np.isfinite(y) & (y > 0)
    if keep.sum() < 3:
        return math.nan
    lt, ly = np.log(T[keep]), np.log(y[keep])
    grid = np.linspace(lt.min(), lt.max(), 50)
    return float(np.polyfit(grid, np.interp(grid, lt, ly), 1)[0])


@dataclass
class BoundCheck:
    """One trajectory against one bound, at the final horizon and along T."""

    name: str
    provenance: str
    weight: float
    T: int
    measured: float
    measured_ci: tuple[float, float]
    bound: float
    ratio: float
    verdict: str
    measured_slope: float
    bound_slope: float
    rate: str
    n_seeds: int
    """Seeds run."""
    n_diverged: int
    """Seeds that diverged; measured, measured_ci and ratio are over the other n_seeds - n_diverged."""
    horizons: np.ndarray = field(repr=False)
    curve: np.ndarray = field(repr=False)
    mean: np.ndarray = field(repr=False)
    low: np.ndarray = field(repr=False)
    high: np.ndarray = field(repr=False)

    def summary(self) -> dict:
        """The check as plain data (the per-horizon arrays left out), with a note when seeds diverged."""
        d = {k: v for k, v in asdict(self).items() if not isinstance(v, np.ndarray)}
        d["measured_ci"] = list(self.measured_ci)
        if self.n_diverged:
            d["diverged_note"] = (
                f"every one of the {self.n_seeds} seeds diverged: nothing to measure"
                if self.n_diverged == self.n_seeds
                else f"{self.n_diverged} of {self.n_seeds} seeds diverged; measured over the other "
                f"{self.n_seeds - self.n_diverged}"
            )
        return d


@dataclass
class Comparison:
    """Every check of one algorithm's run; bounds that do not cover it, with the reasons."""

    algorithm: str
    setting: dict
    checks: list[BoundCheck]
    not_covering: dict[str, list[str]]
    diverged_seeds: dict[int, int]
    calibrated_template: dict[str, float] | None = None
    """C1, C2, C3 of the paper's template C1 T^-1/2 + C2 T^-2/3 + C3 T^-1 fitted (tightest cover) to the
    mean running average of Delta_t over T, with sigma_1^2 = sigma~^2 = 1 absorbed into the constants."""

    measured: dict | None = None
    """The measurement on its own, covered or not, at the run's measure weight w = m/n (the one every
    algorithm of a comparison shares; docs/theory.md section 4): `weight`, `horizons`, the mean, low and
    high of the running average of Delta_w over the surviving seeds, `per_seed` (seeds x horizons,
    NaN after a seed diverged), `seeds`, n_seeds and n_diverged."""

    def to_frame(self) -> Any:
        """The measurement (at the run's w = m/n, with its interval) and every covering bound along the
        horizons, as a tidy pandas DataFrame (`rates.frames.COMPARISON_COLUMNS`: one row per curve and
        horizon). Needs pandas (`pip install "altsim[notebook]"`)."""
        return data_frame(comparison_table(self), "Comparison.to_frame")

    def to_dict(self) -> dict:
        """The comparison as plain data for JSON: the setting, each check's summary, the bounds that do not
        cover the run with their reasons, the diverged seeds and the calibrated template."""
        return {
            "algorithm": self.algorithm,
            "setting": self.setting,
            "checks": [c.summary() for c in self.checks],
            "not_covering": self.not_covering,
            "diverged_seeds": {str(k): v for k, v in self.diverged_seeds.items()},
            "calibrated_template": self.calibrated_template,
        }


def calibrate_shape(T: np.ndarray, y: np.ndarray, points: int = 40) -> dict[str, float] | None:
    """The paper's template fitted to a curve y(T) (see Comparison.calibrated_template)."""
    from altsim.theory import fit_constants, get_bound

    keep = np.isfinite(y) & (y > 0)
    if keep.sum() < 3:
        return None
    idx = np.unique(np.geomspace(1, keep.sum(), points).astype(int) - 1)
    settings = [dict(sigma1_sq=1.0, sigma2_sq=1.0, T=float(t)) for t in T[keep][idx]]
    return fit_constants(get_bound("fedalt_paper_template"), settings, y[keep][idx])


def survivors_interval(trajectory: Trajectory, weight: float, exact: bool, level: float = 0.95):
    """(mean, low, high) of the running average over the seeds that did not diverge, per horizon; all NaN
    when every seed diverged."""
    alive = trajectory.diverged_at < 0
    if not alive.any():
        nan = np.full(len(trajectory.rounds), math.nan)
        return nan, nan.copy(), nan.copy()
    return mean_interval(trajectory.running_average(weight)[alive], exact, level=level)


def compare(trajectory: Trajectory, bounds: list[Bound], setting: dict) -> Comparison:
    """Check `trajectory` against each bound in `bounds` that covers `setting`.

    Refused before any work: a `trajectory` that is not a `Trajectory`, `bounds` that is not a list
    of `altsim.theory.Bound`, a `setting` that is not a mapping (TypeError naming each)."""
    require_instance("trajectory", trajectory, Trajectory, "an altsim.rates.Trajectory")
    require_instance("bounds", bounds, (list, tuple), "a list of altsim.theory.Bound")
    for j, b in enumerate(bounds):
        require_instance(f"bounds[{j}]", b, Bound, "an altsim.theory.Bound")
    require_mapping("setting", setting, "a run's setting (a mapping)")
    checks, not_covering = [], {}
    exact = is_exact({**setting, "m": trajectory.m, "n": trajectory.n})
    diverged = {int(s): int(r) for s, r in zip(trajectory.seeds, trajectory.diverged_at) if r >= 0}
    T_all = trajectory.horizons.astype(float)
    for b in bounds:
        if b.unknowns:
            not_covering[b.name] = [
                f"unknown constants {', '.join(b.unknowns)}: calibrate it first (altsim.theory.calibrate)"
            ]
            continue
        cov = b.covers(setting)
        if not cov:
            not_covering[b.name] = list(cov.reasons)
            continue
        values = dict(setting)
        if "eta" not in values:
            values["eta"] = normalised_eta(setting)
        weight = b.weight_at(values)
        mean, low, high = survivors_interval(trajectory, weight, exact)
        curve = b.evaluate({**values, "T": T_all})
        final = float(curve[-1])
        ratio = float(mean[-1]) / final if np.isfinite(mean[-1]) else math.nan
        v = "diverged" if diverged else verdict(float(low[-1]), float(high[-1]), final)
        checks.append(
            BoundCheck(
                name=b.name,
                provenance=b.provenance,
                weight=weight,
                T=int(T_all[-1]),
                measured=float(mean[-1]),
                measured_ci=(float(low[-1]), float(high[-1])),
                bound=final,
                ratio=ratio,
                verdict=v,
                measured_slope=fit_slope(T_all, mean),
                bound_slope=fit_slope(T_all, curve),
                rate=b.rate,
                n_seeds=len(trajectory.seeds),
                n_diverged=len(diverged),
                horizons=T_all,
                curve=curve,
                mean=mean,
                low=low,
                high=high,
            )
        )
    try:
        calibrated = (
            None
            if diverged
            else calibrate_shape(T_all, trajectory.running_average(1.0).mean(axis=0))
        )
    except (
        ValueError
    ):  # the fit is a convenience: an ill-conditioned one (extreme constants) is left out
        calibrated = None
    w_run = trajectory.m / trajectory.n  # one measure for every algorithm of a run
    mean, low, high = survivors_interval(trajectory, w_run, exact)
    per_seed = trajectory.running_average(w_run).astype(float)
    per_seed[trajectory.diverged_at >= 0] = math.nan
    measured = {
        "weight": w_run,
        "horizons": T_all,
        "mean": mean,
        "low": low,
        "high": high,
        "per_seed": per_seed,
        "seeds": np.asarray(trajectory.seeds),
        "n_seeds": len(trajectory.seeds),
        "n_diverged": len(diverged),
    }
    return Comparison(
        trajectory.algorithm, dict(setting), checks, not_covering, diverged, calibrated, measured
    )


def pairable(a: Comparison, b: Comparison) -> bool:
    """Whether two algorithms were measured on the same seeds, horizons and weight, so that
    `paired_difference` can pair them seed by seed."""
    ma, mb = a.measured, b.measured
    return (
        ma is not None
        and mb is not None
        and np.array_equal(ma["seeds"], mb["seeds"])
        and np.array_equal(ma["horizons"], mb["horizons"])
        and math.isclose(ma["weight"], mb["weight"])
    )


def paired_difference(a: Comparison, b: Comparison, level: float = 0.95) -> dict:
    """The paired difference A - B of two algorithms' running averages, seed by seed (the same seed
    draws the same clients and noise for both), over the seeds where neither diverged: per horizon,
    its mean and Student-t interval (a point interval when both runs are exact).

    Returns {'horizons', 'mean', 'low', 'high', 'weight', 'n_seeds'}; a ValueError when the two were
    not measured on the same seeds, horizons and weight."""
    ma, mb = a.measured, b.measured
    if ma is None or mb is None:
        raise ValueError("paired_difference: both comparisons need their measurement")
    if not pairable(a, b):
        raise ValueError(
            f"paired_difference: {a.algorithm} and {b.algorithm} were not measured on the same seeds, "
            "horizons and weight, so they cannot be paired"
        )
    diff = ma["per_seed"] - mb["per_seed"]
    both = np.isfinite(diff).all(axis=1)
    exact = is_exact({**a.setting, "m": a.setting.get("m"), "n": a.setting.get("n")}) and is_exact(
        b.setting
    )
    if not both.any():
        nan = np.full(len(ma["horizons"]), math.nan)
        mean, low, high = nan, nan.copy(), nan.copy()
    else:
        mean, low, high = mean_interval(diff[both], exact, level=level)
    return {
        "horizons": ma["horizons"],
        "mean": mean,
        "low": low,
        "high": high,
        "weight": ma["weight"],
        "n_seeds": int(both.sum()),
    }
