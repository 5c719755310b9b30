r"""FedAlt with one local step per block under partial participation: an explicit bound [D].

Problem
-------
As in `altsim.theory.fedsim_sgd`: A1 (L_u, L_v, L_uv, chi), A2 (sigma_u^2, sigma_v^2,
independent across clients), A3 (delta^2, at every (u, V)).

Algorithm (FedAlt, tau_u = tau_v = 1, m of n without replacement)
----------------------------------------------------------------
Round t: sample S, |S| = m. Each i in S sets v_i^+ = v_i - (eta/L_v) h_i(u, v_i), then
u_i = u - (eta/L_u) g_i(u, v_i^+), g_i drawn afresh. Server: u^+ = mean_{i in S} u_i. Others keep v_i.

Theoretical guarantee
---------------------
With p = m/n, nu_m = (n-m)/(m(n-1)), c = eta(1 - eta/2) and, for Young weights phi, beta > 0,

.. math::
    c_u = \eta - (1+\phi)\frac{\eta^2}2,\quad
    Q = \chi^2\Big(\frac{c_u}{\beta} + \frac{(1-p)^2}{2\phi}\Big),\quad
    \rho = \min\Big(\frac{c_u}{1+\beta},\ c - \frac{Q\eta^2}{p}\Big) > 0:

    \frac1T \sum_{t<T} E\big[x_t^2 + p Y_t^2\big] \le \frac1\rho\Big(\frac{\Delta F_0}{T}
    + \frac{p\eta^2\sigma_v^2}{2L_v} + (1+\phi)\frac{\eta^2}{2L_u}\Big(\nu_m\delta^2 + \frac{\sigma_u^2}{m}\Big)
    + Q\eta^2\frac{\sigma_v^2}{L_v}\Big).

beta is taken at or above the value where the two coefficients agree (beta = beta_balanced + lambda,
as in `fedalt_local`), so the bound is an infimum over phi and lambda, searched numerically
(`altsim.theory.weights`). Some weights descend exactly when eta chi (1 - p) < sqrt(p) (2 - eta):
that is the only condition left of the earlier form's sampling cap eta chi^2 (1 + 2 eta(1-eta)) <= p.
It is the one-step case of `fedalt_sgd_local` (an identity in `DERIVATION`). At m = n it is
`fedalt_sgd_full`, at chi = 0 `fedsim_sgd_partial` at chi = 0, and at the earlier form's weights
it is never above that form (`CAPPED_FORM`, kept for the comparison).

Proof sketch
------------
Let v~_i = v_i - (eta/L_v) h_i for *every* client (only the sampled keep it), A_i =
grad_u F_i(u, v~_i), A^ = (1/n) sum_i A_i, x^ = ||A^||/sqrt(L_u), M^2 = (1/n) sum_i ||h_i||^2 / L_v
(E M^2 <= Y^2 + sigma_v^2/L_v), s = eta chi. Sampling is independent of the noise, and the u-step's
sample is fresh, so d = mean_{i in S}(A_i + xi_i) is unbiased for A^ with
E||d - A^||^2 <= nu_m delta^2 + sigma_u^2/m (A3 at (u, V~)).

1. v-step: E[F(u, V^+) - F(u, V)] <= p (-c Y^2 + eta^2 sigma_v^2/(2 L_v)).
2. u-step on the L_u-smooth F(., V^+), whose gradient is A^ - R with
   R = (1/n) sum_{i not in S}(A_i - grad_u F_i(u, v_i)): only unsampled clients enter R.
   Young with weight phi eta on <R, d>, then in expectation, times eta/L_u:
   <= -c_u x^^2 + (1+phi) eta^2 (nu_m delta^2 + sigma_u^2/m)/(2 L_u) + E||R||^2 / (2 phi L_u).
3. Unsampled residual: ||R|| <= (1/n) sum_{i not in S} L_uv ||v~_i - v_i||; Cauchy-Schwarz over the
   n - m terms and P(i not in S) = 1 - p give E||R||^2 / L_u <= (1-p)^2 s^2 M^2.
4. Back to the round's start: |x^ - x| <= s M, so x^2 <= (1+beta) x^^2 + (1 + 1/beta) s^2 M^2 and
   -c_u x^^2 <= -c_u x^2/(1+beta) + (c_u/beta) s^2 M^2.
5. Sum: E F^{t+1} - F^t <= -(c_u/(1+beta)) x^2 - (p c - Q eta^2) Y^2 + N <= -rho (x^2 + p Y^2) + N;
   telescope, F^T >= F*, divide by T rho.
These are the steps of `fedalt_sgd_local` with no drift (eps_u = eps_v = 0, theta -> 0); its
identities and Monte Carlo checks (tests/test_local_bounds.py) cover them.

References
----------
Pillutla et al., ICML 2022: the algorithm [P]. Bound and proof: this project [D].

Example
-------
>>> from altsim.theory import fedalt_partial
>>> b = fedalt_partial.fedalt_sgd_partial()
>>> v = dict(Delta_F0=1.0, T=100, eta=0.1, chi=0.0, n=10, m=5, L_u=1.0, L_v=1.0, sigma_u=0.0, sigma_v=0.0, delta=0.0)
>>> round(float(b.evaluate(v)), 6)   # chi = 0, no noise or diversity: DF0 / (T eta (1 - eta/2))
0.105263
>>> from altsim.theory.symbols import SYMBOLS
>>> w = {**v, "chi": 0.5}
>>> capped = float(fedalt_partial.CAPPED_FORM.subs({SYMBOLS[k]: x for k, x in w.items()}))
>>> round(float(b.evaluate(w)), 4), round(capped, 4)   # the earlier form at the same point
(0.1151, 0.2222)
"""

from __future__ import annotations

import sympy as sp

from . import fedalt_local as _local
from .bound import Bound, Condition
from .conditions import (
    FRESH_U_SAMPLE,
    ONE_STEP_EACH,
    PARTIAL_PARTICIPATION,
    STATEFUL_CLIENTS,
    STEP_RULE,
)
from .derivation import Identity
from .fedalt_sgd import alpha_star, fedalt_sgd_full
from .fedsim_sgd import fedsim_sgd_partial
from .scaled import nu_m, p
from .symbols import (
    Delta_F0,
    L_u,
    L_v,
    T,
    beta,
    chi,
    delta,
    eta,
    eta_v,
    m,
    n,
    phi,
    sigma_u,
    sigma_v,
    tau_u,
    tau_v,
    theta,
)

REFERENCE = "altsim [D], theory/fedalt_partial.py; algorithm of Pillutla et al., ICML 2022"

ONE_STEP_EACH_VALUES = {tau_u: 1, tau_v: 1, eta_v: eta}


def _one_step(expr: sp.Expr) -> sp.Expr:
    """`fedalt_local`'s expression with one step on each block and eta_v = eta: no drift, so theta -> 0
    (the terms theta multiplied vanish with eps, and the rest only grows with theta)."""
    return expr.subs(ONE_STEP_EACH_VALUES).subs(theta, 0)


c_u = _one_step(_local.c_u)
Q = _one_step(_local.Q)
c_x, c_Y = _one_step(_local.c_x), _one_step(_local.c_Y)
beta_used = _one_step(_local.beta_used)
noise = _one_step(p * _local.N_v + _local.N_u + _local.Q * _local.mu_s)
"""N at beta: p eta^2 s_v^2/2 + (1+phi) eta^2 (nu_m d^2 + s_u^2/m)/2 + Q eta^2 s_v^2."""
descent_margin = sp.sqrt(p) * (2 - eta) - eta * chi * (1 - p)
"""Positive exactly when some Young weights descend (c_u > 0 and c_Y > 0 for some phi, beta)."""

s = eta * chi
k_x = eta * (1 - eta) / 2
CAPPED_FORM = (
    Delta_F0 / T
    + p * eta**2 * sigma_v**2 / (2 * L_v)
    + (eta * (1 - eta) + sp.Rational(1, 2)) * s**2 * sigma_v**2 / L_v
    + eta**2 * (nu_m * delta**2 + sigma_u**2 / m) / L_u
) / k_x
"""The earlier form of this bound (Young weights eta and 1, valid for eta < 1 under the sampling cap
eta chi^2 (1 + 2 eta (1 - eta)) <= m/n). Its worst case found was 0.48 of it; kept to show the current
form never exceeds it (`DERIVATION`, tests/test_local_bounds.py)."""


def fedalt_sgd_partial() -> Bound:
    """The [D] bound on stochastic FedAlt with m of n clients sampled without replacement and one local step per block.

    Bounds (1/T) sum_{t<T} E[x_t^2 + (m/n) Y_t^2] by (Delta_F0/T + N)/rho (N and rho in this module's
    docstring), for eta < 2 and the descent condition eta chi (1 - m/n) < sqrt(m/n) (2 - eta); it needs
    the u-step's fresh sample. Implements docs/theory.md section 7.7 (the one-step case of
    `fedalt_sgd_local`). The proof holds for every pair of Young weights phi, lambda > 0 (beta =
    beta_balanced + lambda); the bound is the infimum over them, which
    `altsim.theory.weights.minimise_over_weights` searches when the bound is evaluated (docs/theory.md
    section 7.8).

    Example:
        >>> from altsim.testing import example_pair
        >>> measured, bound = example_pair("fedalt_sgd_partial")   # 3 of 6 clients a round, noisy gradients
        >>> bool(measured <= bound), round(measured / bound, 1)
        (True, 0.4)
        >>> partial = example_pair("fedalt_sgd_partial", m=6, eta=0.4)
        >>> full = example_pair("fedalt_sgd_full", eta=0.4)
        >>> bool(abs(partial[1] / full[1] - 1) < 1e-6)   # m = n: fedalt_sgd_full's bound (phi -> 0, beta = alpha*)
        True
    """
    return Bound(
        name="fedalt_sgd_partial",
        algorithm="fedalt",
        expression=(Delta_F0 / T + noise.subs(beta, beta_used)) / c_x.subs(beta, beta_used),
        conditions=(
            *ONE_STEP_EACH,
            STEP_RULE,
            Condition(sp.StrictLessThan(eta, 2), "step size range eta < 2", "step_range"),
            Condition(
                sp.StrictGreaterThan(descent_margin, 0),
                "descent: eta chi (1 - m/n) < sqrt(m/n) (2 - eta) (some Young weights descend)",
                "descent",
            ),
            *PARTIAL_PARTICIPATION,
            STATEFUL_CLIENTS,
            *FRESH_U_SAMPLE,
        ),
        provenance="D",
        reference=REFERENCE,
        summary="FedAlt, stochastic, m of n sampled without replacement, tau_u=tau_v=1; measure weight m/n; "
        "infimum over two Young weights",
        personal_weight=p,
        eta_max=sp.Integer(2),
        rate="T^-1/2 (eta ~ T^-1/2)",
        weights=("phi", "lambda"),
        descent=sp.Min(c_u, _one_step(_local.b_0)),
    )


BOUNDS = (fedalt_sgd_partial,)


def _derivation() -> tuple[Identity, ...]:

    local = _local.fedalt_sgd_local().expression
    bound = fedalt_sgd_partial().expression
    X, Y = sp.symbols("X Y", nonnegative=True)
    cu, _bq = sp.symbols("c_u beta", positive=True)
    old_weights = {phi: 1, beta: 1}
    capped_noise = k_x * CAPPED_FORM - Delta_F0 / T
    return (
        Identity(
            "the bound is fedalt_sgd_local at tau_u = tau_v = 1, eta_v = eta, theta -> 0",
            _one_step(local),
            bound,
        ),
        Identity(
            "no drift at one step: eps_u^2 + eps_v^2 = 0",
            (_local.eps_u**2 + _local.eps_v**2).subs(ONE_STEP_EACH_VALUES),
            sp.Integer(0),
        ),
        Identity("c_u = eta - (1 + phi) eta^2/2", c_u, eta - (1 + phi) * eta**2 / 2),
        Identity(
            "the v-step's coefficient is c = eta(1 - eta/2)",
            _one_step(_local.c_v),
            eta * (1 - eta / 2),
        ),
        Identity(
            "Q = chi^2 (c_u/beta + (1-p)^2/(2 phi)): going back to the start and the unsampled residual",
            Q,
            chi**2 * (c_u / beta + (1 - p) ** 2 / (2 * phi)),
        ),
        Identity(
            "one round: p(-c Y^2 + eta^2 s_v^2/2) - c_u X^2/(1+beta) + Q eta^2 (Y^2 + s_v^2) + u-noise "
            "= -c_x X^2 - c_Y Y^2 + N",
            p * (-eta * (1 - eta / 2) * Y**2 + eta**2 * sigma_v**2 / (2 * L_v))
            - c_u * X**2 / (1 + beta)
            + Q * eta**2 * (Y**2 + sigma_v**2 / L_v)
            + (1 + phi) * eta**2 / 2 * (nu_m * delta**2 + sigma_u**2 / m) / L_u,
            -c_x * X**2 - c_Y * Y**2 + noise,
        ),
        Identity(
            "some weights descend iff eta chi (1-p) < sqrt(p)(2 - eta): c_Y > 0 needs phi > phi_0 = "
            "chi^2 eta (1-p)^2 / (p (2 - eta)) (beta -> oo), c_u > 0 needs phi < 2/eta - 1, and "
            "(2/eta - 1 - phi_0) eta p (2 - eta) = margin (margin + 2 eta chi (1-p))",
            (2 / eta - 1 - chi**2 * eta * (1 - p) ** 2 / (p * (2 - eta))) * eta * p * (2 - eta),
            descent_margin * (descent_margin + 2 * eta * chi * (1 - p)),
        ),
        Identity(
            "m = n, phi -> 0, beta = alpha*: the bound is fedalt_sgd_full",
            ((Delta_F0 / T + noise) / c_x).subs(m, n).subs(phi, 0).subs(beta, alpha_star),
            fedalt_sgd_full().expression,
        ),
        Identity(
            "chi = 0, phi, beta -> 0: the bound is fedsim_sgd_partial at chi = 0",
            ((Delta_F0 / T + noise) / c_x).subs(chi, 0).subs({phi: 0, beta: 0}),
            fedsim_sgd_partial().expression.subs(chi, 0),
        ),
        Identity(
            "at the earlier form's weights (phi = beta = 1) the x^2 coefficient is its eta(1-eta)/2",
            c_x.subs(old_weights),
            k_x,
        ),
        Identity(
            "... its Y^2 coefficient exceeds the earlier form's by the unsampled share: "
            "c_Y - (p c - eta(1-eta) s^2 - s^2/2) = s^2 (1 - (1-p)^2)/2 >= 0",
            c_Y.subs(old_weights) - (p * eta * (1 - eta / 2) - eta * (1 - eta) * s**2 - s**2 / 2),
            s**2 * (1 - (1 - p) ** 2) / 2,
        ),
        Identity(
            "... and its noise is the earlier form's less (1 - (1-p)^2) s^2 sigma_v^2/(2 L_v) >= 0",
            capped_noise - noise.subs(old_weights),
            (1 - (1 - p) ** 2) * s**2 * sigma_v**2 / (2 * L_v),
        ),
        Identity(
            "so where the cap holds (c_Y/p >= eta(1-eta)/2 at those weights, rho = c_x), the bound at "
            "them is at most CAPPED_FORM: (Delta_F0/T + N) / k with the same k and a smaller N (plain symbols)",
            (Delta_F0 / T + X) / cu - (Delta_F0 / T + X + Y) / cu,
            -Y / cu,
        ),
        Identity(
            "telescoping: T c_x (Delta_F0/T + N)/c_x = Delta_F0 + T N (plain symbols)",
            T * cu * (Delta_F0 / T + X) / cu,
            Delta_F0 + T * X,
        ),
    )


DERIVATION = _derivation()
