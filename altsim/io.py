"""Atomic writes: a file appears whole or not at all (temporary file in the same folder, then rename).

`atomic_write` is the one mechanism; every file altsim writes (JSON, text, npz, figures, GIFs) goes
through it. Its temporary files carry their writer's pid and a token drawn at the writer's start
(`temp_file_owner`), so that a process cleaning up after a dead run removes that run's files only,
never those of a living process (`altsim.folders.remove_dead_temp_files`)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

UMASK = os.umask(0)
os.umask(UMASK)

_writer: tuple[int, str] | None = None


def _writer_mark() -> str:
    """`altsim-PID-TOKEN`: this process's mark on its temporary files (a new token after a fork)."""
    global _writer
    if _writer is None or _writer[0] != os.getpid():
        _writer = (os.getpid(), secrets.token_hex(8))
    return f"altsim-{_writer[0]}-{_writer[1]}"


_TEMP = re.compile(r"^\..+\.altsim-(\d+)-([0-9a-f]{16})\..*\.tmp(\.[a-z]+)?$")


@dataclasses.dataclass(frozen=True)
class TempOwner:
    """The process that made a temporary file."""

    pid: int
    token: str

    def alive(self) -> bool:
        """Whether the writer may still be writing: this very process, or a pid that exists."""
        if self.pid == os.getpid():
            return f"altsim-{self.pid}-{self.token}" == _writer_mark()
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # someone else's process: alive
            return True
        return True


def temp_file_owner(name: str) -> TempOwner | None:
    """Who made the temporary file called `name`, or None when `name` is not one of altsim's."""
    m = _TEMP.match(name)
    return TempOwner(int(m.group(1)), m.group(2)) if m else None


def makedirs(directory: str | Path) -> Path:
    """Create `directory` and its missing parents, one level at a time (Path.mkdir(parents=True)
    recurses once per level and overflows Python's stack on a path thousands of levels deep)."""
    d = Path(directory)
    missing = []
    while not d.is_dir():
        missing.append(d)
        if d.parent == d:
            break
        d = d.parent
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:
            if not folder.is_dir():
                raise
    return Path(directory)


def atomic_write(path: str | Path, write: Callable[[str], None], temp_suffix: str = ".tmp") -> Path:
    """Call write(temporary path), then rename the temporary file onto `path`; on any error remove it.

    `temp_suffix` ends the temporary name: writers that infer a format from the name (a GIF writer)
    pass their extension last, e.g. ".tmp.gif"."""
    path = Path(path)
    makedirs(path.parent)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{_writer_mark()}.", suffix=temp_suffix, dir=path.parent
    )
    os.close(fd)
    try:
        write(tmp)
        os.chmod(
            tmp, 0o666 & ~UMASK
        )  # mkstemp makes 0600; give the file the permissions open() would
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def strict(obj: Any) -> Any:
    """`obj` as strict JSON data: numpy scalars and arrays become plain numbers and lists, and every
    non-finite float becomes null. In a dict, KEY's null gets a sibling KEY_reason ("not a finite number
    (nan)", or inf, -inf) unless the dict already has one; in a list the null stands alone."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            value = strict(v)
            out[str(k)] = value
            if value is None and _nonfinite(v) and f"{k}_reason" not in obj:
                out[f"{k}_reason"] = f"not a finite number ({float(v)!r})"
        return out
    if isinstance(obj, (list, tuple, set)):
        return [strict(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return strict(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _nonfinite(v: Any) -> bool:
    return isinstance(v, (float, np.floating)) and not np.isfinite(v)


def dumps(obj: Any, **kw) -> str:
    """Strict JSON text (no NaN or Infinity, which strict parsers reject); see `strict`."""
    return json.dumps(strict(obj), allow_nan=False, **kw)


def write_json(path, obj) -> Path:
    """Write `obj` as indented strict JSON (`dumps`) to `path`, atomically; returns the path."""
    return write_text(path, dumps(obj, indent=2) + "\n")


def write_text(path, text: str) -> Path:
    """Write `text` to `path`, atomically; returns the path."""

    def w(tmp):
        with open(tmp, "w") as f:
            f.write(text)

    return atomic_write(path, w, ".txt.tmp")


def write_npz(path, **arrays) -> Path:
    """Write `arrays` as a compressed numpy .npz archive to `path`, atomically; returns the path."""

    def w(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

    return atomic_write(path, w, ".npz.tmp")


def save_figure(fig, path, **kw) -> Path:
    """Save the matplotlib figure `fig` to `path` in the format its suffix names (png without one),
    atomically; `kw` go to `fig.savefig`. Returns the path."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, **kw), "." + fmt + ".tmp")


MAX_JSON_DEPTH = 64
"""The deepest nesting altsim reads back from its own JSON (its files nest a few levels): deeper is
damage, refused before anything recurses over it."""


def require_plain_file(path: str | Path, what: str = "file") -> Path:
    """`path` if it is a regular file (a symlink to one counts), else a ValueError naming it: a FIFO,
    a device such as /dev/zero or a folder would hang or fail a reader."""
    path = Path(path)
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        raise ValueError(f"{what} {str(path)!r}: cannot read ({e.strerror or e})") from None
    if not stat.S_ISREG(mode):
        raise ValueError(f"{what} {str(path)!r}: not a plain file")
    return path


def json_depth(obj: Any) -> int:
    """How deeply `obj` nests lists and dicts (0 for a scalar), without recursion."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (list, dict)):
            deepest = max(deepest, depth)
            stack.extend(
                (v, depth + 1) for v in (node.values() if isinstance(node, dict) else node)
            )
    return deepest


def read_json(path: str | Path, what: str = "file"):
    """json.loads of a plain file nested at most MAX_JSON_DEPTH deep, or a ValueError naming the file
    and what is wrong with it."""
    path = require_plain_file(path, what)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"{what} {str(path)!r}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{what} {str(path)!r}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise ValueError(
            f"{what} {str(path)!r}: not valid JSON ({e.msg} at line {e.lineno})"
        ) from None
    except RecursionError:  # json recurses once per bracket
        raise ValueError(f"{what} {str(path)!r}: nested too deeply to be altsim's") from None
    if json_depth(obj) > MAX_JSON_DEPTH:
        raise ValueError(
            f"{what} {str(path)!r}: nested more than {MAX_JSON_DEPTH} deep, too deeply to be altsim's"
        )
    return obj


def sha256_file(path: str | Path) -> str:
    """The SHA-256 hex digest of the file at `path`, read in 1 MiB blocks."""
    import hashlib

    h = hashlib.sha256()
    require_plain_file(path)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
