"""Four eager scenarios timed in one process, for before/after comparisons across commits.

Run it once in an environment where altsim is the old checkout and once where it is the new one,
one after the other on the same machine (benchmarks/RESULTS.md, "Profile, before and after"):

    python benchmarks/before_after.py

It uses only what every version since the algorithm contract has (`FedAlt`, `NoiseStream`,
`make_problem`), calling `round` directly, so the same file times old and new code alike.
"""

import json
import statistics
import time

import torch

from altsim.rates import FedAlt
from altsim.rates.noise import NoiseStream
from altsim.synthetic import make_problem


def rounds(problem, alg, count, m, seeds):
    noise = NoiseStream(torch.as_tensor(list(seeds)), problem.device, problem.dtype)
    state = alg.init(problem, len(seeds))
    for t in range(count):
        state = alg.round(problem, state, noise.sample_clients(t, problem.n, m), noise, t)


def median_seconds(fn, repeats=3):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    alg = FedAlt(gamma_u=0.1, gamma_v=0.1, tau_u=5, tau_v=5)

    def closed_form(n):
        return make_problem(
            "coupled_quadratic",
            dict(n=n, d_u=50, d_v=50, chi=0.5, delta=1.0, sigma_u=0.1, sigma_v=0.1),
            seed=0,
            dtype="float32",
        )

    out = {}
    p = closed_form(1000)
    out["n1e3_round_ms"] = median_seconds(lambda: rounds(p, alg, 20, 100, [0])) / 20 * 1e3
    out["seeds64_over_one"] = median_seconds(
        lambda: rounds(p, alg, 5, 100, range(64))
    ) / median_seconds(lambda: rounds(p, alg, 5, 100, [0]))
    q = closed_form(100_000)
    out["n1e5_round_ms"] = median_seconds(lambda: rounds(q, alg, 3, 10_000, [0])) / 3 * 1e3
    sr = make_problem(
        "shared_representation",
        dict(n=1000, features=128, rank=32, samples=512, noise="minibatch", batch_size=64),
        seed=0,
        dtype="float32",
    )
    out["shared_representation_round_ms"] = (
        median_seconds(lambda: rounds(sr, alg, 2, 100, [0])) / 2 * 1e3
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
