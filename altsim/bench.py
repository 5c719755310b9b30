"""`altsim bench`: the batched engine's speed, measured side by side in one process (the harness
behind `altsim bench` and benchmarks/bench.py).

Each figure is a median of repeats after a warm-up. Keys of the JSON report:

- engine_vs_loop_speedup: seconds per round of the per-client loop reference over the batched
  engine (closed-form family, n = 1000, m = 100, d_u = d_v = 50, FedAlt tau_u = tau_v = 5, float32);
- scaling_exponent_n: slope of log(seconds per round) against log n for n = 10^2 .. 10^5, m = n/10;
- seed_batch_cost_ratio_64: time of 64 seeds in one batch over time of one seed;
- fraction_of_matmul_flops: a round's arithmetic rate (operations counted from the formulas) over
  the rate of a large float32 matmul on the same machine, at n = 10^4, d = 100;
- peak_memory_mb_n1e5: peak resident memory of a run at n = 10^5, d_v = 100, above an idle process;
- bound_evals_per_second_lambdify / _subs: symbolic evaluation throughput;
- flower: skipped unless `flwr` is installed (never a made-up number);
- machine: cores, torch version, device.

The quick variant runs smaller sizes and leaves out keys it does not measure.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

from altsim.synthetic import make_problem

from altsim.rates import FedAlt
from altsim.rates.noise import NoiseStream


def _median(fn, repeats: int) -> float:
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def _problem(n: int, d: int, device: str, dtype: str = "float32", d_v: int | None = None):
    return make_problem("coupled_quadratic", dict(n=n, d_u=d, d_v=d_v or d, chi=0.5, delta=1.0, sigma_u=0.1, sigma_v=0.1),
                        seed=0, device=device, dtype=dtype)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def engine_rounds(problem, alg, rounds: int, m: int, seeds, device: str = "cpu") -> None:
    """The engine's rounds alone (no measurement), as `simulate` runs them."""
    noise = NoiseStream(torch.as_tensor(list(seeds)), problem.device, problem.dtype)
    state = alg.init(problem, len(seeds))
    for t in range(rounds):
        state = alg.round(problem, state, noise.sample_clients(t, problem.n, m), noise, t)
    _sync(device)


def round_flops(m: int, d_u: int, d_v: int, tau_u: int, tau_v: int, R: int = 1) -> float:
    """Arithmetic operations of one FedAlt round on the coupled quadratic, counted from its formulas:
    ~12 per coordinate per gradient (quadratic, linear, periodic and coupling terms, sin/cos as one),
    2 per coordinate per update, 3 per coordinate of additive noise, 1 per coordinate to average u."""
    per_v, per_u = (12 + 2 + 3) * d_v, (12 + 2 + 3) * d_u
    return float(R * (m * (tau_v * per_v + tau_u * per_u) + m * d_u))


def matmul_gflops(device: str, size: int = 2048, repeats: int = 5) -> float:
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)

    def mm():
        a @ b
        _sync(device)

    return 2 * size**3 / _median(mm, repeats) / 1e9


def _peak_rss_mb(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    return float(out.stdout.strip().splitlines()[-1])


_RSS = "import resource, sys; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"


def peak_memory_mb(n: int, d_v: int, device: str) -> float:
    """Peak RSS of a short run at (n, d_v) minus that of a process that only imported altsim and built nothing."""
    base = _peak_rss_mb("import torch, altsim.rates\n" + _RSS)
    run = _peak_rss_mb(
        "import torch\nfrom altsim.bench import _problem, engine_rounds\nfrom altsim.rates import FedAlt\n"
        f"p = _problem({n}, 50, {device!r}, d_v={d_v})\n"
        f"engine_rounds(p, FedAlt(gamma_u=0.1, gamma_v=0.1, tau_u=5, tau_v=5), 3, {max(1, n // 10)}, [0], {device!r})\n" + _RSS)
    return run - base


def bound_throughput(size: int, subs_points: int = 200) -> dict:
    """Evaluations per second of one bound: lambdify (numpy, torch) on a grid against sympy subs."""
    from altsim import theory
    from altsim.theory.symbols import SYMBOLS

    b = theory.get_bound("fedalt_sgd_partial")
    rng = np.random.default_rng(0)
    grid = dict(Delta_F0=rng.uniform(0.1, 10, size), chi=rng.uniform(0, 1, size), eta=rng.uniform(0.01, 0.5, size),
                sigma_u=rng.uniform(0, 1, size), sigma_v=rng.uniform(0, 1, size), delta=rng.uniform(0, 2, size),
                L_u=1.0, L_v=2.0, n=100, m=10, T=rng.integers(1, 10_000, size).astype(float))
    t_np = _median(lambda: b.evaluate(grid), 5)
    tgrid = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in grid.items()}
    t_torch = _median(lambda: b.evaluate_torch(tgrid), 5)
    pts = [{k: (float(v[i]) if isinstance(v, np.ndarray) else v) for k, v in grid.items()} for i in range(subs_points)]
    t_subs = _median(lambda: [float(b.expression.subs({SYMBOLS[k]: v for k, v in p.items()})) for p in pts], 2)
    return {"grid_size": size, "seconds_numpy": t_np, "seconds_torch": t_torch,
            "evals_per_second_lambdify": size / t_np, "evals_per_second_torch": size / t_torch,
            "evals_per_second_subs": subs_points / t_subs}


def bench(quick: bool = False, device: str = "cpu", stream=sys.stderr) -> dict:
    """Run every measurement (see the module docstring); progress lines go to `stream`."""
    from altsim.testing.reference import literal_run

    def say(msg):
        print(f"[bench] {msg}", file=stream, flush=True)

    reps = 1 if quick else 3
    report: dict = {"quick": quick, "machine": machine(device)}
    alg = FedAlt(gamma_u=0.1, gamma_v=0.1, tau_u=5, tau_v=5)

    # 1. engine against the per-client loop, same problem, config and random streams
    p = _problem(1000, 50, device)
    r_eng, r_loop = (10, 1) if quick else (100, 3)
    t_eng = _median(lambda: engine_rounds(p, alg, r_eng, 100, [0], device), reps) / r_eng
    t_loop = _median(lambda: literal_run(p, alg, rounds=r_loop, m=100, seed=0), reps) / r_loop
    report.update(engine_seconds_per_round=t_eng, loop_seconds_per_round=t_loop, engine_vs_loop_speedup=t_loop / t_eng)
    say(f"engine {t_eng * 1e3:.2f} ms/round, loop {t_loop * 1e3:.1f} ms/round: {t_loop / t_eng:.0f}x")

    # 2. scaling in n (m = n/10)
    ns = [100, 1000, 10_000] if quick else [100, 1000, 10_000, 100_000]
    per_round = []
    for n in ns:
        q = _problem(n, 50, device)
        rounds = 3 if n >= 100_000 else 5
        per_round.append(_median(lambda: engine_rounds(q, alg, rounds, n // 10, [0], device), reps) / rounds)
        say(f"n={n}: {per_round[-1] * 1e3:.2f} ms/round")
    report["scaling_n"] = ns
    report["scaling_seconds_per_round"] = per_round
    report["scaling_exponent_n"] = float(np.polyfit(np.log(ns), np.log(per_round), 1)[0])
    report["scaling_exponent_n_top_decade"] = float(np.log(per_round[-1] / per_round[-2]) / np.log(ns[-1] / ns[-2]))

    # 3. seeds in one batch against one seed
    seed_counts = [1, 8] if quick else [1, 8, 64]
    times = {R: _median(lambda: engine_rounds(p, alg, 5, 100, list(range(R)), device), reps) for R in seed_counts}
    report["seed_batch_seconds"] = {str(R): t for R, t in times.items()}
    for R in seed_counts[1:]:
        report[f"seed_batch_cost_ratio_{R}"] = times[R] / times[1]
        say(f"{R} seeds in one batch cost {times[R] / times[1]:.2f}x one seed ({R}x if run separately)")

    # 4. arithmetic rate of a round against a large matmul, same process
    n4, d4 = (2000, 100) if quick else (10_000, 100)
    q = _problem(n4, d4, device)
    t_round = _median(lambda: engine_rounds(q, alg, 3, n4 // 10, [0], device), reps) / 3
    gflops_round = round_flops(n4 // 10, d4, d4, alg.tau_u, alg.tau_v) / t_round / 1e9
    gflops_mm = matmul_gflops(device)
    report.update(round_gflops=gflops_round, matmul_gflops=gflops_mm, fraction_of_matmul_flops=gflops_round / gflops_mm,
                  flops_scenario={"n": n4, "m": n4 // 10, "d": d4})
    say(f"round {gflops_round:.2f} GFLOP/s vs matmul {gflops_mm:.1f} GFLOP/s")

    # 5. peak memory
    if not quick:
        report["peak_memory_mb_n1e5"] = peak_memory_mb(100_000, 100, device)
        say(f"peak memory at n=1e5, d_v=100: {report['peak_memory_mb_n1e5']:.0f} MB")

    # 6. symbolic evaluation
    bt = bound_throughput(100_000 if quick else 1_000_000)
    report.update(bound_evals_per_second_lambdify=bt["evals_per_second_lambdify"],
                  bound_evals_per_second_torch=bt["evals_per_second_torch"],
                  bound_evals_per_second_subs=bt["evals_per_second_subs"],
                  lambdify_over_subs=bt["evals_per_second_lambdify"] / bt["evals_per_second_subs"])
    say(f"bounds: {bt['evals_per_second_lambdify']:.3g}/s lambdify vs {bt['evals_per_second_subs']:.3g}/s subs")

    # 7. Flower, only if installed
    try:
        import flwr  # noqa: F401

        report["flower"] = "flwr is installed but the comparison is not implemented yet; no number reported"
    except ImportError:
        report["flower"] = "skipped: flwr is not installed"
    return report


def machine(device: str) -> dict:
    info = {"cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "numpy": np.__version__, "python": platform.python_version(), "platform": platform.platform(), "device": device}
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
