"""Algebraic steps of the [D] derivations, as identities sympy can check.

Each explicit-bound module lists its steps as `Identity` objects; tests/ checks that every
one holds symbolically (`Identity.holds`). An inequality step "A <= B" is written as the
identity B - A = (a sum of squares or another manifestly nonnegative term).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp


@dataclass(frozen=True)
class Identity:
    """One algebraic step of a derivation: the claim in words and the two sides sympy must find equal."""

    claim: str
    lhs: sp.Expr
    rhs: sp.Expr

    def holds(self) -> bool:
        """Whether lhs - rhs simplifies to 0: `simplify(expand(.))`, then `radsimp(together(.))` for the
        steps with square roots that the first leaves unsimplified (docs/theory.md section 8)."""
        diff = sp.simplify(sp.expand(self.lhs - self.rhs))
        if diff == 0:
            return True
        return sp.simplify(sp.radsimp(sp.together(diff))) == 0
