"""altsim run: sweeps from TOML, atomic points, resume after SIGKILL, executors, malformed configs."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from altsim.cli import main
from altsim.sweep import load_spec, run_sweep

SWEEP = """
[experiment]
family = "coupled_quadratic"
algorithms = ["fedalt", "fedsim"]
rounds = {rounds}
seeds = [0, 1, 2]

[problem]
n = 8
d_u = 3
d_v = 3
sigma_u = 0.3
sigma_v = 0.3

[sweep]
m = [2, 4, 8]
"problem.delta" = [0.5, 1.5]
"""


def _write(tmp_path, rounds=40, name="sweep.toml"):
    f = tmp_path / name
    f.write_text(SWEEP.format(rounds=rounds))
    return f


def _summaries(out: Path) -> dict:
    """Every point's whole summary.json: config, constants, environment, every number (nothing may differ)."""
    return {
        p.name: json.loads((p / "summary.json").read_text()) for p in (out / "points").iterdir()
    }


def test_sweep_writes_every_point_and_a_tidy_csv(tmp_path):
    spec = load_spec(_write(tmp_path))
    summary = run_sweep(spec, tmp_path / "out", stream=open(os.devnull, "w"))
    assert summary["n_points"] == summary["n_done"] == 6
    lines = (tmp_path / "out" / "rounds.csv").read_text().splitlines()
    assert lines[0].startswith("point,algorithm,seed,round,grad_u_sq")
    assert len(lines) == 1 + 6 * 2 * 3 * 40  # points x algorithms x seeds x rounds


def test_rerun_skips_finished_points_and_gives_identical_numbers(tmp_path):
    spec = load_spec(_write(tmp_path, rounds=20))
    out = tmp_path / "out"
    run_sweep(spec, out, stream=open(os.devnull, "w"))
    first = _summaries(out)
    mtimes = {p.name: (p / "summary.json").stat().st_mtime_ns for p in (out / "points").iterdir()}
    run_sweep(spec, out, stream=open(os.devnull, "w"))
    assert {
        p.name: (p / "summary.json").stat().st_mtime_ns for p in (out / "points").iterdir()
    } == mtimes
    assert _summaries(out) == first


def test_sigkill_mid_sweep_then_resume_equals_uninterrupted(tmp_path):
    cfg = _write(tmp_path, rounds=200)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    run_sweep(load_spec(cfg), clean, stream=open(os.devnull, "w"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "altsim", "run", str(cfg), "--out", str(killed), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline:  # kill once some, not all, points are done
        done = (
            list((killed / "points").glob("*/summary.json")) if (killed / "points").exists() else []
        )
        if len(done) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = len(list((killed / "points").glob("*/summary.json")))
    assert 2 <= n_before < 6, n_before
    assert main(["run", str(cfg), "--out", str(killed), "--quiet"]) == 0
    assert _summaries(killed) == _summaries(clean)
    assert not list(killed.glob("**/.*.tmp"))
    a = (clean / "rounds.csv").read_text().splitlines()
    b = (killed / "rounds.csv").read_text().splitlines()
    assert a == b  # nothing duplicated or lost


@pytest.mark.heavy  # 25 s; the plugin tests run the processes executor by default
def test_processes_and_dask_executors_equal_local(tmp_path):
    pytest.importorskip("dask.distributed")
    from dask.distributed import Client, LocalCluster

    spec = load_spec(_write(tmp_path, rounds=15))
    run_sweep(spec, tmp_path / "local", stream=open(os.devnull, "w"))
    run_sweep(
        spec, tmp_path / "proc", executor="processes", workers=2, stream=open(os.devnull, "w")
    )
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        run_sweep(
            spec,
            tmp_path / "dask",
            executor="dask",
            dask_address=client.scheduler.address,
            stream=open(os.devnull, "w"),
        )
    ref = _summaries(tmp_path / "local")
    assert _summaries(tmp_path / "proc") == ref
    assert _summaries(tmp_path / "dask") == ref


def test_a_different_sweep_in_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    run_sweep(load_spec(_write(tmp_path, rounds=5)), out, stream=open(os.devnull, "w"))
    with pytest.raises(ValueError, match="holds the results of a different config"):
        run_sweep(
            load_spec(_write(tmp_path, rounds=6, name="other.toml")),
            out,
            stream=open(os.devnull, "w"),
        )


MALFORMED = [
    ("[experiment\nrounds = 3", "not valid TOML"),
    ("[experiment]\nrounds = 0", "rounds=0"),
    ("[experiment]\nrounds = 'ten'", "rounds='ten'"),
    ("[experiment]\nroundz = 3", "unknown key 'roundz' (did you mean 'rounds'?)"),
    ("[experiment]\nm = 50\n[problem]\nn = 10", "m=50: must be an integer in [1, 10]"),
    ("[experiment]\ntau = 0", "tau=0"),
    ("[problem]\nchi = -0.5", "chi=-0.5"),
    ("[problem]\nL_u = -1", "L_u=-1"),
    ("[problem]\nn = 0", "n=0"),
    ("[experiment]\nfamily = 'nope'", "family='nope'"),
    ("[sweep]\nm = 3", "sweep.m=3: must be a non-empty list"),
    ("[sweep]\nm = [0, 2]", "m=0"),
    ("[extra]\nx = 1", "config: unknown table 'extra'"),
    ("[experiment]\nalgorithms = ['fedx']", "algorithms[]='fedx': unknown algorithm"),
    ("[experiment]\ndevice = 'tpu'", "device='tpu'"),
    ("experiment = 3", "[experiment] must be a table"),
    ("[experiment]\nseeds = [-1]", "seeds[]=-1"),
]


@pytest.mark.parametrize("text, match", MALFORMED)
def test_malformed_configs_get_one_clean_line_and_exit_2(tmp_path, capsys, text, match):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    code = main(["run", str(f), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and match in err and "Traceback" not in err, err
    assert not (tmp_path / "o" / "points").exists()  # refused before any work


def _toml_literal(val) -> str:
    if isinstance(val, float) and val != val:
        return "nan"
    if isinstance(val, bool):
        return "true" if val else "false"
    if isinstance(val, dict):
        return "{}"
    return json.dumps(val)


def test_random_invalid_values_never_crash(tmp_path, capsys):
    """Fuzz: random junk in every field gives exit 2 with one line, or a valid run; never a traceback."""
    import random

    rng = random.Random(0)
    junk = [-1, 0, 1e308, float("nan"), "x", [], {}, True, 2**40, -0.0, 0.5, "cuda", [1, "a"]]
    fields = [
        ("experiment", k)
        for k in (
            "rounds",
            "m",
            "seeds",
            "eta",
            "tau",
            "tau_u",
            "measure_every",
            "algorithms",
            "problem_seed",
            "dtype",
            "device",
        )
    ] + [
        ("problem", k)
        for k in ("n", "d_u", "chi", "delta", "sigma_u", "L_v", "nonconvexity", "frequency")
    ]
    for trial in range(40):
        sec, key = rng.choice(fields)
        tables = {"experiment": {"rounds": "2", "seeds": "[0]"}, "problem": {"n": "4"}}
        tables[sec][key] = _toml_literal(rng.choice(junk))
        f = tmp_path / f"f{trial}.toml"
        f.write_text(
            "".join(
                f"[{t}]\n" + "".join(f"{k} = {v}\n" for k, v in kv.items())
                for t, kv in tables.items()
            )
        )
        code = main(["run", str(f), "--out", str(tmp_path / f"o{trial}"), "--quiet"])
        err = capsys.readouterr().err
        assert code in (0, 2), (sec, key, f.read_text(), err)
        assert "Traceback" not in err
        if code != 0:
            assert err.count("\n") == 1 and err.startswith("altsim: error:"), (key, err)


def test_requested_bound_outside_its_conditions_is_refused_before_work(tmp_path, capsys):
    f = tmp_path / "b.toml"
    f.write_text(
        '[experiment]\nrounds = 5\nm = 4\neta = 1.5\nbounds = ["fedsim_sgd_partial"]\n[problem]\nn = 8\n'
    )
    assert main(["run", str(f), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert (
        "fedsim_sgd_partial" in err
        and "step size range eta < 2/(1+chi sqrt(m/n))" in err
        and err.count("\n") == 1
    )
    assert not (tmp_path / "o").exists()


def test_step_size_outside_every_bound_warns_naming_the_condition(tmp_path, capsys):
    f = tmp_path / "w.toml"
    f.write_text(
        '[experiment]\nrounds = 5\nm = 4\neta = 1.5\nalgorithms = ["fedalt"]\n[problem]\nn = 8\n'
    )
    assert main(["run", str(f), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if line.startswith("altsim: warning:")]
    # at eta = 1.5, m/n = 1/2 and the default chi no Young weights descend for either FedAlt bound; each bound
    # the step size leaves is named with its failed condition
    assert warned and all("outside fedalt_sgd_" in w and "condition(s)" in w for w in warned)
    assert "descent: eta chi (1 - m/n) < sqrt(m/n) (2 - eta)" in err


def test_a_diverging_point_is_reported_with_its_round_and_kept(tmp_path, capsys):
    f = tmp_path / "d.toml"
    f.write_text(
        '[experiment]\nrounds = 30\neta = 40.0\nalgorithms = ["fedsim"]\n[problem]\nn = 6\n'
    )
    assert main(["run", str(f), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    s = json.loads((tmp_path / "o" / "summary.json").read_text())["algorithms"]["fedsim"]
    assert s["diverged_seeds"] and all(int(r) >= 0 for r in s["diverged_seeds"].values())
    rows = (tmp_path / "o" / "rounds.csv").read_text().splitlines()
    assert (
        len(rows) == 1 + 4 * 30
    )  # partial results kept: every seed's rows, NaN after its divergence


def test_shipped_example_configs_are_valid_and_the_demo_config_matches_the_demo():
    from altsim.demo import demo_config

    root = Path(__file__).resolve().parents[1] / "examples"
    specs = {f.stem: load_spec(f) for f in root.glob("*.toml")}
    assert {"demo", "participation_sweep", "heterogeneity_sweep", "regime_study"} <= set(specs)
    ((_, cfg, _),) = specs["demo"].points()
    assert cfg == demo_config(quick=False, seed=0, device="cpu")
    assert specs["regime_study"].regime
