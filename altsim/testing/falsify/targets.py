"""What `altsim falsify` measures on each candidate run, and when a measurement is a violation.

Two targets (`TARGETS`):

- `bound`: the whole bound. `evaluate` runs a config and `attempt_from_result` holds it against the bound
  at every horizon: the objective is the largest ratio over every horizon T <= rounds of the seed-mean
  running average of Delta_t to the bound at T. A search run whose 95% interval at that T lies wholly
  above the bound is only a *candidate*: thousands of runs, each maximised over T, make such intervals
  appear by chance (a tight bound gave one in 2,472 runs, at ratio 1.004). `confirm` reruns a candidate
  on 256 fresh seeds (`CONFIRM_SEEDS`), never used by the search, with the interval widened for the
  number of horizons (Bonferroni); only then is it a violation. Runs without randomness need no
  confirmation: the exact value must exceed the bound by a relative 1e-9.
- `drift_lemma`: one step of a bound's proof, the client-drift lemma of `fedsim_gd_local`
  (`drift_lemma_ratio`).

Each measurement is an `Attempt`, which also carries the share of the bound that the diversity delta
makes there (`drift_share`).
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

from altsim.rates import simulate
from altsim.rates.compare import is_exact, mean_interval
from altsim.rates.experiment import ExperimentConfig, make_algorithm, preflight, run
from altsim.theory import Bound
from altsim.theory.fedsim_local import eps as eps_expr
from altsim.theory.symbols import SYMBOLS

TARGETS = ("bound", "drift_lemma")
"""What falsify holds a run against: the whole bound, or one step of its proof (the drift lemma)."""
DRIFT_LEMMA_BOUNDS = ("fedsim_gd_local",)
"""Bounds whose client-drift step `drift_lemma_ratio` measures: FedSim, deterministic, full participation."""

CONFIRM_SEEDS = tuple(range(1_000_000, 1_000_256))
"""Fresh seeds for confirming a candidate violation; the search never uses them."""


@dataclasses.dataclass
class Attempt:
    """One candidate run held against the bound: its worst horizon and what was measured there."""

    ratio: float
    """measured / bound at the worst horizon: the largest ratio of the seeds' mean, or the first
    violated horizon where one is (inf when a seed diverged)."""
    violated: bool
    """Whether the lower end of the measurement's interval lies above the bound at some horizon (a
    diverged seed counts as a violation)."""
    config: ExperimentConfig
    """The run, rerunnable with `altsim.rates.run`."""
    T: int
    """The worst horizon: the number of rounds averaged."""
    measured: float
    """The mean over seeds of (1/T) sum_t Delta_t at T, with the bound's weight w."""
    bound: float
    """The bound's value at T."""
    exact: bool = False
    """Whether the run has no randomness (one seed says everything)."""
    drift_share: float = 0.0
    """The share of the bound at the worst horizon that the diversity delta accounts for,
    1 - bound(delta = 0)/bound: the client-drift (and sampling) part of a bound (`drift_share`)."""


def drift_share(bound: Bound, values: dict) -> float:
    """1 - bound(delta = 0) / bound at `values`: how much of the bound the diversity delta makes.

    For `fedsim_gd_local` that is the client-drift term (it enters only through the drift); for the
    partial-participation bounds also the sampling variance. 0 where the bound has no delta or is not finite."""
    if "delta" not in bound.parameters or not values.get("delta"):
        return 0.0
    full = float(bound.evaluate(values))
    if not (math.isfinite(full) and full > 0):
        return 0.0
    return max(0.0, 1.0 - float(bound.evaluate({**values, "delta": 0.0})) / full)


def evaluate(
    bound: Bound, config: ExperimentConfig, scale: float = 1.0, bonferroni: bool = False
) -> Attempt:
    """Run `config` and hold it against scale * bound at every horizon."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run(config)
    return attempt_from_result(bound, res, scale, bonferroni=bonferroni)


def attempt_from_result(
    bound: Bound, res, scale: float = 1.0, level: float = 0.95, bonferroni: bool = False
) -> Attempt:
    """Hold a finished run against scale * bound at every horizon (see the module docstring).

    With `bonferroni`, the interval at each horizon has level 1 - (1 - level)/K for K horizons, so the
    chance of a false violation anywhere over T is at most 1 - level."""
    config = res.config
    alg = bound.algorithm
    cov = bound.covers(res.settings[alg])
    if not cov:
        raise ValueError(f"bound {bound.name!r} does not cover this run: {'; '.join(cov.reasons)}")
    tr = res.trajectories[alg]
    setting = res.settings[alg]
    values = {**setting, "T": tr.horizons.astype(float)}
    weight = bound.weight_at(setting)
    curve = scale * bound.evaluate(values)
    per_seed = tr.running_average(weight)
    exact = is_exact(setting)
    if bonferroni:
        level = 1 - (1 - level) / len(curve)
    mean, lo, _hi = mean_interval(per_seed, exact, level=level)
    if (tr.diverged_at >= 0).any():
        return Attempt(
            math.inf, True, config, int(tr.horizons[0]), math.inf, float(curve[0]), exact
        )
    ratios = mean / curve
    k = int(np.nanargmax(ratios))
    above = lo > curve * (1 + 1e-9)
    violated = bool(above.any())
    if violated and not above[k]:
        k = int(np.flatnonzero(above)[0])
    share = drift_share(bound, {**setting, "T": float(tr.horizons[k])})
    return Attempt(
        float(ratios[k]),
        violated,
        config,
        int(tr.horizons[k]),
        float(mean[k]),
        float(curve[k]),
        exact,
        share,
    )


def confirm(bound: Bound, att: Attempt, scale: float = 1.0) -> Attempt:
    """Re-run a candidate violation on fresh seeds with a Bonferroni interval; exact runs confirm themselves."""
    if att.exact:
        return att
    cfg = dataclasses.replace(att.config, seeds=CONFIRM_SEEDS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run(cfg)
    return attempt_from_result(bound, res, scale, bonferroni=True)


def drift_lemma_ratio(config: ExperimentConfig) -> tuple[float, int, float]:
    """(largest ratio over rounds, its round, the diversity's share of the allowance there) of FedSim's client
    drift to what the drift lemma allows.

    In the scaled coordinates u' = sqrt(L_u) u, v' = sqrt(L_v) v a round moves the joint point by
    -eta G + e, G the gradient at the round's start; the proof of `fedsim_gd_local` (docs/theory.md 7.4,
    steps 1 and 3) bounds ||e||^2 <= (1/n) sum_i ||e_i||^2 <= eps^2 (Delta + delta^2/L_u), with the joint
    norm ||a||^2 + (1/n) sum_i ||b_i||^2. The ratio is the left side over the right, per round: 1 where
    both steps are equalities (every client's drift as large as the lemma allows, and all of them
    aligned). The share is (delta^2/L_u) / (Delta + delta^2/L_u): how much of the allowance the clients'
    diversity makes (identical convex quadratic clients attain the lemma at tau = 2 with a share of 0).
    Rounds whose displacement is below 1e-6 of the point's norm are skipped: there the drift, a small
    difference of rounded numbers, is rounding. Deterministic, full participation, tau >= 2."""
    if (
        config.algorithms != ("fedsim",)
        or config.tau < 2
        or (config.m or 0) not in (0, config.problem.get("n"))
    ):
        raise ValueError(
            "drift_lemma_ratio: needs a FedSim-only config with tau >= 2 and full participation"
        )
    # the lemma needs no step-size condition: a step outside a bound's is fine here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problem, cert, steps, scales = preflight(config)
    if problem.noisy_u or problem.noisy_v:
        raise ValueError("drift_lemma_ratio: needs a deterministic problem (sigma_u = sigma_v = 0)")
    eta = steps["fedsim"][0]
    L_u, L_v = scales[0], scales[1]
    alg = make_algorithm("fedsim", config, eta, (L_u, L_v))
    chi = cert.chi
    eps = float(
        eps_expr.subs({SYMBOLS["eta"]: eta, SYMBOLS["chi"]: chi, SYMBOLS["tau"]: config.tau})
    )
    states = []
    u0, V0 = problem.initial_point()
    states.append((u0.unsqueeze(0), V0.unsqueeze(0)))
    simulate(
        problem,
        alg,
        rounds=config.rounds,
        m=problem.n,
        seeds=[config.seeds[0]],
        on_state=lambda t, st: states.append((st.u.clone(), st.V.clone())),
    )
    clients = problem.all_clients.expand(1, problem.n)
    worst, worst_t, worst_share = 0.0, 0, 0.0
    for t in range(len(states) - 1):
        (u, V), (u1, V1) = states[t], states[t + 1]
        U = u.unsqueeze(1).expand(1, problem.n, problem.d_u)
        gu = problem.grad_u(U, V, clients).mean(1)  # grad_u F
        # each client's grad_v F_i (its block of the joint gradient)
        gv = problem.grad_v(U, V, clients)
        e_u = math.sqrt(L_u) * (u1 - u) + eta * gu / math.sqrt(L_u)
        e_v = math.sqrt(L_v) * (V1 - V) + eta * gv / math.sqrt(L_v)
        moved = float(L_u * ((u1 - u) ** 2).sum() + L_v * ((V1 - V) ** 2).sum(-1).mean())
        size = float(L_u * (u**2).sum() + L_v * (V**2).sum(-1).mean())
        if moved <= 1e-12 * size:
            continue
        drift2 = float((e_u**2).sum() + (e_v**2).sum(-1).mean())
        Delta = float((gu**2).sum() / L_u + (gv**2).sum(-1).mean() / L_v)
        allowed = eps**2 * (Delta + cert.delta**2 / L_u)
        if allowed > 0 and drift2 / allowed > worst:
            worst, worst_t, worst_share = (
                drift2 / allowed,
                t,
                eps**2 * cert.delta**2 / L_u / allowed,
            )
    return worst, worst_t, worst_share
