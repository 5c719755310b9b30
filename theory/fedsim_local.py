r"""FedSim with tau >= 1 local steps: explicit bounds [D], deterministic and full participation
(`fedsim_gd_local`), and stochastic with m of n clients sampled (`fedsim_sgd_local`).

The second is the paper's own setting for FedSim; its section is at the end of this docstring.

Problem
-------
As in `altsim.theory.fedsim_sgd`, with exact gradients (sigma_u = sigma_v = 0). In the scaled
coordinates u' = sqrt(L_u) u, v' = sqrt(L_v) v every F_i is (1 + chi)-smooth jointly (its Hessian
blocks are bounded by 1, chi, 1), the partial gradient diversity is delta^2 / L_u, and
Delta = ||grad_u' F||^2 + (1/n) sum_i ||grad_v' F_i||^2.

Algorithm (FedSim, tau local steps, m = n)
------------------------------------------
Each client runs tau joint gradient steps on F_i from (u^t, v_i^t) with gamma_u = eta/(L_u tau),
gamma_v = eta/(L_v tau), i.e. step alpha = eta/tau in the scaled coordinates; the server averages u.

Theoretical guarantee
---------------------
With L = 1 + chi, eps = ((1 + eta L/tau)^tau - 1)/L - eta (client drift; 0 when tau = 1) and, for a
Young weight theta > 0, K_theta = 1/(2 theta eta) + (L/2)(1 + 1/theta) and
c = eta - theta eta/2 - (L/2)(1 + theta) eta^2 - K_theta eps^2 > 0:

.. math::
    \frac1T \sum_{t<T} \Delta_t \le \frac{\Delta F_0 / T + K_\theta \epsilon^2 \delta^2 / L_u}{c}.

The bound is the infimum over theta (searched numerically, `altsim.theory.weights`). Some theta
gives c > 0 exactly when eta - L eta^2/2 - L eps^2/2 - eps (1 + L eta) > 0 (the descent condition).
The K eps^2 delta^2 term is the drift: clients that differ (delta > 0) pull their local copies of u
apart during the tau steps. For small eta, eps ~ eta^2 L (1 - 1/tau)/2, so the drift term over c
is ~ eta^2: eta ~ T^(-1/3) gives the rate T^(-2/3) when delta > 0, and a constant eta gives T^(-1)
when delta = 0 or tau = 1. At tau = 1 (theta -> 0) it is `fedsim_gd_full`, ΔF0/(T eta (1 - L eta/2)).
It is `fedsim_sgd_local` (below) without noise at m = n (omega -> 0). Its earlier form,
`CLOSED_FORM_GD` = (ΔF0/T + K delta^2/L_u)/(eta (1/2 - L eta) - K) with K = eps^2 (1/(2 eta) + L), is
this bound at theta = 1 and paid the descent twice: half for the drift's inner product, and a
factor 2 on the square.

Proof sketch
------------
1. Drift. Client i's iterates z^k (scaled) satisfy r_{k+1} <= (1 + alpha L) r_k + alpha G_0 for
   r_k = ||z^k - z^0||, G_0 = ||grad F_i(z^0)||, so r_k <= G_0 ((1 + alpha L)^k - 1)/L and the
   deviation e_i of the round's displacement from tau copies of the first gradient obeys
   ||e_i|| <= alpha sum_{k<tau} L r_k <= eps G_0 (a geometric sum).
2. One round, displacement w = -eta G + e in the joint space (norm^2 = ||a||^2 + (1/n) sum ||b_i||^2):
   F^+ <= F + <G, w> + (L/2)||w||^2. Young with weight theta eta on <G, e> and weighted Young
   ||-eta G + e||^2 <= (1 + theta) eta^2 Delta + (1 + 1/theta)||e||^2 give
   F^+ <= F - (eta - theta eta/2 - (L/2)(1 + theta) eta^2) Delta + K_theta ||e||^2.
3. ||e||^2 <= (1/n) sum_i ||e_i||^2 <= eps^2 (1/n) sum_i ||grad F_i||^2 <= eps^2 (Delta + delta^2/L_u).
4. So F^+ <= F - c Delta + K_theta eps^2 delta^2/L_u; telescope and divide by T c.
Each algebraic step is an `Identity` in `DERIVATION`, checked by tests/test_theory.py; the one-round
inequality is the stochastic bound's (below) at sigma = 0, m = n, checked by Monte Carlo there.

References
----------
Pillutla et al., ICML 2022: the algorithm [P]. Bound and proof: this project [D]; the argument
is the standard perturbed-gradient-descent view of local steps.

Stochastic, m of n sampled: `fedsim_sgd_local`
-----------------------------------------------
Setting: A1-A3 (A3 at every point), unbiased stochastic gradients whose noise at each local step
has conditional mean zero given the past and variance at most sigma_u^2, sigma_v^2, independent
across clients; m of n clients sampled without replacement; gamma_u = eta/(L_u tau),
gamma_v = eta/(L_v tau). Scaled quantities: d^2 = delta^2/L_u, s_u^2 = sigma_u^2/L_u,
s_v^2 = sigma_v^2/L_v, s^2 = s_u^2 + s_v^2; p = m/n, nu_m = (n-m)/(m(n-1)), kappa = 1 + chi sqrt(p),
eps as above. For every Young weight theta > 0 and omega > 0 with c > 0,

.. math::
    \frac1T \sum_{t<T} E[x_t^2 + p Y_t^2] \le \frac{\Delta F_0/T + N}{c},\quad
    K_W = \frac{1}{2\theta\eta} + \frac\kappa2\Big(1 + \frac1\theta\Big),

    c = \eta - \frac{\theta\eta}{2} - \frac\kappa2 (1+\theta)\eta^2 - K_W (1+\omega)\frac{\epsilon^2}{p},\quad
    N = \frac\kappa2 (1+\theta)\eta^2 S_\tau + K_W \epsilon^2\big((1+\omega) d^2 + (1 + 1/\omega) s^2\big),

    S_\tau = \nu_m d^2 + \frac{s_u^2}{\tau m} + \frac{p\, s_v^2}{\tau}.

The bound is the infimum over the weights (searched numerically; `altsim.theory.weights`). Some
weights give c > 0 exactly when eta - kappa eta^2/2 - kappa eps^2/(2p) - eps (1 + kappa eta)/sqrt(p) > 0
(the supremum of c over the weights; the descent condition). At tau = 1 (eps = 0) the infimum is
`fedsim_sgd_partial` (theta -> 0); with no noise and m = n, theta = 1 and omega -> 0 give
`fedsim_gd_local` exactly.

Proof sketch. Client i's displacement in a round is -eta g_i - N_i + E_i: g_i its gradient at the
round's start, N_i = alpha sum_k xi^k its noise (E||N_i||^2 <= alpha^2 tau s^2 = eta^2 s^2/tau, the steps'
noises are martingale differences), and E_i = -alpha sum_k (grad F_i(z^k) - g_i) the drift.
1. Drift with noise: in the L2 norm sqrt(E||.||^2) the deviation D_k = z^k - z^0 obeys
   ||D_{k+1}|| <= (1 + alpha L) ||D_k|| + alpha (||g_i|| + s) (Minkowski), so as in step 1 above
   ||E_i||_{L2} <= eps (||g_i|| + s), and (sqrt(X) + s)^2 <= (1+omega) X + (1 + 1/omega) s^2.
   Averaged over the sampled clients: W = E (1/m) sum_S ||E_i||^2 <= eps^2 ((1+omega)(Gamma) + (1+1/omega) s^2),
   Gamma = (1/n) sum_i ||g_i||^2 <= x^2 + Y^2 + d^2 <= (x^2 + p Y^2)/p + d^2.
2. Block smoothness with the sampled share (as in `fedsim_sgd`): F^+ - F <= <grad_u F, a>
   + (1/n) sum_S <grad_v F_i, b_i> + (kappa/2)(||a||^2 + (1/n) sum_S ||b_i||^2).
3. Linear terms: the drift's inner products are at most (theta eta/2)(x^2 + p Y^2) + W/(2 theta eta)
   (Young with weight theta eta); the rest is -eta (x^2 + p Y^2) in expectation.
4. Quadratic terms: ||p + q||^2 <= (1+theta)||p||^2 + (1+1/theta)||q||^2 splits the drift off;
   the rest has expectation at most eta^2 (x^2 + p Y^2 + S_tau) (sampling variance nu_m d^2, noise
   averaged over the tau steps and the m clients).
5. Together E F^{t+1} <= F^t - c (x^2 + p Y^2) + N; telescope and divide by T c.
Each step is an `Identity` in `DERIVATION`; the drift lemma and the one-round inequality are
checked by Monte Carlo on random instances in tests/test_local_bounds.py.

Example
-------
>>> from altsim.theory import fedsim_local
>>> b = fedsim_local.fedsim_gd_local()
>>> v = dict(Delta_F0=1.0, T=100, eta=0.2, chi=0.0, L_u=1.0, delta=0.0, tau=1)
>>> round(float(b.evaluate(v)), 8)    # tau = 1: DF0 / (T eta (1 - eta/2)), fedsim_gd_full
0.05555556
>>> float(b.evaluate({**v, "tau": 4, "delta": 1.0})) > float(b.evaluate({**v, "tau": 4}))   # drift costs
True
>>> sgd = fedsim_local.fedsim_sgd_local()
>>> w = dict(v, n=40, m=10, sigma_u=0.0, sigma_v=0.0, L_v=1.0, tau=1, delta=0.0)
>>> round(float(sgd.evaluate(w)), 6)   # tau = 1, no noise or diversity: DF0 / (T eta (1 - kappa eta/2))
0.055556
"""

from __future__ import annotations

import sympy as sp

from .bound import Bound, Condition
from .conditions import (
    DETERMINISTIC,
    FULL_PARTICIPATION,
    PARTIAL_PARTICIPATION,
    STATEFUL_CLIENTS,
    STEP_RULE,
    fresh_local_draws,
)
from .derivation import Identity
from .fedsim_sgd import fedsim_gd_full, fedsim_sgd_partial, kappa_partial
from .scaled import d2, nu_m, p, s_u2, s_v2
from .symbols import Delta_F0, L_u, T, chi, delta, eta, m, n, omega, sigma_u, sigma_v, tau, theta

L_joint = 1 + chi
eps = ((1 + eta * L_joint / tau) ** tau - 1) / L_joint - eta
"""Client drift coefficient: ||e_i|| <= eps ||grad F_i|| (scaled coordinates)."""
K = eps**2 * (1 / (2 * eta) + L_joint)
c_local = eta * (sp.Rational(1, 2) - L_joint * eta) - K


CLOSED_FORM_GD = (Delta_F0 / T + K * delta**2 / L_u) / c_local
"""The earlier form of `fedsim_gd_local` (both Young weights fixed at 1; it needs c_local > 0). Its worst
case found was 0.48 of it: its proof pays the descent twice. Kept to show the current form, the
infimum over theta, never exceeds it (`DERIVATION`: theta = 1 gives it back)."""


# -- stochastic, partial participation --------------------------------------------------------
kappa = kappa_partial
s2 = s_u2 + s_v2
S_tau = nu_m * d2 + s_u2 / (tau * m) + p * s_v2 / tau
"""Per-round variance of the averaged step, over eta^2: sampling, then noise averaged over tau steps and m clients."""
K_W = 1 / (2 * theta * eta) + kappa / 2 * (1 + 1 / theta)
"""What the drift's second moment W costs: the Young weight of the linear term, then the quadratic term's."""
c_sgd = eta - theta * eta / 2 - kappa / 2 * (1 + theta) * eta**2 - K_W * (1 + omega) * eps**2 / p
N_sgd = kappa / 2 * (1 + theta) * eta**2 * S_tau + K_W * eps**2 * (
    (1 + omega) * d2 + (1 + 1 / omega) * s2
)
c_sup = eta - kappa * eta**2 / 2 - kappa * eps**2 / (2 * p) - eps * (1 + kappa * eta) / sp.sqrt(p)
"""The supremum of c over the weights (omega -> 0, theta = eps/(eta sqrt p)): some weights descend iff it is > 0."""


def fedsim_sgd_local() -> Bound:
    """The [D] bound on stochastic FedSim with m of n clients sampled and any number tau >= 1 of local steps.

    Bounds (1/T) sum_{t<T} E[x_t^2 + (m/n) Y_t^2] by (Delta_F0/T + N)/c, where the client drift
    eps = ((1 + eta L/tau)^tau - 1)/L - eta (L = 1 + chi) enters both the descent coefficient c and the
    noise N (both in this module's docstring), for eta < 2/(1 + chi sqrt(m/n)) and a positive descent
    coefficient. Implements docs/theory.md section 7.9. The proof holds for every Young weight
    theta, omega > 0; the bound is the infimum over them, which
    `altsim.theory.weights.minimise_over_weights` searches when the bound is evaluated (docs/theory.md
    section 7.8).

    Example:
        >>> from altsim.testing import example_pair
        >>> measured, bound = example_pair("fedsim_sgd_local")   # tau = 2 local steps, 3 of 6 clients
        >>> bool(measured <= bound), round(measured / bound, 1)
        (True, 0.4)
        >>> one = example_pair("fedsim_sgd_local", tau=1, eta=0.4)
        >>> partial = example_pair("fedsim_sgd_partial", eta=0.4)
        >>> bool(abs(one[1] / partial[1] - 1) < 1e-6)   # tau = 1: no drift, fedsim_sgd_partial's bound
        True
    """
    return Bound(
        name="fedsim_sgd_local",
        algorithm="fedsim",
        expression=(Delta_F0 / T + N_sgd) / c_sgd,
        conditions=(
            STEP_RULE,
            *PARTIAL_PARTICIPATION,
            STATEFUL_CLIENTS,
            fresh_local_draws(tau - 1),
            Condition(
                sp.StrictLessThan(eta, 2 / kappa),
                "step size range eta < 2/(1+chi sqrt(m/n))",
                "step_range",
            ),
            Condition(
                sp.StrictGreaterThan(c_sup, 0),
                "descent: eta - kappa eta^2/2 - kappa eps^2/(2p) "
                "- eps (1 + kappa eta)/sqrt(p) > 0 (some Young weights descend)",
                "descent",
            ),
        ),
        provenance="D",
        reference="altsim [D], theory/fedsim_local.py; algorithm of Pillutla et al., ICML 2022",
        summary="FedSim, stochastic, m of n sampled without replacement, any tau >= 1 (drift through delta and "
        "the noise); measure weight m/n; infimum over two Young weights",
        personal_weight=p,
        eta_max=2 / kappa,
        rate="T^-1/2 with noise (eta ~ T^-1/2); T^-2/3 from the drift when only delta > 0 and tau > 1",
        weights=("theta", "omega"),
        descent=c_sgd,
    )


# -- deterministic, full participation: the case sigma = 0, m = n of the bound above ------------
DETERMINISTIC_FULL = {sigma_u: 0, sigma_v: 0, m: n}
c_gd = c_sgd.subs(DETERMINISTIC_FULL).subs(omega, 0)
"""eta - theta eta/2 - (L/2)(1+theta) eta^2 - K_theta eps^2 with L = 1 + chi: omega -> 0 costs nothing without noise."""
K_theta = K_W.subs(DETERMINISTIC_FULL)
"""1/(2 theta eta) + (L/2)(1 + 1/theta): what a unit of the drift's second moment costs."""
c_sup_gd = c_sup.subs(DETERMINISTIC_FULL)


def fedsim_gd_local() -> Bound:
    """The [D] bound on deterministic FedSim with full participation and any number tau >= 1 of local steps.

    Bounds (1/T) sum_{t<T} Delta_t by (Delta_F0/T + K_theta eps^2 delta^2/L_u)/c: the client drift eps
    costs only where clients differ (delta > 0), for eta < 2/(1+chi) and a positive descent coefficient.
    Implements docs/theory.md section 7.4 (`fedsim_sgd_local` without noise at m = n). The proof holds for
    every Young weight theta > 0; the bound is the infimum over theta, which
    `altsim.theory.weights.minimise_over_weights` searches when the bound is evaluated (docs/theory.md
    section 7.8).

    Example:
        >>> from altsim.testing import example_pair
        >>> measured, bound = example_pair("fedsim_gd_local")   # tau = 2, exact gradients: one seed
        >>> bool(measured <= bound), round(measured / bound, 1)
        (True, 0.5)
        >>> one = example_pair("fedsim_gd_local", tau=1, eta=0.5)
        >>> full = example_pair("fedsim_gd_full", eta=0.5)
        >>> bool(abs(one[1] / full[1] - 1) < 1e-6)   # tau = 1: no drift, fedsim_gd_full's bound (theta -> 0)
        True
    """
    return Bound(
        name="fedsim_gd_local",
        algorithm="fedsim",
        expression=(Delta_F0 / T + K_theta * eps**2 * delta**2 / L_u) / c_gd,
        conditions=(
            STEP_RULE,
            FULL_PARTICIPATION,
            *DETERMINISTIC,
            STATEFUL_CLIENTS,
            Condition(
                sp.StrictLessThan(eta, 2 / L_joint), "step size range eta < 2/(1+chi)", "step_range"
            ),
            Condition(
                sp.StrictGreaterThan(c_sup_gd, 0),
                "descent: eta - L eta^2/2 - L eps^2/2 - eps (1 + L eta) "
                "> 0, L = 1 + chi (some Young weight descends)",
                "descent",
            ),
        ),
        provenance="D",
        reference="altsim [D], theory/fedsim_local.py; algorithm of Pillutla et al., ICML 2022",
        summary="FedSim, deterministic, full participation, any tau >= 1 (client drift through delta); infimum "
        "over one Young weight",
        eta_max=2 / L_joint,
        rate="T^-2/3 with delta > 0 and tau > 1 (eta ~ T^-1/3), else T^-1",
        weights=("theta",),
        descent=c_gd,
    )


BOUNDS = (fedsim_gd_local, fedsim_sgd_local)


def _derivation() -> tuple[Identity, ...]:
    a, Lj, k, t_ = sp.symbols("alpha L k tau_", positive=True)
    A, B, D, E, P, Q = sp.symbols("A B Delta E P Q", nonnegative=True)
    t_int = sp.Symbol("tau_int", integer=True, positive=True)
    return (
        Identity(
            "drift: alpha sum_{k<tau} ((1 + alpha L)^k - 1) = ((1 + alpha L)^tau - 1)/L - alpha tau",
            sp.simplify(a * sp.summation((1 + a * Lj) ** k - 1, (k, 0, t_int - 1))),
            ((1 + a * Lj) ** t_int - 1) / Lj - a * t_int,
        ),
        Identity(
            "eps is that sum at alpha = eta/tau",
            eps,
            (((1 + a * Lj) ** t_ - 1) / Lj - a * t_).subs({a: eta / tau, Lj: L_joint, t_: tau}),
        ),
        Identity(
            "Young: (eta/2) A^2 + B^2/(2 eta) - A B = (sqrt(eta) A - B/sqrt(eta))^2 / 2",
            eta / 2 * A**2 + B**2 / (2 * eta) - A * B,
            (sp.sqrt(eta) * A - B / sp.sqrt(eta)) ** 2 / 2,
        ),
        Identity(
            "||p + q||^2 <= 2||p||^2 + 2||q||^2: the gap is ||p - q||^2",
            2 * P**2 + 2 * Q**2 - (P + Q) ** 2,
            (P - Q) ** 2,
        ),
        Identity(
            "one round: -eta D + (eta/2) D + E/(2 eta) + L(eta^2 D + E) = -eta(1/2 - L eta) D + E (1/(2 eta) + L)",
            -eta * D + eta / 2 * D + E / (2 * eta) + L_joint * (eta**2 * D + E),
            -eta * (sp.Rational(1, 2) - L_joint * eta) * D + E * (1 / (2 * eta) + L_joint),
        ),
        Identity("tau = 1: no drift, eps = 0", eps.subs(tau, 1), sp.Integer(0)),
        Identity(
            "telescoping (the closed form, theta = 1): T c * bound = Delta_F0 + T K delta^2 / L_u",
            T * c_local * CLOSED_FORM_GD,
            Delta_F0 + T * K * delta**2 / L_u,
        ),
        *_sgd_derivation(),
    )


def _sgd_derivation() -> tuple[Identity, ...]:

    A, B, X, Sg, Dp, _Wd, _Gm, a_ = sp.symbols("A B X s D_p W Gamma alpha", nonnegative=True)
    k_int = sp.Symbol("k", integer=True, nonnegative=True)
    bound = fedsim_sgd_local().expression
    W_bound = eps**2 * ((1 + omega) * (Dp / p + d2) + (1 + 1 / omega) * s2)
    e_ = sp.Symbol(
        "epsilon", nonnegative=True
    )  # eps >= 0 (a sum of nonnegative terms), which sympy cannot see
    B_c, C_c = eta * (1 + kappa * eta) / 2, e_**2 * (1 + kappa * eta) / (2 * eta * p)
    return (
        Identity(
            "noise over a round: alpha^2 sum_{k<tau} s^2 = eta^2 s^2 / tau at alpha = eta/tau",
            sp.summation((eta / tau) ** 2 * Sg**2, (k_int, 0, tau - 1)),
            eta**2 * Sg**2 / tau,
        ),
        Identity(
            "drift with noise: the majorant r_{k+1} = (1 + alpha L) r_k + alpha (G + s), r_0 = 0, is "
            "(G + s)((1 + alpha L)^k - 1)/L",
            (
                (1 + a_ * L_joint) * (A + Sg) * ((1 + a_ * L_joint) ** k_int - 1) / L_joint
                + a_ * (A + Sg)
            ),
            (A + Sg) * ((1 + a_ * L_joint) ** (k_int + 1) - 1) / L_joint,
        ),
        Identity(
            "(sqrt X + s)^2 <= (1+omega) X + (1 + 1/omega) s^2: the gap is (sqrt(omega X) - s/sqrt(omega))^2",
            (1 + omega) * X + (1 + 1 / omega) * Sg**2 - (sp.sqrt(X) + Sg) ** 2,
            (sp.sqrt(omega * X) - Sg / sp.sqrt(omega)) ** 2,
        ),
        Identity(
            "Young with weight theta eta: (theta eta/2) A^2 + B^2/(2 theta eta) - A B = "
            "(sqrt(theta eta) A - B/sqrt(theta eta))^2 / 2",
            theta * eta / 2 * A**2 + B**2 / (2 * theta * eta) - A * B,
            (sp.sqrt(theta * eta) * A - B / sp.sqrt(theta * eta)) ** 2 / 2,
        ),
        Identity(
            "weighted Young: (1+theta)A^2 + (1+1/theta)B^2 - (A+B)^2 = (sqrt(theta) A - B/sqrt(theta))^2",
            (1 + theta) * A**2 + (1 + 1 / theta) * B**2 - (A + B) ** 2,
            (sp.sqrt(theta) * A - B / sp.sqrt(theta)) ** 2,
        ),
        Identity(
            "one round: -eta D_p + (theta eta/2) D_p + (kappa/2)(1+theta) eta^2 (D_p + S_tau) + K_W W "
            "= -c D_p + N at the bound on W",
            -eta * Dp
            + theta * eta / 2 * Dp
            + kappa / 2 * (1 + theta) * eta**2 * (Dp + S_tau)
            + K_W * W_bound,
            -c_sgd * Dp + N_sgd,
        ),
        Identity(
            "telescoping: T c * bound = Delta_F0 + T N", T * c_sgd * bound, Delta_F0 + T * N_sgd
        ),
        Identity(
            "c at omega = 0 is A - B theta - C/theta with A - c_sup = 2 sqrt(B C), so "
            "c_sup - c(theta) = (sqrt(B theta) - sqrt(C/theta))^2 >= 0",
            (c_sup - c_sgd.subs(omega, 0)).subs(eps, e_),
            (sp.sqrt(B_c * theta) - sp.sqrt(C_c / theta)) ** 2,
        ),
        Identity(
            "tau = 1 (no drift) and theta -> 0: the bound is fedsim_sgd_partial",
            bound.subs(tau, 1).subs(theta, 0),
            fedsim_sgd_partial().expression,
        ),
        Identity(
            "no noise, m = n, omega -> 0: the bound is fedsim_gd_local",
            bound.subs(DETERMINISTIC_FULL).subs(omega, 0),
            fedsim_gd_local().expression,
        ),
        Identity(
            "... and at theta = 1 it is the earlier closed form, which it therefore never exceeds",
            fedsim_gd_local().expression.subs(theta, 1),
            CLOSED_FORM_GD,
        ),
        Identity(
            "without noise, omega enters only as (1 + omega) K eps^2: in the numerator's drift term and "
            "subtracted from c, so the bound grows with omega and omega -> 0 is its infimum",
            bound.subs(DETERMINISTIC_FULL),
            (Delta_F0 / T + (1 + omega) * K_theta * eps**2 * d2)
            / (c_gd + K_theta * eps**2 - (1 + omega) * K_theta * eps**2),
        ),
        Identity(
            "tau = 1 (no drift), theta -> 0: the bound is fedsim_gd_full",
            fedsim_gd_local().expression.subs(tau, 1).subs(theta, 0),
            fedsim_gd_full().expression,
        ),
    )


DERIVATION = _derivation()
