"""figures/: every figure kind is produced from real results; `altsim plot` redraws from disk; demos run."""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest
from PIL import Image

from altsim import figures
from altsim.cli import main
from altsim.rates import ExperimentConfig, run

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]


def _png_ok(path: Path, min_side: int = 300):
    with Image.open(path) as im:
        assert min(im.size) >= min_side
        extrema = im.convert("L").getextrema()
        assert extrema[0] < extrema[1]  # not a blank canvas


@pytest.fixture(scope="module")
def result():
    return run(
        ExperimentConfig(
            problem=dict(n=10, sigma_u=0.3, sigma_v=0.3), rounds=80, m=5, seeds=(0, 1, 2, 3)
        )
    )


def test_rate_and_tightness_plots_from_a_result(result, tmp_path):
    comps = result.compare()
    for kind, fig in (
        ("rate", figures.rate_plot(comps, bounds=result.step_bounds)),
        ("tightness", figures.tightness_plot(comps)),
    ):
        paths = figures.save(fig, tmp_path / kind)
        assert {p.suffix for p in paths} == {".png", ".pdf"}
        _png_ok(tmp_path / f"{kind}.png")
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        # each algorithm's bound that chose its step size is drawn and named
        assert set(result.step_bounds.values()) <= {
            "fedalt_sgd_local",
            "fedalt_sgd_partial",
            "fedsim_sgd_partial",
            "fedsim_sgd_local",
        }
        assert all(any(name in t for t in labels) for name in result.step_bounds.values())


def test_trajectory_view_shows_stair_steps_for_fedalt_and_diagonals_for_fedsim(tmp_path):
    from altsim.figures.trajectory_view import paths

    _, p = paths(rounds=5)
    alt, sim = p["fedalt"], p["fedsim"]
    assert len(alt) == 2 * 5 + 1 and len(sim) == 5 + 1
    # every FedAlt segment moves one coordinate only; FedSim's move both
    d_alt = (alt[1:] - alt[:-1]) != 0
    assert (d_alt.sum(1) <= 1).all() and (abs(sim[1:] - sim[:-1]) > 0).all()
    figures.save(figures.trajectory_view(rounds=5), tmp_path / "trajectory")
    _png_ok(tmp_path / "trajectory.png")
    gif = figures.trajectory_animation(tmp_path / "trajectory.gif", rounds=4)
    with Image.open(gif) as im:
        assert im.n_frames == 5


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweeps")
    regime = d / "regime.toml"
    regime.write_text(
        "[experiment]\nrounds = 40\neta = 0.1\nseeds = [0, 1, 2]\n[problem]\nn = 8\nd_u = 3\nd_v = 3\n"
        'sigma_u = 0.2\n[sweep]\nm = [1, 8]\n"problem.sigma_v" = [0.1, 2.0]\n[regime]\nenabled = true\n'
    )
    assert main(["run", str(regime), "--out", str(d / "rg"), "--quiet"]) == 0
    return d


def test_altsim_plot_redraws_every_kind_from_disk(sweeps, tmp_path):
    rg = sweeps / "rg"
    assert main(["plot", str(rg)]) == 0  # a regime sweep: sweep plot and regime map
    for kind in ("sweep", "regime"):
        _png_ok(rg / f"{kind}.png")
    one = next((rg / "points").iterdir())
    assert main(["plot", str(one)]) == 0
    for kind in ("rate", "tightness"):
        _png_ok(one / f"{kind}.png")
    assert main(["plot", str(tmp_path), "--kind", "trajectory"]) == 0
    assert (tmp_path / "trajectory.gif").exists()


def test_redrawn_rate_plot_matches_the_run(tmp_path):
    from altsim.results import load_comparisons

    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    import json

    _summary, comps = load_comparisons(tmp_path)
    saved = json.loads((tmp_path / "summary.json").read_text())["algorithms"]
    for alg, comp in comps.items():
        chk = next(c for c in comp.checks if c.name == saved[alg]["name"])
        assert chk.measured == pytest.approx(saved[alg]["measured"], rel=1e-12)
        assert chk.bound == pytest.approx(saved[alg]["bound"], rel=1e-12)


def test_plot_errors_are_one_line(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    assert "no summary.json" in capsys.readouterr().err


@pytest.mark.parametrize("script", sorted((ROOT / "demos").glob("*.py")), ids=lambda p: p.name)
def test_teaching_demos_run_top_to_bottom(script, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_demos_are_jupytext_percent_scripts():
    for script in (ROOT / "demos").glob("*.py"):
        text = script.read_text()
        assert "format_name: percent" in text and "# %% [markdown]" in text
    assert len(list((ROOT / "demos").glob("*.py"))) == 3
