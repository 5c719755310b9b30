"""Result folders that cannot be fooled, damage that resume repairs, interrupts that keep what finished
(issue 27). Each test names the defect it guards against; each failed on the main of 0.2.0."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from altsim.cli import _sigterm_raises, main
from altsim.folders import DAMAGED, MANIFEST, OutputFolder, SharedFolder
from altsim.io import atomic_write, temp_file_owner

CONFIG = """[experiment]
rounds = {rounds}
seeds = [0, 1]
eta = 0.1
{extra}
[sweep]
m = {ms}

[problem]
n = 6
"""


def _config(tmp_path: Path, rounds: int = 3, ms: str = "[2, 3, 4]", extra: str = "") -> Path:
    f = tmp_path / "c.toml"
    f.write_text(CONFIG.format(rounds=rounds, ms=ms, extra=extra))
    return f


def _run(config: Path, out: Path, *flags: str) -> int:
    return main(["run", str(config), "--out", str(out), "--quiet", *flags])


def _refused(capsys, code: int, *needles: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("altsim: error:"), err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


@pytest.fixture(scope="module")
def _finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("finished")
    config, out = _config(tmp), tmp / "s"
    assert _run(config, out) == 0
    return config, out


@pytest.fixture
def sweep(_finished, tmp_path):
    """A finished three-point sweep (a fresh copy for each test) and its config."""
    config, out = _finished
    shutil.copy(config, tmp_path / config.name)
    shutil.copytree(out, tmp_path / "s")
    return tmp_path / config.name, tmp_path / "s"


def _data(out: Path) -> dict[str, bytes]:
    """What a result is: the top-level rounds.csv and every point's summary and rounds."""
    files = [out / "rounds.csv", *sorted((out / "points").glob("*/summary.json"))]
    files += sorted((out / "points").glob("*/rounds.csv"))
    return {str(f.relative_to(out)): f.read_bytes() for f in files}


# --- 1. a folder altsim did not make is never written into ----------------------------------------------
def test_altsims_file_names_without_its_manifest_do_not_make_a_folder_altsims(tmp_path, capsys):
    config, mine = _config(tmp_path), tmp_path / "mine"
    mine.mkdir()
    (mine / "summary.json").write_text('{"my": "results"}')
    (mine / "rounds.csv").write_text("my,data\n")
    _refused(capsys, _run(config, mine), "'rounds.csv'", "did not write")
    assert (mine / "summary.json").read_text() == '{"my": "results"}'
    assert sorted(p.name for p in mine.iterdir()) == ["rounds.csv", "summary.json"]


def test_a_deleted_manifest_and_a_users_file_are_refused(sweep, capsys):
    config, out = sweep
    (out / MANIFEST).unlink()
    (out / "notes.txt").write_text("mine")
    _refused(capsys, _run(config, out), "did not write")
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("where", ["top", "point"])
def test_a_users_file_inside_an_altsim_folder_is_named_and_refused(sweep, capsys, where):
    config, out = sweep
    point = sorted((out / "points").iterdir())[0]
    foreign = (out if where == "top" else point) / "notes.txt"
    foreign.write_text("mine")
    before = _data(out)
    name = "notes.txt" if where == "top" else f"points/{point.name}/notes.txt"
    _refused(capsys, _run(config, out), repr(name))
    assert foreign.read_text() == "mine" and _data(out) == before


def test_an_edited_top_level_file_is_kept_aside_and_rebuilt(sweep, capsys):
    config, out = sweep
    clean = (out / "summary.json").read_bytes()
    (out / "summary.json").write_text('{"edited": true}')
    assert _run(config, out) == 0
    assert "summary.json: does not match the checksum" in capsys.readouterr().err
    assert (out / "summary.json").read_bytes() == clean
    kept = list((out / DAMAGED).glob("*/summary.json"))
    assert len(kept) == 1 and kept[0].read_text() == '{"edited": true}'


# --- 2. --out inside another result ---------------------------------------------------------------------
@pytest.mark.parametrize("command", ["run", "demo", "plot"])
def test_out_inside_another_result_is_refused(sweep, capsys, command):
    config, out = sweep
    point = sorted((out / "points").iterdir())[0]
    before = _data(out)
    argv = {
        "run": ["run", str(config), "--out", str(point), "--quiet"],
        "demo": ["demo", "--quick", "--out", str(point / "demo")],
        "plot": ["plot", str(point), "--out", str(out / "points" / "figs")],
    }[command]
    _refused(capsys, main(argv), "inside the result folder")
    assert _data(out) == before


# --- 3. a copied point is not done ------------------------------------------------------------------------
def test_a_point_copied_over_another_is_recomputed(sweep, capsys):
    config, out = sweep
    clean = _data(out)
    a, b = sorted((out / "points").iterdir())[:2]
    for f in a.iterdir():
        (b / f.name).write_bytes(f.read_bytes())
    assert _run(config, out) == 0
    err = capsys.readouterr().err
    assert f"points/{b.name}:" in err and "copied" in err
    assert _data(out) == clean
    summary = json.loads((out / "summary.json").read_text())
    by_id = {p["point"]: p["summary"]["config"]["m"] for p in summary["points"]}
    assert by_id[a.name] != by_id[b.name]


# --- 5. damage is repaired, never crashed on ------------------------------------------------------------------
def _damage(out: Path, how: str) -> None:
    point = sorted((out / "points").iterdir())[1]
    if how == "point_is_a_file":
        for f in point.iterdir():
            f.unlink()
        point.rmdir()
        point.write_text("not a folder")
    elif how == "points_is_a_file":
        for f in (out / "points").glob("*/*"):
            f.unlink()
        for p in (out / "points").iterdir():
            p.rmdir()
        (out / "points").rmdir()
        (out / "points").write_text("not a folder")
    elif how == "deeply_nested_point_summary":
        (point / "summary.json").write_text("[" * 100_000 + "]" * 100_000)
    elif how == "deeply_nested_summary":
        (out / "summary.json").write_text("[" * 100_000 + "]" * 100_000)
    elif how == "rounds_csv_is_a_folder":
        (out / "rounds.csv").unlink()
        (out / "rounds.csv").mkdir()
        (out / "rounds.csv" / "x").write_text("x")
    elif how == "point_csv_is_a_folder":
        (point / "rounds.csv").unlink()
        (point / "rounds.csv").mkdir()


@pytest.mark.parametrize(
    "how",
    [
        "point_is_a_file",
        "points_is_a_file",
        "deeply_nested_point_summary",
        "deeply_nested_summary",
        "rounds_csv_is_a_folder",
        "point_csv_is_a_folder",
    ],
)
def test_every_kind_of_damage_is_moved_aside_and_recomputed(sweep, capsys, how):
    config, out = sweep
    clean = _data(out)
    _damage(out, how)
    assert _run(config, out) == 0, capsys.readouterr().err
    assert "moved aside" in capsys.readouterr().err
    assert _data(out) == clean
    assert any((out / DAMAGED).iterdir())  # kept, not deleted


def test_damage_is_repaired_before_any_work(sweep, capsys, monkeypatch):
    """The top-level rounds.csv as a folder used to fail only after every point had run."""
    config, out = sweep
    (out / "rounds.csv").unlink()
    (out / "rounds.csv").mkdir()
    import altsim.sweep

    order = []
    real_move = altsim.folders.Repairs.move_aside

    def move(self, relative, why):
        order.append(("repair", relative))
        return real_move(self, relative, why)

    real_point = altsim.sweep.run_point

    def point(*a, **k):
        order.append(("point", a[0]))
        return real_point(*a, **k)

    monkeypatch.setattr(altsim.folders.Repairs, "move_aside", move)
    monkeypatch.setattr(altsim.sweep, "run_point", point)
    shutil_victim = sorted((out / "points").iterdir())[0]
    (shutil_victim / "summary.json").unlink()  # so that one point is recomputed
    assert _run(config, out) == 0
    assert order[0] == ("repair", "rounds.csv") and ("point", shutil_victim.name) in order


# --- 6. temporary files: each process cleans only those of dead processes --------------------------------------
def _temp_name(target: str, pid: int) -> str:
    return f".{target}.altsim-{pid}-{'ab' * 8}.x1y2z3w4.txt.tmp"


def test_a_resume_keeps_a_living_processs_temporary_files_and_removes_dead_ones(sweep, capsys):
    config, out = sweep
    living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        point = sorted((out / "points").iterdir())[0]
        alive_tmp = point / _temp_name("summary.json", living.pid)
        dead_tmp = out / _temp_name("summary.json", dead.pid)
        alive_tmp.write_text("a living writer's")
        dead_tmp.write_text("a dead writer's")
        assert temp_file_owner(alive_tmp.name).alive()  # type: ignore[union-attr]
        assert not temp_file_owner(dead_tmp.name).alive()  # type: ignore[union-attr]
        assert _run(config, out) == 0
        assert alive_tmp.exists() and not dead_tmp.exists()
    finally:
        living.kill()
        living.wait()


def test_an_atomic_write_cut_by_sigterm_leaves_no_temporary_file(tmp_path):
    """A killed `plot` used to leave its temporary file behind: SIGTERM now unwinds like Ctrl-C."""

    def write(tmp):
        Path(tmp).write_text("half")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends

    with pytest.raises(KeyboardInterrupt), _sigterm_raises():
        atomic_write(tmp_path / "figure.png", write)
    assert list(tmp_path.iterdir()) == []


def test_plot_and_run_exclude_each_other_on_one_folder(sweep, capsys):
    config, out = sweep
    point = sorted((out / "points").iterdir())[0]
    with OutputFolder(out, "run"):  # a run holds it: plot into it is refused
        _refused(capsys, main(["plot", str(out), "--kind", "sweep"]), "writing there now")
    with SharedFolder(out):  # a plot holds it: a resume is refused, another plot is not
        _refused(capsys, _run(config, out), "another altsim process")
        assert main(["plot", str(out), "--kind", "sweep"]) == 0
    assert (out / "sweep.png").exists() and point.exists()
    assert _run(config, out) == 0  # the figures are altsim's: the folder stays resumable


def test_plot_refuses_to_write_into_a_folder_altsim_did_not_make(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    _refused(capsys, main(["plot", str(folder), "--kind", "trajectory"]), "notes.txt")
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_a_plot_into_a_point_leaves_the_sweep_resumable(sweep, capsys):
    config, out = sweep
    point = sorted((out / "points").iterdir())[0]
    assert main(["plot", str(point)]) == 0
    assert (point / "rate.png").exists()
    before = _data(out)
    assert _run(config, out) == 0 and _data(out) == before
    assert not (out / DAMAGED).exists()


# --- 9. sweeps --------------------------------------------------------------------------------------------
def test_a_swept_table_is_merged_into_the_configs_table(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(
        "[experiment]\nrounds = 2\nseeds = [0]\neta = 0.1\n"
        "[problem]\nn = 8\nsigma_u = 0.7\n"
        "[sweep]\nproblem = [{n = 10}, {n = 12}]\n"
    )
    assert _run(config, tmp_path / "o") == 0
    problems = [
        json.loads(f.read_text())["config"]["problem"]
        for f in (tmp_path / "o" / "points").glob("*/summary.json")
    ]
    assert sorted(p["n"] for p in problems) == [10, 12]
    assert all(p["sigma_u"] == 0.7 for p in problems)  # kept from [problem], not reset


@pytest.mark.parametrize(
    "sweep_line, needle",
    [
        ('"problem.delta" = [2, 2.0]', "repeated"),
        ("problem = [{n = 10}, {n = 10.0}]", "repeated"),
        ("m = [2, 3]\nbounds = [[], []]", "repeated"),
        ("problem = [{}, {n = 6}]", "same experiment"),
        ("problem = [10, 12]", "list of tables"),
    ],
)
def test_repeated_sweep_values_are_refused_after_normalisation(
    tmp_path, capsys, sweep_line, needle
):
    config = tmp_path / "c.toml"
    config.write_text(
        f"[experiment]\nrounds = 2\nseeds = [0]\neta = 0.1\n[problem]\nn = 6\n[sweep]\n{sweep_line}\n"
    )
    _refused(capsys, _run(config, tmp_path / "o"), needle)
    assert not (tmp_path / "o").exists()


def test_a_bound_listed_twice_is_refused(tmp_path, capsys):
    config = _config(tmp_path, extra='bounds = ["fedsim_gd_full", "fedsim_gd_full"]')
    _refused(capsys, _run(config, tmp_path / "o"), "'fedsim_gd_full' is listed twice")
    from altsim.rates import ExperimentConfig

    with pytest.raises(ValueError, match="listed twice"):
        ExperimentConfig(bounds=("fedsim_gd_full", "fedsim_gd_full"))


# --- 10. refusals that exited 1 ----------------------------------------------------------------------------
def test_paths_the_file_system_cannot_hold_are_refused(tmp_path, capsys):
    config = _config(tmp_path)
    _refused(capsys, _run(config, tmp_path / ("a" * 5000)), "255")
    deep = tmp_path.joinpath(*["a"] * 2000)
    code = _run(config, deep)  # created level by level where it fits, else refused; never a crash
    err = capsys.readouterr().err
    assert code in (0, 2), err
    if code == 2:
        assert "no room" in err and not (tmp_path / "a").exists()


def test_a_lock_that_is_a_folder_is_refused(sweep, capsys):
    config, out = sweep
    (out / ".altsim.lock").unlink()
    (out / ".altsim.lock").mkdir()
    _refused(capsys, _run(config, out), ".altsim.lock")


# --- 12. plot names the damaged file -------------------------------------------------------------------------
@pytest.mark.parametrize("edit", ["checksum", "structure"])
def test_plot_of_a_damaged_summary_names_the_file(sweep, capsys, edit):
    _, out = sweep
    summary = json.loads((out / "summary.json").read_text())
    summary["points"] = [{"point": "x", "summary": 5}]
    (out / "summary.json").write_text(json.dumps(summary))
    if edit == "structure":  # no checksum on record: the drawing itself fails, and says where
        manifest = json.loads((out / MANIFEST).read_text())
        del manifest["files"]["summary.json"]
        (out / MANIFEST).write_text(json.dumps(manifest))
    _refused(
        capsys,
        main(["plot", str(out), "--kind", "sweep", "--out", str(out.parent / "f")]),
        str(out / "summary.json"),
    )


# --- 7. interrupts ------------------------------------------------------------------------------------------------
def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(config: Path, out: Path, new_session: bool = False) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "altsim", "run", str(config), "--out", str(out), "--quiet"]
        + ["--executor", "processes", "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=new_session,
        # as from a terminal: SIGINT handled (a test run before may leave it ignored in this
        # process, and an ignored signal stays ignored in a child)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads worker processes from /proc")
@pytest.mark.parametrize(
    "sig, code",
    [(signal.SIGINT, 130), pytest.param(signal.SIGTERM, 143, marks=pytest.mark.heavy)],
)
def test_a_signal_to_the_parent_alone_stops_the_workers_and_keeps_the_finished_points(
    tmp_path, sig, code
):
    config, out = _config(tmp_path, rounds=600, ms="[1, 2, 3, 4, 5, 6]"), tmp_path / "o"
    proc = _start(config, out)
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob("points/*/summary.json")):
        time.sleep(0.05)
    workers = _children(proc.pid)
    proc.send_signal(sig)
    start = time.time()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert time.time() - start < 10
    assert err.strip().splitlines() == [f"altsim: {'interrupted' if code == 130 else 'terminated'}"]
    deadline = time.time() + 3  # stopped within 2 s of the signal
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers)
    summary = json.loads((out / "summary.json").read_text())
    done = sorted(p.parent.name for p in out.glob("points/*/summary.json"))
    assert 1 <= summary["n_done"] == len(done) < 6
    assert sorted(p["point"] for p in summary["points"]) == done


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs process groups")
def test_ctrl_c_while_the_workers_start_prints_one_line_and_no_traceback(tmp_path):
    config, out = _config(tmp_path, rounds=3000, ms="[2, 3, 4, 5]"), tmp_path / "o"
    proc = _start(config, out, new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (out / "sweep.json").exists():
        time.sleep(0.02)
    time.sleep(0.3)  # the workers are importing
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: to every process of the group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "resource_tracker" not in err
    assert err.strip().splitlines() == ["altsim: interrupted"]


class _ClosedPipe:
    """A standard output whose reader went away."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_is_not_a_failed_run(capsys):
    """`altsim bound --list --json | head -c 10` printed 'run failed: BrokenPipeError', exit 1."""
    assert main(["bound", "--list", "--json"], out=_ClosedPipe()) == 141
    assert capsys.readouterr().err == ""


def test_altsims_own_families_and_algorithms_cannot_be_replaced_by_a_plugin():
    """A plugin could silently replace coupled_quadratic, or fedalt with replace=True."""
    import dataclasses

    from altsim.rates import ALGORITHMS, FedAlt, register_algorithm
    from altsim.synthetic import FAMILIES, register

    before_family, before_alg = FAMILIES["coupled_quadratic"], ALGORITHMS["fedalt"]
    with pytest.raises(ValueError, match="altsim's own families"):
        register(dataclasses.replace(before_family))
    with pytest.raises(ValueError, match="altsim's own algorithms"):

        @register_algorithm(replace=True)
        @dataclasses.dataclass(frozen=True)
        class Impostor(FedAlt):
            name = "fedalt"

    assert FAMILIES["coupled_quadratic"] is before_family and ALGORITHMS["fedalt"] is before_alg
    register(before_family)  # registering the same object again changes nothing


# --- the second hostile review's scenarios ------------------------------------------------------------
def test_a_plain_point_copied_into_a_regime_sweep_is_recomputed(tmp_path, capsys):
    """Point ids hash the experiment only: a point of a sweep without [regime] passed as done in one
    with it (then `rebuild` failed with KeyError 'regime' after the work)."""
    lines = "[sweep]\nm = [2, 3]\n"
    plain, regime = tmp_path / "plain.toml", tmp_path / "regime.toml"
    base = (
        '[experiment]\nalgorithms = ["fedalt", "fedsim"]\nrounds = 3\nseeds = [0, 1]\neta = 0.1\n'
    )
    plain.write_text(base + "[problem]\nn = 6\n" + lines)
    regime.write_text(base + "[problem]\nn = 6\n" + lines + "[regime]\nenabled = true\n")
    assert _run(plain, tmp_path / "P") == 0 and _run(regime, tmp_path / "R") == 0
    clean = _data(tmp_path / "R")
    point = sorted((tmp_path / "R" / "points").iterdir())[0]
    shutil.rmtree(point)
    shutil.copytree(tmp_path / "P" / "points" / point.name, point)
    capsys.readouterr()
    assert _run(regime, tmp_path / "R") == 0
    assert "other [regime] settings" in capsys.readouterr().err
    assert _data(tmp_path / "R") == clean


def test_an_out_through_a_link_into_a_result_is_refused(sweep, capsys, tmp_path):
    config, out = sweep
    (tmp_path / "link").symlink_to(out / "points")
    before = sorted(p.name for p in (out / "points").iterdir())
    _refused(capsys, _run(config, tmp_path / "link" / "new"), "inside the result folder")
    assert sorted(p.name for p in (out / "points").iterdir()) == before


@pytest.mark.parametrize("how", ["link", "file"])
def test_a_damaged_folder_that_is_not_a_folder_is_refused(sweep, capsys, tmp_path, how):
    config, out = sweep
    victim = tmp_path / "victim"
    victim.mkdir()
    if how == "link":
        (out / DAMAGED).symlink_to(victim)
    else:
        (out / DAMAGED).write_text("mine")
    (out / "rounds.csv").write_text("edited")
    _refused(capsys, _run(config, out), DAMAGED)
    assert list(victim.iterdir()) == [] and (out / "rounds.csv").read_text() == "edited"


def test_a_users_file_named_like_an_old_temporary_file_is_never_deleted(sweep, capsys):
    config, out = sweep
    (out / ".notes.backup_1.tmp").write_text("mine")
    _refused(capsys, _run(config, out), ".notes.backup_1.tmp")
    assert (out / ".notes.backup_1.tmp").read_text() == "mine"


def test_a_folder_named_like_a_temporary_file_is_refused_not_unlinked(sweep, capsys):
    config, out = sweep
    odd = out / _temp_name("rounds.csv", 999_999_999)
    odd.mkdir()
    _refused(capsys, _run(config, out), odd.name)
    assert odd.is_dir()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifos_where_altsim_reads_are_refused_not_waited_on(sweep, capsys):
    config, out = sweep
    summary = out / "summary.json"
    summary.unlink()
    os.mkfifo(summary)
    _refused(
        capsys,
        main(["plot", str(out), "--kind", "sweep", "--out", str(out.parent / "f")]),
        "not a plain file",
    )
    (out / MANIFEST).unlink()
    os.mkfifo(out / MANIFEST)
    _refused(capsys, _run(config, out), "not a plain file")


def test_a_lock_that_is_a_dangling_link_creates_nothing_outside(sweep, capsys, tmp_path):
    config, out = sweep
    (out / ".altsim.lock").unlink()
    (out / ".altsim.lock").symlink_to(tmp_path / "created_outside")
    _refused(capsys, _run(config, out), ".altsim.lock")
    assert not (tmp_path / "created_outside").exists()


def test_plot_refuses_an_edited_rounds_csv_and_a_figure_name_taken_by_a_folder(sweep, capsys):
    _, out = sweep
    point = sorted((out / "points").iterdir())[0]
    (point / "rate.png").mkdir()
    _refused(capsys, main(["plot", str(point)]), "rate.png")
    (point / "rate.png").rmdir()
    text = (point / "rounds.csv").read_text()
    (point / "rounds.csv").write_text(text.replace(",0.", ",9."))
    _refused(capsys, main(["plot", str(point)]), "rounds.csv", "checksum")


def test_plot_into_a_folder_holding_a_users_file_is_refused(sweep, capsys):
    _, out = sweep
    (out / "notes.txt").write_text("mine")
    _refused(capsys, main(["plot", str(out), "--kind", "sweep"]), "notes.txt")
    assert not (out / "sweep.png").exists()


@pytest.mark.parametrize(
    "damage",
    ["nested_900", "no_files_listed"],
)
def test_point_summaries_that_parse_but_are_not_altsims_are_recomputed(sweep, capsys, damage):
    config, out = sweep
    clean = _data(out)
    point = sorted((out / "points").iterdir())[1]
    if damage == "nested_900":
        (point / "summary.json").write_text("[" * 900 + "]" * 900)
    else:
        from altsim.sweep import _summary_hash

        s = json.loads((point / "summary.json").read_text())
        s["files"] = {}
        s["summary_sha256"] = _summary_hash(s)
        (point / "summary.json").write_text(json.dumps(s))
        (point / "rounds.csv").unlink()
    assert _run(config, out) == 0, capsys.readouterr().err
    assert _data(out) == clean


@pytest.mark.parametrize(
    "sweep_line, needle",
    [
        ("problem = [{}, {d_v = 10}]", "same experiment"),
        ('problem = [{d_u = 4}]\n"problem.d_u" = [5]', "swept both"),
    ],
)
def test_sweeps_that_name_one_experiment_twice_are_refused(tmp_path, capsys, sweep_line, needle):
    from altsim.synthetic import FAMILIES

    assert FAMILIES["coupled_quadratic"].config().d_v == 10  # the default the first line spells out
    config = tmp_path / "c.toml"
    config.write_text(
        f"[experiment]\nrounds = 2\nseeds = [0]\neta = 0.1\n[problem]\nn = 6\n[sweep]\n{sweep_line}\n"
    )
    _refused(capsys, _run(config, tmp_path / "o"), needle)


def test_a_manifest_without_a_config_hash_matches_no_config(sweep, capsys):
    config, out = sweep
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["config_hash"] = None
    (out / MANIFEST).write_text(json.dumps(manifest))
    _refused(capsys, _run(config, out), "different config")


def test_bound_list_json_is_strict_json_of_every_bound(capsys):
    """Issue 27, item 12: `altsim bound --list --json` printed text."""
    from altsim.theory import BOUNDS

    assert main(["bound", "--list", "--json"]) == 0

    def refuse(constant):
        raise ValueError(constant)

    listed = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert [b["name"] for b in listed] == list(BOUNDS)
    assert all({"provenance", "algorithm"} <= set(b) for b in listed)
