"""The round timer: the engine's rounds alone, as `simulate` runs them, for benchmarks.

`altsim bench` and the peer comparisons (`altsim.peers`) time the same thing through `Rounds`,
so their figures are comparable.
"""

from __future__ import annotations

import torch

from .fused import RoundRunner
from .noise import NoiseStream


def sync(device: str) -> None:
    """Wait for the device's queued work, so that a timer reads the work's end, not its launch."""
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


class Rounds:
    """The engine's rounds alone (no measurement), as `simulate` runs them, eager or compiled.

    The state is built once; each call runs `rounds` more rounds from where the last one stopped,
    so a timing holds rounds only, not the initial copy of V."""

    def __init__(self, problem, alg, m: int, seeds, compiled: bool = False):
        self.problem, self.alg, self.m, self.seeds = problem, alg, m, list(seeds)
        noise = NoiseStream(torch.as_tensor(self.seeds), problem.device, problem.dtype)
        self.runner = RoundRunner(problem, alg, m, noise, compiled=compiled)
        self.state, self.t = alg.init(problem, len(self.seeds)), 0

    def __call__(self, rounds: int) -> None:
        for _ in range(rounds):
            self.state = self.runner.step(self.state, self.t)
            self.t += 1
        sync(self.problem.device)
