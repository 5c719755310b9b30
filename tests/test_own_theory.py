"""Bring your own theory: the worked example examples/own_theory/ (a plugin with an algorithm, a family
and two bounds), copied to a temporary folder and driven from another folder as a user would, and
the one-line refusals of the extension API."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from altsim.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "own_theory"


def _altsim(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "altsim", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def copied(tmp_path_factory):
    """(the copied example folder, another folder to work from)."""
    root = tmp_path_factory.mktemp("user")
    shutil.copytree(EXAMPLE, root / "own_theory", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "elsewhere").mkdir()
    return root / "own_theory", root / "elsewhere"


def test_run_holds_the_plugin_algorithm_against_the_plugin_bound_and_plot_draws_it(copied):
    folder, elsewhere = copied
    done = _altsim(["run", str(folder / "config.toml"), "--out", "res", "--quiet"], elsewhere)
    assert done.returncode == 0, done.stderr
    assert "fedalt_shared_first" in done.stdout and "shared_first_gd [D]" in done.stdout
    summary = json.loads((elsewhere / "res" / "summary.json").read_text())
    mine = summary["algorithms"]["fedalt_shared_first"]
    assert (mine["name"], mine["verdict"]) == ("shared_first_gd", "holds")
    assert mine["look"]["label"] == "FedAlt, shared first (plugin)"
    assert Path(summary["plugins"]["own_theory"]).resolve() == (folder / "own_theory.py").resolve()
    plot = _altsim(["plot", "res"], elsewhere)
    assert plot.returncode == 0, plot.stderr
    assert (elsewhere / "res" / "rate.png").stat().st_size > 10_000

    # the plugin gone: plot says so in one line, then draws with what the results recorded
    aside = folder.parent / "own_theory.py.aside"
    (folder / "own_theory.py").rename(aside)
    try:
        again = _altsim(["plot", "res", "--out", "again"], elsewhere)
    finally:
        aside.rename(folder / "own_theory.py")
    assert again.returncode == 0, again.stderr
    lines = [line for line in again.stderr.splitlines() if "own_theory" in line]
    assert len(lines) == 1 and "cannot import 'own_theory'" in lines[0], again.stderr
    assert (elsewhere / "again" / "rate.png").stat().st_size > 10_000


def test_falsify_breaks_the_too_small_bound_and_its_counterexample_reruns(copied):
    folder, _ = copied
    argv = ["falsify", "--plugins", "own_theory", "--bound", "shared_first_too_small"]
    done = _altsim([*argv, "--budget", "30", "--out", "fz", "--quiet"], folder)
    assert done.returncode == 3, done.stderr  # the README's exit code for a confirmed violation
    assert "VIOLATED" in done.stdout
    report = json.loads((folder / "fz" / "falsify.json").read_text())
    assert report["violation"] and report["counterexample"]["plugins"] == ["own_theory"]
    rerun = _altsim(["run", "fz/counterexample.toml", "--out", "cx", "--quiet"], folder)
    assert rerun.returncode == 0, rerun.stderr
    assert "shared_first_too_small [D]" in rerun.stdout and "violated" in rerun.stdout


def test_the_plausible_bound_survives_a_short_search(copied):
    folder, _ = copied
    argv = ["falsify", "--plugins", "own_theory", "--bound", "shared_first_gd", "--budget", "8"]
    done = _altsim([*argv, "--out", "fz_ok", "--quiet", "--family", "separable_quadratic"], folder)
    assert done.returncode == 0, done.stderr
    report = json.loads((folder / "fz_ok" / "falsify.json").read_text())
    assert not report["violation"] and report["evaluations"] > 0


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["bound", "--name", "x", "--plugins", "no_such_plugin"], "cannot import 'no_such_plugin'"),
        (["bound", "--name", "x", "--plugins", "raises_on_import"], "ZeroDivisionError"),
        (
            ["bound", "--name", "x", "--plugins", "not-a-module"],
            "'not-a-module' is not a module name",
        ),
        (["falsify", "--bound", "no_such_bound", "--out", "o"], "bound='no_such_bound': unknown"),
        (["run", "bad_bound.toml", "--out", "o"], "no_such_bound"),
        (["run", "bad_plugin.toml", "--out", "o"], "cannot import 'missing_mod'"),
        (["problem", "--family", "no_such_family"], "no_such_family"),
        (
            ["bound", "--alg", "fedalt_shared"],
            "--alg='fedalt_shared': unknown algorithm with a bound",
        ),
        (
            ["falsify", "--bound", "fedsim_gd_full", "--family", "coupled"],
            "did you mean 'coupled_quadratic'",
        ),
    ],
)
def test_bad_input_to_the_extension_api_is_one_line_exit_2_and_no_folder(
    tmp_path, monkeypatch, capsys, argv, needle
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "raises_on_import.py").write_text("1 / 0\n")
    (tmp_path / "bad_bound.toml").write_text('[experiment]\nbounds = ["no_such_bound"]\n')
    (tmp_path / "bad_plugin.toml").write_text('[experiment]\nplugins = ["missing_mod"]\n')
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("altsim: error:") and needle in err, err
    assert not (tmp_path / "o").exists()


def test_register_bound_refuses_a_taken_name_and_a_non_bound():
    import dataclasses

    from altsim.theory import BOUNDS, get_bound, register_bound

    mine = dataclasses.replace(get_bound("fedsim_gd_full"), name="fedsim_sgd_full")
    with pytest.raises(ValueError, match=r"bound.name='fedsim_sgd_full': taken, a built-in bound"):
        register_bound(mine)
    with pytest.raises(TypeError, match=r"must be an altsim\.theory\.Bound"):
        register_bound("fedsim_gd_full")  # type: ignore[arg-type]
    own = dataclasses.replace(get_bound("fedsim_gd_full"), name="test_own_copy")
    try:
        assert register_bound(own) is own and BOUNDS["test_own_copy"] is own
        with pytest.raises(ValueError, match="already registered"):
            register_bound(dataclasses.replace(own))
        again = dataclasses.replace(own, summary="replaced")
        assert register_bound(again, replace=True) is again
    finally:
        BOUNDS.pop("test_own_copy", None)


@pytest.mark.parametrize("name", ["", "two\nlines", "with space", "tab\t", 3, None])
def test_register_bound_refuses_a_name_that_is_not_a_plain_word(name):
    import dataclasses

    from altsim.theory import BOUNDS, get_bound, register_bound

    before = dict(BOUNDS)
    if not isinstance(name, str):  # a Bound refuses a name of the wrong type when it is made
        with pytest.raises(TypeError, match=r"^name=.*: must be a str") as e:
            dataclasses.replace(get_bound("fedsim_gd_full"), name=name)
        assert "\n" not in str(e.value) and BOUNDS == before
        return
    bad = dataclasses.replace(get_bound("fedsim_gd_full"), name=name)
    with pytest.raises(
        ValueError, match=r"^bound\.name=.*: must be a non-empty str of letters"
    ) as e:
        register_bound(bad)
    assert "\n" not in str(e.value) and BOUNDS == before
    # a non-str key in the registry broke every later lookup's error ('<' between int and str)
    with pytest.raises(ValueError, match=r"bound='nope': unknown bound"):
        get_bound("nope")


def test_register_bound_takes_dots_and_dashes_and_refuses_a_replace_that_is_not_a_bool():
    import dataclasses

    from altsim.theory import BOUNDS, get_bound, register_bound

    own = dataclasses.replace(get_bound("fedsim_gd_full"), name="my-bound.v2_1")
    try:
        assert register_bound(own) is own
        for replace in ("no", 1, None):  # "no" counted as true and replaced the bound
            with pytest.raises(ValueError, match=r"^replace=.*: must be true or false"):
                register_bound(dataclasses.replace(own, summary="other"), replace=replace)  # type: ignore[arg-type]
        assert BOUNDS["my-bound.v2_1"] is own
    finally:
        BOUNDS.pop("my-bound.v2_1", None)


def test_register_bound_and_get_bound_show_a_huge_value_cut_short():
    from altsim.theory import get_bound, register_bound

    huge = "x" * 1_000_000
    with pytest.raises(TypeError) as e:
        register_bound(huge)  # type: ignore[arg-type]
    assert len(str(e.value)) < 200 and "<1000002 characters>" in str(e.value)
    for name in (3, None, ["fedsim_gd_full"], {"a": 1}):  # not a str: one line naming it
        with pytest.raises(ValueError, match=r"^bound=.*: must be a bound's name \(a str\), not "):
            get_bound(name)  # type: ignore[arg-type]


def test_a_recorded_look_stands_in_for_an_algorithm_nobody_registered():
    from altsim.figures import style

    assert style.label("nobody_registered_this") == "nobody_registered_this"
    style.remember("nobody_registered_this", {"label": "Mine", "color": "#123456", "marker": "s"})
    assert (style.label("nobody_registered_this"), style.color("nobody_registered_this")) == (
        "Mine",
        "#123456",
    )
    style.remember("fedalt", {"label": "not FedAlt"})  # a registered algorithm keeps its own look
    assert style.label("fedalt") == "FedAlt"


def _sweep(copied, how: str) -> dict:
    """{point: the plugin algorithm's measured value} of the example swept over two spreads on `how`."""
    folder, elsewhere = copied
    config = folder / "sweep.toml"
    text = (folder / "config.toml").read_text().replace("rounds = 300", "rounds = 20")
    config.write_text(text + "\n[sweep]\n" + '"problem.spread" = [0.5, 2.0]\n')
    out = f"sweep_{how}"
    argv = ["run", str(config), "--out", out, "--quiet", "--executor", how]
    done = _altsim(argv + (["--workers", "2"] if how == "processes" else []), elsewhere)
    assert done.returncode == 0, done.stderr
    summary = json.loads((elsewhere / out / "summary.json").read_text())
    return {
        p["point"]: p["summary"]["algorithms"]["fedalt_shared_first"]["measured"]
        for p in summary["points"]
    }


@pytest.fixture(scope="module")
def local_sweep(copied):
    return _sweep(copied, "local")


@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_workers_import_the_same_plugins(copied, local_sweep, executor):
    """A sweep of the example on worker processes (spawned: nothing is inherited but the environment)
    and on dask: every point finds the plugin, and the numbers equal the local executor's."""
    assert len(local_sweep) == 2 and _sweep(copied, executor) == local_sweep


def test_a_copy_in_the_current_folder_does_not_shadow_the_plugin_next_to_the_config(
    copied, tmp_path
):
    """The config's own folder comes first: a different own_theory.py in the folder a sweep is run
    from is used neither by this process nor by spawned workers (which start with the config's
    folder on their PYTHONPATH)."""
    folder, _ = copied
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    text = (folder / "own_theory.py").read_text()
    assert "u = u - self.gamma_u" in text
    (shadow / "own_theory.py").write_text(
        text.replace("u = u - self.gamma_u", "u = u - 0.1 * self.gamma_u")
    )
    config = folder / "shadowed.toml"
    config.write_text(
        (folder / "config.toml").read_text().replace("rounds = 300", "rounds = 20")
        + '\n[sweep]\n"problem.spread" = [0.5, 2.0]\n'
    )
    measured = {}
    for how in ("local", "processes"):
        argv = ["run", str(config), "--out", f"s_{how}", "--quiet", "--executor", how]
        done = _altsim(argv + (["--workers", "2"] if how == "processes" else []), shadow)
        assert done.returncode == 0, done.stderr
        summary = json.loads((shadow / f"s_{how}" / "summary.json").read_text())
        assert (
            Path(summary["plugins"]["own_theory"]).resolve() == (folder / "own_theory.py").resolve()
        )
        measured[how] = [
            p["summary"]["algorithms"]["fedalt_shared_first"]["measured"] for p in summary["points"]
        ]
    assert measured["processes"] == measured["local"]
