"""The public Python API, called with junk: every function refuses with a TypeError or a ValueError
that names the argument, in one line, before any work.

Each entry of `CATALOGUE` is a public function (or class) with valid arguments and, per argument, a
hypothesis strategy of values it must refuse: wrong types (None, dicts, text, lists, objects), NaN,
infinities, negative and huge numbers, unknown names. One argument at a time is replaced by junk.
"Before any work" is enforced, not assumed: while a call runs, the engine's first piece of work (its
noise stream), the measurement of constants, the run's preflight, falsify's search and the build of a
sentinel family all raise `WorkStarted` (a BaseException, which no `except Exception` swallows), and
every call must finish within `TIME_LIMIT` seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

import altsim.figures as figures
import altsim.rates as rates
import altsim.results as results
import altsim.synthetic as synthetic
import altsim.testing as testing
import altsim.theory as theory
from altsim.testing.falsify import falsify
from altsim.theory.symbols import T as T_sym
from altsim.theory.symbols import eta as eta_sym

TIME_LIMIT = 5.0
"""Seconds a refusal may take (they take milliseconds; the margin is for a loaded 2-core machine)."""


class WorkStarted(BaseException):
    """Raised by every patched entry to real work: a call that reaches one refused nothing in time."""


def _work(*args, **kwargs):
    raise WorkStarted("work started before the arguments were refused")


# --- junk -----------------------------------------------------------------------------------------
class _Opaque:
    """An object of no kind altsim knows."""


JUNK = (
    None,
    True,
    "",
    "x",
    b"bytes",
    {},
    {"a": 1},
    [],
    [1, "a"],
    (),
    _Opaque(),
    1 + 2j,
    math.nan,
    math.inf,
    -math.inf,
    -1,
    -1.5,
    0,
    10**30,
    2**70,
    1e300,
)
ANYTHING = st.one_of(
    st.sampled_from(JUNK),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(-3, 3), max_size=2),
)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def bad_int(low: int, high: int = 2**62) -> st.SearchStrategy:
    """Values an integer argument in [low, high] must refuse."""
    return ANYTHING.filter(lambda v: not (_is_int(v) and low <= v <= high))


def bad_real(
    low: float | None = None,
    *,
    low_open: bool = False,
    high: float | None = None,
    high_open: bool = False,
    allow_inf: bool = False,
) -> st.SearchStrategy:
    """Values a real argument in its range (finite, at most 1e100 in magnitude) must refuse."""

    def ok(v) -> bool:
        if not _is_real(v):
            return False
        x = float(v) if abs(v) < 1e308 else math.copysign(math.inf, v)
        if math.isnan(x) or (math.isinf(x) and not (allow_inf and x > 0)):
            return False
        if math.isfinite(x) and abs(x) > 1e100:
            return False
        if low is not None and (x < low or (low_open and x == low)):
            return False
        return high is None or not (x > high or (high_open and x == high))

    return ANYTHING.filter(lambda v: not ok(v))


def bad_numbers(
    low: float, *, low_open: bool = False, integer: bool = False, high: float = math.inf
):
    """Values an argument taking a number or an array of numbers in [low, high] (+inf allowed where
    high is inf) must refuse."""

    def ok(v) -> bool:
        if isinstance(v, (bool, str, bytes, Mapping)) or v is None:
            return False
        if _is_int(v):  # a Python integer, however large
            return (
                low <= v <= high
                and not (low_open and v == low)
                and (not integer or abs(v) <= 2**62)
            )
        try:
            x = np.asarray(v)
        except (TypeError, ValueError, OverflowError):
            return False
        if x.dtype.kind not in "iuf" or x.size == 0:
            return False
        x = x.astype(float)
        good = ~np.isnan(x) & (x > low if low_open else x >= low) & (x <= high)
        good &= np.isinf(x) | (np.abs(x) <= (2**62 if integer else 1e100))
        if integer:
            good &= np.isfinite(x) & (x == np.round(x))
        return bool(good.all())

    return ANYTHING.filter(lambda v: not ok(v))


def bad_name(choices, optional: bool = False) -> st.SearchStrategy:
    """Values a name argument (one of `choices`) must refuse."""
    return ANYTHING.filter(
        lambda v: not ((isinstance(v, str) and v in choices) or (optional and v is None))
    )


def bad_instance(kind, optional: bool = False) -> st.SearchStrategy:
    """Values an argument that must be a `kind` refuses (None too, unless `optional`)."""
    return ANYTHING.filter(lambda v: not (isinstance(v, kind) or (optional and v is None)))


def bad_bool() -> st.SearchStrategy:
    return ANYTHING.filter(lambda v: not isinstance(v, bool))


def bad_callable(optional: bool = True) -> st.SearchStrategy:
    return ANYTHING.filter(lambda v: not (callable(v) or (optional and v is None)))


def bad_mapping(*examples: Mapping, optional: bool = False) -> st.SearchStrategy:
    """Non-mappings, and `examples`: mappings whose content is what is wrong."""
    others = bad_instance(Mapping, optional)
    return st.one_of(others, st.sampled_from(examples)) if examples else others


BAD_VALUES = bad_mapping(
    {1: 2},
    {"L_u": -1.0},
    {"L_u": "1"},
    {"T": 0},
    {"n": 3, "m": 5},
    {"sigma_u": math.nan},
    {"delta": -math.inf},
    {"tau": 1.5},
    {"m": True},
)
"""Values tables (symbol name -> number) with a symbol outside its domain, and non-mappings."""

BAD_SUMMARY = bad_mapping(
    {},
    {"points": 5},
    {"points": [5]},
    {"points": [{"summary": {}}]},
    {"points": [{"summary": {"regime": 5}}]},
    {"points": [{"summary": {"regime_study": [5]}}]},
    {"algorithms": 5},
    {"algorithms": {"fedalt": 5}},
    {"personalization": {"accuracy": 5}},
    {"regime_study": [1]},
)
"""What a figure or a table reading a summary must refuse: non-mappings and damaged summaries."""

BAD_CONFIG_FIELD = st.sampled_from(
    [None, "x", {}, [], _Opaque(), math.nan, -math.inf, 1 + 2j, b"x", -1e300]
)
"""Values no field of a config dataclass takes (each field is a number in a range, a name or a list)."""


# --- what the calls start from --------------------------------------------------------------------
@dataclass(frozen=True)
class SentinelConfig:
    """The parameters of `fuzz_sentinel`, a family whose build is work."""

    n: int = 3

    def __post_init__(self) -> None:
        theory.require("n", self.n, low=1, integer=True)


SENTINEL = synthetic.Family("fuzz_sentinel", SentinelConfig, _work, "builds nothing: work")

BOUND = theory.get_bound("fedsim_gd_full")
TEMPLATE = theory.get_bound("fedsim_paper_template")
VALUES = dict(L_u=1.0, L_v=1.0, chi=0.5, n=10, m=10, Delta_F0=1.0)
DERIVED_VALUES = dict(
    L_u=1.0, L_v=1.0, chi=0.5, sigma_u=0.0, sigma_v=0.0, delta=1.0, n=10, m=10, T=50, Delta_F0=1.0
)
CAL_SETTINGS = [dict(sigma1_sq=0.5, sigma2_sq=0.2, T=float(t)) for t in (10, 30, 100)]
CAL_MEASURED = [0.4, 0.2, 0.1]
SMALL = dict(n=3, d_u=2, d_v=2)
PROBLEM = synthetic.make_problem("coupled_quadratic", SMALL)
CERT = PROBLEM.certified_constants()
ALGORITHM = rates.FedAlt(gamma_u=0.1, gamma_v=0.1)
CONFIG = rates.ExperimentConfig(
    problem=SMALL, rounds=3, seeds=(0,), eta=0.1, compile="off", algorithms=("fedalt", "fedsim")
)
RESULT = rates.run(CONFIG)
COMPARISONS = RESULT.compare()
SUMMARY = results.summarize(RESULT, COMPARISONS)
TRAJECTORY = RESULT.trajectories["fedalt"]
FOLDER = Path(tempfile.mkdtemp(prefix="altsim-fuzz-"))
U0, V0 = PROBLEM.initial_point()
FIGURE = Figure()


@dataclass
class Entry:
    """A public callable, valid arguments, and per argument the values it must refuse."""

    name: str
    call: Callable
    valid: dict[str, Any]
    bad: dict[str, st.SearchStrategy]
    named: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Words one of which the message must hold, where the argument's own name is not the word (a
    table's key, a field of the object given)."""


def _same(a, b) -> bool:
    try:
        return bool(a == b) or (_is_real(a) and _is_real(b) and math.isnan(a) and math.isnan(b))
    except (TypeError, ValueError):
        return False


def _config_entries(kind: type, valid: dict | None = None) -> Entry:
    """Every field of a config (or record) dataclass, fed what no field takes (apart from a field's own
    default: None where a field is optional, an empty list or table where it is one)."""
    bad = {}
    for f in dataclasses.fields(kind):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        container = isinstance(default, (tuple, list, Mapping))
        bad[f.name] = BAD_CONFIG_FIELD.filter(
            lambda v, d=default, c=container: not _same(v, d) and not (c and v in ([], {}))
        )
    package = kind.__module__.split(".")[1]  # altsim.theory.assumptions -> theory
    return Entry(f"{package}.{kind.__name__}", kind, dict(valid or {}), bad)


_VALUE_KEYS = ("values", "L_u", "T", "m", "sigma_u", "delta", "tau", "key")
CATALOGUE: list[Entry] = [
    # --- altsim.theory
    Entry(
        "theory.allowed_eta",
        theory.allowed_eta,
        dict(bound=BOUND, values=VALUES, points=200),
        dict(bound=bad_instance(theory.Bound), values=BAD_VALUES, points=bad_int(2, 10**6)),
        dict(values=_VALUE_KEYS),
    ),
    Entry(
        "theory.best_value",
        theory.best_value,
        dict(bound=BOUND, values={**VALUES, "T": 50}),
        dict(bound=bad_instance(theory.Bound), values=BAD_VALUES),
        dict(values=_VALUE_KEYS),
    ),
    Entry(
        "theory.block_step_sizes",
        theory.block_step_sizes,
        dict(eta=0.5, L_u=1.0, L_v=2.0, tau_u=1, tau_v=2),
        dict(
            eta=bad_real(0, low_open=True),
            L_u=bad_real(0, low_open=True),
            L_v=bad_real(0, low_open=True),
            tau_u=bad_int(1),
            tau_v=bad_int(1),
        ),
    ),
    Entry(
        "theory.bounds_for",
        theory.bounds_for,
        dict(algorithm="fedsim", provenance="D"),
        dict(
            algorithm=bad_instance(str),
            provenance=bad_name(("P", "R", "D", "calibrated"), optional=True),
        ),
    ),
    Entry(
        "theory.calibrate",
        theory.calibrate,
        dict(bound=TEMPLATE, settings=CAL_SETTINGS, measured=CAL_MEASURED, constants=None),
        dict(
            bound=bad_instance(theory.Bound),
            settings=st.one_of(
                bad_instance((list, tuple)),
                st.sampled_from([[], [1, 2, 3], [{"T": -1}] * 3, CAL_SETTINGS[:2]]),
            ),
            measured=st.one_of(
                bad_instance((list, tuple)),
                st.sampled_from([[], ["x"] * 3, [math.nan] * 3, [1.0], [None] * 3]),
            ),
            constants=st.one_of(
                bad_instance((list, tuple), optional=True), st.sampled_from([["zz"], [1]])
            ),
        ),
        dict(
            settings=("settings", "T"), measured=("measured", "settings"), constants=("constants",)
        ),
    ),
    Entry(
        "theory.fit_constants",
        theory.fit_constants,
        dict(bound=TEMPLATE, settings=CAL_SETTINGS, measured=CAL_MEASURED),
        dict(bound=bad_instance(theory.Bound), measured=bad_instance((list, tuple))),
    ),
    Entry(
        "theory.get_bound",
        theory.get_bound,
        dict(name="fedsim_gd_full"),
        dict(name=bad_name(theory.BOUNDS)),
        dict(name=("bound",)),
    ),
    Entry(
        "theory.horizon_free_eta",
        theory.horizon_free_eta,
        dict(t=[0, 1, 2], eta0=0.5, eta_max=1.0),
        dict(
            t=st.one_of(
                st.sampled_from(
                    [None, "x", {}, -1, math.nan, [-1], ["a"], [[1], [1, 2]], _Opaque()]
                )
            ),
            eta0=bad_real(0, low_open=True),
            eta_max=bad_real(0, low_open=True, allow_inf=True),
        ),
    ),
    Entry(
        "theory.minimize_rate",
        theory.minimize_rate,
        dict(a=1.0, b=0.5, c=0.1, T=100, eta_max=1.0),
        dict(
            a=bad_real(0, low_open=True),
            b=bad_real(0),
            c=bad_real(0),
            T=bad_real(0, low_open=True),
            eta_max=bad_real(0, low_open=True, allow_inf=True),
        ),
    ),
    Entry(
        "theory.normalised_eta",
        theory.normalised_eta,
        dict(setting=dict(gamma_u=0.1, L_u=2.0, tau_u=2)),
        dict(
            setting=bad_mapping(
                {"gamma_u": "x", "L_u": 1.0},
                {"gamma_u": 0.1, "L_u": None},
                {"gamma_u": 1, "L_u": 1, "tau": "2"},
            )
        ),
        dict(setting=("setting", "gamma_u", "L_u", "tau")),
    ),
    Entry(
        "theory.optimal_eta",
        theory.optimal_eta,
        dict(bound=BOUND, values=VALUES, T=100, grid=2001, eta_cap=None),
        dict(
            bound=bad_instance(theory.Bound),
            values=BAD_VALUES,
            T=bad_real(1),
            grid=bad_int(3, 10**6),
            eta_cap=bad_real(0, low_open=True, allow_inf=True).filter(lambda v: v is not None),
        ),
        dict(values=_VALUE_KEYS),
    ),
    *(
        Entry(
            f"theory.{fn.__name__}",
            fn,
            dict(sigma_u=0.5, sigma_v=0.5, delta=2.0, L_u=1.0, L_v=1.0, n=10, m=2),
            dict(
                sigma_u=bad_numbers(0),
                sigma_v=bad_numbers(0),
                delta=bad_numbers(0),
                L_u=bad_numbers(0, low_open=True),
                L_v=bad_numbers(0, low_open=True),
                n=bad_numbers(2, integer=True, high=2**62),
                m=bad_numbers(1, integer=True, high=10),
            ),
            dict(n=("n", "m")),
        )
        for fn in (theory.regime_margin, theory.regime_winner)
    ),
    Entry(
        "theory.regime_winner_derived",
        theory.regime_winner_derived,
        dict(values=DERIVED_VALUES, bounds=None, rtol=1e-12),
        dict(values=BAD_VALUES, bounds=bad_mapping({"x": 5}, optional=True), rtol=bad_real(0)),
        dict(values=_VALUE_KEYS),
    ),
    Entry(
        "theory.register_bound",
        theory.register_bound,
        dict(bound=dataclasses.replace(BOUND, name="fuzz_probe_bound"), replace=False),
        dict(bound=bad_instance(theory.Bound), replace=bad_bool()),
    ),
    Entry(
        "theory.stationarity",
        theory.stationarity,
        dict(grad_u_sq_norm=1.0, grad_v_sq_mean_norm=2.0, L_u=1.0, L_v=1.0, weight=0.5),
        dict(
            grad_u_sq_norm=st.sampled_from([None, "x", {}, [1.0], _Opaque(), b"x"]),
            grad_v_sq_mean_norm=st.sampled_from([None, "x", {}, [1.0], _Opaque()]),
            L_u=bad_real(0, low_open=True),
            L_v=bad_real(0, low_open=True),
            weight=bad_real(0),
        ),
    ),
    Entry(
        "theory.tightest_bound",
        theory.tightest_bound,
        dict(algorithm="fedsim", values=DERIVED_VALUES, bounds=None, provenance="D"),
        dict(
            algorithm=bad_instance(str),
            values=BAD_VALUES,
            bounds=bad_mapping({"x": 5}, optional=True),
            provenance=bad_name(("P", "R", "D", "calibrated"), optional=True),
        ),
        dict(values=_VALUE_KEYS),
    ),
    _config_entries(theory.Constants, dict(L_u=1, L_v=1, L_uv=0, sigma_u=0, sigma_v=0, delta=0)),
    Entry(
        "theory.Condition",
        theory.Condition,
        dict(relation=eta_sym < 1, description="eta < 1", kind="step_range", weights=()),
        dict(
            relation=bad_instance(sp.Basic),
            description=bad_instance(str),
            kind=bad_name(theory.CONDITION_KINDS),
            weights=st.sampled_from([None, "theta", 5, {}, [1]]),
        ),
    ),
    Entry(
        "theory.Bound",
        theory.Bound,
        dict(
            name="fuzz",
            algorithm="fedalt",
            expression=1 / (eta_sym * T_sym),
            conditions=(),
            provenance="D",
            reference="here",
            summary="a test bound",
        ),
        dict(
            name=bad_instance(str),
            algorithm=bad_instance(str).filter(lambda v: True),
            expression=st.sampled_from([None, "x", {}, [], _Opaque()]),
            conditions=st.sampled_from([None, "x", 5, [5], {}]),
            provenance=bad_name(("P", "R", "D", "calibrated")),
            reference=bad_instance(str),
            summary=bad_instance(str),
        ),
    ),
    *(
        Entry(
            f"theory.Bound.{method}",
            getattr(BOUND, method),
            dict(values=dict(eta=0.5, chi=0.1, Delta_F0=1.0, T=10)),
            dict(
                values=bad_mapping(optional=method.startswith("evaluate")).filter(lambda v: True)
                | st.sampled_from([dict(eta="x", chi=0.1, Delta_F0=1.0, T=10)])
                if method.startswith("evaluate")
                else bad_mapping()
            ),
            dict(values=("values", "eta")),
        )
        for method in ("evaluate", "evaluate_torch", "missing", "weight_at", "uncertified")
    ),
    Entry("theory.Bound.covers", BOUND.covers, dict(setting={}), dict(setting=bad_mapping())),
    Entry(
        "theory.Bound.conditions_of",
        BOUND.conditions_of,
        dict(kind="step_range"),
        dict(kind=bad_name(theory.CONDITION_KINDS)),
    ),
    Entry(
        "theory.Condition.check",
        BOUND.conditions[0].check,
        dict(values={}),
        dict(values=bad_mapping()),
    ),
    # --- altsim.synthetic
    Entry(
        "synthetic.make_problem",
        synthetic.make_problem,
        dict(family="fuzz_sentinel", params={}, seed=0, device="cpu", dtype="float64"),
        dict(
            family=bad_name(synthetic.FAMILIES),
            params=bad_mapping({"n": -1}, {"zz": 1}, {1: 1}, {"n": None}, optional=True),
            seed=bad_int(0, 2**31 - 1),
            device=st.one_of(
                bad_instance(str), st.sampled_from(["", "gpu", "tpu", "meta", "mps", "x:1"])
            ),
            dtype=st.one_of(bad_instance(str), st.sampled_from(["", "float16", "int64", "x"])),
        ),
        dict(params=("params", "n", "zz", "key 1", "problem")),
    ),
    Entry(
        "synthetic.family_config",
        synthetic.family_config,
        dict(family="coupled_quadratic", params={}),
        dict(
            family=bad_name(synthetic.FAMILIES),
            params=bad_mapping({"n": -1}, {"zz": 1}, {1: 1}, optional=True),
        ),
        dict(params=("params", "n", "zz", "key 1", "problem")),
    ),
    Entry(
        "synthetic.config_from_mapping",
        synthetic.config_from_mapping,
        dict(cls=synthetic.CoupledQuadraticConfig, table={}, param=None),
        dict(
            cls=st.one_of(bad_instance(type), st.just(int)),
            table=bad_mapping({"n": "x"}, {"zz": 1}, {1: 1}),
            param=bad_instance(str, optional=True),
        ),
        dict(table=("table", "n", "zz", "key 1")),
    ),
    Entry(
        "synthetic.get_family",
        synthetic.get_family,
        dict(name="digits"),
        dict(name=bad_name(synthetic.FAMILIES)),
        dict(name=("family",)),
    ),
    Entry(
        "synthetic.load_toml_table",
        synthetic.load_toml_table,
        dict(path=str(FOLDER / "none.toml"), table=None),
        dict(
            path=st.one_of(bad_instance(str), st.sampled_from(["", str(FOLDER), "/no/such.toml"])),
            table=bad_instance(str, optional=True),
        ),
        dict(path=("path", "config")),
    ),
    Entry(
        "synthetic.measured_constants",
        synthetic.measured_constants,
        dict(problem=PROBLEM, points=4, radius=1.0, iters=5, seed=0, states=None),
        dict(
            problem=bad_instance(synthetic.Problem),
            points=bad_int(1, 10**6),
            radius=bad_real(0),
            iters=bad_int(1, 10**6),
            seed=bad_int(0),
            states=st.sampled_from(
                [
                    5,
                    "x",
                    (U0,),
                    (U0, V0),
                    (U0[None], V0),
                    (U0[None], V0[None, :2]),
                    [U0[None], V0[None]],
                ]
            ),
        ),
    ),
    Entry(
        "synthetic.register",
        synthetic.register,
        dict(family=SENTINEL),
        dict(family=bad_instance(synthetic.Family)),
    ),
    Entry(
        "synthetic.resolve_device",
        synthetic.resolve_device,
        dict(device="cpu"),
        dict(device=st.one_of(bad_instance(str), st.sampled_from(["", "gpu", "meta"]))),
    ),
    Entry(
        "synthetic.resolve_dtype",
        synthetic.resolve_dtype,
        dict(dtype="float64"),
        dict(dtype=st.one_of(bad_instance(str), st.sampled_from(["", "float16"]))),
    ),
    Entry(
        "synthetic.Family",
        synthetic.Family,
        dict(name="fuzz_family", config=SentinelConfig, build=_work, summary="s"),
        dict(
            name=bad_instance(str).filter(lambda v: True) | st.sampled_from(["", "a b", "x/y"]),
            config=st.one_of(bad_instance(type), st.just(int)),
            build=bad_callable(optional=False),
            summary=bad_instance(str),
            example=bad_mapping(),
            size=bad_callable(),
        ),
    ),
    _config_entries(synthetic.Certified, dict(L_u=1, L_v=1, L_uv=0, sigma_u=0, sigma_v=0, delta=0)),
    *(
        _config_entries(cfg)
        for cfg in (
            synthetic.CoupledQuadraticConfig,
            synthetic.KinkedQuadraticConfig,
            synthetic.BilinearQuadraticConfig,
            synthetic.SharedRepresentationConfig,
            synthetic.SmallNetworkConfig,
            synthetic.DigitsConfig,
        )
    ),
    *(
        Entry(
            f"synthetic.{cls.__name__}",
            cls,
            dict(config=cfg(), seed=0, device="cpu", dtype="float64"),
            dict(
                config=bad_instance(cfg),
                seed=bad_int(0, 2**31 - 1),
                device=st.one_of(bad_instance(str), st.sampled_from(["", "gpu"])),
                dtype=st.one_of(bad_instance(str), st.sampled_from(["", "int8"])),
            ),
        )
        for cls, cfg in (
            (synthetic.CoupledQuadratic, synthetic.CoupledQuadraticConfig),
            (synthetic.KinkedQuadratic, synthetic.KinkedQuadraticConfig),
            (synthetic.BilinearQuadratic, synthetic.BilinearQuadraticConfig),
            (synthetic.SharedRepresentation, synthetic.SharedRepresentationConfig),
            (synthetic.SmallNetwork, synthetic.SmallNetworkConfig),
            (synthetic.Digits, synthetic.DigitsConfig),
        )
    ),
    # --- altsim.rates
    Entry(
        "rates.simulate",
        rates.simulate,
        dict(problem=PROBLEM, algorithm=ALGORITHM, rounds=3, m=2, seeds=(0,)),
        dict(
            problem=bad_instance(synthetic.Problem),
            algorithm=st.one_of(
                bad_instance(rates.FedAlt), st.sampled_from(["fedalt", rates.FedAlt, rates.FedSim])
            ),
            rounds=bad_int(1),
            m=bad_int(1, 3),
            seeds=st.one_of(
                bad_instance((list, tuple)),
                st.sampled_from([(), (-1,), (2**31,), ("0",), (0.5,), [None], (True,)]),
            ),
            measure_every=bad_int(1),
            blowup=bad_real(0, low_open=True, allow_inf=True),
            progress=bad_callable(),
            on_round=bad_callable(),
            on_state=bad_callable(),
            scales=st.sampled_from([5, "x", (1.0,), (1.0, -1.0), (math.nan, 1.0), ("a", "b")]),
            compile=bad_name(("auto", "on", "off")),
            compile_backend=bad_callable(optional=False).filter(lambda v: not isinstance(v, str)),
            reuse_local_draw=bad_bool(),
        ),
    ),
    Entry(
        "rates.run",
        rates.run,
        dict(config=CONFIG, progress=None),
        dict(config=bad_instance(rates.ExperimentConfig), progress=bad_callable()),
    ),
    Entry(
        "rates.compare",
        rates.compare,
        dict(trajectory=TRAJECTORY, bounds=[BOUND], setting=RESULT.settings["fedalt"]),
        dict(
            trajectory=bad_instance(rates.Trajectory),
            bounds=st.one_of(
                bad_instance((list, tuple)), st.sampled_from([[5], ["fedalt_gd_full"]])
            ),
            setting=bad_mapping(),
        ),
    ),
    Entry(
        "rates.choose_step",
        rates.choose_step,
        dict(name="fedalt", config=CONFIG, problem=PROBLEM, cert=CERT),
        dict(
            name=bad_name(rates.ALGORITHMS),
            config=bad_instance(rates.ExperimentConfig),
            problem=bad_instance(synthetic.Problem),
            cert=bad_instance(synthetic.Certified),
        ),
        dict(name=("algorithm",)),
    ),
    Entry(
        "rates.get_algorithm",
        rates.get_algorithm,
        dict(name="fedalt"),
        dict(name=bad_name(rates.ALGORITHMS)),
        dict(name=("algorithm",)),
    ),
    Entry("rates.is_exact", rates.is_exact, dict(setting={}), dict(setting=bad_mapping())),
    Entry(
        "rates.make_algorithm",
        rates.make_algorithm,
        dict(name="fedalt", config=CONFIG, eta=0.5, scales=(1.0, 1.0)),
        dict(
            name=bad_name(rates.ALGORITHMS),
            config=bad_instance(rates.ExperimentConfig),
            eta=bad_real(0, low_open=True),
            scales=st.sampled_from([None, 5, "x", (1.0,), (1.0, 0.0), (math.inf, 1.0)]),
        ),
        dict(name=("algorithm",)),
    ),
    Entry(
        "rates.measure",
        rates.measure,
        dict(problem=PROBLEM, u=U0[None], V=V0[None]),
        dict(
            problem=bad_instance(synthetic.Problem),
            u=st.sampled_from([None, "x", [1.0, 2.0], U0, U0[None, :1], V0]),
            V=st.sampled_from([None, "x", V0, V0[None, :2], U0[None]]),
        ),
    ),
    Entry(
        "rates.register_algorithm",
        rates.register_algorithm,
        dict(cls=None, replace=False),
        dict(
            cls=st.one_of(
                bad_instance(type).filter(lambda v: v is not None), st.sampled_from([int, _Opaque])
            ),
            replace=bad_bool(),
        ),
        dict(cls=("cls", "name", "algorithm")),
    ),
    _config_entries(rates.ExperimentConfig),
    *(
        _config_entries(
            cls, dict(gamma_u=0.1, gamma_v=0.1) if cls is not rates.LocalOnly else dict(gamma_v=0.1)
        )
        for cls in (
            rates.FedAlt,
            rates.FedSim,
            rates.FedAvg,
            rates.FullPersonalization,
            rates.JointSteps,
            rates.LocalOnly,
        )
    ),
    Entry(
        "rates.Result.compare",
        RESULT.compare,
        dict(bounds=None),
        dict(
            bounds=st.one_of(
                bad_instance((list, tuple), optional=True),
                st.sampled_from([[5], ["fedalt_gd_full"]]),
            )
        ),
    ),
    Entry(
        "rates.Result.bound_curve",
        RESULT.bound_curve,
        dict(name="fedalt_gd_full"),
        dict(name=bad_name(theory.BOUNDS)),
        dict(name=("name", "bound")),
    ),
    Entry(
        "rates.ExperimentConfig.from_dict",
        rates.ExperimentConfig.from_dict,
        dict(table={}),
        dict(table=bad_mapping({"round": 3}, {1: 2}, {"rounds": "x"}, {"seeds": [-1]})),
        dict(table=("table", "round", "key 1", "rounds", "seeds")),
    ),
    *(
        Entry(
            f"rates.Trajectory.{method}",
            getattr(TRAJECTORY, method),
            dict(weight=1.0),
            dict(weight=bad_real(0)),
        )
        for method in ("stationarity", "running_average")
    ),
    Entry(
        "synthetic.Problem.objective",
        PROBLEM.objective,
        dict(u=U0, V=V0),
        dict(
            u=st.sampled_from([None, "x", [1.0], {}]), V=st.sampled_from([None, "x", [[1.0]], {}])
        ),
    ),
    Entry(
        "synthetic.Problem.with_initial_point",
        PROBLEM.with_initial_point,
        dict(u0=U0, V0=V0),
        dict(
            u0=st.sampled_from([None, "x", [1.0], {}, [math.nan, 1.0], U0[None]]),
            V0=st.sampled_from([None, "x", [[1.0]], V0[:1], V0 * math.inf]),
        ),
    ),
    # --- altsim.figures
    Entry(
        "figures.rate_plot",
        figures.rate_plot,
        dict(comparisons=COMPARISONS),
        dict(
            comparisons=bad_mapping({"fedalt": 5}, {"fedalt": SUMMARY}),
            bounds=bad_mapping({"fedalt": 5}, optional=True),
            title=bad_instance(str, optional=True),
            note=bad_instance(str, optional=True),
            reference_slopes=st.sampled_from([None, 5, "x", {}, [math.nan], ["a"]]),
            paper_level=bad_bool(),
            level=bad_real(0, low_open=True, high=1, high_open=True),
        ),
    ),
    Entry(
        "figures.tightness_plot",
        figures.tightness_plot,
        dict(comparisons=COMPARISONS),
        dict(comparisons=bad_mapping({"fedalt": 5}), title=bad_instance(str, optional=True)),
    ),
    Entry(
        "figures.personalization_plot",
        figures.personalization_plot,
        dict(summary=SUMMARY),
        dict(summary=BAD_SUMMARY),
        dict(summary=("summary", "the result")),  # the figure's own words: the result it draws
    ),
    *(
        Entry(
            f"figures.{fn.__name__}",
            fn,
            dict(sweep_summary={}),
            dict(sweep_summary=BAD_SUMMARY),
            dict(sweep_summary=("sweep_summary", "the sweep")),
        )
        for fn in (figures.regime_map, figures.regime_study_plot, figures.sweep_plot)
    ),
    Entry(
        "figures.save",
        figures.save,
        dict(fig=FIGURE, path_stem=str(FOLDER / "fig"), formats=("png",)),
        dict(
            fig=bad_instance(Figure),
            path_stem=st.sampled_from([None, 5, {}, b"x", ""]),
            formats=st.sampled_from([None, "png", (), ("jpg2",), (5,), [None]]),
        ),
    ),
    Entry(
        "figures.trajectory_view",
        figures.trajectory_view,
        dict(problem_params=None, eta=0.6, rounds=3, seed=3),
        dict(
            problem_params=bad_mapping({"n": -1}, {"zz": 1}, optional=True),
            eta=bad_real(0, low_open=True),
            rounds=bad_int(1, 10_000),
            seed=bad_int(0, 2**31 - 1),
        ),
        dict(problem_params=("problem_params", "n", "zz")),
    ),
    Entry(
        "figures.trajectory_animation",
        figures.trajectory_animation,
        dict(path_gif=str(FOLDER / "t.gif"), problem_params=None, eta=0.6, rounds=3, seed=3, fps=3),
        dict(
            path_gif=st.sampled_from([None, 5, {}, b"x"]),
            fps=bad_int(1, 100),
            eta=bad_real(0, low_open=True),
        ),
    ),
    # --- altsim.results
    Entry(
        "results.summarize",
        results.summarize,
        dict(result=RESULT, comparisons=None),
        dict(
            result=bad_instance(rates.Result), comparisons=bad_mapping({"fedalt": 5}, optional=True)
        ),
    ),
    Entry(
        "results.final_stationarity",
        results.final_stationarity,
        dict(tr=TRAJECTORY),
        dict(tr=bad_instance(rates.Trajectory)),
    ),
    Entry("results.table", results.table, dict(summary=SUMMARY), dict(summary=BAD_SUMMARY)),
    Entry(
        "results.trajectories_arrays",
        results.trajectories_arrays,
        dict(result=RESULT),
        dict(result=bad_instance(rates.Result)),
    ),
    Entry(
        "results.rounds_csv",
        results.rounds_csv,
        dict(result=RESULT),
        dict(result=bad_instance(rates.Result)),
    ),
    Entry(
        "results.load_summary",
        results.load_summary,
        dict(directory=str(FOLDER)),
        dict(directory=st.one_of(bad_instance(str), st.sampled_from(["", str(FOLDER / "none")]))),
        dict(directory=("directory", "result_dir")),
    ),
    Entry(
        "results.load_trajectories",
        results.load_trajectories,
        dict(directory=str(FOLDER), summary=None),
        dict(directory=bad_instance(str), summary=bad_mapping({"a": 1}, optional=True)),
        dict(summary=("summary", "result_dir")),  # the folder the summary stands for
    ),
    Entry(
        "results.load_comparisons",
        results.load_comparisons,
        dict(directory=str(FOLDER)),
        dict(directory=st.one_of(bad_instance(str), st.sampled_from(["", str(FOLDER / "none")]))),
        dict(directory=("directory", "result_dir")),
    ),
    # --- altsim.testing
    Entry(
        "testing.assert_bound_holds",
        testing.assert_bound_holds,
        dict(bound="fedalt_gd_full", run_or_config=CONFIG, scale=1.0),
        dict(
            bound=st.one_of(
                bad_name(theory.BOUNDS), st.just(dataclasses.replace(BOUND, name="unregistered"))
            ),
            run_or_config=st.one_of(
                bad_instance((rates.ExperimentConfig, rates.Result)), st.just(CONFIG.to_dict())
            ),
            scale=bad_real(0, low_open=True),
        ),
    ),
    Entry(
        "testing.constants", testing.constants, dict(stochastic=True), dict(stochastic=bad_bool())
    ),
    Entry(
        "testing.problem_params",
        testing.problem_params,
        dict(family="coupled_quadratic", max_n=12, max_dim=5, stochastic=True),
        dict(
            family=bad_name(("coupled_quadratic", "shared_representation", "small_network")),
            max_n=bad_int(2, 10**6),
            max_dim=bad_int(1, 10**6),
            stochastic=bad_bool(),
        ),
    ),
    Entry(
        "testing.problems",
        testing.problems,
        dict(family="coupled_quadratic", max_n=4),
        dict(
            family=bad_name(("coupled_quadratic", "shared_representation", "small_network")),
            max_n=bad_int(2, 10**6),
        ),
    ),
    Entry(
        "testing.experiment_configs",
        testing.experiment_configs,
        dict(bound="fedalt_gd_full", rounds=None, n_seeds=6),
        dict(
            bound=bad_name(theory.BOUNDS),
            rounds=bad_int(1).filter(lambda v: v is not None),
            n_seeds=bad_int(1, 1000),
        ),
    ),
    Entry(
        "testing.registered",
        testing.registered,
        dict(bound="fedalt_gd_full"),
        dict(bound=bad_name(theory.BOUNDS)),
    ),
    Entry(
        "testing.example_pair",
        testing.example_pair,
        dict(bound_name="fedalt_gd_full"),
        dict(bound_name=bad_name(theory.BOUNDS)),
        dict(bound_name=("bound",)),
    ),
    Entry(
        "testing.falsify",
        falsify,
        dict(bound_name="fedsim_gd_full", budget=1.0),
        dict(
            bound_name=bad_name(theory.BOUNDS),
            budget=bad_real(0, low_open=True),
            scale=bad_real(0, low_open=True),
            min_drift_share=bad_real(0, high=1, high_open=True),
            target=bad_name(("bound", "drift_lemma")),
        ),
        dict(bound_name=("bound",)),
    ),
]


@contextlib.contextmanager
def no_work():
    """Every entry to real work raises WorkStarted; the sentinel family is registered meanwhile."""
    import altsim.rates.engine as engine
    import altsim.rates.experiment as experiment
    import altsim.synthetic.measured as measured
    import altsim.testing.falsify.search as search

    synthetic.FAMILIES[SENTINEL.name] = SENTINEL
    try:
        with (
            mock.patch.object(engine, "NoiseStream", _work),
            mock.patch.object(experiment, "preflight", _work),
            mock.patch.object(measured, "_measure", _work),
            mock.patch.object(search, "instance", _work),
        ):
            yield
    finally:
        synthetic.FAMILIES.pop(SENTINEL.name, None)
        theory.BOUNDS.pop("fuzz_probe_bound", None)


def test_the_catalogue_covers_every_public_function():
    """Every function and class the public modules export is in the catalogue, or is a record of
    results that altsim builds itself (listed here, each for that reason)."""
    built_by_altsim = {
        "theory.Coverage",
        "theory.regime_condition",  # takes no argument
        "rates.Algorithm",  # a Protocol
        "rates.BoundCheck",
        "rates.ClientServerAlgorithm",  # a base class
        "rates.Comparison",
        "rates.LocalState",
        "rates.Result",
        "rates.State",
        "rates.Trajectory",
        "synthetic.Problem",  # abstract
        "testing.seeds",  # takes no argument
    }
    covered = {e.name for e in CATALOGUE} | built_by_altsim
    missing = []
    for label, module in (
        ("theory", theory),
        ("synthetic", synthetic),
        ("rates", rates),
        ("figures", figures),
        ("testing", testing),
    ):
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj) and not isinstance(obj, dict) and f"{label}.{name}" not in covered:
                if name in ("require", "require_bool", "shown"):  # the checks themselves
                    continue
                missing.append(f"{label}.{name}")
    for name in ("summarize", "final_stationarity", "table", "trajectories_arrays", "rounds_csv"):
        if f"results.{name}" not in covered:
            missing.append(f"results.{name}")
    assert not missing, f"public functions the fuzz test never calls: {missing}"


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.name)
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(data=st.data())
def test_junk_is_refused_by_name_before_any_work(entry: Entry, data):
    param = data.draw(st.sampled_from(sorted(entry.bad)), label="argument")
    junk = data.draw(entry.bad[param], label="junk")
    kwargs = {**entry.valid, param: junk}
    start = time.perf_counter()
    with no_work():
        try:
            entry.call(**kwargs)
        except (TypeError, ValueError) as e:
            message = str(e)
        else:
            pytest.fail(f"{entry.name}({param}={junk!r}) was accepted")
    took = time.perf_counter() - start
    assert took < TIME_LIMIT, f"{entry.name}({param}={junk!r}) took {took:.1f} s to refuse"
    assert "\n" not in message, f"not one line: {message!r}"
    words = entry.named.get(param, (param,))
    assert any(w in message for w in words), (
        f"{entry.name}({param}={junk!r}): the message names none of {words}: {message!r}"
    )


# --- the refusals issue 27 found missing, one by one --------------------------------------------
@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: theory.optimal_eta(BOUND, {**VALUES, "L_u": -1}, 100), ("L_u=-1", "(0, inf)")),
        (
            lambda: theory.optimal_eta(
                theory.get_bound("fedalt_sgd_full"), {**DERIVED_VALUES, "L_u": -1}, 100
            ),
            ("L_u=-1",),
        ),
        (lambda: theory.optimal_eta(BOUND, VALUES, 0), ("T=0", "[1, inf)")),
        (lambda: theory.regime_winner(-1, 0.5, 2.0, 1.0, 1.0, 10, 2), ("sigma_u=-1", "[0, inf)")),
        (lambda: theory.regime_margin(0.5, 0.5, math.nan, 1.0, 1.0, 10, 2), ("delta=nan",)),
        (
            lambda: synthetic.make_problem("coupled_quadratic", seed=-1),
            ("seed=-1", "[0, 2147483647]"),
        ),
        (lambda: rates.simulate(PROBLEM, ALGORITHM, rounds=2, m=2, seeds=(-1,)), ("seeds[]=-1",)),
        (lambda: falsify("fedsim_gd_full", -1), ("budget=-1", "(0, inf)")),
        (lambda: rates.run(None), ("config=None", "ExperimentConfig")),
        (lambda: rates.run(CONFIG.to_dict()), ("config={", "from_dict")),
        (
            lambda: rates.simulate(PROBLEM, "fedalt", rounds=2, m=2, seeds=(0,)),
            ("algorithm='fedalt'",),
        ),
        (
            lambda: testing.assert_bound_holds("fedalt_gd_full", "config"),
            ("run_or_config='config'",),
        ),
        (lambda: testing.assert_bound_holds("fedalt_gd_full", CONFIG, scale=-1.0), ("scale=-1",)),
        (lambda: results.summarize(None), ("result=None",)),
    ],
    ids=lambda x: "" if callable(x) else x[0],
)
def test_each_refusal_the_issue_found_missing(call, words):
    with no_work():
        with pytest.raises((TypeError, ValueError)) as caught:
            call()
    assert all(w in str(caught.value) for w in words), str(caught.value)
