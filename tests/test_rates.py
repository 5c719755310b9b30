"""rates/: batched engine against the reference loop, special cases, determinism, divergence, comparison."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from altsim import theory
from altsim.rates import ExperimentConfig, FedAlt, FedSim, compare, run, simulate
from altsim.rates.compare import mean_interval, verdict
from altsim.rates.noise import NoiseStream
from altsim.synthetic import make_problem
from altsim.testing.reference import literal_run
from altsim.theory.stepsize import allowed_eta


def _states(problem, alg, rounds, m, seeds):
    out = []
    simulate(
        problem,
        alg,
        rounds=rounds,
        m=m,
        seeds=seeds,
        on_round=lambda t, u, V: out.append((u.clone(), V.clone())),
    )
    return out


@pytest.mark.parametrize(
    "alg",
    [
        FedAlt(gamma_u=0.3, gamma_v=0.2, tau_u=3, tau_v=2),
        FedSim(gamma_u=0.3, gamma_v=0.2, tau=3),
        FedAlt(gamma_u=0.5, gamma_v=0.4),
        FedSim(gamma_u=0.5, gamma_v=0.4),
    ],
    ids=["fedalt-tau", "fedsim-tau", "fedalt", "fedsim"],
)
def test_batched_engine_equals_per_client_reference(alg):
    p = make_problem(
        "coupled_quadratic",
        dict(n=7, d_u=3, d_v=4, chi=0.5, delta=1.0, sigma_u=0.3, sigma_v=0.4),
        seed=5,
    )
    seeds = [11, 3, 8]
    batched = _states(p, alg, rounds=6, m=3, seeds=seeds)
    for r, seed in enumerate(seeds):
        ref = literal_run(p, alg, rounds=6, m=3, seed=seed)
        for t in range(6):
            u_ref, V_ref = ref[t + 1]
            assert torch.allclose(batched[t][0][r], u_ref, rtol=0, atol=1e-10)
            assert torch.allclose(batched[t][1][r], V_ref, rtol=0, atol=1e-10)


def _joint_objective(p):
    def F(u, V):
        return p.loss(u.unsqueeze(0).expand(p.n, p.d_u), V, p.all_clients).mean()

    return F


def test_fedsim_full_deterministic_is_block_scaled_gradient_descent():
    p = make_problem("coupled_quadratic", dict(n=5, d_u=3, d_v=3, chi=0.5, delta=1.0), seed=2)
    gu, gv = 0.4, 0.3
    ((u1, V1),) = _states(p, FedSim(gamma_u=gu, gamma_v=gv), rounds=1, m=p.n, seeds=[0])
    u0, V0 = p.initial_point()
    u0.requires_grad_(True)
    V0.requires_grad_(True)
    du, dV = torch.autograd.grad(_joint_objective(p)(u0, V0), (u0, V0))
    # grad of F wrt v_i is (1/n) grad_v F_i, so the personal step is n * gamma_v on the joint gradient
    assert torch.allclose(u1[0], u0 - gu * du, atol=1e-12)
    assert torch.allclose(V1[0], V0 - gv * p.n * dV, atol=1e-12)


def test_fedalt_full_deterministic_is_alternating_block_descent():
    p = make_problem("coupled_quadratic", dict(n=5, d_u=3, d_v=3, chi=0.5, delta=1.0), seed=2)
    gu, gv = 0.4, 0.3
    ((u1, V1),) = _states(p, FedAlt(gamma_u=gu, gamma_v=gv), rounds=1, m=p.n, seeds=[0])
    F = _joint_objective(p)
    u0, V0 = p.initial_point()
    V0.requires_grad_(True)
    V_half = V0 - gv * p.n * torch.autograd.grad(F(u0, V0), V0)[0]
    u0.requires_grad_(True)
    u_next = u0 - gu * torch.autograd.grad(F(u0, V_half.detach()), u0)[0]
    assert torch.allclose(V1[0], V_half, atol=1e-12) and torch.allclose(u1[0], u_next, atol=1e-12)


def test_fedalt_and_fedsim_differ_when_coupled():
    p = make_problem("coupled_quadratic", dict(n=5, chi=0.6, delta=1.0), seed=2)
    ((ua, _),) = _states(p, FedAlt(gamma_u=0.5, gamma_v=0.5), 1, p.n, [0])
    ((us, _),) = _states(p, FedSim(gamma_u=0.5, gamma_v=0.5), 1, p.n, [0])
    assert not torch.allclose(ua, us)


def test_partial_participation_keeps_unsampled_clients_v():
    p = make_problem("coupled_quadratic", dict(n=9, chi=0.5, delta=1.0, sigma_v=0.5), seed=1)
    noise = NoiseStream(torch.tensor([4]), p.device, p.dtype)
    sampled = set(noise.sample_clients(0, p.n, 3)[0].tolist())
    ((_, V1),) = _states(p, FedAlt(gamma_u=0.5, gamma_v=0.5), 1, 3, [4])
    _, V0 = p.initial_point()
    for i in range(p.n):
        assert torch.equal(V1[0, i], V0[i]) != (i in sampled)


def test_sampling_is_without_replacement_and_uniform():
    noise = NoiseStream(torch.arange(4000), torch.device("cpu"), torch.float64)
    s = noise.sample_clients(7, 10, 4)
    assert all(len(set(row)) == 4 for row in s.tolist())
    freq = torch.bincount(s.flatten(), minlength=10).double() / s.numel()
    assert torch.allclose(
        freq, torch.full((10,), 0.1, dtype=torch.float64), atol=0.01
    )  # 4000*4 draws: sd ~0.0024


def test_noise_is_standard_normal_and_independent_of_batching():
    noise = NoiseStream(torch.arange(16), torch.device("cpu"), torch.float64)
    clients = torch.arange(500).expand(16, 500)
    z = noise.normal(3, clients, 1, 2, 40)
    assert abs(z.mean().item()) < 0.01 and abs(z.var().item() - 1) < 0.01  # 320k draws
    one = NoiseStream(torch.tensor([9]), torch.device("cpu"), torch.float64).normal(
        3, clients[:1, 100:200], 1, 2, 40
    )
    assert torch.equal(one[0], z[9, 100:200])
    assert not torch.equal(noise.normal(4, clients, 1, 2, 40), z)


def _fmix32_reference(h: int) -> int:
    """MurmurHash3's finaliser written from its definition, on Python ints."""
    h ^= h >> 16
    h = (h * 0x85EBCA6B) % 2**32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) % 2**32
    return h ^ (h >> 16)


@pytest.mark.parametrize("size", [1, 7, 8, 9, 31, 1000, 4097])  # vector widths and scalar tails
def test_wrapping_int32_hash_and_split_int64_hash_equal_the_definition(size):
    from altsim.rates.noise import _as_int32, _fmix32, _fmix32_wrapping, _unit_interval

    gen = torch.Generator().manual_seed(size)
    words = torch.randint(0, 2**32, (size,), generator=gen, dtype=torch.int64)
    words[0] = 2**32 - 1  # the word whose int32 pattern is -1
    if size > 1:
        words[1] = 2**31  # the most negative int32
    expected = torch.tensor([_fmix32_reference(int(w)) for w in words], dtype=torch.int64)
    assert torch.equal(_fmix32(words), expected)
    wrapped = _fmix32_wrapping(_as_int32(words))
    assert wrapped.dtype == torch.int32
    assert torch.equal(wrapped.to(torch.int64) & 0xFFFFFFFF, expected)
    assert torch.equal(_unit_interval(wrapped), (expected.to(torch.float64) + 0.5) * 2.0**-32)


def test_a_tensor_round_index_draws_the_same_numbers_as_an_int():
    noise = NoiseStream(torch.tensor([3, 2**40 + 1]), torch.device("cpu"), torch.float64)
    for t in (0, 5, 2**33 + 9):
        clients = noise.sample_clients(t, 50, 7)
        assert torch.equal(clients, noise.sample_clients(torch.tensor(t), 50, 7))
        assert torch.equal(
            noise.normal(t, clients, 2, 1, 13), noise.normal(torch.tensor(t), clients, 2, 1, 13)
        )


def test_seeds_run_together_equal_seeds_run_alone_bitwise():
    p = make_problem(
        "coupled_quadratic", dict(n=12, chi=0.5, delta=1.0, sigma_u=0.5, sigma_v=0.5), seed=0
    )
    alg = FedAlt(gamma_u=0.3, gamma_v=0.3, tau_u=2, tau_v=2)
    together = simulate(p, alg, rounds=20, m=4, seeds=list(range(8)))
    for s in (0, 5, 7):
        alone = simulate(p, alg, rounds=20, m=4, seeds=[s])
        assert np.array_equal(alone.grad_u_sq[0], together.grad_u_sq[s])
        assert np.array_equal(alone.grad_v_sq_mean[0], together.grad_v_sq_mean[s])


def test_divergence_stops_only_the_diverged_seeds_and_keeps_the_rest():
    p = make_problem("coupled_quadratic", dict(n=6, chi=0.5, delta=1.0, sigma_u=0.0), seed=0)
    tr = simulate(p, FedSim(gamma_u=50.0, gamma_v=50.0), rounds=40, m=6, seeds=[0, 1])
    assert (tr.diverged_at >= 0).all()
    t0 = tr.diverged_at[0]
    assert np.isfinite(tr.grad_u_sq[0, :t0]).all() and np.isnan(tr.grad_u_sq[0, t0:]).all()
    ok = simulate(p, FedSim(gamma_u=0.5, gamma_v=0.5), rounds=40, m=6, seeds=[0])
    assert (ok.diverged_at == -1).all() and np.isfinite(ok.grad_u_sq).all()
    # eta = 50 is outside the bound's range, so the bound does not cover the run and says why
    bound = theory.get_bound("fedsim_gd_full")
    setting = {**p.certified_constants().values(), "T": 40}
    assert "step size range" in " ".join(
        compare(tr, [bound], {**tr.setting, **setting}).not_covering[bound.name]
    )
    # a covered run stopped by the blow-up threshold is reported as diverged, with no ratio
    stopped = simulate(
        p, FedSim(gamma_u=0.5, gamma_v=0.5), rounds=10, m=6, seeds=[0, 1], blowup=1e-9
    )
    assert (stopped.diverged_at == 0).all()
    chk = compare(stopped, [bound], {**stopped.setting, **setting}).checks[0]
    assert chk.verdict == "diverged" and math.isnan(chk.ratio)


def test_verdicts_and_intervals():
    assert verdict(0.1, 0.2, 0.3) == "holds"
    assert verdict(0.4, 0.5, 0.3) == "violated"
    assert verdict(0.2, 0.4, 0.3) == "inconclusive"
    mean, lo, hi = mean_interval(np.array([[1.0], [2.0], [3.0]]), exact=False)
    # t_{0.975, 2} = 4.3027; sd = 1; half width = 4.3027/sqrt(3)
    assert math.isclose(hi[0] - mean[0], 4.302652729911275 / math.sqrt(3), rel_tol=1e-9)
    mean, lo, hi = mean_interval(np.array([[1.0]]), exact=False)
    assert lo[0] == -math.inf and hi[0] == math.inf


@st.composite
def instances(draw):
    nu = draw(st.floats(0.0, 0.6))
    return dict(
        n=draw(st.integers(2, 10)),
        d_u=draw(st.integers(1, 5)),
        d_v=draw(st.integers(1, 5)),
        L_u=draw(st.floats(0.2, 5)),
        L_v=draw(st.floats(0.2, 5)),
        nonconvexity=nu,
        chi=draw(st.floats(0.0, 0.95 * (1 - nu))),
        delta=draw(st.floats(0.1, 3)),
        init_scale=draw(st.floats(0.1, 5)),
    )


@given(
    params=instances(),
    seed=st.integers(0, 10**6),
    eta_frac=st.floats(0.05, 0.99),
    alg=st.sampled_from(["fedalt", "fedsim"]),
)
def test_deterministic_explicit_bounds_hold_at_every_horizon(params, seed, eta_frac, alg):
    """Exact runs (m = n, no noise) never exceed the [D] deterministic bounds, at any step size in range."""
    bound = theory.get_bound(f"{alg}_gd_full")
    p = make_problem("coupled_quadratic", params, seed=seed)
    cert = p.certified_constants()
    eta = eta_frac * bound.eta_max_at({"chi": cert.chi})
    algo = (FedAlt if alg == "fedalt" else FedSim)(gamma_u=eta / cert.L_u, gamma_v=eta / cert.L_v)
    tr = simulate(p, algo, rounds=40, m=p.n, seeds=[0])
    curve = bound.evaluate({**cert.values(), "eta": eta, "T": tr.horizons.astype(float)})
    assert np.all(tr.running_average()[0] <= curve * (1 + 1e-9))


def test_stochastic_explicit_bounds_are_not_violated_on_random_instances():
    rng = np.random.default_rng(0)
    for k in range(6):
        params = dict(
            n=int(rng.integers(3, 12)),
            chi=float(rng.uniform(0, 0.6)),
            delta=float(rng.uniform(0.2, 2)),
            sigma_u=float(rng.uniform(0.1, 1)),
            sigma_v=float(rng.uniform(0.1, 1)),
            d_u=4,
            d_v=4,
        )
        res = run(
            ExperimentConfig(problem=params, problem_seed=k, rounds=60, seeds=tuple(range(6)))
        )
        for comp in res.compare().values():
            assert comp.checks, comp.not_covering
            for chk in comp.checks:
                assert chk.verdict in ("holds", "inconclusive"), (params, chk.summary())


@pytest.mark.parametrize("alg", ["fedalt", "fedsim"])
def test_partial_participation_bounds_cover_and_hold(alg):
    params = dict(n=20, chi=0.5, delta=2.0, sigma_u=0.3, sigma_v=0.3, d_u=5, d_v=5)
    res = run(
        ExperimentConfig(problem=params, rounds=150, m=5, seeds=tuple(range(8)), algorithms=(alg,))
    )
    comp = res.compare()[alg]
    names = {c.name: c for c in comp.checks}
    assert set(names) == {
        f"{alg}_sgd_partial",
        f"{alg}_sgd_local",
    }  # the local-step bound covers tau = 1 too
    assert all(c.weight == 0.25 and c.verdict == "holds" for c in names.values())
    assert "full participation" in " ".join(comp.not_covering[f"{alg}_sgd_full"])


@given(
    params=instances(),
    seed=st.integers(0, 10**6),
    frac=st.floats(0.2, 0.8),
    eta_frac=st.floats(0.05, 1.0),
    alg=st.sampled_from(["fedalt", "fedsim"]),
)
def test_partial_participation_bounds_hold_without_noise_in_expectation(
    params, seed, frac, eta_frac, alg
):
    """sigma = 0: the only randomness is sampling; 12 seeds must not show a significant violation."""
    n = params["n"]
    m = max(1, min(n, round(frac * n)))
    bound = theory.get_bound(f"{alg}_sgd_partial")
    p = make_problem("coupled_quadratic", params, seed=seed)
    cert = p.certified_constants()
    values = {**cert.values(), "n": n, "m": m}
    eta = eta_frac * allowed_eta(
        bound, {**values, "tau": 1, "tau_u": 1, "tau_v": 1}
    )  # inside its step conditions
    algo = (FedAlt if alg == "fedalt" else FedSim)(gamma_u=eta / cert.L_u, gamma_v=eta / cert.L_v)
    tr = simulate(p, algo, rounds=30, m=m, seeds=list(range(12)))
    setting = {**tr.setting, **values, "T": 30}
    assert bound.covers(setting), bound.covers(setting).reasons
    chk = compare(tr, [bound], setting).checks[0]
    assert chk.verdict != "violated", chk.summary()


def test_automatic_step_size_refuses_when_no_bound_covers():
    # stateless clients: every [D] bound assumes clients keep v_i
    with pytest.raises(ValueError, match="no \\[D\\] bound covers"):
        run(
            ExperimentConfig(
                problem=dict(n=10), rounds=5, m=3, tau_u=2, algorithms=("fedalt",), stateless=True
            )
        )
    res = run(
        ExperimentConfig(
            problem=dict(n=10),
            rounds=5,
            m=3,
            tau_u=2,
            algorithms=("fedalt",),
            eta=0.3,
            stateless=True,
        )
    )
    assert res.compare()["fedalt"].checks == []  # and the reasons are listed
    assert res.compare()["fedalt"].not_covering


def test_run_is_reproducible():
    cfg = ExperimentConfig(
        problem=dict(n=8, sigma_u=0.5, sigma_v=0.5), rounds=30, m=None, seeds=(0, 1)
    )
    a, b = run(cfg), run(cfg)
    for alg in cfg.algorithms:
        assert np.array_equal(a.trajectories[alg].grad_u_sq, b.trajectories[alg].grad_u_sq)


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(rounds=0), "rounds=0"),
        (dict(seeds=()), "seeds"),
        (dict(algorithms=("fedx",)), "algorithms\\[\\]='fedx': unknown algorithm"),
        (dict(eta=-1.0), "eta=-1.0"),
        (dict(tau=0), "tau=0"),
    ],
)
def test_bad_experiment_configs_are_refused_before_work(bad, match):
    with pytest.raises(ValueError, match=match):
        ExperimentConfig(**bad)


def test_m_larger_than_n_is_refused():
    with pytest.raises(ValueError, match=r"m=50: must be an integer in \[1, 10\]"):
        run(ExperimentConfig(problem=dict(n=10), m=50, rounds=3, eta=0.1))


@pytest.mark.parametrize(
    "family, params",
    [
        (
            "shared_representation",
            dict(n=6, features=3, rank=2, samples=5, noise="minibatch", batch_size=2),
        ),
        ("small_network", dict(n=6, features=3, hidden=4, samples=5, sigma_u=0.2, sigma_v=0.3)),
    ],
)
@pytest.mark.parametrize(
    "alg",
    [
        FedAlt(gamma_u=0.05, gamma_v=0.05, tau_u=2, tau_v=2),
        FedSim(gamma_u=0.05, gamma_v=0.05, tau=2),
    ],
    ids=["fedalt", "fedsim"],
)
def test_batched_engine_equals_reference_on_every_family(family, params, alg):
    p = make_problem(family, params, seed=2)
    batched = _states(p, alg, rounds=4, m=3, seeds=[1, 4])
    for r, seed in enumerate([1, 4]):
        ref = literal_run(p, alg, rounds=4, m=3, seed=seed)
        for t in range(4):
            assert torch.allclose(batched[t][0][r], ref[t + 1][0], rtol=0, atol=1e-10)
            assert torch.allclose(batched[t][1][r], ref[t + 1][1], rtol=0, atol=1e-10)


def test_fedavg_keeps_one_shared_v_and_local_only_never_moves_u():
    from altsim.rates import FedAvg, LocalOnly

    p = make_problem(
        "coupled_quadratic", dict(n=6, chi=0.5, delta=1.0, sigma_u=0.2, sigma_v=0.2), seed=0
    )
    (_u1, V1), *_ = _states(p, FedAvg(gamma_u=0.3, gamma_v=0.3, tau=2), rounds=3, m=3, seeds=[0])
    assert torch.allclose(V1[0], V1[0, :1].expand_as(V1[0]))
    states = _states(p, LocalOnly(gamma_v=0.3, tau_v=2), rounds=3, m=3, seeds=[0])
    u0, V0 = p.initial_point()
    assert all(torch.equal(u[0], u0) for u, _ in states) and not torch.equal(states[-1][1][0], V0)


def test_official_variant_uses_one_step_size_and_bounds_say_why_they_do_not_cover():
    res = run(
        ExperimentConfig(
            problem=dict(n=6, L_u=1.0, L_v=2.0), rounds=5, eta=0.3, official=True, tau=2
        )
    )
    s = res.settings["fedalt"]
    assert (
        s["gamma_u"] == s["gamma_v"] == pytest.approx(0.3 / (2.0 * 2))
        and s["tau_u"] == s["tau_v"] == 2
    )
    assert "one local step on u" in " ".join(
        res.compare()["fedalt"].not_covering["fedalt_sgd_full"]
    )


@pytest.mark.parametrize(
    "alg",
    [
        FedAlt(gamma_u=0.3, gamma_v=0.3, stateless=True),
        FedSim(gamma_u=0.3, gamma_v=0.3, stateless=True),
    ],
    ids=["fedalt", "fedsim"],
)
def test_stateless_clients_restart_from_their_initial_v(alg):
    p = make_problem("coupled_quadratic", dict(n=6, chi=0.5, delta=1.0, sigma_v=0.3), seed=0)
    batched = _states(p, alg, rounds=4, m=3, seeds=[2])
    ref = literal_run(p, alg, rounds=4, m=3, seed=2)
    for t in range(4):
        assert torch.allclose(batched[t][1][0], ref[t + 1][1], atol=1e-12)
    res_setting = {**alg.setting(), "n": 6, "m": 3, **p.certified_constants().values()}
    assert "stateless" in " ".join(
        theory.get_bound(f"{alg.name}_sgd_partial").covers(res_setting).reasons
    )


def test_comparison_carries_calibrated_template_constants():
    res = run(
        ExperimentConfig(
            problem=dict(n=8, sigma_u=0.3, sigma_v=0.3), rounds=100, m=4, seeds=(0, 1, 2)
        )
    )
    comp = res.compare()["fedsim"]
    c = comp.calibrated_template
    assert set(c) == {"C1", "C2", "C3"} and all(v >= 0 for v in c.values())
    T = comp.checks[0].horizons
    fitted = c["C1"] / np.sqrt(T) + c["C2"] / T ** (2 / 3) + c["C3"] / T
    measured = res.trajectories["fedsim"].running_average().mean(0)
    idx = np.unique(np.geomspace(1, len(T), 40).astype(int) - 1)
    assert np.all(fitted[idx] >= measured[idx] * (1 - 1e-7))  # covers every calibration point


def test_the_demo_bounds_hold_on_40_random_instances():
    """The demo's setting (m = n/2, one local step, noise, theory step sizes) on 40 closed-form instances
    (100 took a minute of the CI budget)."""
    rng = np.random.default_rng(2026)
    verdicts = []
    for k in range(40):
        nu = float(rng.uniform(0, 0.5))
        n = int(rng.integers(4, 12))
        params = dict(
            n=n,
            d_u=int(rng.integers(1, 5)),
            d_v=int(rng.integers(1, 5)),
            L_u=float(rng.uniform(0.3, 3)),
            L_v=float(rng.uniform(0.3, 3)),
            nonconvexity=nu,
            chi=float(rng.uniform(0, 0.95 * (1 - nu))),
            delta=float(rng.uniform(0.1, 3)),
            sigma_u=float(rng.uniform(0, 1)),
            sigma_v=float(rng.uniform(0, 1)),
            init_scale=float(rng.uniform(0.2, 3)),
        )
        res = run(
            ExperimentConfig(
                problem=params, problem_seed=k, rounds=25, m=n // 2, seeds=tuple(range(6))
            )
        )
        for comp in res.compare().values():
            chk = next(c for c in comp.checks if c.name == res.step_bounds[comp.algorithm])
            verdicts.append(chk.verdict)
            assert chk.verdict != "violated", (params, chk.summary())
    assert len(verdicts) == 80 and verdicts.count("holds") >= 76


def test_full_personalization_trains_each_clients_own_copy_without_averaging():
    from altsim.rates import FullPersonalization

    p = make_problem("coupled_quadratic", dict(n=5, d_u=2, d_v=2, chi=0.5, delta=1.0), seed=3)
    alg = FullPersonalization(gamma_u=0.2, gamma_v=0.3)
    ((u1, V1),) = _states(p, alg, rounds=1, m=p.n, seeds=[0])
    u0, V0 = p.initial_point()
    c = p.all_clients
    uu = u0.expand(p.n, -1)
    own_u = uu - 0.2 * p.grad_u(uu, V0, c)  # each client's step on its own F_i, from u^0
    assert torch.allclose(V1[0], V0 - 0.3 * p.grad_v(uu, V0, c), atol=1e-12)
    assert torch.allclose(
        u1[0], own_u.mean(0), atol=1e-12
    )  # the engine's u is the mean of the copies
    tr = simulate(p, alg, rounds=30, m=2, seeds=[0, 1])
    assert np.isfinite(tr.grad_u_sq).all()


@given(
    params=instances(),
    seed=st.integers(0, 10**6),
    eta_frac=st.floats(0.05, 0.99),
    tau=st.integers(1, 6),
)
def test_local_steps_bound_holds_at_every_horizon(params, seed, eta_frac, tau):
    """Deterministic FedSim with tau local steps never exceeds the [D] client-drift bound."""
    bound = theory.get_bound("fedsim_gd_local")
    p = make_problem("coupled_quadratic", params, seed=seed)
    cert = p.certified_constants()
    eta = eta_frac * bound.eta_max_at({"chi": cert.chi})
    algo = FedSim(gamma_u=eta / (cert.L_u * tau), gamma_v=eta / (cert.L_v * tau), tau=tau)
    setting = {**algo.setting(), **cert.values(), "n": p.n, "m": p.n}
    assume(bound.covers(setting))  # c(eta) <= 0: the bound says nothing at this step size
    tr = simulate(p, algo, rounds=30, m=p.n, seeds=[0])
    curve = bound.evaluate(
        {**cert.values(), "eta": eta, "tau": tau, "T": tr.horizons.astype(float)}
    )
    assert np.all(tr.running_average()[0] <= curve * (1 + 1e-9))


def test_local_steps_bound_picks_the_step_size_for_tau_above_one():
    res = run(
        ExperimentConfig(
            problem=dict(n=6, chi=0.4, delta=1.0), rounds=40, tau=3, algorithms=("fedsim",)
        )
    )
    # fedsim_gd_local is fedsim_sgd_local without noise at m = n: the two tie (to the weight searches' precision)
    # and either picks the step size
    assert res.step_bounds["fedsim"] in ("fedsim_gd_local", "fedsim_sgd_local")
    chk = res.compare()["fedsim"].checks
    assert {c.name for c in chk} == {"fedsim_gd_local", "fedsim_sgd_local"} and all(
        c.verdict == "holds" for c in chk
    )


@pytest.mark.filterwarnings("ignore:eta=")
def test_a_reused_u_sample_is_refused_by_the_bounds_that_need_a_fresh_one_and_the_run_still_reports():
    """FedAlt's proofs take the u-step's noise independent of the v-step's: a run whose u-step reuses the
    v-step's minibatch runs, and is reported against the bounds that still cover it (here none) with why."""
    from altsim.testing.contracts import check_algorithm

    problem = dict(n=6, features=3, rank=2, samples=8, noise="minibatch", batch_size=2)
    base = dict(
        family="shared_representation",
        problem=problem,
        algorithms=("fedalt",),
        rounds=20,
        eta=0.2,
        seeds=(0, 1, 2),
    )
    fresh = run(ExperimentConfig(**base))
    reused = run(ExperimentConfig(**base, algorithm_options={"fedalt": {"reuse_sample": True}}))
    assert reused.settings["fedalt"]["reuse_sample"] is True
    assert not np.array_equal(
        fresh.trajectories["fedalt"].grad_u_sq, reused.trajectories["fedalt"].grad_u_sq
    )
    bound = theory.get_bound("fedalt_sgd_full")
    setting = {**reused.settings["fedalt"], **reused.constants.values()}
    cov = bound.covers(setting)
    assert "sample_independence" in cov.failed_kinds
    assert (
        "sample_independence" not in bound.covers({**setting, "reuse_sample": False}).failed_kinds
    )
    assert any(
        "fresh sample" in r for r in reused.compare()["fedalt"].not_covering["fedalt_sgd_full"]
    )
    # the batched run with reuse equals the per-client loop (literal and generic references)
    check_algorithm(
        "fedalt", family="shared_representation", params=problem, options={"reuse_sample": True}
    )
    p = make_problem("shared_representation", problem, seed=1)
    alg = FedAlt(gamma_u=0.05, gamma_v=0.05, tau_u=3, tau_v=2, reuse_sample=True)
    batched = _states(p, alg, rounds=3, m=3, seeds=[5])
    ref = literal_run(p, alg, rounds=3, m=3, seed=5)
    for t in range(3):
        assert torch.allclose(batched[t][0][0], ref[t + 1][0], atol=1e-12)


def test_reusing_a_sample_needs_a_minibatch_family_and_is_refused_before_work_otherwise():
    with pytest.raises(
        ValueError, match="reuse_sample=True: needs a family whose noise is a minibatch"
    ):
        run(
            ExperimentConfig(
                problem=dict(n=4, sigma_u=0.3),
                algorithms=("fedalt",),
                rounds=3,
                eta=0.1,
                algorithm_options={"fedalt": {"reuse_sample": True}},
            )
        )


@pytest.mark.parametrize(
    "changes, field",
    [
        (dict(algorithms=("fedavg",), stateless=True), "stateless"),
        (dict(algorithms=("fedsim",), tau_u=3), "tau_u"),
        (dict(algorithms=("local_only",), official=True), "official"),
    ],
)
def test_a_config_field_no_algorithm_of_the_run_has_is_warned_about(changes, field):
    with pytest.warns(UserWarning, match=f"{field}=.*has no effect"):
        run(ExperimentConfig(problem=dict(n=4), rounds=2, eta=0.1, seeds=(0,), **changes))


def test_config_fields_some_algorithm_uses_give_no_such_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        run(
            ExperimentConfig(
                problem=dict(n=4),
                rounds=2,
                eta=0.1,
                seeds=(0,),
                tau=2,
                tau_u=2,
                algorithms=("fedalt", "fedsim"),
            )
        )


def _noise_pair(problem, rounds=400, step=0):
    """The u- and v-gradient noise the engine's oracles add at the same local step, over many rounds."""
    from altsim.rates.noise import NoiseStream, stochastic_grad_u, stochastic_grad_v

    noise = NoiseStream(torch.arange(1), problem.device, problem.dtype)
    clients = problem.all_clients.expand(1, problem.n)
    u0, V0 = problem.initial_point()
    u, V = u0.expand(1, problem.n, -1), V0.unsqueeze(0)
    gu, gv = problem.grad_u(u, V, clients), problem.grad_v(u, V, clients)
    xu = torch.stack(
        [stochastic_grad_u(problem, noise, t, step, u, V, clients) - gu for t in range(rounds)]
    )
    xv = torch.stack(
        [stochastic_grad_v(problem, noise, t, step, u, V, clients) - gv for t in range(rounds)]
    )
    return xu.reshape(rounds * problem.n, -1), xv.reshape(rounds * problem.n, -1)


@pytest.mark.parametrize("family", ["coupled_quadratic", "kinked_quadratic"])
def test_correlated_noise_has_the_configured_correlation_and_unchanged_variance(family):
    base = dict(n=5, d_u=3, d_v=4, sigma_u=0.6, sigma_v=0.8)
    xu, xv = _noise_pair(make_problem(family, {**base, "noise_correlation": -0.7}, seed=2))
    n_draws = xu.shape[0]
    zu, zv = xu / (0.6 / math.sqrt(3)), xv / (0.8 / math.sqrt(4))  # standard normals per coordinate
    corr = (zu * zv[:, :3]).mean(0)  # the coordinates both blocks have
    assert torch.allclose(
        corr, torch.full((3,), -0.7, dtype=corr.dtype), atol=5 / math.sqrt(n_draws)
    )
    assert torch.allclose(
        zu.var(0), torch.ones(3, dtype=zu.dtype), atol=8 / math.sqrt(n_draws)
    )  # sigma_u still exact
    # independent by default, and the default draws are the ones every earlier run used, bit for bit
    xu0, xv0 = _noise_pair(make_problem(family, base, seed=2))
    xu1, _ = _noise_pair(make_problem(family, {**base, "noise_correlation": 0.0}, seed=2))
    assert torch.equal(xu0, xu1) and (
        xu0 / (0.6 / math.sqrt(3)) * xv0[:, :3] / 0.4
    ).mean().abs() < 5 / math.sqrt(3 * n_draws)
    # without v-noise there is nothing to correlate with: the problem reports 0
    assert (
        make_problem(family, {**base, "sigma_v": 0.0, "noise_correlation": 0.5}).noise_correlation
        == 0.0
    )


@pytest.mark.filterwarnings("ignore:eta=")
def test_correlated_noise_is_refused_by_fedalts_bounds_and_covered_by_fedsims():
    """FedAlt's proofs need the u-noise independent of the v-step that moved v; FedSim's only need each block's
    noise unbiased with bounded variance, whatever their correlation."""
    cfg = ExperimentConfig(
        problem=dict(n=6, sigma_u=0.5, sigma_v=0.5, noise_correlation=0.8),
        algorithms=("fedalt", "fedsim"),
        rounds=30,
        eta=0.2,
        m=3,
        seeds=(0, 1),
    )
    res = run(cfg)
    assert res.settings["fedalt"]["noise_correlation"] == 0.8
    comp = res.compare()
    for name in ("fedalt_sgd_partial", "fedalt_sgd_local"):
        assert any("uncorrelated" in r for r in comp["fedalt"].not_covering[name]), comp[
            "fedalt"
        ].not_covering
    sim = [c for c in comp["fedsim"].checks if c.name in ("fedsim_sgd_partial", "fedsim_sgd_local")]
    assert len(sim) == 2 and all(c.verdict == "holds" for c in sim)
    independent = run(dataclasses.replace(cfg, problem={**cfg.problem, "noise_correlation": 0.0}))
    assert not np.array_equal(
        independent.trajectories["fedsim"].grad_u_sq, res.trajectories["fedsim"].grad_u_sq
    )
    assert {c.name for c in independent.compare()["fedalt"].checks} >= {
        "fedalt_sgd_partial",
        "fedalt_sgd_local",
    }
    with pytest.raises(ValueError, match=r"noise_correlation=1.5.*\[-1, 1\]"):
        make_problem("coupled_quadratic", dict(noise_correlation=1.5))
