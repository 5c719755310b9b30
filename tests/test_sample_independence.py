"""Noise independent across local steps, as a condition (issue 26, item 5).

The local-step bounds divide the noise's variance by the number of steps, which holds only when
each local step draws afresh. `reuse_local_draw` runs the engine with one draw per round and block
(a fixed per-round minibatch): the run works, and those bounds refuse it (kind
`sample_independence`), for altsim's algorithms and for a plugin's alike."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import torch

from altsim.rates import FedAlt, FedSim, compare, simulate
from altsim.rates.noise import NoiseStream
from altsim.synthetic import make_problem
from altsim.theory import get_bound

LOCAL_BOUNDS = {"fedsim_sgd_local": "fedsim", "fedalt_sgd_local": "fedalt"}
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "own_theory"


def _problem():
    params = dict(n=8, d_u=3, d_v=3, sigma_u=0.5, sigma_v=0.5, delta=1.0)
    return make_problem("coupled_quadratic", params, seed=0)


def _setting(alg: str, reuse: int, steps: int) -> dict:
    base = {"algorithm": alg, "n": 8, "m": 4, "eta": 0.2, "eta_v": 0.2, "reuse_local_draw": reuse}
    base.update({"L_u": 1.0, "L_v": 1.0, "L_uv": 0.5, "chi": 0.5, "sigma_u": 0.5, "sigma_v": 0.5})
    base.update({"delta": 1.0, "Delta_F0": 1.0, "T": 50, "stateless": 0})
    if alg == "fedsim":
        base.update({"tau": steps, "gamma_u": 0.2 / steps, "gamma_v": 0.2 / steps})
    else:
        base.update(
            {"tau_u": steps, "tau_v": steps, "gamma_u": 0.2 / steps, "gamma_v": 0.2 / steps}
        )
    return base


@pytest.mark.parametrize("name, alg", sorted(LOCAL_BOUNDS.items()))
def test_the_local_step_bounds_refuse_a_reused_draw_once_a_round_takes_two_steps(name, alg):
    bound = get_bound(name)
    kinds = [c.kind for c in bound.conditions if "fresh draw at every local step" in c.description]
    assert "sample_independence" in kinds
    for steps in (1, 3):
        fresh = bound.covers(_setting(alg, 0, steps))
        reused = bound.covers(_setting(alg, 1, steps))
        assert fresh.ok, fresh.reasons
        if steps == 1:  # one step per block: nothing is reused, the proof holds
            assert reused.ok, reused.reasons
        else:
            assert not reused.ok
            assert any("fresh draw at every local step" in r for r in reused.reasons)


def test_bounds_of_one_step_do_not_mention_local_draws():
    for name in ("fedsim_sgd_partial", "fedalt_sgd_partial"):
        assert all("fresh draw" not in c.description for c in get_bound(name).conditions)


def test_a_reused_stream_gives_every_step_the_first_steps_draw():
    clients = torch.arange(5).expand(2, 5)
    fresh = NoiseStream(torch.tensor([3, 4]), torch.device("cpu"), torch.float64)
    reused = NoiseStream(
        torch.tensor([3, 4]), torch.device("cpu"), torch.float64, reuse_local_draw=True
    )
    first = fresh.normal(7, clients, 0, 1, 6)
    for step in (1, 2, 5):
        assert torch.equal(reused.normal(7, clients, step, 1, 6), first)
        assert not torch.equal(fresh.normal(7, clients, step, 1, 6), first)
    # another round, block or seed still draws afresh
    assert not torch.equal(reused.normal(8, clients, 0, 1, 6), first)
    assert not torch.equal(reused.normal(7, clients, 0, 0, 6), first)


@pytest.mark.parametrize(
    "algorithm",
    [
        FedSim(gamma_u=0.05, gamma_v=0.05, tau=4),
        FedAlt(gamma_u=0.05, gamma_v=0.05, tau_u=4, tau_v=4),
    ],
    ids=["fedsim", "fedalt"],
)
def test_a_run_with_a_reused_draw_works_and_is_refused_by_the_local_step_bound(algorithm):
    problem = _problem()
    kw = dict(rounds=20, m=4, seeds=[0, 1])
    fresh = simulate(problem, algorithm, **kw)
    reused = simulate(problem, algorithm, reuse_local_draw=True, **kw)
    assert reused.setting["reuse_local_draw"] == 1 and fresh.setting["reuse_local_draw"] == 0
    assert torch.isfinite(torch.as_tensor(reused.grad_u_sq)).all()
    assert (reused.grad_u_sq != fresh.grad_u_sq).any()  # the noise differs from the second step on
    name = next(n for n, a in LOCAL_BOUNDS.items() if a == algorithm.name)
    setting = {
        **reused.setting,
        **problem.certified_constants().as_dict(),
        "T": 20,
        "Delta_F0": 1.0,
    }
    comparison = compare(reused, [get_bound(name)], setting)
    assert not comparison.checks
    assert any("fresh draw at every local step" in why for why in comparison.not_covering[name])
    assert compare(fresh, [get_bound(name)], {**setting, "reuse_local_draw": 0}).checks


def test_one_local_step_is_the_same_run_with_or_without_reuse():
    problem, algorithm = _problem(), FedSim(gamma_u=0.1, gamma_v=0.1, tau=1)
    a = simulate(problem, algorithm, rounds=10, m=4, seeds=[2])
    b = simulate(problem, algorithm, rounds=10, m=4, seeds=[2], reuse_local_draw=True)
    assert (a.grad_u_sq == b.grad_u_sq).all() and (a.grad_v_sq_mean == b.grad_v_sq_mean).all()


def test_a_plugin_algorithm_gets_the_option_from_the_engine(monkeypatch):
    """The option lives in the noise stream, so an algorithm from a user's module has it too."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    own = sys.modules.get("own_theory") or importlib.import_module("own_theory")
    algorithm = own.SharedFirst(gamma_u=0.05, gamma_v=0.05, tau_u=3, tau_v=3)
    problem = _problem()
    fresh = simulate(problem, algorithm, rounds=10, m=4, seeds=[0])
    reused = simulate(problem, algorithm, rounds=10, m=4, seeds=[0], reuse_local_draw=True)
    assert reused.setting["reuse_local_draw"] == 1
    assert (reused.grad_u_sq != fresh.grad_u_sq).any()


def test_the_option_is_checked_before_any_work():
    with pytest.raises(ValueError, match="reuse_local_draw"):
        simulate(
            _problem(),
            FedSim(gamma_u=0.1, gamma_v=0.1),
            rounds=2,
            m=2,
            seeds=[0],
            reuse_local_draw=1,
        )  # type: ignore[arg-type]


def test_a_config_with_one_draw_per_round_runs_and_says_why_the_local_bounds_do_not_cover_it():
    from altsim.rates import ExperimentConfig, run

    base = dict(
        family="coupled_quadratic",
        problem={"n": 8, "sigma_u": 0.5, "sigma_v": 0.5},
        algorithms=("fedsim", "fedalt"),
        rounds=10,
        m=4,
        seeds=(0,),
        eta=0.05,
        tau=3,
        tau_u=3,
        tau_v=3,
    )
    fresh = ExperimentConfig(**base)  # type: ignore[arg-type]
    reused = ExperimentConfig(**base, reuse_local_draw=True)  # type: ignore[arg-type]
    assert "reuse_local_draw" not in fresh.to_dict()  # old configs keep their point ids
    assert ExperimentConfig.from_dict(reused.to_dict()) == reused
    result = run(reused)
    for alg, name in (("fedsim", "fedsim_sgd_local"), ("fedalt", "fedalt_sgd_local")):
        assert result.settings[alg]["reuse_local_draw"] == 1
        comparison = result.compare()[alg]
        assert name not in {c.name for c in comparison.checks}
        assert any("fresh draw" in why for why in comparison.not_covering[name])
    assert {c.name for c in run(fresh).compare()["fedsim"].checks} >= {"fedsim_sgd_local"}
    with pytest.raises(ValueError, match="reuse_local_draw"):
        ExperimentConfig(**base, reuse_local_draw="yes")  # type: ignore[arg-type]


SETTING = [
    "chi=0.5", "L_u=1", "L_v=1", "delta=0.5", "sigma_u=0.3", "sigma_v=0.3", "n=40", "m=10",
    "T=1000", "Delta_F0=1",
]  # fmt: skip


def _paper_level(capsys, name: str, *sets: str) -> dict:
    import json

    from altsim.cli import main

    assert main(["bound", "--name", name, "--json", "--set", *SETTING, *sets]) == 0
    return json.loads(capsys.readouterr().out)["paper_level_derived"]


def test_the_paper_level_rate_has_no_value_where_its_source_bounds_conditions_fail(capsys):
    fine = _paper_level(capsys, "fedsim_sgd_local", "tau=2")
    assert fine["value"] is not None and fine["failed_conditions"] == []
    broken = _paper_level(capsys, "fedsim_sgd_local", "tau=2", "reuse_local_draw=1")
    assert broken["value"] is None and broken["eta"] is None
    assert any("fresh draw at every local step" in why for why in broken["failed_conditions"])


def test_fedalts_paper_level_rate_refuses_a_separate_v_step_size(capsys):
    from altsim.theory.rate import PAPER_LEVEL

    steps = ("tau_u=2", "tau_v=2")
    plain = _paper_level(capsys, "fedalt_sgd_local", *steps)
    assert plain["value"] is not None
    separate = _paper_level(capsys, "fedalt_sgd_local", *steps, "eta_v=0.05")
    assert separate["value"] is None
    assert any("eta_v = eta" in why for why in separate["failed_conditions"])
    same = _paper_level(capsys, "fedalt_sgd_local", *steps, "eta=0.05", "eta_v=0.05")
    assert same["value"] == plain["value"]  # the rate picks its own eta; equal step sizes are in it
    pl = PAPER_LEVEL["fedalt_paper_level"]
    assert pl.step_size_reasons({"eta": 0.1, "eta_v": 0.2}) and not pl.step_size_reasons(
        {"eta": 0.1, "eta_v": 0.1}
    )
    assert not PAPER_LEVEL["fedsim_paper_level"].step_size_reasons({"eta": 0.1, "eta_v": 0.2})


def test_a_users_bound_with_the_condition_refuses_a_reused_draw_like_altsims():
    """The condition is plain data: a plugin's bound that states it is decided the same way."""
    import dataclasses

    from altsim.theory.conditions import fresh_local_draws
    from altsim.theory.symbols import tau

    source = get_bound("fedsim_sgd_partial")
    users = dataclasses.replace(
        source,
        name="users_local_bound",
        conditions=tuple(c for c in source.conditions if c.kind != "local_steps")
        + (fresh_local_draws(tau - 1),),
    )
    fresh, reused = _setting("fedsim", 0, 3), _setting("fedsim", 1, 3)
    assert users.covers(fresh).ok, users.covers(fresh).reasons
    why = users.covers(reused)
    assert not why.ok and any("fresh draw at every local step" in r for r in why.reasons)
