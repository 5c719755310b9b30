"""Contract checks for anything registered: problem families, algorithms, [D] bounds.

Register your own family (`altsim.synthetic.register`) or algorithm (`altsim.rates.register_algorithm`)
and call these from your tests; altsim's own suite runs them over its registries, so a new
entry is checked without editing any test list.

- `check_family(name)`: analytic gradients equal autograd, batched oracles equal per-client ones,
  measured constants never exceed the certified ones, F never dips below the certified F_lower;
- `check_algorithm(name)`: the batched round equals a per-client loop (`reference.reference_run`),
  seeds run together equal seeds run alone bit for bit, a rerun repeats itself, the state keeps
  its shapes;
- `check_compiled(name)`: the compiled round (torch.compile) agrees with the eager one, and keeps
  the batch invariance and repeatability above;
- `check_derivation(bound_name)`: every sympy identity of a [D] bound's derivation holds.

Each raises AssertionError with what differs, and returns nothing.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def _points(problem, R: int, scale: float, seed: int):
    g = torch.Generator().manual_seed(seed)
    u = scale * torch.randn(R, problem.n, problem.d_u, generator=g, dtype=torch.float64)
    v = scale * torch.randn(R, problem.n, problem.d_v, generator=g, dtype=torch.float64)
    u, v = u.to(problem.device, problem.dtype), v.to(problem.device, problem.dtype)
    if hasattr(
        problem, "project_to_region"
    ):  # families certified on a region are checked inside it
        u0, V = problem.project_to_region(u[:, 0], v)
        u = u0.unsqueeze(1).expand_as(u).clone()
        v = V
    return u, v, problem.all_clients.expand(R, problem.n)


def check_family(
    name: str,
    params: dict | None = None,
    *,
    seed: int = 0,
    scale: float = 1.0,
    measure_radius: float = 3.0,
) -> None:
    """The contract every problem family meets (see the module docstring); `params` default to the family's example."""
    from altsim.synthetic import FAMILIES, make_problem, measured_constants

    family = FAMILIES[name]
    p = make_problem(name, family.example if params is None else params, seed=seed)
    u, v, c = _points(p, 3, scale, seed)
    # 1. analytic gradients against autograd
    uu, vv = u.clone().requires_grad_(True), v.clone().requires_grad_(True)
    gu, gv = torch.autograd.grad(p.loss(uu, vv, c).sum(), (uu, vv))
    G_u, G_v = p.grad_u(u, v, c), p.grad_v(u, v, c)
    tol = 1e-10 * (1 + gu.abs().max().item() + gv.abs().max().item())
    assert (gu - G_u).abs().max().item() <= tol, f"{name}: grad_u differs from autograd"
    assert (gv - G_v).abs().max().item() <= tol, f"{name}: grad_v differs from autograd"
    # 2. batched oracles equal one client at a time
    for i in range(p.n):
        one = torch.tensor([[i]], device=p.device).expand(3, 1)
        for oracle, batched in ((p.grad_u, G_u), (p.grad_v, G_v), (p.loss, p.loss(u, v, c))):
            alone = oracle(u[:, i : i + 1], v[:, i : i + 1], one)
            assert torch.allclose(alone[:, 0], batched[:, i], rtol=1e-12, atol=1e-14), (
                f"{name}: {oracle.__name__} of client {i} alone differs from the batch"
            )
    # 3. certificates are never exceeded
    cert = p.certified_constants()
    meas = measured_constants(p, points=6, radius=measure_radius, iters=40, seed=seed)
    for k in ("L_u", "L_v", "L_uv", "delta", "sigma_u", "sigma_v"):
        certified = getattr(cert, k)
        if math.isfinite(certified):
            assert meas[k]["value"] <= certified * (1 + 1e-9) + 1e-12, (
                f"{name}: measured {k} {meas[k]} > certified {certified}"
            )
    F = p.loss(u, v, c).mean(-1)
    assert F.min().item() >= cert.F_lower - 1e-9, (
        f"{name}: F = {F.min().item()} below F_lower = {cert.F_lower}"
    )


def _instance(name: str, problem, options: dict | None):
    from altsim.rates import ExperimentConfig, get_algorithm

    cls = get_algorithm(name)
    cert = problem.certified_constants()
    L_u, L_v = (
        (cert.L_u, cert.L_v)
        if math.isfinite(cert.L_u) and math.isfinite(cert.L_v)
        else (10.0, 10.0)
    )
    config = ExperimentConfig(
        algorithms=(name,),
        eta=0.3,
        tau=2,
        tau_u=2,
        tau_v=2,
        algorithm_options={name: options} if options else {},
    )
    return cls.from_experiment(config, 0.3, L_u, L_v, **(options or {}))


def check_algorithm(
    name: str,
    *,
    family: str = "coupled_quadratic",
    params: dict | None = None,
    options: dict | None = None,
    rounds: int = 4,
    m: int = 3,
    seeds=(3, 0, 7),
    device: str = "cpu",
) -> None:
    """The contract every registered algorithm meets (see the module docstring), on a small noisy instance
    with partial participation and two local steps per block, on `device`."""
    from altsim.rates import simulate
    from altsim.synthetic import FAMILIES, make_problem

    from .reference import reference_run

    p = make_problem(
        family, FAMILIES[family].example if params is None else params, seed=1, device=device
    )
    alg = _instance(name, p, options)
    m = min(m, p.n)
    # 1. the state keeps its shapes, and the batched round equals the per-client loop
    states = []
    simulate(p, alg, rounds=rounds, m=m, seeds=list(seeds), on_state=lambda t, s: states.append(s))
    init = alg.init(p, len(seeds))
    assert init.u.shape == (len(seeds), p.d_u) and init.V.shape == (len(seeds), p.n, p.d_v), (
        f"{name}: init shapes"
    )
    for k, x in init.client.items():
        assert x.shape[:2] == (len(seeds), p.n), (
            f"{name}: client state {k!r} must be (R, n, ...), is {tuple(x.shape)}"
        )
    for k, x in init.server.items():
        assert x.shape[:1] == (len(seeds),), (
            f"{name}: server state {k!r} must be (R, ...), is {tuple(x.shape)}"
        )
    if all(hasattr(alg, h) for h in ("gather", "local_update", "server_update")):
        # what a client's local update returns for its per-client state is what the next state holds
        from altsim.rates.noise import NoiseStream

        noise = NoiseStream(torch.as_tensor(list(seeds)), p.device, p.dtype)
        clients = noise.sample_clients(0, p.n, m)
        done = alg.local_update(p, alg.gather(p, init, clients), noise, 0)
        after = alg.server_update(p, init, done)
        assert set(after.client) == set(init.client) and set(after.server) == set(init.server), (
            f"{name}: server_update changed which state tensors exist"
        )
        for k, rows in done.client.items():
            index = clients.view(*clients.shape, *([1] * (rows.dim() - 2))).expand_as(rows)
            assert torch.equal(after.client[k].gather(1, index), rows), (
                f"{name}: the sampled clients' client state {k!r} was not written back"
            )
        for r, seed in enumerate(seeds):
            ref = reference_run(p, alg, rounds=rounds, m=m, seed=seed)
            for t in range(rounds):
                for key, x in states[t].tensors().items():
                    y = ref[t + 1].tensors()[key][0]
                    assert torch.allclose(x[r], y, rtol=0, atol=1e-10), (
                        f"{name}: batched {key} differs from the per-client loop at round {t}, seed {seed}"
                    )
    # 2. seeds together equal seeds alone, bit for bit; 3. a rerun repeats itself
    together = simulate(p, alg, rounds=rounds, m=m, seeds=list(seeds))
    for r, seed in enumerate(seeds):
        alone = simulate(p, alg, rounds=rounds, m=m, seeds=[seed])
        assert np.array_equal(alone.grad_u_sq[0], together.grad_u_sq[r]) and np.array_equal(
            alone.grad_v_sq_mean[0], together.grad_v_sq_mean[r]
        ), f"{name}: seed {seed} alone differs from seed {seed} in a batch"
    again = simulate(p, alg, rounds=rounds, m=m, seeds=list(seeds))
    assert np.array_equal(again.grad_u_sq, together.grad_u_sq), (
        f"{name}: a rerun gave other numbers"
    )


def check_compiled(
    name: str,
    *,
    family: str = "coupled_quadratic",
    params: dict | None = None,
    options: dict | None = None,
    backend: str = "inductor",
    rtol: float = 1e-12,
    rounds: int = 4,
    m: int = 3,
    seeds=(3, 0, 7),
    device: str = "cpu",
) -> None:
    """The compiled round (`altsim.rates.fused`) agrees with the eager one: to `rtol` relative (0 asks for
    bitwise equality), on the same small noisy instance as `check_algorithm`; on the compiled path too,
    seeds run together equal seeds run alone bit for bit, and a rerun repeats itself."""
    from altsim.rates import simulate
    from altsim.synthetic import FAMILIES, make_problem

    p = make_problem(
        family, FAMILIES[family].example if params is None else params, seed=1, device=device
    )
    alg = _instance(name, p, options)
    m = min(m, p.n)

    def run(seeds_, mode):
        return simulate(
            p,
            alg,
            rounds=rounds,
            m=m,
            seeds=list(seeds_),
            compile=mode,
            compile_backend=backend,
        )

    eager, fused = run(seeds, "off"), run(seeds, "on")
    assert fused.setting["round_path"] == "compiled", (
        f"{name}: the compiled path fell back to eager"
    )
    for key in ("grad_u_sq", "grad_v_sq_mean", "objective_gap"):
        a, b = getattr(eager, key), getattr(fused, key)
        if rtol == 0:
            assert np.array_equal(a, b), f"{name}: compiled {key} differs from eager"
        else:
            scale = np.maximum(np.abs(a), np.finfo(float).tiny)
            worst = float(np.max(np.abs(a - b) / scale))
            assert worst <= rtol, (
                f"{name}: compiled {key} differs from eager by {worst:.3g} relative (> {rtol})"
            )
    for r, seed in enumerate(seeds):
        alone = run([seed], "on")
        assert np.array_equal(alone.grad_u_sq[0], fused.grad_u_sq[r]) and np.array_equal(
            alone.grad_v_sq_mean[0], fused.grad_v_sq_mean[r]
        ), f"{name}: compiled, seed {seed} alone differs from seed {seed} in a batch"
    assert np.array_equal(run(seeds, "on").grad_u_sq, fused.grad_u_sq), (
        f"{name}: a compiled rerun gave other numbers"
    )


def check_derivation(bound_name: str) -> None:
    """Every algebraic step of a [D] bound's derivation holds symbolically."""
    from altsim.theory import BOUNDS, DERIVATIONS

    bound = BOUNDS[bound_name]
    assert bound.provenance == "D", f"{bound_name}: only [D] bounds carry a derivation"
    steps = DERIVATIONS.get(bound_name, ())
    assert steps, f"{bound_name}: a [D] bound ships only with its derivation (theory.DERIVATIONS)"
    for step in steps:
        assert step.holds(), f"{bound_name}: derivation step fails: {step.claim}"
