"""The experiment engine: run an algorithm on a problem, batched over seeds and clients.

The only Python loops are over rounds (here) and local steps (in the algorithm). At every
measured round the engine computes, exactly and with full gradients over all n clients,

    ||grad_u F(u^t, V^t)||^2,   (1/n) sum_i ||grad_v F_i(u^t, v_i^t)||^2,   F(u^t, V^t) - F_lower,

from which `Trajectory.stationarity(weight)` forms Delta_t with `altsim.theory.stationarity`, the one
place that formula lives (docs/theory.md section 4). The engine knows nothing of any algorithm
beyond the contract in `algorithm.py`: `init` gives a `State`, `round` maps it to the next.
A seed whose state or measure becomes non-finite, or whose measure exceeds
`blowup * max(Delta_0, 1)`, is stopped: its round is recorded in `diverged_at`, its later
measurements are NaN, and the other seeds go on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from altsim.theory import require, stationarity
from altsim.theory.checks import require_bool, require_callable, shown

from .algorithm import Algorithm, State
from .fused import COMPILE_CHOICES, RoundRunner, check_backend, should_compile
from .measurement import Trajectory, scales_of
from .measurement import measure as measure  # lived here before measurement.py: re-exported
from .noise import NoiseStream


def _check_arguments(
    problem, algorithm, rounds, m, seeds, measure_every, blowup, callbacks, scales, compile, backend
) -> None:
    """Refuse `simulate`'s arguments before any work: TypeError for a wrong kind of object, ValueError
    naming the argument, its value and the valid range otherwise."""
    from altsim.synthetic.problem import require_problem

    require_problem("problem", problem)
    if isinstance(algorithm, type) or not isinstance(algorithm, Algorithm):
        raise TypeError(
            f"algorithm={shown(algorithm)}: must be an algorithm instance (with init, round, setting; "
            f"e.g. FedAlt(gamma_u=0.1, gamma_v=0.1)), not {type(algorithm).__name__}"
        )
    require("rounds", rounds, low=1, integer=True)
    require("m", m, low=1, high=problem.n, integer=True)
    if isinstance(seeds, (str, bytes, Mapping)) or not isinstance(
        seeds, (Sequence, np.ndarray, range)
    ):
        raise TypeError(
            f"seeds={shown(seeds)}: must be a list of integer seeds, not {type(seeds).__name__}"
        )
    if len(seeds) == 0:
        raise ValueError("seeds=[]: give at least one seed")
    for s in seeds:
        require("seeds[]", s, low=0, high=2**31 - 1, integer=True)
    require("measure_every", measure_every, low=1, integer=True)
    require("blowup", blowup, low=0, low_open=True, allow_inf=True)
    for name, cb in zip(("progress", "on_round", "on_state"), callbacks):
        require_callable(name, cb)
    if scales is not None:
        if not (isinstance(scales, (tuple, list)) and len(scales) == 2):
            raise TypeError(f"scales={shown(scales)}: must be None or a pair (L_u, L_v)")
        for name, x in zip(("scales[0]", "scales[1]"), scales):
            require(name, x, low=0, low_open=True)
    if not isinstance(compile, str) or compile not in COMPILE_CHOICES:
        raise ValueError(f"compile={shown(compile)}: must be one of {', '.join(COMPILE_CHOICES)}")
    if not (isinstance(backend, str) or callable(backend)):  # a name is checked where it compiles
        check_backend(backend)


def simulate(
    problem,
    algorithm: Algorithm,
    *,
    rounds: int,
    m: int,
    seeds: Sequence[int],
    measure_every: int = 1,
    blowup: float = 1e12,
    progress: Callable[[int, int], None] | None = None,
    on_round: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None,
    scales: tuple[float, float] | None = None,
    on_state: Callable[[int, State], None] | None = None,
    compile: str = "auto",
    compile_backend: str = "inductor",
    reuse_local_draw: bool = False,
) -> Trajectory:
    """Run `algorithm` for `rounds` rounds with m of problem.n clients per round, one batch of seeds.

    `progress(t, rounds)`, `on_round(t, u^{t+1}, V^{t+1})` and `on_state(t, state^{t+1})` are called
    after each round (callbacks keep logging and inspection out of the algorithm). `scales` = (L_u, L_v)
    normalises Delta_t; it defaults to `scales_of` (certified constants, else measured ones).
    `compile` ("auto", "on", "off") fuses each round and measurement with torch.compile (`altsim.rates.fused`);
    the trajectory's setting records the path that ran ("round_path": "compiled" or "eager"); `compile_backend`
    is torch.compile's backend ("aot_eager" traces without generating kernels: a fast check of capture).
    `reuse_local_draw` makes every local step of a round reuse the round's first draw (one minibatch per
    round and block, as a fixed per-round batch would); the local-step bounds refuse such a run (their
    `sample_independence` condition). Every argument is checked before any work (`_check_arguments`).
    """
    _check_arguments(
        problem,
        algorithm,
        rounds,
        m,
        seeds,
        measure_every,
        blowup,
        (progress, on_round, on_state),
        scales,
        compile,
        compile_backend,
    )
    require_bool("reuse_local_draw", reuse_local_draw)
    dev = problem.device
    R = len(seeds)
    noise = NoiseStream(
        torch.as_tensor(list(seeds)), dev, problem.dtype, reuse_local_draw=reuse_local_draw
    )
    runner = RoundRunner(
        problem,
        algorithm,
        m,
        noise,
        compiled=should_compile(compile, problem, rounds, R, m),
        backend=compile_backend,
    )
    state = algorithm.init(problem, R)
    cert = problem.certified_constants()
    L_u, L_v = scales if scales is not None else scales_of(problem, cert)[:2]
    if not (math.isfinite(L_u) and math.isfinite(L_v) and L_u > 0 and L_v > 0):
        raise ValueError(f"scales=({L_u}, {L_v}): must be finite and > 0")
    L_u, L_v = float(L_u), float(L_v)
    measured_rounds = range(0, rounds, measure_every)  # a range, never a list of every round
    gu_hist, gv_hist, gap_hist = [], [], []
    alive = torch.ones(R, dtype=torch.bool, device=dev)
    diverged_at = np.full(R, -1, dtype=int)
    limit = None
    for t in range(rounds):
        if t % measure_every == 0:
            gu2, gv2, F = runner.measure(state.u, state.V)
            delta_t = stationarity(gu2, gv2, L_u, L_v)
            if limit is None:
                limit = blowup * torch.clamp(delta_t, min=1.0)
            bad = alive & (~torch.isfinite(delta_t) | (delta_t > limit) | ~torch.isfinite(F))
            if bad.any():
                diverged_at[bad.cpu().numpy()] = t
                alive &= ~bad
            nan = torch.full_like(gu2, float("nan"))
            gu_hist.append(torch.where(alive, gu2, nan))
            gv_hist.append(torch.where(alive, gv2, nan))
            gap_hist.append(torch.where(alive, F - cert.F_lower, nan))
        new = runner.step(state, t)
        newly = alive & ~new.finite()
        if newly.any():
            diverged_at[newly.cpu().numpy()] = t
            alive &= ~newly
        # A stopped seed keeps its last finite state, so NaN never spreads through the batch.
        state = new.where(alive, state)
        if on_round is not None:
            on_round(t, state.u, state.V)
        if on_state is not None:
            on_state(t, state)
        if progress is not None:
            progress(t + 1, rounds)
    stack = lambda xs: torch.stack(xs, dim=1).cpu().numpy().astype(np.float64)  # noqa: E731
    return Trajectory(
        algorithm=algorithm.name,
        setting={
            **algorithm.setting(),
            "n": problem.n,
            "m": int(m),
            "rounds": int(rounds),
            "measure_every": measure_every,
            "reuse_local_draw": int(reuse_local_draw),
            "round_path": "compiled" if runner.compiled else "eager",
        },
        seeds=np.asarray(list(seeds)),
        rounds=np.asarray(measured_rounds),
        grad_u_sq=stack(gu_hist),
        grad_v_sq_mean=stack(gv_hist),
        objective_gap=stack(gap_hist),
        L_u=L_u,
        L_v=L_v,
        diverged_at=diverged_at,
    )
