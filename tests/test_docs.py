"""Docs a newcomer can follow: docstring examples run, every public object has a docstring, and each
bound constructor cites its section of docs/theory.md and shows an example.

pytest's own `--doctest-modules` would import theory/bound.py as `theory.bound`, not as
`altsim.theory.bound` (the folders are mapped onto the `altsim` namespace by pyproject), so the
doctests are collected here, one test per module, by their altsim names.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import pkgutil
import re
from pathlib import Path

import pytest

import altsim
from altsim.theory import (
    fedalt_local,
    fedalt_partial,
    fedalt_sgd,
    fedsim_local,
    fedsim_sgd,
    paper,
)

THEORY_MD = Path(__file__).resolve().parents[1] / "docs" / "theory.md"
DOCTEST_PACKAGES = ("altsim.theory", "altsim.rates", "altsim.synthetic")
"""Packages whose modules' docstring examples run in the default test run."""
DOCUMENTED_PACKAGES = (
    "altsim",
    "altsim.theory",
    "altsim.synthetic",
    "altsim.rates",
    "altsim.figures",
)
"""Packages whose every public function, class, method and property must have a docstring."""


def _modules(packages) -> list[str]:
    """Every module of `packages` by its altsim name (the packages themselves included), sorted."""
    names = set()
    for package in packages:
        pkg = importlib.import_module(package)
        names.add(package)
        names.update(m.name for m in pkgutil.walk_packages(pkg.__path__, package + "."))
    return sorted(names)


DOCTEST_MODULES = [*_modules(DOCTEST_PACKAGES), "altsim.testing.examples"]
"""Every module of those packages, and `example_pair`'s own module (the bound examples' helper)."""
ALL_MODULES = _modules(DOCUMENTED_PACKAGES)


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    failed = sum(
        runner.run(test, out=report.append).failed
        for test in doctest.DocTestFinder().find(module, name)
    )
    assert failed == 0, "".join(report)


def test_the_rate_example_is_collected():
    # theory/rate.py's module example was never run before this collector; it must be now
    module = importlib.import_module("altsim.theory.rate")
    tests = [t for t in doctest.DocTestFinder().find(module, module.__name__) if t.examples]
    assert "altsim.theory.rate" in DOCTEST_MODULES and tests


def _undocumented(name: str) -> list[str]:
    """The public objects of module `name` without a docstring: module-level functions and classes whose
    name does not start with _, and the public methods and properties (not dunders) of a public class."""
    path = importlib.util.find_spec(name).origin
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    out = []
    for node in tree.body:
        if not isinstance(node, kinds) or node.name.startswith("_"):
            continue
        if not ast.get_docstring(node):
            out.append(f"{node.name} (line {node.lineno})")
        if isinstance(node, ast.ClassDef):
            out += [
                f"{node.name}.{sub.name} (line {sub.lineno})"
                for sub in node.body
                if isinstance(sub, kinds[:2])
                and not sub.name.startswith("_")
                and not ast.get_docstring(sub)
            ]
    return out


@pytest.mark.parametrize("name", ALL_MODULES)
def test_public_objects_have_docstrings(name):
    missing = _undocumented(name)
    assert not missing, f"{name}: no docstring on {', '.join(missing)}"


def _sections() -> set[str]:
    """The numbers of docs/theory.md's sections, e.g. '5' and '7.10'."""
    heads = re.findall(
        r"^#{2,}\s+(\d+(?:\.\d+)*)\.?\s", THEORY_MD.read_text(encoding="utf-8"), re.M
    )
    return set(heads)


SECTIONS = _sections()
CITATION = re.compile(r"docs/theory\.md\s+section\s+(\d+(?:\.\d+)*)")
"""A citation of one section, "docs/theory.md section N" (possibly wrapped onto the next line)."""


def test_theory_md_has_its_sections():
    assert {"1", "5", "7", "7.1", "7.10", "7.11", "8"} <= SECTIONS


BOUND_CONSTRUCTORS = [
    *(
        f
        for mod in (fedsim_sgd, fedsim_local, fedalt_sgd, fedalt_partial, fedalt_local)
        for f in mod.BOUNDS
    ),
    paper.template,
    paper.paper_level,
]
"""The built-in bounds' constructors: each [D] module's BOUNDS, and the two functions behind
paper.BOUNDS (whose entries are lambdas binding their arguments)."""


def test_paper_bounds_are_built_by_its_two_constructors():
    built = {f().name for f in paper.BOUNDS}
    expected = {paper.template(a).name for a in ("fedalt", "fedsim")} | {
        paper.paper_level(a, h).name for a in ("fedalt", "fedsim") for h in paper.HYPOTHESES
    }
    assert built == expected


@pytest.mark.parametrize("constructor", BOUND_CONSTRUCTORS, ids=lambda f: f.__name__)
def test_bound_constructor_docstring(constructor):
    doc = constructor.__doc__ or ""
    cited = CITATION.findall(doc)
    assert cited, f"{constructor.__name__}: its docstring cites no 'docs/theory.md section N'"
    unknown = sorted(set(cited) - SECTIONS)
    assert not unknown, (
        f"{constructor.__name__}: docs/theory.md has no section {', '.join(unknown)}"
    )
    example = doc.partition("Example")[2]
    assert example, f"{constructor.__name__}: no Example section"
    assert doctest.DocTestParser().get_examples(example), (
        f"{constructor.__name__}: Example has no doctest"
    )


@pytest.mark.parametrize("name", ALL_MODULES)
def test_section_citations_exist(name):
    path = importlib.util.find_spec(name).origin
    cited = CITATION.findall(Path(path).read_text(encoding="utf-8"))
    unknown = sorted(set(cited) - SECTIONS)
    assert not unknown, (
        f"{name} cites docs/theory.md section {', '.join(unknown)}, which does not exist"
    )


def test_every_module_is_found():
    # the walk sees the subpackages mapped from their own folders, and the falsify package's modules
    assert {"altsim.theory.bound", "altsim.rates.experiment", "altsim.testing.examples"} <= set(
        ALL_MODULES
    )
    assert any(n.startswith("altsim.testing.falsify.") for n in ALL_MODULES)
    assert altsim.__name__ in ALL_MODULES


def test_the_readme_bound_table_links_every_built_in_bound_to_its_section():
    """README's "The bounds": every built-in bound has a row, and every row's links land on an
    anchor that docs/theory.md defines, in front of the section the link names."""
    import fnmatch

    from altsim.theory import BOUNDS

    readme = (THEORY_MD.parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme.split("## The bounds", 1)[1].split("\n\n", 2)[1]
    rows = [r for r in table.splitlines() if r.startswith("| `")]
    theory = THEORY_MD.read_text(encoding="utf-8")
    anchors = dict(re.findall(r'<a id="(sec-[\d-]+)"></a>\n#{2,}\s+(\d+(?:\.\d+)*)', theory))
    covered = set()
    for row in rows:
        names = re.findall(r"`([\w*]+)`", row.split("|")[1])
        covered |= {b for pattern in names for b in BOUNDS if fnmatch.fnmatch(b, pattern)}
        links = re.findall(r"\[([\d.]+)\]\(docs/theory\.md#(sec-[\d-]+)\)", row)
        assert links, f"no section link in {row[:60]}"
        for shown, anchor in links:
            assert anchors.get(anchor) == shown, (
                f"{anchor} is not section {shown} of docs/theory.md"
            )
    assert set(BOUNDS) <= covered, sorted(set(BOUNDS) - covered)
