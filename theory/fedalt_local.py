r"""FedAlt with tau_v personal and tau_u shared local steps, stochastic, m of n sampled: an explicit bound [D].

Problem
-------
As in `altsim.theory.fedsim_sgd`: A1 (L_u, L_v, L_uv, chi), A2 (sigma_u^2, sigma_v^2; each local
step's noise has conditional mean zero given the past, and clients' noises are independent), A3
(delta^2, at every point). Scaled quantities: d^2 = delta^2/L_u, s_u^2 = sigma_u^2/L_u,
s_v^2 = sigma_v^2/L_v, p = m/n, nu_m = (n-m)/(m(n-1)).

Algorithm (FedAlt, Pillutla et al. [P])
---------------------------------------
Round t: sample S, |S| = m, without replacement. Each i in S runs tau_v SGD steps on v from v_i with
u fixed, gamma_v = eta_v/(L_v tau_v), keeping the result v_i^+; then tau_u SGD steps on u from u^t at
v_i^+, gamma_u = eta_u/(L_u tau_u), with a **fresh** sample (independent of the v-steps'). The server
averages the u's; clients outside S keep v_i. The two step sizes are separate (eta_u is `eta`,
eta_v is `eta_v`, equal to eta unless set).

Theoretical guarantee
---------------------
Drift coefficients eps_u = (1 + eta_u/tau_u)^tau_u - 1 - eta_u, eps_v likewise (0 at one step).
For all Young weights theta, omega, beta, phi > 0 (beta = beta_balanced + lambda below), with

.. math::
    K_v = \frac{1}{2\theta\eta_v} + \frac{1 + 1/\theta}{2},\quad
    c_v = \eta_v - \frac{\theta\eta_v}{2} - \frac{(1+\theta)\eta_v^2}{2} - K_v(1+\omega)\epsilon_v^2,\quad
    N_v = \frac{(1+\theta)\eta_v^2 s_v^2}{2\tau_v} + K_v (1 + 1/\omega)\epsilon_v^2 s_v^2,

    K_u = \frac{1}{2\theta\eta_u} + \frac{(1+\phi)(1 + 1/\theta)}{2},\quad
    c_u = \eta_u - \frac{\theta\eta_u}{2} - \frac{(1+\phi)(1+\theta)\eta_u^2}{2} - K_u(1+\omega)\epsilon_u^2,

    N_u = \frac{(1+\phi)(1+\theta)\eta_u^2}{2}\Big(\nu_m d^2 + \frac{s_u^2}{\tau_u m}\Big)
          + K_u\epsilon_u^2\big((1+\omega)d^2 + (1 + 1/\omega)s_u^2\big),

    \mu_H = (1+\theta)\eta_v^2 + (1 + 1/\theta)(1+\omega)\epsilon_v^2,\quad
    \mu_s = \Big(\frac{(1+\theta)\eta_v^2}{\tau_v} + (1 + 1/\theta)(1 + 1/\omega)\epsilon_v^2\Big) s_v^2,

    Q = \chi^2\Big(\frac{c_u}{\beta} + \frac{(1-p)^2}{2\phi}\Big),\quad
    c = \min\Big(\frac{c_u}{1+\beta},\ c_v - \frac{Q\mu_H}{p}\Big) > 0:

    \frac1T \sum_{t<T} E[x_t^2 + p Y_t^2] \le \frac{\Delta F_0/T + p N_v + N_u + Q \mu_s}{c}.

beta is taken at or above where the two coefficients agree: beta = beta_balanced + lambda, with
beta_balanced the positive root of b_0 beta^2 + (b_0 - k_0 - c_u) beta - k_0 (k_0 = chi^2 mu_H c_u/p), so that
c = c_u/(1 + beta); this needs c_u > 0 and b_0 = c_v - chi^2 mu_H (1-p)^2/(2 phi p) > 0.
The bound is the infimum over theta, omega, phi, lambda (searched numerically, `altsim.theory.weights`).
Reductions (tests/test_local_bounds.py): with tau_u = tau_v = 1 and m = n it equals
`fedalt_sgd_full` exactly (theta, phi -> 0, beta = alpha*); with chi = 0 and one step each it equals
`fedsim_sgd_partial` at chi = 0; with one step each and m < n it is compared with
`fedalt_sgd_partial` on a grid. Unlike that bound it has no sampling cap: the unsampled clients'
residual carries (1 - m/n)^2 and its own weight phi.

Proof sketch
------------
Let v~_i be the v-phase's result for *every* client (computed with noise independent of S; only the
sampled keep it), H_i = grad_v F_i(u, v_i), A_i = grad_u F_i(u, v~_i), A^ = (1/n) sum_i A_i,
D_i = ||v~_i - v_i||.
1. v-phase, per client, u fixed (F_i(u, .) is 1-smooth in scaled units): displacement
   -eta_v H_i - N_i + E_i, E||N_i||^2 <= eta_v^2 s_v^2/tau_v, ||E_i||_{L2} <= eps_v (||H_i|| + s_v)
   (drift lemma of `fedsim_local` with L = 1). Young (theta eta_v) on <H_i, E_i>, weighted Young
   (theta) on the square, (sqrt X + s)^2 <= (1+omega) X + (1+1/omega) s^2:
   E F_i(u, v~_i) - F_i(u, v_i) <= -c_v ||H_i||^2 + N_v. Only sampled clients keep v~_i: times p.
   The same splits give E D_i^2 <= mu_H ||H_i||^2 + mu_s.
2. u-phase on the 1-smooth F(., V^+), gradient A^ - R with R = (1/n) sum_{i not in S}(A_i - grad_u F_i(u, v_i)):
   -<R, a> <= (phi/2)||a||^2 + ||R||^2/(2 phi); the sampled mean of A_i is unbiased for A^ with
   variance <= nu_m d^2 (A3 at (u, V~)); the u-drift as in step 1 with weights theta, omega:
   E F(u^+, V^+) - F(u, V^+) <= -c_u ||A^||^2 + N_u + E||R||^2/(2 phi).
3. Unsampled residual: ||R|| <= (chi/n) sum_{i not in S} D_i, so by Cauchy-Schwarz and P(i not in S) = 1 - p,
   E||R||^2 <= chi^2 (1-p)^2 (1/n) sum_i E D_i^2.
4. Back to the round's start: ||A^ - grad_u F|| <= chi sqrt((1/n) sum D_i^2), so
   x^2 <= (1+beta)||A^||^2 + (1 + 1/beta) chi^2 (1/n) sum D_i^2, i.e.
   -c_u ||A^||^2 <= -c_u x^2/(1+beta) + (c_u/beta) chi^2 (1/n) sum D_i^2.
5. Sum: E F^{t+1} - F^t <= -(c_u/(1+beta)) x^2 - (p c_v - Q mu_H) Y^2 + p N_v + N_u + Q mu_s
   <= -c (x^2 + p Y^2) + N; telescope, F^T >= F*, divide by T c.
Each algebraic step is an `Identity` in `DERIVATION`; the lemmas are checked by Monte Carlo on
random instances in tests/test_local_bounds.py. The fresh u-sample is used in step 2 (the u-noise has
mean zero given V~): a u-step reusing the v-step's sample is refused (condition `sample_independence`).

References
----------
Pillutla et al., Federated Learning with Partial Model Personalization, ICML 2022: the algorithm [P].
Bound and proof: this project [D].

Example
-------
>>> from altsim.theory import fedalt_local, fedalt_sgd
>>> b = fedalt_local.fedalt_sgd_local()
>>> v = dict(Delta_F0=1.0, T=100, eta=0.5, chi=0.5, n=10, m=10, L_u=1.0, L_v=1.0, sigma_u=0.3, sigma_v=0.2,
...          delta=0.0, tau_u=1, tau_v=1)
>>> full = float(fedalt_sgd.fedalt_sgd_full().evaluate(v))
>>> abs(float(b.evaluate(v)) / full - 1) < 1e-6     # one step each, m = n: the full-participation bound
True
"""

from __future__ import annotations

import sympy as sp

from .bound import Bound, Condition
from .conditions import (
    FRESH_U_SAMPLE,
    PARTIAL_PARTICIPATION,
    STATEFUL_CLIENTS,
    fresh_local_draws,
)
from .derivation import Identity
from .fedalt_sgd import _alpha_of, alpha_star, fedalt_sgd_full
from .fedsim_sgd import fedsim_sgd_partial
from .scaled import d2, nu_m, p, s_u2, s_v2
from .symbols import Delta_F0, T, beta, chi, eta, eta_v, lam, m, n, omega, phi, tau_u, tau_v, theta

REFERENCE = "altsim [D], theory/fedalt_local.py; algorithm of Pillutla et al., ICML 2022"

eta_u = eta


def drift(step: sp.Expr, steps: sp.Expr) -> sp.Expr:
    """eps for `steps` SGD steps of total normalised size `step` on a 1-smooth block."""
    return (1 + step / steps) ** steps - 1 - step


eps_u, eps_v = drift(eta_u, tau_u), drift(eta_v, tau_v)
K_v = 1 / (2 * theta * eta_v) + (1 + 1 / theta) / 2
c_v = eta_v - theta * eta_v / 2 - (1 + theta) * eta_v**2 / 2 - K_v * (1 + omega) * eps_v**2
N_v = (1 + theta) * eta_v**2 * s_v2 / (2 * tau_v) + K_v * (1 + 1 / omega) * eps_v**2 * s_v2
K_u = 1 / (2 * theta * eta_u) + (1 + phi) * (1 + 1 / theta) / 2
c_u = (
    eta_u
    - theta * eta_u / 2
    - (1 + phi) * (1 + theta) * eta_u**2 / 2
    - K_u * (1 + omega) * eps_u**2
)
N_u = (1 + phi) * (1 + theta) * eta_u**2 / 2 * (nu_m * d2 + s_u2 / (tau_u * m)) + K_u * eps_u**2 * (
    (1 + omega) * d2 + (1 + 1 / omega) * s_u2
)
mu_H = (1 + theta) * eta_v**2 + (1 + 1 / theta) * (1 + omega) * eps_v**2
"""E D_i^2 <= mu_H ||H_i||^2 + mu_s: how far a client's v moves in the v-phase."""
mu_s = ((1 + theta) * eta_v**2 / tau_v + (1 + 1 / theta) * (1 + 1 / omega) * eps_v**2) * s_v2
Q = chi**2 * (c_u / beta + (1 - p) ** 2 / (2 * phi))
"""What a unit of (1/n) sum_i D_i^2 costs: going back to the round's start (beta) and the unsampled residual (phi)."""
c_x = c_u / (1 + beta)
c_Y = p * c_v - Q * mu_H
b_0 = c_v - chi**2 * mu_H * (1 - p) ** 2 / (2 * phi * p)
k_0 = chi**2 * mu_H * c_u / p


def _root(b: sp.Expr, k: sp.Expr, c: sp.Expr) -> sp.Expr:
    """The positive root of b r^2 + (b - k - c) r - k = 0 (b, k > 0)."""
    return (-(b - k - c) + sp.sqrt((b - k - c) ** 2 + 4 * b * k)) / (2 * b)


beta_balanced = _root(b_0, k_0, c_u)
"""The beta at which the x^2 and Y^2 descent coefficients agree, c_u/(1+beta) = c_Y/p: the positive root of
b_0 beta^2 + (b_0 - k_0 - c_u) beta - k_0 = 0. c_x falls and c_Y rises with beta, and N falls with beta, so
no beta below it does better: the proof takes beta = beta_balanced + lambda, lambda > 0 a free weight, and
then c = c_x. Real and nonnegative when c_u > 0 and b_0 > 0."""
beta_used = beta_balanced + lam
c_alt = c_x.subs(beta, beta_used)
N_alt = (p * N_v + N_u + Q * mu_s).subs(beta, beta_used)
descent_alt = sp.Min(c_u, b_0)
"""Some beta > 0 makes both coefficients positive exactly when c_u > 0 and b_0 > 0 (c_Y/p < b_0 for every beta)."""


def fedalt_sgd_local() -> Bound:
    """The [D] bound on stochastic FedAlt with m of n clients sampled, any tau_u, tau_v >= 1 and separate step sizes.

    Bounds (1/T) sum_{t<T} E[x_t^2 + (m/n) Y_t^2] by (Delta_F0/T + p N_v + N_u + Q mu_s)/c, with eta for
    the u-block and eta_v (equal to eta unless set) for the v-block, each below 2, and a positive descent
    coefficient for some weights; it needs the u-step's fresh sample, and has no step rule and no sampling
    cap. Implements docs/theory.md section 7.10. The proof holds for all Young weights theta, omega,
    phi, lambda > 0; the bound is the infimum over them, which `altsim.theory.weights.minimise_over_weights`
    searches when the bound is evaluated (docs/theory.md section 7.8), as `Condition.check` searches
    theta, omega, phi for the descent condition.

    Example:
        >>> from altsim.testing import example_pair
        >>> measured, bound = example_pair("fedalt_sgd_local")   # tau_u = tau_v = 2, 3 of 6 clients
        >>> bool(measured <= bound), round(measured / bound, 1)
        (True, 0.4)
        >>> one = example_pair("fedalt_sgd_local", tau_u=1, tau_v=1, eta=0.4)
        >>> partial = example_pair("fedalt_sgd_partial", eta=0.4)
        >>> bool(abs(one[1] / partial[1] - 1) < 1e-6)   # one step each: fedalt_sgd_partial's bound
        True
    """
    return Bound(
        name="fedalt_sgd_local",
        algorithm="fedalt",
        expression=(Delta_F0 / T + N_alt) / c_alt,
        conditions=(
            *PARTIAL_PARTICIPATION,
            STATEFUL_CLIENTS,
            *FRESH_U_SAMPLE,
            fresh_local_draws(tau_u + tau_v - 2),
            Condition(sp.StrictLessThan(eta, 2), "u step size range eta < 2", "step_range"),
            Condition(sp.StrictLessThan(eta_v, 2), "v step size range eta_v < 2", "step_range"),
            Condition(
                sp.StrictGreaterThan(descent_alt, 0),
                "descent: c_u > 0 and c_v - chi^2 mu_H (1-p)^2/(2 phi p) > 0 "
                "for some Young weights theta, omega, phi",
                "descent",
                weights=("theta", "omega", "phi"),
            ),
        ),
        provenance="D",
        reference=REFERENCE,
        summary="FedAlt, stochastic, m of n sampled without replacement, any tau_u, tau_v >= 1, separate step sizes "
        "eta (u) and eta_v (v); measure weight m/n; infimum over four Young weights",
        personal_weight=p,
        eta_max=sp.Integer(2),
        rate="T^-1/2 with noise (eta ~ T^-1/2); T^-2/3 from the drift when only delta > 0",
        weights=("theta", "omega", "phi", "lambda"),
        descent=descent_alt,
    )


BOUNDS = (fedalt_sgd_local,)


def _derivation() -> tuple[Identity, ...]:

    H2, A2, X2, Dsum, Wv, Wu = sp.symbols("H2 A2 X2 Dsum W_v W_u", nonnegative=True)
    Bq, Kq, Cq, Rq = sp.symbols("b k c r", positive=True)
    A, B, Z = sp.symbols("A B Z", nonnegative=True)
    k_int = sp.Symbol("k", integer=True, nonnegative=True)
    bound = fedalt_sgd_local().expression
    # v-phase per client: linear -eta_v H2 + Young (theta eta_v/2) H2 + W_v/(2 theta eta_v),
    # quadratic (1/2)[(1+theta) eta_v^2 (H2 + s_v^2/tau_v) + (1+1/theta) W_v], W_v at its bound
    Wv_bound = eps_v**2 * ((1 + omega) * H2 + (1 + 1 / omega) * s_v2)
    v_phase = (
        -eta_v * H2
        + theta * eta_v / 2 * H2
        + Wv / (2 * theta * eta_v)
        + sp.Rational(1, 2) * ((1 + theta) * eta_v**2 * (H2 + s_v2 / tau_v) + (1 + 1 / theta) * Wv)
    )
    Wu_bound = eps_u**2 * ((1 + omega) * (A2 + d2) + (1 + 1 / omega) * s_u2)
    u_phase = (
        -eta_u * A2
        + theta * eta_u / 2 * A2
        + Wu / (2 * theta * eta_u)
        + (1 + phi)
        / 2
        * ((1 + theta) * eta_u**2 * (A2 + nu_m * d2 + s_u2 / (tau_u * m)) + (1 + 1 / theta) * Wu)
    )
    full_alt = fedalt_sgd_full().expression
    sim_partial = fedsim_sgd_partial().expression
    one_step = {tau_u: 1, tau_v: 1}
    return (
        Identity(
            "drift on a 1-smooth block: alpha sum_{k<tau} ((1 + alpha)^k - 1) = (1 + alpha)^tau - 1 - alpha tau",
            sp.simplify(
                (eta / tau_u) * sp.summation((1 + eta / tau_u) ** k_int - 1, (k_int, 0, tau_u - 1))
            ),
            eps_u,
        ),
        Identity(
            "v-phase per client: linear + Young + quadratic = -c_v ||H||^2 + N_v at the bound on the drift",
            v_phase.subs(Wv, Wv_bound),
            -c_v * H2 + N_v,
        ),
        Identity(
            "the v-move: (1+theta) eta_v^2 (H^2 + s_v^2/tau_v) + (1+1/theta) W_v = mu_H H^2 + mu_s",
            ((1 + theta) * eta_v**2 * (H2 + s_v2 / tau_v) + (1 + 1 / theta) * Wv).subs(
                Wv, Wv_bound
            ),
            mu_H * H2 + mu_s,
        ),
        Identity(
            "u-phase: linear + Young + (1+phi)/2 quadratic = -c_u ||A^||^2 + N_u at the bound on the drift",
            u_phase.subs(Wu, Wu_bound),
            -c_u * A2 + N_u,
        ),
        Identity(
            "Young with weight phi: (phi/2) A^2 + B^2/(2 phi) - A B = (sqrt(phi) A - B/sqrt(phi))^2/2",
            phi / 2 * A**2 + B**2 / (2 * phi) - A * B,
            (sp.sqrt(phi) * A - B / sp.sqrt(phi)) ** 2 / 2,
        ),
        Identity(
            "back to the start: (1+beta) A^2 + (1+1/beta) Z^2 - (A+Z)^2 = (sqrt(beta) A - Z/sqrt(beta))^2",
            (1 + beta) * A**2 + (1 + 1 / beta) * Z**2 - (A + Z) ** 2,
            (sp.sqrt(beta) * A - Z / sp.sqrt(beta)) ** 2,
        ),
        Identity(
            "(1 + 1/beta)/(1 + beta) = 1/beta: multiplying step 4 by c_u/(1+beta)",
            (1 + 1 / beta) / (1 + beta),
            1 / beta,
        ),
        Identity(
            "one round: p(-c_v Y^2 + N_v) - c_u X^2/(1+beta) + Q (mu_H Y^2 + mu_s) + N_u "
            "= -c_x X^2 - c_Y Y^2 + N",
            p * (-c_v * H2 + N_v) - c_u * X2 / (1 + beta) + Q * (mu_H * H2 + mu_s) + N_u,
            -c_x * X2 - c_Y * H2 + p * N_v + N_u + Q * mu_s,
        ),
        Identity(
            "beta_balanced is a root of b_0 beta^2 + (b_0 - k_0 - c_u) beta - k_0 (checked on plain symbols)",
            (Bq * Rq**2 + (Bq - Kq - Cq) * Rq - Kq).subs(Rq, _root(Bq, Kq, Cq)),
            sp.Integer(0),
        ),
        Identity(
            "beta_balanced is that root at b_0, k_0, c_u", beta_balanced, _root(b_0, k_0, c_u)
        ),
        Identity(
            "(c_Y/p - c_x) beta (1+beta) is that quadratic: c_x = c_Y/p at its positive root, and c_Y/p >= c_x "
            "for every beta above it",
            (c_Y / p - c_x) * beta * (1 + beta),
            b_0 * beta**2 + (b_0 - k_0 - c_u) * beta - k_0,
        ),
        Identity(
            "unsampled residual: chi^2 (1-p)^2 Dsum/(2 phi) + (c_u/beta) chi^2 Dsum = Q Dsum",
            chi**2 * (1 - p) ** 2 * Dsum / (2 * phi) + c_u / beta * chi**2 * Dsum,
            Q * Dsum,
        ),
        Identity(
            "the bound is (Delta_F0/T + N)/c with N, c at beta = beta_balanced + lambda",
            bound,
            (Delta_F0 / T + N_alt) / c_alt,
        ),
        Identity(
            "telescoping: T c (Delta_F0/T + N)/c = Delta_F0 + T N (plain symbols)",
            T * Cq * (Delta_F0 / T + Kq) / Cq,
            Delta_F0 + T * Kq,
        ),
        Identity(
            "one step each, m = n, theta, phi -> 0: b_0 = c_u",
            (b_0 - c_u).subs(one_step).subs({m: n, eta_v: eta}).subs({theta: 0, phi: 0}),
            sp.Integer(0),
        ),
        Identity(
            "... and k_0 = (eta chi)^2 c_u",
            (k_0 - (eta * chi) ** 2 * c_u)
            .subs(one_step)
            .subs({m: n, eta_v: eta})
            .subs({theta: 0, phi: 0}),
            sp.Integer(0),
        ),
        Identity(
            "... so beta_balanced = root(c, s^2 c, c) = alpha*(s), fedalt_sgd_full's weight (plain symbols)",
            _root(Cq, Rq**2 * Cq, Cq),
            _alpha_of(Rq),
        ),
        Identity(
            "... and with lambda -> 0 the bound is fedalt_sgd_full",
            ((Delta_F0 / T + p * N_v + N_u + Q * mu_s) / c_x)
            .subs(one_step)
            .subs({m: n, eta_v: eta})
            .subs({theta: 0, phi: 0})
            .subs(beta, alpha_star),
            full_alt,
        ),
        Identity(
            "one step each, chi = 0, theta, phi, lambda -> 0: the bound is fedsim_sgd_partial at chi = 0",
            ((Delta_F0 / T + p * N_v + N_u + Q * mu_s) / c_x)
            .subs(one_step)
            .subs({chi: 0, eta_v: eta})
            .subs({theta: 0, phi: 0, beta: 0}),
            sim_partial.subs(chi, 0),
        ),
    )


DERIVATION = _derivation()
