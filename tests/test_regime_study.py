"""The tuned regime study (`altsim.rates.regime_study`): Wilson intervals, margins, tuning on separate
seeds, paired winners, resume and reproducibility, on a few points and few rounds."""

import csv
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom, norm

from altsim.cli import main
from altsim.rates import ExperimentConfig
from altsim.rates.regime_study import RegimeStudy, aggregate, prediction_constants, wilson_interval
from altsim.sweep import load_spec
from altsim.theory import regime_margin, regime_winner

STUDY = """
[experiment]
family = "{family}"
algorithms = ["fedalt", "fedsim"]
rounds = 30
tau = 2
compile = "off"
seeds = [100, 101, 102, 103, 104, 105]

[problem]
{problem}

[sweep]
m = [2, 6]

[regime]
enabled = true
eta_grid = [0.05, 0.2, 0.5]
tune_seeds = [0, 1, 2]
fedalt_local_steps = [[1, 1], [2, 2]]
margin = 0.1
"""
QUADRATIC = "n = 6\nd_u = 3\nd_v = 3\nsigma_u = 0.3\nsigma_v = 0.5\ndelta = 1.0\nchi = 0.5"


def _study(tmp_path, family="coupled_quadratic", problem=QUADRATIC, name="study.toml", **replace):
    text = STUDY.format(family=family, problem=problem)
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    f = tmp_path / name
    f.write_text(text)
    return f


# --- Wilson intervals -------------------------------------------------------------------------
@given(st.integers(1, 400), st.data())
@settings(max_examples=200, deadline=None)
def test_wilson_bounds_solve_the_score_equation_and_contain_the_estimate(n, data):
    k = data.draw(st.integers(0, n))
    lo, hi = wilson_interval(k, n)
    z, p = norm.ppf(0.975), k / n
    assert 0 <= lo <= p <= hi <= 1
    for b in (
        lo,
        hi,
    ):  # each end is a root of (p - b)^2 = z^2 b (1 - b) / n (clipping only at 0 and 1)
        if 0 < b < 1:
            assert (p - b) ** 2 == pytest.approx(z * z * b * (1 - b) / n, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("n, p", [(24, 0.5), (40, 0.3), (96, 0.9), (200, 0.05)])
def test_wilson_interval_covers_near_its_level(n, p):
    """Exact coverage over the binomial law (no simulation): within a few points of 95%, where the
    Wald interval is known to fall far short for small n p."""
    ks = np.arange(n + 1)
    covered = np.array([lo <= p <= hi for lo, hi in (wilson_interval(int(k), n) for k in ks)])
    coverage = float(binom.pmf(ks, n, p)[covered].sum())
    assert 0.92 <= coverage <= 0.99


def test_wilson_refuses_impossible_counts():
    with pytest.raises(ValueError, match="successes=5: must be <= trials=4"):
        wilson_interval(5, 4)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


# --- margins ------------------------------------------------------------------------------------
@given(
    st.floats(0, 3),
    st.floats(0, 3),
    st.floats(0, 3),
    st.floats(0.1, 5),
    st.floats(0.1, 5),
    st.integers(2, 50),
    st.data(),
)
@settings(max_examples=200, deadline=None)
def test_the_papers_margin_has_the_sign_of_its_verdict(su, sv, d, Lu, Lv, n, data):
    m = data.draw(st.integers(1, n))
    margin, winner = regime_margin(su, sv, d, Lu, Lv, n, m), regime_winner(su, sv, d, Lu, Lv, n, m)
    if math.isnan(margin):
        assert winner == "tie"
        return
    assert -1 <= margin <= 1
    if winner == "fedalt":
        assert margin > 0
    elif winner == "fedsim":
        assert margin < 0


# --- refusals -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(eta_grid=[]), "regime.eta_grid"),
        (dict(eta_grid=[0.1, -0.2]), "regime.eta_grid[]=-0.2"),
        (dict(eta_grid=[0.1, 0.1]), "repeated"),
        (dict(margin=1.0), "regime.margin=1.0"),
        (dict(fedalt_local_steps=[[1, 0]]), "(tau_v)=0"),
        (dict(fedalt_local_steps=[[1, 2, 3]]), "[tau_u, tau_v] pairs"),
    ],
)
def test_a_bad_study_is_refused_naming_the_field(kwargs, message):
    base = dict(eta_grid=[0.1], tune_seeds=[0, 1])
    with pytest.raises(ValueError) as e:
        RegimeStudy(**{**base, **kwargs})
    assert message in str(e.value)


def test_tuning_seeds_that_also_score_are_refused_before_any_work(tmp_path, capsys):
    f = _study(tmp_path, **{"tune_seeds = [0, 1, 2]": "tune_seeds = [0, 101]"})
    assert main(["run", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "regime.tune_seeds: [101] also score" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# --- the study, end to end --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def quadratic_study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("regime")
    f = _study(tmp)
    assert main(["run", str(f), "--out", str(tmp / "a"), "--quiet"]) == 0
    return f, tmp


def test_each_row_uses_the_step_size_its_tuning_seeds_chose_and_pairs_the_scoring_seeds(
    quadratic_study,
):
    _f, tmp = quadratic_study
    summary = json.loads((tmp / "a" / "summary.json").read_text())
    rows = [r for p in summary["points"] for r in p["summary"]["regime_study"]]
    assert len(rows) == 2 * 2  # 2 points x 2 FedAlt variants
    assert not (
        tmp / "a" / "rounds.csv"
    ).exists()  # a study keeps scores, not every round of every variant
    with open(tmp / "a" / "scores.csv") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 2 * 3 * 6  # points x variants (FedSim and two FedAlt) x scoring seeds
    for p in summary["points"]:
        final = {}  # (variant, seed) -> running average at the horizon, read back from scores.csv
        for r in table:
            if r["point"] == p["point"]:
                final[(r["variant"], int(r["seed"]))] = float(r["final_running_average"])
                assert float(r["weight"]) == pytest.approx(
                    p["summary"]["regime_study"][0]["m"] / 6
                )  # w = m/n
        assert {s for _, s in final} == {100, 101, 102, 103, 104, 105}  # the scoring seeds only
        for row in p["summary"]["regime_study"]:
            for alg in ("fedalt", "fedsim"):
                scores = {float(e): v for e, v in row["tune_scores"][alg].items() if v is not None}
                assert row["eta_tuned"][alg] == min(scores, key=scores.get)
                edge = row["eta_at_grid_edge"][alg]
                assert (edge == "largest") == (row["eta_tuned"][alg] == 0.5)
                assert (edge == "smallest") == (row["eta_tuned"][alg] == 0.05)
            diff = [
                final[(row["fedalt_variant"], s)] - final[(row["fedsim_variant"], s)]
                for s in range(100, 106)
            ]
            assert row["diff_mean"] == pytest.approx(np.mean(diff), rel=1e-9)
            lo, hi = row["diff_ci"]
            assert row["empirical"] == ("fedalt" if hi < 0 else "fedsim" if lo > 0 else "tie")
            assert (row["tau_u"], row["tau_v"], row["tau"]) in ((1, 1, 2), (2, 2, 2))
            assert row["paper"]["winner"] == regime_winner(
                row["sigma_u"],
                row["sigma_v"],
                row["delta"],
                row["L_u"],
                row["L_v"],
                row["n"],
                row["m"],
            )
            assert (
                row["derived"]["bounds"]["fedsim"] == "fedsim_sgd_local"
            )  # the local-step bounds are used
            assert row["constants"] == "certified"


def test_bound_cli_regime_verdict_and_study_give_one_best_bound(quadratic_study):
    """One implementation of "the best bound at its best step size" (theory.tightest_bound): the
    study's [D] values, the regime verdict and `altsim bound --alg A --json` agree exactly."""
    import io

    from altsim.theory import regime_winner_derived, tightest_bound

    _f, tmp = quadratic_study
    summary = json.loads((tmp / "a" / "summary.json").read_text())
    rows = [r for p in summary["points"] for r in p["summary"]["regime_study"]]
    keys = ("L_u", "L_v", "L_uv", "chi", "sigma_u", "sigma_v", "delta", "Delta_F0")
    keys += ("n", "m", "T", "tau", "tau_u", "tau_v")
    for row in rows:
        values = {k: row[k] for k in keys} | {"stateless": 0}
        verdict = regime_winner_derived(values)
        for alg in ("fedalt", "fedsim"):
            study = row["derived"]["values"][alg]
            assert study is not None and verdict[alg]["value"] == study
            assert tightest_bound(alg, values)["value"] == study
            out = io.StringIO()
            sets = [f"{k}={v!r}" for k, v in values.items()]
            assert main(["bound", "--alg", alg, "--json", "--set", *sets], out=out) == 0
            rep = json.loads(out.getvalue())
            assert rep["name"] == row["derived"]["bounds"][alg]
            assert rep["value"] == study and rep["regime_derived"][alg]["value"] == study
            assert rep["eta_opt"] == row["eta_bound"][alg]


def test_the_study_resumes_and_reproduces_its_numbers(quadratic_study, capsys):
    f, tmp = quadratic_study
    first = json.loads((tmp / "a" / "summary.json").read_text())
    assert main(["run", str(f), "--out", str(tmp / "a")]) == 0  # resume: nothing to do
    assert "skipped (done before)" in capsys.readouterr().err
    assert json.loads((tmp / "a" / "summary.json").read_text()) == first
    assert main(["run", str(f), "--out", str(tmp / "b"), "--quiet"]) == 0  # a fresh run, same seeds
    again = json.loads((tmp / "b" / "summary.json").read_text())
    assert [p["summary"]["regime_study"] for p in again["points"]] == [
        p["summary"]["regime_study"] for p in first["points"]
    ]
    assert (tmp / "a" / "regime_table.md").read_text() == (
        tmp / "b" / "regime_table.md"
    ).read_text()


def test_the_summary_counts_agreement_outside_the_band_only(quadratic_study):
    _, tmp = quadratic_study
    summary = json.loads((tmp / "a" / "summary.json").read_text())
    rows = [r for p in summary["points"] for r in p["summary"]["regime_study"]]
    for p in ("paper", "derived"):
        out = [
            r
            for r in rows
            if not r[p]["in_band"]
            and r["empirical"] in ("fedalt", "fedsim")
            and r[p]["winner"] in ("fedalt", "fedsim")
        ]
        assert summary["regime_study"][p]["outside"]["of"] == len(out)
        assert summary["regime_study"][p]["outside"]["agree"] == sum(
            r[p]["winner"] == r["empirical"] for r in out
        )
        assert all(abs(r[p]["margin"]) >= 0.1 for r in out)
    # moving every row into the band empties the headline count
    banded = [dict(r, paper=dict(r["paper"], in_band=True)) for r in rows]
    assert aggregate(banded)["paper"]["outside"]["of"] == 0


def test_the_study_figure_is_drawn_from_the_folder(quadratic_study, capsys):
    _, tmp = quadratic_study
    assert main(["plot", str(tmp / "a"), "--out", str(tmp / "fig")]) == 0
    assert (tmp / "fig" / "regime.png").stat().st_size > 10_000


def test_a_family_that_does_not_describe_itself_gets_certified_predictions():
    # kinked_quadratic has no describe(): the study asked it for its certificates' region and failed
    cfg = ExperimentConfig(family="kinked_quadratic", problem=dict(n=4), rounds=5, seeds=(0, 1))
    values, source = prediction_constants(cfg)
    assert source == "certified" and values["L_u"] == 1.0


def test_without_certified_constants_the_predictions_say_measured():
    cfg = ExperimentConfig(
        family="small_network", problem=dict(n=4, noise="gaussian"), rounds=5, seeds=(0, 1)
    )
    values, source = prediction_constants(cfg)
    assert source == "measured"
    assert all(
        math.isfinite(values[k]) and values[k] >= 0
        for k in ("L_u", "L_v", "L_uv", "delta", "Delta_F0")
    )
    cfg = ExperimentConfig(problem=dict(n=4, chi=0.3), rounds=5, seeds=(0, 1))
    values, source = prediction_constants(cfg)
    assert source == "certified" and values["chi"] == pytest.approx(0.3)
    measured, source = prediction_constants(
        cfg, "measured"
    )  # asked for: measured even where certified
    assert source == "measured"
    for k in ("L_u", "L_v", "L_uv", "delta"):  # estimates of what the certificates bound
        assert 0 < measured[k] <= values[k] * (1 + 1e-9), k
    assert measured["sigma_u"] == values["sigma_u"]  # sigma is exact, never estimated


def test_the_shipped_study_configs_are_valid():
    from pathlib import Path

    spec = load_spec(Path(__file__).resolve().parents[1] / "examples" / "regime_study.toml")
    assert spec.study is not None and set(spec.study.tune_seeds).isdisjoint(spec.base["seeds"])
    assert spec.study.fedalt_local_steps == ((1, 1), (1, 5), (5, 1), (5, 5))


def test_a_study_point_on_a_family_without_certificates_labels_its_predictions_measured():
    from altsim.rates.regime_study import study_point

    cfg = ExperimentConfig(
        family="small_network",
        problem=dict(n=4, features=2, hidden=3, samples=5, sigma_u=0.1, sigma_v=0.1),
        rounds=8,
        m=2,
        tau=2,
        seeds=(10, 11, 12),
        compile="off",
    )
    rows, trajectories = study_point(cfg, RegimeStudy(eta_grid=(0.2, 0.4), tune_seeds=(0, 1)))
    (row,) = rows
    assert (
        row["constants"] == row["paper"]["constants"] == row["derived"]["constants"] == "measured"
    )
    assert set(trajectories) == {"fedsim[tau=2]", "fedalt[tau_u=1,tau_v=1]"}
    assert row["derived"]["winner"] in (
        "fedalt",
        "fedsim",
        "tie",
    )  # measured constants feed the [D] bounds too
    assert all(math.isfinite(row[k]) for k in ("L_u", "L_v", "L_uv", "delta", "Delta_F0"))


# --- found by review: refusals before work, and rows that must not crash or count twice ---------
@pytest.mark.parametrize(
    "old, new, message",
    [
        ("m = [2, 6]", "m = [2, 6]\neta = [0.1, 0.2]", "sweep.eta: a regime study sets eta itself"),
        (
            "tune_seeds = [0, 1, 2]",
            "tune_seeds = [0, 0]",
            "regime.tune_seeds=[0, 0]: a seed is repeated",
        ),
        (
            "tune_seeds = [0, 1, 2]",
            "tune_seeds = [0, 2147483648]",
            "regime.tune_seeds[]=2147483648",
        ),
        (
            "rounds = 30",
            "rounds = 30\neta = 0.1",
            "experiment.eta=0.1: a regime study tunes the step size",
        ),
        ("rounds = 30", "rounds = 30\nmeasure_every = 2", "experiment.measure_every=2"),
    ],
)
def test_a_study_config_that_would_mislead_is_refused_before_any_work(
    tmp_path, capsys, old, new, message
):
    f = _study(tmp_path, **{old: new})
    assert main(["run", str(f), "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_study_whose_noise_level_is_unknown_is_refused_before_any_work(tmp_path, capsys):
    f = _study(
        tmp_path,
        family="small_network",
        problem='n = 6\nnoise = "minibatch"\nbatch_size = 2\nsamples = 4',
    )
    assert main(["run", str(f), "--out", str(tmp_path / "o")]) == 2
    assert "small_network certifies no sigma_u" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_rows_with_no_margin_or_a_diverged_seed_are_reported_not_counted(quadratic_study):
    from altsim.rates.regime_study import markdown_table

    _, tmp = quadratic_study
    summary = json.loads((tmp / "a" / "summary.json").read_text())
    rows = [r for p in summary["points"] for r in p["summary"]["regime_study"]]
    no_margin = [
        dict(r, paper=dict(r["paper"], margin=None, winner="tie")) for r in rows
    ]  # as strict JSON writes nan
    assert "tie (-)" in markdown_table(no_margin, aggregate(no_margin))
    diverged = [dict(rows[0], empirical="diverged"), *rows[1:]]
    a, b = aggregate(rows), aggregate(diverged)
    assert b["diverged"] == 1 and b["significant"]["of"] == a["significant"]["of"]
    for p in ("paper", "derived"):
        for key in ("outside_all", "in_band_all"):
            assert b[p][key]["of"] <= a[p][key]["of"]
        assert sum(b[p][k]["of"] for k in ("outside_all", "in_band_all")) == sum(
            a[p][k]["of"] for k in ("outside_all", "in_band_all")
        ) - (rows[0][p]["winner"] in ("fedalt", "fedsim"))


def test_the_papers_verdict_refuses_an_impossible_participation():
    with pytest.raises(ValueError, match=r"m=7: must lie in \[1, n\] \(n=6\)"):
        regime_winner(0.1, 0.1, 1.0, 1.0, 1.0, 6, 7)


def test_the_sweep_figure_of_a_study_is_refused_with_the_figure_it_has(quadratic_study, capsys):
    """Issue 27, item 8: `plot --kind sweep` on an undamaged study folder failed with KeyError."""
    _, tmp = quadratic_study
    assert main(["plot", str(tmp / "a"), "--kind", "sweep", "--out", str(tmp / "fig-sweep")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--kind regime" in err and "KeyError" not in err
    assert not (tmp / "fig-sweep").exists()
