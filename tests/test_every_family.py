"""Every command on every family, and on every bound: the contract that no registered family or bound
is left out of a command (issue 27: `altsim problem` failed on two families that no test ran).

Through `altsim.cli.main`, in this process: `problem`, `run`, `plot` and `falsify --family` on every
built-in family and on the plugin family of examples/own_theory (`--plugins own_theory`), and `bound`
on every built-in bound and on the plugin's bounds. Each test is one (command, family) or (command,
bound), so a failure names both. The sizes are each family's own `example` (its small instance for
contract tests), run for 3 rounds on 2 seeds, and falsify gets a one-second budget.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import sys
from pathlib import Path

import pytest
import tomli_w

from altsim.cli import main
from altsim.plugins import import_plugins
from altsim.rates import ALGORITHMS
from altsim.synthetic import FAMILIES, make_problem
from altsim.theory import BOUNDS, best_value
from altsim.theory.registry import _BUILTIN  # the bounds altsim ships, whatever else is registered

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "own_theory"
PLUGIN = "own_theory"
PLUGIN_FAMILY = "separable_quadratic"
PLUGIN_BOUNDS = ("shared_first_gd", "shared_first_too_small")
PLUGIN_ALGORITHM = "fedalt_shared_first"

BUILT_IN_FAMILIES = sorted(
    name for name, fam in FAMILIES.items() if fam.config.__module__.startswith("altsim.synthetic")
)
FAMILY_CASES = [*BUILT_IN_FAMILIES, PLUGIN_FAMILY]
BOUND_CASES = [*sorted(_BUILTIN), *PLUGIN_BOUNDS]
ROUNDS, SEEDS = 3, [0, 1]
CONSTANTS = ("L_u", "L_v", "L_uv", "chi", "sigma_u", "sigma_v", "delta", "F_lower")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder holding a copy of the plugin, made the current folder (where `--plugins` looks first)
    for this module's tests; the registries, the import path and PYTHONPATH are restored afterwards,
    so that the plugin's family, algorithm and bounds leave no trace in other tests."""
    root = tmp_path_factory.mktemp("every_family")
    shutil.copy(EXAMPLE / f"{PLUGIN}.py", root / f"{PLUGIN}.py")
    saved = [(r, dict(r)) for r in (ALGORITHMS, FAMILIES, BOUNDS)]
    path, pythonpath, cwd = list(sys.path), os.environ.get("PYTHONPATH"), os.getcwd()
    os.chdir(root)
    try:
        yield root
    finally:
        os.chdir(cwd)
        for registry, before in saved:
            registry.clear()
            registry.update(before)
        sys.modules.pop(PLUGIN, None)
        sys.path[:] = path
        if pythonpath is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = pythonpath


def altsim(*argv: str) -> tuple[int, str]:
    """(exit code, what it printed) of `altsim ARGV` run in this process."""
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def plugins(family: str) -> list[str]:
    return ["--plugins", PLUGIN] if family == PLUGIN_FAMILY else []


def example(family: str) -> dict:
    """The family's small instance (its `example`); the plugin's once it is imported."""
    if family not in FAMILIES:
        import_plugins([PLUGIN], [Path.cwd()])  # the copy in `workspace`, the current folder
    return dict(FAMILIES[family].example)


def config_file(workspace: Path, family: str) -> Path:
    """A tiny experiment on `family` (its example instance, 3 rounds, 2 seeds, a fixed step size)."""
    path = workspace / f"{family}.toml"
    if not path.exists():
        experiment = {
            "family": family,
            "rounds": ROUNDS,
            "seeds": SEEDS,
            "eta": 0.1,
            "compile": "off",
            **({"plugins": [PLUGIN]} if family == PLUGIN_FAMILY else {}),
        }
        path.write_text(tomli_w.dumps({"experiment": experiment, "problem": example(family)}))
    return path


_RUNS: dict[str, tuple[int, str]] = {}


def run_folder(workspace: Path, family: str) -> Path:
    """The result folder of `altsim run` on the family's tiny experiment (run once, shared)."""
    out = workspace / f"run-{family}"
    if family not in _RUNS:
        _RUNS[family] = altsim(
            "run", str(config_file(workspace, family)), "--out", str(out), "--quiet"
        )
    code, printed = _RUNS[family]
    assert code == 0, f"altsim run on {family}: exit {code}\n{printed}"
    return out


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_problem(workspace, family):
    config = config_file(workspace, family)
    code, printed = altsim(
        "problem", "--family", family, "--config", str(config), "--json", *plugins(family)
    )
    assert code == 0, printed
    report = json.loads(printed)
    assert report["family"] == family and report["parameters"]["family"] == family
    for key, value in example(family).items():  # the instance described is the one asked for
        assert report["parameters"][key] == value, key
    for k in CONSTANTS:
        assert math.isfinite(report["measured"][k]["value"]), k
    for k in ("L_u", "L_v", "L_uv", "delta"):  # a certificate bounds what is measured
        certified = report["certified"][k]
        if certified is not None and math.isfinite(certified):
            assert report["measured"][k]["value"] <= certified * (1 + 1e-6) + 1e-9, k


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_run(workspace, family):
    out = run_folder(workspace, family)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["family"] == family
    assert set(summary["algorithms"]) == {"fedalt", "fedsim"}
    with open(out / "rounds.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * len(SEEDS) * ROUNDS  # every algorithm, seed and round measured
    assert {r["algorithm"] for r in rows} == {"fedalt", "fedsim"}


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_plot(workspace, family):
    out = run_folder(workspace, family)
    drawn = workspace / f"plot-{family}"
    code, printed = altsim("plot", str(out), "--out", str(drawn), *plugins(family))
    assert code == 0, printed
    assert (drawn / "rate.png").stat().st_size > 10_000
    assert (drawn / "rate.pdf").stat().st_size > 1_000


@pytest.mark.parametrize("family", FAMILY_CASES)
def test_falsify(workspace, family):
    """A one-second search on the family. Where its defaults certify L_u and L_v (the search holds runs
    against a bound), it measures runs; where nothing is certified, it refuses every instance and says
    so, with no run measured: both finish with exit 0 (nothing violated) and a report."""
    bound = PLUGIN_BOUNDS[0] if family == PLUGIN_FAMILY else "fedsim_sgd_full"
    out = workspace / f"falsify-{family}"
    argv = ["falsify", "--bound", bound, "--family", family, "--budget", "1", "--max-rounds", "10"]
    argv += ["--out", str(out)]
    code, printed = altsim(*argv, "--quiet", *plugins(family))
    assert code == 0, printed
    report = json.loads((out / "falsify.json").read_text())
    assert (report["bound"], report["family"]) == (bound, family)
    cert = make_problem(family, {}).certified_constants()
    if math.isfinite(cert.L_u) and math.isfinite(cert.L_v):
        assert report["evaluations"] >= 1 and report["worst_ratio"] > 0, report
        assert report["violation"] is False  # exit 0: nothing confirmed on fresh seeds
    else:
        assert report["evaluations"] == 0 and report["worst_ratio"] is None, report


def _bound_values(name: str) -> dict | None:
    """A setting in which the bound `name` applies (its conditions hold but for the step size), found
    with the library's own `best_value`; None for a bound with unknown constants (no value)."""
    bound = BOUNDS[name]
    if bound.unknowns:
        return None
    for m in (10, 5):
        for sigma in (0.0, 0.1):
            for tau in (1, 2):
                values = dict(
                    L_u=1.0, L_v=2.0, L_uv=0.5, chi=0.5, delta=1.0, Delta_F0=5.0, T=100, n=10, m=m,
                    sigma_u=sigma, sigma_v=sigma, tau=tau, tau_u=tau, tau_v=tau,
                )  # fmt: skip
                if "value" in best_value(bound, values):
                    return values
    raise AssertionError(f"no setting of the candidates meets the conditions of {name}")


@pytest.mark.parametrize("name", BOUND_CASES)
def test_bound(workspace, name):
    is_plugin = name in PLUGIN_BOUNDS
    if is_plugin:
        import_plugins([PLUGIN], [Path.cwd()])
    values = _bound_values(name)
    sets = [f"{k}={v}" for k, v in (values or {"T": 100}).items()]
    code, printed = altsim(
        "bound",
        "--name",
        name,
        "--set",
        *sets,
        "--json",
        *(["--plugins", PLUGIN] if is_plugin else []),
    )
    assert code == 0, printed
    report = json.loads(printed)
    bound = BOUNDS[name]
    assert (report["name"], report["algorithm"], report["provenance"]) == (
        name,
        bound.algorithm,
        bound.provenance,
    )
    if values is None:  # a template: no value before its constants are calibrated
        assert report["value"] is None and report["unknowns"] == list(bound.unknowns)
    else:  # the command's value is the library's, at the same best step size
        expected = best_value(bound, values)
        assert report["failed_conditions"] == [] and report["missing"] == []
        assert report["value"] == pytest.approx(expected["value"], rel=1e-9)
        assert report["eta_opt"] == pytest.approx(expected["eta"], rel=1e-9)


@pytest.mark.parametrize("algorithm", ["fedalt", "fedsim", PLUGIN_ALGORITHM])
def test_bound_by_algorithm(workspace, algorithm):
    """`altsim bound --alg` names the tightest applicable [D] bound of each algorithm some bound is on."""
    is_plugin = algorithm == PLUGIN_ALGORITHM
    sets = [
        "L_u=1",
        "L_v=2",
        "chi=0.5",
        "delta=1",
        "sigma_u=0",
        "sigma_v=0",
        "n=10",
        "m=10",
        "T=100",
        "Delta_F0=5",
    ]
    code, printed = altsim(
        "bound",
        "--alg",
        algorithm,
        "--set",
        *sets,
        "--json",
        *(["--plugins", PLUGIN] if is_plugin else []),
    )
    assert code == 0, printed
    report = json.loads(printed)
    assert BOUNDS[report["name"]].algorithm == algorithm and report["value"] > 0


# --- limits by cost: the measurement's estimate guards every family -------------------------------
@pytest.mark.parametrize("family", BUILT_IN_FAMILIES)
def test_the_measurement_cost_limit_guards_the_family(family, monkeypatch):
    """A measurement the estimate puts past the limit is refused before any work, naming n, its value
    and the largest n the limit allows; one just under the limit starts. The limit is moved to the
    example's own estimate, so every family, measured or closed-form, is tried at its small size."""
    from altsim.synthetic import measured

    problem = make_problem(family, example(family))
    work = measured.measurement_cost(problem)["work"]
    started = []
    monkeypatch.setattr(measured, "_measure", lambda *a: started.append(a) or {})
    monkeypatch.setattr(measured, "_CACHE", {})
    monkeypatch.setattr(measured, "MEASUREMENT_WORK_LIMIT", 0.5 * work)
    with pytest.raises(ValueError) as refused:
        measured.measured_constants(problem)
    message = str(refused.value)
    assert not started and "\n" not in message
    assert message.startswith(f"n={problem.n}:") and f"limit of {0.5 * work:.2g}" in message
    assert f"use n <= {problem.n // 2}" in message or "no n is small enough" in message
    monkeypatch.setattr(measured, "MEASUREMENT_WORK_LIMIT", 1.01 * work)
    measured.measured_constants(problem)
    assert len(started) == 1


def test_digits_at_2000_clients_is_refused_before_its_measurement(capsys):
    """Issue 27: `altsim problem --family digits --set n=2000` ran past 200 s in its measurement."""
    code = main(["problem", "--family", "digits", "--set", "n=2000"], out=io.StringIO())
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    from altsim.synthetic.measured import MEASUREMENT_WORK_LIMIT

    assert "n=2000:" in err and "use n <= " in err
    assert f"limit of {MEASUREMENT_WORK_LIMIT:.2g}" in err


def test_the_shipped_examples_are_inside_the_cost_limit():
    """Every example config's problem can be measured: the limit refuses none of them."""
    import tomllib

    from altsim.synthetic import measured

    for path in sorted((EXAMPLE.parent).glob("*.toml")):
        table = tomllib.loads(path.read_text())
        family = table.get("experiment", {}).get("family", "coupled_quadratic")
        if family not in BUILT_IN_FAMILIES:
            continue
        problem = make_problem(family, table.get("problem", {}))
        cost = measured.measurement_cost(problem)["work"]
        assert cost <= measured.MEASUREMENT_WORK_LIMIT, (path.name, cost)
