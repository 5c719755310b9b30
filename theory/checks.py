"""Value checks: one-line errors that name the parameter, its value and the valid range.

Every public entry point of altsim (the CLI, configs, problems, bounds) validates its arguments
with `require` before any work starts, so a bad value is reported the same way wherever it
enters.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any, cast

import numpy as np

from .symbols import DEFAULTS, DOMAINS


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


MAX_MAGNITUDE = 1e100
"""Largest |value| a real-valued field takes: squares and products of such constants stay finite."""
MAX_INTEGER = 2**62
"""Largest integer field (below int64's limit, so that every integer fits a torch tensor)."""


def shown(value, limit: int = 60) -> str:
    """repr(value), truncated for error messages (a 1 MB value is not echoed whole)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long for Python to print
        return f"<an integer of {abs(int(value)).bit_length()} bits>"
    return text if len(text) <= limit else f"{text[: limit - 25]}...<{len(text)} characters>"


def require(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
    allow_inf: bool = False,
) -> None:
    """Raise ValueError naming `name`, `value` (and its type, when that is what is wrong) and the valid
    range unless value lies in it.

    Types are strict: an integer field takes an int (not 20.0, not "20", not True); a real field
    takes an int or a float, with |value| <= MAX_MAGNITUDE. NaN is always refused; +inf only with
    `allow_inf` (a constant that is not certified)."""
    lo = "-inf" if low is None else _fmt(low)
    hi = "inf" if high is None else _fmt(high)
    rng = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
    kind = "an integer" if integer else "a number"
    wanted = numbers.Integral if integer else numbers.Real
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, wanted):
        raise ValueError(
            f"{name}={shown(value)}: must be {kind} in {rng}, not {type(value).__name__}"
        )
    if integer:
        x: float = int(cast(Any, value))  # an Integral: numpy and Python integers alike
        if abs(x) > MAX_INTEGER:
            raise ValueError(
                f"{name}={shown(value)}: must be {kind} in {rng} (at most {MAX_INTEGER} in magnitude)"
            )
    else:
        try:
            x = float(value)
        except OverflowError:
            x = math.inf
        if (
            math.isnan(x)
            or (math.isinf(x) and not (allow_inf and x > 0))
            or (math.isfinite(x) and abs(x) > MAX_MAGNITUDE)
        ):
            raise ValueError(
                f"{name}={shown(value)}: must be {kind} in {rng}, finite and at most {MAX_MAGNITUDE:g} "
                "in magnitude"
            )
    if (low is not None and (x < low or (low_open and x == low))) or (
        high is not None and (x > high or (high_open and x == high))
    ):
        raise ValueError(f"{name}={shown(value)}: must be {kind} in {rng}")


def require_bool(name: str, value) -> None:
    """Raise ValueError unless value is True or False (not 1, not "yes")."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(
            f"{name}={shown(value)}: must be true or false, not {type(value).__name__}"
        )


def close_names(given: object, choices: Iterable[str], limit: int = 2) -> list[str]:
    """The valid names nearest to `given` (at most `limit`, nearest first), for a "did you mean" hint.

    A choice equal to `given` but for case is the answer ('FedAlt' -> 'fedalt'); otherwise the closest
    by `difflib.get_close_matches`, compared case-insensitively, and a second one only when it is
    about as close as the first; failing those, the names `given` begins. Empty when nothing is close or
    when `given` is not a string.

    >>> close_names("round", ["rounds", "seeds", "m"])
    ['rounds']
    >>> close_names("FedAlt", ["fedalt", "fedsim", "fedavg"])
    ['fedalt']
    """
    if not isinstance(given, str):
        return []
    names = [c for c in dict.fromkeys(choices) if isinstance(c, str)]
    lowered: dict[str, str] = {}
    for c in names:
        lowered.setdefault(c.lower(), c)
    same_but_case = [c for c in names if c.lower() == given.lower() and c != given]
    if same_but_case:
        return same_but_case[:1]
    near = difflib.get_close_matches(given.lower(), list(lowered), n=limit + 1, cutoff=0.6)
    if not near and len(given) >= 3:  # a name cut short ('coupled' -> 'coupled_quadratic')
        near = [x for x in lowered if x.startswith(given.lower())]

    def score(x: str) -> float:
        return difflib.SequenceMatcher(None, given.lower(), x).ratio()

    near.sort(key=lambda x: (-score(x), names.index(lowered[x])))  # ties: in the order of choices
    best = score(near[0]) if near else 0.0
    # a second name only when it is about as close as the first ('sigma': sigma_u or sigma_v)
    return [lowered[x] for x in near if score(x) >= best - 0.05][:limit]


def unknown_name_message(
    param: str, given: object, choices: Iterable[str], *, kind: str = "name"
) -> str:
    """One line for a name that is not one of `choices`: the parameter, the value, the nearest valid
    names ("did you mean", `close_names`) and every valid one. Every lookup by name in altsim (config
    keys, families, algorithms, bounds, symbols) reports an unknown name with it.

    `given` is one name (`param=value: unknown KIND ...`) or a list of them, the unknown keys of a
    table (`param: unknown KINDs 'a' (did you mean 'b'?), ...`).

    >>> unknown_name_message("family", "quadratc", ["quadratic", "digits"], kind="family")
    "family='quadratc': unknown family (did you mean 'quadratic'?); choose one of quadratic, digits"
    >>> unknown_name_message("experiment", ["round"], ["rounds", "seeds"], kind="key")
    "experiment: unknown key 'round' (did you mean 'rounds'?); choose from rounds, seeds"
    """
    names = [str(c) for c in choices]

    def hint(name: object) -> str:
        near = close_names(name, names)
        return f" (did you mean {' or '.join(map(repr, near))}?)" if near else ""

    valid = ", ".join(names) or "none registered"
    if isinstance(given, (list, tuple, set, frozenset)):
        items = sorted(given, key=str)
        listed = ", ".join(f"{shown(g)}{hint(g)}" for g in items)
        plural = "s" if len(items) > 1 else ""
        return f"{param}: unknown {kind}{plural} {listed}; choose from {valid}"
    return f"{param}={shown(given)}: unknown {kind}{hint(given)}; choose one of {valid}"


def validate_values(values: dict, *, allow_inf: bool = False, real: Iterable[str] = ()) -> None:
    """Raise ValueError naming the first value outside its symbol's domain (and m > n, stateless > 1).

    `allow_inf` lets a real-valued constant be +inf (a constant a problem does not certify); the
    symbols named in `real` take any real number in their range, not only integers (a horizon T
    evaluated between rounds)."""
    real = frozenset(real)
    for k, v in values.items():
        low, open_, integer = DOMAINS[k]
        integer = integer and k not in real
        require(
            k,
            v,
            low=low,
            low_open=open_,
            integer=integer,
            high=1 if k in DEFAULTS else None,
            allow_inf=allow_inf and not integer and k not in DEFAULTS,
        )
    if "m" in values and "n" in values and values["m"] > values["n"]:
        require("m", values["m"], low=1, high=values["n"], integer=True)


def require_instance(name: str, value: Any, kind: type | tuple[type, ...], what: str) -> None:
    """Raise TypeError naming `name`, its value and what it must be (`what`), unless `value` is an
    instance of `kind`."""
    if not isinstance(value, kind):
        raise TypeError(f"{name}={shown(value)}: must be {what}, not {type(value).__name__}")


def require_str(name: str, value: Any, what: str = "a str", *, optional: bool = False) -> None:
    """Raise TypeError unless `value` is a str (or None, when `optional`)."""
    if optional and value is None:
        return
    require_instance(name, value, str, what + (" or None" if optional else ""))


def require_callable(name: str, value: Any, *, optional: bool = True) -> None:
    """Raise TypeError unless `value` is callable (or None, when `optional`)."""
    if (optional and value is None) or callable(value):
        return
    raise TypeError(
        f"{name}={shown(value)}: must be a function{' or None' if optional else ''}, not "
        f"{type(value).__name__}"
    )


def require_mapping(
    name: str, value: Any, what: str = "a mapping", *, optional: bool = False
) -> None:
    """Raise TypeError unless `value` is a mapping (a dict) with str keys (or None, when `optional`)."""
    if optional and value is None:
        return
    require_instance(name, value, Mapping, what + (" or None" if optional else ""))
    bad = next((k for k in value if not isinstance(k, str)), None)
    if bad is not None:
        raise TypeError(f"{name}: key {shown(bad)} must be a str, not {type(bad).__name__}")


def check_values(
    values: Any,
    *,
    name: str = "values",
    symbols: Iterable[str] | None = None,
    allow_inf: bool = False,
    real: Iterable[str] = (),
) -> None:
    """Refuse, before any work, `values` that is not a mapping of names to values (TypeError), or
    whose value of a known symbol (of `symbols` only, when given) lies outside its domain
    (ValueError, `validate_values`). Names that are not symbols pass: a user's bound may take its
    own."""
    require_mapping(name, values, "a mapping of symbol names to numbers")
    keep = None if symbols is None else frozenset(symbols)
    validate_values(
        {k: v for k, v in values.items() if k in DOMAINS and (keep is None or k in keep)},
        allow_inf=allow_inf,
        real=real,
    )


def require_number_array(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    low_open: bool = False,
    integer: bool = False,
    allow_inf: bool = False,
) -> np.ndarray:
    """`value` (a number or an array of numbers) as a float array, or a ValueError naming `name`
    and the first entry outside [low, inf) (an integer where `integer`; NaN never, +inf only with
    `allow_inf`)."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        require(name, value, low=low, low_open=low_open, integer=integer, allow_inf=allow_inf)
        return np.asarray(value, dtype=float)
    if isinstance(value, (str, bytes, Mapping)) or value is None:
        raise TypeError(
            f"{name}={shown(value)}: must be a number or an array of numbers, not "
            f"{type(value).__name__}"
        )
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, OverflowError):  # ragged lists, objects numpy cannot read
        raise TypeError(
            f"{name}={shown(value)}: must be a number or an array of numbers, not "
            f"{type(value).__name__}"
        ) from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name}={shown(value)}: must be numbers, not an array of {arr.dtype}")
    if arr.size == 0:
        raise ValueError(f"{name}={shown(value)}: must hold at least one number")
    x = arr.astype(float)
    kind = "integers" if integer else "numbers"
    lo = "-inf" if low is None else _fmt(low)
    bad = np.isnan(x) | (np.isinf(x) & ~((x > 0) & allow_inf))
    if low is not None:
        bad |= (x < low) | ((x == low) & low_open)
    if integer:
        bad |= np.isfinite(x) & (x != np.round(x))
    bad |= np.isfinite(x) & (np.abs(x) > (MAX_INTEGER if integer else MAX_MAGNITUDE))
    if bad.any():
        first = x.ravel()[int(np.flatnonzero(bad.ravel())[0])]
        raise ValueError(
            f"{name}: must be {kind} in {'(' if low_open or low is None else '['}{lo}, inf), "
            f"{'+inf allowed' if allow_inf else 'finite'}; an entry is {first!r}"
        )
    return x
