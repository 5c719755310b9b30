"""Layering: altsim's modules form no import cycle, and each layer imports only the layers below it.

The layers, bottom up: `altsim.theory` (symbols, bounds) < `altsim.synthetic` (problems) <
`altsim.rates` (algorithms, runs, comparisons) < `altsim.figures` < the application modules
(`altsim.cli`, `altsim.sweep`, `altsim.io`, ...). The graph counts every import statement, those
inside functions included: an import moved into a function to dodge a cycle is still a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "altsim": ROOT / "altsim",
    "altsim.theory": ROOT / "theory",
    "altsim.synthetic": ROOT / "synthetic",
    "altsim.rates": ROOT / "rates",
    "altsim.figures": ROOT / "figures",
}
BASE = ("altsim", "altsim.io", "altsim.plugins")
"""Below every layer: the package root (its version), atomic file writing and the plugin loader,
which import no other altsim module, so that any layer may write a file or import a plugin."""
LAYERS = (*BASE, "altsim.theory", "altsim.synthetic", "altsim.rates", "altsim.figures")
"""Bottom up: a module of one layer may import only from its own layer and the ones before it."""


def _modules() -> dict[str, Path]:
    mods = {}
    for package, folder in PACKAGES.items():
        for f in sorted(folder.rglob("*.py")):
            parts = list(f.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join([package, *parts])] = f
    return mods


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The altsim modules `name` imports, anywhere in its body (a name imported from a package
    counts as the package, a submodule as the submodule)."""
    out = set()
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(here[: len(here) - node.level + 1] + [node.module or ""]).rstrip(".")
            target = base if node.level else node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    out.add(f"{target}.{alias.name}")
                elif target in MODULES:
                    out.add(target)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in MODULES}
    out.discard(name)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle() -> list[str] | None:
    """One import cycle of GRAPH, as the list of modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        path.append(v)
        for w in sorted(GRAPH[v]):
            if state.get(w) == 1:
                return [*path[path.index(w) :], w]
            if w not in state and (found := visit(w)):
                return found
        path.pop()
        state[v] = 2
        return None

    for v in sorted(GRAPH):
        if v not in state and (found := visit(v)):
            return found
    return None


def test_the_graph_sees_every_package():
    assert {"altsim.theory.registry", "altsim.rates.engine", "altsim.cli"} <= set(MODULES)
    assert "altsim.theory.bound" in GRAPH["altsim.theory.registry"]  # the reader resolves imports


def test_no_import_cycle_even_through_imports_inside_functions():
    assert _cycle() is None, " -> ".join(_cycle() or [])


def test_the_cycle_detector_finds_a_cycle_put_in_on_purpose():
    GRAPH["altsim.theory.symbols"].add("altsim.theory.bound")  # bound imports symbols
    try:
        found = _cycle()
    finally:
        GRAPH["altsim.theory.symbols"].discard("altsim.theory.bound")
    assert found is not None and {"altsim.theory.symbols", "altsim.theory.bound"} <= set(found)


def _layer(module: str) -> int:
    if module in BASE:
        return 0
    for i, layer in enumerate(LAYERS):
        if layer not in BASE and (module == layer or module.startswith(layer + ".")):
            return i
    return len(LAYERS)  # the application modules


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_only_its_own_layer_and_those_below(module):
    above = sorted(m for m in GRAPH[module] if _layer(m) > _layer(module))
    assert not above, f"{module} imports {above} from a layer above it"
    if module in BASE:
        assert not GRAPH[module] - set(BASE), f"{module} must import no other altsim module"


@pytest.mark.heavy  # one interpreter per module, about a minute; the cycle test above runs by default
def test_every_module_imports_on_its_own():
    """Each module imported first, with no altsim module loaded before it (numpy, torch and sympy
    stay loaded, so one interpreter serves them all): an import-order cycle would fail here."""
    code = (
        "import importlib, sys\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m == 'altsim' or m.startswith('altsim.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as e:\n"
        "        failed.append(f'{name}: {e}')\n"
        "print('\\n'.join(failed))\n"
    )
    optional = {"altsim.peers.flower"}  # imports flwr only when called; listed to say it is covered
    names = sorted(m for m in MODULES if not m.endswith("__main__"))  # that one runs the CLI
    assert optional <= set(names)
    halves = [names[0::2], names[1::2]]  # two interpreters at once: the machines have two cores
    runs = [
        subprocess.Popen([sys.executable, "-c", code, *half], stdout=subprocess.PIPE, text=True)
        for half in halves
    ]
    for run in runs:
        out, _ = run.communicate(timeout=600)
        assert run.returncode == 0
        assert out.strip() == "", out
