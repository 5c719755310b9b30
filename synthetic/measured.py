"""Measured constants: estimates of what a problem's certificates bound, to show how loose they are.

- L_u, L_v: largest |eigenvalue| of the diagonal Hessian blocks, by power iteration with
  Hessian-vector products (double backward), at sampled points, for every client at once.
- L_uv: largest singular value of the cross block grad^2_uv F_i, by power iteration on
  H_uv^T H_uv.
- delta: the largest (1/n) sum_i ||grad_u F_i(u, v_i) - grad_u F(u, V)||^2 over the points.
- F_lower: the smallest F seen (an upper estimate of inf F).

Points are the initial point plus Gaussian perturbations of scale `radius`, or any
states passed in (for example along a trajectory). Every estimate is a lower bound on the
true supremum, so certified >= measured must hold; `tests/` checks that.
"""

from __future__ import annotations

import copy
import math

import torch

from altsim.theory.checks import require, shown


def _hvp_blocks(problem, u, v, clients):
    """Closures computing H_uu x, H_vv y, H_uv y, H_vu x per (point, client)."""
    u = u.detach().requires_grad_(True)
    v = v.detach().requires_grad_(True)
    loss = problem.loss(u, v, clients).sum()
    gu, gv = torch.autograd.grad(loss, (u, v), create_graph=True)

    def along(g, x, wrt):
        return torch.autograd.grad((g * x).sum(), wrt, retain_graph=True, allow_unused=True)[0]

    def zeros_if_none(t, like):
        return torch.zeros_like(like) if t is None else t

    return (
        lambda x: zeros_if_none(along(gu, x, u), u),
        lambda y: zeros_if_none(along(gv, y, v), v),
        lambda y: zeros_if_none(along(gv, y, u), u),
        lambda x: zeros_if_none(along(gu, x, v), v),
    )


def _power(apply, shape, like, iters: int, gen) -> torch.Tensor:
    x = torch.randn(shape, generator=gen, dtype=torch.float64).to(like.device, like.dtype)
    x = x / x.norm(dim=-1, keepdim=True)
    lam = torch.zeros(shape[:-1], dtype=like.dtype, device=like.device)
    for _ in range(iters):
        y = apply(x)
        lam = y.norm(dim=-1)
        x = y / lam.clamp_min(1e-300).unsqueeze(-1)
    return lam


_CACHE: dict = {}
_CACHE_SIZE = 64

MEASUREMENT_WORK_LIMIT = 4e9
"""Largest measurement `measured_constants` starts, in numbers read (`measurement_cost`): about 200 s
on 2 CPU cores, which read 2e7 to 4e7 a second in this measurement (every built-in family at
n = 20 to 1,000 on torch 2.13.0; digits at n = 20 read 6.3e8 in 31 s). The measurement's memory
grows with the same sizes, so this limit also holds it to a few GB."""


def measurement_cost(problem, points: int = 16, iters: int = 60) -> dict:
    """What `measured_constants(problem, points, iters=iters)` will read, estimated from the problem's
    sizes before any work: {'work': numbers read, 'passes': passes over the instance at each point,
    'per_point': numbers per pass}. One pass reads the instance's data (every tensor it holds) and
    one copy of the state (n (d_u + d_v)); three power iterations take `iters` passes each, and
    minibatch noise one more pass per sample (its variance is exact over the N samples)."""
    data = sum(t.numel() for t in vars(problem).values() if isinstance(t, torch.Tensor))
    per_point = data + problem.n * (problem.d_u + problem.d_v)
    minibatch = getattr(problem, "noise", "gaussian") == "minibatch"
    passes = 3 * iters + 3 + (int(getattr(problem, "samples", 0)) if minibatch else 0)
    return {"work": float(points) * passes * per_point, "passes": passes, "per_point": per_point}


def check_measurement_cost(problem, points: int = 16, iters: int = 60) -> dict:
    """Refuse, before any work, a measurement whose `measurement_cost` exceeds
    MEASUREMENT_WORK_LIMIT: a ValueError naming the number of clients n, its value and the largest n
    the limit allows at this problem's other sizes (the cost grows in proportion to n)."""
    cost = measurement_cost(problem, points, iters)
    if cost["work"] > MEASUREMENT_WORK_LIMIT:
        family = getattr(problem, "family", type(problem).__name__)
        n = int(problem.n)
        most = int(n * MEASUREMENT_WORK_LIMIT // cost["work"])
        fix = (
            f"use n <= {most}"
            if most >= 1
            else "no n is small enough: reduce the size of each client"
        )
        raise ValueError(
            f"n={n}: measuring the constants of {family} at this size reads about {cost['work']:.2g} "
            f"numbers ({points} points, {cost['passes']} passes of {cost['per_point']:.3g}), over the "
            f"limit of {MEASUREMENT_WORK_LIMIT:.2g} (about 200 s on 2 CPU cores); {fix}, or fewer "
            "samples, hidden units or features per client"
        )
    return cost


def _check_arguments(problem, points, radius, iters, seed, states) -> None:
    from .problem import require_problem

    require_problem("problem", problem)
    require("points", points, low=1, high=10**6, integer=True)
    require("radius", radius, low=0)
    require("iters", iters, low=1, high=10**6, integer=True)
    require("seed", seed, low=0, integer=True)
    if states is None:
        return
    if not (
        isinstance(states, tuple)
        and len(states) == 2
        and all(isinstance(x, torch.Tensor) for x in states)
    ):
        raise TypeError(
            f"states={shown(states)}: must be None or a pair of tensors (U, V), not "
            f"{type(states).__name__}"
        )
    U, V = states
    if U.dim() != 2 or tuple(U.shape[1:]) != (problem.d_u,) or U.shape[0] < 1:
        raise ValueError(f"states: U must have shape (P, {problem.d_u}), not {tuple(U.shape)}")
    if tuple(V.shape) != (U.shape[0], problem.n, problem.d_v):
        raise ValueError(
            f"states: V must have shape ({U.shape[0]}, {problem.n}, {problem.d_v}), not "
            f"{tuple(V.shape)}"
        )


def measured_constants(
    problem,
    points: int = 16,
    radius: float = 3.0,
    iters: int = 60,
    seed: int = 0,
    states: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> dict:
    """Estimates keyed like the certificates, each {'value', 'method'}; see the module docstring.

    Without `states` the estimate is a pure function of the problem (its family, parameters, seed,
    device and dtype: `describe()`, where the problem has one) and of the arguments, so it is
    computed once per process and reused: a sweep or a tuned study builds the same problem for many runs.

    Refused before any work: arguments of the wrong type or outside their ranges (TypeError or
    ValueError naming the argument), and a measurement that would read more than
    MEASUREMENT_WORK_LIMIT numbers (`check_measurement_cost`: a ValueError naming n and its limit)."""
    from .problem import instance_key

    _check_arguments(problem, points, radius, iters, seed, states)
    check_measurement_cost(problem, points if states is None else states[0].shape[0], iters)
    identity = instance_key(problem)  # None: the problem cannot say which instance it is
    if states is None and identity is not None:
        key = (
            type(problem).__qualname__,
            identity,
            str(problem.device),
            str(problem.dtype),
            points,
            radius,
            iters,
            seed,
        )
        if key not in _CACHE:
            if len(_CACHE) >= _CACHE_SIZE:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = _measure(problem, points, radius, iters, seed, None)
        return copy.deepcopy(_CACHE[key])
    return _measure(problem, points, radius, iters, seed, states)


def _measure(problem, points, radius, iters, seed, states) -> dict:
    gen = torch.Generator().manual_seed(seed)
    if states is None:
        u0, V0 = problem.initial_point()
        du = torch.randn(points, problem.d_u, generator=gen, dtype=torch.float64).to(u0)
        dV = torch.randn(points, problem.n, problem.d_v, generator=gen, dtype=torch.float64).to(V0)
        U, V = u0 + radius * du, V0 + radius * dV
    else:
        U, V = states
    if hasattr(problem, "project_to_region"):  # certificates hold on a region: measure inside it
        U, V = problem.project_to_region(U, V)
    P = U.shape[0]
    clients = problem.all_clients.expand(P, problem.n)
    UU = U.unsqueeze(1).expand(P, problem.n, problem.d_u).contiguous()
    Huu, Hvv, Huv, Hvu = _hvp_blocks(problem, UU, V, clients)
    L_u = _power(Huu, (P, problem.n, problem.d_u), UU, iters, gen).max().item()
    L_v = _power(Hvv, (P, problem.n, problem.d_v), V, iters, gen).max().item()
    L_uv = math.sqrt(
        _power(lambda y: Hvu(Huv(y)), (P, problem.n, problem.d_v), V, iters, gen).max().item()
    )
    with torch.no_grad():
        g = problem.grad_u(UU, V, clients)
        diversity = (g - g.mean(1, keepdim=True)).pow(2).sum(-1).mean(1).max().item()
        F_min = problem.loss(UU, V, clients).mean(1).min().item()
        sigma = (
            _minibatch_sigma(problem, UU, V, clients)
            if getattr(problem, "noise", "gaussian") == "minibatch"
            else None
        )
    how = f"power iteration ({iters} HVP steps) at {P} points"
    return {
        "L_u": {"value": L_u, "method": how + ", max over points and clients"},
        "L_v": {"value": L_v, "method": how + ", max over points and clients"},
        "L_uv": {"value": L_uv, "method": how + " on H_uv^T H_uv"},
        "chi": {
            "value": L_uv / math.sqrt(L_u * L_v) if L_u > 0 and L_v > 0 else math.nan,
            "method": "measured L_uv / sqrt(measured L_u * measured L_v)",
        },
        "sigma_u": {
            "value": problem.sigma_u,
            "method": "exact: Gaussian noise with E||xi||^2 = sigma_u^2",
        }
        if sigma is None
        else {
            "value": sigma[0],
            "method": f"minibatch variance, exact finite-population formula, max over {P} points",
        },
        "sigma_v": {
            "value": problem.sigma_v,
            "method": "exact: Gaussian noise with E||xi||^2 = sigma_v^2",
        }
        if sigma is None
        else {
            "value": sigma[1],
            "method": f"minibatch variance, exact finite-population formula, max over {P} points",
        },
        "delta": {"value": math.sqrt(diversity), "method": f"max over {P} points of the diversity"},
        "F_lower": {
            "value": F_min,
            "method": f"min of F over {P} points (an upper estimate of inf F)",
        },
    }


def _minibatch_sigma(problem, U, V, clients) -> tuple[float, float]:
    """sqrt of max over points and clients of E||minibatch grad - grad||^2 = (N-b)/(b(N-1)) * per-sample variance."""
    N, b = problem.samples, problem.batch_size
    per_u, per_v = [], []
    for j in range(
        N
    ):  # per-sample gradients: one-hot weights (measurement only, not the engine's path)
        w = torch.zeros(*clients.shape, N, dtype=U.dtype, device=U.device)
        w[..., j] = 1.0
        gu, gv = problem._grads(U, V, clients, w)
        per_u.append(gu)
        per_v.append(gv)
    fpc = (N - b) / (b * (N - 1)) if N > 1 else 0.0
    out = []
    for per in (torch.stack(per_u, -2), torch.stack(per_v, -2)):
        var = (per - per.mean(-2, keepdim=True)).pow(2).sum(-1).mean(-1)
        out.append(math.sqrt(fpc * var.max().item()))
    return out[0], out[1]
