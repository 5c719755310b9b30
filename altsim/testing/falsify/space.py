"""Where `altsim falsify` searches: the normalised search coordinates, the problem families, and the
config of a search point moved inside a bound's conditions (`instance`).

A search point is a vector z in the unit cube, one coordinate per entry of `SPACE`; `_decode` maps it
to parameter values (uniform, log-uniform or integer over each range), and `instance` turns those
into the `ExperimentConfig` that is run: the family's problem, participation, local steps, noise and
step size, each set to what the bound's conditions allow where the drawn value fails them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from altsim.rates import get_algorithm
from altsim.rates.compare import is_exact
from altsim.rates.experiment import ExperimentConfig
from altsim.synthetic import make_problem
from altsim.theory import STEP_SIZE_KINDS, Bound
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
"""The position of the rounds coordinate in a search point (the search rescales it for `max_rounds`)."""

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
    """The parameter values of search point z (clipped to the unit cube), keyed like `SPACE`."""
    out = {}
    for (name, (lo, hi, kind)), x in zip(SPACE.items(), np.clip(z, 0, 1)):
        if kind == "log":
            out[name] = float(lo * (hi / lo) ** x)
        elif kind == "int":
            out[name] = int(round(lo + x * (hi - lo)))
        else:
            out[name] = float(lo + x * (hi - lo))
    return out


def _has_field(algorithm: str, name: str) -> bool:
    return name in {f.name for f in dataclasses.fields(get_algorithm(algorithm))}


def _fails(bound: Bound, kind: str, values: dict) -> bool:
    """Whether some condition of `kind` fails at `values` (conditions are data: kind and symbols)."""
    return any(c.check(values) is not None for c in bound.conditions_of(kind))


def _separate_steps(bound: Bound) -> bool:
    """Whether the bound is stated for a personal step size eta_v of its own (no step rule tying it to eta)."""
    return "eta_v" in bound.parameters and not bound.conditions_of("step_rule")


def _participation(bound: Bound, p: dict, values: dict) -> int:
    """m of the search point, or n where the bound's participation conditions refuse it."""
    n = values["n"]
    m = max(1, min(n, int(round(1 + p["m_frac"] * (n - 1)))))
    return n if _fails(bound, "participation", {**values, "m": m}) else m


def _local_steps(bound: Bound, p: dict) -> tuple[int, int, int]:
    """(tau, tau_u, tau_v) of the search point, each 1 where the bound needs one step or the
    algorithm has no such field."""
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
    return tau, tau_u, tau_v


def _registered_family_instance(
    bound: Bound, p: dict, n_seeds: int, family: str
) -> ExperimentConfig | None:
    """A search point on a family the search has no knobs for (a user's): the family's own default
    parameters at the drawn problem seed, with participation, local steps, horizon and step size
    searched inside the bound's conditions. None where the family's own noise is outside them."""
    problem = make_problem(family, {}, seed=p["problem_seed"])
    values = {
        "n": problem.n,
        **problem.certified_constants().values(),
        "stateless": 0,
        "reuse_sample": 0,
        "noise_correlation": problem.noise_correlation,
    }
    for kind in ("noise", "sample_independence"):
        if _fails(bound, kind, values):
            return None
    m = _participation(bound, p, values)
    tau, tau_u, tau_v = _local_steps(bound, p)
    values.update(m=m, tau=tau, tau_u=tau_u, tau_v=tau_v)
    eta = float(p["eta_frac"] * allowed_eta(bound, values))
    if not eta > 0:
        return None
    return ExperimentConfig(
        family=family,
        problem_seed=p["problem_seed"],
        algorithms=(bound.algorithm,),
        rounds=p["rounds"],
        m=m,
        eta=eta,
        seeds=(0,) if is_exact(values) else tuple(range(n_seeds)),
        tau=tau,
        tau_u=tau_u,
        tau_v=tau_v,
        bounds=(bound.name,),
    )


def instance(
    bound: Bound, p: dict, n_seeds: int = 8, family: str = "coupled_quadratic"
) -> ExperimentConfig | None:
    """The ExperimentConfig of a search point, moved inside the bound's conditions by their kinds.

    Participation, noise and local steps are set to what the bound's conditions of those kinds
    allow (full participation, no noise, one step) only when the drawn value fails them; the step
    size is a fraction of the largest eta that the step-size conditions allow. A family other than
    `SEARCH_FAMILIES` (a user's) keeps its default parameters (`_registered_family_instance`)."""
    if family not in SEARCH_FAMILIES:
        return _registered_family_instance(bound, p, n_seeds, family)
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
    m = _participation(bound, p, values)
    sig_u, sig_v = p["sigma_u"], p["sigma_v"]
    if _fails(bound, "noise", {**values, "sigma_u": sig_u, "sigma_v": sig_v}):
        sig_u, sig_v = 0.0, 0.0
    tau, tau_u, tau_v = _local_steps(bound, p)
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
    # a bound that allows eta_v != eta: search that too, inside its step conditions
    if _separate_steps(bound):
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
