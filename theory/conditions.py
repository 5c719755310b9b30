"""The conditions the explicit bounds share, defined once (each bound module adds its own step-size range)."""

from __future__ import annotations

import sympy as sp

from .bound import Condition
from .symbols import L_u, L_v, gamma_u, gamma_v, m, n, sigma_u, sigma_v, tau, tau_u, tau_v

STEP_RULE = Condition(sp.Eq(gamma_u * L_u, gamma_v * L_v), "step rule gamma_u L_u = gamma_v L_v = eta")
ONE_STEP = Condition(sp.Eq(tau, 1), "one local step")
ONE_STEP_EACH = (Condition(sp.Eq(tau_u, 1), "one local step on u"), Condition(sp.Eq(tau_v, 1), "one local step on v"))
FULL_PARTICIPATION = Condition(sp.Eq(m, n), "full participation")
PARTIAL_PARTICIPATION = (Condition(sp.LessThan(m, n), "m <= n"), Condition(sp.GreaterThan(n, 2), "n >= 2"))
DETERMINISTIC = (Condition(sp.Eq(sigma_u, 0), "deterministic u-gradients"),
                 Condition(sp.Eq(sigma_v, 0), "deterministic v-gradients"))
