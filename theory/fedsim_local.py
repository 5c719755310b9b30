r"""FedSim with tau >= 1 local steps, deterministic, full participation: an explicit bound [D].

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
With L = 1 + chi, eps = ((1 + eta L/tau)^tau - 1)/L - eta (client drift; 0 when tau = 1),
K = eps^2 (1/(2 eta) + L) and c = eta (1/2 - L eta) - K > 0:

.. math::
    \frac1T \sum_{t<T} \Delta_t \le \frac{\Delta F_0 / T + K \delta^2 / L_u}{c}.

The K delta^2 term is the drift: clients that differ (delta > 0) pull their local copies of u
apart during the tau steps. For small eta, eps ~ eta^2 L (1 - 1/tau)/2, so K ~ eta^3 and the
drift term over c ~ eta^2: eta ~ T^(-1/3) gives the rate T^(-2/3) when delta > 0, and a constant
eta gives T^(-1) when delta = 0 or tau = 1.

Proof sketch
------------
1. Drift. Client i's iterates z^k (scaled) satisfy r_{k+1} <= (1 + alpha L) r_k + alpha G_0 for
   r_k = ||z^k - z^0||, G_0 = ||grad F_i(z^0)||, so r_k <= G_0 ((1 + alpha L)^k - 1)/L and the
   deviation e_i of the round's displacement from tau copies of the first gradient obeys
   ||e_i|| <= alpha sum_{k<tau} L r_k <= eps G_0 (a geometric sum).
2. One round, displacement w = -eta G + e in the joint space (norm^2 = ||a||^2 + (1/n) sum ||b_i||^2):
   F^+ <= F + <G, w> + (L/2)||w||^2 <= F - eta Delta + (eta/2) Delta + ||e||^2/(2 eta) + L (eta^2 Delta + ||e||^2).
3. ||e||^2 <= (1/n) sum_i ||e_i||^2 <= eps^2 (1/n) sum_i ||grad F_i||^2 <= eps^2 (Delta + delta^2/L_u).
4. So F^+ <= F - c Delta + K delta^2/L_u; telescope and divide by T c.
Each algebraic step is an `Identity` in `DERIVATION`, checked by tests/test_theory.py.

References
----------
Pillutla et al., ICML 2022: the algorithm [P]. Bound and proof: this project [D]; the argument
is the standard perturbed-gradient-descent view of local steps.

Example
-------
>>> from altsim.theory import fedsim_local
>>> b = fedsim_local.fedsim_gd_local()
>>> v = dict(Delta_F0=1.0, T=100, eta=0.2, chi=0.0, L_u=1.0, delta=0.0, tau=1)
>>> round(float(b.evaluate(v)), 10)    # tau = 1: DF0 / (T eta (1/2 - eta))
0.1666666667
>>> float(b.evaluate({**v, "tau": 4, "delta": 1.0})) > float(b.evaluate({**v, "tau": 4}))   # drift costs
True
"""

from __future__ import annotations

import sympy as sp

from .bound import Bound, Condition
from .conditions import DETERMINISTIC, FULL_PARTICIPATION, STATEFUL_CLIENTS, STEP_RULE
from .derivation import Identity
from .symbols import Delta_F0, L_u, T, chi, delta, eta, tau

L_joint = 1 + chi
eps = ((1 + eta * L_joint / tau) ** tau - 1) / L_joint - eta
"""Client drift coefficient: ||e_i|| <= eps ||grad F_i|| (scaled coordinates)."""
K = eps**2 * (1 / (2 * eta) + L_joint)
c_local = eta * (sp.Rational(1, 2) - L_joint * eta) - K


def fedsim_gd_local() -> Bound:
    return Bound(
        name="fedsim_gd_local",
        algorithm="fedsim",
        expression=(Delta_F0 / T + K * delta**2 / L_u) / c_local,
        conditions=(STEP_RULE, FULL_PARTICIPATION, *DETERMINISTIC, STATEFUL_CLIENTS,
                    Condition(sp.StrictGreaterThan(c_local, 0), "descent coefficient eta(1/2 - (1+chi) eta) - K > 0", "descent")),
        provenance="D",
        reference="altsim [D], theory/fedsim_local.py; algorithm of Pillutla et al., ICML 2022",
        summary="FedSim, deterministic, full participation, any tau >= 1 (client drift through delta)",
        eta_max=1 / (2 * L_joint),
        rate="T^-2/3 with delta > 0 and tau > 1 (eta ~ T^-1/3), else T^-1",
    )


BOUNDS = (fedsim_gd_local,)


def _derivation() -> tuple[Identity, ...]:
    a, Lj, k, t_ = sp.symbols("alpha L k tau_", positive=True)
    A, B, D, E, P, Q = sp.symbols("A B Delta E P Q", nonnegative=True)
    t_int = sp.Symbol("tau_int", integer=True, positive=True)
    return (
        Identity("drift: alpha sum_{k<tau} ((1 + alpha L)^k - 1) = ((1 + alpha L)^tau - 1)/L - alpha tau",
                 sp.simplify(a * sp.summation((1 + a * Lj) ** k - 1, (k, 0, t_int - 1))),
                 ((1 + a * Lj) ** t_int - 1) / Lj - a * t_int),
        Identity("eps is that sum at alpha = eta/tau", eps,
                 (((1 + a * Lj) ** t_ - 1) / Lj - a * t_).subs({a: eta / tau, Lj: L_joint, t_: tau})),
        Identity("Young: (eta/2) A^2 + B^2/(2 eta) - A B = (sqrt(eta) A - B/sqrt(eta))^2 / 2",
                 eta / 2 * A**2 + B**2 / (2 * eta) - A * B, (sp.sqrt(eta) * A - B / sp.sqrt(eta)) ** 2 / 2),
        Identity("||p + q||^2 <= 2||p||^2 + 2||q||^2: the gap is ||p - q||^2",
                 2 * P**2 + 2 * Q**2 - (P + Q) ** 2, (P - Q) ** 2),
        Identity("one round: -eta D + (eta/2) D + E/(2 eta) + L(eta^2 D + E) = -eta(1/2 - L eta) D + E (1/(2 eta) + L)",
                 -eta * D + eta / 2 * D + E / (2 * eta) + L_joint * (eta**2 * D + E),
                 -eta * (sp.Rational(1, 2) - L_joint * eta) * D + E * (1 / (2 * eta) + L_joint)),
        Identity("tau = 1: no drift, eps = 0", eps.subs(tau, 1), sp.Integer(0)),
        Identity("telescoping: T c * bound = Delta_F0 + T K delta^2 / L_u",
                 T * c_local * fedsim_gd_local().expression, Delta_F0 + T * K * delta**2 / L_u),
    )


DERIVATION = _derivation()
