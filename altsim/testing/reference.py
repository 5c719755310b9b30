"""Per-client loop references, written for clarity: what the batched engine must equal. Tests and bench only.

Two kinds, both one seed at a time and one client at a time, drawing the same counter-based
random numbers as the batched engine (noise per (seed, round, client, step, block)):

- `reference_run(problem, algorithm, ...)` works for *any* registered `ClientServerAlgorithm`: it
  hands the algorithm's `local_update` a single client (a batch of one), stacks the results and
  calls `server_update` once. It checks the shared gather/scatter/average machinery and that the
  local update treats clients independently, for every algorithm in the registry.
- `literal_run(problem, algorithm, ...)` is FedAlt and FedSim written out from docs/theory.md
  section 2 line by line, without the algorithm classes' code: an independent check of both.
"""

from __future__ import annotations

import torch

from altsim.rates.algorithm import LocalState, State
from altsim.rates.noise import BLOCK_V, NoiseStream, stochastic_grad_u, stochastic_grad_v


def reference_run(problem, algorithm, *, rounds: int, m: int, seed: int) -> list[State]:
    """States [state^t for t = 0..rounds] of one seed (R = 1), each client's local work run alone."""
    noise = NoiseStream(torch.tensor([seed]), problem.device, problem.dtype)
    state = algorithm.init(problem, 1)
    states = [state]
    for t in range(rounds):
        sampled = noise.sample_clients(t, problem.n, m)  # (1, m)
        whole = algorithm.gather(problem, state, sampled)
        parts = []
        for j in range(m):  # one client at a time
            one = LocalState(
                whole.clients[:, j : j + 1],
                whole.u[:, j : j + 1].clone(),
                whole.v[:, j : j + 1].clone(),
                {k: x[:, j : j + 1].clone() for k, x in whole.client.items()},
                whole.server,
            )
            parts.append(algorithm.local_update(problem, one, noise, t))
        done = LocalState(
            sampled,
            torch.cat([p.u for p in parts], 1),
            torch.cat([p.v for p in parts], 1),
            {k: torch.cat([p.client[k] for p in parts], 1) for k in whole.client},
            whole.server,
        )
        state = algorithm.server_update(problem, state, done)
        states.append(state)
    return states


def _one(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(1, 1, -1)


def literal_run(
    problem, algorithm, *, rounds: int, m: int, seed: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """States [(u^t, V^t) for t = 0..rounds] of one seed of FedAlt or FedSim, from the pseudo-code alone."""
    if algorithm.name not in ("fedalt", "fedsim"):
        raise ValueError(
            f"algorithm {algorithm.name!r}: the literal reference covers fedalt and fedsim; "
            "use reference_run for the others"
        )
    noise = NoiseStream(torch.tensor([seed]), problem.device, problem.dtype)
    u, V = problem.initial_point()
    states = [(u.clone(), V.clone())]
    for t in range(rounds):
        sampled = noise.sample_clients(t, problem.n, m)[0].tolist()
        new_us = []
        V_next = V.clone()  # clients not sampled keep their v_i
        for i in sampled:
            client = torch.tensor([[i]], device=problem.device)
            v_start = problem.initial_point()[1][i] if algorithm.stateless else V[i]
            u_i, v_i = _one(u.clone()), _one(v_start.clone())
            if algorithm.name == "fedalt":
                for k in range(algorithm.tau_v):  # personal first, u held at u^t
                    v_i = v_i - algorithm.gamma_v * stochastic_grad_v(
                        problem, noise, t, k, u_i, v_i, client
                    )
                for k in range(algorithm.tau_u):  # then shared, at the new v_i
                    if (
                        algorithm.reuse_sample
                    ):  # the sample of v-step min(k, tau_v - 1), not a fresh one
                        g = stochastic_grad_u(
                            problem,
                            noise,
                            t,
                            min(k, algorithm.tau_v - 1),
                            u_i,
                            v_i,
                            client,
                            BLOCK_V,
                        )
                    else:
                        g = stochastic_grad_u(problem, noise, t, k, u_i, v_i, client)
                    u_i = u_i - algorithm.gamma_u * g
            else:
                for k in range(algorithm.tau):  # both blocks from the same point
                    g = stochastic_grad_u(problem, noise, t, k, u_i, v_i, client)
                    h = stochastic_grad_v(problem, noise, t, k, u_i, v_i, client)
                    u_i, v_i = u_i - algorithm.gamma_u * g, v_i - algorithm.gamma_v * h
            new_us.append(u_i.reshape(-1))
            V_next[i] = v_i.reshape(-1)
        u = torch.stack(new_us).sum(0) / len(
            new_us
        )  # server: plain average of the sampled clients' u
        V = V_next
        states.append((u.clone(), V.clone()))
    return states
