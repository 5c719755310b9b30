"""Property-based tests of the bounds and the engine, written with altsim.testing as a user would."""

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from altsim import testing, theory
from altsim.rates import FedAlt, FedSim, run, simulate
from altsim.testing.falsify import falsify
from altsim.synthetic import make_problem

EXPLICIT = [b for b in theory.BOUNDS.values() if b.provenance == "D"]


@pytest.mark.filterwarnings("ignore:eta=")  # an eta in one bound's range may be outside another's: expected here
@pytest.mark.parametrize("bound", EXPLICIT, ids=lambda b: b.name)
@settings(max_examples=8, deadline=None, derandomize=True)
@given(data=st.data())
def test_every_explicit_bound_holds_on_generated_instances(bound, data):
    config = data.draw(testing.experiment_configs(bound, rounds=30))
    res = run(config)
    assert bound.covers(res.settings[bound.algorithm]), "the strategy drew a run outside the bound's conditions"
    att = testing.assert_bound_holds(bound, res)
    # the reported worst horizon is recomputed independently: measured / bound at T = att.T
    tr, setting = res.trajectories[bound.algorithm], res.settings[bound.algorithm]
    weight = bound.weight_at(setting)
    k = list(tr.horizons).index(att.T)
    measured = tr.running_average(weight)[:, k].mean()
    assert np.isclose(att.ratio, measured / float(bound.evaluate({**setting, "T": att.T})), rtol=1e-9)


def test_assert_bound_holds_catches_a_broken_bound():
    bound = theory.get_bound("fedsim_gd_full")
    cfg = testing.experiment_configs(bound, rounds=30)
    with pytest.raises(AssertionError, match="violated"):
        @settings(max_examples=30, deadline=None, derandomize=True, database=None)
        @given(config=cfg)
        def halved(config):
            testing.assert_bound_holds(bound, config, scale=0.5)

        halved()


def test_falsify_finds_the_halved_fedsim_bound_within_a_small_budget():
    rep = falsify("fedsim_gd_full", budget=30, scale=0.5, seed=0)
    assert rep["violation"] and rep["worst_ratio"] > 1
    assert rep["counterexample"] is not None and rep["counterexample_ratio"] > 1
    small = rep["counterexample"]["problem"]
    assert small["n"] <= rep["worst_config"]["problem"]["n"]


def test_falsify_honours_its_budget_and_reports_the_worst_ratio():
    import time

    t0 = time.time()
    rep = falsify("fedalt_sgd_full", budget=4, seed=1)
    # the budget, plus the run in flight and possibly one 256-seed confirmation of a candidate
    assert time.time() - t0 < 4 + 60, rep
    assert rep["evaluations"] >= 1 and 0 < rep["worst_ratio"] and not rep["violation"], rep


class Scaled:
    """The same problem with F multiplied by c (a metamorphic transformation)."""

    def __init__(self, problem, c):
        self.p, self.c = problem, c
        for k in ("n", "d_u", "d_v", "device", "dtype", "family"):
            setattr(self, k, getattr(problem, k))
        self.sigma_u, self.sigma_v = c * problem.sigma_u, c * problem.sigma_v

    def __getattr__(self, k):
        return getattr(self.p, k)

    def loss(self, u, v, clients):
        return self.c * self.p.loss(u, v, clients)

    def grad_u(self, u, v, clients):
        return self.c * self.p.grad_u(u, v, clients)

    def grad_v(self, u, v, clients):
        return self.c * self.p.grad_v(u, v, clients)

    def stochastic_grad_u(self, u, v, clients, z):
        return self.c * self.p.stochastic_grad_u(u, v, clients, z)

    def stochastic_grad_v(self, u, v, clients, z):
        return self.c * self.p.stochastic_grad_v(u, v, clients, z)

    def certified_constants(self):
        cert = self.p.certified_constants()
        c = self.c
        return dataclasses.replace(cert, L_u=c * cert.L_u, L_v=c * cert.L_v, L_uv=c * cert.L_uv, sigma_u=c * cert.sigma_u,
                                   sigma_v=c * cert.sigma_v, delta=c * cert.delta, delta_F0=c * cert.delta_F0,
                                   F_lower=c * cert.F_lower)


@settings(max_examples=15, deadline=None)
@given(params=testing.problem_params(), c=st.floats(0.01, 100.0), seed=testing.seeds(),
       alg=st.sampled_from(["fedalt", "fedsim"]))
def test_scaling_the_objective_scales_delta_and_the_bound_alike(params, c, seed, alg):
    """F -> cF: with gamma = eta / L the iterates are unchanged, Delta and the bound both scale by c."""
    p = make_problem("coupled_quadratic", params, seed=seed % 1000)
    q = Scaled(p, c)
    bound = theory.get_bound(f"{alg}_sgd_full")
    runs = {}
    for name, prob in (("orig", p), ("scaled", q)):
        cert = prob.certified_constants()
        eta = 0.3 * bound.eta_max_at({"chi": cert.chi})
        a = (FedAlt if alg == "fedalt" else FedSim)(gamma_u=eta / cert.L_u, gamma_v=eta / cert.L_v)
        tr = simulate(prob, a, rounds=15, m=p.n, seeds=[0, 1])
        curve = bound.evaluate({**cert.values(), "n": p.n, "eta": eta, "T": tr.horizons.astype(float)})
        runs[name] = (tr.running_average(), curve)
    np.testing.assert_allclose(runs["scaled"][0], c * runs["orig"][0], rtol=1e-8)
    np.testing.assert_allclose(runs["scaled"][1], c * runs["orig"][1], rtol=1e-8)


@settings(max_examples=15, deadline=None)
@given(params=testing.problem_params(stochastic=False), seed=testing.seeds(), perm_seed=testing.seeds(),
       alg=st.sampled_from(["fedalt", "fedsim"]))
def test_a_full_participation_run_is_invariant_to_client_relabelling(params, seed, perm_seed, alg):
    p = make_problem("coupled_quadratic", params, seed=seed % 1000)
    q = make_problem("coupled_quadratic", params, seed=seed % 1000)
    perm = torch.randperm(p.n, generator=torch.Generator().manual_seed(perm_seed % 2**31))
    q.b, q.e, q._V0 = p.b[perm], p.e[perm], p._V0[perm]
    a = (FedAlt if alg == "fedalt" else FedSim)(gamma_u=0.3, gamma_v=0.3)
    d1 = simulate(p, a, rounds=12, m=p.n, seeds=[0]).stationarity()
    d2 = simulate(q, a, rounds=12, m=q.n, seeds=[0]).stationarity()
    np.testing.assert_allclose(d1, d2, rtol=1e-10, atol=1e-14)
