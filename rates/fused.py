"""Compiled rounds: a round and the measurement fused into a few kernels by `torch.compile`.

The engine's loop calls, per round, `sample_clients` then the algorithm's `round`, and at measured
rounds `measure`. Run eagerly, each is some fifty small passes over memory. `RoundRunner` hands
the same Python functions to `torch.compile` (TorchInductor: C++ on the CPU, Triton on a GPU),
which fuses each into a few kernels. Nothing else changes: the algorithm, the problem's oracles
and the counter-based noise stream are the same code, and the round index reaches the round as a
0-d int64 tensor (the noise stream hashes it in the graph, so one compiled round serves every t).

When it pays. Compiling costs far more than it saves on short runs: on the project's 2-core CPU
(benchmarks/RESULTS.md, "Compiled rounds") a FedAlt round (tau_u = tau_v = 5) at n = 10^5 took
193 s to compile with a cold cache and then ran 1.4x to 1.8x faster (53 ms against 74 to 99 ms).
Shapes are static, so every new (seeds, n, m, d) compiles again. `compile="auto"` therefore
compiles only when the run's work, rounds x seeds x clients per round x (d_u + d_v), passes
`AUTO_COMPILE_WORK`, the break-even point those measurements give. On a GPU an eager round is
bound by kernel launches, not by size (11 to 19 ms for a FedAlt round with 5 + 5 local steps at
any n from 10^2 to 10^6 on an H200), so there `auto` compiles past `AUTO_COMPILE_ROUNDS_CUDA`
rounds; "on" and "off" decide outright. Where compilation is unavailable
(no C++ compiler, no Triton, an unsupported Python) or fails on an algorithm, the run goes on
eagerly after a one-line notice on stderr.

Agreement. Fusion reorders no reduction in these rounds but may evaluate sin, cos and exp with
other instructions, so the compiled path agrees with the eager one to about 1e-15 relative in
float64 rather than bitwise (tests/test_fused.py asserts 1e-12); on each path, seeds run together
equal seeds run alone bitwise.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import shutil
import sys
import types

import torch

from .algorithm import Algorithm, State
from .measurement import measure_unchecked
from .noise import NoiseStream

COMPILE_CHOICES = ("auto", "on", "off")

AUTO_COMPILE_WORK = 1e10
"""Break-even work (rounds x seeds x m x (d_u + d_v)) for compile="auto" on a CPU: the cold compile
cost over the per-element saving, both measured by `altsim bench` (its `compile_break_even_work`:
4.4e9 and 9.2e9 in two runs on the 2-core machine, benchmarks/RESULTS.md); for example 10^4 rounds
of 4 seeds at m = 10^3, d_u = d_v = 125."""


AUTO_COMPILE_ROUNDS_CUDA = 20_000
"""Rounds past which compile="auto" compiles on a GPU. Measured on an H200 (benchmarks/RESULTS.md,
"GPU"): compiling saves 10 to 18 ms per round (eager 11 to 19 ms, compiled 0.4 to 1.2 ms) and a
cold compile took 22 s to 157 s by shape, so 2 x 10^4 rounds save more than the slowest compile."""


def compile_unavailable(device: torch.device) -> str | None:
    """Why torch.compile cannot run on `device` here, or None when it can."""
    if not hasattr(torch, "compile"):
        return f"torch {torch.__version__} has no torch.compile"
    import warnings

    # torch's own compiler stack still decorates with torch.jit.script_method, which warns on import
    warnings.filterwarnings(
        "ignore", message=r".*torch\.jit\.script_method.*", category=DeprecationWarning
    )
    import torch._dynamo as dynamo

    if not dynamo.is_dynamo_supported():
        return f"torch.compile does not support Python {sys.version.split()[0]}"
    if device.type == "cuda":
        return None if importlib.util.find_spec("triton") else "Triton is not installed"
    from torch._inductor import config as inductor_config

    cxx = (
        inductor_config.cpp.cxx[-1]
        if isinstance(inductor_config.cpp.cxx, tuple)
        else inductor_config.cpp.cxx
    )
    if cxx is None:
        cxx = "g++"
    return None if shutil.which(str(cxx)) else f"no C++ compiler ({cxx}) on PATH"


def run_work(problem, rounds: int, seeds: int, m: int) -> float:
    """The work `AUTO_COMPILE_WORK` is measured in: element-rounds of the sampled clients' parameters."""
    return float(rounds) * seeds * m * (problem.d_u + problem.d_v)


def check_backend(backend) -> None:
    """A torch.compile backend: a callable, or a name torch knows (ValueError naming it otherwise)."""
    if callable(backend):
        return
    known = torch.compiler.list_backends(exclude_tags=()) if isinstance(backend, str) else []
    if backend not in known:
        raise ValueError(
            f"compile_backend={backend!r}: must be a callable or one of torch.compile's backends "
            f"({', '.join(b for b in known if 'TESTING' not in b) or 'inductor, aot_eager, ...'})"
        )


def should_compile(choice: str, problem, rounds: int, seeds: int, m: int) -> bool:
    """Whether a run compiles its round: `choice` 'on' or 'off' as said; 'auto' compiles on a GPU past
    `AUTO_COMPILE_ROUNDS_CUDA` rounds and on a CPU past `AUTO_COMPILE_WORK` (`run_work`), the measured
    break-even points."""
    if choice not in COMPILE_CHOICES:
        raise ValueError(f"compile={choice!r}: must be one of {', '.join(COMPILE_CHOICES)}")
    if choice == "auto":
        if problem.device.type == "cuda":
            return rounds >= AUTO_COMPILE_ROUNDS_CUDA
        return (
            problem.device.type == "cpu"
            and run_work(problem, rounds, seeds, m) >= AUTO_COMPILE_WORK
        )
    return choice == "on"


_NOTICES_SHOWN: set[str] = set()


def _notice(msg: str) -> None:
    """One line on stderr, once per process (a sweep of many runs repeats no notice)."""
    if msg not in _NOTICES_SHOWN:
        _NOTICES_SHOWN.add(msg)
        print(f"altsim: {msg}; running eagerly", file=sys.stderr, flush=True)


_COPIES = itertools.count()


def _own_copy(fn):
    """fn with a code object of its own. torch.compile caches compiled graphs, and caps their number
    (past the cap it silently runs the function uncompiled), per code object; one copy per runner
    keeps each run's graphs apart from every other run's."""
    code = fn.__code__.replace(co_name=f"{fn.__name__}_{next(_COPIES)}")
    return types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)


def _round(runner: RoundRunner, state: State, t) -> State:
    """What the engine does each round: sample the clients, run the algorithm's round."""
    clients = runner.noise.sample_clients(t, runner.problem.n, runner.m)
    return runner.algorithm.round(runner.problem, state, clients, runner.noise, t)


def _flat_round(runner: RoundRunner, u, V, client, server, t):
    new = _round(runner, State(u, V, client, server), t)
    return new.u, new.V, new.client, new.server


def _measure(runner: RoundRunner, u, V):
    return measure_unchecked(runner.problem, u, V)


class RoundRunner:
    """One round (`step(state, t)`) and the measurement (`measure(u, V)`), compiled or eager.

    `compiled` says which path runs now; it turns False for good after a compilation failure.
    `backend` is torch.compile's: "inductor" generates fused kernels; "aot_eager" only traces
    (the fast check that a round can be captured, which the default tests use)."""

    def __init__(
        self,
        problem,
        algorithm: Algorithm,
        m: int,
        noise: NoiseStream,
        *,
        compiled: bool = False,
        backend: str = "inductor",
    ):
        self.problem, self.algorithm, self.m, self.noise = problem, algorithm, int(m), noise
        self.compiled = False
        if compiled:
            check_backend(backend)
            reason = compile_unavailable(problem.device) if backend == "inductor" else None
            if reason:
                _notice(f"compilation unavailable ({reason})")
            else:
                self.compiled = True
                # The noise stream caches a word per coordinate; filled before tracing, the cache is the
                # same at every round, so the round compiles once rather than again at round 1.
                for dim in {
                    problem.d_u,
                    problem.d_v,
                    getattr(problem, "noise_dim_u", problem.d_u),
                    getattr(problem, "noise_dim_v", problem.d_v),
                }:
                    noise._coord_words(dim)
                # Static shapes: a run's shapes never change (dynamic=True recompiled every round here).
                self._round_c = torch.compile(
                    _own_copy(_flat_round), dynamic=False, backend=backend
                )
                self._measure_c = torch.compile(_own_copy(_measure), dynamic=False, backend=backend)

    def _fallback(self, err: BaseException) -> None:
        self.compiled = False
        while (inner := getattr(err, "inner_exception", None) or err.__cause__) is not None:
            err = inner  # torch wraps the compiler's own error: show that one
        first = str(err).strip().splitlines()[0][:120] if str(err).strip() else ""
        _notice(f"compiling {self.algorithm.name} failed ({type(err).__name__}: {first})")

    def step(self, state: State, t: int) -> State:
        """The state after round `t` (clients sampled, the algorithm's round), compiled when `compiled`; a
        compilation failure falls back to the eager round for good, with one notice."""
        if self.compiled:
            try:
                t_tensor = torch.tensor(t, dtype=torch.int64, device=self.problem.device)
                with _loud_recompile_limit():
                    return State(
                        *self._round_c(self, state.u, state.V, state.client, state.server, t_tensor)
                    )
            except Exception as err:
                self._fallback(err)
        return _round(self, state, t)

    def measure(self, u: torch.Tensor, V: torch.Tensor):
        """(||grad_u F||^2, mean_i ||grad_v F_i||^2, F) at (u, V) for every seed (`altsim.rates.measurement.measure`),
        compiled when `compiled`, with the same fallback as `step`."""
        if self.compiled:
            try:
                with _loud_recompile_limit():
                    return self._measure_c(self, u, V)
            except Exception as err:
                self._fallback(err)
        return _measure(self, u, V)


def _loud_recompile_limit():
    """Past torch's cap on recompilations it would run the round uncompiled without a word; raising
    instead sends it through the fallback, its notice and round_path = "eager"."""
    import torch._dynamo.config as dynamo_config

    if hasattr(dynamo_config, "fail_on_recompile_limit_hit"):
        return dynamo_config.patch(fail_on_recompile_limit_hit=True)
    return contextlib.nullcontext()
