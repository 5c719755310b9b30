"""Per-client loop reference implementation of FedAlt and FedSim, written for clarity. Tests only.

It follows THEORY.md section 2 line by line: one seed at a time, one client at a time, plain
Python loops. It draws the same counter-based random numbers as the batched engine (noise per
(seed, round, client, step, block)), so the two must agree to rounding error.
"""

from __future__ import annotations

import torch

from .noise import NoiseStream, stochastic_grad_u, stochastic_grad_v


def _one(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(1, 1, -1)


def reference_run(problem, algorithm, *, rounds: int, m: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """States [(u^t, V^t) for t = 0..rounds] of one seed, computed client by client."""
    noise = NoiseStream(torch.tensor([seed]), problem.device, problem.dtype)
    u, V = problem.initial_point()
    states = [(u.clone(), V.clone())]
    for t in range(rounds):
        sampled = noise.sample_clients(t, problem.n, m)[0].tolist()
        new_us = []
        V_next = V.clone()  # clients not sampled keep their v_i
        for i in sampled:
            client = torch.tensor([[i]], device=problem.device)
            v_start = problem.initial_point()[1][i] if getattr(algorithm, "stateless", False) else V[i]
            u_i, v_i = _one(u.clone()), _one(v_start.clone())
            if algorithm.name == "fedalt":
                for k in range(algorithm.tau_v):  # personal first, u held at u^t
                    v_i = v_i - algorithm.gamma_v * stochastic_grad_v(problem, noise, t, k, u_i, v_i, client)
                for k in range(algorithm.tau_u):  # then shared, at the new v_i
                    u_i = u_i - algorithm.gamma_u * stochastic_grad_u(problem, noise, t, k, u_i, v_i, client)
            elif algorithm.name == "fedsim":
                for k in range(algorithm.tau):  # both blocks from the same point
                    g = stochastic_grad_u(problem, noise, t, k, u_i, v_i, client)
                    h = stochastic_grad_v(problem, noise, t, k, u_i, v_i, client)
                    u_i, v_i = u_i - algorithm.gamma_u * g, v_i - algorithm.gamma_v * h
            else:
                raise ValueError(f"algorithm {algorithm.name!r} has no reference implementation")
            new_us.append(u_i.reshape(-1))
            V_next[i] = v_i.reshape(-1)
        u = torch.stack(new_us).sum(0) / len(new_us)  # server: plain average of the sampled clients' u
        V = V_next
        states.append((u.clone(), V.clone()))
    return states
