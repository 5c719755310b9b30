r"""FedSim with one local step: explicit bounds, every constant known [D].

Problem
-------
.. math::
    \min_{u, V} F(u, V) = \frac1n \sum_{i=1}^n F_i(u, v_i),

each F_i block-smooth (A1: constants L_u, L_v, L_uv, with \chi = L_uv/\sqrt{L_u L_v}),
stochastic gradients unbiased with variances at most \sigma_u^2, \sigma_v^2 (A2) and
independent across clients, partial gradient diversity at most \delta^2 (A3).

Algorithm (FedSim, tau = 1)
---------------------------
Round t: sample S_t, |S_t| = m, uniformly without replacement. Each i in S_t computes
stochastic gradients g_i, h_i at (u^t, v_i^t) and sets
u_i = u^t - gamma_u g_i, v_i^{t+1} = v_i^t - gamma_v h_i. The server sets
u^{t+1} = (1/m) sum_{i in S_t} u_i. Unsampled clients keep v_i. Step sizes
gamma_u = eta / L_u and gamma_v = eta / L_v.

Theoretical guarantee
---------------------
Write x^2 = ||grad_u F||^2 / L_u, Y^2 = (1/n) sum_i ||grad_v F_i||^2 / L_v, p = m/n,
kappa = 1 + chi sqrt(p) and c(eta) = eta (1 - eta kappa / 2). For 0 < eta < 2 / kappa, n >= 2,

.. math::
    \frac1T \sum_{t<T} E[x_t^2 + p Y_t^2] \le
    \frac{\Delta F_0 / T + \eta^2 \kappa S / 2}{c(\eta)},\quad
    S = \frac{\sigma_u^2}{m L_u} + \frac{n-m}{m(n-1)} \frac{\delta^2}{L_u} + p \frac{\sigma_v^2}{L_v}.

The coupling enters through kappa = 1 + chi sqrt(m/n): only the m sampled clients move their v_i,
so the cross term of the smoothness bound is paid on their share alone. (An earlier version had
1 + chi here, which the present bound equals at m = n and beats for every m < n and chi > 0.)
With m = n, kappa = 1 + chi, the measure is Delta_t itself (weight 1) and S = sigma_u^2/(n L_u) + sigma_v^2/L_v;
with sigma = 0 as well the bound is Delta F_0 / (T c(eta)), and at eta = 1/(1+chi) it is
2 (1 + chi) Delta F_0 / T, the form in docs/theory.md section 7.1.

Proof sketch
------------
1. Block smoothness at (u, v_i) with steps a (shared) and b_i (personal, zero if i is not
   sampled), averaged over i:
   F^+ <= F + <grad_u F, a> + (1/n) sum_i <grad_v F_i, b_i> + (1/n) sum_i Q_i, where
   Q_i = L_u/2 ||a||^2 + L_uv ||a|| ||b_i|| + L_v/2 ||b_i||^2.
2. Only sampled clients have b_i != 0, so the cross terms sum to L_uv ||a|| (1/n) sum_{i in S} ||b_i||,
   and Cauchy-Schwarz over the m sampled clients gives (1/n) sum_{i in S} ||b_i|| <= sqrt(p) B with
   B^2 = (1/n) sum_i ||b_i||^2. Then L_uv ||a|| sqrt(p) B = chi sqrt(p) sqrt(L_u L_v) ||a|| B
   <= (chi sqrt(p)/2)(L_u ||a||^2 + L_v B^2), so (1/n) sum_i Q_i <= kappa/2 (L_u ||a||^2 + L_v B^2).
   (Both steps hold for every realisation, before any expectation.)
3. Expectations. a = -(eta/L_u)(mean_{S} g_i): E a = -(eta/L_u) grad_u F and
   E||mean_S g_i||^2 <= ||grad_u F||^2 + (n-m)/(m(n-1)) delta^2 + sigma_u^2/m (the
   finite-population variance of a mean of m draws without replacement, plus noise).
   P(i in S) = p, so E <grad_v F_i, b_i> = -p eta y_i^2 and E L_v ||b_i||^2 = p eta^2 (y_i^2 + sigma_v^2/L_v).
4. Together: E F^{t+1} <= F^t - c(eta) (x^2 + p Y^2) + eta^2 kappa S / 2.
5. Telescope over t < T, use F^T >= F*, divide by T c(eta) > 0.
Each algebraic step is an `Identity` in `DERIVATION`, checked by tests/test_theory.py.

References
----------
K. Pillutla, K. Malik, A. Mohamed, M. Rabbat, M. Sanjabi, L. Xiao. Federated Learning
with Partial Model Personalization. ICML 2022 (arXiv 2204.03809): the algorithm [P].
The bound and its proof are this project's [D]; the paper's own constants are unknown.

Example
-------
>>> from altsim.theory import fedsim_sgd
>>> b = fedsim_sgd.fedsim_gd_full()
>>> float(b.evaluate(Delta_F0=1.0, T=10, eta=0.5, chi=1.0))
0.4
>>> float(b.evaluate(Delta_F0=1.0, T=10, eta=0.5, chi=1.0)) == 2 * (1 + 1.0) * 1.0 / 10
True
"""

from __future__ import annotations

import sympy as sp

from .bound import Bound, Condition
from .conditions import (
    DETERMINISTIC,
    FULL_PARTICIPATION,
    ONE_STEP,
    PARTIAL_PARTICIPATION,
    STATEFUL_CLIENTS,
    STEP_RULE,
)
from .derivation import Identity
from .scaled import nu_m, p
from .symbols import Delta_F0, L_u, L_v, T, chi, delta, eta, m, n, sigma_u, sigma_v

REFERENCE = "altsim [D], theory/fedsim_sgd.py; algorithm of Pillutla et al., ICML 2022"

kappa_full = 1 + chi
"""The smoothness factor of the joint step when every client moves its v_i."""
kappa_partial = 1 + chi * sp.sqrt(p)
"""The factor when only m of n clients move theirs (Cauchy-Schwarz over the sampled clients)."""


def descent_coefficient(kappa: sp.Expr) -> sp.Expr:
    """c(eta) = eta (1 - eta kappa / 2), the per-round descent coefficient."""
    return eta * (1 - eta * kappa / 2)


c_eta = descent_coefficient(kappa_full)
"""Per-round descent coefficient c(eta) at full participation."""

sampling_variance_factor = nu_m
"""E||mean of m draws without replacement - population mean||^2 / population variance."""

noise_partial = (
    sigma_u**2 / (m * L_u) + sampling_variance_factor * delta**2 / L_u + (m / n) * sigma_v**2 / L_v
)
noise_full = sigma_u**2 / (n * L_u) + sigma_v**2 / L_v


def _bound_expr(noise: sp.Expr, kappa: sp.Expr = kappa_full) -> sp.Expr:
    return (Delta_F0 / T + eta**2 * kappa * noise / 2) / descent_coefficient(kappa)


_ETA_RANGE = Condition(
    sp.StrictLessThan(eta, 2 / (1 + chi)), "step size range eta < 2/(1+chi)", "step_range"
)
_ETA_RANGE_PARTIAL = Condition(
    sp.StrictLessThan(eta, 2 / kappa_partial),
    "step size range eta < 2/(1+chi sqrt(m/n))",
    "step_range",
)


def fedsim_sgd_partial() -> Bound:
    """The [D] bound on stochastic FedSim with m of n clients sampled without replacement and one local step.

    Bounds (1/T) sum_{t<T} E[x_t^2 + (m/n) Y_t^2], the measure with personal weight w = m/n, by
    (Delta_F0/T + eta^2 kappa S_m / 2) / (eta (1 - eta kappa / 2)) with kappa = 1 + chi sqrt(m/n) and
    S_m = sigma_u^2/(m L_u) + nu_m delta^2/L_u + (m/n) sigma_v^2/L_v, for eta < 2/kappa. Implements
    docs/theory.md section 7.3; the proof is this module's docstring, its algebra `DERIVATION`.
    It has no free weights: every constant is explicit.

    Example:
        >>> from altsim.testing import example_pair
        >>> measured, bound = example_pair("fedsim_sgd_partial")   # 3 of 6 clients a round, noisy gradients
        >>> bool(measured <= bound), round(measured / bound, 1)
        (True, 0.5)
        >>> partial, full = example_pair("fedsim_sgd_partial", m=6), example_pair("fedsim_sgd_full")
        >>> bool(abs(partial[1] / full[1] - 1) < 1e-9)   # m = n: the same run, and fedsim_sgd_full's bound
        True
    """
    return Bound(
        name="fedsim_sgd_partial",
        algorithm="fedsim",
        expression=_bound_expr(noise_partial, kappa_partial),
        conditions=(
            ONE_STEP,
            STEP_RULE,
            _ETA_RANGE_PARTIAL,
            *PARTIAL_PARTICIPATION,
            STATEFUL_CLIENTS,
        ),
        provenance="D",
        reference=REFERENCE,
        summary="FedSim, stochastic, m of n sampled without replacement, tau=1; coupling paid on the sampled share "
        "(1 + chi sqrt(m/n)); measure weight m/n",
        personal_weight=m / n,
        eta_max=2 / kappa_partial,
        rate="T^-1/2 (eta ~ T^-1/2)",
    )


def fedsim_sgd_full() -> Bound:
    """The [D] bound on stochastic FedSim with full participation and one local step.

    Bounds (1/T) sum_{t<T} E[Delta_t] by (Delta_F0/T + eta^2 (1 + chi) S_n / 2) / c(eta) with
    c(eta) = eta (1 - eta (1 + chi)/2) and S_n = sigma_u^2/(n L_u) + sigma_v^2/L_v, for eta < 2/(1+chi).
    Implements docs/theory.md section 7.2 (the case m = n of `fedsim_sgd_partial`). No free weights.

    Example:
        >>> from altsim.testing import example_pair
        >>> measured, bound = example_pair("fedsim_sgd_full")   # 6 clients, noisy gradients, 8 seeds
        >>> bool(measured <= bound), round(measured / bound, 1)
        (True, 0.5)
    """
    return Bound(
        name="fedsim_sgd_full",
        algorithm="fedsim",
        expression=_bound_expr(noise_full),
        conditions=(ONE_STEP, STEP_RULE, _ETA_RANGE, FULL_PARTICIPATION, STATEFUL_CLIENTS),
        provenance="D",
        reference=REFERENCE,
        summary="FedSim, stochastic, full participation, tau=1",
        eta_max=2 / (1 + chi),
        rate="T^-1/2 (eta ~ T^-1/2)",
    )


def fedsim_gd_full() -> Bound:
    """The [D] bound on deterministic FedSim with full participation and one local step.

    Bounds (1/T) sum_{t<T} Delta_t by Delta_F0 / (T c(eta)), c(eta) = eta (1 - eta (1 + chi)/2), for
    eta < 2/(1+chi); at eta = 1/(1+chi) it is 2 (1 + chi) Delta_F0 / T, and at chi = 0, eta = 1 it is
    gradient descent's classical 2 Delta_F0 / T (docs/theory.md section 8). Implements docs/theory.md section 7.1
    (the case m = n, sigma = 0 of `fedsim_sgd_partial`). No free weights.

    Example:
        >>> from altsim.testing import example_pair
        >>> measured, bound = example_pair("fedsim_gd_full")   # exact gradients, every client: one seed
        >>> bool(measured <= bound), round(measured / bound, 1)
        (True, 0.5)
    """
    return Bound(
        name="fedsim_gd_full",
        algorithm="fedsim",
        expression=Delta_F0 / (T * c_eta),
        conditions=(
            ONE_STEP,
            STEP_RULE,
            _ETA_RANGE,
            FULL_PARTICIPATION,
            *DETERMINISTIC,
            STATEFUL_CLIENTS,
        ),
        provenance="D",
        reference=REFERENCE,
        summary="FedSim, deterministic, full participation, tau=1; 2(1+chi)DeltaF0/T at eta=1/(1+chi)",
        eta_max=2 / (1 + chi),
        rate="T^-1",
    )


BOUNDS = (fedsim_sgd_full, fedsim_gd_full, fedsim_sgd_partial)


def _derivation() -> tuple[Identity, ...]:
    A, B, G, H, S_, K = sp.symbols(
        "A B G H S kappa", nonnegative=True
    )  # ||a||, B, ||grad||, ||h||, noise, kappa
    p = m / n
    return (
        Identity(
            "cross term: L_uv ||a|| ||b|| at a = eta G/L_u, b = eta H/L_v equals chi eta^2 x y",
            (chi * sp.sqrt(L_u * L_v)) * (eta * G / L_u) * (eta * H / L_v),
            chi * eta**2 * (G / sp.sqrt(L_u)) * (H / sp.sqrt(L_v)),
        ),
        Identity(
            "Q <= kappa/2 (L_u A^2 + L_v B^2) with the cross term sqrt(p) chi sqrt(L_u L_v) A B (Cauchy-Schwarz over "
            "the sampled clients): the gap is chi sqrt(p)/2 (sqrt(L_u) A - sqrt(L_v) B)^2",
            kappa_partial / 2 * (L_u * A**2 + L_v * B**2)
            - (L_u / 2 * A**2 + sp.sqrt(p) * chi * sp.sqrt(L_u * L_v) * A * B + L_v / 2 * B**2),
            chi * sp.sqrt(p) / 2 * (sp.sqrt(L_u) * A - sp.sqrt(L_v) * B) ** 2,
        ),
        Identity(
            "one round: linear terms plus kappa/2 E(L_u|a|^2 + L_v B^2) = -c(eta)(x^2 + pY^2) + eta^2 kappa S/2",
            -eta * G**2 / L_u
            - p * eta * H**2 / L_v
            + kappa_partial
            / 2
            * (
                L_u
                * (eta / L_u) ** 2
                * (G**2 + sampling_variance_factor * delta**2 + sigma_u**2 / m)
                + L_v * p * (eta / L_v) ** 2 * (H**2 + sigma_v**2)
            ),
            -descent_coefficient(kappa_partial) * (G**2 / L_u + p * H**2 / L_v)
            + eta**2 * kappa_partial * noise_partial / 2,
        ),
        Identity(
            "telescoping: T c(eta) * bound = Delta_F0 + T eta^2 kappa S / 2",
            T * descent_coefficient(kappa_partial) * _bound_expr(S_, kappa_partial),
            Delta_F0 + T * eta**2 * kappa_partial * S_ / 2,
        ),
        Identity(
            "the bound grows with kappa: d/dkappa(bound) c^2 = eta^2 S c/2 "
            "+ eta^2 (Delta_F0/T + eta^2 kappa S/2)/2 >= 0, "
            "so kappa = 1 + chi sqrt(m/n) <= 1 + chi never loosens it",
            sp.diff(_bound_expr(S_, K), K) * descent_coefficient(K) ** 2,
            eta**2 * S_ * descent_coefficient(K) / 2
            + eta**2 * (Delta_F0 / T + eta**2 * K * S_ / 2) / 2,
        ),
        Identity(
            "full participation: the partial bound at m = n is the full bound",
            _bound_expr(noise_partial, kappa_partial).subs(m, n),
            _bound_expr(noise_full),
        ),
        Identity(
            "deterministic: the full bound at sigma = 0 is Delta_F0 / (T c(eta))",
            _bound_expr(noise_full).subs({sigma_u: 0, sigma_v: 0}),
            Delta_F0 / (T * c_eta),
        ),
        Identity(
            "docs/theory.md section 7.1: at eta = 1/(1+chi) the deterministic bound is 2(1+chi)Delta_F0/T",
            (Delta_F0 / (T * c_eta)).subs(eta, 1 / (1 + chi)),
            2 * (1 + chi) * Delta_F0 / T,
        ),
        Identity(
            "eta = 1/(1+chi) maximises c(eta): dc/deta vanishes there",
            sp.diff(c_eta, eta).subs(eta, 1 / (1 + chi)),
            sp.Integer(0),
        ),
    )


DERIVATION = _derivation()
