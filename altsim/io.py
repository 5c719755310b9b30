"""Atomic writes: a file appears whole or not at all (temporary file in the same folder, then rename).

`atomic_write` is the one mechanism; every file altsim writes (JSON, text, npz, figures, GIFs) goes
through it."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from altsim import __version__

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
        os.chmod(
            tmp, 0o666 & ~_UMASK
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


def check_writable(directory: str | Path) -> Path:
    """Create `directory` if needed and prove it writable, or raise ValueError naming it."""
    if str(directory).strip() == "":
        raise ValueError("out='': give a folder name")
    d = Path(directory)
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".altsim-probe-", dir=d)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ValueError(
            f"out={str(directory)!r}: not a writable directory ({e.strerror or e})"
        ) from None
    return d


# --- result folders are altsim's own -------------------------------------------------------------
MANIFEST = ".altsim-manifest.json"
"""Marks a folder altsim wrote: format version, what wrote it (kind) and the hash of its config."""
LOCK = ".altsim.lock"
FORMAT_VERSION = 1
_LEGACY_MARKERS = (
    "summary.json",
    "sweep.json",
    "falsify.json",
)  # folders written before manifests existed


def read_json(path: str | Path, what: str = "file"):
    """json.loads of a file, or a ValueError naming the file and what is wrong with it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"{what} {str(path)!r}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{what} {str(path)!r}: not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise ValueError(
            f"{what} {str(path)!r}: not valid JSON ({e.msg} at line {e.lineno})"
        ) from None


def _validate_out(directory: str | Path) -> Path:
    if not isinstance(directory, (str, Path)) or str(directory).strip() == "":
        raise ValueError(f"out={directory!r}: give a folder name")
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise ValueError(f"out={str(directory)!r}: exists and is not a folder")
    return d


def check_output_folder(directory: str | Path, kind: str, config_hash: str | None = None) -> Path:
    """Refuse, without creating or writing anything, a folder altsim may not write into: one that holds
    files altsim did not write, or one written by another kind of command or another config."""
    d = _validate_out(directory)
    if not d.exists():
        return d
    manifest = d / MANIFEST
    if manifest.exists():
        m = read_json(manifest, "manifest")
        if not isinstance(m, dict) or m.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"out={str(directory)!r}: its {MANIFEST} is not one this altsim wrote; use a new folder"
            )
        if m.get("kind") != kind:
            raise ValueError(
                f"out={str(directory)!r}: holds the output of `altsim {m.get('kind')}`, not of `altsim {kind}`; "
                "use a new folder"
            )
        if config_hash is not None and m.get("config_hash") not in (None, config_hash):
            raise ValueError(
                f"out={str(directory)!r}: holds the results of a different config; use a new folder "
                "(or the same config, to resume)"
            )
        return d
    entries = [p.name for p in d.iterdir() if p.name != LOCK]
    if entries and not any(name in entries for name in _LEGACY_MARKERS):
        shown_names = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
        raise ValueError(
            f"out={str(directory)!r}: holds files altsim did not write ({shown_names}); altsim writes only "
            "into a new or empty folder, or one it wrote itself"
        )
    return d


class OutputFolder:
    """Claim a result folder for one command: validated, created, locked (fcntl.flock) and marked.

    Use as a context manager around all the writing. A second altsim process on the same folder is
    refused while the first holds it, so two runs never interleave their files."""

    def __init__(self, directory: str | Path, kind: str, config_hash: str | None = None):
        self.path = check_output_folder(directory, kind, config_hash)
        self.kind, self.config_hash = kind, config_hash
        self._fd: int | None = None

    def __enter__(self) -> Path:
        check_writable(self.path)
        self._fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory locks, the manifest checks still apply
            fcntl = None
        try:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise ValueError(
                f"out={str(self.path)!r}: another altsim process is writing there now; wait for it "
                "to finish or use another folder"
            ) from None
        check_output_folder(
            self.path, self.kind, self.config_hash
        )  # again, now that no one else can write
        write_json(
            self.path / MANIFEST,
            {
                "format": FORMAT_VERSION,
                "kind": self.kind,
                "config_hash": self.config_hash,
                "altsim": _version(),
            },
        )
        return self.path

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


def _version() -> str:
    return __version__


def sha256_file(path: str | Path) -> str:
    """The SHA-256 hex digest of the file at `path`, read in 1 MiB blocks."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
