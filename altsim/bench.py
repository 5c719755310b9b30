"""`altsim bench`: the batched engine's speed, measured side by side in one process (the harness
behind `altsim bench`; benchmarks/RESULTS.md records its runs).

Each figure is a median of repeats after a warm-up. Keys of the JSON report:

- engine_vs_loop_speedup: seconds per round of the per-client loop reference over the batched
  engine (closed-form family, n = 1000, m = 100, d_u = d_v = 50, FedAlt tau_u = tau_v = 5, float32);
- scaling_exponent_n: slope of log(seconds per round) against log n for n = 10^2 .. 10^6, m = n/10
  (rounds alone: the engine's measurement is left out, as `measure_every` lets a large run do);
- seed_batch_cost_ratio_64: time of 64 seeds in one batch over time of one seed;
- engine_vs_loop_speedup_compiled, seed_batch_cost_ratio_64_compiled: the same two with compiled
  rounds (`altsim.rates.fused`; compile time excluded, it is reported below);
- fraction_of_roofline: at n = 10^5, the time the lower of two ceilings allows for a round over the
  measured time. The ceilings: the bytes a round must move (`closed_form_round_bytes`) at the
  machine's stream bandwidth (a large triad, same process), and the round's elementwise operation
  mix in one fused pass with no memory traffic (`op_mix_seconds`, compiled). Reported for the eager
  and the compiled round; `fraction_of_roofline` is the better of the two, `roofline_path` says which;
- fraction_of_matmul_flops: shared_representation only (its oracles are matrix products): its
  round's arithmetic rate, FLOPs counted from the formulas, over a large matmul's rate;
- compiled_speedup_n1e5, compile_seconds, compile_break_even_work: the compiled round against the
  eager one at n = 10^5, the cold compile time (a fresh cache), and the work (rounds x seeds x m x
  (d_u + d_v)) past which compiling pays (what `altsim.rates.fused.AUTO_COMPILE_WORK` is set from);
- peak_memory_mb_n1e5: peak memory of a run at n = 10^5, d_v = 100 (CPU: resident memory above an idle
  process; CUDA: torch's allocator peak);
- bound_evals_per_second_lambdify / _subs: symbolic evaluation throughput;
- flower_speedup_n100 / _n1000 (with --peers and `flwr` installed): Flower's simulation engine
  against altsim on the same problem (`altsim.peers.flower`);
- machine: cores, torch version, device.

The quick variant runs smaller sizes, compiles nothing, and leaves out keys it does not measure.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np
import torch

from altsim.rates import FedAlt
from altsim.rates.fused import compile_unavailable, run_work
from altsim.rates.timing import Rounds, sync
from altsim.synthetic import make_problem


def _median(fn, repeats: int) -> float:
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def _warm_device(device: str, seconds: float = 2.0) -> None:
    """Keep a GPU busy for a moment before timing: an idle one runs at a low clock and ramps up under
    load (on an H200 the first timings of a one-seed round read 17 ms, later ones 11.5 ms)."""
    if not str(device).startswith("cuda"):
        return
    a = torch.randn(4096, 4096, device=device)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ a
        sync(device)


def _problem(n: int, d: int, device: str, dtype: str = "float32", d_v: int | None = None):
    return make_problem(
        "coupled_quadratic",
        dict(n=n, d_u=d, d_v=d_v or d, chi=0.5, delta=1.0, sigma_u=0.1, sigma_v=0.1),
        seed=0,
        device=device,
        dtype=dtype,
    )


def engine_rounds(problem, alg, rounds: int, m: int, seeds, device: str = "cpu") -> None:
    """Run `rounds` eager rounds of `alg` on `problem` (m clients sampled, one batch over `seeds`), without
    measuring: the work an engine timing holds."""
    Rounds(problem, alg, m, seeds)(rounds)


# -- the roofline ---------------------------------------------------------------------------------
def closed_form_round_bytes(R: int, m: int, d_u: int, d_v: int, itemsize: int) -> int:
    """Bytes a FedAlt or FedSim round on the closed-form family must move, however fused: read u and
    the sampled clients' v_i, b_i and e_i (instance data) and their indices; write their v_i and the
    new u. Local iterates and noise can stay in registers; everything else is extra traffic."""
    floats = R * d_u * 2 + R * m * d_v * 2 + m * (d_u + d_v)
    return floats * itemsize + R * m * 8


def triad_bandwidth(
    device: str, dtype=torch.float32, size: int = 1 << 25, repeats: int = 5
) -> float:
    """Stream bandwidth in bytes/s: a = b + s c over arrays far larger than the caches."""
    b = torch.rand(size, device=device, dtype=dtype)
    c = torch.rand(size, device=device, dtype=dtype)
    a = torch.empty_like(b)

    def triad():
        torch.add(b, c, alpha=0.5, out=a)
        sync(device)

    return 3 * size * b.element_size() / _median(triad, repeats)


def _op_mix(n_elements: int, dtype: torch.dtype, device: str) -> torch.Tensor:
    """One local step's per-coordinate work on the closed-form family with no memory traffic: the
    noise hash of the coordinate's index and its normal quantile, the gradient (linear, periodic and
    coupling terms, at a point taken from the draw itself rather than loaded), the noise and the step.
    Summed, so that nothing is written back."""
    from altsim.rates.noise import _fmix32_wrapping, _unit_interval

    idx = torch.arange(n_elements, device=device, dtype=torch.int32)
    z = torch.special.ndtri(_unit_interval(_fmix32_wrapping(idx ^ 0x1B873593))).to(dtype)
    g = 0.4 * z + 0.1 - 0.3 * torch.sin(2.0 * z) + 0.2 * torch.cos(1.5 * z + 0.7) + 0.1 * z
    return (z - 0.05 * g).sum()


def op_mix_seconds(n_elements: int, device: str, dtype=torch.float32, repeats: int = 5) -> float:
    """Time of `_op_mix` over n_elements, compiled into one fused pass."""
    fn = torch.compile(_op_mix, dynamic=False)

    def run():
        fn(n_elements, dtype, device)
        sync(device)

    return _median(run, repeats)


def round_element_steps(R: int, m: int, d_u: int, d_v: int, tau_u: int, tau_v: int) -> int:
    """Coordinates updated per round: each sampled client's v for tau_v steps and u for tau_u steps."""
    return R * m * (tau_v * d_v + tau_u * d_u)


# -- shared_representation: matrix products ----------------------------------------------------------
def shared_representation_round_flops(
    m: int, k: int, p: int, N: int, tau_u: int, tau_v: int, R: int = 1
) -> float:
    """FLOPs of one FedAlt round on shared_representation, from its formulas (`_grads`, both blocks per
    call): U x_j for N samples (2kpN), residuals (2kN + N), e = sum_j r_j x_j (2pN), grad_v (2kN), grad_U = v e^T
    plus the ridge terms (3kp + 2k), and the step (2kp or 2k)."""
    per_call = 2 * k * p * N + 4 * k * N + N + 2 * p * N + 3 * k * p + 2 * k
    return float(R * m * (tau_v * (per_call + 2 * k) + tau_u * (per_call + 2 * k * p)))


def matmul_gflops(device: str, size: int = 2048, repeats: int = 5, dtype=torch.float32) -> float:
    """The device's dense matmul throughput in GFLOP/s: 2 size^3 over the median time of `repeats`
    size x size products (the compute roof the benchmark's rounds are held against)."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)

    def mm():
        a @ b
        sync(device)

    return 2 * size**3 / _median(mm, repeats) / 1e9


def _peak_rss_mb(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


# The child's own peak: VmHWM belongs to the address space exec made, whereas ru_maxrss on Linux carries
# over from the parent across fork and exec (a bench process that has run n = 10^6 would mask the child).
_RSS = (
    "import os, resource\n"
    "status = '/proc/self/status'\n"
    "hwm = [l for l in open(status) if l.startswith('VmHWM')] if os.path.exists(status) else []\n"
    "print(int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
)


def peak_memory_mb(n: int, d_v: int, device: str) -> float:
    """Peak memory of a short run at (n, d_v). On the CPU: peak RSS minus that of a process that made the
    same imports and built nothing. On CUDA: the peak of torch's CUDA allocator (the run's data lives there)."""
    imports = "import torch\nfrom altsim.bench import _problem, engine_rounds\nfrom altsim.rates import FedAlt\n"
    run = (
        f"p = _problem({n}, 50, {device!r}, d_v={d_v})\n"
        f"engine_rounds(p, FedAlt(gamma_u=0.1, gamma_v=0.1, tau_u=5, tau_v=5), 3, {max(1, n // 10)}, [0], {device!r})\n"
    )
    if str(device).startswith("cuda"):
        return _peak_rss_mb(imports + run + "print(torch.cuda.max_memory_allocated() / 2**20)")
    base = _peak_rss_mb(
        imports + _RSS
    )  # the same imports, no data: the difference is the run's own memory
    return _peak_rss_mb(imports + run + _RSS) - base


def bound_throughput(size: int, subs_points: int = 200) -> dict:
    """Evaluations per second of one bound: lambdify (numpy, torch) on a grid against sympy subs."""
    from altsim import theory
    from altsim.theory.symbols import SYMBOLS

    b = theory.get_bound(
        "fedsim_sgd_partial"
    )  # a closed form (a bound with free weights adds its weight search)
    rng = np.random.default_rng(0)
    grid = dict(
        Delta_F0=rng.uniform(0.1, 10, size),
        chi=rng.uniform(0, 1, size),
        eta=rng.uniform(0.01, 0.5, size),
        sigma_u=rng.uniform(0, 1, size),
        sigma_v=rng.uniform(0, 1, size),
        delta=rng.uniform(0, 2, size),
        L_u=1.0,
        L_v=2.0,
        n=100,
        m=10,
        T=rng.integers(1, 10_000, size).astype(float),
    )
    t_np = _median(lambda: b.evaluate(grid), 5)
    tgrid = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in grid.items()}
    t_torch = _median(lambda: b.evaluate_torch(tgrid), 5)
    pts = [
        {k: (float(v[i]) if isinstance(v, np.ndarray) else v) for k, v in grid.items()}
        for i in range(subs_points)
    ]
    t_subs = _median(
        lambda: [float(b.expression.subs({SYMBOLS[k]: v for k, v in p.items()})) for p in pts], 2
    )
    return {
        "grid_size": size,
        "seconds_numpy": t_np,
        "seconds_torch": t_torch,
        "evals_per_second_lambdify": size / t_np,
        "evals_per_second_torch": size / t_torch,
        "evals_per_second_subs": subs_points / t_subs,
    }


@contextlib.contextmanager
def _fresh_compile_cache():
    """A new, empty TorchInductor cache for the duration (so a compile time is a cold one)."""
    old = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="altsim-bench-inductor-") as d:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = d
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
            else:
                os.environ["TORCHINDUCTOR_CACHE_DIR"] = old


def bench(
    quick: bool = False,
    device: str = "cpu",
    peers: bool = False,
    stream=sys.stderr,
    on_update: Callable[[dict], None] | None = None,
) -> dict:
    """Run every measurement (see the module docstring); progress lines go to `stream`, and
    `on_update(report)` gets the report so far after each one (the CLI writes it, so a failure late
    in a long run keeps what was measured)."""
    from altsim.testing.reference import literal_run

    def say(msg):
        print(f"[bench] {msg}", file=stream, flush=True)
        if on_update is not None:
            on_update(report)

    reps = 1 if quick else 3
    report: dict = {"quick": quick, "machine": machine(device)}
    alg = FedAlt(gamma_u=0.1, gamma_v=0.1, tau_u=5, tau_v=5)
    _warm_device(device)

    # 1. engine against the per-client loop, same problem, config and random streams
    p = _problem(1000, 50, device)
    r_eng, r_loop = (10, 1) if quick else (100, 3)
    eng = Rounds(p, alg, 100, [0])
    t_eng = _median(lambda: eng(r_eng), reps) / r_eng
    t_loop = _median(lambda: literal_run(p, alg, rounds=r_loop, m=100, seed=0), reps) / r_loop
    report.update(
        engine_seconds_per_round=t_eng,
        loop_seconds_per_round=t_loop,
        engine_vs_loop_speedup=t_loop / t_eng,
    )
    say(
        f"engine {t_eng * 1e3:.2f} ms/round, loop {t_loop * 1e3:.1f} ms/round: {t_loop / t_eng:.0f}x"
    )

    # 2. seeds in one batch against one seed (same scenario)
    seed_counts = [1, 8] if quick else [1, 8, 64]
    times = {}
    for R in seed_counts:
        batch = Rounds(p, alg, 100, range(R))
        times[R] = _median(lambda batch=batch: batch(5), reps)
    report["seed_batch_seconds"] = {str(R): t for R, t in times.items()}
    for R in seed_counts[1:]:
        report[f"seed_batch_cost_ratio_{R}"] = times[R] / times[1]
        say(
            f"{R} seeds in one batch cost {times[R] / times[1]:.2f}x one seed ({R}x if run separately)"
        )

    # 1b, 2b. the same two ratios with compiled rounds (each shape compiles once, in the warm-up call)
    no_compile = (
        "the quick run compiles nothing" if quick else compile_unavailable(torch.device(device))
    )
    if no_compile is None:
        eng_c = Rounds(p, alg, 100, [0], compiled=True)
        t_eng_c = _median(lambda: eng_c(r_eng), reps) / r_eng
        batch_c = Rounds(p, alg, 100, range(64), compiled=True)
        t64_c = _median(lambda: batch_c(5), reps)
        t1_c = _median(lambda: eng_c(5), reps)
        report.update(
            engine_seconds_per_round_compiled=t_eng_c,
            engine_vs_loop_speedup_compiled=t_loop / t_eng_c,
            seed_batch_cost_ratio_64_compiled=t64_c / t1_c,
        )
        say(
            f"compiled: engine {t_eng_c * 1e3:.2f} ms/round ({t_loop / t_eng_c:.0f}x the loop); 64 seeds cost "
            f"{t64_c / t1_c:.2f}x one seed"
        )

    # 3. scaling in n (m = n/10)
    ns = [100, 1000, 10_000] if quick else [100, 1000, 10_000, 100_000, 1_000_000]
    per_round = []
    for n in ns:
        rounds = 2 if n >= 1_000_000 else 3 if n >= 100_000 else 5
        scaled = Rounds(_problem(n, 50, device), alg, n // 10, [0])
        timed = lambda scaled=scaled, rounds=rounds: scaled(rounds)  # noqa: E731
        per_round.append(_median(timed, 1 if n >= 1_000_000 else reps) / rounds)
        say(f"n={n}: {per_round[-1] * 1e3:.2f} ms/round")
    report["scaling_n"] = ns
    report["scaling_seconds_per_round"] = per_round
    report["scaling_exponent_n"] = float(np.polyfit(np.log(ns), np.log(per_round), 1)[0])
    report["scaling_exponent_n_top_decade"] = float(
        np.log(per_round[-1] / per_round[-2]) / np.log(ns[-1] / ns[-2])
    )

    # 4. the roofline at n = 10^5 (quick: 10^4, memory ceiling only), eager and compiled rounds
    n4, d4 = (10_000, 50) if quick else (100_000, 50)
    q = _problem(n4, d4, device)
    itemsize = torch.empty(0, dtype=q.dtype).element_size()
    bytes_round = closed_form_round_bytes(1, n4 // 10, d4, d4, itemsize)
    elements = round_element_steps(1, n4 // 10, d4, d4, alg.tau_u, alg.tau_v)
    bandwidth = triad_bandwidth(device, q.dtype, size=(1 << 22) if quick else (1 << 25))
    t_memory = bytes_round / bandwidth
    eager_rounds = Rounds(q, alg, n4 // 10, [0])
    t_eager = _median(lambda: eager_rounds(3), reps) / 3
    roof = {
        "n": n4,
        "m": n4 // 10,
        "d": d4,
        "dtype": str(q.dtype).replace("torch.", ""),
        "bytes_per_round": bytes_round,
        "element_steps_per_round": elements,
        "stream_bandwidth_gb_s": bandwidth / 1e9,
        "memory_ceiling_seconds": t_memory,
        "eager_seconds_per_round": t_eager,
    }
    if no_compile:
        roof["op_mix_seconds"] = None
        roof["ceiling"] = "memory only: " + no_compile
        t_ceiling = t_memory
    else:
        with _fresh_compile_cache():
            t_ops = op_mix_seconds(elements, device, q.dtype)
            compiled_rounds = Rounds(q, alg, n4 // 10, [0], compiled=True)
            t0 = time.perf_counter()
            compiled_rounds(1)  # the first round compiles: a cold cache, so this is the full cost
            compile_seconds = time.perf_counter() - t0
            t_compiled = _median(lambda: compiled_rounds(3), reps) / 3
        t_ceiling = max(t_memory, t_ops)
        roof.update(
            op_mix_seconds=t_ops,
            op_mix_gelements_per_second=elements / t_ops / 1e9,
            ceiling="operation mix" if t_ops >= t_memory else "memory",
            compiled_seconds_per_round=t_compiled,
            fraction_of_roofline_compiled=t_ceiling / t_compiled,
        )
        saving = (t_eager - t_compiled) / run_work(
            q, rounds=1, seeds=1, m=n4 // 10
        )  # seconds per element-round
        report.update(
            compiled_speedup_n1e5=t_eager / t_compiled,
            compile_seconds=compile_seconds,
            compile_break_even_work=(compile_seconds / saving) if saving > 0 else None,
        )
        say(
            f"compiled round {t_compiled * 1e3:.1f} ms vs eager {t_eager * 1e3:.1f} ms "
            f"after {compile_seconds:.0f} s of compilation"
        )
    roof["ceiling_seconds"] = t_ceiling
    roof["fraction_of_roofline_eager"] = t_ceiling / t_eager
    best = max(
        (v, k)
        for k, v in (
            ("eager", roof["fraction_of_roofline_eager"]),
            ("compiled", roof.get("fraction_of_roofline_compiled", -1.0)),
        )
    )
    report.update(roofline=roof, fraction_of_roofline=best[0], roofline_path=best[1])
    say(
        f"roofline: ceiling {t_ceiling * 1e3:.2f} ms ({roof['ceiling']}), fraction {best[0]:.1%} ({best[1]})"
    )

    # 5. shared_representation: its round's arithmetic rate against a large matmul, same process
    # minibatch noise (the family's own): each step's weights over a client's N samples, 64 of them drawn
    sr = (
        dict(n=200, features=64, rank=16, samples=64)
        if quick
        else dict(n=1000, features=128, rank=32, samples=512)
    )
    srp = make_problem(
        "shared_representation",
        dict(sr, noise="minibatch", batch_size=min(64, sr["samples"])),
        seed=0,
        device=device,
        dtype="float32",
    )
    m5 = sr["n"] // 10
    sr_rounds = Rounds(srp, alg, m5, [0])
    t_sr = _median(lambda: sr_rounds(3), reps) / 3
    flops = shared_representation_round_flops(
        m5, sr["rank"], sr["features"], sr["samples"], alg.tau_u, alg.tau_v
    )
    gflops_mm = matmul_gflops(device)
    report.update(
        round_gflops=flops / t_sr / 1e9,
        matmul_gflops=gflops_mm,
        fraction_of_matmul_flops=flops / t_sr / 1e9 / gflops_mm,
        flops_scenario={
            "family": "shared_representation",
            **sr,
            "m": m5,
            "dtype": "float32",
            "noise": "minibatch",
            "algorithm": "fedalt tau_u = tau_v = 5",
        },
    )
    say(
        f"shared_representation round {flops / t_sr / 1e9:.1f} GFLOP/s vs matmul {gflops_mm:.1f} GFLOP/s"
    )

    # 6. peak memory
    if not quick:
        report["peak_memory_mb_n1e5"] = peak_memory_mb(100_000, 100, device)
        say(f"peak memory at n=1e5, d_v=100: {report['peak_memory_mb_n1e5']:.0f} MB")

    # 7. symbolic evaluation
    bt = bound_throughput(100_000 if quick else 1_000_000)
    report.update(
        bound_evals_per_second_lambdify=bt["evals_per_second_lambdify"],
        bound_evals_per_second_torch=bt["evals_per_second_torch"],
        bound_evals_per_second_subs=bt["evals_per_second_subs"],
        lambdify_over_subs=bt["evals_per_second_lambdify"] / bt["evals_per_second_subs"],
    )
    say(
        f"bounds: {bt['evals_per_second_lambdify']:.3g}/s lambdify vs {bt['evals_per_second_subs']:.3g}/s subs"
    )

    # 8. a real peer: Flower
    if peers:
        from altsim.peers import flower

        report.update(flower.bench_against_altsim(quick=quick, say=say))
    return report


def machine(device: str) -> dict:
    """What the benchmark ran on: cores, torch threads, the torch, numpy and Python versions, the platform,
    the device and, on CUDA, the GPU's name."""
    info = {
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": device,
    }
    if str(device).startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
