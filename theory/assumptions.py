"""The assumptions A1-A3 (docs/theory.md section 3) as objects with provenance, and validation.

`Constants` holds the numbers a bound is evaluated with; constructing one validates them,
so a bad value fails before any work starts with a message naming it and its valid range.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

import numpy as np
import sympy as sp

from .symbols import L_u, L_uv, L_v, chi, delta, rho, sigma_u, sigma_v


@dataclass(frozen=True)
class Assumption:
    name: str
    statement: str
    provenance: str
    symbols: tuple[sp.Symbol, ...]


SMOOTHNESS = Assumption(
    "A1 smoothness",
    "grad_u F_i is L_u-Lipschitz in u and L_uv-Lipschitz in v_i; grad_v F_i is L_v-Lipschitz in v_i and "
    "L_uv-Lipschitz in u; chi^2 = L_uv^2/(L_u L_v)",
    "P",
    (L_u, L_v, L_uv, chi),
)
VARIANCE = Assumption(
    "A2 bounded variance",
    "stochastic gradients are unbiased with variance at most sigma_u^2 (u-block) and sigma_v^2 (v-block)",
    "P",
    (sigma_u, sigma_v),
)
DIVERSITY = Assumption(
    "A3 partial gradient diversity",
    "(1/n) sum_i ||grad_u F_i(u, v_i) - grad_u F(u, V)||^2 <= delta^2 for all u, V",
    "P",
    (delta,),
)
DIVERSITY_RHO = Assumption(
    "A3' diversity with a multiplicative term",
    "... <= delta^2 + rho^2 ||grad_u F(u, V)||^2 (the paper may have it)",
    "R",
    (delta, rho),
)
ASSUMPTIONS = (SMOOTHNESS, VARIANCE, DIVERSITY, DIVERSITY_RHO)


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
    value,
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
        x = int(value)
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


@dataclass(frozen=True)
class Constants:
    """Certified constants of a problem (A1-A3) plus the initial gap."""

    L_u: float
    """A1: Lipschitz constant of grad_u F_i in u; > 0 (inf: not certified)."""
    L_v: float
    """A1: Lipschitz constant of grad_v F_i in v_i; > 0."""
    L_uv: float
    """A1: cross Lipschitz constant; >= 0."""
    sigma_u: float
    """A2: standard deviation bound of the stochastic u-gradient; >= 0."""
    sigma_v: float
    """A2: standard deviation bound of the stochastic v-gradient; >= 0."""
    delta: float
    """A3: partial gradient diversity; >= 0."""
    delta_F0: float = math.nan
    """F(u^0, V^0) - F_lower, an upper bound on the initial gap (nan until a start point is fixed)."""

    def __post_init__(self) -> None:
        require("L_u", self.L_u, low=0, low_open=True, allow_inf=True)
        require("L_v", self.L_v, low=0, low_open=True, allow_inf=True)
        for k in ("L_uv", "sigma_u", "sigma_v", "delta"):
            require(k, getattr(self, k), low=0, allow_inf=True)

    @property
    def chi(self) -> float:
        if math.isinf(self.L_uv):
            return math.inf
        return self.L_uv / math.sqrt(self.L_u * self.L_v)

    def as_dict(self) -> dict[str, float]:
        d = asdict(self)
        d["chi"] = self.chi
        return d

    def values(self) -> dict[str, float]:
        """Keyed by symbol name (Delta_F0 rather than delta_F0), for `Bound.evaluate`."""
        d = self.as_dict()
        d["Delta_F0"] = d.pop("delta_F0")
        return d
