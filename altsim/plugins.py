"""Plugins: the user's own modules that register bounds, algorithms and problem families.

A plugin is a Python module that, when imported, calls `altsim.theory.register_bound`,
`altsim.rates.register_algorithm` or `altsim.synthetic.register`. Every entry point imports the
plugins it is given before it looks a name up:

- a config's `plugins = ["mymod"]` is looked for first in the config's own folder, then on the
  import path (the current folder included);
- `--plugins mymod` on the command line is looked for first in the current folder;
- a result folder records its plugins (name and file), and `altsim plot` imports them again;
- worker processes (`--executor processes`) find them because a folder a plugin was found in is
  put on the import path of this process and of every process it starts (`PYTHONPATH`).

A plugin that is missing, or that raises while it is imported, is refused with one line naming
it (`PluginError`, a ValueError), before any work starts.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path


class PluginError(ValueError):
    """A plugin that cannot be imported: missing, or raising while it is imported."""


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not all(p.isidentifier() for p in name.split(".")):
        raise PluginError(
            f"plugins: {name!r} is not a module name (a dotted Python identifier, e.g. 'mymod' "
            "or 'mypackage.bounds'; a file mymod.py is the module 'mymod')"
        )
    return name


def _found_in(folder: Path, name: str) -> bool:
    top = name.split(".")[0]
    return (folder / f"{top}.py").is_file() or (folder / top / "__init__.py").is_file()


def add_to_import_path(folder: str | Path) -> None:
    """Put `folder` first on this process's import path and on that of every process it starts."""
    folder = str(Path(folder).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if folder not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([folder, *parts])


def import_plugins(names: Iterable[str], search: Iterable[str | Path] = ()) -> dict[str, str]:
    """Import each plugin module of `names`; {name: the file it was imported from}.

    Each is looked for first in the folders of `search`, in order (a folder holding NAME.py or the
    package NAME/ is put on the import path), then on the import path, and last in the current
    folder: a copy in the current folder never shadows the one a config's folder put on the path
    (a worker process starts elsewhere, with that folder on its PYTHONPATH).
    Raises `PluginError` naming the plugin when it is missing or when importing it raises."""
    first = list(dict.fromkeys(Path(f).resolve() for f in search))
    here = Path.cwd().resolve()
    folders = first + ([here] if here not in first else [])  # where it was looked for, for errors
    found: dict[str, str] = {}
    for name in names:
        _check_name(name)
        home = next((f for f in first if _found_in(f, name)), None)
        if home is None and importlib.util.find_spec(name.split(".")[0]) is None:
            home = here if _found_in(here, name) else None
        if home is not None:
            add_to_import_path(home)
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name is not None and name.startswith(e.name):
                where = ", ".join(str(f) for f in folders)
                raise PluginError(
                    f"plugins: cannot import {name!r}: no module {e.name!r} in {where} or on the "
                    "import path"
                ) from None
            raise PluginError(
                f"plugins: importing {name!r} failed: ModuleNotFoundError: {str(e)[:160]}"
            ) from None
        except Exception as e:  # the plugin's own code raised while it was imported
            raise PluginError(
                f"plugins: importing {name!r} failed: {type(e).__name__}: {str(e)[:160]}"
            ) from None
        found[name] = str(getattr(module, "__file__", None) or name)
    return found


def reimport_recorded(recorded: dict[str, str]) -> list[str]:
    """Import the plugins a result folder recorded ({name: file}); the one-line reasons for those that
    cannot be imported now (the caller goes on without them)."""
    missing = []
    for name, file in recorded.items():
        path = Path(file)
        depth = name.count(".") + (
            path.name == "__init__.py"
        )  # up to the folder holding the top package
        root = [path.parents[depth]] if path.suffix == ".py" and len(path.parents) > depth else []
        try:
            import_plugins([name], root)
        except PluginError as e:
            missing.append(str(e))
    return missing
