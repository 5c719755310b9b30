"""Extending altsim from outside the package: an algorithm and a problem family defined in this file only.

Each is registered here and then runs through `altsim.rates.run`, a sweep, the comparison and a
figure, and passes the registry's contract checks, with no edit to the package."""

import json
import math
import os
from dataclasses import dataclass

import numpy as np
import torch

from altsim import figures
from altsim.rates import ExperimentConfig, FedAvg, LocalState, State, register_algorithm, run
from altsim.sweep import SweepSpec, run_sweep
from altsim.synthetic import Certified, Family, Problem, make_problem, register
from altsim.testing.contracts import check_algorithm, check_family


# --- a new algorithm: FedAvg with server momentum -----------------------------------------------
@register_algorithm
@dataclass(frozen=True)
class FedAvgServerMomentum(FedAvg):
    """FedAvg whose server applies heavy-ball momentum to the averaged update of u."""

    beta: float = 0.9
    """Server momentum; 0 is plain FedAvg."""

    name = "fedavg_momentum_test"

    def init_server_state(self, problem, R, u0, V0):
        return {"momentum": torch.zeros(R, problem.d_u, dtype=problem.dtype, device=problem.device)}

    def server_update(self, problem, state: State, local: LocalState) -> State:
        averaged = super().server_update(problem, state, local)
        momentum = self.beta * state.server["momentum"] + (averaged.u - state.u)
        return State(state.u + momentum, averaged.V, averaged.client, {"momentum": momentum})


# --- a new family: separable quadratics with certified constants ---------------------------------
@dataclass(frozen=True)
class SeparableConfig:
    n: int = 6
    """Clients."""
    d: int = 3
    """Dimension of u and of each v_i."""
    L_u: float = 1.0
    """Curvature in u."""
    L_v: float = 2.0
    """Curvature in v."""
    sigma_u: float = 0.2
    """Gradient noise on u."""
    sigma_v: float = 0.2
    """Gradient noise on v."""


class Separable(Problem):
    """F_i(u, v) = L_u/2 ||u - b_i||^2 + L_v/2 ||v - e_i||^2: no coupling, diversity L_u * spread of b."""

    family = "separable_test"

    def __init__(self, cfg, *, seed=0, device=torch.device("cpu"), dtype=torch.float64):
        self.cfg, self.device, self.dtype = cfg, torch.device(device), dtype
        self.n, self.d_u, self.d_v = cfg.n, cfg.d, cfg.d
        self.sigma_u, self.sigma_v = cfg.sigma_u, cfg.sigma_v
        g = torch.Generator().manual_seed(seed)
        self.b = torch.randn(cfg.n, cfg.d, generator=g, dtype=torch.float64).to(device, dtype)
        self.e = torch.randn(cfg.n, cfg.d, generator=g, dtype=torch.float64).to(device, dtype)

    def loss(self, u, v, clients):
        return 0.5 * self.cfg.L_u * (u - self.b[clients]).pow(2).sum(-1) + 0.5 * self.cfg.L_v * (
            v - self.e[clients]
        ).pow(2).sum(-1)

    def grad_u(self, u, v, clients):
        return self.cfg.L_u * (u - self.b[clients])

    def grad_v(self, u, v, clients):
        return self.cfg.L_v * (v - self.e[clients])

    def initial_point(self):
        return torch.zeros(self.d_u, dtype=self.dtype, device=self.device), torch.zeros(
            self.n, self.d_v, dtype=self.dtype, device=self.device
        )

    def certified_constants(self):
        spread = (self.b - self.b.mean(0)).pow(2).sum(-1).mean().item()
        u0, V0 = self.initial_point()
        return Certified(
            L_u=self.cfg.L_u,
            L_v=self.cfg.L_v,
            L_uv=0.0,
            sigma_u=self.sigma_u,
            sigma_v=self.sigma_v,
            delta=self.cfg.L_u * math.sqrt(spread),
            delta_F0=float(self.objective(u0, V0)),
            F_lower=0.0,
        )


register(
    Family(
        "separable_test",
        SeparableConfig,
        Separable,
        "separable quadratics (defined in a test file)",
        dict(n=5, d=2),
    )
)


def test_the_new_algorithm_and_family_pass_the_contract_checks():
    check_algorithm("fedavg_momentum_test", options={"beta": 0.5})
    check_family("separable_test")
    check_algorithm("fedsim", family="separable_test")


def test_server_momentum_is_real_state_the_engine_carries():
    p = make_problem("coupled_quadratic", dict(n=6, sigma_u=0.0, sigma_v=0.0), seed=0)
    config = ExperimentConfig(
        problem=dict(n=6),
        algorithms=("fedavg", "fedavg_momentum_test"),
        rounds=20,
        eta=0.2,
        seeds=(0,),
        algorithm_options={"fedavg_momentum_test": {"beta": 0.0}},
    )
    plain = run(config)
    assert np.array_equal(
        plain.trajectories["fedavg"].grad_u_sq, plain.trajectories["fedavg_momentum_test"].grad_u_sq
    )
    heavy = run(
        ExperimentConfig(
            **{**config.__dict__, "algorithm_options": {"fedavg_momentum_test": {"beta": 0.8}}}
        )
    )
    assert not np.array_equal(
        heavy.trajectories["fedavg"].grad_u_sq, heavy.trajectories["fedavg_momentum_test"].grad_u_sq
    )
    assert heavy.settings["fedavg_momentum_test"]["beta"] == 0.8 and p.n == 6


def test_run_sweep_comparison_and_figures_without_touching_the_package(tmp_path):
    base = dict(
        family="separable_test",
        problem=dict(n=6, d=2),
        algorithms=["fedsim", "fedavg_momentum_test"],
        rounds=30,
        eta=0.2,
        m=3,
        seeds=[0, 1, 2],
        algorithm_options={"fedavg_momentum_test": {"beta": 0.5}},
    )
    result = run(ExperimentConfig.from_dict(base))
    comparisons = result.compare()
    # FedSim on the new family: a [D] bound covers it and holds; the new algorithm has no bound and says so
    fedsim = comparisons["fedsim"]
    assert {c.name for c in fedsim.checks} == {"fedsim_sgd_partial", "fedsim_sgd_local"}
    assert all(c.verdict == "holds" for c in fedsim.checks)
    assert comparisons["fedavg_momentum_test"].checks == []
    figures.save(figures.rate_plot(comparisons), tmp_path / "rate")
    spec = SweepSpec(base, {"m": [2, 6]})
    summary = run_sweep(spec, tmp_path / "sweep", stream=open(os.devnull, "w"))
    assert summary["n_done"] == 2
    point = summary["points"][0]["summary"]["algorithms"]
    assert set(point) == {"fedsim", "fedavg_momentum_test"}
    assert point["fedavg_momentum_test"]["verdict"] == "no covering bound"
    figures.save(
        figures.sweep_plot(json.loads((tmp_path / "sweep" / "summary.json").read_text())),
        tmp_path / "sweep_plot",
    )
    assert (tmp_path / "rate.png").stat().st_size > 0 and (
        tmp_path / "sweep_plot.png"
    ).stat().st_size > 0
    # a subclass is another algorithm: figures name it by its own name, not its parent's label
    from altsim.figures import style

    assert (
        style.label("fedavg_momentum_test") == "fedavg_momentum_test"
        and style.label("fedavg") == "FedAvg"
    )
    assert style.color("fedavg_momentum_test") != style.color("fedavg")


def test_the_rate_plot_draws_an_algorithm_that_no_bound_covers():
    result = run(
        ExperimentConfig(
            problem=dict(n=6),
            algorithms=("fedsim", "fedavg_momentum_test"),
            rounds=20,
            eta=0.2,
            seeds=(0, 1),
        )
    )
    fig = figures.rate_plot(result.compare())
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert any(t.startswith("fedavg_momentum_test measured (no covering bound)") for t in labels), (
        labels
    )


def test_registration_refuses_a_taken_name_and_options_that_belong_to_the_config():
    import pytest

    @dataclass(frozen=True)
    class Impostor(FedAvg):
        name = "fedalt"

    with pytest.raises(ValueError, match=r"taken by one of altsim.s own algorithms"):
        register_algorithm(Impostor)
    with pytest.raises(ValueError, match=r"algorithm_options.fedalt.gamma_u: set through eta"):
        ExperimentConfig(
            algorithms=("fedalt",),
            eta=0.1,
            official=True,
            algorithm_options={"fedalt": {"gamma_u": 0.9}},
        )
    with pytest.raises(
        ValueError,
        match=r"algorithm_options.fedavg_momentum_test: unknown option 'gamma'; choose from beta",
    ):
        ExperimentConfig(
            algorithms=("fedavg_momentum_test",),
            eta=0.1,
            algorithm_options={"fedavg_momentum_test": {"gamma": 0.9}},
        )


PLUGIN = """
from dataclasses import dataclass
from altsim.rates import FedSim, register_algorithm

@register_algorithm
@dataclass(frozen=True)
class HalfStepFedSim(FedSim):
    name = "halfstep_plugin_test"

    @classmethod
    def from_experiment(cls, config, eta, L_u, L_v, **options):
        return super().from_experiment(config, eta / 2, L_u, L_v, **options)
"""


def test_plugins_reach_worker_processes(tmp_path, monkeypatch):
    """An algorithm registered in a user's module runs on the processes executor through `plugins`."""
    import sys

    (tmp_path / "my_altsim_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    )
    base = dict(
        problem=dict(n=4),
        algorithms=["halfstep_plugin_test"],
        rounds=5,
        eta=0.2,
        seeds=[0],
        plugins=["my_altsim_plugin"],
    )
    summary = run_sweep(
        SweepSpec(base, {"m": [2, 4]}),
        tmp_path / "out",
        executor="processes",
        workers=1,
        stream=open(os.devnull, "w"),
    )
    assert summary["n_done"] == 2
    assert summary["points"][0]["summary"]["algorithms"]["halfstep_plugin_test"][
        "gamma_u"
    ] == pytest_approx(0.1)
    sys.modules.pop("my_altsim_plugin", None)


def pytest_approx(x):
    import pytest

    return pytest.approx(x)
