r"""FedAlt with one local step per block under partial participation: an explicit bound [D].

Problem
-------
As in `altsim.theory.fedsim_sgd`: A1 (L_u, L_v, L_uv, chi), A2 (sigma_u^2, sigma_v^2,
independent across clients), A3 (delta^2, at every (u, V)).

Algorithm (FedAlt, tau_u = tau_v = 1, m of n without replacement)
----------------------------------------------------------------
Round t: sample S, |S| = m. Each i in S sets v_i^+ = v_i - (eta/L_v) h_i(u, v_i), then
u_i = u - (eta/L_u) g_i(u, v_i^+). Server: u^+ = mean_{i in S} u_i. Others keep v_i.

Theoretical guarantee
---------------------
With p = m/n, nu_m = (n-m)/(m(n-1)), s = eta chi, for 0 < eta < 1 and
eta chi^2 (1 + 2 eta (1 - eta)) <= m/n:

.. math::
    \frac1T \sum_{t<T} E\big[x_t^2 + p Y_t^2\big] \le \frac{2}{\eta(1-\eta)}
    \Big(\frac{\Delta F_0}{T} + N\Big),\qquad
    N = \frac{p\eta^2\sigma_v^2}{2L_v} + \big(\eta(1-\eta) + \tfrac12\big) s^2 \frac{\sigma_v^2}{L_v}
      + \frac{\eta^2}{L_u}\Big(\nu_m \delta^2 + \frac{\sigma_u^2}{m}\Big).

The measure weighs the personal term by m/n (docs/theory.md section 4, the [R] weight). The step
size cap eta chi^2 (...) <= m/n is the price of sampling: with few clients per round the
personal blocks move rarely, and the coupling must not undo their progress.

Proof sketch
------------
Let v~_i = v_i - (eta/L_v) h_i for *every* client (only the sampled ones are kept), A_i =
grad_u F_i(u, v~_i) and G^ = (1/n) sum_i A_i. Sampling is independent of the noise, so
d = mean_{i in S}(A_i + xi_i) is an unbiased estimate of G^ with
E||d - G^||^2 <= nu_m delta^2 + sigma_u^2/m (A3 at (u, V~)).

1. v-step: E[F(u, V^+) - F(u, V)] <= p (-c y^2 + eta^2 sigma_v^2/(2 L_v)) with c = eta(1 - eta/2).
2. u-step on the L_u-smooth F(., V^+), whose gradient is G^+ = G^ - R with
   R = (1/n) sum_{i not in S}(A_i - grad_u F_i(u, v_i)) and ||R|| <= D = (1/n) sum_i L_uv ||v~_i - v_i||:
   -<G^+, d> + (eta/2)||d||^2 <= -<G^, d> + eta ||d||^2 + D^2/(2 eta)  (Young with weight eta).
   In expectation, times eta/L_u: <= -eta(1-eta) x^^2 + eta^2 (nu_m delta^2 + sigma_u^2/m)/L_u + s^2 M^2/2,
   where D^2 <= eta^2 chi^2 L_u M^2 and E M^2 <= Y^2 + sigma_v^2/L_v.
3. Back to the start of the round: |x^ - x| <= s M, so x^^2 >= x^2/2 - s^2 M^2.
4. The Y^2 coefficient -p c + eta(1-eta) s^2 + s^2/2 is at most -p eta(1-eta)/2 exactly when
   eta chi^2 (1 + 2 eta(1-eta)) <= p, so E F^{t+1} <= F^t - (eta(1-eta)/2)(x^2 + p Y^2) + N.
5. Telescope and divide by T eta(1-eta)/2.
Each algebraic step is an `Identity` in `DERIVATION`, checked by tests/test_theory.py.

References
----------
Pillutla et al., ICML 2022: the algorithm [P]. Bound and proof: this project [D].

Example
-------
>>> from altsim.theory import fedalt_partial
>>> b = fedalt_partial.fedalt_sgd_partial()
>>> v = dict(Delta_F0=1.0, T=100, eta=0.1, chi=0.5, n=10, m=5, L_u=1.0, L_v=1.0, sigma_u=0.0, sigma_v=0.0, delta=0.0)
>>> round(float(b.evaluate(v)), 10)   # 2 DF0 / (T eta (1-eta)) when there is no noise or diversity
0.2222222222
"""

from __future__ import annotations

import sympy as sp

from .bound import Bound, Condition
from .conditions import FRESH_U_SAMPLE, ONE_STEP_EACH, PARTIAL_PARTICIPATION, STATEFUL_CLIENTS, STEP_RULE
from .derivation import Identity
from .scaled import nu_m, p
from .symbols import Delta_F0, L_u, L_v, T, chi, delta, eta, m, n, sigma_u, sigma_v

REFERENCE = "altsim [D], theory/fedalt_partial.py; algorithm of Pillutla et al., ICML 2022"

s = eta * chi
k_x = eta * (1 - eta) / 2
"""Per-round descent coefficient of x^2 + p Y^2."""
noise = (p * eta**2 * sigma_v**2 / (2 * L_v) + (eta * (1 - eta) + sp.Rational(1, 2)) * s**2 * sigma_v**2 / L_v
         + eta**2 * (nu_m * delta**2 + sigma_u**2 / m) / L_u)


def fedalt_sgd_partial() -> Bound:
    return Bound(
        name="fedalt_sgd_partial",
        algorithm="fedalt",
        expression=(Delta_F0 / T + noise) / k_x,
        conditions=(
            *ONE_STEP_EACH,
            STEP_RULE,
            Condition(sp.StrictLessThan(eta, 1), "step size range eta < 1", "step_range"),
            Condition(sp.LessThan(eta * chi**2 * (1 + 2 * eta * (1 - eta)), m / n),
                      "sampling cap eta chi^2 (1 + 2 eta (1 - eta)) <= m/n", "sampling_cap"),
            *PARTIAL_PARTICIPATION,
            STATEFUL_CLIENTS,
            FRESH_U_SAMPLE,
        ),
        provenance="D",
        reference=REFERENCE,
        summary="FedAlt, stochastic, m of n sampled without replacement, tau_u=tau_v=1; measure weight m/n",
        personal_weight=m / n,
        eta_max=sp.Integer(1),
        rate="T^-1/2 (eta ~ T^-1/2)",
    )


BOUNDS = (fedalt_sgd_partial,)


def _derivation() -> tuple[Identity, ...]:
    Dn, R, G, M, X, Y, V = sp.symbols("D R G M X Y V", nonnegative=True)
    return (
        Identity("Young with weight eta: eta/2 D^2 + R^2/(2 eta) - R D = (sqrt(eta) D - R/sqrt(eta))^2 / 2",
                 eta / 2 * Dn**2 + R**2 / (2 * eta) - R * Dn, (sp.sqrt(eta) * Dn - R / sp.sqrt(eta)) ** 2 / 2),
        Identity(
            "u-step in expectation: (eta/L_u)[-(1-eta)G^2 + eta V + eta^2 chi^2 L_u M^2/(2 eta)] = "
            "-eta(1-eta) G^2/L_u + eta^2 V/L_u + s^2 M^2/2",
            (eta / L_u) * (-(1 - eta) * G**2 + eta * V + eta**2 * chi**2 * L_u * M**2 / (2 * eta)),
            -eta * (1 - eta) * G**2 / L_u + eta**2 * V / L_u + s**2 * M**2 / 2,
        ),
        Identity("Young with weight 1: 2 X^2 + 2 (sM)^2 - (X + sM)^2 = (X - sM)^2",
                 2 * X**2 + 2 * (s * M) ** 2 - (X + s * M) ** 2, (X - s * M) ** 2),
        Identity(
            "Y^2 coefficient: p c - eta(1-eta)s^2 - s^2/2 - p eta(1-eta)/2 = (eta/2)(p - eta chi^2 (1 + 2 eta(1-eta)))",
            p * eta * (1 - eta / 2) - eta * (1 - eta) * s**2 - s**2 / 2 - p * eta * (1 - eta) / 2,
            eta / 2 * (p - eta * chi**2 * (1 + 2 * eta * (1 - eta))),
        ),
        Identity(
            "one round: v-step + u-step + Young, at equality in the cap, is -k_x (x^2 + p Y^2) + N",
            (-p * eta * (1 - eta / 2) * Y**2 + p * eta**2 * sigma_v**2 / (2 * L_v))
            + (-eta * (1 - eta) * (X**2 / 2 - s**2 * (Y**2 + sigma_v**2 / L_v))
               + eta**2 * (nu_m * delta**2 + sigma_u**2 / m) / L_u + s**2 / 2 * (Y**2 + sigma_v**2 / L_v))
            + eta / 2 * (p - eta * chi**2 * (1 + 2 * eta * (1 - eta))) * Y**2,
            -k_x * (X**2 + p * Y**2) + noise,
        ),
        Identity("telescoping: T k_x * bound = Delta_F0 + T N",
                 T * k_x * fedalt_sgd_partial().expression, Delta_F0 + T * noise),
    )


DERIVATION = _derivation()
