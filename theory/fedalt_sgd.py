r"""FedAlt with one local step per block, full participation: explicit bounds [D].

Problem
-------
As in `altsim.theory.fedsim_sgd`: F(u, V) = (1/n) sum_i F_i(u, v_i) with A1 (L_u, L_v,
L_uv, chi = L_uv/sqrt(L_u L_v)), A2 (sigma_u^2, sigma_v^2, noise independent across
clients and steps).

Algorithm (FedAlt, tau_u = tau_v = 1, m = n)
--------------------------------------------
Round t: every client i
1. v_i^{t+1} = v_i^t - gamma_v h_i, with h_i a stochastic grad_v F_i(u^t, v_i^t);
2. u_i = u^t - gamma_u g_i, with g_i a stochastic grad_u F_i(u^t, v_i^{t+1}) (the **new** v).
The server sets u^{t+1} = (1/n) sum_i u_i. Step sizes gamma_u = eta/L_u, gamma_v = eta/L_v.

Theoretical guarantee
---------------------
With c(eta) = eta (1 - eta/2), s = eta chi, alpha* = (s^2 + s sqrt(s^2 + 4)) / 2 and
r = 1 + alpha*, for every 0 < eta < 2:

.. math::
    \frac1T \sum_{t<T} E\Delta_t \le \frac{r\,\Delta F_0}{c(\eta) T}
    + \alpha^* \frac{\sigma_v^2}{L_v}
    + \frac{r \eta^2}{2 c(\eta)}\Big(\frac{\sigma_v^2}{L_v} + \frac{\sigma_u^2}{n L_u}\Big).

With sigma = 0 this is r Delta F_0 / (c(eta) T). It tightens the crude form of docs/theory.md section 7.5
2 Delta F_0 / (c(eta) T) (which needs eta <= 1/(chi sqrt 2)): there alpha* <= 1, so r <= 2, and
it needs no cap on eta beyond eta < 2. With chi = 0 it equals the FedSim bound.

Proof sketch
------------
1. v-step (u fixed), per client: E F_i(u, v_i^+) <= F_i - c(eta) y_i^2 + eta^2 sigma_v^2/(2 L_v).
2. u-step (V^+ fixed; F(., V^+) is L_u-smooth):
   E F(u^+, V^+) <= F(u, V^+) - c(eta) x_+^2 + eta^2 sigma_u^2 / (2 n L_u), where
   x_+ = ||grad_u F(u, V^+)|| / sqrt(L_u).
3. Back to the start of the round: ||grad_u F(u, V^+) - grad_u F(u, V)|| <= (1/n) sum_i L_uv ||v_i^+ - v_i||,
   i.e. |x_+ - x| <= eta chi M with E M^2 <= Y^2 + sigma_v^2/L_v.
4. Weighted Young: x^2 <= (1 + alpha) x_+^2 + (1 + 1/alpha) eta^2 chi^2 M^2 for every alpha > 0, so
   -c x_+^2 <= -c x^2/(1+alpha) + c (s^2/alpha) M^2.
5. E F^{t+1} <= F^t - c [x^2/(1+alpha) + (1 - s^2/alpha) Y^2] + noise. The two weights are equal,
   1/(1+alpha) = 1 - s^2/alpha, at alpha = alpha*, the positive root of alpha^2 - s^2 alpha - s^2.
6. Telescope, F^T >= F*, divide by T c / r.
Each algebraic step is an `Identity` in `DERIVATION`, checked by tests/test_theory.py.

References
----------
Pillutla et al., Federated Learning with Partial Model Personalization, ICML 2022: the
algorithm [P]. Bound and proof: this project [D].

Example
-------
>>> from altsim.theory import fedalt_sgd
>>> b = fedalt_sgd.fedalt_gd_full()
>>> round(float(b.evaluate(Delta_F0=1.0, T=10, eta=1.0, chi=0.0)), 12)   # chi = 0: 2 DF0/T
0.2
>>> float(b.evaluate(Delta_F0=1.0, T=10, eta=0.5, chi=1.0)) < 2 * 1.0 / (0.5 * 0.75 * 10)  # beats the crude form
True
"""

from __future__ import annotations

import sympy as sp

from .bound import Bound, Condition
from .conditions import (
    DETERMINISTIC,
    FRESH_U_SAMPLE,
    FULL_PARTICIPATION,
    ONE_STEP_EACH,
    STATEFUL_CLIENTS,
    STEP_RULE,
)
from .derivation import Identity
from .fedsim_sgd import fedsim_sgd_full
from .symbols import Delta_F0, L_u, L_v, T, chi, eta, n, sigma_u, sigma_v

REFERENCE = "altsim [D], theory/fedalt_sgd.py; algorithm of Pillutla et al., ICML 2022"

c_eta = eta * (1 - eta / 2)
"""Descent coefficient of one block gradient step of normalised size eta."""


def _alpha_of(s: sp.Expr) -> sp.Expr:
    """Positive root of alpha^2 - s^2 alpha - s^2 = 0."""
    return (s**2 + s * sp.sqrt(s**2 + 4)) / 2


alpha_star = _alpha_of(eta * chi)
"""Young weight that balances the x^2 and Y^2 coefficients."""
r_eta = 1 + alpha_star


def _stochastic_expr() -> sp.Expr:
    return (
        r_eta * Delta_F0 / (c_eta * T)
        + alpha_star * sigma_v**2 / L_v
        + r_eta * eta**2 / (2 * c_eta) * (sigma_v**2 / L_v + sigma_u**2 / (n * L_u))
    )


_CONDITIONS = (
    *ONE_STEP_EACH,
    STEP_RULE,
    Condition(sp.StrictLessThan(eta, 2), "step size range eta < 2", "step_range"),
    FULL_PARTICIPATION,
    STATEFUL_CLIENTS,
)
_STOCHASTIC_CONDITIONS = _CONDITIONS + FRESH_U_SAMPLE


def fedalt_sgd_full() -> Bound:
    """The [D] bound on stochastic FedAlt with full participation and one local step per block.

    Bounds (1/T) sum_{t<T} E[Delta_t] by r Delta_F0/(c(eta) T) + alpha* sigma_v^2/L_v
    + r eta^2 (sigma_v^2/L_v + sigma_u^2/(n L_u)) / (2 c(eta)), with c(eta) = eta (1 - eta/2) and
    r = 1 + alpha*, where the weighted-Young weight alpha* = (s^2 + s sqrt(s^2 + 4))/2, s = eta chi, is fixed in
    closed form (it balances the x^2 and Y^2 coefficients), for eta < 2. Implements docs/theory.md
    section 7.6; it needs the u-step's fresh sample (condition kind `sample_independence`). No free weights.

    Example:
        >>> from altsim.testing import example_pair
        >>> measured, bound = example_pair("fedalt_sgd_full")   # 6 clients, noisy gradients, 8 seeds
        >>> bool(measured <= bound), round(measured / bound, 1)
        (True, 0.5)
        >>> alt, sim = example_pair("fedalt_sgd_full", chi=0.0), example_pair("fedsim_sgd_full", chi=0.0)
        >>> bool(abs(alt[1] / sim[1] - 1) < 1e-9)   # chi = 0: FedSim's bound (docs/theory.md section 6)
        True
    """
    return Bound(
        name="fedalt_sgd_full",
        algorithm="fedalt",
        expression=_stochastic_expr(),
        conditions=_STOCHASTIC_CONDITIONS,
        provenance="D",
        reference=REFERENCE,
        summary="FedAlt, stochastic, full participation, tau_u=tau_v=1 (weighted-Young tightening)",
        eta_max=sp.Integer(2),
        rate="T^-1/2 (eta ~ T^-1/2)",
    )


def fedalt_gd_full() -> Bound:
    """The [D] bound on deterministic FedAlt with full participation and one local step per block.

    Bounds (1/T) sum_{t<T} Delta_t by r Delta_F0 / (c(eta) T), c(eta) = eta (1 - eta/2), r = 1 + alpha*
    (alpha* as in `fedalt_sgd_full`), for eta < 2: the case sigma = 0 of `fedalt_sgd_full`, and tighter
    than the crude 2 Delta_F0 / (c(eta) T). Implements docs/theory.md section 7.5. No free weights.

    Example:
        >>> from altsim.testing import example_pair
        >>> measured, bound = example_pair("fedalt_gd_full")   # exact gradients, every client: one seed
        >>> bool(measured <= bound), round(measured / bound, 1)
        (True, 0.4)
        >>> alt = example_pair("fedalt_gd_full", chi=0.0, eta=1.0)
        >>> sim = example_pair("fedsim_gd_full", chi=0.0, eta=1.0)
        >>> [round(a / s, 9) for a, s in zip(alt, sim)]   # chi = 0: the same steps, and the same bound
        [1.0, 1.0]
    """
    return Bound(
        name="fedalt_gd_full",
        algorithm="fedalt",
        expression=r_eta * Delta_F0 / (c_eta * T),
        conditions=_CONDITIONS + DETERMINISTIC,
        provenance="D",
        reference=REFERENCE,
        summary="FedAlt, deterministic, full participation, tau_u=tau_v=1 (weighted-Young tightening)",
        eta_max=sp.Integer(2),
        rate="T^-1",
    )


BOUNDS = (fedalt_sgd_full, fedalt_gd_full)


def _derivation() -> tuple[Identity, ...]:
    H, X, Z, a, k = sp.symbols("H X Z alpha k", positive=True)
    rho_ = 1 / r_eta

    return (
        Identity(
            "v-step: -(eta/L_v)H^2 + L_v/2 (eta/L_v)^2 (H^2 + sigma_v^2) = -c(eta) y^2 + eta^2 sigma_v^2/(2L_v)",
            -(eta / L_v) * H**2 + L_v / 2 * (eta / L_v) ** 2 * (H**2 + sigma_v**2),
            -c_eta * H**2 / L_v + eta**2 * sigma_v**2 / (2 * L_v),
        ),
        Identity(
            "cross Lipschitz in normalised units: L_uv (eta/L_v) H / sqrt(L_u) = eta chi H / sqrt(L_v)",
            chi * sp.sqrt(L_u * L_v) * (eta / L_v) * H / sp.sqrt(L_u),
            eta * chi * H / sp.sqrt(L_v),
        ),
        Identity(
            "weighted Young: (1+alpha)X^2 + (1+1/alpha)Z^2 - (X+Z)^2 = (sqrt(alpha)X - Z/sqrt(alpha))^2",
            (1 + a) * X**2 + (1 + 1 / a) * Z**2 - (X + Z) ** 2,
            (sp.sqrt(a) * X - Z / sp.sqrt(a)) ** 2,
        ),
        Identity(
            "alpha* balances the weights: 1/(1+alpha*) = 1 - s^2/alpha*",
            1 / (1 + _alpha_of(k)),
            1 - k**2 / _alpha_of(k),
        ),
        Identity(
            "telescoping: T c(eta)/r * bound = Delta_F0 + T [c (1 - 1/r) sigma_v^2/L_v "
            "+ eta^2/2 (sigma_v^2/L_v + sigma_u^2/(n L_u))]",
            T * c_eta * rho_ * _stochastic_expr(),
            Delta_F0
            + T
            * (
                c_eta * (1 - rho_) * sigma_v**2 / L_v
                + eta**2 / 2 * (sigma_v**2 / L_v + sigma_u**2 / (n * L_u))
            ),
        ),
        Identity(
            "chi = 0: the FedAlt and FedSim full-participation bounds coincide",
            _stochastic_expr().subs(chi, 0),
            fedsim_sgd_full().expression.subs(chi, 0),
        ),
        Identity(
            "deterministic: the stochastic bound at sigma = 0",
            _stochastic_expr().subs({sigma_u: 0, sigma_v: 0}),
            r_eta * Delta_F0 / (c_eta * T),
        ),
    )


DERIVATION = _derivation()
