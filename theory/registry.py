"""The bound registry: every bound altsim knows by name, built-in or registered by a user.

`BOUNDS` maps a bound's name to it. The built-in bounds are the explicit [D] bounds of
docs/theory.md section 7 (`fedsim_sgd`, `fedsim_local`, `fedalt_sgd`, `fedalt_partial`,
`fedalt_local`) and the paper's statements and reconstructions of section 5 (`paper`).
`register_bound` adds a user's own, after which it works wherever a built-in one does.
`DERIVATIONS` maps each [D] bound's name to the sympy identities its proof rests on.
"""

from __future__ import annotations

import re

from . import fedalt_local, fedalt_partial, fedalt_sgd, fedsim_local, fedsim_sgd, paper
from .bound import PROVENANCES, Bound
from .checks import require_bool, require_instance, shown, unknown_name_message

_DERIVED_MODULES = (fedsim_sgd, fedsim_local, fedalt_sgd, fedalt_partial, fedalt_local)
"""Modules of [D] bounds: each has BOUNDS (constructors) and DERIVATION (its proof's identities)."""

BOUNDS: dict[str, Bound] = {
    b.name: b
    for b in (
        f()
        for f in (
            *(f for mod in _DERIVED_MODULES for f in mod.BOUNDS),
            *paper.BOUNDS,
        )
    )
}
"""Bound name -> `Bound`: the built-in bounds, then any a user registered."""

DERIVATIONS: dict[str, tuple] = {
    f().name: mod.DERIVATION for mod in _DERIVED_MODULES for f in mod.BOUNDS
}
"""[D] bound name -> the `Identity` steps of its derivation (a module's bounds share its derivation)."""

_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
"""What a registered bound's name may hold: ASCII letters, digits, '_', '-', '.' (one at least)."""


def get_bound(name: str) -> Bound:
    """The registered bound called `name`; ValueError naming the known ones otherwise (a name that
    is not a str included)."""
    known = sorted(BOUNDS, key=str)
    if not isinstance(name, str):
        raise ValueError(
            f"bound={shown(name)}: must be a bound's name (a str), not {type(name).__name__}; "
            f"choose one of {', '.join(map(str, known))}"
        )
    try:
        return BOUNDS[name]
    except KeyError:
        raise ValueError(unknown_name_message("bound", name, known, kind="bound")) from None


def bounds_for(algorithm: str, provenance: str | None = None) -> list[Bound]:
    """The registered bounds on `algorithm`, optionally only those of one provenance ("P", "R", "D").

    An `algorithm` that is not a str, or a `provenance` that is not None or one of `PROVENANCES`, is
    refused (an algorithm no bound is on simply has none)."""
    require_instance("algorithm", algorithm, str, "an algorithm's name (a str)")
    if provenance is not None and (
        not isinstance(provenance, str) or provenance not in PROVENANCES
    ):
        raise ValueError(
            f"provenance={shown(provenance)}: must be None or one of {', '.join(PROVENANCES)}"
        )
    return [
        b
        for b in BOUNDS.values()
        if b.algorithm == algorithm and (provenance is None or b.provenance == provenance)
    ]


def register_bound(bound: Bound, *, replace: bool = False) -> Bound:
    """Add `bound` to the registry under its own name, so that every entry point accepts it.

    The name must be a non-empty str of ASCII letters, digits, `_`, `-` and `.` (it is typed on
    command lines and written in file names). A name already taken is refused unless `replace` is
    True; replacing a built-in bound is always refused (the built-ins are what the recorded results
    and tests refer to)."""
    if not isinstance(bound, Bound):
        raise TypeError(
            f"bound={shown(bound)}: must be an altsim.theory.Bound, not {type(bound).__name__}"
        )
    if not isinstance(bound.name, str) or not _NAME.fullmatch(bound.name):
        kind = "" if isinstance(bound.name, str) else f", not {type(bound.name).__name__}"
        raise ValueError(
            f"bound.name={shown(bound.name)}: must be a non-empty str of letters, digits, '_', '-' "
            f"and '.' (no spaces){kind}"
        )
    require_bool("replace", replace)
    builtin = bound.name in _BUILTIN
    if bound.name in BOUNDS and (builtin or not replace):
        why = "a built-in bound" if builtin else "already registered (pass replace=True)"
        raise ValueError(f"bound.name={shown(bound.name)}: taken, {why}")
    BOUNDS[bound.name] = bound
    return bound


_BUILTIN = frozenset(BOUNDS)
