"""Atomic writes: a file appears whole or not at all (temporary file in the same folder, then rename).

`atomic_write` is the one mechanism; every file altsim writes (JSON, text, npz, figures, GIFs) goes
through it."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np


_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: str | Path, write: Callable[[str], None], temp_suffix: str = ".tmp") -> Path:
    """Call write(temporary path), then rename the temporary file onto `path`; on any error remove it.

    `temp_suffix` ends the temporary name: writers that infer a format from the name (a GIF writer)
    pass their extension last, e.g. ".tmp.gif"."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=temp_suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the permissions open() would
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
    non-finite float becomes null. In a dict, KEY's null gets a sibling KEY_reason ("nan", "inf",
    "-inf") unless the dict already explains it; in a list the null stands alone."""
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
    text = dumps(obj, indent=2) + "\n"

    def w(tmp):
        with open(tmp, "w") as f:
            f.write(text)

    return atomic_write(path, w, ".json.tmp")


def write_text(path, text: str) -> Path:
    def w(tmp):
        with open(tmp, "w") as f:
            f.write(text)

    return atomic_write(path, w, ".txt.tmp")


def write_npz(path, **arrays) -> Path:
    def w(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

    return atomic_write(path, w, ".npz.tmp")


def save_figure(fig, path, **kw) -> Path:
    fmt = Path(path).suffix.lstrip(".") or "png"
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt, **kw), "." + fmt + ".tmp")


def check_writable(directory: str | Path) -> Path:
    """Create `directory` if needed and prove it writable, or raise ValueError naming it."""
    d = Path(directory)
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".altsim-probe-", dir=d)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ValueError(f"out={str(directory)!r}: not a writable directory ({e.strerror or e})") from None
    return d
