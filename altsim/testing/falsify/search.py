"""The search of `altsim falsify`: attack a bound the way a referee would, looking for the run that breaks it.

The search maximises measured / bound (`targets`) over problem parameters (the closed-form family's
knobs, its seed and initial scale; the adversarial families' knobs, `family="all"` choosing the family
too; a correlation between the u- and v-noise where the bound allows one), participation, local steps (tau for
FedSim, tau_u and tau_v for FedAlt) and step size (and a separate personal step size eta_v where the
bound allows one), always inside the bound's conditions (`space`). It runs in two phases within the
time budget:

1. random search: instances drawn uniformly from the ranges of `space.SPACE`;
2. a derivative-free hill climb, a (1+1) evolution strategy with step-size adaptation,
   from the worst instance found, in the normalised parameter cube.

A candidate violation is confirmed on fresh seeds before it counts (`targets.confirm`). A violation is
then shrunk greedily (fewer clients, dimensions, rounds and seeds, rounder parameters) while its
confirmation still holds (`shrink`).

`scale` multiplies the bound (0.5 halves it) to check that the search finds a deliberately
broken bound.

The search reports after every run (`falsify(on_update=...)`), with its state (`state`), and continues
from such a report (`falsify(resume=...)`): the same points, drawn from the same generator, as if it
had never stopped.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from altsim.plugins import import_plugins
from altsim.rates import get_algorithm
from altsim.synthetic import FAMILIES
from altsim.testing.falsify.records import search_report
from altsim.testing.falsify.report import improvement_line, unconfirmed_line
from altsim.testing.falsify.space import (
    _ROUNDS,
    ALL_FAMILIES,
    SEARCH_FAMILIES,
    SPACE,
    _decode,
    family_at,
    instance,
)
from altsim.testing.falsify.state import (
    SearchState,
    differing_option,
    state_from_report,
    state_json,
)
from altsim.testing.falsify.targets import (
    CONFIRM_SEEDS,
    DRIFT_LEMMA_BOUNDS,
    TARGETS,
    Attempt,
    confirm,
    drift_lemma_ratio,
    evaluate,
)
from altsim.theory import Bound, get_bound, require


def search_objective(attempt: Attempt, min_drift_share: float = 0.0) -> float:
    """What the search maximises: the ratio, times share/min_drift_share for an attempt whose drift share is
    below the floor (a violation always counts in full)."""
    if attempt.violated or attempt.drift_share >= min_drift_share:
        return attempt.ratio
    return attempt.ratio * attempt.drift_share / min_drift_share


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
                # full participation stays full; otherwise m may not exceed the new n
                if key == "n":
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
    plugins: Sequence[str] = (),
    resume: Mapping | None = None,
    on_update: Callable[[dict], None] | None = None,
) -> dict:
    """Search for a violation of `bound_name` for `budget` seconds; a JSON-ready report (`records.search_report`).

    `family` is a registered family, or "all" for the three search families. A family other than
    those three (a user's) is searched at its default parameters: the problem seed, participation,
    local steps, horizon and step size vary (`space.instance`). `plugins` are modules that register
    the bound, its algorithm or the family: every config the search writes names them, so that
    `altsim run worst.toml` imports them too.

    `min_drift_share` > 0 searches for the worst *drift-term* instance: an attempt whose `drift_share`
    (the part of the bound that delta makes) is below it counts for its ratio times share/min_drift_share,
    so the search climbs towards instances where the drift term dominates; a violation counts in full.
    `max_rounds` raises the longest horizon searched (80 by default), so that a term that does not decay
    with T can dominate one that does.

    `target="drift_lemma"` (for `DRIFT_LEMMA_BOUNDS`) searches instead for the run whose client drift comes
    closest to what the drift lemma of the bound's proof allows (`drift_lemma_ratio`, tau >= 2): the
    worst case of that one step, which the whole bound's ratio cannot show when other terms dominate.

    `on_update` receives the partial report (`"complete": false`, `"partial_reason": "in_progress"`) when
    the search starts and after every run it measures; `altsim falsify` writes it, so that a killed
    search keeps every run it finished. `resume` is such a report (or a complete one): the search
    continues from its `search_state` (`state`) for another `budget` seconds, with the runs, the worst
    instance, the phase and the random number generator it recorded. Its options (`state.OPTIONS`)
    must equal this call's, or a ValueError names the first that differs."""
    require("budget", budget, low=0, low_open=True)  # seconds: before anything is imported or run
    require("scale", scale, low=0, low_open=True)
    require("seed", seed, low=0, integer=True)
    require("n_seeds", n_seeds, low=1, high=10**4, integer=True)
    require("random_fraction", random_fraction, low=0, high=1)
    require("min_drift_share", min_drift_share, low=0, high=1, high_open=True)
    bound = get_bound(bound_name)
    if family != ALL_FAMILIES and family not in FAMILIES:
        raise ValueError(
            f"family={family!r}: must be a registered family ({', '.join(FAMILIES)}) or "
            f"{ALL_FAMILIES!r} (the search families {', '.join(SEARCH_FAMILIES)})"
        )
    if not isinstance(plugins, (tuple, list)):
        raise ValueError(f"plugins={plugins!r}: must be a list of module names")
    import_plugins(plugins)
    if bound.provenance != "D" or bound.eta_max is None:
        raise ValueError(
            f"bound={bound_name!r}: falsify attacks explicit [D] bounds; this one is [{bound.provenance}]"
        )
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
    options = {
        "bound": bound_name,
        "family": family,
        "scale": scale,
        "seed": seed,
        "n_seeds": n_seeds,
        "random_fraction": random_fraction,
        "min_drift_share": min_drift_share,
        "max_rounds": max_rounds,
        "target": target,
        "plugins": list(plugins),
    }
    if resume is None:
        st = SearchState(options)
    else:
        st = state_from_report(resume, "resume")
        differs = differing_option(st.options, options)
        if differs is not None:
            name, old, new = differs
            raise ValueError(
                f"resume: {name}={new!r} differs from the search it resumes ({name}={old!r})"
            )
    rng = st.generator()
    st.sessions += 1
    st.budget += budget
    start = time.time()
    deadline = start + budget
    spent = st.elapsed  # seconds of the earlier sessions
    say = progress or (lambda msg: None)

    def elapsed() -> float:
        return spent + time.time() - start

    def objective(a: Attempt) -> float:
        return search_objective(a, min_drift_share)

    def report(shrunk=None, fresh=None, partial_reason: str | None = "in_progress") -> dict:
        st.elapsed = elapsed()
        return search_report(
            bound_name,
            bound,
            scale=scale,
            family=family,
            budget=st.budget,
            elapsed=st.elapsed,
            evaluations=st.evaluations,
            refused=st.refused,
            best=st.best,
            shrunk=shrunk,
            fresh=fresh,
            min_drift_share=min_drift_share,
            target=target,
            max_rounds=max_rounds,
            unconfirmed=st.unconfirmed,
            complete=partial_reason is None,
            partial_reason=partial_reason,
            sessions=st.sessions,
            state=state_json(st, rng),
        )

    def checkpoint() -> None:
        if on_update is not None:
            on_update(report())

    def consider(z):
        """Measure search point z and keep it if it is the worst so far; None where it could not run."""
        p = _decode(z)
        if target == "drift_lemma":
            p["tau"] = max(2, p["tau"])  # no drift at one local step
        if max_rounds is not None:
            p["rounds"] = int(
                round(lo_rounds + float(np.clip(z[_ROUNDS], 0, 1)) * (max_rounds - lo_rounds))
            )
        cfg = instance(bound, p, n_seeds, family_at(family, p))
        if cfg is None:  # no step size satisfies the bound's conditions at this point
            st.refused += 1
            return None
        if plugins:
            cfg = dataclasses.replace(cfg, plugins=tuple(plugins))
        try:
            if target == "drift_lemma":
                r, t, share = drift_lemma_ratio(dataclasses.replace(cfg, bounds=()))
                # 1e-6: rounding in e
                a = Attempt(r, r > 1 + 1e-6, cfg, t, r, 1.0, exact=True, drift_share=share)
            else:
                a = evaluate(bound, cfg, scale)
                if a.violated:  # a candidate: confirm on fresh seeds before believing it
                    c = confirm(bound, a, scale)
                    if not c.violated:
                        st.unconfirmed.append(
                            {"search_ratio": a.ratio, "confirmed_ratio": c.ratio, "T": a.T}
                        )
                        say(unconfirmed_line(elapsed(), a, c, len(CONFIRM_SEEDS)))
                    a = dataclasses.replace(c, config=a.config) if not c.violated else c
        except ValueError:
            st.refused += 1
            return None
        st.evaluations += 1
        if st.best is None or objective(a) > objective(st.best):
            st.best, st.best_z = a, z.copy()
            say(improvement_line(elapsed(), st.evaluations, a, target, min_drift_share))
        return a

    if resume is not None:
        say(
            f"resuming a search of {st.evaluations} runs ({st.phase} phase"
            + (f", worst ratio {st.best.ratio:.4f}" if st.best is not None else "")
            + f") for {budget:g} s more"
        )
    checkpoint()
    # phase 1: random search (a resumed search in this phase gets the same share of its new budget)
    if st.phase == "random":
        while time.time() < start + random_fraction * budget and not (st.best and st.best.violated):
            if consider(rng.uniform(0, 1, len(SPACE))) is not None:
                checkpoint()
    # phase 2: (1+1)-ES from the worst instance
    while time.time() < deadline and st.best is not None and not st.best.violated:
        st.phase = "climb"
        z = np.clip(st.best_z + st.step * rng.normal(size=len(SPACE)), 0, 1)
        before = objective(st.best)
        a = consider(z)
        st.step = (
            min(0.5, st.step * 1.5) if objective(st.best) > before else max(0.01, st.step * 0.9)
        )
        if a is not None:
            checkpoint()
    best = st.best
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
    return report(shrunk, fresh, partial_reason=None)
