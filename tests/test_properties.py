"""Property-based tests of the bounds and the engine, written with altsim.testing as a user would."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from altsim import testing, theory
from altsim.rates import FedAlt, FedSim, run, simulate
from altsim.synthetic import make_problem
from altsim.testing.falsify import falsify

EXPLICIT = [b for b in theory.BOUNDS.values() if b.provenance == "D"]


@pytest.mark.filterwarnings(
    "ignore:eta="
)  # an eta in one bound's range may be outside another's: expected here
@pytest.mark.parametrize("bound", EXPLICIT, ids=lambda b: b.name)
@settings(max_examples=8, deadline=None, derandomize=True)
@given(data=st.data())
def test_every_explicit_bound_holds_on_generated_instances(bound, data):
    config = data.draw(testing.experiment_configs(bound, rounds=30))
    res = run(config)
    assert bound.covers(res.settings[bound.algorithm]), (
        "the strategy drew a run outside the bound's conditions"
    )
    att = testing.assert_bound_holds(bound, res)
    # the reported worst horizon is recomputed independently: measured / bound at T = att.T
    tr, setting = res.trajectories[bound.algorithm], res.settings[bound.algorithm]
    weight = bound.weight_at(setting)
    k = list(tr.horizons).index(att.T)
    measured = tr.running_average(weight)[:, k].mean()
    assert np.isclose(
        att.ratio, measured / float(bound.evaluate({**setting, "T": att.T})), rtol=1e-9
    )


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


def test_drift_share_is_the_part_of_the_bound_that_delta_makes():
    from altsim.testing.falsify import drift_share
    from altsim.theory import get_bound

    b = get_bound("fedsim_gd_local")
    v = dict(Delta_F0=1.0, T=50.0, eta=0.2, chi=0.0, L_u=1.0, delta=2.0, tau=4)
    share = drift_share(b, v)
    assert 0 < share < 1
    assert math.isclose(
        share, 1 - float(b.evaluate({**v, "delta": 0.0})) / float(b.evaluate(v)), rel_tol=1e-12
    )
    assert drift_share(b, {**v, "tau": 1}) < 1e-12  # one local step: no drift
    assert (
        drift_share(b, {**v, "T": 1e9}) > share
    )  # the drift term does not decay with T; the rest does
    assert (
        drift_share(
            get_bound("fedsim_gd_full"), dict(Delta_F0=1.0, T=50.0, eta=0.2, chi=0.0, delta=2.0)
        )
        == 0
    )


def test_falsify_over_all_families_picks_each_by_a_search_coordinate():
    from altsim.testing.falsify import SEARCH_FAMILIES, family_at

    assert [family_at("all", {"family_choice": x}) for x in (0.0, 0.3, 0.34, 0.66, 0.67, 1.0)] == [
        "coupled_quadratic",
        "coupled_quadratic",
        "kinked_quadratic",
        "kinked_quadratic",
        "bilinear_quadratic",
        "bilinear_quadratic",
    ]
    assert family_at("kinked_quadratic", {"family_choice": 0.0}) == "kinked_quadratic"
    rep = falsify("fedsim_gd_full", budget=3, seed=0, family="all")
    assert (
        rep["family"] == "all"
        and rep["worst_config"]["family"] in SEARCH_FAMILIES
        and not rep["violation"]
    )
    with pytest.raises(ValueError, match=r"family='nope'.*all"):
        falsify("fedsim_gd_full", budget=1, family="nope")


def _fedsim_det(family, problem, tau, eta, rounds=12):
    from altsim.rates.experiment import ExperimentConfig

    return ExperimentConfig(
        family=family,
        problem=problem,
        algorithms=("fedsim",),
        tau=tau,
        rounds=rounds,
        eta=eta,
        seeds=(0,),
    )


def test_the_drift_lemma_is_an_equality_for_identical_convex_quadratics_at_two_steps():
    # two steps of size a on curvature 1 (scaled) drift by a^2 |g|, and the lemma allows eps = (1 + a)^2 - 1 - 2a = a^2
    from altsim.testing.falsify import drift_lemma_ratio

    cfg = _fedsim_det(
        "kinked_quadratic", dict(n=3, d_u=2, d_v=2, kinked=0, spread=0.0, L_u=0.7, L_v=2.0), 2, 0.4
    )
    ratio, _, share = drift_lemma_ratio(cfg)
    assert ratio == pytest.approx(1, abs=1e-9) and share == 0  # identical clients: delta = 0
    assert (
        drift_lemma_ratio(dataclasses.replace(cfg, tau=4))[0] < 0.999
    )  # more steps on a convex client: slack


@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(
    kinked=st.integers(0, 3),
    radius=st.floats(0.1, 3.0),
    spread=st.floats(0.0, 2.0),
    tau=st.integers(2, 6),
    eta_frac=st.floats(0.05, 0.95),
    chi=st.floats(0.0, 0.6),
    coupled=st.booleans(),
)
def test_the_drift_lemma_holds_on_random_instances(
    kinked, radius, spread, tau, eta_frac, chi, coupled
):
    """||e||^2 <= eps^2 (Delta + delta^2/L_u) every round (docs/theory.md 7.4, steps 1 and 3), measured."""
    from altsim.testing.falsify import drift_lemma_ratio

    if coupled:
        cfg = _fedsim_det(
            "coupled_quadratic",
            dict(n=4, d_u=2, d_v=2, chi=chi, nonconvexity=0.3, delta=1.0),
            tau,
            eta_frac * 2 / (1 + chi),
        )
    else:
        cfg = _fedsim_det(
            "kinked_quadratic",
            dict(n=3, d_u=2, d_v=1, kinked=kinked, radius=radius, spread=spread),
            tau,
            eta_frac * 2,
        )
    ratio, _, share = drift_lemma_ratio(cfg)
    assert 0 <= ratio <= 1 + 1e-6 and 0 <= share <= 1


def test_falsify_can_target_the_drift_lemma_and_only_of_the_bound_it_belongs_to():
    rep = falsify(
        "fedsim_gd_local", budget=5, seed=0, family="kinked_quadratic", target="drift_lemma"
    )
    assert (
        rep["target"] == "drift_lemma"
        and 0 < rep["worst_ratio"] <= 1 + 1e-6
        and not rep["violation"]
    )
    assert rep["worst_config"]["tau"] >= 2
    with pytest.raises(ValueError, match=r"target='drift_lemma'.*fedsim_gd_local"):
        falsify("fedsim_sgd_local", budget=1, target="drift_lemma")


def test_the_search_objective_discounts_runs_below_the_drift_share_floor():
    from altsim.testing.falsify import Attempt, search_objective

    a = Attempt(
        ratio=0.8, violated=False, config=None, T=10, measured=0.8, bound=1.0, drift_share=0.3
    )
    assert search_objective(a) == 0.8 and search_objective(a, 0.3) == 0.8
    assert math.isclose(search_objective(a, 0.6), 0.4)
    assert (
        search_objective(dataclasses.replace(a, ratio=1.2, violated=True), 0.9) == 1.2
    )  # a violation counts in full


def test_falsify_in_drift_mode_reports_the_drift_share_its_worst_instance_reruns_to():
    from altsim.rates.experiment import ExperimentConfig
    from altsim.testing.falsify import evaluate

    rep = falsify(
        "fedsim_gd_local",
        budget=6,
        seed=3,
        family="kinked_quadratic",
        min_drift_share=0.6,
        max_rounds=300,
    )
    assert (
        rep["min_drift_share"] == 0.6
        and rep["max_rounds"] == 300
        and 5 <= rep["worst_config"]["rounds"] <= 300
    )
    again = evaluate(
        theory.get_bound("fedsim_gd_local"), ExperimentConfig.from_dict(rep["worst_config"])
    )
    assert again.ratio == pytest.approx(
        rep["worst_ratio"], rel=1e-4
    )  # a weight search: its precision
    assert again.drift_share == pytest.approx(rep["worst_drift_share"], rel=1e-4, abs=1e-9)
    assert 0 <= rep["worst_drift_share"] < 1


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
        return dataclasses.replace(
            cert,
            L_u=c * cert.L_u,
            L_v=c * cert.L_v,
            L_uv=c * cert.L_uv,
            sigma_u=c * cert.sigma_u,
            sigma_v=c * cert.sigma_v,
            delta=c * cert.delta,
            delta_F0=c * cert.delta_F0,
            F_lower=c * cert.F_lower,
        )


@settings(max_examples=15, deadline=None)
@given(
    params=testing.problem_params(),
    c=st.floats(0.01, 100.0),
    seed=testing.seeds(),
    alg=st.sampled_from(["fedalt", "fedsim"]),
)
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
        curve = bound.evaluate(
            {**cert.values(), "n": p.n, "eta": eta, "T": tr.horizons.astype(float)}
        )
        runs[name] = (tr.running_average(), curve)
    np.testing.assert_allclose(runs["scaled"][0], c * runs["orig"][0], rtol=1e-8)
    np.testing.assert_allclose(runs["scaled"][1], c * runs["orig"][1], rtol=1e-8)


@settings(max_examples=15, deadline=None)
@given(
    params=testing.problem_params(stochastic=False),
    seed=testing.seeds(),
    perm_seed=testing.seeds(),
    alg=st.sampled_from(["fedalt", "fedsim"]),
)
def test_a_full_participation_run_is_invariant_to_client_relabelling(params, seed, perm_seed, alg):
    p = make_problem("coupled_quadratic", params, seed=seed % 1000)
    q = make_problem("coupled_quadratic", params, seed=seed % 1000)
    perm = torch.randperm(p.n, generator=torch.Generator().manual_seed(perm_seed % 2**31))
    q.b, q.e, q._V0 = p.b[perm], p.e[perm], p._V0[perm]
    a = (FedAlt if alg == "fedalt" else FedSim)(gamma_u=0.3, gamma_v=0.3)
    d1 = simulate(p, a, rounds=12, m=p.n, seeds=[0]).stationarity()
    d2 = simulate(q, a, rounds=12, m=q.n, seeds=[0]).stationarity()
    np.testing.assert_allclose(d1, d2, rtol=1e-10, atol=1e-14)
