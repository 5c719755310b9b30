"""altsim.testing: hypothesis strategies and one helper, for testing convergence bounds in your own suite;
`falsify` (the adversarial search behind `altsim falsify`) and `reference` (per-client loops the
batched engine must equal) live here too.

Copy this into ``tests/test_my_bound.py`` to check a bound on random certified problems::

    from hypothesis import given, settings
    from altsim import testing
    from altsim.theory import get_bound

    bound = get_bound("fedsim_sgd_partial")        # or your own Bound object

    @settings(max_examples=20, deadline=None)
    @given(config=testing.experiment_configs(bound, rounds=40))
    def test_bound_holds(config):
        testing.assert_bound_holds(bound, config)

`example_pair(bound_name)` runs one small example covered by a bound and returns the pair (measured,
bound) at its final horizon: the bound constructors' docstring examples show it.

`experiment_configs(bound)` draws runs *inside the bound's conditions* (participation, local
steps, deterministic or not, step-size range, sampling caps); `assert_bound_holds` runs one and
fails only on a statistically significant violation (95% interval, Bonferroni over the horizons,
above the bound at some T),
so a passing test is evidence, and a failing one a counterexample hypothesis then shrinks.
To test a bound of your own, build a `altsim.theory.Bound` with its expression, conditions and
`eta_max`, and register it (`altsim.theory.register_bound`): the configs drawn name it, so that
`altsim.rates.run` holds them against it. Every function here takes the bound or its name.
"""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from altsim.rates.experiment import ExperimentConfig, Result
from altsim.synthetic import make_problem
from altsim.testing.examples import example_pair
from altsim.testing.falsify import SPACE, Attempt, _decode, attempt_from_result, evaluate, instance
from altsim.theory import BOUNDS, Bound, get_bound
from altsim.theory.checks import require, require_bool, shown, unknown_name_message

__all__ = [
    "assert_bound_holds",
    "constants",
    "example_pair",
    "experiment_configs",
    "problem_params",
    "problems",
    "registered",
    "seeds",
]


def seeds() -> st.SearchStrategy[int]:
    """Run seeds: any integer an `ExperimentConfig` accepts, 0 to 2^31 - 1."""
    return st.integers(0, 2**31 - 1)


def constants(stochastic: bool = True) -> st.SearchStrategy[dict]:
    """Assumption constants keyed like `Bound` parameters: L_u, L_v, chi, sigma_u, sigma_v, delta, Delta_F0."""
    require_bool("stochastic", stochastic)
    pos = st.floats(0.05, 20.0, allow_nan=False)
    noise = st.floats(0.0, 5.0) if stochastic else st.just(0.0)
    return st.fixed_dictionaries(
        {
            "L_u": pos,
            "L_v": pos,
            "chi": st.floats(0.0, 3.0),
            "sigma_u": noise,
            "sigma_v": noise,
            "delta": st.floats(0.0, 5.0),
            "Delta_F0": st.floats(0.0, 100.0),
        }
    )


PARAMS_FAMILIES = ("coupled_quadratic", "shared_representation", "small_network")
"""The families `problem_params` and `problems` draw parameters of."""


def problem_params(
    family: str = "coupled_quadratic",
    max_n: int = 12,
    max_dim: int = 5,
    stochastic: bool = True,
) -> st.SearchStrategy[dict]:
    """Parameters of a problem family (one of `PARAMS_FAMILIES`), always inside the family's valid
    ranges: n in [2, max_n], dimensions up to `max_dim`. Its arguments are checked when it is called,
    not when hypothesis draws."""
    if not isinstance(family, str) or family not in PARAMS_FAMILIES:
        raise ValueError(
            unknown_name_message("family", family, PARAMS_FAMILIES, kind="family with a strategy")
        )
    require("max_n", max_n, low=2, high=10**6, integer=True)
    require("max_dim", max_dim, low=1, high=10**6, integer=True)
    require_bool("stochastic", stochastic)
    return _problem_params(family, max_n, max_dim, stochastic)


@st.composite
def _problem_params(draw, family: str, max_n: int, max_dim: int, stochastic: bool) -> dict:
    n = draw(st.integers(2, max_n))
    if family == "coupled_quadratic":
        nu = draw(st.floats(0.0, 0.9))
        chi = draw(st.floats(0.0, 0.95 * (1 - nu)))
        return dict(
            n=n,
            d_u=draw(st.integers(1, max_dim)),
            d_v=draw(st.integers(1, max_dim)),
            L_u=draw(st.floats(0.2, 5.0)),
            L_v=draw(st.floats(0.2, 5.0)),
            nonconvexity=nu,
            chi=chi,
            delta=draw(st.floats(0.05, 3.0)),
            sigma_u=draw(st.floats(0, 1)) if stochastic else 0.0,
            sigma_v=draw(st.floats(0, 1)) if stochastic else 0.0,
            init_scale=draw(st.floats(0.1, 5.0)),
        )
    if family == "shared_representation":
        return dict(
            n=n,
            features=draw(st.integers(1, max_dim)),
            rank=draw(st.integers(1, 3)),
            samples=draw(st.integers(2, 10)),
            head_spread=draw(st.floats(0, 2)),
            ridge=draw(st.floats(0, 0.5)),
        )
    if family == "small_network":
        return dict(
            n=n,
            features=draw(st.integers(1, max_dim)),
            hidden=draw(st.integers(1, 8)),
            samples=draw(st.integers(2, 10)),
        )
    raise ValueError(
        f"family={family!r}: no strategy; choose coupled_quadratic, shared_representation or small_network"
    )


def problems(family: str = "coupled_quadratic", **kw) -> st.SearchStrategy:
    """Problem instances of a family, with their certified constants (`problem.certified_constants()`);
    `kw` are `problem_params`'s, checked as it checks them."""
    params = problem_params(family, **kw)
    return st.builds(
        lambda p, s: make_problem(family, p, seed=s),
        params,
        st.integers(0, 10_000),
    )


def registered(bound: Bound | str) -> Bound:
    """The registered bound `bound` names, or `bound` itself if it is the one registered under its name;
    a ValueError naming it otherwise (a config names its bounds, so only a registered one can run)."""
    if isinstance(bound, str):
        return get_bound(bound)
    if not isinstance(bound, Bound):
        raise TypeError(
            f"bound={shown(bound)}: must be an altsim.theory.Bound or a registered bound's name, not "
            f"{type(bound).__name__}"
        )
    if BOUNDS.get(bound.name) is not bound:
        why = "another bound has that name" if bound.name in BOUNDS else "it is not registered"
        raise ValueError(
            f"bound={bound.name!r}: {why}; register yours first with "
            "altsim.theory.register_bound(bound) (replace=True to replace your own)"
        )
    return bound


def experiment_configs(
    bound: Bound | str, rounds: int | None = None, n_seeds: int = 6
) -> st.SearchStrategy[ExperimentConfig]:
    """ExperimentConfigs on the closed-form family that satisfy every condition of `bound` (a
    registered bound, or its name); `rounds` None (the search's own) or an integer >= 1, `n_seeds` an
    integer in [1, 1000], checked when it is called."""
    bound = registered(bound)
    if rounds is not None:
        require("rounds", rounds, low=1, integer=True)
    require("n_seeds", n_seeds, low=1, high=1000, integer=True)
    return _experiment_configs(bound, rounds, n_seeds)


@st.composite
def _experiment_configs(
    draw, bound: Bound, rounds: int | None = None, n_seeds: int = 6
) -> ExperimentConfig:
    z = draw(st.lists(st.floats(0.0, 1.0), min_size=len(SPACE), max_size=len(SPACE)))
    import numpy as np

    cfg = instance(bound, _decode(np.asarray(z)), n_seeds)
    assume(cfg is not None)  # no step size meets the bound's conditions at this draw
    if rounds is not None:
        import dataclasses

        cfg = dataclasses.replace(cfg, rounds=rounds)
    return cfg


def assert_bound_holds(
    bound: Bound | str, run_or_config: ExperimentConfig | Result, *, scale: float = 1.0
) -> Attempt:
    """Run (or take) an experiment and fail if it violates scale * bound significantly at some T.

    `bound` is a registered bound or its name. The interval at each horizon is widened for the
    number of horizons (Bonferroni), so a passing bound fails with probability at most 5% per call.
    Returns the `Attempt` (worst ratio over T, the horizon, measured and bound values)."""
    bound = registered(bound)
    if not isinstance(run_or_config, (ExperimentConfig, Result)):
        raise TypeError(
            f"run_or_config={shown(run_or_config)}: must be an ExperimentConfig or a Result, not "
            f"{type(run_or_config).__name__}"
        )
    require("scale", scale, low=0, low_open=True)
    if isinstance(run_or_config, Result):
        att = attempt_from_result(bound, run_or_config, scale, bonferroni=True)
    else:
        att = evaluate(bound, run_or_config, scale, bonferroni=True)
    if att.violated:
        raise AssertionError(
            f"{bound.name} violated: measured {att.measured:.6g} > bound {att.bound:.6g} (ratio {att.ratio:.4g}) at "
            f"T = {att.T}, significant at 95%; rerun with ExperimentConfig.from_dict({att.config.to_dict()!r})"
        )
    return att
