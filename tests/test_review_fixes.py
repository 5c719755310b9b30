"""Fixes of the #25 review: each test failed before its fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# -- 1. mypy checks the interfaces between theory/, rates/ and synthetic/ ---------------------------


def test_the_typecheck_folder_maps_altsim_onto_the_source_folders():
    # mypy cannot read setuptools' package-dir: typecheck/altsim/ is the mapping, as symlinks
    pkg = ROOT / "typecheck" / "altsim"
    for sub, folder in (("theory", "theory"), ("rates", "rates"), ("synthetic", "synthetic")):
        assert (pkg / sub).is_symlink() and (pkg / sub).resolve() == (ROOT / folder).resolve()
    for f in ("__init__.py", "io.py", "plugins.py"):  # the layers below theory that it may import
        assert (pkg / f).resolve() == (ROOT / "altsim" / f).resolve()


def test_mypy_resolves_altsim_imports_to_the_code_and_reports_a_wrong_type(tmp_path):
    pytest.importorskip("mypy")
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from altsim.rates import Trajectory\n"
        "from altsim.theory.checks import shown\n"
        "_bad: int = shown(3)\n"
        "_worse: str = Trajectory\n"
    )
    # the project's config (pyproject.toml), this one file
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", str(planted)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "MYPY_FORCE_COLOR": "0"},
    )
    # before: every altsim.* import was unresolved, hence Any, and both lines passed
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (
        'planted.py:3: error: Incompatible types in assignment (expression has type "str"'
        in proc.stdout
    )
    assert "planted.py:4: error: Incompatible types in assignment" in proc.stdout


# -- 2. run_all: a generator of args, workers and executor checked first ----------------------------


def test_run_all_reads_a_generator_of_args_once_and_reports_each_point():
    import operator

    from altsim.executors import run_all

    for executor in ("local", "processes"):
        done: list[tuple] = []
        args = ((i, 1) for i in range(3))
        run_all(executor, operator.add, args, workers=1, on_done=done.append)
        # before: the processes executor spent the generator submitting, then reported nothing
        assert done == [(0, 1), (1, 1), (2, 1)], executor
    with pytest.raises(ZeroDivisionError):  # and swallowed the workers' exceptions
        run_all("processes", operator.truediv, ((1, 0) for _ in range(2)), workers=1)


@pytest.mark.parametrize("workers", [0, -2, 1.5, "2", True, 2**70])
def test_run_all_refuses_bad_workers_before_any_call(workers):
    from altsim.executors import run_all

    calls: list[tuple] = []
    with pytest.raises(ValueError, match=r"^workers=.*must be an integer in \[1, inf\)"):
        run_all("local", lambda *a: calls.append(a), [(1,), (2,)], workers=workers)
    assert calls == []


@pytest.mark.parametrize("executor", ["thread", 3, None, "x" * 10_000])
def test_run_all_refuses_an_unknown_executor_in_one_short_line(executor):
    from altsim.executors import run_all

    with pytest.raises(ValueError, match=r"^executor=.*local, processes, dask") as e:
        run_all(executor, print, [(1,)])
    assert "\n" not in str(e.value) and len(str(e.value)) < 200


# -- 8. the measurement module is not shadowed by the function `measure` --------------------------


def test_the_measurement_module_imports_by_its_name_beside_the_function_measure():
    import importlib

    import altsim.rates
    import altsim.rates.measurement as M

    # rates/measure.py was shadowed by rates/__init__'s function measure: M.Trajectory failed
    assert M.Trajectory is altsim.rates.Trajectory and M.measure is altsim.rates.measure
    assert callable(altsim.rates.measure) and not hasattr(altsim.rates.measure, "Trajectory")
    assert importlib.import_module("altsim.rates.measurement") is M


# -- 5. names that moved are importable from where they were --------------------------------------


@pytest.mark.parametrize(
    "old, name, new",
    [
        ("altsim.theory.assumptions", "require", "altsim.theory.checks"),
        ("altsim.theory.assumptions", "require_bool", "altsim.theory.checks"),
        ("altsim.theory.assumptions", "shown", "altsim.theory.checks"),
        ("altsim.theory.assumptions", "MAX_MAGNITUDE", "altsim.theory.checks"),
        ("altsim.theory.assumptions", "MAX_INTEGER", "altsim.theory.checks"),
        ("altsim.rates.engine", "measure", "altsim.rates.measurement"),
        ("altsim.sweep", "exit_with_parent", "altsim.executors"),
        ("altsim.theory", "require_bool", "altsim.theory.checks"),
        ("altsim.theory", "shown", "altsim.theory.checks"),
    ],
)
def test_a_moved_name_imports_from_its_old_module(old, name, new):
    import importlib

    ns: dict = {}
    exec(f"from {old} import {name}", ns)  # the import statement an old script has
    assert ns[name] is getattr(importlib.import_module(new), name)


def test_the_theory_package_exports_the_value_checks():
    import altsim.theory

    assert {"require", "require_bool", "shown"} <= set(altsim.theory.__all__)
