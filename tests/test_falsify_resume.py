"""`altsim falsify` keeps what it found: its report is written after every run, so a kill keeps every
run it finished; `--resume` continues the search from the report (the same points an uninterrupted
search draws); SIGINT and SIGTERM stop it with the partial report written, one line and exit 130 / 143
(issue 27)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from altsim.cli import main
from altsim.io import dumps
from altsim.testing.falsify import falsify
from altsim.testing.falsify.state import OPTIONS

BOUND = "fedsim_gd_full"  # deterministic and cheap: tens of runs a second
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def _strict(path: Path):
    """The report at `path`, parsed as strict JSON (NaN and Infinity refused)."""

    def refuse(constant):
        raise ValueError(f"{path}: non-standard JSON constant {constant}")

    return json.loads(path.read_text(), parse_constant=refuse)


def _argv(out: Path, budget: float, *extra: str) -> list[str]:
    return [
        "falsify",
        "--bound",
        BOUND,
        "--budget",
        str(budget),
        "--out",
        str(out),
        "--quiet",
        *extra,
    ]


def _start(out: Path, budget: float, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "altsim", *_argv(out, budget, *extra)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )


def _wait_for(out: Path, proc: subprocess.Popen, sessions: int, runs: int = 0, limit=60.0):
    """Wait until the report says the `sessions`-th session has started and recorded `runs` runs
    (or the process has ended); the report then, or None."""
    deadline = time.time() + limit
    while time.time() < deadline and proc.poll() is None:
        path = out / "falsify.json"
        if path.exists():
            rep = _strict(path)
            if rep["sessions"] >= sessions and rep["evaluations"] >= runs:
                return rep
        time.sleep(0.02)
    return None


def _check_record(out: Path, before: dict | None) -> dict | None:
    """The report in `out`, checked against the one `before` it: strict JSON, no run lost, the worst
    instance never better than before, and worst.toml written for the worst instance it names."""
    path = out / "falsify.json"
    if not path.exists():
        assert before is None, "a recorded report disappeared"
        return None
    rep = _strict(path)
    assert set(rep["search_state"]["options"]) == set(OPTIONS)
    if before is not None:
        assert rep["evaluations"] >= before["evaluations"]
        assert rep["refused"] >= before["refused"]
        assert rep["sessions"] >= before["sessions"]
        if before["worst_ratio"] is not None:
            assert rep["worst_ratio"] >= before["worst_ratio"]
    if rep["worst_config"] is not None:
        worst = tomllib.loads((out / "worst.toml").read_text())
        assert worst["experiment"]["family"] == rep["worst_config"]["family"]
    return rep


def test_a_resumed_search_draws_and_measures_what_the_uninterrupted_one_does():
    """The state written after run k continues exactly as the uninterrupted search went on after run
    k: the same next point (the generator's state), the same measurement and the same worst instance,
    in the random phase and in the climb."""
    for budget in (2.5, 5.0, 10.0):  # longer where a loaded machine measured too few runs
        updates: list[dict] = []
        rep = falsify(
            BOUND,
            budget,
            seed=3,
            random_fraction=0.5,
            on_update=lambda r, updates=updates: updates.append(json.loads(dumps(r))),
        )
        phases = [u["search_state"]["phase"] for u in updates]
        random_runs = [k for k in range(1, len(updates) - 1) if phases[k + 1] == "random"]
        climb_runs = [k for k in range(1, len(updates) - 1) if phases[k] == "climb"]
        if random_runs and climb_runs:
            break
    assert random_runs and climb_runs, phases
    assert rep["complete"] and rep["partial_reason"] is None
    # one update when the search starts, then one per run
    assert [u["evaluations"] for u in updates] == list(range(len(updates)))
    assert all(not u["complete"] and u["partial_reason"] == "in_progress" for u in updates)

    def key(u):
        s = u["search_state"]
        return (
            s["rng"],
            s["phase"],
            s["step"],
            s["best"],
            s["best_z"],
            s["refused"],
            s["evaluations"],
        )

    class Enough(Exception):
        """Stops a resumed search after its first run: all this test compares."""

    def first_run(more: list[dict], r: dict) -> None:
        more.append(json.loads(dumps(r)))
        if len(more) == 2:
            raise Enough

    for k in (random_runs[len(random_runs) // 2], climb_runs[len(climb_runs) // 2]):
        more: list[dict] = []
        with pytest.raises(Enough):
            falsify(
                BOUND,
                2,
                seed=3,
                random_fraction=0.5,
                resume=updates[k],
                on_update=lambda r, more=more: first_run(more, r),
            )
        assert more[0]["sessions"] == 2 and more[0]["evaluations"] == k
        assert key(more[1]) == key(updates[k + 1]), k
    with pytest.raises(ValueError, match=r"scale=0\.5 differs"):
        falsify(BOUND, 1, seed=3, random_fraction=0.5, scale=0.5, resume=updates[1])


def _stopped_line(stderr: str, signum: int, rep: dict) -> None:
    """What a search stopped by `signum` prints: one line, no traceback, naming the runs recorded."""
    reason = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}[signum]
    lines = stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith(f"altsim: {reason} ({signal.Signals(signum).name}): partial report")
    assert f"of {rep['evaluations']} runs" in lines[0] and "--resume" in lines[0]
    assert not rep["complete"] and rep["partial_reason"] == reason
    # the rerun on fresh seeds is owed until the search ends (none needed for an exact run)
    assert rep["worst_ratio_fresh_seeds"] is None or rep["worst_is_exact"]


def test_falsify_killed_at_random_moments_resumes_and_never_loses_a_run(tmp_path, capsys):
    """SIGKILL at seeded random moments (in the start-up or during the search), then SIGTERM, resuming
    each time: the report is always strict JSON, the runs it records never decrease, and a last
    resume completes the search with every session counted."""
    out = tmp_path / "fz"
    rng = random.Random(27)
    before = None
    for i, signum in enumerate((signal.SIGKILL, signal.SIGKILL, signal.SIGTERM)):
        proc = _start(out, 5, *(["--resume"] if i else []))
        if i == 0:  # anywhere: in the start-up (imports, claiming the folder) or the search
            time.sleep(rng.uniform(0.2, 6.0))
        else:  # during the search: after the session's first run
            runs = (before or {"evaluations": 0})["evaluations"] + 1
            sessions = (before or {"sessions": 0})["sessions"] + 1
            assert _wait_for(out, proc, sessions, runs) is not None, proc.communicate()
            time.sleep(rng.uniform(0.0, 1.0))
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=60)
        rep = _check_record(out, before)
        if (
            rep is not None and proc.returncode == -signal.SIGKILL
        ):  # complete: killed on its way out
            assert rep["complete"] or rep["partial_reason"] == "in_progress"
        if signum == signal.SIGTERM:
            assert proc.returncode == 143 and rep is not None, stderr
            _stopped_line(stderr, signum, rep)
        before = rep or before
    assert before is not None and before["evaluations"] > 0, "no stop left a run recorded"
    capsys.readouterr()
    assert main(_argv(out, 1, "--resume")) == 0
    final = _check_record(out, before)
    assert final is not None and final["complete"] and final["partial_reason"] is None
    assert final["sessions"] == before["sessions"] + 1  # a process killed before its report: none
    assert f"after {final['evaluations']} runs" in capsys.readouterr().out
    worst = tomllib.loads((out / "worst.toml").read_text())
    assert worst["problem"] == final["worst_config"]["problem"]


def test_sigint_stops_falsify_with_its_partial_report_and_one_line(tmp_path):
    out = tmp_path / "fz"
    proc = _start(out, 60)
    seen = _wait_for(out, proc, 1, runs=2)
    assert seen is not None, proc.communicate()
    sent = time.time()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert time.time() - sent < 5, "did not stop promptly"
    assert proc.returncode == 130, stderr
    assert stdout == ""
    rep = _check_record(out, seen)
    assert rep is not None
    _stopped_line(stderr, signal.SIGINT, rep)


def test_a_recorded_search_is_refused_without_resume_and_with_other_options(tmp_path, capsys):
    out = tmp_path / "fz"
    assert main(_argv(out, 1)) == 0
    rep = _strict(out / "falsify.json")
    assert rep["complete"] and rep["sessions"] == 1 and rep["evaluations"] >= 1
    files = {p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")}
    capsys.readouterr()

    def refused(argv, *needles):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and all(n in err for n in needles), err
        assert {
            p.name: p.read_bytes() for p in out.iterdir() if not p.name.startswith(".")
        } == files

    refused(
        _argv(out, 1), "holds a falsify search", f"({rep['evaluations']} runs recorded)", "--resume"
    )
    refused(_argv(out, 1, "--resume", "--scale", "0.5"), "--scale 0.5 differs", "(--scale 1)")
    refused(_argv(out, 1, "--resume", "--seed", "4"), "--seed 4 differs", "(--seed 0)")
    refused(
        _argv(out, 1, "--resume", "--max-rounds", "90"),
        "--max-rounds 90 differs",
        "(no --max-rounds)",
    )
    refused(
        ["falsify", "--bound", "fedsim_sgd_full", "--budget", "1", "--out", str(out), "--resume"],
        "--bound fedsim_sgd_full differs",
    )
    # a report that cannot be resumed: damaged, or written before reports kept their state
    (out / "falsify.json").write_text(
        json.dumps({k: v for k, v in rep.items() if k != "search_state"})
    )
    files["falsify.json"] = (out / "falsify.json").read_bytes()
    refused(_argv(out, 1, "--resume"), "records no search state")
    (out / "falsify.json").write_text('{"search_state": ')
    files["falsify.json"] = (out / "falsify.json").read_bytes()
    refused(_argv(out, 1, "--resume"), "not valid JSON")
    # --resume where nothing is recorded starts a search
    fresh = tmp_path / "new"
    assert main(_argv(fresh, 1, "--resume")) == 0
    assert _strict(fresh / "falsify.json")["sessions"] == 1


def test_resuming_a_complete_search_continues_it(tmp_path, capsys):
    out = tmp_path / "fz"
    assert main(_argv(out, 1)) == 0
    first = _strict(out / "falsify.json")
    assert main(_argv(out, 1, "--resume")) == 0
    second = _strict(out / "falsify.json")
    assert second["complete"] and second["sessions"] == 2
    assert second["evaluations"] > first["evaluations"]
    assert second["budget_seconds"] == 2 and second["elapsed_seconds"] > first["elapsed_seconds"]
    assert second["worst_ratio"] >= first["worst_ratio"]
    assert "(2 sessions)" in capsys.readouterr().out


@pytest.mark.heavy
def test_falsify_killed_many_times_over_all_families_never_loses_a_run(tmp_path):
    """The kill-anywhere test at length: twelve kills of a search over every family."""
    out = tmp_path / "fz"
    rng = random.Random(2027)
    before = None
    for kill in range(12):
        proc = _start(out, 4, "--family", "all", *(["--resume"] if kill else []))
        time.sleep(rng.uniform(0.5, 6.0))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        before = _check_record(out, before) or before
    proc = _start(out, 2, "--family", "all", "--resume")
    proc.communicate(timeout=300)
    assert proc.returncode in (0, 3)
    final = _check_record(out, before)
    assert final is not None and final["complete"]
