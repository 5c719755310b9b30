"""The conditions the explicit bounds share, defined once (each bound module adds its own step-size range).

Each carries its kind (`altsim.theory.bound.CONDITION_KINDS`), so that code decides by kind and symbol.
"""

from __future__ import annotations

import sympy as sp

from .bound import Condition
from .symbols import (
    L_u,
    L_v,
    gamma_u,
    gamma_v,
    m,
    n,
    noise_correlation,
    reuse_local_draw,
    reuse_sample,
    sigma_u,
    sigma_v,
    stateless,
    tau,
    tau_u,
    tau_v,
)

STEP_RULE = Condition(
    sp.Eq(gamma_u * L_u, gamma_v * L_v), "step rule gamma_u L_u = gamma_v L_v = eta", "step_rule"
)
ONE_STEP = Condition(sp.Eq(tau, 1), "one local step", "local_steps")
ONE_STEP_EACH = (
    Condition(sp.Eq(tau_u, 1), "one local step on u", "local_steps"),
    Condition(sp.Eq(tau_v, 1), "one local step on v", "local_steps"),
)
FULL_PARTICIPATION = Condition(sp.Eq(m, n), "full participation", "participation")
PARTIAL_PARTICIPATION = (
    Condition(sp.LessThan(m, n), "m <= n", "participation"),
    Condition(sp.GreaterThan(n, 2), "n >= 2", "participation"),
)
DETERMINISTIC = (
    Condition(sp.Eq(sigma_u, 0), "deterministic u-gradients", "noise"),
    Condition(sp.Eq(sigma_v, 0), "deterministic v-gradients", "noise"),
)
STATEFUL_CLIENTS = Condition(
    sp.Eq(stateless, 0), "clients keep v_i between rounds (the proofs assume it)", "client_state"
)
FRESH_U_SAMPLE = (
    Condition(
        sp.Eq(reuse_sample, 0),
        "fresh sample for the u-step, independent of the v-step's "
        "(FedAlt's proofs take the u-gradient's noise independent of the v-step)",
        "sample_independence",
    ),
    Condition(
        sp.Eq(noise_correlation, 0),
        "u-gradient noise uncorrelated with the v-step's noise (FedAlt's proofs "
        "take the u-noise to have mean zero given the v-step, which moved v on the v-noise)",
        "sample_independence",
    ),
)
"""What FedAlt's stochastic proofs need of the u-step's noise: a fresh draw, independent of the v-step's."""


def fresh_local_draws(extra_steps: sp.Expr) -> Condition:
    """What the local-step stochastic proofs need: each local step's noise independent of the round's
    other steps' (they average the noise over the steps, dividing its variance by their number). A run
    that reuses one draw per round (`reuse_local_draw = 1`) breaks it once a round takes more than one
    step on a block, `extra_steps` > 0 (tau - 1 for FedSim, tau_u + tau_v - 2 for FedAlt)."""
    return Condition(
        sp.Eq(reuse_local_draw * extra_steps, 0),
        "a fresh draw at every local step, independent of the round's other steps "
        "(the proof divides the noise's variance by the number of steps)",
        "sample_independence",
    )
