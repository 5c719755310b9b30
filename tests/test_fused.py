"""Compiled rounds (altsim.rates.fused): capture, agreement with eager, the auto rule, and the fallback."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from altsim.rates import ALGORITHMS, FedAlt, FedSim, fused, simulate
from altsim.rates.experiment import ExperimentConfig
from altsim.synthetic import make_problem
from altsim.testing.contracts import check_compiled


@pytest.mark.parametrize(
    "name",
    # the default run compiles FedAlt's round; every other algorithm's compile (20-50 s each on two
    # cores) runs with -m heavy (CI budget)
    [n if n == "fedalt" else pytest.param(n, marks=pytest.mark.heavy) for n in sorted(ALGORITHMS)],
)
def test_every_algorithm_round_is_captured_and_traced_bitwise(name):
    # aot_eager captures the round into a graph (tensor round index, state pytrees) and runs the same
    # aten ops: a bug in capture shows as a difference, without a C++ compile per test.
    check_compiled(name, backend="aot_eager", rtol=0)


@pytest.mark.heavy
@pytest.mark.parametrize("name", ["fedalt", "fedsim"])
def test_inductor_round_agrees_with_eager_to_1e12_in_float64(name):
    # minutes of C++ compilation per shape on a 2-core CPU: a benchmark-time check (pytest -m heavy)
    check_compiled(name, backend="inductor", rtol=1e-12)


def _problem(n=10):
    return make_problem(
        "coupled_quadratic", dict(n=n, d_u=4, d_v=3, chi=0.4, delta=1.0, sigma_u=0.2, sigma_v=0.2)
    )


def test_auto_compiles_only_past_the_break_even_work_or_rounds_of_each_device():
    p = _problem()
    work = fused.run_work(p, rounds=100, seeds=4, m=5)
    assert work == 100 * 4 * 5 * (4 + 3)
    assert not fused.should_compile("auto", p, 100, 4, 5)
    rounds_past = int(fused.AUTO_COMPILE_WORK / (4 * 5 * 7)) + 1
    assert fused.should_compile("auto", p, rounds_past, 4, 5)
    assert not fused.should_compile("auto", p, rounds_past - 2, 4, 5)
    assert fused.should_compile("on", p, 1, 1, 1) and not fused.should_compile(
        "off", p, rounds_past, 4, 5
    )
    gpu_like = type("P", (), {"device": torch.device("cuda"), "d_u": 4, "d_v": 3})()
    # on a GPU an eager round costs kernel launches whatever its size: the rule counts rounds
    assert not fused.should_compile(
        "auto", gpu_like, fused.AUTO_COMPILE_ROUNDS_CUDA - 1, 10**4, 10**4
    )
    assert fused.should_compile("auto", gpu_like, fused.AUTO_COMPILE_ROUNDS_CUDA, 1, 1)
    meta_like = type("P", (), {"device": torch.device("meta"), "d_u": 4, "d_v": 3})()
    assert not fused.should_compile("auto", meta_like, 10**9, 4, 5)


def test_a_bad_compile_choice_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"compile='sometimes'.*auto, on, off"):
        simulate(
            _problem(),
            FedSim(gamma_u=0.1, gamma_v=0.1),
            rounds=2,
            m=2,
            seeds=[0],
            compile="sometimes",
        )
    with pytest.raises(ValueError, match=r"compile='yes'.*auto, on, off"):
        ExperimentConfig(compile="yes")
    with pytest.raises(ValueError, match=r"compile_backend=5: must be a callable or one of"):
        simulate(
            _problem(),
            FedSim(gamma_u=0.1, gamma_v=0.1),
            rounds=2,
            m=2,
            seeds=[0],
            compile="on",
            compile_backend=5,
        )
    with pytest.raises(ValueError, match=r"compile_backend='inductr'.*inductor"):
        simulate(
            _problem(),
            FedSim(gamma_u=0.1, gamma_v=0.1),
            rounds=2,
            m=2,
            seeds=[0],
            compile="on",
            compile_backend="inductr",
        )


def test_no_compiler_means_one_notice_and_the_eager_numbers(monkeypatch, capsys):
    monkeypatch.setattr(fused, "_NOTICES_SHOWN", set())
    monkeypatch.setattr(
        fused, "compile_unavailable", lambda device: "no C++ compiler (g++) on PATH"
    )
    p, alg = _problem(), FedAlt(gamma_u=0.2, gamma_v=0.2, tau_u=2, tau_v=2)
    tr = simulate(p, alg, rounds=5, m=3, seeds=[0, 1], compile="on")
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "altsim: compilation unavailable (no C++ compiler (g++) on PATH); running eagerly"
    ]
    assert tr.setting["round_path"] == "eager"
    assert np.array_equal(
        tr.grad_u_sq, simulate(p, alg, rounds=5, m=3, seeds=[0, 1], compile="off").grad_u_sq
    )
    simulate(
        p, alg, rounds=2, m=3, seeds=[0], compile="on"
    )  # a second run (a sweep's next point): no repeat
    assert capsys.readouterr().err == ""


def test_a_compiler_failure_falls_back_once_and_keeps_every_round(monkeypatch, capsys):
    monkeypatch.setattr(fused, "_NOTICES_SHOWN", set())

    def broken_backend(graph_module, example_inputs):
        raise RuntimeError("the C++ compiler crashed")

    p, alg = _problem(), FedSim(gamma_u=0.2, gamma_v=0.2)
    tr = simulate(p, alg, rounds=6, m=3, seeds=[2], compile="on", compile_backend=broken_backend)
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1
        and err[0].startswith("altsim: compiling fedsim failed (")
        and err[0].endswith("running eagerly")
    )
    assert "the C++ compiler crashed" in err[0]
    assert tr.setting["round_path"] == "eager"
    eager = simulate(p, alg, rounds=6, m=3, seeds=[2], compile="off")
    assert np.array_equal(tr.grad_u_sq, eager.grad_u_sq) and np.array_equal(
        tr.objective_gap, eager.objective_gap
    )


def _counting_backend(graphs: list):
    def backend(graph_module, example_inputs):
        graphs.append(graph_module)
        return graph_module.forward

    return backend


def test_a_run_compiles_its_round_and_measurement_once():
    graphs: list = []
    p, alg = _problem(), FedAlt(gamma_u=0.2, gamma_v=0.2, tau_u=2, tau_v=1)
    tr = simulate(
        p, alg, rounds=6, m=3, seeds=[0, 1], compile="on", compile_backend=_counting_backend(graphs)
    )
    assert tr.setting["round_path"] == "compiled" and len(graphs) == 2  # not again at round 1


@pytest.mark.heavy  # 15 s of recompiles (CI budget)
def test_many_runs_never_fall_silently_past_the_recompile_cap(capsys):
    # each run bakes its own step sizes into its graph; torch caps compiled graphs per function (8)
    p = _problem()
    for i in range(10):
        graphs: list = []
        tr = simulate(
            p,
            FedAlt(gamma_u=0.1 + 0.01 * i, gamma_v=0.1),
            rounds=3,
            m=3,
            seeds=[0],
            compile="on",
            compile_backend=_counting_backend(graphs),
        )
        assert tr.setting["round_path"] == "compiled" and len(graphs) == 2, (i, len(graphs))


def test_inference_mode_runs_and_gives_the_same_numbers():
    p, alg = _problem(), FedSim(gamma_u=0.2, gamma_v=0.2, tau=2)
    plain = simulate(p, alg, rounds=4, m=3, seeds=[1], compile="off")
    with torch.inference_mode():
        inside = simulate(p, alg, rounds=4, m=3, seeds=[1], compile="off")
    assert np.array_equal(plain.grad_u_sq, inside.grad_u_sq)


def test_client_rows_see_an_in_place_change_of_the_data():
    p = _problem()
    clients = torch.tensor([[0, 2, 5]])
    before = p.client_rows(clients, p.b, p.e)[0].clone()
    p.b.mul_(2.0)
    after = p.client_rows(clients, p.b, p.e)[0]
    assert torch.equal(after, 2.0 * before)
    clients[0, 0] = 1  # the index tensor changed in place too
    assert torch.equal(p.client_rows(clients, p.b, p.e)[0][0, 0], p.b[1])
