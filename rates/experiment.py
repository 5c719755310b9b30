"""An experiment: a problem, algorithms, participation, step sizes, rounds and seeds, run to a `Result`.

`run(config)` builds the problem, picks each algorithm's step size from the theory (the
eta minimising the tightest [D] bound that covers the run, at the horizon T = rounds)
unless one is given, simulates all seeds in one batch, and returns a `Result`.
`Result.compare()` holds each trajectory against every bound that covers it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import altsim
from altsim.plugins import import_plugins
from altsim.synthetic import Certified, Problem, family_config, make_problem
from altsim.synthetic.problem import require_problem
from altsim.theory import BOUNDS, Bound, get_bound, optimal_eta, require
from altsim.theory.bound import normalised_eta_v
from altsim.theory.checks import (
    require_bool,
    require_callable,
    require_instance,
    shown,
    unknown_name_message,
)

from . import baselines, fedalt, fedsim  # noqa: F401  (importing registers the built-in algorithms)
from .algorithm import ALGORITHMS, CONFIG_FIELDS, get_algorithm
from .compare import Comparison, compare
from .engine import simulate
from .frames import data_frame, round_table
from .fused import COMPILE_CHOICES
from .measurement import Trajectory, scales_of


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything needed to rerun an experiment."""

    family: str = "coupled_quadratic"
    """Problem family: a registered name (built in: coupled_quadratic, shared_representation,
    small_network, kinked_quadratic, bilinear_quadratic, digits; or a plugin's). `altsim config --list`
    lists each family's `[problem]` keys."""
    problem: Mapping[str, Any] = field(default_factory=dict)
    """Parameters of the family: keys of its config dataclass, each key and value checked when the config
    is built (nothing of the problem is built then); a key left out takes the family's default. In a TOML
    file, the `[problem]` table."""
    problem_seed: int = 0
    """Seed of the problem instance (data and initial point); an integer in [0, 2^31 - 1]."""
    algorithms: tuple[str, ...] = ("fedalt", "fedsim")
    """Algorithms to run, each on the same problem and seeds: a non-empty list of distinct registered names
    (fedalt, fedsim, fedavg, local_only, full_personalization, or a plugin's)."""
    rounds: int = 500
    """Rounds T; an integer >= 1."""
    m: int | None = None
    """Clients sampled per round, without replacement: an integer in [1, n] (n is checked when the run
    starts); unset (None) means all n (full participation)."""
    seeds: tuple[int, ...] = (0, 1, 2, 3)
    """Run seeds (sampling and noise), all run in one batch: a non-empty list of distinct integers in
    [0, 2^31 - 1]."""
    eta: float | None = None
    """Normalised step size, > 0; unset (None) picks the eta minimising the tightest [D] bound that covers
    the run (an algorithm without one needs eta)."""
    eta_v: float | None = None
    """Normalised step size of the personal block, gamma_v = eta_v / (L_v tau_v), when it should differ from
    eta (the paper's algorithm has separate step sizes): > 0, not with official = true; unset (None): equal
    to eta. Only FedAlt's [D] bound (`fedalt_sgd_local`) allows the two to differ."""
    tau_u: int = 1
    """FedAlt local steps on u; an integer >= 1."""
    tau_v: int = 1
    """FedAlt local steps on v; an integer >= 1."""
    tau: int = 1
    """FedSim local steps; an integer >= 1."""
    device: str = "cpu"
    """Where the run computes: 'cpu', 'cuda' or 'cuda:N' (checked when the run starts: CUDA must be
    available)."""
    dtype: str = "float64"
    """Floating-point precision: 'float64' or 'float32' (checked when the run starts)."""
    measure_every: int = 1
    """Measure every this many rounds: an integer in [1, rounds] (1 makes the running average exact)."""
    compile: str = "auto"
    """Fuse each round with torch.compile: 'on', 'off', or 'auto' (only runs past the measured break-even
    work, see `altsim.rates.fused`). Compiled and eager numbers agree to ~1e-15 relative, not bitwise."""
    official: bool = False
    """The official code's variant: one step size eta / max(L_u, L_v) for both blocks, and FedAlt with
    tau_u = tau_v = tau; true or false."""
    stateless: bool = False
    """Stateless clients: sampled clients start from their initial v_i^0 every round; true or false."""
    reuse_local_draw: bool = False
    """One draw per round: every local step of a round reuses the noise its first step drew (a fixed
    per-round minibatch), instead of a fresh draw per step; true or false. The local-step bounds
    (`fedsim_sgd_local`, `fedalt_sgd_local`) do not cover such a run once a block takes two steps."""
    bounds: tuple[str, ...] = ()
    """Bounds the run must be compared against: a list of registered bound names (`altsim bound --list`),
    each for an algorithm of the run; a run outside one's conditions is refused before any work."""
    algorithm_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Extra hyperparameters per algorithm name, passed to its `from_experiment` (e.g. a server momentum):
    a table per algorithm of the run, whose keys are fields of that algorithm. Step sizes, local steps and
    `stateless` come from the fields above, never from here."""
    plugins: tuple[str, ...] = ()
    """Python modules to import before anything else: a list of module names. They register algorithms,
    problem families or bounds (so that sweeps on worker processes and the CLI find them too)."""

    def __post_init__(self) -> None:
        if not isinstance(self.plugins, (tuple, list)) or not all(
            isinstance(p, str) for p in self.plugins
        ):
            raise ValueError(f"plugins={shown(self.plugins)}: must be a list of module names")
        import_plugins(self.plugins)  # they may register the names checked below
        for name, kind, what in (
            ("algorithms", (tuple, list), "a list of algorithm names"),
            ("seeds", (tuple, list), "a list of integer seeds"),
            ("bounds", (tuple, list), "a list of bound names"),
            ("problem", Mapping, "a table of the family's parameters"),
            ("family", str, "a family name"),
            ("device", str, "'cpu' or 'cuda'"),
            ("dtype", str, "'float64' or 'float32'"),
        ):
            if not isinstance(getattr(self, name), kind):
                raise ValueError(f"{name}={getattr(self, name)!r}: must be {what}")
        _check_device_name(self.device)
        if self.dtype not in ("float64", "float32"):
            raise ValueError(f"dtype={shown(self.dtype)}: must be 'float64' or 'float32'")
        if self.m is not None:
            require("m", self.m, low=1, integer=True)
        require("rounds", self.rounds, low=1, integer=True)
        for a in self.algorithms:
            if not isinstance(a, str) or a not in ALGORITHMS:
                raise ValueError(
                    unknown_name_message("algorithms[]", a, ALGORITHMS, kind="algorithm")
                )
        for b in self.bounds:
            if not isinstance(b, str) or b not in BOUNDS:
                raise ValueError(unknown_name_message("bounds[]", b, sorted(BOUNDS), kind="bound"))
        repeated = next((b for i, b in enumerate(self.bounds) if b in self.bounds[:i]), None)
        if repeated is not None:
            raise ValueError(f"bounds={shown(list(self.bounds))}: {repeated!r} is listed twice")
        # the family's own config dataclass checks every key and value (nothing of the problem is built)
        family_config(self.family, self.problem)
        if not isinstance(self.algorithm_options, Mapping):
            raise ValueError(
                f"algorithm_options={self.algorithm_options!r}: must be a table of tables, one per algorithm"
            )
        for a, opts in self.algorithm_options.items():
            if a not in self.algorithms:
                raise ValueError(
                    f"algorithm_options.{a}: {a!r} is not in algorithms {list(self.algorithms)}"
                )
            if not isinstance(opts, Mapping):
                raise ValueError(
                    f"algorithm_options.{a}={shown(opts)}: must be a table of hyperparameters"
                )
            cls = ALGORITHMS[a]
            accepted = sorted({f.name for f in dataclasses.fields(cls)} - CONFIG_FIELDS)
            for key in opts:
                if key in CONFIG_FIELDS:
                    raise ValueError(
                        f"algorithm_options.{a}.{key}: set through eta, tau, tau_u, tau_v or stateless "
                        f"in [experiment], not as an option; options of {a}: {', '.join(accepted) or 'none'}"
                    )
                if key not in accepted:
                    raise ValueError(
                        unknown_name_message(
                            f"algorithm_options.{a}", [key], accepted, kind="option"
                        )
                    )
        if not self.algorithms:
            raise ValueError("algorithms=(): give at least one algorithm")
        if _repeated(self.algorithms):
            raise ValueError(f"algorithms: {', '.join(_repeated(self.algorithms))} listed twice")
        if not self.seeds:
            raise ValueError("seeds=(): give at least one seed")
        for s in self.seeds:
            require("seeds[]", s, low=0, high=2**31 - 1, integer=True)
        if _repeated(self.seeds):
            raise ValueError(
                f"seeds: {', '.join(map(str, _repeated(self.seeds)))} repeated; each seed must be distinct "
                "(a repeated seed would be counted twice in the confidence interval)"
            )
        require("problem_seed", self.problem_seed, low=0, high=2**31 - 1, integer=True)
        if self.eta is not None:
            require("eta", self.eta, low=0, low_open=True)
        if self.eta_v is not None:
            require("eta_v", self.eta_v, low=0, low_open=True)
            if self.official:
                raise ValueError(
                    f"eta_v={self.eta_v!r}: the official variant (official = true) has one step size for "
                    "both blocks; drop eta_v or official"
                )
        for k in ("tau_u", "tau_v", "tau"):
            require(k, getattr(self, k), low=1, integer=True)
        require(
            "measure_every", self.measure_every, low=1, high=self.rounds, integer=True
        )  # at least T = 1 measured
        for k in ("official", "stateless", "reuse_local_draw"):
            require_bool(k, getattr(self, k))
        if self.compile not in COMPILE_CHOICES:
            raise ValueError(
                f"compile={shown(self.compile)}: must be one of {', '.join(COMPILE_CHOICES)}"
            )

    def to_dict(self) -> dict:
        """The config as plain data (lists, dicts) that `from_dict` reads back; `algorithm_options`, `plugins`
        and `reuse_local_draw` are left out when empty or false, so that configs without them keep their
        point ids."""
        d = dataclasses.asdict(self)
        d["problem"] = dict(self.problem)
        d["algorithms"], d["seeds"], d["bounds"] = (
            list(self.algorithms),
            list(self.seeds),
            list(self.bounds),
        )
        d["algorithm_options"] = {k: dict(v) for k, v in self.algorithm_options.items()}
        d["plugins"] = list(self.plugins)
        for key in ("algorithm_options", "plugins", "reuse_local_draw"):
            if not d[key]:
                del d[key]  # so that configs without them keep their point ids
        return d

    @classmethod
    def from_dict(cls, table: Mapping[str, Any]) -> ExperimentConfig:
        """The config of a dict or TOML table (lists become tuples); unknown keys are refused by name,
        and anything but a table (TypeError)."""
        if not isinstance(table, Mapping):
            raise TypeError(
                f"table={shown(table)}: must be a table of the [experiment] keys (a dict), not "
                f"{type(table).__name__}"
            )
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in table if k not in fields]
        if unknown:
            raise ValueError(
                unknown_name_message("experiment", unknown, sorted(fields), kind="key")
            )
        d = dict(table)
        for k in ("algorithms", "seeds", "bounds", "plugins"):
            if isinstance(d.get(k), list):
                d[k] = tuple(d[k])
        return cls(**d)


def _check_device_name(device: str) -> None:
    """Refuse a device name torch does not know or altsim does not run on ('cpu', 'cuda', 'cuda:N');
    whether CUDA is there is checked when the run starts, so a config written for a GPU still loads."""
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError, ValueError):
        kind = None
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"device={shown(device)}: must be 'cpu', 'cuda' or 'cuda:N'")


def _repeated(items) -> list:
    """The items that occur more than once, each once, sorted."""
    return sorted({x for x in items if list(items).count(x) > 1})


def _setting(
    config: ExperimentConfig, problem: Problem, cert: Certified, algorithm, eta: float, L_v: float
) -> dict:
    """What a bound sees of a run: the algorithm's hyperparameters, the participation, the certified constants,
    and the normalised step sizes eta and eta_v = gamma_v L_v tau_v, the latter read off the algorithm's own
    step (so the official variant's single step size, or a separate `eta_v`, is what the bounds see)."""
    eta_v = normalised_eta_v({**algorithm.setting(), "L_v": L_v})
    return {
        **algorithm.setting(),
        "n": problem.n,
        "m": config.m or problem.n,
        "T": config.rounds,
        **cert.values(),
        "F_lower": cert.F_lower,
        "eta": eta,
        "eta_v": eta if eta_v is None else eta_v,
        "noise_correlation": problem.noise_correlation,
        "reuse_local_draw": int(config.reuse_local_draw),
    }


def make_algorithm(name: str, config: ExperimentConfig, eta: float, scales: tuple[float, float]):
    """The registered algorithm `name` with the hyperparameters `config` asks for at step size eta
    (> 0), normalised by `scales` = (L_u, L_v), both > 0; each argument is checked before any work."""
    cls = get_algorithm(name)
    require_instance("config", config, ExperimentConfig, "an altsim.rates.ExperimentConfig")
    require("eta", eta, low=0, low_open=True)
    if not (isinstance(scales, (tuple, list)) and len(scales) == 2):
        raise TypeError(f"scales={shown(scales)}: must be a pair (L_u, L_v)")
    for k, x in zip(("scales[0]", "scales[1]"), scales):
        require(k, x, low=0, low_open=True)
    options = dict(config.algorithm_options.get(name, {}))
    try:
        return cls.from_experiment(config, eta, *scales, **options)
    except TypeError as e:
        raise ValueError(
            f"algorithm_options.{name}={options!r}: not accepted by {cls.__name__} ({e})"
        ) from None


def choose_step(
    name: str, config: ExperimentConfig, problem: Problem, cert: Certified
) -> tuple[float, Bound | None]:
    """(eta, bound): the given eta, or the one minimising the tightest [D] bound covering the run.
    Arguments of the wrong kind are refused before any work (TypeError naming each)."""
    get_algorithm(name)
    require_instance("config", config, ExperimentConfig, "an altsim.rates.ExperimentConfig")
    require_problem("problem", problem)
    require_instance("cert", cert, Certified, "an altsim.synthetic.Certified")
    if config.eta is not None:
        return float(config.eta), None
    explicit = [b for b in BOUNDS.values() if b.algorithm == name and b.provenance == "D"]
    if not explicit:
        raise ValueError(
            f"eta=None (automatic) for {name}: no explicit bound is registered for this algorithm, so the "
            "theory gives no step size; set eta explicitly"
        )
    best: tuple[float, float, Bound] | None = None
    reasons = []
    for b in explicit:
        values = {
            "n": problem.n,
            "m": config.m or problem.n,
            "tau": config.tau,
            "tau_u": config.tau_u,
            "tau_v": config.tau_v,
            **cert.values(),
            **({} if config.eta_v is None else {"eta_v": float(config.eta_v)}),
        }
        if b.uncertified(values):
            reasons.append(
                f"{b.name}: {', '.join(b.uncertified(values))} not certified for this problem"
            )
            continue
        eta, value = optimal_eta(b, values, config.rounds)
        cov = b.covers(
            _setting(
                config,
                problem,
                cert,
                make_algorithm(name, config, eta, (cert.L_u, cert.L_v)),
                eta,
                cert.L_v,
            )
        )
        if cov and (
            best is None or value < best[1] * (1 - 1e-9)
        ):  # ties keep the earlier (full-participation) bound
            best = (eta, value, b)
        elif not cov:
            reasons.append(f"{b.name}: {'; '.join(cov.reasons)}")
    if best is None:
        raise ValueError(
            f"eta=None (automatic) for {name}: no [D] bound covers this run, so the theory gives no step "
            f"size; set eta explicitly. Reasons: {' | '.join(reasons)}"
        )
    return best[0], best[2]


@dataclass
class Result:
    """Trajectories of every algorithm of one experiment, with the problem's certified constants."""

    config: ExperimentConfig
    constants: Certified
    trajectories: dict[str, Trajectory]
    settings: dict[str, dict]
    step_bounds: dict[str, str | None]
    environment: dict
    held_out_accuracy: dict[str, np.ndarray] = field(default_factory=dict)
    """Per algorithm, each seed's held-out accuracy at the last round (mean over clients), for families
    with held-out data (`held_out_accuracy(u, V)`, e.g. `digits`); empty otherwise."""

    def compare(self, bounds: list[Bound] | None = None) -> dict[str, Comparison]:
        """One `Comparison` per algorithm, against `bounds` (default: every registered bound); a `bounds`
        that is not None or a list of `altsim.theory.Bound` is refused (TypeError)."""
        if bounds is not None:
            require_instance(
                "bounds", bounds, (list, tuple), "None or a list of altsim.theory.Bound"
            )
            for j, b in enumerate(bounds):
                require_instance(f"bounds[{j}]", b, Bound, "an altsim.theory.Bound")
        pool = list(bounds if bounds is not None else BOUNDS.values())
        return {
            a: compare(tr, [b for b in pool if b.algorithm == a], self.settings[a])
            for a, tr in self.trajectories.items()
        }

    def to_frame(self) -> Any:
        """Every measured round as a tidy pandas DataFrame, with the columns of rounds.csv
        (`rates.frames.ROUND_COLUMNS`): one row per (algorithm, seed, round). Needs pandas
        (`pip install "altsim[notebook]"`)."""
        return data_frame(round_table(self.trajectories), "Result.to_frame")

    def bound_curve(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(horizons T, the bound `name` at this run's own setting at each T) for the algorithm the bound
        is on; a ValueError naming the reasons when the bound does not cover this run."""
        bound = get_bound(name)
        if bound.algorithm not in self.settings:
            raise ValueError(
                f"name={name!r}: a bound on {bound.algorithm}, which this run did not run "
                f"(it ran {', '.join(self.settings)})"
            )
        setting = self.settings[bound.algorithm]
        cover = bound.covers(setting)
        if not cover:
            raise ValueError(f"name={name!r}: does not cover this run: {'; '.join(cover.reasons)}")
        T = self.trajectories[bound.algorithm].horizons.astype(float)
        return T, np.asarray(bound.evaluate({**setting, "T": T}), dtype=float)


def environment(device: torch.device | str) -> dict:
    """The versions of altsim, torch, numpy and Python, the device and the platform: recorded with each result."""
    return {
        "altsim": altsim.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "platform": platform.platform(),
    }


def check_requested_bounds(
    config: ExperimentConfig,
    problem: Problem,
    cert: Certified,
    steps: dict,
    scales: tuple[float, float],
) -> None:
    """Refuse, before any work, a run that falls outside a bound the user asked to compare against;
    warn when an explicit eta leaves the step-size range of every [D] bound of an algorithm."""
    for name in config.bounds:
        b = get_bound(name)
        if b.algorithm not in config.algorithms:
            raise ValueError(
                f"bounds: {name!r} is a bound for {b.algorithm}, which is not in algorithms {list(config.algorithms)}"
            )
        eta = steps[b.algorithm][0]
        alg = make_algorithm(b.algorithm, config, eta, scales)
        cov = b.covers(_setting(config, problem, cert, alg, eta, scales[1]))
        if not cov:
            raise ValueError(
                f"bounds: the run is outside the conditions of bound {name} (eta={eta:g}): "
                f"{'; '.join(cov.reasons)}"
            )
    if config.eta is None:
        return
    for alg in config.algorithms:
        algorithm = make_algorithm(alg, config, config.eta, scales)
        setting = _setting(config, problem, cert, algorithm, config.eta, scales[1])
        for b in (b for b in BOUNDS.values() if b.algorithm == alg and b.provenance == "D"):
            cov = b.covers(setting)
            if cov.only_step_size():  # another eta would make this bound cover the run: say so
                warnings.warn(
                    f"eta={config.eta:g} for {alg}: outside {b.name}'s condition(s) "
                    f"{'; '.join(cov.reasons)}; that bound will not cover the run",
                    stacklevel=3,
                )


def memory_estimate(config: ExperimentConfig) -> dict:
    """Bytes a run will hold at its peak, estimated from the config alone (nothing allocated), and the
    part that dominates: the instance data, the batched state, or the per-round history."""
    from altsim.synthetic import family_config, get_family

    fam = get_family(config.family)
    n, d_u, d_v, data = fam.dimensions(family_config(config.family, config.problem))
    item = 4 if config.dtype == "float32" else 8
    R = len(config.seeds)
    parts = {
        "instance data": 16 * data,  # drawn in float64, then cast: two copies at once
        "state": 10
        * item
        * R
        * n
        * (d_u + d_v),  # state, next state, gathered rows, gradients, noise, measurement
        "history": 6 * 8 * R * ((config.rounds + config.measure_every - 1) // config.measure_every),
    }
    return {
        "bytes": sum(parts.values()),
        "parts": parts,
        "n": n,
        "d_u": d_u,
        "d_v": d_v,
        "seeds": R,
    }


def _memory_available(device: str) -> int:
    if str(device).startswith("cuda"):
        return int(torch.cuda.mem_get_info()[0])
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): no estimate to refuse by
        return 2**62


def check_memory(config: ExperimentConfig, fraction: float = 0.8) -> dict:
    """Refuse, naming the parameters, a run whose estimated peak exceeds `fraction` of the device's memory."""
    est = memory_estimate(config)
    available = _memory_available(config.device)
    if est["bytes"] > fraction * available:
        biggest = max(est["parts"], key=est["parts"].get)
        knobs = {
            "instance data": "the family's size parameters (n, samples, features, ...)",
            "state": f"n={est['n']}, d_u={est['d_u']}, d_v={est['d_v']} or the {est['seeds']} seeds",
            "history": f"rounds={config.rounds} (or raise measure_every={config.measure_every})",
        }[biggest]
        raise ValueError(
            f"this run needs about {est['bytes'] / 2**30:.3g} GiB ({biggest} dominates), more than "
            f"{fraction:.0%} of the {available / 2**30:.3g} GiB of memory on {config.device}; reduce {knobs}"
        )
    return est


def _warn_unused_fields(config: ExperimentConfig) -> None:
    """Warn when a config field that sets a hyperparameter is changed but no algorithm of the run has it."""
    defaults = {f.name: f.default for f in dataclasses.fields(ExperimentConfig)}
    for key in ("tau", "tau_u", "tau_v", "stateless", "official"):
        if getattr(config, key) == defaults[key]:
            continue
        users = [
            a
            for a in config.algorithms
            if key in {f.name for f in dataclasses.fields(ALGORITHMS[a])}
            or (
                key in ("official", "tau")
                and callable(getattr(ALGORITHMS[a], "official", None))
                and config.official
            )
        ]
        if not users:
            warnings.warn(
                f"{key}={getattr(config, key)!r}: no algorithm of this run ({', '.join(config.algorithms)}) "
                "has that hyperparameter, so it has no effect",
                stacklevel=4,
            )


def preflight(config: ExperimentConfig):
    """Everything `run` checks and decides before simulating: (problem, certified, steps, scales)."""
    from altsim.synthetic import resolve_device, resolve_dtype

    resolve_device(config.device)
    resolve_dtype(config.dtype)
    check_memory(config)
    problem = make_problem(
        config.family,
        config.problem,
        seed=config.problem_seed,
        device=config.device,
        dtype=config.dtype,
    )
    if config.m is not None:
        require("m", config.m, low=1, high=problem.n, integer=True)
    cert = problem.certified_constants()
    steps = {a: choose_step(a, config, problem, cert) for a in config.algorithms}
    scales = scales_of(problem, cert)
    _warn_unused_fields(config)
    for a in config.algorithms:  # hyperparameters and options are checked here, not mid-run
        alg = make_algorithm(a, config, steps[a][0], scales[:2])
        if hasattr(alg, "validate_for"):
            alg.validate_for(problem)
    check_requested_bounds(config, problem, cert, steps, scales[:2])
    return problem, cert, steps, scales


def run(
    config: ExperimentConfig, progress: Callable[[str, int, int], None] | None = None
) -> Result:
    """Run every algorithm of `config` (validated before any work) and return the `Result`. A
    `config` that is not an `ExperimentConfig` (build one with `ExperimentConfig.from_dict(table)`)
    or a `progress` that is not a function is refused (TypeError)."""
    require_instance(
        "config",
        config,
        ExperimentConfig,
        "an altsim.rates.ExperimentConfig (a dict: ExperimentConfig.from_dict(table))",
    )
    require_callable("progress", progress)
    problem, cert, steps, (L_u, L_v, source) = preflight(config)
    with work_started():
        return _simulate_all(config, problem, cert, steps, L_u, L_v, source, progress)


@contextlib.contextmanager
def work_started():
    """Mark the code inside as work under way: a ValueError there is a failure of the run (the CLI's
    exit 1), not a refusal before any work (exit 2), so it is re-raised as a RuntimeError."""
    try:
        yield
    except ValueError as e:
        raise RuntimeError(str(e)) from e


def _simulate_all(config, problem, cert, steps, L_u, L_v, source, progress) -> Result:
    trajectories, settings, accuracy = {}, {}, {}
    held_out = getattr(problem, "held_out_accuracy", None)
    for name in config.algorithms:
        eta, _ = steps[name]
        alg = make_algorithm(name, config, eta, (L_u, L_v))
        cb = (lambda t, T, name=name: progress(name, t, T)) if progress else None
        last: dict[str, Any] = {}
        keep_last = (
            (lambda t, state: last.__setitem__("state", state))  # noqa: B023 (read in this iteration)
            if held_out is not None
            else None
        )
        trajectories[name] = simulate(
            problem,
            alg,
            rounds=config.rounds,
            m=config.m or problem.n,
            seeds=config.seeds,
            measure_every=config.measure_every,
            progress=cb,
            scales=(L_u, L_v),
            compile=config.compile,
            on_state=keep_last,
            reuse_local_draw=config.reuse_local_draw,
        )
        settings[name] = {
            **_setting(config, problem, cert, alg, eta, L_v),
            "scales": source,
            "scale_L_u": L_u,
            "scale_L_v": L_v,
            "round_path": trajectories[name].setting["round_path"],
        }
        if held_out is not None:
            state = last["state"]
            u = state.client.get("u", state.u)  # full personalization keeps each client's own u
            with torch.no_grad():
                accuracy[name] = held_out(u, state.V).mean(-1).cpu().numpy()
    return Result(
        config,
        cert,
        trajectories,
        settings,
        {a: (b.name if b else None) for a, (_, b) in steps.items()},
        environment(problem.device),
        accuracy,
    )
