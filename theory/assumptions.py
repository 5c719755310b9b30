"""The assumptions A1-A3 (docs/theory.md section 3) as objects with provenance, and validated constants.

`Constants` holds the numbers a bound is evaluated with; constructing one validates them,
so a bad value fails before any work starts with a message naming it and its valid range.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import sympy as sp

# require, require_bool, shown and the magnitude limits lived here before checks.py: re-exported
from .checks import MAX_INTEGER as MAX_INTEGER
from .checks import MAX_MAGNITUDE as MAX_MAGNITUDE
from .checks import require as require
from .checks import require_bool as require_bool
from .checks import shown as shown
from .symbols import L_u, L_uv, L_v, chi, delta, rho, sigma_u, sigma_v


@dataclass(frozen=True)
class Assumption:
    """One assumption of the theory (docs/theory.md section 3): its name, its statement in words, its
    provenance ("P" or "R") and the symbols of `altsim.theory.symbols` it constrains."""

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
        F0 = self.delta_F0
        if not (isinstance(F0, float) and math.isnan(F0)):  # nan: no start point fixed yet
            require("delta_F0", F0, allow_inf=True)

    @property
    def chi(self) -> float:
        """The coupling chi = L_uv / sqrt(L_u L_v) (docs/theory.md section 3); inf where L_uv is not certified."""
        if math.isinf(self.L_uv):
            return math.inf
        return self.L_uv / math.sqrt(self.L_u * self.L_v)

    def as_dict(self) -> dict[str, float]:
        """The constants by field name, with the derived `chi` added."""
        d = asdict(self)
        d["chi"] = self.chi
        return d

    def values(self) -> dict[str, float]:
        """Keyed by symbol name (Delta_F0 rather than delta_F0), for `Bound.evaluate`."""
        d = self.as_dict()
        d["Delta_F0"] = d.pop("delta_F0")
        return d
