"""Reliability: strict types, honest divergence, result folders altsim owns, verified resume, one writer
per folder, no orphaned workers, validated `bound` and `falsify`, and a fuzz suite over every command.

Each test names the defect it guards against; the fuzz property is: exit 0, or exit 2 with one line
naming a field and nothing written. Never exit 1, never a traceback."""

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from altsim.cli import main


def _strict_json(path: Path):
    def refuse(constant):
        raise ValueError(f"{path}: non-standard JSON constant {constant}")

    return json.loads(Path(path).read_text(), parse_constant=refuse)


class Digits:
    """An integer literal of `count` digits (too long for Python's int-to-string conversion)."""

    def __init__(self, count):
        self.count = count

    def __repr__(self):
        return f"Digits({self.count})"


def _lit(value) -> str:
    """A TOML literal for any Python value we throw at a config."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value == math.inf else "-inf" if value == -math.inf else repr(value))
        )
    if isinstance(value, Digits):
        return "9" * value.count
    if isinstance(value, (int, str)):
        return json.dumps(value) if isinstance(value, str) else str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_lit(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def _config(tmp_path, experiment=None, problem=None, name="c.toml", raw_lines=()) -> Path:
    exp = {"rounds": 3, "seeds": [0], "eta": 0.1, **(experiment or {})}
    prob = {"n": 4, **(problem or {})}
    text = (
        "[experiment]\n"
        + "".join(f"{k} = {_lit(v)}\n" for k, v in exp.items())
        + "".join(raw_lines)
    )
    text += "[problem]\n" + "".join(f"{k} = {_lit(v)}\n" for k, v in prob.items())
    f = tmp_path / name
    f.write_text(text)
    return f


def _run_cli(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _refused(argv, capsys, *needles, out: Path | None = None):
    code, _, err = _run_cli(argv, capsys)
    assert code == 2, (argv, err)
    assert err.count("\n") == 1 and err.startswith("altsim: error:"), err
    for needle in needles:
        assert needle in err, (needle, err)
    assert "Traceback" not in err
    if out is not None:
        assert not out.exists(), f"{out} was created before refusing"
    return err


# --- 1. strict types at the boundary ---------------------------------------------------------------
@pytest.mark.parametrize(
    "section, key, value, needle",
    [
        ("experiment", "rounds", 20.0, "rounds=20.0"),
        ("experiment", "rounds", "20", "rounds='20'"),
        ("experiment", "m", 2.0, "m=2.0"),
        ("experiment", "tau", 2.0, "tau=2.0"),
        ("experiment", "eta", "0.1", "eta='0.1'"),
        ("experiment", "rounds", True, "rounds=True"),
        ("problem", "n", Digits(400), "n=9999"),
        ("problem", "L_u", 1e308, "L_u=1e+308"),
        ("problem", "L_u", math.inf, "L_u=inf"),
        (
            "problem",
            "delta",
            Digits(5000),
            "5000 digits",
        ),  # TOML's parser itself refuses it (naming the file)
        ("experiment", "seeds", [0, 1, 0], "seeds: 0 repeated"),
    ],
)
def test_wrong_types_and_magnitudes_are_refused_before_any_folder_exists(
    tmp_path, capsys, section, key, value, needle
):
    f = _config(tmp_path, **{section: {key: value}})
    out = tmp_path / "out"
    _refused(["run", str(f), "--out", str(out), "--quiet"], capsys, needle, out=out)


def test_a_huge_value_is_not_echoed_whole(tmp_path, capsys):
    f = _config(tmp_path, {"family": "x" * 1_000_000})
    err = _refused(["run", str(f), "--out", str(tmp_path / "o")], capsys, "family=")
    assert len(err) < 500


@pytest.mark.parametrize(
    "section, key, value, needle",
    [
        ("experiment", "rounds", 10**12, "rounds=1000000000000"),
        ("problem", "n", 10**9, "n=1000000000"),
        ("problem", "d_u", 10**9, "d_u=1000000000"),
    ],
)
def test_runs_too_big_for_memory_are_refused_at_once_naming_the_parameter(
    tmp_path, capsys, section, key, value, needle
):
    f = _config(tmp_path, **{section: {key: value}})
    t0 = time.perf_counter()
    _refused(["run", str(f), "--out", str(tmp_path / "o")], capsys, needle, "GiB")
    assert time.perf_counter() - t0 < 10


def test_seed_past_64_bits_is_refused(tmp_path, capsys):
    _refused(
        ["demo", "--seed", str(2**70), "--out", str(tmp_path / "o")],
        capsys,
        "--seed=",
        out=tmp_path / "o",
    )


# --- 2. divergence reported honestly -----------------------------------------------------------------
DIVERGING = dict(
    family="shared_representation",
    algorithms=["fedalt", "fedsim"],
    rounds=30,
    seeds=[0, 1, 2, 3, 4, 5],
)
DIVERGING_PROBLEM = dict(n=6, samples=5, features=3, noise="minibatch", batch_size=2)


def test_some_seeds_diverged_the_rest_are_measured_and_the_verdict_says_diverged(tmp_path, capsys):
    f = _config(tmp_path, {**DIVERGING, "eta": 20.0}, DIVERGING_PROBLEM)
    code, out, _ = _run_cli(["run", str(f), "--out", str(tmp_path / "o"), "--quiet"], capsys)
    assert code == 0
    s = _strict_json(tmp_path / "o" / "summary.json")["algorithms"]["fedsim"]
    assert 0 < s["n_diverged"] < s["n_seeds"] == 6  # this instance: 3 of 6 FedSim seeds diverge
    assert math.isfinite(s["measured"]) and s["verdict"] == "diverged"
    survivors = [
        v
        for seed, v in enumerate(s["final_stationarity"]["per_seed"])
        if str(seed) not in s["diverged_seeds"]
    ]
    assert s["final_stationarity"]["mean"] == pytest.approx(
        sum(survivors) / len(survivors), rel=1e-12
    )
    assert f"({s['n_diverged']}/6 diverged)" in out


def test_every_seed_diverged_gives_strict_json_nulls_with_reasons_and_plots_still_draw(
    tmp_path, capsys
):
    f = _config(tmp_path, {**DIVERGING, "eta": 60.0}, DIVERGING_PROBLEM)
    assert _run_cli(["run", str(f), "--out", str(tmp_path / "o"), "--quiet"], capsys)[0] == 0
    s = _strict_json(tmp_path / "o" / "summary.json")["algorithms"]["fedalt"]
    assert (
        s["n_diverged"] == s["n_seeds"]
        and s["measured"] is None
        and "not a finite number" in s["measured_reason"]
    )
    assert s["verdict"] == "diverged"
    for point in (tmp_path / "o" / "points").iterdir():
        _strict_json(point / "summary.json")
    code, out, _ = _run_cli(["plot", str(tmp_path / "o")], capsys)
    assert code == 0 and "rate.png" in out


def test_a_covered_run_stopped_by_divergence_reports_survivors_and_no_holds_verdict():
    import numpy as np

    from altsim import theory
    from altsim.rates import FedSim, compare, simulate
    from altsim.synthetic import make_problem

    p = make_problem("coupled_quadratic", dict(n=6, chi=0.5, delta=1.0, sigma_u=0.0), seed=0)
    tr = simulate(p, FedSim(gamma_u=0.5, gamma_v=0.5), rounds=10, m=6, seeds=[0, 1, 2])
    tr.diverged_at[1] = 4  # seed 1 stopped at round 4: its later measurements are NaN
    tr.grad_u_sq[1, 4:] = np.nan
    bound = theory.get_bound("fedsim_gd_full")
    chk = compare(tr, [bound], {**tr.setting, **p.certified_constants().values()}).checks[0]
    assert chk.verdict == "diverged" and chk.n_diverged == 1 and math.isfinite(chk.measured)
    assert chk.measured == pytest.approx(tr.running_average()[[0, 2], -1].mean(), rel=1e-12)


# --- 3. result folders are altsim's own ---------------------------------------------------------------
def test_empty_out_is_refused(tmp_path, capsys):
    f = _config(tmp_path)
    _refused(["run", str(f), "--out", ""], capsys, "out=''")
    _refused(["demo", "--quick", "--out", ""], capsys, "out=''")


@pytest.mark.parametrize("command", ["run", "demo", "falsify"])
def test_a_users_folder_is_never_written_into(tmp_path, capsys, command):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.toml").write_text("my notes")
    (mine / "rounds.csv").write_text("my data")
    argv = {
        "run": ["run", str(_config(tmp_path)), "--out", str(mine)],
        "demo": ["demo", "--quick", "--out", str(mine)],
        "falsify": ["falsify", "--bound", "fedsim_gd_full", "--budget", "1", "--out", str(mine)],
    }[command]
    _refused(argv, capsys, "did not write")
    assert (mine / "config.toml").read_text() == "my notes" and (
        mine / "rounds.csv"
    ).read_text() == "my data"
    assert sorted(p.name for p in mine.iterdir()) == ["config.toml", "rounds.csv"]


def test_a_folder_of_another_command_is_refused(tmp_path, capsys):
    out = tmp_path / "o"
    assert _run_cli(["run", str(_config(tmp_path)), "--out", str(out), "--quiet"], capsys)[0] == 0
    _refused(["demo", "--quick", "--out", str(out)], capsys, "altsim run")


def test_plot_of_a_missing_folder_creates_nothing(tmp_path, capsys):
    _refused(["plot", str(tmp_path / "nope")], capsys, "nope", out=tmp_path / "nope")
    _refused(
        ["plot", str(tmp_path / "nope"), "--kind", "trajectory"],
        capsys,
        "no such folder",
        out=tmp_path / "nope",
    )


def test_falsify_refuses_bad_arguments_before_creating_its_folder(tmp_path, capsys):
    out = tmp_path / "f"
    for argv, needle in (
        (["--budget", "inf"], "--budget=inf"),
        (["--budget", "1e-9"], "--budget=1e-09"),
        (["--scale", "-1"], "--scale=-1"),
        (["--bound", "fedsim_paper_template"], "[D] bounds"),
        (["--min-drift-share", "1"], "--min-drift-share=1"),
        (["--max-rounds", "5"], "--max-rounds=5"),
        (["--max-rounds", "200000"], "--max-rounds=200000"),
        (["--target", "drift_lemma", "--bound", "fedsim_sgd_local"], "--target drift_lemma"),
    ):
        args = ["falsify", "--bound", "fedsim_gd_full", "--out", str(out), *argv]
        _refused(args, capsys, needle, out=out)


def test_plot_with_an_unknown_axis_names_it(tmp_path, capsys):
    spec = _config(tmp_path, raw_lines=["[sweep]\n", "m = [2, 4]\n"])
    assert _run_cli(["run", str(spec), "--out", str(tmp_path / "s"), "--quiet"], capsys)[0] == 0
    _refused(
        ["plot", str(tmp_path / "s"), "--x", "problem.nope"],
        capsys,
        "x='problem.nope'",
        "problem.n",
    )


# --- 4. every per-point file is verified on resume -----------------------------------------------------
def _sweep(tmp_path, capsys):
    spec = _config(tmp_path, {"seeds": [0, 1]}, raw_lines=["[sweep]\n", "m = [2, 3, 4]\n"])
    out = tmp_path / "s"
    assert _run_cli(["run", str(spec), "--out", str(out), "--quiet"], capsys)[0] == 0
    return spec, out, sorted((out / "points").iterdir())


@pytest.mark.parametrize(
    "damage", ["truncate_csv", "delete_csv", "empty_list_summary", "corrupt_summary"]
)
def test_a_damaged_point_is_recomputed_with_a_line_and_the_result_equals_a_clean_run(
    tmp_path, capsys, damage
):
    spec, out, points = _sweep(tmp_path, capsys)
    clean = (out / "rounds.csv").read_text()
    target = points[1]
    if damage == "truncate_csv":
        text = (target / "rounds.csv").read_text()
        (target / "rounds.csv").write_text(text[: len(text) // 2])
    elif damage == "delete_csv":
        (target / "rounds.csv").unlink()
    elif damage == "empty_list_summary":
        (target / "summary.json").write_text("[]")
    else:
        (target / "summary.json").write_text("{not json")
    code = main(["run", str(spec), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0 and f"points/{target.name}:" in err and "recomputing" in err
    assert (out / "rounds.csv").read_text() == clean
    # the damaged point is kept, moved aside, not deleted
    assert list((out / ".altsim-damaged").glob(f"*/points/{target.name}"))


def test_unreadable_files_are_named(tmp_path, capsys):
    _, out, _points = _sweep(tmp_path, capsys)
    (out / "summary.json").write_text("{oops")
    _refused(["plot", str(out)], capsys, "summary.json")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[experiment]\nfamily = "caf\xe9"\n')
    _refused(["run", str(bad), "--out", str(tmp_path / "o")], capsys, "latin1.toml")


# --- 5. one writer per folder ------------------------------------------------------------------------------
def test_two_runs_with_different_configs_on_one_folder_never_mix(tmp_path):
    a = _config(
        tmp_path,
        {"rounds": 400, "seeds": [0, 1, 2, 3]},
        {"n": 30},
        name="a.toml",
        raw_lines=["[sweep]\n", "m = [5, 10, 15, 20]\n"],
    )
    b = _config(
        tmp_path,
        {"rounds": 400, "seeds": [4, 5, 6, 7]},
        {"n": 30},
        name="b.toml",
        raw_lines=["[sweep]\n", "m = [6, 12, 18, 24]\n"],
    )
    out = tmp_path / "shared"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "altsim", "run", str(f), "--out", str(out), "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in (a, b)
    ]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    codes = sorted(r[2] for r in results)
    assert codes == [0, 2], results
    loser = next(r for r in results if r[2] == 2)
    assert "another altsim process" in loser[1] or "different config" in loser[1], loser
    winner_cfg = (a if results[0][2] == 0 else b).read_text()
    assert (out / "config.toml").read_text() == winner_cfg
    summary = _strict_json(out / "summary.json")
    seeds = {tuple(p["summary"]["config"]["seeds"]) for p in summary["points"]}
    assert len(seeds) == 1 and summary["n_done"] == 4  # every point from the one config that ran


# --- 6. no orphaned workers ---------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads the process table from /proc")
def test_killing_the_parent_leaves_no_worker_running(tmp_path):
    spec = _config(
        tmp_path,
        {"rounds": 4000, "seeds": [0, 1, 2, 3]},
        {"n": 40},
        raw_lines=["[sweep]\n", "m = [4, 8, 12, 16, 20, 24]\n"],
    )
    parent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "altsim",
            "run",
            str(spec),
            "--out",
            str(tmp_path / "o"),
            "--executor",
            "processes",
            "--workers",
            "2",
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline, workers = time.time() + 120, []
    while (
        time.time() < deadline and len(workers) < 2
    ):  # the pool's workers (the resource tracker aside)
        time.sleep(0.5)
        workers = [
            c
            for c in _children(parent.pid)
            if "spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes().decode(errors="replace")
        ]
    assert workers, "the executor started no workers"
    time.sleep(2)  # let them get into a point
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    time.sleep(5)
    assert not [w for w in workers if _alive(w)], "workers outlived their parent"


# --- 7. `altsim bound` validates like `run` does --------------------------------------------------------------
BASE_SET = [
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
]


@pytest.mark.parametrize(
    "override, needle",
    [
        ("L_v=0", "L_v=0"),
        ("T=0", "T=0"),
        ("m=0", "m=0"),
        ("n=10.5", "n=10.5"),
        ("L_u=-1", "L_u=-1"),
        ("L_u=inf", "L_u=inf"),
        ("m=20", "m=20"),
        ("sigma_u=nan", "sigma_u=nan"),
    ],
)
def test_bound_refuses_values_outside_their_domain(capsys, override, needle):
    key = override.split("=")[0]
    _refused(
        [
            "bound",
            "--alg",
            "fedsim",
            "--set",
            *[v for v in BASE_SET if not v.startswith(key + "=")],
            override,
        ],
        capsys,
        needle,
    )


def test_bound_prints_no_number_where_a_condition_fails_and_its_json_is_strict(capsys):
    code, out, _ = _run_cli(
        ["bound", "--name", "fedsim_sgd_full", "--set", *BASE_SET, "eta=1.9"], capsys
    )
    assert code == 0 and "value: none" in out and "step size range" in out
    code, out, _ = _run_cli(
        ["bound", "--name", "fedsim_sgd_full", "--json", "--set", *BASE_SET, "eta=1.9"], capsys
    )
    rep = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert rep["value"] is None and rep["failed_conditions"]


# --- 8. the fuzz suite ----------------------------------------------------------------------------------------
JUNK = st.one_of(
    st.integers(-3, 3),
    st.integers(2**62, 2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.booleans(),
    st.lists(st.integers(-2, 2), max_size=3),
    st.just({}),
    st.sampled_from(["cuda", "float16", "fedx", "1e400", ""]),
)
EXPERIMENT_KEYS = [
    "rounds",
    "m",
    "seeds",
    "eta",
    "tau",
    "tau_u",
    "tau_v",
    "measure_every",
    "algorithms",
    "problem_seed",
    "dtype",
    "device",
    "official",
    "stateless",
    "bounds",
    "family",
    "algorithm_options",
    "plugins",
    "nope",
]
PROBLEM_KEYS = [
    "n",
    "d_u",
    "d_v",
    "L_u",
    "L_v",
    "chi",
    "delta",
    "sigma_u",
    "sigma_v",
    "nonconvexity",
    "frequency",
    "init_scale",
    "nope",
]


def _fuzz_run(tmp_path_factory, section, key, value, capsys):
    tmp = tmp_path_factory.mktemp("fuzz")
    overrides = {"experiment": {}, "problem": {}}
    overrides[section][key] = value
    try:
        f = _config(tmp, overrides["experiment"], overrides["problem"])
    except TypeError:
        return
    out = tmp / "out"
    code, _, err = _run_cli(["run", str(f), "--out", str(out), "--quiet"], capsys)
    assert code in (0, 2), (section, key, value, err)
    assert "Traceback" not in err
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("altsim: error:"), err
        assert not out.exists(), f"{out} created before refusing"


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
@given(
    section_key=st.sampled_from(
        [("experiment", k) for k in EXPERIMENT_KEYS] + [("problem", k) for k in PROBLEM_KEYS]
    ),
    value=JUNK,
)
def test_fuzz_run_configs(tmp_path_factory, capsys, section_key, value):
    _fuzz_run(tmp_path_factory, *section_key, value, capsys)


@pytest.mark.heavy
@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    section_key=st.sampled_from(
        [("experiment", k) for k in EXPERIMENT_KEYS] + [("problem", k) for k in PROBLEM_KEYS]
    ),
    value=JUNK,
)
def test_fuzz_run_configs_long(tmp_path_factory, capsys, section_key, value):
    _fuzz_run(tmp_path_factory, *section_key, value, capsys)


SET_VALUES = st.one_of(
    st.sampled_from(["0", "-1", "1.5", "inf", "nan", "1e400", "abc", "", "10", "2", str(2**80)]),
    st.floats(allow_nan=True).map(repr),
    st.integers(-5, 20).map(str),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
@given(
    key=st.sampled_from(
        [
            "L_u",
            "L_v",
            "L_uv",
            "chi",
            "sigma_u",
            "sigma_v",
            "delta",
            "n",
            "m",
            "T",
            "Delta_F0",
            "eta",
            "tau",
            "stateless",
            "gamma_u",
            "bogus",
        ]
    ),
    value=SET_VALUES,
    command=st.sampled_from(["fedalt", "fedsim"]),
)
def test_fuzz_bound_values(capsys, key, value, command):
    values = [v for v in BASE_SET if not v.startswith(key + "=")] + [f"{key}={value}"]
    code, out, err = _run_cli(["bound", "--alg", command, "--json", "--set", *values], capsys)
    assert code in (0, 2) and "Traceback" not in err, (key, value, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("altsim: error:"), err
    else:
        json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
@given(
    flag=st.sampled_from(["--budget", "--scale", "--seed"]),
    value=st.sampled_from(["0", "-1", "inf", "nan", "1e-9", "abc", str(2**80), "0.5"]),
)
def test_fuzz_falsify_and_demo_flags(tmp_path_factory, capsys, flag, value):
    out = tmp_path_factory.mktemp("fz") / "out"
    argv = [
        "falsify",
        "--bound",
        "fedsim_gd_full",
        "--budget",
        "1",
        "--out",
        str(out),
        "--quiet",
        flag,
        value,
    ]
    if flag == "--seed":
        argv = ["demo", "--quick", "--out", str(out), "--seed", value]
    code, _, err = _run_cli(argv, capsys)
    # 3: falsify found a confirmed violation (--scale 0.5 halves the bound, and is broken in seconds)
    assert code in ((0, 2, 3) if flag == "--scale" else (0, 2)) and "Traceback" not in err, (
        flag,
        value,
        err,
    )
    if code == 3:
        assert json.loads((out / "falsify.json").read_text())["violation"]
    if code == 2:
        assert err.startswith("altsim: error:") or err.startswith("usage:"), err
        assert not out.exists(), f"{out} created before refusing"


# --- found by a hostile review of the CLI ------------------------------------------------------------------
def test_an_edited_point_summary_is_recomputed_not_trusted(tmp_path, capsys):
    spec, out, points = _sweep(tmp_path, capsys)
    clean = _strict_json(out / "summary.json")
    target = points[0] / "summary.json"
    edited = json.loads(target.read_text())
    first = next(iter(edited["algorithms"].values()))
    first["measured"] = 12345.0
    target.write_text(json.dumps(edited))
    code = main(["run", str(spec), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0 and "edited or damaged" in err and "recomputing" in err
    again = _strict_json(out / "summary.json")
    assert again.pop("cost")["wall_seconds"] > 0  # the recomputed point took its own time
    clean.pop("cost")
    assert again == clean


@pytest.mark.parametrize(
    "argv, needle",
    [
        (
            ["bound", "--name", "fedsim_sgd_full", "--set", "eta=1.5", "--set", "eta=0.1"],
            "given twice",
        ),
        (["bound", "--name", "fedsim_sgd_full", "--set", "eta=0.1", "--set", "n=-3"], "n=-3"),
        (["problem", "--set", "n=-5", "--set", "d_u=3"], "n=-5"),
        (
            ["bound", "--name", "fedsim_sgd_full", "--set", "eta=0.1", "gamma_u=0.5", "L_u=1"],
            "means eta=0.5",
        ),
    ],
)
def test_every_set_flag_counts_and_is_checked(capsys, argv, needle):
    _refused(argv, capsys, needle)


def test_refusals_found_by_review_name_their_field_and_create_nothing(tmp_path, capsys):
    out = tmp_path / "o"
    for experiment, needle in (
        (dict(plugins=[""]), "plugins"),
        (
            dict(algorithms=["fedalt"], algorithm_options={"fedalt": {"reuse_sample": "yes"}}),
            "reuse_sample='yes'",
        ),
        (
            dict(algorithms=["fedalt"], algorithm_options={"fedalt": {"reuse_sample": 1}}),
            "reuse_sample=1",
        ),
        (dict(rounds=20, measure_every=1000), "measure_every=1000"),
    ):
        _refused(
            ["run", str(_config(tmp_path, experiment)), "--out", str(out)], capsys, needle, out=out
        )
    _refused(
        ["run", str(_config(tmp_path, raw_lines=["[sweep]\n", "m = [2, 2]\n"])), "--out", str(out)],
        capsys,
        "repeated",
        out=out,
    )
    _refused(
        ["run", str(_config(tmp_path)), "--out", str(out), "--dask-address", "zzz"],
        capsys,
        "only with --executor dask",
        out=out,
    )
    _refused(["problem", "--set", "n=100000000", "d_u=100000"], capsys, "GiB")


def test_bench_refuses_a_folder_or_a_users_file_as_its_report_before_running(tmp_path, capsys):
    mine = tmp_path / "notes.json"
    mine.write_text("hi")
    _refused(["bench", "--quick", "--out", str(tmp_path)], capsys, "a folder")
    _refused(["bench", "--quick", "--out", str(mine)], capsys, "not an altsim bench report")
    assert mine.read_text() == "hi"


def test_a_failure_after_the_folder_is_claimed_exits_1_not_2(tmp_path, capsys, monkeypatch):
    import altsim.sweep

    def broken(*args, **kw):
        raise ValueError("something inside the run")

    monkeypatch.setattr(altsim.sweep, "run_point", broken)
    code, _, err = _run_cli(["run", str(_config(tmp_path)), "--out", str(tmp_path / "o")], capsys)
    assert code == 1 and err.startswith("altsim: run failed:") and "something inside the run" in err


def test_every_source_file_compiles_without_a_warning_or_a_control_character():
    # an invalid escape ("\s" in an f-string) warns only when the file is compiled afresh: the CLI then
    # printed the warning before its own one-line error, and Python 3.12+ makes it a SyntaxWarning
    import warnings
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = [
        f
        for d in ("altsim", "theory", "synthetic", "rates", "figures", "tests")
        for f in (root / d).rglob("*.py")
    ]
    assert len(files) > 30
    for f in files:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compile(f.read_text(), str(f), "exec")
        # "\frac" in a docstring that is not raw becomes a form feed and "rac": a control character is such a slip
        bad = sorted({hex(ord(ch)) for ch in f.read_text() if ord(ch) < 32 and ch != "\n"})
        assert not bad, f"{f}: control characters {bad} (an escape in a non-raw string?)"
