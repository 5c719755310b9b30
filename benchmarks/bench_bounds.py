"""Bound evaluation throughput: lambdify (numpy, torch) against sympy subs, side by side in one process.

Run: python benchmarks/bench_bounds.py [--size 1000000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch


def _median_seconds(fn, repeats: int = 5) -> float:
    fn()  # warm-up (lambdify compiles on first use)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(size: int = 1_000_000, subs_points: int = 200) -> dict:
    from altsim import theory
    from altsim.theory.symbols import SYMBOLS

    b = theory.get_bound("fedalt_sgd_partial")
    rng = np.random.default_rng(0)
    grid = dict(Delta_F0=rng.uniform(0.1, 10, size), chi=rng.uniform(0, 1, size), eta=rng.uniform(0.01, 0.5, size),
                sigma_u=rng.uniform(0, 1, size), sigma_v=rng.uniform(0, 1, size), delta=rng.uniform(0, 2, size),
                L_u=1.0, L_v=2.0, n=100, m=10, T=rng.integers(1, 10_000, size).astype(float))
    t_np = _median_seconds(lambda: b.evaluate(grid))
    tgrid = {k: torch.as_tensor(v, dtype=torch.float64) for k, v in grid.items()}
    t_torch = _median_seconds(lambda: b.evaluate_torch(tgrid))
    pts = [{k: (float(v[i]) if isinstance(v, np.ndarray) else v) for k, v in grid.items()} for i in range(subs_points)]
    t_subs = _median_seconds(lambda: [float(b.expression.subs({SYMBOLS[k]: v for k, v in p.items()})) for p in pts], 3)
    return {
        "bound": b.name,
        "grid_size": size,
        "numpy_seconds": t_np,
        "torch_seconds": t_torch,
        "numpy_evals_per_second": size / t_np,
        "torch_evals_per_second": size / t_torch,
        "subs_evals_per_second": subs_points / t_subs,
        "lambdify_over_subs": (size / t_np) / (subs_points / t_subs),
        "torch_threads": torch.get_num_threads(),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=1_000_000)
    print(json.dumps(bench(ap.parse_args().size), indent=2))
