"""The altsim command line: demo output files, bound and problem reports, one-line errors."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from altsim.cli import main


def _run(argv):
    out = io.StringIO()
    code = main(argv, out=out)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    code, out = _run(["demo", "--quick", "--out", str(d)])
    assert code == 0, out
    return d, out


def test_demo_writes_the_three_files_and_a_complete_summary(quick_demo):
    d, out = quick_demo
    assert {"summary.json", "trajectories.npz", "demo.png"} <= set(os.listdir(d))
    summary = json.loads((d / "summary.json").read_text())
    for alg in ("fedalt", "fedsim"):
        s = summary["algorithms"][alg]
        for key in (
            "measured",
            "measured_ci",
            "bound",
            "name",
            "provenance",
            "ratio",
            "verdict",
            "constants",
            "config",
        ):
            assert key in s, key
        assert set(s["constants"]) == {
            "L_u",
            "L_v",
            "L_uv",
            "chi",
            "sigma_u",
            "sigma_v",
            "delta",
            "delta_F0",
        }
        assert s["provenance"] == "D" and s["verdict"] == "holds"
        lo, hi = s["measured_ci"]
        assert lo <= s["measured"] <= hi < s["bound"]
        assert s["ratio"] == pytest.approx(s["measured"] / s["bound"])
        assert s["config"]["problem_seed"] == 0 and s["config"]["seeds"]
        assert f"{alg:<9}" in out and "holds" in out
    z = np.load(d / "trajectories.npz")
    assert summary["algorithms"]["fedalt"]["personal_weight"] == 0.5  # the demo samples m = n/2
    ra = z["fedalt/running_average_m_over_n"].mean(0)
    assert ra[-1] == pytest.approx(summary["algorithms"]["fedalt"]["measured"])


def test_demo_shows_the_papers_setting_against_the_local_step_bounds(quick_demo):
    d, _ = quick_demo
    assert "local_steps.png" in os.listdir(d)
    local = json.loads((d / "summary.json").read_text())["local_steps"]
    for alg, bound in (("fedalt", "fedalt_sgd_local"), ("fedsim", "fedsim_sgd_local")):
        s = local["algorithms"][alg]
        assert (s["name"], s["provenance"], s["verdict"]) == (bound, "D", "holds")
        assert s["personal_weight"] == 0.25


def test_the_local_steps_example_is_the_demos_second_run():
    import tomllib

    from altsim.demo import local_steps_config

    example = tomllib.loads(
        (Path(__file__).parents[1] / "examples" / "local_steps.toml").read_text()
    )
    cfg = local_steps_config(quick=False, seed=0, device="cpu")
    assert example["problem"] == cfg.problem
    for key in ("m", "tau_u", "tau_v", "tau", "rounds", "bounds", "algorithms", "seeds"):
        assert (
            tuple(example["experiment"][key]) == tuple(getattr(cfg, key))
            if isinstance(getattr(cfg, key), tuple)
            else example["experiment"][key] == getattr(cfg, key)
        ), key


def test_demo_summary_config_reruns_to_identical_numbers(quick_demo):
    from altsim.rates import ExperimentConfig, run

    d, _ = quick_demo
    cfg = json.loads((d / "summary.json").read_text())["config"]
    res = run(ExperimentConfig.from_dict(cfg))
    z = np.load(d / "trajectories.npz")
    assert np.array_equal(res.trajectories["fedsim"].grad_u_sq, z["fedsim/grad_u_sq"])


@pytest.mark.parametrize(
    "argv, match, usage",
    [
        (["demo", "--bogus"], "unrecognized arguments: --bogus", "usage: altsim demo"),
        (["nosuchcommand"], "invalid choice", "usage: altsim "),
        (["run"], "the following arguments are required: config", "usage: altsim run"),
    ],
)
def test_flag_mistakes_get_the_usage_line_then_one_error_line(argv, match, usage, capsys):
    code, _ = _run(argv)
    err = capsys.readouterr().err
    assert code == 2
    first, second, rest = (err.split("\n") + ["", ""])[:3]
    assert (
        first.startswith(usage)
        and second.startswith("altsim: error:")
        and match in second
        and rest == ""
    )
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv, match",
    [
        (["demo", "--device", "tpu"], "device='tpu'"),
        (["demo", "--seed", "-3"], "--seed=-3"),
        (["bound", "--alg", "fedsim", "--set", "L_u=abc"], "VALUE must be a number"),
        (["bound", "--alg", "fedsim", "--set", "Lu=1"], "unknown symbol"),
        (["problem", "--set", "chi=2"], "chi=2"),
    ],
)
def test_user_mistakes_get_one_line_errors_and_exit_2(argv, match, capsys):
    code, _ = _run(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("altsim: error:") and match in err
    assert "Traceback" not in err


def test_unwritable_out_dir_is_refused_before_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _ = _run(["demo", "--quick", "--out", str(blocker / "sub")])
    err = capsys.readouterr().err
    assert code == 2 and "not a writable directory" in err and err.count("\n") == 1


def test_bound_list_names_every_bound():
    from altsim.theory import BOUNDS

    code, out = _run(["bound", "--list"])
    assert code == 0 and all(name in out for name in BOUNDS)


def test_bound_json_example_from_the_issue():
    code, out = _run(
        [
            "bound",
            "--alg",
            "fedsim",
            "--set",
            "L_u=1",
            "L_v=2",
            "L_uv=0.5",
            "sigma_u=0.1",
            "sigma_v=0.1",
            "delta=1",
            "n=10",
            "m=10",
            "T=100",
            "Delta_F0=5",
            "--json",
        ]
    )
    rep = json.loads(out)
    assert code == 0
    for key in (
        "name",
        "algorithm",
        "provenance",
        "conditions",
        "value",
        "eta_opt",
        "regime_winner",
    ):
        assert key in rep
    assert (
        rep["algorithm"] == "fedsim"
        and rep["provenance"] == "D"
        and rep["regime_winner"] == "fedalt"
    )
    assert rep["name"] == "fedsim_sgd_full" and 0 < rep["eta_opt"] < 2 / (1 + 0.5 / 2**0.5)
    assert rep["value"] > 0


def test_bound_reports_missing_symbols_by_name():
    code, out = _run(["bound", "--name", "fedsim_gd_full", "--set", "T=10"])
    assert code == 0 and "needs" in out and "Delta_F0" in out and "chi" in out


def test_bound_without_a_value_shows_the_bound_that_needs_the_fewest_more():
    # no [D] bound of fedsim has a value with chi alone: the report showed the first applicable one,
    # fedsim_sgd_full (7 more values), not fedsim_gd_full (Delta_F0 and T)
    for extra in ([], ["eta=0.1"]):
        code, out = _run(["bound", "--alg", "fedsim", "--set", "chi=0.5", *extra, "--json"])
        rep = json.loads(out)
        assert code == 0 and rep["name"] == "fedsim_gd_full" and rep["value"] is None, extra
    # with noise, gd_full does not apply; of sgd_full and sgd_partial, sgd_full needs fewer
    code, out = _run(["bound", "--alg", "fedalt", "--set", "chi=0.5", "sigma_u=0.1", "--json"])
    assert code == 0 and json.loads(out)["name"] == "fedalt_sgd_full"


def test_problem_json_has_certified_constants():
    code, out = _run(
        ["problem", "--family", "coupled_quadratic", "--set", "chi=0.2", "n=5", "--json"]
    )
    rep = json.loads(out)
    assert code == 0 and rep["certified"]["chi"] == pytest.approx(0.2)
    assert set(rep["certified"]) >= {
        "L_u",
        "L_v",
        "L_uv",
        "chi",
        "sigma_u",
        "sigma_v",
        "delta",
        "F_lower",
    }


def test_console_script_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "altsim", "bound", "--list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "fedalt_sgd_full" in proc.stdout


def test_version_and_help_on_every_option(capsys):
    from altsim import __version__
    from altsim.cli import build_parser

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"altsim {__version__}"
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in [("altsim", parser), *subparsers.items()]:
        for action in sub._actions:
            if action.dest != "help":
                assert action.help, (
                    f"{name}: option {action.option_strings or action.dest} has no help text"
                )


def test_debug_shows_the_traceback_and_plain_runs_do_not(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[experiment]\nrounds = 0\n")
    assert main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert (
        main(["--debug", "run", str(cfg), "--out", str(tmp_path / "o")]) == 2
    )  # same exit code, plus the traceback
    err = capsys.readouterr().err
    assert "Traceback" in err and "rounds=0" in err


def test_a_regime_study_with_one_algorithm_is_refused_before_any_work(tmp_path, capsys):
    cfg = tmp_path / "r.toml"
    cfg.write_text(
        '[experiment]\nalgorithms = ["fedalt"]\nrounds = 5\neta = 0.1\n[problem]\nn = 4\n'
        "[regime]\nenabled = true\n"
    )
    out = tmp_path / "o"
    assert main(["run", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "regime.enabled=true" in err and "fedsim" in err
    assert not (out / "points").exists()  # nothing was simulated


def test_bound_reports_the_derived_regime_beside_the_papers(capsys):
    argv = [
        "bound",
        "--alg",
        "fedsim",
        "--json",
        "--set",
        "L_u=1",
        "L_v=2",
        "L_uv=0.5",
        "sigma_u=0.1",
        "sigma_v=0.5",
        "delta=1",
        "n=10",
        "m=5",
        "T=1000",
        "Delta_F0=5",
    ]
    code, out = _run(argv)
    rep = json.loads(out)
    assert code == 0 and rep["regime_winner"] in ("fedalt", "fedsim", "tie")
    assert (
        rep["regime_winner_derived"] == "fedsim"
    )  # FedAlt's partial-participation proof is the looser one here
    # the tightest covering [D] bound per algorithm; at tau = 1 FedAlt's partial-participation bound is the one-step
    # case of its local-step bound, so either may win, by the weight searches' precision
    assert rep["regime_derived"]["fedalt"]["bound"] in ("fedalt_sgd_partial", "fedalt_sgd_local")
    assert rep["regime_derived"]["fedsim"]["bound"] == "fedsim_sgd_partial"
    code, text = _run(argv[:3] + argv[4:])
    assert "regime (altsim's [D] bounds, each at its best step size): fedsim" in text
