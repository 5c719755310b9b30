"""synthetic/: analytic gradients, certificates, knobs, batching, devices, errors."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from altsim.synthetic import (
    CoupledQuadraticConfig,
    make_problem,
    measured_constants,
    resolve_device,
)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _points(p, R=3, scale=3.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    u = scale * torch.randn(R, p.n, p.d_u, generator=g, dtype=torch.float64)
    v = scale * torch.randn(R, p.n, p.d_v, generator=g, dtype=torch.float64)
    return u, v, p.all_clients.expand(R, p.n)


@st.composite
def configs(draw):
    nu = draw(st.floats(0.0, 0.9))
    chi = draw(st.floats(0.0, 0.95 * (1 - nu)))
    return dict(
        n=draw(st.integers(2, 12)),
        d_u=draw(st.integers(1, 6)),
        d_v=draw(st.integers(1, 6)),
        L_u=draw(st.floats(0.1, 10)),
        L_v=draw(st.floats(0.1, 10)),
        chi=chi,
        nonconvexity=nu,
        delta=draw(st.floats(0.01, 5)) if chi > 0 else draw(st.floats(0.0, 5)),
        frequency=draw(st.floats(0.5, 4)),
    )


@given(cfg=configs(), seed=st.integers(0, 2**31 - 1))
def test_analytic_gradients_match_autograd(cfg, seed):
    p = make_problem("coupled_quadratic", cfg, seed=seed)
    u, v, c = _points(p, seed=seed % 1000)
    u.requires_grad_(True)
    v.requires_grad_(True)
    gu, gv = torch.autograd.grad(p.loss(u, v, c).sum(), (u, v))
    scale = 1 + gu.abs().max().item() + gv.abs().max().item()
    assert (gu - p.grad_u(u, v, c)).abs().max().item() <= 1e-10 * scale
    assert (gv - p.grad_v(u, v, c)).abs().max().item() <= 1e-10 * scale


@given(cfg=configs(), seed=st.integers(0, 1000))
def test_certified_constants_are_never_exceeded(cfg, seed):
    p = make_problem("coupled_quadratic", cfg, seed=seed)
    cert = p.certified_constants()
    meas = measured_constants(p, points=6, radius=4.0, iters=40, seed=seed)
    tol = 1e-9
    for k in ("L_u", "L_v", "L_uv", "delta"):
        assert meas[k]["value"] <= getattr(cert, k) * (1 + tol) + tol, (
            k,
            meas[k],
            getattr(cert, k),
        )
    assert meas["F_lower"]["value"] >= cert.F_lower - tol
    # F never dips below the certified lower bound, at points far and near
    u, v, c = _points(p, R=64, scale=10.0, seed=seed)
    assert p.loss(u, v, c).mean(-1).min().item() >= cert.F_lower - tol


def test_certificates_are_tight_where_the_construction_says():
    """The targets are met: certified constants equal what was asked, and the measure reaches them."""
    p = make_problem(
        "coupled_quadratic", dict(n=30, d_u=4, d_v=4, L_u=2.0, L_v=3.0, chi=0.4, delta=1.5)
    )
    cert = p.certified_constants()
    assert (
        math.isclose(cert.L_u, 2.0) and math.isclose(cert.L_v, 3.0) and math.isclose(cert.chi, 0.4)
    )
    assert math.isclose(cert.delta, 1.5)
    meas = measured_constants(p, points=64, radius=5.0)
    assert meas["L_u"]["value"] > 0.8 * cert.L_u and meas["L_uv"]["value"] > 0.8 * cert.L_uv


def test_chi_zero_gives_separable_clients():
    p = make_problem("coupled_quadratic", dict(n=5, chi=0.0, delta=1.0))
    u, v, c = _points(p)
    assert torch.equal(p.grad_u(u, v, c), p.grad_u(u, 2 * v + 1, c))  # grad_u does not see v
    assert torch.equal(p.grad_v(u, v, c), p.grad_v(3 * u - 1, v, c))  # grad_v does not see u
    assert p.certified_constants().L_uv == 0


def test_delta_zero_gives_identical_u_gradients():
    p = make_problem("coupled_quadratic", dict(n=7, chi=0.0, delta=0.0))
    u, v, c = _points(p)
    u = u[:, :1].expand_as(u)  # one shared u per point
    g = p.grad_u(u, v, c)
    assert torch.allclose(g, g[:, :1].expand_as(g), rtol=0, atol=1e-14)


def test_batched_oracles_equal_per_client_oracles():
    p = make_problem(
        "coupled_quadratic", dict(n=6, d_u=3, d_v=5, chi=0.6, nonconvexity=0.2, delta=2.0)
    )
    u, v, c = _points(p, R=2)
    G, H, F = p.grad_u(u, v, c), p.grad_v(u, v, c), p.loss(u, v, c)
    for r in range(2):
        for i in range(p.n):
            one = torch.tensor([i])
            assert torch.equal(p.grad_u(u[r, i : i + 1], v[r, i : i + 1], one)[0], G[r, i])
            assert torch.equal(p.grad_v(u[r, i : i + 1], v[r, i : i + 1], one)[0], H[r, i])
            assert torch.equal(p.loss(u[r, i : i + 1], v[r, i : i + 1], one)[0], F[r, i])


def test_instance_is_a_pure_function_of_config_and_seed():
    a = make_problem("coupled_quadratic", dict(n=4), seed=3)
    b = make_problem("coupled_quadratic", dict(n=4), seed=3)
    c = make_problem("coupled_quadratic", dict(n=4), seed=4)
    assert torch.equal(a.b, b.b) and torch.equal(a.e, b.e) and not torch.equal(a.b, c.b)


def test_float32_path_keeps_dtype_and_values():
    p64 = make_problem("coupled_quadratic", dict(n=4), seed=1)
    p32 = make_problem("coupled_quadratic", dict(n=4), seed=1, dtype="float32")
    assert p32.b.dtype == torch.float32 and p32.initial_point()[0].dtype == torch.float32
    assert torch.allclose(p32.b.double(), p64.b, rtol=1e-6)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(L_u=-1.0), r"L_u=-1\.0: must be a number in \(0, inf\)"),
        (dict(chi=0.8, nonconvexity=0.3), r"chi=0\.8: must be a number in \[0, 0\.7\)"),
        (dict(d_u=0), r"d_u=0: must be an integer in \[1, inf\)"),
        (dict(n=2.5), r"n=2\.5: must be an integer"),
        (dict(delta=0.0, chi=0.3), r"delta=0 with chi=0\.3: unreachable"),
        (dict(bogus=1), r"unknown key 'bogus'"),
    ],
)
def test_bad_knobs_get_clear_errors(params, match):
    with pytest.raises(ValueError, match=match):
        make_problem("coupled_quadratic", params)


def test_unknown_family_and_device_are_named():
    with pytest.raises(ValueError, match="family='nope'"):
        make_problem("nope")
    with pytest.raises(ValueError, match="device='tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            make_problem("coupled_quadratic", device="cuda")


def test_config_dataclass_documents_every_field():
    import dataclasses
    import inspect

    src = inspect.getsource(CoupledQuadraticConfig)
    for f in dataclasses.fields(CoupledQuadraticConfig):
        assert f"{f.name}:" in src and '"""' in src.split(f"{f.name}:")[1].split("\n")[1], f.name


@cuda
def test_cuda_problem_equals_cpu_problem():
    pc = make_problem("coupled_quadratic", dict(n=8), seed=2)
    pg = make_problem("coupled_quadratic", dict(n=8), seed=2, device="cuda")
    u, v, c = _points(pc)
    assert torch.allclose(
        pg.grad_u(u.cuda(), v.cuda(), c.cuda()).cpu(), pc.grad_u(u, v, c), rtol=1e-12
    )


# --- the finite-sum families ------------------------------------------------------------------
FINITE_SUM = [
    ("shared_representation", dict(n=4, features=3, rank=2, samples=6)),
    (
        "shared_representation",
        dict(n=4, features=3, rank=2, samples=6, noise="minibatch", batch_size=2),
    ),
    ("small_network", dict(n=4, features=3, hidden=5, samples=6)),
    ("small_network", dict(n=4, features=3, hidden=5, samples=6, noise="minibatch", batch_size=3)),
]


@pytest.mark.parametrize("family, params", FINITE_SUM)
def test_finite_sum_gradients_match_autograd(family, params):
    p = make_problem(family, params, seed=3)
    u, v, c = _points(p, scale=1.0)
    u.requires_grad_(True)
    v.requires_grad_(True)
    gu, gv = torch.autograd.grad(p.loss(u, v, c).sum(), (u, v))
    assert torch.allclose(gu, p.grad_u(u, v, c), rtol=1e-10, atol=1e-12)
    assert torch.allclose(gv, p.grad_v(u, v, c), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("family, params", FINITE_SUM)
def test_finite_sum_batched_equals_per_client(family, params):
    p = make_problem(family, params, seed=1)
    u, v, c = _points(p, R=2, scale=1.0)
    G = p.grad_u(u, v, c)
    for r in range(2):
        for i in range(p.n):
            assert torch.allclose(
                p.grad_u(u[r, i : i + 1], v[r, i : i + 1], torch.tensor([i]))[0],
                G[r, i],
                rtol=1e-13,
                atol=1e-15,
            )


@pytest.mark.parametrize("family, params", FINITE_SUM[:2])
def test_shared_representation_certificates_hold_on_the_region(family, params):
    p = make_problem(family, params, seed=2)
    cert = p.certified_constants()
    meas = measured_constants(p, points=8, radius=5.0, iters=40)
    for k in ("L_u", "L_v", "L_uv", "delta", "sigma_u", "sigma_v"):
        assert meas[k]["value"] <= getattr(cert, k) * (1 + 1e-9) + 1e-12, k
    assert meas["F_lower"]["value"] >= cert.F_lower
    u, V = p.project_to_region(*_points(p, R=4, scale=9.0)[:2])
    assert p.inside_region(u[:, 0], V).all()


def test_minibatch_gradient_is_unbiased_with_the_measured_variance():
    from altsim.synthetic.finite_sum import minibatch_weights

    p = make_problem(
        "shared_representation",
        dict(n=3, features=3, rank=2, samples=8, noise="minibatch", batch_size=3),
        seed=0,
    )
    u, v, c = _points(p, R=1, scale=0.5)
    exact = p.grad_u(u, v, c)
    z = torch.randn(
        20000, p.n, p.samples, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    w = minibatch_weights(z, 3)
    assert torch.equal((w > 0).sum(-1), torch.full((20000, p.n), 3))
    draws = p._grads(u.expand(20000, -1, -1), v.expand(20000, -1, -1), c.expand(20000, -1), w)[0]
    assert torch.allclose(draws.mean(0), exact[0], atol=0.05 * exact.abs().max().item() + 1e-3)
    var = (draws - exact).pow(2).sum(-1).mean(0).max().item()
    meas = measured_constants(p, states=(u[:, 0], v))["sigma_u"]["value"] ** 2
    assert abs(var - meas) <= 0.05 * meas


def test_small_network_certifies_nothing_and_says_so():
    p = make_problem("small_network", dict(n=3))
    cert = p.certified_constants()
    assert math.isinf(cert.L_u) and math.isinf(cert.delta) and cert.F_lower == 0.0
    assert "measured only" in p.describe()["certified"]


def test_toml_tables_build_configs_and_bad_toml_is_named(tmp_path):
    from altsim.synthetic import load_toml_table

    good = tmp_path / "p.toml"
    good.write_text("[problem]\nn = 6\nchi = 0.2\n")
    p = make_problem("coupled_quadratic", load_toml_table(good, "problem"))
    assert p.n == 6 and math.isclose(p.certified_constants().chi, 0.2)
    bad = tmp_path / "bad.toml"
    bad.write_text("[problem\nn = 6\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_toml_table(bad, "problem")


@given(
    n=st.integers(2, 6),
    features=st.integers(1, 4),
    rank=st.integers(1, 3),
    samples=st.integers(2, 8),
    spread=st.floats(0, 2),
    ridge=st.floats(0, 0.5),
    radius=st.floats(0.5, 4),
    minibatch=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_shared_representation_certificates_are_never_exceeded(
    n, features, rank, samples, spread, ridge, radius, minibatch, seed
):
    params = dict(
        n=n,
        features=features,
        rank=rank,
        samples=samples,
        head_spread=spread,
        ridge=ridge,
        radius_u=radius,
        radius_v=radius,
        noise="minibatch" if minibatch else "gaussian",
        batch_size=max(1, samples // 2),
    )
    p = make_problem("shared_representation", params, seed=seed)
    cert = p.certified_constants()
    meas = measured_constants(p, points=4, radius=2 * radius, iters=30, seed=seed)
    for k in ("L_u", "L_v", "L_uv", "delta", "sigma_u", "sigma_v"):
        assert meas[k]["value"] <= getattr(cert, k) * (1 + 1e-9) + 1e-12, k
    u, v, c = _points(p, R=16, scale=radius)
    assert p.loss(u, v, c).min().item() >= cert.F_lower


@pytest.mark.parametrize("seed", range(3))
def test_kinked_quadratic_certificates_are_exact(seed):
    """delta and F* of the adversarial family equal a brute-force search over a fine grid of u (one coordinate)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 6))
    p = make_problem(
        "kinked_quadratic",
        dict(
            n=n,
            d_u=1,
            d_v=1,
            kinked=int(rng.integers(0, n + 1)),
            radius=float(rng.uniform(0.2, 2)),
            spread=float(rng.uniform(0, 3)),
            L_u=float(rng.uniform(0.5, 2)),
        ),
        seed=seed,
    )
    c = p.certified_constants()
    xs = torch.linspace(-30, 30, 600_001, dtype=torch.float64)[:, None]
    V = p.e.expand(xs.shape[0], n, 1)
    assert float(p.objective(xs, V).min()) == pytest.approx(c.F_lower, abs=1e-6)
    g = p.grad_u(xs.unsqueeze(1).expand(-1, n, 1), V, p.all_clients)
    brute_delta = float(((g - g.mean(1, keepdim=True)) ** 2).sum(-1).mean(-1).max().sqrt())
    assert brute_delta <= c.delta * (1 + 1e-12) and brute_delta == pytest.approx(c.delta, rel=1e-6)
    # the concave core: curvature -L_u inside, +L_u outside, and C^1 at the kink
    if p.cfg.kinked:
        i = n - 1
        x0 = float(p.c[i, 0])
        for t, sign in ((0.3 * p.cfg.radius, -1), (1.5 * p.cfg.radius, 1)):
            u1, u2 = (
                torch.tensor([[x0 + t]], dtype=torch.float64),
                torch.tensor([[x0 + t + 1e-4]], dtype=torch.float64),
            )
            v = p.e[i : i + 1]
            slope = (p.grad_u(u2, v, torch.tensor([i])) - p.grad_u(u1, v, torch.tensor([i]))) / 1e-4
            assert float(slope) == pytest.approx(sign * p.cfg.L_u, rel=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_bilinear_quadratic_certificates_are_exact(seed):
    """F* equals the minimum of the convex quadratic (a linear solve), the Hessian's cross block is L_uv exactly,
    and the descent lemma of the joint step is an equality along its top eigenvector."""
    rng = np.random.default_rng(seed)
    n, d_u, d_v = int(rng.integers(1, 5)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    p = make_problem(
        "bilinear_quadratic",
        dict(
            n=n,
            d_u=d_u,
            d_v=d_v,
            chi=float(rng.uniform(0, 0.95)),
            spread=float(rng.uniform(0, 3)),
            L_u=float(rng.uniform(0.3, 3)),
            L_v=float(rng.uniform(0.3, 3)),
        ),
        seed=seed,
    )
    c = p.certified_constants()
    assert math.isinf(c.delta) and c.L_uv == pytest.approx(
        p.cfg.chi * math.sqrt(p.cfg.L_u * p.cfg.L_v), rel=1e-15
    )
    # F is a convex quadratic in z = (u, v_1..v_n): its minimum solves H z = -g0, with H, g0 by autograd
    dim = d_u + n * d_v

    def F(z):
        u, V = z[:d_u], z[d_u:].view(n, d_v)
        return p.objective(u.unsqueeze(0), V.unsqueeze(0)).squeeze(0)

    z0 = torch.zeros(dim, dtype=torch.float64)
    H = torch.autograd.functional.hessian(F, z0)
    g0 = torch.autograd.functional.jacobian(F, z0)
    z_star = torch.linalg.solve(H, -g0)
    assert float(F(z_star)) == pytest.approx(c.F_lower, rel=1e-10, abs=1e-12)
    # the cross block of one client's Hessian has operator norm L_uv (times 1/n inside F's average)
    r = min(d_u, d_v)
    if r:
        cross = H[:d_u, d_u : d_u + d_v] * n
        assert float(torch.linalg.matrix_norm(cross, ord=2)) == pytest.approx(c.L_uv, rel=1e-12)


def test_measured_constants_are_reused_for_the_same_problem_and_only_for_it():
    from altsim.synthetic import measured_constants

    a = measured_constants(make_problem("small_network", dict(n=3)))
    a["L_u"]["value"] = -1.0  # a caller's edit must not reach the next caller
    b = measured_constants(make_problem("small_network", dict(n=3)))
    assert b["L_u"]["value"] > 0
    c = measured_constants(make_problem("small_network", dict(n=3), seed=1))
    d = measured_constants(make_problem("small_network", dict(n=3, head_spread=2.0)))
    assert len({b["delta"]["value"], c["delta"]["value"], d["delta"]["value"]}) == 3


def test_a_problem_can_be_given_its_initial_point_publicly():
    """`Problem.with_initial_point`: a copy starting where asked, with the initial gap and the
    measured constants following the start, the original untouched, picklable for workers."""
    import pickle

    import torch

    from altsim.synthetic import make_problem, measured_constants

    p = make_problem("coupled_quadratic", dict(n=3, d_u=2, d_v=2, chi=0.5), seed=4)
    u_old, V_old = p.initial_point()
    u0, V0 = (
        torch.full((2,), 3.0, dtype=torch.float64),
        torch.full((3, 2), -2.0, dtype=torch.float64),
    )
    q = p.with_initial_point(u0, V0)
    assert torch.equal(q.initial_point()[0], u0) and torch.equal(q.initial_point()[1], V0)
    assert torch.equal(p.initial_point()[0], u_old) and torch.equal(p.initial_point()[1], V_old)
    cq, cp = q.certified_constants(), p.certified_constants()
    assert cq.delta_F0 == pytest.approx(float(q.objective(u0, V0)) - cq.F_lower, rel=1e-12)
    assert cq.delta_F0 != cp.delta_F0 and cq.L_u == cp.L_u  # only the start moved
    assert q.describe() != p.describe()  # the measured-constants cache keys on it: no stale entry
    assert measured_constants(q)["L_u"]["value"] <= cq.L_u * (1 + 1e-9)
    r = pickle.loads(pickle.dumps(q))
    assert torch.equal(r.initial_point()[1], V0)
    with pytest.raises(ValueError, match=r"u0: must have shape \(2,\)"):
        p.with_initial_point(torch.zeros(3), V0)
    with pytest.raises(ValueError, match="V0: every entry must be finite"):
        p.with_initial_point(u0, torch.full((3, 2), float("nan")))


def test_with_initial_point_detaches_a_tensor_with_grad_so_that_a_run_from_it_works():
    import numpy as np
    import torch

    from altsim.rates import FedSim, simulate
    from altsim.synthetic import make_problem

    p = make_problem("coupled_quadratic", dict(n=3, d_u=2, d_v=2, chi=0.5), seed=4)
    u0 = torch.ones(2, dtype=torch.float64, requires_grad=True)
    V0 = torch.zeros(3, 2, dtype=torch.float64)
    q = p.with_initial_point(u0, V0)  # a run from it failed mid-way before
    assert not q.initial_point()[0].requires_grad
    traj = simulate(q, FedSim(gamma_u=0.1, gamma_v=0.1), rounds=3, m=3, seeds=[0], compile="off")
    assert np.isfinite(traj.stationarity(1.0)).all()
    with torch.no_grad():
        u0.mul_(5)  # the start is a copy: a later change to the caller's tensor does not move it
    assert torch.equal(q.initial_point()[0], torch.ones(2, dtype=torch.float64))
    assert torch.equal(
        p.with_initial_point([1, 2], [[0, 0]] * 3).initial_point()[0],
        torch.tensor([1.0, 2.0], dtype=torch.float64),
    )


@pytest.mark.parametrize(
    "bad",
    [None, "abc", [1, [2]], [1, None], [1 + 2j, 1], [True, False], "x" * 100_000],
    ids=["None", "text", "ragged", "None-inside", "complex", "bool", "huge"],
)
def test_with_initial_point_refuses_what_is_not_real_numbers_naming_the_argument(bad):
    import numpy as np
    import torch

    from altsim.synthetic import make_problem

    p = make_problem("coupled_quadratic", dict(n=3, d_u=2, d_v=2, chi=0.5), seed=4)
    V0 = torch.zeros(3, 2, dtype=torch.float64)
    # raw torch TypeErrors not naming u0 before, and complex input cast to real with a warning
    with pytest.raises(ValueError, match=r"^u0=.*: must be real numbers of shape \(2,\)") as e:
        p.with_initial_point(bad, V0)
    assert len(str(e.value)) < 200
    with pytest.raises(ValueError, match=r"^V0=.*: must be real numbers of shape \(3, 2\)") as e:
        p.with_initial_point(torch.zeros(2), np.full((3, 2), 1j))
    assert "V0=<ndarray of shape (3, 2), dtype complex128>" in str(e.value) and "\n" not in str(
        e.value
    )


def test_with_initial_point_refuses_a_start_outside_the_region_of_the_certificates():
    from altsim.synthetic import make_problem

    p = make_problem("shared_representation", dict(n=4, features=3, rank=2, samples=6), seed=0)
    u0, V0 = p.initial_point()
    assert p.with_initial_point(0.5 * u0, V0).inside_region(
        *p.with_initial_point(0.5 * u0, V0).initial_point()
    )
    with pytest.raises(
        ValueError,
        match=r"^u0, V0: outside the region the certified constants hold on \(\|\|U\|\|_F <= ",
    ):
        p.with_initial_point(u0 * 1e3, V0)
