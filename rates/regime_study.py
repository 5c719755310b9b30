"""Which algorithm wins, measured where it matters: a regime study, version 2 (docs/theory.md section 6).

At one problem setting (one point of a sweep) the study

1. **tunes** each algorithm's normalised step size on a grid, on *tuning* seeds: the eta whose mean
   final running average (1/T) sum_t Delta_w is smallest (w = m/n weighs the personal term, as in
   every partial-participation bound; w = 1 at full participation) (an eta at which any tuning seed diverges is
   out). FedSim runs with the config's `tau` local steps; FedAlt once per (tau_u, tau_v) variant;
2. **scores** each at its tuned eta on the config's own seeds, disjoint from the tuning seeds, and
   calls the winner from the paired difference FedAlt - FedSim over seeds (Student-t, 95%): the
   same seed draws the same clients and noise stream for both algorithms;
3. **predicts** the winner twice, beside the measurement:
   - [P] the paper's section-6 condition (`theory.regime_winner`), with its signed margin
     (`theory.regime_margin`);
   - [D] the regime of altsim's own bounds (`theory.regime_winner_derived`): each algorithm's best
     covering [D] bound at its own bound-optimal eta, the local-step bounds included, with the
     relative gap of the two bounds as margin. Where no [D] bound covers a variant, it says why.

   A prediction whose margin is inside the band |margin| < `margin` is reported apart: near the
   boundary neither side is claimed.

Constants. Where the family certifies every constant, the predictions use the certificates. Where it
does not (`small_network`), they use measured ones (`synthetic.measured_constants`) and every row says
`constants = "measured"`: such a prediction is an estimate, not a consequence of a proof.

A row's `advantage` is (FedSim - FedAlt) / FedSim: the paired difference and its interval divided by
FedSim's mean score (a scaled difference: the interval does not carry the uncertainty of that mean).

Everything here is plain data (dicts of floats and strings): `aggregate` turns rows into agreement
rates with Wilson intervals, and `altsim.figures.regime_study` draws them.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from altsim.theory import regime_margin, regime_winner, regime_winner_derived, require
from altsim.theory.checks import shown

from .compare import mean_ci

PREDICTIONS = ("paper", "derived")
"""The two predictions set beside the measurement: the paper's condition [P] and altsim's [D] bounds."""


@dataclass(frozen=True)
class RegimeStudy:
    """How every point of a regime study is measured (the `[regime]` table of a sweep config)."""

    eta_grid: tuple[float, ...]
    """Normalised step sizes tried for each algorithm: a non-empty list of distinct numbers > 0 (the
    experiment's `eta` and `eta_v` must be unset)."""
    tune_seeds: tuple[int, ...]
    """Seeds on which the step size is chosen: a non-empty list of distinct integers in [0, 2^31 - 1],
    disjoint from the experiment's seeds, which score (at least 2 of those)."""
    fedalt_local_steps: tuple[tuple[int, int], ...] = ((1, 1),)
    """FedAlt's (tau_u, tau_v) variants, each set against FedSim with the experiment's `tau`: a non-empty
    list of distinct [tau_u, tau_v] pairs of integers >= 1."""
    margin: float = 0.1
    """Half-width of the band around each predicted boundary, in that prediction's margin; in [0, 1)."""
    level: float = 0.95
    """Confidence level of the paired interval that calls a winner, and of the Wilson intervals; in (0, 1)."""
    constants: str = "certified"
    """What the predictions use: 'certified' (the certificates, measured where the family certifies
    none) or 'measured' (L_u, L_v, L_uv, delta and the initial gap measured, sigma exact)."""

    def __post_init__(self) -> None:
        if not isinstance(self.eta_grid, (tuple, list)) or not self.eta_grid:
            raise ValueError(
                f"regime.eta_grid={shown(self.eta_grid)}: must be a non-empty list of step sizes > 0"
            )
        for eta in self.eta_grid:
            require("regime.eta_grid[]", eta, low=0, low_open=True)
        if len(set(self.eta_grid)) != len(self.eta_grid):
            raise ValueError(
                f"regime.eta_grid={shown(list(self.eta_grid))}: a step size is repeated"
            )
        if not isinstance(self.tune_seeds, (tuple, list)) or len(self.tune_seeds) < 1:
            raise ValueError(
                f"regime.tune_seeds={shown(self.tune_seeds)}: must be a non-empty list of integer seeds"
            )
        for s in self.tune_seeds:
            require("regime.tune_seeds[]", s, low=0, high=2**31 - 1, integer=True)
        if len(set(self.tune_seeds)) != len(self.tune_seeds):
            raise ValueError(
                f"regime.tune_seeds={shown(list(self.tune_seeds))}: a seed is repeated"
            )
        steps = self.fedalt_local_steps
        if (
            not isinstance(steps, (tuple, list))
            or not steps
            or not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in steps)
        ):
            raise ValueError(
                f"regime.fedalt_local_steps={shown(steps)}: must be a non-empty list of [tau_u, tau_v] pairs"
            )
        for tu, tv in steps:
            require("regime.fedalt_local_steps[][0] (tau_u)", tu, low=1, integer=True)
            require("regime.fedalt_local_steps[][1] (tau_v)", tv, low=1, integer=True)
        if len({tuple(p) for p in steps}) != len(steps):
            raise ValueError(
                f"regime.fedalt_local_steps={shown([list(p) for p in steps])}: a pair is repeated"
            )
        require("regime.margin", self.margin, low=0, high=1, high_open=True)
        require("regime.level", self.level, low=0, high=1, low_open=True, high_open=True)
        if self.constants not in ("certified", "measured"):
            raise ValueError(
                f"regime.constants={shown(self.constants)}: must be 'certified' or 'measured'"
            )
        object.__setattr__(self, "eta_grid", tuple(float(e) for e in self.eta_grid))
        object.__setattr__(self, "tune_seeds", tuple(int(s) for s in self.tune_seeds))
        object.__setattr__(self, "fedalt_local_steps", tuple((int(a), int(b)) for a, b in steps))

    def check(self, config) -> None:
        """Refuse a config this study cannot score (before any work)."""
        overlap = sorted(set(self.tune_seeds) & set(config.seeds))
        if overlap:
            raise ValueError(
                f"regime.tune_seeds: {overlap} also score (experiment.seeds); tuning and scoring seeds must "
                "be disjoint, or the chosen step size is scored on the draws it was chosen on"
            )
        if len(config.seeds) < 2:
            raise ValueError(
                f"experiment.seeds={list(config.seeds)}: a regime study pairs over seeds; give at least 2"
            )
        missing = sorted({"fedalt", "fedsim"} - set(config.algorithms))
        if missing:
            raise ValueError(
                f"regime: a regime study compares fedalt and fedsim; algorithms {list(config.algorithms)} "
                f"lacks {', '.join(missing)}"
            )
        if config.official:
            raise ValueError(
                "regime: official=true ties FedAlt's local steps to tau; a regime study sets them per variant"
            )
        for name in ("eta", "eta_v"):
            if getattr(config, name) is not None:
                raise ValueError(
                    f"experiment.{name}={getattr(config, name)!r}: a regime study tunes the step size on "
                    "regime.eta_grid; remove it"
                )
        if config.measure_every != 1:
            raise ValueError(
                f"experiment.measure_every={config.measure_every}: a regime study compares the exact running "
                "average (1/T) sum_t Delta_t, which needs every round measured; use 1"
            )
        if config.bounds:
            raise ValueError(
                f"experiment.bounds={list(config.bounds)}: a regime study runs FedAlt variants no single "
                "bound need cover; remove it (the [D] prediction uses every covering bound)"
            )
        sigma_source(config)

    def to_dict(self) -> dict:
        """The fields as plain data, leaving out those at their default: a field added later with a default
        keeps the stamp of an older study folder, so that folder still resumes."""
        defaults = {
            f.name: f.default
            for f in dataclasses.fields(self)
            if f.default is not dataclasses.MISSING
        }
        return {
            k: (
                list(map(list, v))
                if k == "fedalt_local_steps"
                else list(v)
                if isinstance(v, tuple)
                else v
            )
            for k, v in dataclasses.asdict(self).items()
            if k not in defaults or v != defaults[k]
        }


def wilson_interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion: the p with (k/n - p)^2 <= z^2 p (1 - p) / n.

    Unlike the normal (Wald) interval it stays inside [0, 1] and keeps close to its level at 0 or n
    successes; (nan, nan) for no trials."""
    from scipy.stats import norm

    require("level", level, low=0, high=1, low_open=True, high_open=True)
    require("successes", successes, low=0, integer=True)
    require("trials", trials, low=0, integer=True)
    if successes > trials:
        raise ValueError(f"successes={successes}: must be <= trials={trials}")
    if trials == 0:
        return math.nan, math.nan
    z = float(norm.ppf(0.5 + level / 2))
    p, n = successes / trials, trials
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo = (
        0.0 if successes == 0 else max(0.0, centre - half)
    )  # exactly 0 (and 1) there; rounding would miss it
    hi = 1.0 if successes == trials else min(1.0, centre + half)
    return lo, hi


# --- one point ------------------------------------------------------------------------------
@dataclass
class Variant:
    """One algorithm at one local-step setting, with its tuning scores and its scored trajectory."""

    algorithm: str
    local_steps: dict
    label: str
    tune: dict[float, float] = field(default_factory=dict)
    eta: float | None = None
    trajectory: Any = None
    setting: dict = field(default_factory=dict)


def personal_weight(trajectory) -> float:
    """w = m/n: the weight of the personal term in the measure Delta_w that the partial-participation
    bounds bound, and so the one the study compares (w = 1 at full participation)."""
    return trajectory.m / trajectory.n


def _final_per_seed(trajectory, weight: float | None = None) -> np.ndarray:
    """(1/T) sum_t Delta_w at the horizon per seed (w = m/n unless given); inf for a seed that diverged."""
    w = personal_weight(trajectory) if weight is None else weight
    ra = trajectory.running_average(w)[:, -1].astype(float)
    ra[trajectory.diverged_at >= 0] = math.inf
    return np.where(np.isfinite(ra), ra, math.inf)


def _run_one(config, algorithm: str, local_steps: dict, eta: float, seeds: Sequence[int]):
    from .experiment import run

    cfg = replace(
        config,
        algorithms=(algorithm,),
        eta=eta,
        eta_v=None,
        seeds=tuple(seeds),
        bounds=(),
        algorithm_options={k: v for k, v in config.algorithm_options.items() if k == algorithm},
        **local_steps,
    )
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # "eta outside a bound's conditions": the study records coverage itself
        result = run(cfg)
    return result.trajectories[algorithm], result.settings[algorithm], result


def tune_and_score(config, variant: Variant, study: RegimeStudy) -> Variant:
    """Pick the variant's eta on the tuning seeds, then run it at that eta on the scoring seeds."""
    for eta in study.eta_grid:
        tr, _, _ = _run_one(config, variant.algorithm, variant.local_steps, eta, study.tune_seeds)
        variant.tune[eta] = float(np.mean(_final_per_seed(tr)))  # inf when any tuning seed diverged
    finite = {e: s for e, s in variant.tune.items() if math.isfinite(s)}
    if not finite:
        raise RuntimeError(
            f"regime study: {variant.label} diverged on some tuning seed at every eta in "
            f"{list(study.eta_grid)}; add smaller step sizes to regime.eta_grid"
        )
    variant.eta = min(finite, key=lambda e: finite[e])
    variant.trajectory, variant.setting, _ = _run_one(
        config, variant.algorithm, variant.local_steps, variant.eta, config.seeds
    )
    return variant


def sigma_source(config) -> None:
    """Refuse, before any work, a study whose predictions would need a noise level altsim cannot know."""
    from altsim.synthetic import make_problem

    _require_sigma(
        config.family,
        make_problem(config.family, config.problem, seed=config.problem_seed).certified_constants(),
    )


def _require_sigma(family: str, cert) -> None:
    for k in ("sigma_u", "sigma_v"):
        if not math.isfinite(getattr(cert, k)):
            raise ValueError(
                f"regime: {family} certifies no {k} with this noise, and the predictions need it; use "
                "Gaussian noise (problem.noise = 'gaussian'), whose sigma is exact"
            )


def prediction_constants(config, prefer: str = "certified") -> tuple[dict, str]:
    """({L_u, L_v, L_uv, chi, sigma_u, sigma_v, delta, Delta_F0}, source) for the predictions; source is
    'certified', 'certified on <region>' (the family's certificates hold on a region) or 'measured'."""
    from altsim.synthetic import make_problem, measured_constants

    problem = make_problem(
        config.family,
        config.problem,
        seed=config.problem_seed,
        device=config.device,
        dtype=config.dtype,
    )
    cert = problem.certified_constants()
    values = cert.values()
    keys = ("L_u", "L_v", "L_uv", "delta")
    if prefer == "certified" and all(math.isfinite(values[k]) for k in keys):
        describe = getattr(problem, "describe", None)  # not every family describes itself
        # certificates that hold on a region only say so
        region = describe().get("region") if callable(describe) else None
        return (
            {k: values[k] for k in (*keys, "chi", "sigma_u", "sigma_v", "Delta_F0")},
            f"certified on {region}" if region else "certified",
        )
    meas = measured_constants(problem)
    out = {k: meas[k]["value"] for k in keys}
    out["chi"] = out["L_uv"] / math.sqrt(out["L_u"] * out["L_v"])
    _require_sigma(config.family, cert)
    out.update(sigma_u=values["sigma_u"], sigma_v=values["sigma_v"])
    F0 = float(problem.objective(*problem.initial_point()))
    # the certified floor where there is one (F >= 0 for a loss), else the smallest F seen (at most F0)
    floor = cert.F_lower if math.isfinite(cert.F_lower) else min(meas["F_lower"]["value"], F0)
    out["Delta_F0"] = F0 - floor
    return out, "measured"


def paired_winner(diff: np.ndarray, level: float = 0.95) -> tuple[str, float, float, float]:
    """(winner, mean, low, high) from per-seed differences FedAlt - FedSim: 'fedalt' when the Student-t
    interval lies below 0, 'fedsim' above, else 'tie'."""
    d = mean_ci(diff, level)
    mean, (lo, hi) = d["mean"], d["ci"]
    return ("fedalt" if hi < 0 else "fedsim" if lo > 0 else "tie"), mean, lo, hi


def study_point(config, study: RegimeStudy) -> tuple[list[dict], dict]:
    """Rows (one per FedAlt variant, each against FedSim) and the scored trajectories, keyed by label."""
    study.check(config)
    constants, source = prediction_constants(config, study.constants)
    fedsim = tune_and_score(
        config, Variant("fedsim", {"tau": config.tau}, f"fedsim[tau={config.tau}]"), study
    )
    n = fedsim.setting["n"]
    m = fedsim.setting["m"]
    T = config.rounds
    sim_scores = _final_per_seed(fedsim.trajectory)
    paper_winner = str(
        regime_winner(
            constants["sigma_u"],
            constants["sigma_v"],
            constants["delta"],
            constants["L_u"],
            constants["L_v"],
            n,
            m,
        )
    )
    paper_margin = float(
        regime_margin(
            constants["sigma_u"],
            constants["sigma_v"],
            constants["delta"],
            constants["L_u"],
            constants["L_v"],
            n,
            m,
        )
    )
    rows, trajectories = [], {fedsim.label: fedsim.trajectory}
    for tau_u, tau_v in study.fedalt_local_steps:
        alt = tune_and_score(
            config,
            Variant(
                "fedalt", {"tau_u": tau_u, "tau_v": tau_v}, f"fedalt[tau_u={tau_u},tau_v={tau_v}]"
            ),
            study,
        )
        trajectories[alt.label] = alt.trajectory
        alt_scores = _final_per_seed(alt.trajectory)
        diverged = not (np.all(np.isfinite(alt_scores)) and np.all(np.isfinite(sim_scores)))
        if diverged:
            empirical, mean, lo, hi = "diverged", math.nan, math.nan, math.nan
        else:
            empirical, mean, lo, hi = paired_winner(alt_scores - sim_scores, study.level)
        unweighted = (
            paired_winner(
                _final_per_seed(alt.trajectory, 1.0) - _final_per_seed(fedsim.trajectory, 1.0),
                study.level,
            )[0]
            if not diverged
            else "diverged"
        )
        values = {
            **constants,
            "n": n,
            "m": m,
            "T": T,
            "tau": config.tau,
            "tau_u": tau_u,
            "tau_v": tau_v,
            "stateless": int(config.stateless),  # a symbol's value: 0 or 1, not a bool
        }
        derived = regime_winner_derived(values)
        a, s = derived["fedalt"].get("value"), derived["fedsim"].get("value")
        derived_margin = (
            (s - a) / (s + a) if a is not None and s is not None and s + a > 0 else math.nan
        )
        rows.append(
            {
                "fedalt_variant": alt.label,
                "fedsim_variant": fedsim.label,
                "tau_u": tau_u,
                "tau_v": tau_v,
                "tau": config.tau,
                "n": n,
                "m": m,
                "m_over_n": m / n,
                "T": T,
                "constants": source,
                **{k: float(v) for k, v in constants.items()},
                "eta_tuned": {"fedalt": alt.eta, "fedsim": fedsim.eta},
                "eta_at_grid_edge": {
                    v.algorithm: _at_edge(v.eta, study.eta_grid) for v in (alt, fedsim)
                },
                "tune_scores": {"fedalt": _jsonable(alt.tune), "fedsim": _jsonable(fedsim.tune)},
                "eta_bound": {alg: derived[alg].get("eta") for alg in ("fedalt", "fedsim")},
                "measured": {
                    "fedalt": mean_ci(alt_scores, study.level),
                    "fedsim": mean_ci(sim_scores, study.level),
                },
                "n_seeds": len(config.seeds),
                "diff_mean": mean,
                "diff_ci": [lo, hi],
                "advantage": -mean / float(np.mean(sim_scores)) if not diverged else math.nan,
                "advantage_ci": [-hi / float(np.mean(sim_scores)), -lo / float(np.mean(sim_scores))]
                if not diverged
                else [math.nan, math.nan],
                "empirical": empirical,
                "measure_weight": personal_weight(fedsim.trajectory),
                "empirical_unweighted": unweighted,
                "paper": {
                    "winner": paper_winner,
                    "margin": paper_margin,
                    "in_band": bool(abs(paper_margin) < study.margin),
                    "constants": source,
                },
                "derived": {
                    "winner": derived["winner"],
                    "margin": derived_margin,
                    "in_band": bool(
                        not math.isnan(derived_margin) and abs(derived_margin) < study.margin
                    ),
                    "reason": derived["reason"],
                    "constants": source,
                    "bounds": {alg: derived[alg].get("bound") for alg in ("fedalt", "fedsim")},
                    "values": {alg: derived[alg].get("value") for alg in ("fedalt", "fedsim")},
                },
            }
        )
    return rows, trajectories


def _at_edge(eta: float | None, grid: Sequence[float]) -> str | None:
    """'largest' or 'smallest' when the tuned eta is an end of the grid (the best may lie beyond it), else None."""
    return (
        "largest"
        if eta == max(grid)
        else "smallest"
        if eta == min(grid) and len(grid) > 1
        else None
    )


def _jsonable(scores: dict[float, float]) -> dict[str, float | None]:
    return {repr(e): (s if math.isfinite(s) else None) for e, s in scores.items()}


# --- the study ------------------------------------------------------------------------------
def _rate(k: int, n: int, level: float) -> dict:
    lo, hi = wilson_interval(k, n, level)
    return {"agree": k, "of": n, "rate": k / n if n else None, "wilson": [lo, hi] if n else None}


def aggregate(rows: list[dict], level: float = 0.95) -> dict:
    """Agreement of each prediction with the measurement, outside and inside its margin band, with Wilson intervals.

    `outside`: rows outside the band whose prediction names a winner and whose measurement has a
    significant one (the headline); `outside_all` counts a measured tie as a disagreement. A row in
    which a scoring seed diverged has no winner: it is counted under `diverged`, in the denominator of
    `significant` (it is not one), and in no agreement rate. The Wilson intervals treat the rows as
    independent trials; rows of one point share FedSim's run, and the grid is designed, not sampled,
    so read them as a measure of how many rows there are, not as a sampling guarantee."""
    decided = [r for r in rows if r["empirical"] in ("fedalt", "fedsim")]
    out: dict = {
        "rows": len(rows),
        "significant": _rate(len(decided), len(rows), level),
        "fedalt_wins": _rate(sum(r["empirical"] == "fedalt" for r in rows), len(rows), level),
        "diverged": sum(r["empirical"] == "diverged" for r in rows),
        "eta_at_grid_edge": sum(any(r.get("eta_at_grid_edge", {}).values()) for r in rows),
    }
    for p in PREDICTIONS:
        entry: dict[str, Any] = {
            "no_prediction": sum(r[p]["winner"] not in ("fedalt", "fedsim") for r in rows)
        }
        for where, in_band in (("outside", False), ("in_band", True)):
            significant, every = _agreement(rows, p, in_band)
            entry[where], entry[where + "_all"] = _rate(*significant, level), _rate(*every, level)
        out[p] = entry
    out[
        "by_variant"
    ] = {}  # the same, per FedAlt variant: the paper's condition does not see local steps
    for label in sorted({r["fedalt_variant"] for r in rows}):
        mine = [r for r in rows if r["fedalt_variant"] == label]
        out["by_variant"][label] = {
            p: _rate(*_agreement(mine, p, False)[0], level) for p in PREDICTIONS
        }
        out["by_variant"][label]["fedalt_wins"] = _rate(
            sum(r["empirical"] == "fedalt" for r in mine), len(mine), level
        )
    return out


def _agreement(rows: list[dict], p: str, in_band: bool) -> tuple[tuple[int, int], tuple[int, int]]:
    """((agree, of) over the rows with a significant winner, (agree, of) counting a measured tie as a
    disagreement), among the rows where prediction p names a winner, on the given side of its band.
    Diverged rows are counted apart (`aggregate`), in neither."""
    sel = [
        r
        for r in rows
        if r[p]["winner"] in ("fedalt", "fedsim")
        and r[p]["in_band"] == in_band
        and r["empirical"] != "diverged"
    ]
    dec = [r for r in sel if r["empirical"] in ("fedalt", "fedsim")]
    agree = lambda chosen: sum(r[p]["winner"] == r["empirical"] for r in chosen)  # noqa: E731
    return (agree(dec), len(dec)), (agree(sel), len(sel))


def markdown_table(rows: list[dict], summary: dict, level: float = 0.95) -> str:
    """The three predictions side by side at every row, then the agreement rates (plain markdown)."""

    def fmt(x, spec=".3g"):
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)

    head = (
        f"| m/n | δ | σ_u | σ_v | χ | FedAlt (τ_u, τ_v) | FedSim τ | tuned η (alt / sim) | bound η (alt / sim) "
        f"| [P] paper (margin) | [D] bounds (margin) | measured: FedAlt advantage ({level:.0%} CI) | winner |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        band = {p: " *band*" if r[p]["in_band"] else "" for p in PREDICTIONS}
        lo, hi = r["advantage_ci"]
        lines.append(
            f"| {r['m_over_n']:.2g} | {r['delta']:.3g} | {r['sigma_u']:.3g} | {r['sigma_v']:.3g} | {r['chi']:.3g} "
            f"| ({r['tau_u']}, {r['tau_v']}) | {r['tau']} "
            f"| {fmt(r['eta_tuned']['fedalt'])} / {fmt(r['eta_tuned']['fedsim'])} "
            f"| {fmt(r['eta_bound']['fedalt'])} / {fmt(r['eta_bound']['fedsim'])} "
            f"| {r['paper']['winner']} ({fmt(r['paper']['margin'], '+.2f')}){band['paper']} "
            f"| {r['derived']['winner'] or 'none'} ({fmt(r['derived']['margin'], '+.2f')}){band['derived']} "
            f"| {fmt(r['advantage'], '+.2%')} [{fmt(lo, '+.2%')}, {fmt(hi, '+.2%')}] | {r['empirical']} |"
        )
    lines += [
        "",
        f"| prediction | agreement outside the band (significant rows) | Wilson {level:.0%} | in the band "
        "| measured tie counted as disagreement |",
        "|---|---|---|---|---|",
    ]
    for p, name in (
        ("paper", "[P] paper's section-6 condition"),
        ("derived", "[D] altsim's bounds at their best η"),
    ):
        e = summary[p]
        o, b, a = e["outside"], e["in_band"], e["outside_all"]
        wil = "-" if o["wilson"] is None else f"[{o['wilson'][0]:.2f}, {o['wilson'][1]:.2f}]"
        lines.append(
            f"| {name} | {o['agree']}/{o['of']} ({fmt(o['rate'], '.0%')}) | {wil} | {b['agree']}/{b['of']} "
            f"| {a['agree']}/{a['of']} |"
        )
    lines += [
        "",
        "| FedAlt variant (against FedSim) | [P] agreement outside the band | [D] agreement outside the band "
        "| FedAlt wins significantly |",
        "|---|---|---|---|",
    ]
    for label, e in summary["by_variant"].items():
        cells = [
            f"{x['agree']}/{x['of']}"
            + (f" [{x['wilson'][0]:.2f}, {x['wilson'][1]:.2f}]" if x["of"] else "")
            for x in (e["paper"], e["derived"], e["fedalt_wins"])
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    s = summary["significant"]
    if summary.get("eta_at_grid_edge"):
        lines += [
            "",
            f"Rows whose tuned η is an end of the grid (the best step size may lie beyond it): "
            f"{summary['eta_at_grid_edge']}/{summary['rows']}.",
        ]
    lines += [
        "",
        f"Rows with a significant winner: {s['agree']}/{s['of']} ({fmt(s['rate'], '.0%')}, Wilson "
        f"[{fmt(s['wilson'][0] if s['wilson'] else None, '.2f')}, "
        f"{fmt(s['wilson'][1] if s['wilson'] else None, '.2f')}]).",
    ]
    return "\n".join(lines) + "\n"
