"""Notebook use and one measure per comparison (#24): tidy DataFrames, a bound at a run's own setting,
every algorithm of a run measured with the same weight, the paired difference, the rate plot's
panels, the progress bar and what a run records of its cost."""

from __future__ import annotations

import io
import json
import sys
import warnings

import numpy as np
import pytest

from altsim import figures
from altsim.rates import ExperimentConfig, run
from altsim.rates.compare import paired_difference
from altsim.rates.frames import COMPARISON_COLUMNS, ROUND_COLUMNS
from altsim.results import rounds_csv, summarize, table
from altsim.sweep import parse_spec, run_sweep

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def partial():
    """FedAlt and FedAvg (which no bound covers) at m/n = 1/3, noisy, three seeds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run(
            ExperimentConfig(
                problem=dict(n=6, d_u=2, d_v=2, sigma_u=0.3, sigma_v=0.3),
                algorithms=("fedalt", "fedavg", "fedsim"),
                rounds=25,
                m=2,
                eta=0.2,
                seeds=(0, 1, 2),
                compile="off",
            )
        )


def test_result_to_frame_is_rounds_csv(partial):
    df = partial.to_frame()
    assert tuple(df.columns) == ROUND_COLUMNS and len(df) == 3 * 3 * 25
    from_csv = pd.read_csv(io.StringIO(rounds_csv(partial)))
    pd.testing.assert_frame_equal(df.reset_index(drop=True), from_csv, check_dtype=False)
    fedalt = df[df.algorithm == "fedalt"].pivot(index="seed", columns="round", values="grad_u_sq")
    assert np.array_equal(fedalt.to_numpy(), partial.trajectories["fedalt"].grad_u_sq)


def test_comparison_to_frame_holds_the_measurement_and_each_bound(partial):
    comp = partial.compare()["fedalt"]
    df = comp.to_frame()
    assert tuple(df.columns) == COMPARISON_COLUMNS
    measured = df[df.curve == "measured"]
    assert (measured.weight == 2 / 6).all() and len(measured) == 25
    assert np.allclose(measured.value, comp.measured["mean"])
    for chk in comp.checks:
        rows = df[df.curve == chk.name]
        assert np.array_equal(rows["value"].to_numpy(), chk.curve) and rows.low.isna().all()


def test_to_frame_without_pandas_names_the_extra(partial, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match=r"Result\.to_frame needs pandas.*altsim\[notebook\]"):
        partial.to_frame()
    with pytest.raises(ImportError, match=r"Comparison\.to_frame needs pandas"):
        partial.compare()["fedalt"].to_frame()


def test_bound_curve_is_the_bound_at_the_runs_own_setting(partial):
    T, curve = partial.bound_curve("fedalt_sgd_partial")
    chk = next(c for c in partial.compare()["fedalt"].checks if c.name == "fedalt_sgd_partial")
    assert np.array_equal(T, chk.horizons) and np.array_equal(curve, chk.curve)
    with pytest.raises(ValueError, match="does not cover this run: full participation"):
        partial.bound_curve("fedalt_sgd_full")
    with pytest.raises(ValueError, match="which this run did not run"):
        run(ExperimentConfig(algorithms=("fedsim",), rounds=2, eta=0.1)).bound_curve(
            "fedalt_gd_full"
        )
    with pytest.raises(ValueError, match="unknown"):
        partial.bound_curve("no_such_bound")


def test_every_algorithm_of_a_run_is_measured_with_the_same_weight(partial):
    summary = summarize(partial)
    weights = {a: e["personal_weight"] for a, e in summary["algorithms"].items()}
    assert weights == {"fedalt": 2 / 6, "fedavg": 2 / 6, "fedsim": 2 / 6}  # fedavg: no bound
    fedavg = summary["algorithms"]["fedavg"]
    assert fedavg["bound"] is None
    assert fedavg["measured"] == fedavg["final_stationarity"]["mean_m_over_n"]
    text = table(summary)
    assert "w = 0.333333 (m/n) for every algorithm" in text and "Delta_1" in text
    comps = partial.compare()
    assert {c.measured["weight"] for c in comps.values()} == {2 / 6}


def test_the_paired_difference_is_the_mean_of_the_per_seed_differences(partial):
    comps = partial.compare()
    d = paired_difference(comps["fedalt"], comps["fedsim"])
    per_seed = comps["fedalt"].measured["per_seed"] - comps["fedsim"].measured["per_seed"]
    assert np.allclose(d["mean"], per_seed.mean(axis=0), rtol=1e-12, atol=0)
    assert (d["low"] <= d["mean"]).all() and (d["mean"] <= d["high"]).all() and d["n_seeds"] == 3
    other = run(ExperimentConfig(algorithms=("fedsim",), rounds=25, m=2, eta=0.2, seeds=(5, 6)))
    with pytest.raises(ValueError, match="not measured on the same seeds"):
        paired_difference(comps["fedalt"], other.compare()["fedsim"])


def test_the_rate_plot_has_a_difference_panel_for_two_algorithms_and_paper_level_lines(partial):
    import matplotlib.pyplot as plt

    comps = partial.compare()
    one = figures.rate_plot({"fedalt": comps["fedalt"]})
    two = figures.rate_plot(comps)
    assert len(one.axes) == 1 and len(two.axes) == 2
    labels = [line.get_label() for line in two.axes[1].get_lines()]
    assert sum(s.startswith("(FedAlt − ") for s in labels) == 2  # against fedavg and FedSim
    with_paper = figures.rate_plot(comps, paper_level=True)
    added = {line.get_label() for line in with_paper.axes[0].get_lines()} - {
        line.get_label() for line in two.axes[0].get_lines()
    }
    assert added == {"FedAlt fedalt_paper_level [D]", "FedSim fedsim_paper_level [D]"}
    for f in (one, two, with_paper):
        plt.close(f)


SWEEP = """
[experiment]
algorithms = ["fedalt", "fedsim"]
rounds = 30
seeds = [0, 1]
eta = 0.2
compile = "off"
[problem]
n = 4
d_u = 2
d_v = 2
[sweep]
m = [2, 4]
"""


def test_a_run_shows_a_round_progress_bar_and_records_what_it_cost(tmp_path):
    import tomllib

    class Terminal(io.StringIO):
        def isatty(self) -> bool:  # the bar is drawn on a terminal only, not into a log file
            return True

    spec = parse_spec(tomllib.loads(SWEEP))
    stream = Terminal()
    summary = run_sweep(spec, tmp_path / "a", stream=stream)
    assert "rounds:" in stream.getvalue() and "round/s" in stream.getvalue()
    cost = summary["cost"]
    assert cost["rounds"] == 2 * 2 * 30 and cost["wall_seconds"] > 0
    assert cost["rounds_per_second"] == pytest.approx(cost["rounds"] / cost["wall_seconds"])
    assert cost["threads"] and cost["device"] == ["cpu"] and cost["points_without_cost"] == 0
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["cost"] == cost
    quiet, log = Terminal(), io.StringIO()
    run_sweep(spec, tmp_path / "b", stream=quiet, round_progress=False)
    run_sweep(spec, tmp_path / "c", stream=log)
    assert "rounds:" not in quiet.getvalue() and "rounds:" not in log.getvalue()


def test_an_exact_run_at_its_bound_up_to_rounding_holds():
    """A bound attained exactly (ratio 1 + 2e-16 after float rounding) holds, as falsify judges it;
    one above it by more than the slack is violated."""
    from altsim.rates.compare import verdict

    assert verdict(1.0000000000000002, 1.0000000000000002, 1.0) == "holds"
    assert verdict(1.001, 1.001, 1.0) == "violated"
