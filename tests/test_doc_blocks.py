"""Every Python code block of README.md and docs/config.md runs (#24).

Each ```python block runs as written, in a fresh namespace, in a temporary working directory; a test
function the block defines (`def test_...():` with no arguments) is called too, so that the example's
own assertion is checked, not only defined. What a block registers (an algorithm, a family, a bound)
is removed again afterwards, so that no block changes what the rest of the suite sees.

A block that cannot run on its own is marked by an HTML comment on the line before its fence,
`<!-- not run: REASON -->`; it is reported as skipped with that reason (pytest -ra lists them).
"""

from __future__ import annotations

import inspect
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from altsim.rates import ALGORITHMS
from altsim.synthetic import FAMILIES
from altsim.theory import BOUNDS

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "docs/config.md")
"""The documents whose Python blocks must run."""
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.*?)\s*-->\s*\Z", re.S)


@dataclass(frozen=True)
class Block:
    """One ```python block: where it is, its code, and why it is not run (None: it runs)."""

    document: str
    line: int
    code: str
    not_run: str | None

    def __str__(self) -> str:
        return f"{self.document}:{self.line}"


def blocks(document: str, text: str | None = None) -> list[Block]:
    """The ```python blocks of `document` (a path relative to the repository, or `text` given), in order."""
    if text is None:
        text = (ROOT / document).read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip()
        marker = NOT_RUN.search(before[before.rfind("\n") + 1 :] if "\n" in before else before)
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(document, line, match.group(1), marker.group(1) if marker else None))
    return found


BLOCKS = [b for d in DOCUMENTS for b in blocks(d)]


@pytest.fixture
def isolated():
    """Restore the algorithm, family and bound registries after a block has registered its own; run the
    block on one thread (its tensors are tiny: on a busy machine, a second thread only waits)."""
    saved = [(r, dict(r)) for r in (ALGORITHMS, FAMILIES, BOUNDS)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    for registry, before in saved:
        registry.clear()
        registry.update(before)


def test_the_documents_have_python_blocks():
    for document in DOCUMENTS:
        assert blocks(document), f"{document}: no ```python block found (has the fence changed?)"
    assert any(b.document == "docs/config.md" for b in BLOCKS)


def test_a_marker_says_why_and_is_found():
    text = (
        "intro\n\n<!-- not run: needs a GPU -->\n```python\nx = 1\n```\n\n```python\ny = 2\n```\n"
    )
    found = blocks("probe.md", text)
    assert [(b.line, b.code, b.not_run) for b in found] == [
        (4, "x = 1\n", "needs a GPU"),
        (8, "y = 2\n", None),
    ]
    assert all(b.not_run for b in BLOCKS if b.not_run is not None)  # a marker always gives a reason


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_python_block_runs(block, tmp_path, monkeypatch, isolated):
    if block.not_run is not None:
        pytest.skip(f"{block} not run: {block.not_run}")
    monkeypatch.chdir(tmp_path)
    # a module of its own, as a script would be (dataclasses look their class's module up)
    module = types.ModuleType(
        f"doc_block_{block.document.replace('/', '_').replace('.', '_')}_{block.line}"
    )
    monkeypatch.setitem(sys.modules, module.__name__, module)
    code = compile(block.code, f"{ROOT / block.document}:{block.line}", "exec")
    exec(code, module.__dict__)  # the documentation's own example, as written
    for name, obj in list(vars(module).items()):
        if name.startswith("test_") and callable(obj):
            required = [
                p
                for p in inspect.signature(obj).parameters.values()
                if p.default is inspect.Parameter.empty
            ]
            assert not required, f"{block}: {name} takes arguments; a doc block's test takes none"
            obj()
