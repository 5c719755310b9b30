"""Result folders: which folders altsim may write into, what it leaves there, and repairing damage.

A folder is altsim's only when its manifest (`.altsim-manifest.json`) says so *and* every entry in it is
one that altsim writes for that kind of command (`LAYOUTS`). Anything else is a user's file, and the
folder is refused (exit 2), naming the first such entry, before anything is written.

Damage to a folder altsim owns is repaired, never crashed on: an entry of the wrong type (a file where a
folder belongs, or the reverse), a data file that no longer matches the checksum the manifest recorded,
or a stale point is moved aside into `.altsim-damaged/STAMP/` with a line saying so, and recomputed.
Nothing is deleted except temporary files of processes that are no longer alive.

Locks: a run, demo or falsify holds the folder's lock exclusively (`OutputFolder`); `altsim plot`,
drawing into a result folder, holds it shared (`SharedFolder`), so a plot never races a resume.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
import warnings
from pathlib import Path
from typing import TextIO

from altsim import __version__
from altsim.io import UMASK, makedirs, read_json, sha256_file, temp_file_owner, write_json

MANIFEST = ".altsim-manifest.json"
"""Marks a folder altsim wrote: format version, what wrote it (kind), the hash of its config, and the
checksums of the data files it wrote at the top of the folder (`files`)."""
LOCK = ".altsim.lock"
DAMAGED = ".altsim-damaged"
"""Where damaged entries are moved aside (never deleted), one subfolder per repair."""
FORMAT_VERSION = 1
POINTS = "points"

FIGURE_STEMS = (
    "rate",
    "tightness",
    "personalization",
    "regime",
    "sweep",
    "trajectory",
    "ledger",
    "demo",
    "local_steps",
)
"""The figures altsim draws into a result folder (`altsim plot`, `altsim demo`), as STEM.png/.pdf/.svg."""
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


@dataclasses.dataclass(frozen=True)
class Layout:
    """What one kind of command writes at the top of its folder."""

    files: frozenset[str]
    """Data files (checksummed in the manifest when the command records them)."""
    folders: frozenset[str] = frozenset()
    """Subfolders, whose contents the command verifies itself (a sweep's `points`)."""


LAYOUTS: dict[str, Layout] = {
    "run": Layout(
        frozenset(
            {
                "sweep.json",
                "config.toml",
                "environment.json",
                "summary.json",
                "rounds.csv",
                "scores.csv",
                "regime_table.md",
                "ledger.json",
            }
        ),
        frozenset({POINTS}),
    ),
    "demo": Layout(frozenset({"summary.json", "trajectories.npz", "rounds.csv", "ledger.json"})),
    "falsify": Layout(frozenset({"falsify.json", "worst.toml", "counterexample.toml"})),
    "plot": Layout(frozenset()),
}
POINT_FILES = frozenset({"summary.json", "rounds.csv", "cost.json"})
"""What a sweep writes in each `points/ID` folder."""
_POINT_ID = re.compile(r"^[0-9a-f]{12}$")

_MAX_NAME = 255  # bytes in one path component (NAME_MAX on Linux and macOS)
_MAX_PATH = 4096  # bytes in a whole path (PATH_MAX on Linux)
_LONGEST_INSIDE = len(
    "/points/0123456789ab/.summary.json.altsim-4194304-0123456789abcdef.xxxxxxxx.json.tmp"
)
"""The longest path altsim writes below a result folder: the folder's own path must leave room for it."""


def is_figure(name: str) -> bool:
    """Whether `name` is a figure altsim draws into a result folder (STEM.png/.pdf/.svg, a GIF)."""
    stem, suffix = os.path.splitext(name)
    return (stem in FIGURE_STEMS and suffix in FIGURE_SUFFIXES) or name == "trajectory.gif"


def _is_temp_file(folder: Path, name: str) -> bool:
    """A temporary file of altsim's: its name says so, and it is a plain file (not a folder or link)."""
    return temp_file_owner(name) is not None and _is_file(folder / name)


def _allowed_in_point(pdir: Path, name: str) -> bool:
    """A point folder holds the point's files, and the figures `altsim plot points/ID` draws there."""
    return name in POINT_FILES or is_figure(name) or _is_temp_file(pdir, name)


def _allowed_at_top(directory: Path, name: str, layout: Layout) -> bool:
    return (
        name in (MANIFEST, LOCK, DAMAGED)
        or name in layout.files
        or name in layout.folders
        or is_figure(name)
        or _is_temp_file(directory, name)
    )


# --- refusing, before anything is written --------------------------------------------------------
def validate_out(directory: object, label: str = "out") -> Path:
    """`directory` as a Path, or a ValueError naming it: empty, not a path, too long for the file
    system (a component over 255 bytes, or too little room left under 4096 bytes for the files
    altsim writes inside it), or not a folder."""
    if not isinstance(directory, (str, Path)) or str(directory).strip() == "":
        raise ValueError(f"{label}={directory!r}: give a folder name")
    text = str(directory)
    shown = text if len(text) <= 80 else f"{text[:40]}...<{len(text)} characters>"
    try:
        absolute = os.path.abspath(text)
        encoded = os.fsencode(absolute)
    except (OSError, ValueError) as e:
        raise ValueError(f"{label}={shown!r}: not a usable path ({e})") from None
    longest = max((len(part) for part in encoded.split(b"/")), default=0)
    if longest > _MAX_NAME:
        raise ValueError(
            f"{label}={shown!r}: a folder name of {longest} bytes; the file system takes at most {_MAX_NAME}"
        )
    if len(encoded) + _LONGEST_INSIDE > _MAX_PATH:
        raise ValueError(
            f"{label}={shown!r}: a path of {len(encoded)} bytes leaves no room for altsim's files "
            f"(at most {_MAX_PATH - _LONGEST_INSIDE} bytes)"
        )
    d = Path(directory)
    try:
        if d.exists() and not d.is_dir():
            raise ValueError(f"{label}={shown!r}: exists and is not a folder")
    except OSError as e:
        raise ValueError(f"{label}={shown!r}: cannot be inspected ({e.strerror or e})") from None
    return d


def enclosing_result(directory: Path) -> Path | None:
    """The nearest folder above `directory` that holds an altsim manifest, if any (symbolic links
    followed: a link into a result folder is inside it)."""
    for parent in Path(os.path.realpath(directory)).parents:
        try:
            if (parent / MANIFEST).is_file():
                return parent
        except OSError:
            return None
    return None


def read_manifest(directory: Path) -> dict:
    """The manifest of `directory`, or a ValueError when it is not one this altsim wrote."""
    m = read_json(directory / MANIFEST, "manifest")
    if not isinstance(m, dict) or m.get("format") != FORMAT_VERSION:
        raise ValueError(
            f"out={str(directory)!r}: its {MANIFEST} is not one this altsim wrote; use a new folder"
        )
    return m


def foreign_entry(directory: Path, kind: str) -> str | None:
    """The first entry (sorted, as a path relative to the folder) that altsim does not write for
    `kind`, or None. Entries altsim writes but with the wrong type are damage, not foreign: they are
    repaired (`repair`)."""
    layout = LAYOUTS.get(kind, Layout(frozenset()))
    for entry in sorted(os.listdir(directory)):
        if not _allowed_at_top(directory, entry, layout):
            return entry
    damaged = directory / DAMAGED
    if os.path.lexists(damaged) and not _is_dir(damaged):
        return DAMAGED  # altsim makes it a folder; a file or a link there is not altsim's
    points = directory / POINTS
    if POINTS in layout.folders and _is_dir(points):
        for pid in sorted(os.listdir(points)):
            if not _POINT_ID.match(pid) and not _is_temp_file(points, pid):
                return f"{POINTS}/{pid}"
            pdir = points / pid
            if _is_dir(pdir):
                for name in sorted(os.listdir(pdir)):
                    if not _allowed_in_point(pdir, name):
                        return f"{POINTS}/{pid}/{name}"
    return None


def check_output_folder(directory: str | Path, kind: str, config_hash: str | None = None) -> Path:
    """Refuse, without creating or writing anything, a folder altsim may not write into: one inside
    another result folder, one without altsim's manifest that is not empty, one written by another
    kind of command or another config, or one holding an entry altsim did not write (named)."""
    d = validate_out(directory)
    outer = enclosing_result(d)
    if outer is not None:
        raise ValueError(
            f"out={str(directory)!r}: is inside the result folder {str(outer)!r}; altsim does not "
            "write into another result; use a folder outside it"
        )
    if not d.exists():
        return d
    try:
        entries = sorted(os.listdir(d))
    except OSError as e:
        raise ValueError(f"out={str(directory)!r}: cannot be listed ({e.strerror or e})") from None
    if MANIFEST not in entries:
        others = [name for name in entries if name != LOCK]
        if others:
            raise ValueError(
                f"out={str(directory)!r}: holds {others[0]!r}, which altsim did not write (no "
                f"{MANIFEST}); altsim writes only into a new or empty folder, or one it wrote itself"
            )
        return d
    m = read_manifest(d)
    if m.get("kind") != kind:
        raise ValueError(
            f"out={str(directory)!r}: holds the output of `altsim {m.get('kind')}`, not of "
            f"`altsim {kind}`; use a new folder"
        )
    if config_hash is not None and m.get("config_hash") != config_hash:
        raise ValueError(
            f"out={str(directory)!r}: holds the results of a different config; use a new folder "
            "(or the same config, to resume)"
        )
    foreign = foreign_entry(d, kind)
    if foreign is not None:
        raise ValueError(
            f"out={str(directory)!r}: holds {foreign!r}, which altsim did not write; move it out "
            "of the folder, or use a new folder"
        )
    return d


def check_recorded(directory: Path, *names: str) -> None:
    """Refuse to read the files `names` of a result folder when one no longer matches the checksum
    altsim recorded when it wrote it (edited or damaged since): a folder's manifest records its
    top-level files, a sweep point's summary its point's files. A file without a record passes."""
    recorded: object = None
    try:
        if (directory / MANIFEST).is_file():
            recorded = read_manifest(directory).get("files")
        elif is_result_folder(directory) and (directory / "summary.json").is_file():
            listed = read_json(directory / "summary.json", "point summary").get("files")
            if isinstance(listed, dict):
                recorded = {k: v.get("sha256") for k, v in listed.items() if isinstance(v, dict)}
    except (ValueError, AttributeError):
        return  # an unreadable record: the reader names what is wrong
    if not isinstance(recorded, dict):
        return
    for name in names:
        path = directory / name
        if name in recorded and path.is_file() and sha256_file(path) != recorded[name]:
            raise ValueError(
                f"{str(path)!r}: does not match the checksum altsim recorded when it wrote it (edited "
                "or damaged); rerun the same command on the folder to repair it"
            )


def check_writable(directory: str | Path) -> Path:
    """Create `directory` if needed and prove it writable, or raise ValueError naming it."""
    d = validate_out(directory)
    try:
        makedirs(d)
        probe = d / f".altsim-probe-{os.getpid()}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ValueError(
            f"out={str(directory)!r}: not a writable directory ({e.strerror or e})"
        ) from None
    return d


# --- repairing, once the folder is ours ----------------------------------------------------------
class RepairWarning(UserWarning):
    """A damaged entry of a result folder was moved aside, to be recomputed."""


class Repairs:
    """Moves damaged entries of one folder aside into `.altsim-damaged/STAMP/`, a line each (to
    `stream`, or as a `RepairWarning` when there is none)."""

    def __init__(self, directory: Path, stream: TextIO | None):
        self.directory, self.stream = directory, stream
        self.stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}"
        self.moved: list[str] = []

    def move_aside(self, relative: str, why: str) -> Path:
        """Move the entry `relative` (to the folder) aside, saying `why`; returns where it went."""
        source = self.directory / relative
        target = self.directory / DAMAGED / self.stamp / relative
        makedirs(target.parent)
        os.replace(source, target)
        self.moved.append(relative)
        line = f"{relative}: {why}; moved aside to {DAMAGED}/{self.stamp}/{relative}"
        if self.stream is not None:
            print(f"altsim: {line}", file=self.stream, flush=True)
        else:
            warnings.warn(line, RepairWarning, stacklevel=2)
        return target


def _is_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _is_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def repair(directory: Path, kind: str, repairs: Repairs, recorded: dict[str, str]) -> None:
    """Move aside every damaged entry of a folder we hold exclusively: a data file that is not a plain
    file or no longer matches its `recorded` checksum, a subfolder that is not a folder, a point that
    is not a folder or holds a file that is not a plain file; then remove dead processes' temporary
    files (`remove_dead_temp_files`)."""
    layout = LAYOUTS.get(kind, Layout(frozenset()))
    points = directory / POINTS
    unwritable = [
        d
        for d in (directory, points, *(points.iterdir() if _is_dir(points) else ()))
        if _is_dir(d) and not os.access(d, os.W_OK | os.X_OK)
    ]
    if unwritable:
        raise ValueError(
            f"out={str(directory)!r}: {str(unwritable[0])!r} is not writable; altsim must write there "
            "to resume (fix its permissions, or use a new folder)"
        )
    for name in sorted(os.listdir(directory)):
        path = directory / name
        if name in layout.files or is_figure(name):
            if not _is_file(path):
                repairs.move_aside(name, "not a plain file")
            elif name in recorded and sha256_file(path) != recorded[name]:
                repairs.move_aside(
                    name,
                    "does not match the checksum altsim recorded (edited, or its writer was killed "
                    "before recording it)",
                )
        elif name in layout.folders and not _is_dir(path):
            repairs.move_aside(name, "not a folder")
    points = directory / POINTS
    if POINTS in layout.folders and _is_dir(points):
        for pid in sorted(os.listdir(points)):
            pdir = points / pid
            if temp_file_owner(pid) is not None:
                continue
            if not _is_dir(pdir):
                repairs.move_aside(f"{POINTS}/{pid}", "a point that is not a folder")
            elif any(not _is_file(pdir / name) for name in os.listdir(pdir) if name in POINT_FILES):
                repairs.move_aside(f"{POINTS}/{pid}", "holds an entry that is not a plain file")
    remove_dead_temp_files(directory)


def remove_dead_temp_files(directory: Path) -> int:
    """Remove the temporary files that processes no longer alive left in `directory` and its
    points (an atomic write killed half way); a living process's are left alone. Returns how many."""
    folders = [directory]
    points = directory / POINTS
    if _is_dir(points):
        folders += [p for p in points.iterdir() if _is_dir(p)]
    removed = 0
    for folder in folders:
        for name in os.listdir(folder):
            owner = temp_file_owner(name)
            if owner is not None and not owner.alive() and _is_file(folder / name):
                try:
                    (folder / name).unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
    return removed


# --- claiming ---------------------------------------------------------------------------------------
def _flock(fd: int, shared: bool) -> bool:
    """Take the advisory lock without waiting; False when another process holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no advisory locks, the manifest checks still apply
        return True
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _open_lock(directory: Path) -> int:
    lock = directory / LOCK
    if os.path.lexists(lock) and not _is_file(lock):
        raise ValueError(
            f"out={str(directory)!r}: {LOCK} is not a plain file (altsim's lock); remove it"
        )
    try:  # O_NOFOLLOW: a link put there since would make altsim create a file elsewhere
        return os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666 & ~UMASK)
    except OSError as e:
        raise ValueError(
            f"out={str(directory)!r}: cannot open {LOCK} ({e.strerror or e})"
        ) from None


def _take_lock(directory: Path, shared: bool, busy: str) -> int:
    """Open `directory`'s lock and take it (shared or exclusive) without waiting; the open file's
    descriptor, whose closing releases it. Held elsewhere: a ValueError saying `busy`."""
    fd = _open_lock(directory)
    if not _flock(fd, shared=shared):
        os.close(fd)
        raise ValueError(busy)
    return fd


class _HeldLock:
    """A folder's lock held while a context lasts: leaving it closes the descriptor, which releases it."""

    _fd: int | None = None

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class OutputFolder(_HeldLock):
    """Claim a result folder for one command: validated, created, locked exclusively (fcntl.flock),
    marked with the manifest, and repaired (`repair`, a line per entry moved aside to `stream`).

    Use as a context manager around all the writing. A second altsim process on the same folder is
    refused while the first holds it, so two runs never interleave their files; `record` stores the
    checksums of the data files written, so that a later edit is noticed."""

    def __init__(
        self,
        directory: str | Path,
        kind: str,
        config_hash: str | None = None,
        stream: TextIO | None = None,
    ):
        self.path = check_output_folder(directory, kind, config_hash)
        self.kind, self.config_hash, self.stream = kind, config_hash, stream
        self._fd = None
        self.files: dict[str, str] = {}
        self.repairs = Repairs(self.path, stream)

    def __enter__(self) -> Path:
        check_writable(self.path)
        self._fd = _take_lock(
            self.path,
            shared=False,
            busy=f"out={str(self.path)!r}: another altsim process is using it now; wait for it "
            "to finish or use another folder",
        )
        try:
            check_output_folder(
                self.path, self.kind, self.config_hash
            )  # again, now that it is ours
            if (self.path / MANIFEST).exists():
                manifest = read_manifest(self.path)
                recorded = manifest.get("files")
                if isinstance(recorded, dict):
                    self.files = {str(k): str(v) for k, v in recorded.items()}
                if self.config_hash is None:  # a claim that names no config keeps the folder's
                    self.config_hash = manifest.get("config_hash")
            try:
                repair(self.path, self.kind, self.repairs, self.files)
            except OSError as e:  # unreadable or unmovable entries: refused before any work
                raise ValueError(
                    f"out={str(self.path)!r}: cannot check or repair "
                    f"{str(e.filename) if e.filename else 'an entry'!r} ({e.strerror or e})"
                ) from None
            self.files = {k: v for k, v in self.files.items() if (self.path / k).is_file()}
            self._write_manifest()
        except BaseException:
            self.__exit__()
            raise
        return self.path

    def record(self, *names: str) -> None:
        """Store the checksums of the data files `names` (relative to the folder) in the manifest."""
        for name in names:
            path = self.path / name
            if path.is_file():
                self.files[name] = sha256_file(path)
        self._write_manifest()

    def _write_manifest(self) -> None:
        write_json(
            self.path / MANIFEST,
            {
                "format": FORMAT_VERSION,
                "kind": self.kind,
                "config_hash": self.config_hash,
                "altsim": __version__,
                "files": dict(sorted(self.files.items())),
            },
        )


def is_result_folder(directory: Path) -> bool:
    """Whether altsim wrote `directory`: it holds a manifest, or it is a point of a sweep that does."""
    if (directory / MANIFEST).is_file():
        return True
    outer = enclosing_result(directory)
    return outer is not None and Path(os.path.abspath(directory)).parent == outer / POINTS


class SharedFolder(_HeldLock):
    """Hold a result folder altsim wrote while drawing into it (`altsim plot`; a sweep's point is
    held through its sweep): its lock shared, so that no run or resume changes it meanwhile (a
    running one makes this a one-line refusal)."""

    def __init__(self, directory: str | Path):
        d = validate_out(directory)
        if not is_result_folder(d):
            raise ValueError(
                f"result_dir={str(directory)!r}: has no {MANIFEST}, so it is not a result folder "
                "altsim wrote; give --out to write the figures elsewhere"
            )
        self.path = d
        outer = enclosing_result(d)
        self._owner = d if (d / MANIFEST).is_file() or outer is None else outer
        kind = read_manifest(self._owner).get("kind")
        foreign = foreign_entry(self._owner, kind if isinstance(kind, str) else "plot")
        if foreign is not None:
            raise ValueError(
                f"result_dir={str(self._owner)!r}: holds {foreign!r}, which altsim did not write; "
                "move it out, or give --out to write the figures elsewhere"
            )
        self._fd = None

    def __enter__(self) -> Path:
        self._fd = _take_lock(
            self._owner,
            shared=True,
            busy=f"result_dir={str(self._owner)!r}: an altsim run is writing there now; wait for "
            "it to finish, or give --out to write the figures elsewhere",
        )
        return self.path
