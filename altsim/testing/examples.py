"""`example_pair`: one small run and one bound, PEPit-style (measured worst case, theoretical value).

The bound constructors' docstring examples use it (docs/theory.md section 8): each builds the bound's
own small run, covered by every one of its conditions, and shows how the measured value stands to the
bound's. The run is on `coupled_quadratic` with 6 clients and 2 + 2 dimensions, 20 rounds, so that one
example takes well under a second on a CPU.
"""

from __future__ import annotations

import dataclasses

from altsim.rates import ExperimentConfig, get_algorithm, is_exact, run
from altsim.synthetic import CoupledQuadraticConfig, make_problem
from altsim.theory import STEP_SIZE_KINDS, Bound, get_bound
from altsim.theory.checks import unknown_name_message
from altsim.theory.stepsize import allowed_eta, optimal_eta

EXAMPLE_PROBLEM = dict(
    n=6,
    d_u=2,
    d_v=2,
    L_u=1.0,
    L_v=1.0,
    chi=0.3,
    nonconvexity=0.2,
    delta=0.5,
    sigma_u=0.5,
    sigma_v=0.5,
)
"""The `coupled_quadratic` parameters of an example run before the bound's conditions adjust them: coupled
(chi = 0.3), nonconvex, diverse clients (delta = 0.5) and noisy gradients."""
EXAMPLE_ROUNDS = 20
"""Rounds T of an example run: the pair is taken at the final horizon T = 20."""
EXAMPLE_SEEDS = tuple(range(8))
"""Seeds of a stochastic example run (a run without randomness needs one)."""
EXAMPLE_LOCAL_STEPS = 2
"""Local steps of each kind (tau, tau_u, tau_v) wherever the bound allows more than one."""

_FIXED = ("family", "problem", "algorithms", "bounds")
"""Config fields an example sets itself: the family, its parameters (overridden one by one instead), the
algorithm and the bound."""


def _fails(bound: Bound, kind: str, values: dict) -> bool:
    """Whether some condition of `kind` fails at `values`."""
    return any(c.check(values) is not None for c in bound.conditions_of(kind))


def _example_config(bound: Bound, overrides: dict) -> ExperimentConfig:
    """The example run of `bound`: defaults moved inside its conditions by kind, then `overrides` as given."""
    problem_keys = {f.name for f in dataclasses.fields(CoupledQuadraticConfig)}
    config_keys = {f.name for f in dataclasses.fields(ExperimentConfig)} - set(_FIXED)
    unknown = sorted(set(overrides) - problem_keys - config_keys)
    if unknown:  # coupled_quadratic parameters or ExperimentConfig fields
        raise ValueError(
            unknown_name_message(
                "overrides", unknown, sorted(problem_keys | config_keys), kind="key"
            )
        )
    problem = {
        **EXAMPLE_PROBLEM,
        **{k: v for k, v in overrides.items() if k in problem_keys},
    }
    cfg = {k: v for k, v in overrides.items() if k in config_keys}
    n = int(problem["n"])
    fields = {f.name for f in dataclasses.fields(get_algorithm(bound.algorithm))}
    steps = {k: EXAMPLE_LOCAL_STEPS if k in fields else 1 for k in ("tau", "tau_u", "tau_v")}
    values = {
        **{k: problem[k] for k in ("chi", "L_u", "L_v", "delta", "sigma_u", "sigma_v")},
        "n": n,
        "m": max(1, n // 2),
        **steps,
        "stateless": 0,
        "reuse_sample": 0,
        "noise_correlation": problem.get("noise_correlation", 0.0),
    }
    # the defaults a condition refuses become what it asks for; an override stays as given
    if "m" not in cfg and _fails(bound, "participation", values):
        values["m"] = n
    if not {"sigma_u", "sigma_v"} & set(overrides) and _fails(bound, "noise", values):
        values["sigma_u"] = values["sigma_v"] = problem["sigma_u"] = problem["sigma_v"] = 0.0
    for k in ("tau", "tau_u", "tau_v"):
        if k in cfg:
            values[k] = cfg[k]
        elif _fails(bound, "local_steps", values):
            values[k] = 1
    values["m"] = cfg.get("m", values["m"])
    rounds = int(cfg.get("rounds", EXAMPLE_ROUNDS))
    seed = int(cfg.get("problem_seed", 0))
    if "eta" not in cfg and bound.eta_max is not None:
        cert = make_problem("coupled_quadratic", problem, seed=seed).certified_constants()
        values.update(cert.values())
        step_conditions = any(c.kind in STEP_SIZE_KINDS for c in bound.conditions)
        cap = allowed_eta(bound, values) if step_conditions else None
        if cap == 0.0:
            raise ValueError(f"{bound.name}: no step size meets its conditions at {values}")
        cfg["eta"] = optimal_eta(bound, values, rounds, eta_cap=cap)[0]
    exact = is_exact(values)
    return ExperimentConfig(
        family="coupled_quadratic",
        problem=problem,
        algorithms=(bound.algorithm,),
        bounds=(bound.name,),
        **{
            "rounds": rounds,
            "m": values["m"],
            "seeds": (0,) if exact else EXAMPLE_SEEDS,
            "compile": "off",
            **{k: values[k] for k in ("tau", "tau_u", "tau_v")},
            **cfg,
        },
    )


def example_pair(bound_name: str, **overrides) -> tuple[float, float]:
    """(measured, bound): a small run covered by the bound `bound_name`, and the bound on it, at its final horizon.

    The run is on `coupled_quadratic` (`EXAMPLE_PROBLEM`, `EXAMPLE_ROUNDS`, `EXAMPLE_SEEDS`), with its
    defaults moved inside the bound's conditions by their kinds: full participation where the bound
    needs m = n (else m = n/2), no noise where it needs exact gradients, one local step where it needs
    one (else `EXAMPLE_LOCAL_STEPS`), and the step size eta that minimises the bound at T = rounds
    inside its step-size conditions. `overrides` set coupled_quadratic parameters (``chi=0.0``) or
    ExperimentConfig fields (``rounds=40``, ``eta=0.1``) as given; a run they take outside the bound's
    conditions is refused with the reasons (ValueError), as is a bound with unknown constants (a [P]
    template or an [R] form: calibrate it first, or evaluate its expression).

    Returns plain floats: the measured mean over seeds of (1/T) sum_{t<T} Delta_t^{(w)}, with the
    bound's own weight w (docs/theory.md section 4), and the bound's value, both at T = rounds.

    Example:
        >>> from altsim.testing import example_pair
        >>> measured, bound = example_pair("fedalt_gd_full", chi=0.0)
        >>> bool(0 < measured <= bound)
        True
    """
    bound = get_bound(bound_name)
    if bound.unknowns:
        raise ValueError(
            f"{bound.name}: unknown constants {', '.join(bound.unknowns)}; a run cannot be held against it "
            "before they are calibrated (altsim.theory.calibrate); evaluate its expression instead"
        )
    result = run(_example_config(bound, overrides))
    comparison = result.compare([bound])[bound.algorithm]
    if not comparison.checks:
        reasons = "; ".join(comparison.not_covering.get(bound.name, ["not compared"]))
        raise ValueError(f"{bound.name} does not cover the example run: {reasons}")
    check = comparison.checks[0]
    return float(check.measured), float(check.bound)
