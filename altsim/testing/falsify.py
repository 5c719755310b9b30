"""`altsim falsify`: attack a bound the way a referee would, searching for the run that breaks it.

The search maximises measured / bound over problem parameters (the closed-form family's
knobs, its seed and initial scale; the adversarial families' knobs, `family="all"` choosing the family
too; a correlation between the u- and v-noise where the bound allows one), participation, local steps (tau for
FedSim, tau_u and tau_v for FedAlt) and step size (and a separate personal step size eta_v where the
bound allows one), always
inside the bound's conditions. It runs in two phases within the time budget:

1. random search: instances drawn uniformly from the ranges below;
2. a derivative-free hill climb, a (1+1) evolution strategy with step-size adaptation,
   from the worst instance found, in the normalised parameter cube.

The objective is the largest ratio over every horizon T <= rounds of the seed-mean running
average of Delta_t to the bound at T. A search run whose 95% interval at that T lies wholly
above the bound is only a *candidate*: thousands of runs, each maximised over T, make such
intervals appear by chance (a tight bound gave one in 2,472 runs, at ratio 1.004). A candidate is
confirmed on 256 fresh seeds, never used by the search, with the interval widened for the
number of horizons (Bonferroni); only then is it a violation. Runs without randomness need no
confirmation: the exact value must exceed the bound by a relative 1e-9. A violation is then
shrunk greedily (fewer clients, dimensions, rounds and seeds, rounder parameters) while its
confirmation still holds.

`scale` multiplies the bound (0.5 halves it) to check that the search finds a deliberately
broken bound.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np

from altsim.rates.compare import is_exact, mean_interval
from altsim.rates.experiment import ExperimentConfig, run
from altsim.theory import STEP_SIZE_KINDS, Bound, get_bound
from altsim.theory.stepsize import allowed_eta

# Normalised search coordinates, each in [0, 1]: name -> (low, high, kind)
SPACE = {
    "n": (2, 12, "int"),
    "m_frac": (0.0, 1.0, "float"),
    "d_u": (1, 6, "int"),
    "d_v": (1, 6, "int"),
    "L_u": (0.2, 5.0, "log"),
    "L_v": (0.2, 5.0, "log"),
    "nonconvexity": (0.0, 0.9, "float"),
    "chi_frac": (0.0, 0.98, "float"),
    "delta": (0.05, 3.0, "log"),
    "sigma_u": (0.0, 1.0, "float"),
    "sigma_v": (0.0, 1.0, "float"),
    "frequency": (0.5, 4.0, "log"),
    "init_scale": (0.1, 5.0, "log"),
    "eta_frac": (0.02, 0.999, "float"),
    "rounds": (5, 80, "int"),
    "problem_seed": (0, 10_000, "int"),
    "tau": (1, 6, "int"),
    "tau_u": (1, 6, "int"),
    "tau_v": (1, 6, "int"),
    "eta_v_ratio": (0.25, 4.0, "log"),
    # kinked_quadratic's own knobs (ignored on coupled_quadratic)
    "kinked_frac": (0.0, 1.0, "float"),
    "radius": (0.1, 3.0, "log"),
    "spread": (0.0, 3.0, "float"),
    # which family, when the search spans them all (family="all")
    "family_choice": (0.0, 1.0, "float"),
    # correlation of the u-noise with the v-noise of the same step (both families; 0 where a bound needs it)
    "noise_correlation": (-1.0, 1.0, "float"),
}

_ROUNDS = list(SPACE).index("rounds")

SEARCH_FAMILIES = ("coupled_quadratic", "kinked_quadratic", "bilinear_quadratic")
"""Families whose constants are certified everywhere, so that any run on them is inside a bound's assumptions:
the closed-form family, and two adversarial ones, with every constant exact: concave cores (chi = 0), and pure
quadratics coupled at exactly L_uv (delta infinite, so only for bounds without delta). `falsify(...,
family="all")` searches them all: the family is one more search coordinate, so the hill climb can cross over."""
WITHOUT_DELTA = ("bilinear_quadratic",)
"""Families whose diversity delta is infinite: a bound with delta says nothing on them, so the search skips them."""
ALL_FAMILIES = "all"


def family_at(family: str, p: dict) -> str:
    """The family of search point p: `family` itself, or the one its family_choice coordinate picks (all)."""
    if family != ALL_FAMILIES:
        return family
    return SEARCH_FAMILIES[
        min(int(p["family_choice"] * len(SEARCH_FAMILIES)), len(SEARCH_FAMILIES) - 1)
    ]


def _family_problem(family: str, p: dict, sig_u: float, sig_v: float, rho: float = 0.0) -> dict:
    """The family's parameters at search point p (kinked_quadratic has no coupling: chi = 0); `rho` is the
    noise correlation, left out of the config when 0 (so that configs read as before it existed)."""
    n = p["n"]
    noise = dict(sigma_u=sig_u, sigma_v=sig_v, **({"noise_correlation": rho} if rho else {}))
    if family == "kinked_quadratic":
        return dict(
            n=n,
            d_u=p["d_u"],
            d_v=p["d_v"],
            L_u=p["L_u"],
            L_v=p["L_v"],
            kinked=int(round(p["kinked_frac"] * n)),
            radius=p["radius"],
            spread=p["spread"],
            **noise,
            init_scale=p["init_scale"],
        )
    if family == "bilinear_quadratic":
        return dict(
            n=n,
            d_u=p["d_u"],
            d_v=p["d_v"],
            L_u=p["L_u"],
            L_v=p["L_v"],
            chi=p["chi_frac"],
            spread=p["spread"],
            **noise,
            init_scale=p["init_scale"],
        )
    nu = p["nonconvexity"]
    return dict(
        n=n,
        d_u=p["d_u"],
        d_v=p["d_v"],
        L_u=p["L_u"],
        L_v=p["L_v"],
        nonconvexity=nu,
        chi=p["chi_frac"] * (1 - nu),
        delta=p["delta"],
        **noise,
        frequency=p["frequency"],
        init_scale=p["init_scale"],
    )


def _decode(z: np.ndarray) -> dict:
    out = {}
    for (name, (lo, hi, kind)), x in zip(SPACE.items(), np.clip(z, 0, 1)):
        if kind == "log":
            out[name] = float(lo * (hi / lo) ** x)
        elif kind == "int":
            out[name] = int(round(lo + x * (hi - lo)))
        else:
            out[name] = float(lo + x * (hi - lo))
    return out


@dataclasses.dataclass
class Attempt:
    ratio: float
    violated: bool
    config: ExperimentConfig
    T: int
    measured: float
    bound: float
    exact: bool = False
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


def search_objective(attempt: Attempt, min_drift_share: float = 0.0) -> float:
    """What the search maximises: the ratio, times share/min_drift_share for an attempt whose drift share is
    below the floor (a violation always counts in full)."""
    if attempt.violated or attempt.drift_share >= min_drift_share:
        return attempt.ratio
    return attempt.ratio * attempt.drift_share / min_drift_share


CONFIRM_SEEDS = tuple(range(1_000_000, 1_000_256))
"""Fresh seeds for confirming a candidate violation; the search never uses them."""


def _has_field(algorithm: str, name: str) -> bool:
    from altsim.rates import get_algorithm

    return name in {f.name for f in dataclasses.fields(get_algorithm(algorithm))}


def _fails(bound: Bound, kind: str, values: dict) -> bool:
    """Whether some condition of `kind` fails at `values` (conditions are data: kind and symbols)."""
    return any(c.check(values) is not None for c in bound.conditions_of(kind))


def instance(
    bound: Bound, p: dict, n_seeds: int = 8, family: str = "coupled_quadratic"
) -> ExperimentConfig | None:
    """The ExperimentConfig of a search point, moved inside the bound's conditions by their kinds.

    Participation, noise and local steps are set to what the bound's conditions of those kinds
    allow (full participation, no noise, one step) only when the drawn value fails them; the step
    size is a fraction of the largest eta that the step-size conditions allow."""
    n = p["n"]
    if family in WITHOUT_DELTA and "delta" in bound.parameters:
        return None  # delta is infinite on this family: the bound is too
    target = _family_problem(family, p, 0.0, 0.0)
    values = {
        "n": n,
        "chi": target.get("chi", 0.0),
        "L_u": p["L_u"],
        "L_v": p["L_v"],
        "stateless": 0,
        **{k: target[k] for k in ("delta",) if k in target},
    }  # kinked_quadratic's delta is computed, not a knob
    m = max(1, min(n, int(round(1 + p["m_frac"] * (n - 1)))))
    if _fails(bound, "participation", {**values, "m": m}):
        m = n
    sig_u, sig_v = p["sigma_u"], p["sigma_v"]
    if _fails(bound, "noise", {**values, "sigma_u": sig_u, "sigma_v": sig_v}):
        sig_u, sig_v = 0.0, 0.0
    tau = p["tau"]
    if _fails(bound, "local_steps", {"tau": tau, "tau_u": 1, "tau_v": 1}) or not _has_field(
        bound.algorithm, "tau"
    ):
        tau = 1  # one step where the bound needs it, and where the algorithm has no joint local steps at all
    tau_u, tau_v = p["tau_u"], p["tau_v"]
    if _fails(bound, "local_steps", {"tau": 1, "tau_u": tau_u, "tau_v": tau_v}) or not _has_field(
        bound.algorithm, "tau_u"
    ):
        tau_u = tau_v = 1
    # correlated u- and v-noise where the bound allows it (FedSim's do; FedAlt's need independent draws)
    rho = p["noise_correlation"] if sig_u > 0 and sig_v > 0 else 0.0
    if _fails(bound, "sample_independence", {"reuse_sample": 0, "noise_correlation": rho}):
        rho = 0.0
    values.update(m=m, sigma_u=sig_u, sigma_v=sig_v, tau=tau, tau_u=tau_u, tau_v=tau_v)
    problem = _family_problem(family, p, sig_u, sig_v, rho)
    eta = float(p["eta_frac"] * allowed_eta(bound, values))
    if not eta > 0:
        return None
    eta_v = None
    if _separate_steps(
        bound
    ):  # a bound that allows eta_v != eta: search that too, inside its step conditions
        eta_v = float(eta * p["eta_v_ratio"])
        if any(
            _fails(bound, kind, {**values, "eta": eta, "eta_v": eta_v}) for kind in STEP_SIZE_KINDS
        ):
            eta_v = None
    exact = is_exact(values)
    return ExperimentConfig(
        family=family,
        problem=problem,
        problem_seed=p["problem_seed"],
        algorithms=(bound.algorithm,),
        rounds=p["rounds"],
        m=m,
        eta=eta,
        eta_v=eta_v,
        seeds=(0,) if exact else tuple(range(n_seeds)),
        tau=tau,
        tau_u=tau_u,
        tau_v=tau_v,
        bounds=(bound.name,),
    )


def _separate_steps(bound: Bound) -> bool:
    """Whether the bound is stated for a personal step size eta_v of its own (no step rule tying it to eta)."""
    return "eta_v" in bound.parameters and not bound.conditions_of("step_rule")


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


TARGETS = ("bound", "drift_lemma")
"""What falsify holds a run against: the whole bound, or one step of its proof (the drift lemma)."""
DRIFT_LEMMA_BOUNDS = ("fedsim_gd_local",)
"""Bounds whose client-drift step `drift_lemma_ratio` measures: FedSim, deterministic, full participation."""


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
    from altsim.rates import simulate
    from altsim.rates.experiment import make_algorithm, preflight
    from altsim.theory.fedsim_local import eps as eps_expr
    from altsim.theory.symbols import SYMBOLS

    if (
        config.algorithms != ("fedsim",)
        or config.tau < 2
        or (config.m or 0) not in (0, config.problem.get("n"))
    ):
        raise ValueError(
            "drift_lemma_ratio: needs a FedSim-only config with tau >= 2 and full participation"
        )
    with (
        warnings.catch_warnings()
    ):  # the lemma needs no step-size condition: a step outside a bound's is fine here
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
        gv = problem.grad_v(
            U, V, clients
        )  # each client's grad_v F_i (its block of the joint gradient)
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


def confirm(bound: Bound, att: Attempt, scale: float = 1.0) -> Attempt:
    """Re-run a candidate violation on fresh seeds with a Bonferroni interval; exact runs confirm themselves."""
    if att.exact:
        return att
    cfg = dataclasses.replace(att.config, seeds=CONFIRM_SEEDS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run(cfg)
    return attempt_from_result(bound, res, scale, bonferroni=True)


def shrink(bound: Bound, att: Attempt, scale: float, deadline: float) -> Attempt:
    """Greedy shrinking of a violating instance while it still violates (and time remains)."""
    best = att
    changed = True
    while changed and time.time() < deadline:
        changed = False
        cfg = best.config
        prob = dict(cfg.problem)
        candidates = []
        for key, floor in (("n", 2), ("d_u", 1), ("d_v", 1)):
            if prob[key] > floor:
                q = {**prob, key: prob[key] - 1}
                m = cfg.m
                if (
                    key == "n"
                ):  # full participation stays full; otherwise m may not exceed the new n
                    m = q["n"] if cfg.m == prob["n"] else min(cfg.m, q["n"])
                candidates.append(dataclasses.replace(cfg, problem=q, m=m))
        if cfg.rounds > 2:
            candidates.append(dataclasses.replace(cfg, rounds=max(2, cfg.rounds // 2)))
        if len(cfg.seeds) > 2:
            candidates.append(
                dataclasses.replace(cfg, seeds=cfg.seeds[: max(2, len(cfg.seeds) // 2)])
            )
        for key in (
            k
            for k in ("delta", "init_scale", "frequency", "L_u", "L_v", "radius", "spread")
            if k in prob
        ):
            r = round(prob[key], 1)
            if r > 0 and r != prob[key]:
                candidates.append(dataclasses.replace(cfg, problem={**prob, key: r}))
        for cand in candidates:
            if time.time() >= deadline:
                break
            try:
                a = evaluate(bound, cand, scale)
                if a.violated:
                    a = confirm(bound, a, scale)
            except ValueError:
                continue
            if a.violated:
                best, changed = a, True
                break
    return best


def falsify(
    bound_name: str,
    budget: float,
    *,
    scale: float = 1.0,
    seed: int = 0,
    n_seeds: int = 8,
    random_fraction: float = 0.5,
    progress: Callable[[str], None] | None = None,
    family: str = "coupled_quadratic",
    min_drift_share: float = 0.0,
    max_rounds: int | None = None,
    target: str = "bound",
) -> dict:
    """Search for a violation of `bound_name` for `budget` seconds; a JSON-ready report.

    `min_drift_share` > 0 searches for the worst *drift-term* instance: an attempt whose `drift_share`
    (the part of the bound that delta makes) is below it counts for its ratio times share/min_drift_share,
    so the search climbs towards instances where the drift term dominates; a violation counts in full.
    `max_rounds` raises the longest horizon searched (80 by default), so that a term that does not decay
    with T can dominate one that does.

    `target="drift_lemma"` (for `DRIFT_LEMMA_BOUNDS`) searches instead for the run whose client drift comes
    closest to what the drift lemma of the bound's proof allows (`drift_lemma_ratio`, tau >= 2): the
    worst case of that one step, which the whole bound's ratio cannot show when other terms dominate."""
    bound = get_bound(bound_name)
    if family not in (*SEARCH_FAMILIES, ALL_FAMILIES):
        raise ValueError(
            f"family={family!r}: must be one of {', '.join((*SEARCH_FAMILIES, ALL_FAMILIES))}"
        )
    if bound.provenance != "D" or bound.eta_max is None:
        raise ValueError(
            f"bound={bound_name!r}: falsify attacks explicit [D] bounds; this one is [{bound.provenance}]"
        )
    from altsim.rates import get_algorithm

    get_algorithm(bound.algorithm)  # a bound for an algorithm nobody registered cannot be run
    if not scale > 0:
        raise ValueError(f"scale={scale!r}: must be > 0")
    if target not in TARGETS:
        raise ValueError(f"target={target!r}: must be one of {', '.join(TARGETS)}")
    if target == "drift_lemma" and bound_name not in DRIFT_LEMMA_BOUNDS:
        raise ValueError(
            f"target='drift_lemma': measures the drift step of {', '.join(DRIFT_LEMMA_BOUNDS)}, "
            f"not of bound={bound_name!r}"
        )
    if not 0 <= min_drift_share < 1:
        raise ValueError(f"min_drift_share={min_drift_share!r}: must be in [0, 1)")
    lo_rounds = SPACE["rounds"][0]
    if max_rounds is not None and not (
        isinstance(max_rounds, int) and lo_rounds < max_rounds <= 100_000
    ):
        raise ValueError(f"max_rounds={max_rounds!r}: must be an integer in ({lo_rounds}, 100000]")
    rng = np.random.default_rng(seed)
    start = time.time()
    deadline = start + budget
    say = progress or (lambda msg: None)
    best: Attempt | None = None
    best_z = None
    evals = errors = 0
    unconfirmed: list[dict] = []

    def objective(a: Attempt) -> float:
        return search_objective(a, min_drift_share)

    def consider(z):
        nonlocal best, best_z, evals, errors
        p = _decode(z)
        if target == "drift_lemma":
            p["tau"] = max(2, p["tau"])  # no drift at one local step
        if max_rounds is not None:
            p["rounds"] = int(
                round(lo_rounds + float(np.clip(z[_ROUNDS], 0, 1)) * (max_rounds - lo_rounds))
            )
        cfg = instance(bound, p, n_seeds, family_at(family, p))
        if cfg is None:  # no step size satisfies the bound's conditions at this point
            errors += 1
            return None
        try:
            if target == "drift_lemma":
                r, t, share = drift_lemma_ratio(dataclasses.replace(cfg, bounds=()))
                a = Attempt(
                    r, r > 1 + 1e-6, cfg, t, r, 1.0, exact=True, drift_share=share
                )  # 1e-6: rounding in e
            else:
                a = evaluate(bound, cfg, scale)
                if a.violated:  # a candidate: confirm on fresh seeds before believing it
                    c = confirm(bound, a, scale)
                    if not c.violated:
                        unconfirmed.append(
                            {"search_ratio": a.ratio, "confirmed_ratio": c.ratio, "T": a.T}
                        )
                        say(
                            f"{time.time() - start:6.1f}s  candidate at ratio {a.ratio:.4f} not confirmed on "
                            f"{len(CONFIRM_SEEDS)} fresh seeds (ratio {c.ratio:.4f})"
                        )
                    a = dataclasses.replace(c, config=a.config) if not c.violated else c
        except ValueError:
            errors += 1
            return None
        evals += 1
        if best is None or objective(a) > objective(best):
            best, best_z = a, z.copy()
            worst = (
                f"worst drift-lemma ratio {a.ratio:.4f} at round {a.T} (diversity share {a.drift_share:.2f})"
                if target == "drift_lemma"
                else f"worst ratio {a.ratio:.4f} at T={a.T}"
                + (f" (drift share {a.drift_share:.2f})" if min_drift_share else "")
            )
            say(
                f"{time.time() - start:6.1f}s  eval {evals}: {worst}"
                + ("  VIOLATION" if a.violated else "")
            )
        return a

    # phase 1: random search
    while time.time() < start + random_fraction * budget and not (best and best.violated):
        consider(rng.uniform(0, 1, len(SPACE)))
    # phase 2: (1+1)-ES from the worst instance
    step = 0.2
    while time.time() < deadline and best is not None and not best.violated:
        z = np.clip(best_z + step * rng.normal(size=len(SPACE)), 0, 1)
        before = objective(best)
        consider(z)
        step = min(0.5, step * 1.5) if objective(best) > before else max(0.01, step * 0.9)
    shrunk = (
        shrink(bound, best, scale, deadline + 0.25 * budget)
        if best is not None and best.violated and target == "bound"
        else None
    )
    # The search's worst ratio is the max of many noisy estimates, so it is biased upwards; rerun the
    # worst instance on fresh seeds for an unbiased estimate (runs without randomness are exact already).
    fresh = None
    if best is not None and not best.violated and not best.exact and math.isfinite(best.ratio):
        fresh = confirm(bound, best, scale)
    return {
        "bound": bound_name,
        "algorithm": bound.algorithm,
        "provenance": bound.provenance,
        "scale": scale,
        "family": family,
        "budget_seconds": budget,
        "elapsed_seconds": time.time() - start,
        "evaluations": evals,
        "refused": errors,
        "worst_ratio": best.ratio if best else None,
        "worst_T": best.T if best else None,
        "worst_measured": best.measured if best else None,
        "worst_bound": best.bound if best else None,
        "violation": bool(best and best.violated),
        "worst_config": best.config.to_dict() if best else None,
        "counterexample": shrunk.config.to_dict() if shrunk else None,
        "counterexample_ratio": shrunk.ratio if shrunk else None,
        "worst_ratio_fresh_seeds": (fresh.ratio if fresh else best.ratio if best else None),
        "worst_T_fresh_seeds": (fresh.T if fresh else best.T if best else None),
        "worst_is_exact": bool(best and best.exact),
        "worst_drift_share": best.drift_share if best else None,
        "min_drift_share": min_drift_share,
        "target": target,
        "max_rounds": max_rounds if max_rounds is not None else SPACE["rounds"][1],
        "unconfirmed_candidates": unconfirmed,
        "confirmation": f"{len(CONFIRM_SEEDS)} fresh seeds, Bonferroni over the horizons, level 95%",
    }


def config_toml(config: dict, comment: str) -> str:
    """A TOML file that `altsim run` reruns."""

    def lit(v):
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(lit(x) for x in v) + "]"
        return repr(v)

    exp = {k: v for k, v in config.items() if k != "problem" and v is not None}
    lines = [f"# {line}" for line in comment.splitlines()] + ["[experiment]"]
    lines += [f"{k} = {lit(v)}" for k, v in exp.items()]
    lines += ["", "[problem]"] + [f"{k} = {lit(v)}" for k, v in config["problem"].items()]
    return "\n".join(lines) + "\n"


def print_progress(msg: str) -> None:
    print(f"[falsify] {msg}", file=sys.stderr, flush=True)
