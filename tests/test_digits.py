"""The real-data family (`digits`) and the personalization report: label skew, held-out accuracy,
the share of full personalization's gain, FedAlt against FedSim."""

import builtins
import math
import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")

from altsim.rates import ExperimentConfig, run
from altsim.rates.personalization import personalization_report, report_text, share_of_gain
from altsim.results import summarize
from altsim.synthetic import make_problem
from altsim.synthetic.digits import client_split, load_images

SMALL = dict(n=6, samples=20, test_samples=10, hidden=4, batch_size=5)


def test_training_and_held_out_images_never_overlap_and_follow_each_clients_label_skew():
    _, y = load_images()
    train, test, _props = client_split(
        y, n=30, samples=60, test_samples=60, alpha=0.1, test_fraction=0.3, seed=3
    )
    assert set(train.ravel()).isdisjoint(set(test.ravel()))
    top_train = np.array([np.bincount(y[row], minlength=10).argmax() for row in train])
    top_test = np.array([np.bincount(y[row], minlength=10).argmax() for row in test])
    assert (
        top_train == top_test
    ).mean() >= 0.8  # a client's held-out images come from its own classes
    share_top = np.mean([np.bincount(y[row], minlength=10).max() / 60 for row in train])
    _, _, flat = client_split(
        y, n=30, samples=60, test_samples=60, alpha=100.0, test_fraction=0.3, seed=3
    )
    assert (
        share_top > 0.6 and flat.max(1).mean() < 0.25
    )  # small alpha: skewed; large alpha: nearly uniform
    again = client_split(y, n=30, samples=60, test_samples=60, alpha=0.1, test_fraction=0.3, seed=3)
    assert np.array_equal(again[0], train) and np.array_equal(again[1], test)


def test_the_gradient_oracles_are_the_gradients_of_the_loss():
    p = make_problem("digits", SMALL, seed=1)
    gen = torch.Generator().manual_seed(0)
    u = torch.randn(2, p.n, p.d_u, generator=gen, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, p.n, p.d_v, generator=gen, dtype=torch.float64, requires_grad=True)
    clients = torch.arange(p.n).expand(2, p.n)
    gu, gv = torch.autograd.grad(p.loss(u, v, clients).sum(), (u, v))
    assert torch.allclose(p.grad_u(u, v, clients), gu, atol=1e-12)
    assert torch.allclose(p.grad_v(u, v, clients), gv, atol=1e-12)


def test_held_out_accuracy_of_a_shared_u_equals_that_of_every_client_holding_it():
    p = make_problem("digits", SMALL)
    u0, V0 = p.initial_point()
    shared = p.held_out_accuracy(u0.expand(3, p.d_u), V0.expand(3, *V0.shape))
    per_client = p.held_out_accuracy(u0.expand(3, p.n, p.d_u), V0.expand(3, *V0.shape))
    assert torch.equal(shared, per_client) and shared.shape == (3, p.n)
    assert ((shared >= 0) & (shared <= 1)).all()


def test_without_scikit_learn_the_family_says_how_to_get_it(monkeypatch):
    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ValueError, match=r"pip install 'altsim\[data\]'"):
        make_problem("digits", SMALL)


# --- the report ----------------------------------------------------------------------------------
def test_share_of_gain_is_one_for_full_zero_for_none_and_scale_free():
    rng = np.random.default_rng(0)
    none = rng.uniform(0.5, 0.6, 12)
    full = none + rng.uniform(0.1, 0.2, 12)
    assert share_of_gain(full, none, full)["share"] == pytest.approx(1.0)
    assert share_of_gain(none, none, full)["share"] == pytest.approx(0.0)
    half = share_of_gain(none + 0.5 * (full - none), none, full)
    assert half["share"] == pytest.approx(0.5) and half["ci"] == pytest.approx(
        [0.5, 0.5]
    )  # exact: every resample
    noisy = none + 0.6 * (full - none) + rng.normal(0, 0.01, 12)
    a, b = share_of_gain(noisy, none, full), share_of_gain(10 * noisy, 10 * none, 10 * full)
    assert a["share"] == pytest.approx(b["share"]) and a["ci"] == pytest.approx(b["ci"])
    assert a["ci"][0] < a["share"] < a["ci"][1]
    with pytest.raises(ValueError, match="share_of_gain"):
        share_of_gain(noisy[:1], none[:1], full[:1])


@pytest.fixture(scope="module")
def digits_summary():
    cfg = ExperimentConfig(
        family="digits",
        problem=SMALL,
        algorithms=("fedavg", "full_personalization", "fedalt", "fedsim"),
        rounds=60,
        m=6,
        eta=1.0,
        tau=2,
        tau_u=2,
        tau_v=2,
        seeds=(0, 1, 2, 3),
        compile="off",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return summarize(run(cfg))


def test_a_run_on_digits_learns_and_reports_held_out_accuracy(digits_summary):
    for alg, e in digits_summary["algorithms"].items():
        acc = e["held_out_accuracy"]
        assert len(acc["per_seed"]) == 4 and acc["mean"] > 0.3, (
            alg
        )  # well above chance (0.1) after 60 rounds
        assert e["bound"] is None  # measured only: no bound covers a run on real data


def test_the_personalization_report_pairs_over_the_same_seeds(digits_summary):
    rep = digits_summary["personalization"]
    assert rep == personalization_report(digits_summary) and rep["seeds"] == [0, 1, 2, 3]
    alg = digits_summary["algorithms"]
    d = np.subtract(
        alg["fedalt"]["held_out_accuracy"]["per_seed"],
        alg["fedsim"]["held_out_accuracy"]["per_seed"],
    )
    assert rep["fedalt_minus_fedsim"]["held_out_accuracy"]["mean"] == pytest.approx(d.mean())
    s = np.subtract(
        alg["fedalt"]["final_stationarity"]["per_seed"],
        alg["fedsim"]["final_stationarity"]["per_seed"],
    )
    assert rep["fedalt_minus_fedsim"]["final_stationarity"]["mean"] == pytest.approx(s.mean())
    assert set(rep["share_of_full_gain"]) == {"fedalt", "fedsim"}
    assert "(a) fedalt" in report_text(rep)
    partial = {k: v for k, v in digits_summary["algorithms"].items() if k != "fedavg"}
    assert (
        "needs fedavg"
        in personalization_report({**digits_summary, "algorithms": partial})[
            "share_of_full_gain_missing"
        ]
    )


def test_altsim_run_prints_the_report_and_plot_draws_it(tmp_path, capsys):
    """Also the regression: settings of a family without certified constants (written as null) read back."""
    from altsim.cli import main

    f = tmp_path / "digits.toml"
    f.write_text(
        '[experiment]\nfamily = "digits"\nalgorithms = ["fedavg", "full_personalization", "fedalt", "fedsim"]\n'
        'rounds = 12\neta = 1.0\ncompile = "off"\nseeds = [0, 1, 2]\n[problem]\nn = 4\nsamples = 10\n'
        "test_samples = 5\nhidden = 3\nbatch_size = 4\n"
    )
    assert main(["run", str(f), "--out", str(tmp_path / "o")]) == 0
    assert "(a) fedalt:" in capsys.readouterr().out
    assert main(["plot", str(tmp_path / "o"), "--out", str(tmp_path / "fig")]) == 0
    assert {p.name for p in (tmp_path / "fig").glob("*.png")} == {
        "rate.png",
        "tightness.png",
        "personalization.png",
    }


def test_a_share_of_a_gain_that_may_be_zero_has_no_interval():
    rng = np.random.default_rng(1)
    none = rng.uniform(0.5, 0.6, 10)
    full = none + rng.normal(0.0, 0.05, 10)  # full personalization's gain straddles 0
    out = share_of_gain(none + 0.01, none, full)
    assert "undefined" in out and all(math.isnan(c) for c in out["ci"])
    with pytest.raises(ValueError, match=r"level=1\.5"):
        share_of_gain(full, none, full, level=1.5)


def test_the_figure_draws_a_share_without_an_interval(digits_summary):
    """As read back from strict JSON: an undefined interval is null, and the panel says why instead of failing."""
    import json

    from altsim.figures import personalization_plot
    from altsim.io import dumps

    algs = json.loads(dumps(digits_summary["algorithms"]))
    none = np.asarray(algs["fedavg"]["held_out_accuracy"]["per_seed"])
    algs["full_personalization"]["held_out_accuracy"]["per_seed"] = (
        none + np.array([0.01, -0.01, 0.02, -0.02])
    ).tolist()
    summary = {**digits_summary, "algorithms": algs}
    summary["personalization"] = json.loads(dumps(personalization_report(summary)))
    assert all("undefined" in e for e in summary["personalization"]["share_of_full_gain"].values())
    fig = personalization_plot(summary)
    assert "no interval" in " ".join(t.get_text() for t in fig.axes[1].texts)
