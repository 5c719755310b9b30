r"""The paper's rate with every constant derived here: "[D] paper-level" bounds for the local-step bounds.

Problem
-------
The paper states its rate only in shape [P] (docs/theory.md section 5):
sqrt(sigma^2/T) + (sigma~^2/T)^(2/3) + O(1/T), with sigma^2 and sigma~^2 combinations of
sigma_u^2, sigma_v^2 and delta^2 and every absolute constant hidden. Here the shape is derived from
`fedsim_sgd_local` and `fedalt_sgd_local` with explicit constants.

Theoretical guarantee
---------------------
For a step size eta <= eta_bar, with the Young weights fixed (theta = omega = 1 for FedSim;
theta = omega = phi = beta = 1 for FedAlt) and the drift bounded by a polynomial, each local-step
bound is at most

.. math::
    \phi(\eta) = \frac{A}{\eta T} + B\eta + C\eta^2,\qquad A = 8\Delta F_0 .

At eta = min(eta_bar, sqrt(A/(B T)), (A/(C T))^(1/3)), since 1/min <= the sum of the reciprocals,

.. math::
    \frac1T\sum_{t<T} E[x_t^2 + pY_t^2] \le 2\sqrt{\frac{AB}{T}} + 2\Big(\frac{A^2C}{T^2}\Big)^{1/3}
    + \frac{A}{\bar\eta T}
    = 16\sqrt{\frac{\Delta F_0\,\sigma^2}{T}} + 8\Big(\frac{\Delta F_0^2\,\tilde\sigma^2}{T^2}\Big)^{1/3}
    + \frac{8\Delta F_0}{\bar\eta T},

with sigma^2 = B/8 and sigma~^2 = C (scaled units: d^2 = delta^2/L_u, s_u^2 = sigma_u^2/L_u,
s_v^2 = sigma_v^2/L_v, p = m/n, nu_m = (n-m)/(m(n-1)), a_tau = (e-2)(1 - 1/tau)):

- FedSim (kappa = 1 + chi sqrt(p), L = 1 + chi, a = a_tau L):
  sigma^2 = kappa (nu_m d^2 + s_u^2/(tau m) + p s_v^2/tau),
  sigma~^2 = 12 a^2 (d^2 + s_u^2 + s_v^2),
  eta_bar = min(1/L, 1/(4 kappa), sqrt(p/12)/a).
- FedAlt (eta_v = eta; a_u = a_{tau_u}, a_v = a_{tau_v}):
  sigma^2 = 2 nu_m d^2 + 2 s_u^2/(tau_u m) + p s_v^2/tau_v + (1.08/tau_v + 0.135) chi^2 s_v^2,
  sigma~^2 = 9 p a_v^2 s_v^2 + 10 a_u^2 (d^2 + s_u^2),
  eta_bar = min(1/16, 1/(4 a_u), 1/(4 a_v), p/(6 chi^2)).

What stands in the paper's sigma^2, in its notation A_P = sigma_u^2/(m L_u) + delta^2 (1 - m/n)/(m L_u),
B_P = sigma_v^2/L_v (docs/theory.md section 5): FedSim's is (1 + chi sqrt(m/n)) (A_P + (m/n) B_P) with the
noise divided by tau (and nu_m = (n-m)/(m(n-1)) for (1-m/n)/m): hypothesis H1's combination
A_P + (m/n) B_P, with the coupling factor 1 + chi sqrt(m/n) where H1 has 1 + chi^2. FedAlt's is
2 A_P + (m/n) B_P + c chi^2 B_P: it has H1's A_P + (m/n) B_P and a chi^2 B_P term like H1 and H2, but
with a constant where H1 has (1 - m/n), because this proof pays the coupling also when going back to
the round's start, not only for the unsampled clients. sigma~^2 is the drift: it vanishes at one local
step (a_1 = 0), and it carries delta^2 and the noise. Neither hypothesis is matched exactly.

Proof sketch
------------
Drift polynomial: (1 + x/tau)^tau - 1 - x = sum_{j>=2} C(tau, j)(x/tau)^j, C(tau, j)/tau^j <= (1 - 1/tau)/j!,
so it is at most (1 - 1/tau)(e^x - 1 - x) <= a_tau x^2 for 0 <= x <= 1 ((e^x - 1 - x)/x^2 increases).
Hence eps <= a eta^2 (FedSim: x = eta L) and eps_u <= a_u eta^2, eps_v <= a_v eta^2 (FedAlt: x = eta).
FedSim, theta = omega = 1: c = eta/2 - kappa eta^2 - (1/eta + 2 kappa) eps^2/p >= eta/8 under eta_bar, and
N <= kappa eta^2 S_tau + (3/2) a^2 eta^3 (d^2 + s^2); divide by eta/8.
FedAlt, theta = omega = phi = beta = 1: c_v >= eta/3, c_u >= eta/4 (so c_x >= eta/8),
Q <= 0.54 chi^2, mu_H <= 2.25 eta^2, c_Y/p >= eta/3 - 1.215 chi^2 eta^2/p >= eta/8; N bounded term by term;
divide by eta/8. The arithmetic is in `DERIVATION`; tests/test_rate.py checks on random settings
that each local-step bound at these weights, and at its best weights, is at most phi(eta).

References
----------
Pillutla et al., ICML 2022: the rate's shape [P]. Constants: this project [D].

Example
-------
>>> from altsim.theory import rate
>>> pl = rate.fedsim_paper_level()
>>> v = dict(Delta_F0=1.0, T=10_000, chi=0.5, L_u=1.0, L_v=1.0, delta=0.5, sigma_u=0.3, sigma_v=0.3, n=40, m=10, tau=5)
>>> value, eta = pl.value(v), pl.eta(v)
>>> from altsim.theory import get_bound
>>> float(get_bound("fedsim_sgd_local").evaluate({**v, "eta": eta})) <= value
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from . import fedsim_local
from .derivation import Identity
from .regime import best_value
from .registry import get_bound
from .scaled import d2, nu_m, p, s_u2, s_v2
from .symbols import Delta_F0, T, chi, eta, m, tau, tau_u, tau_v

E_MINUS_2 = sp.E - 2


def drift_slope(steps: sp.Expr) -> sp.Expr:
    """a_tau = (e - 2)(1 - 1/tau): eps <= a_tau L eta^2 for eta L <= 1."""
    return E_MINUS_2 * (1 - 1 / steps)


@functools.lru_cache(maxsize=256)
def _lambdified(e: sp.Expr):
    """(sorted free symbols, numpy function) of `e`, built once: a curve evaluates it at many horizons."""
    syms = tuple(sorted(e.free_symbols, key=lambda s: s.name))
    return syms, sp.lambdify(syms, e, "numpy")


@dataclass(frozen=True)
class PaperLevel:
    """The paper's rate shape with explicit constants [D]: A/(eta T) + B eta + C eta^2 bounds
    `source` for eta <= eta_bar."""

    name: str
    algorithm: str
    source: str
    """The [D] bound this is derived from; its conditions (apart from the step size) are this one's."""
    B: sp.Expr
    C: sp.Expr
    eta_bar: sp.Expr
    A: sp.Expr = 8 * Delta_F0
    provenance: str = "D"
    single_step_size: bool = False
    """Derived at eta_v = eta: a setting with a separate v step size is outside it (FedAlt's)."""

    @property
    def sigma2(self) -> sp.Expr:
        """What stands in the paper's sigma^2: the coefficient of sqrt(Delta_F0/T), over 16, squared (B/8)."""
        return self.B / 8

    @property
    def sigma_tilde2(self) -> sp.Expr:
        """What stands in the paper's sigma~^2: C, so the middle term is 8 (Delta_F0^2 sigma~^2/T^2)^(1/3)."""
        return self.C

    @property
    def expression(self) -> sp.Expr:
        """2 sqrt(A B/T) + 2 (A^2 C/T^2)^(1/3) + A/(eta_bar T): the bound at `eta`'s step size."""
        return (
            2 * sp.sqrt(self.A * self.B / T)
            + 2 * sp.cbrt(self.A**2 * self.C / T**2)
            + self.A / (self.eta_bar * T)
        )

    def _num(self, e: sp.Expr, values: Mapping[str, float]) -> float:
        syms, f = _lambdified(e)
        with np.errstate(all="ignore"):
            return float(f(*(np.float64(values[s.name]) for s in syms)))

    def step_size_reasons(self, values: Mapping[str, object]) -> list[str]:
        """Why `values` is outside the step sizes this rate is derived at (empty when it is not): a
        rate derived at eta_v = eta refuses a separate eta_v."""
        eta_v, eta_u = values.get("eta_v"), values.get("eta")
        if not self.single_step_size or eta_v is None:
            return []
        if isinstance(eta_u, (int, float)) and isinstance(eta_v, (int, float)):
            if math.isclose(float(eta_v), float(eta_u), rel_tol=1e-12):
                return []
        return [
            f"{self.name} is derived at eta_v = eta (one step size for both blocks); the setting "
            f"has eta_v = {eta_v}"
            + (f", eta = {eta_u}" if eta_u is not None else ", eta left to the rate")
        ]

    def eta(self, values: Mapping[str, float]) -> float:
        """min(eta_bar, sqrt(A/(B T)), (A/(C T))^(1/3)): the step size the bound is stated at."""
        a, b, c, t = (self._num(e, values) for e in (self.A, self.B, self.C, T))
        return min(
            self._num(self.eta_bar, values),
            math.sqrt(a / (b * t)) if b > 0 else math.inf,
            (a / (c * t)) ** (1 / 3) if c > 0 else math.inf,
        )

    def value(self, values: Mapping[str, float]) -> float:
        """The paper-level bound at `values` (every symbol of `expression` given): its value at the step size `eta`."""
        return self._num(self.expression, values)

    def curve(self, values: Mapping[str, float], horizons: Sequence[float]) -> np.ndarray:
        """The paper-level bound at each horizon T of `horizons`, each at its own step size `eta`."""
        return np.array([self.value({**values, "T": float(t)}) for t in horizons])

    def applies(self, setting: Mapping[str, object]) -> list[str]:
        """Why the paper-level bound does not apply to a run's `setting` (empty when it does): its
        source bound's conditions, the step size's apart (the paper-level rate picks its own)."""
        cover = get_bound(self.source).covers(setting)
        if cover or cover.only_step_size():
            missing = sorted(s.name for s in self.expression.free_symbols if s.name not in setting)
            if missing:
                return [f"needs {', '.join(missing)}"]
            return self.step_size_reasons(setting)
        return list(cover.reasons)

    def phi(self, values: Mapping[str, float], eta_value: float) -> float:
        """A/(eta T) + B eta + C eta^2 at a given eta <= eta_bar: the bound before choosing eta."""
        return self._num(
            self.A / (eta * T) + self.B * eta + self.C * eta**2, {**values, "eta": eta_value}
        )

    def describe(self) -> dict:
        """A JSON-ready summary: name, algorithm, provenance, source bound, and the expression, sigma^2,
        sigma~^2 and eta_bar as sympy strings, beside the template they fill in (`altsim bound` shows it
        under `paper_level_derived`)."""
        return {
            "name": self.name,
            "algorithm": self.algorithm,
            "provenance": self.provenance,
            "source": self.source,
            "expression": sp.sstr(self.expression),
            "sigma2": sp.sstr(self.sigma2),
            "sigma_tilde2": sp.sstr(self.sigma_tilde2),
            "eta_bar": sp.sstr(self.eta_bar),
            "template": "16 sqrt(Delta_F0 sigma2/T) + 8 (Delta_F0^2 sigma_tilde2/T^2)^(1/3) + 8 Delta_F0/(eta_bar T)",
        }


_kappa, _L = fedsim_local.kappa, fedsim_local.L_joint
_a_sim = drift_slope(tau) * _L
S_tau = fedsim_local.S_tau


def fedsim_paper_level() -> PaperLevel:
    """FedSim's rate in the paper's shape with every constant derived [D], from `fedsim_sgd_local`.

    16 sqrt(Delta_F0 sigma^2/T) + 8 (Delta_F0^2 sigma~^2/T^2)^(1/3) + 8 Delta_F0/(eta_bar T) with
    sigma^2 = (1 + chi sqrt(m/n)) S_tau, sigma~^2 = 12 a_tau^2 (1 + chi)^2 (d^2 + s_u^2 + s_v^2) and
    eta_bar = min(1/(1+chi), 1/(4 kappa), sqrt(p/12)/(a_tau (1 + chi))): docs/theory.md section 7.11. The
    Young weights are fixed (theta = omega = 1), so nothing is searched; the bound holds at the step size
    `PaperLevel.eta`, where the local-step bound is below it.

    Example:
        >>> from altsim.theory import get_bound, rate
        >>> pl = rate.fedsim_paper_level()
        >>> v = dict(Delta_F0=1.0, T=10_000, chi=0.5, L_u=1.0, L_v=1.0, delta=0.5, sigma_u=0.3, sigma_v=0.3,
        ...          n=40, m=10, tau=5)
        >>> bool(float(get_bound("fedsim_sgd_local").evaluate({**v, "eta": pl.eta(v)})) <= pl.value(v))
        True
    """
    return PaperLevel(
        name="fedsim_paper_level",
        algorithm="fedsim",
        source="fedsim_sgd_local",
        B=8 * _kappa * S_tau,
        C=12 * _a_sim**2 * (d2 + s_u2 + s_v2),
        eta_bar=sp.Min(1 / _L, 1 / (4 * _kappa), sp.sqrt(p / 12) / _a_sim),
    )


_a_u, _a_v = drift_slope(tau_u), drift_slope(tau_v)


def fedalt_paper_level() -> PaperLevel:
    """FedAlt's rate in the paper's shape with every constant derived [D], from `fedalt_sgd_local` (eta_v = eta).

    16 sqrt(Delta_F0 sigma^2/T) + 8 (Delta_F0^2 sigma~^2/T^2)^(1/3) + 8 Delta_F0/(eta_bar T) with
    sigma^2 = 2 nu_m d^2 + 2 s_u^2/(tau_u m) + p s_v^2/tau_v + (1.08/tau_v + 0.135) chi^2 s_v^2,
    sigma~^2 = 9 p a_{tau_v}^2 s_v^2 + 10 a_{tau_u}^2 (d^2 + s_u^2) and
    eta_bar = min(1/16, 1/(4 a_{tau_u}), 1/(4 a_{tau_v}), p/(6 chi^2)): docs/theory.md section 7.11. The
    Young weights are fixed (theta = omega = phi = beta = 1), so nothing is searched.

    Example:
        >>> from altsim.theory import get_bound, rate
        >>> pl = rate.fedalt_paper_level()
        >>> v = dict(Delta_F0=1.0, T=10_000, chi=0.5, L_u=1.0, L_v=1.0, delta=0.5, sigma_u=0.3, sigma_v=0.3,
        ...          n=40, m=10, tau_u=2, tau_v=2)
        >>> bool(float(get_bound("fedalt_sgd_local").evaluate({**v, "eta": pl.eta(v)})) <= pl.value(v))
        True
    """
    return PaperLevel(
        name="fedalt_paper_level",
        algorithm="fedalt",
        source="fedalt_sgd_local",
        B=8 * (p * s_v2 / tau_v + 2 * nu_m * d2 + 2 * s_u2 / (tau_u * m))
        + (sp.Rational(864, 100) / tau_v + sp.Rational(108, 100)) * chi**2 * s_v2,
        C=9 * p * _a_v**2 * s_v2 + 10 * _a_u**2 * (d2 + s_u2),
        eta_bar=sp.Min(sp.Rational(1, 16), 1 / (4 * _a_u), 1 / (4 * _a_v), p / (6 * chi**2)),
        single_step_size=True,
    )


PAPER_LEVEL = {f().name: f() for f in (fedsim_paper_level, fedalt_paper_level)}


def bound_at_best_eta(
    bound, values: Mapping[str, float], horizons: Sequence[float] | np.ndarray
) -> np.ndarray:
    """The bound at its own best allowed step size, for each horizon T (the rate the theory promises)."""
    out = []
    for t in horizons:
        r = best_value(bound, {**values, "T": float(t)})
        out.append(r.get("value", math.nan))
    return np.asarray(out)


def fit_slopes(bound, values: Mapping[str, float], horizons: Sequence[float]) -> np.ndarray:
    """Log-log slopes of the best-step-size bound between consecutive horizons: -1/2 where the noise term
    rules, -2/3 where the drift rules, -1 where neither does (docs/theory.md section 5)."""
    h = np.asarray(horizons, dtype=float)
    v = bound_at_best_eta(bound, values, h)
    return np.diff(np.log(v)) / np.diff(np.log(h))


def _derivation() -> tuple[Identity, ...]:
    A_, B_, C_, T_ = sp.symbols("A B C T_", positive=True)
    e1, e2 = sp.sqrt(A_ / (B_ * T_)), sp.cbrt(A_ / (C_ * T_))
    x, k = sp.symbols("x k", positive=True)
    j = sp.Symbol("j", integer=True, positive=True)
    return (
        Identity(
            "at eta_1 = sqrt(A/(B T)): A/(eta_1 T) = B eta_1 = sqrt(A B/T)",
            A_ / (e1 * T_) - B_ * e1,
            sp.Integer(0),
        ),
        Identity("... and B eta_1 = sqrt(A B/T)", (B_ * e1) ** 2, A_ * B_ / T_),
        Identity(
            "at eta_2 = (A/(C T))^(1/3): A/(eta_2 T) = C eta_2^2 = (A^2 C/T^2)^(1/3)",
            A_ / (e2 * T_) - C_ * e2**2,
            sp.Integer(0),
        ),
        Identity("... cubed: (C eta_2^2)^3 = A^2 C/T^2", (C_ * e2**2) ** 3, A_**2 * C_ / T_**2),
        Identity(
            "the middle term: 2 (A^2 C/T^2)^(1/3) = 8 (Delta_F0^2 C/T^2)^(1/3) at A = 8 Delta_F0",
            (2 * sp.cbrt(A_**2 * C_ / T_**2)).subs(A_, 8 * Delta_F0) ** 3,
            (8 * sp.cbrt(Delta_F0**2 * C_ / T_**2)) ** 3,
        ),
        Identity(
            "the first term: 2 sqrt(A B/T) = 16 sqrt(Delta_F0 (B/8)/T) at A = 8 Delta_F0",
            (2 * sp.sqrt(A_ * B_ / T_)).subs(A_, 8 * Delta_F0),
            16 * sp.sqrt(Delta_F0 * (B_ / 8) / T_),
        ),
        Identity(
            "binomial tail: C(tau, 2)/tau^2 = (1 - 1/tau)/2, the j = 2 case of C(tau, j)/tau^j <= (1-1/tau)/j!",
            sp.binomial(k, 2) / k**2,
            (1 - 1 / k) / 2,
        ),
        Identity(
            "(e^x - 1 - x)/x^2 at x = 1 is e - 2",
            ((sp.exp(x) - 1 - x) / x**2).subs(x, 1),
            E_MINUS_2,
        ),
        Identity(
            "FedSim, theta = omega = 1: K_W = 1/(2 eta) + kappa, so 2 K_W = (1 + 2 kappa eta)/eta",
            2 * (1 / (2 * eta) + _kappa),
            (1 + 2 * _kappa * eta) / eta,
        ),
        Identity(
            "FedSim: N/(eta/8) = 8 kappa eta S_tau + 12 a^2 eta^2 (d^2+s^2) at the drift term's bound",
            (_kappa * eta**2 * S_tau + sp.Rational(3, 2) * _a_sim**2 * eta**3 * (d2 + s_u2 + s_v2))
            / (eta / 8),
            fedsim_paper_level().B * eta + fedsim_paper_level().C * eta**2,
        ),
        Identity(
            "a sum over j >= 2 of x^j/j! is e^x - 1 - x",
            sp.summation(x**j / sp.factorial(j), (j, 2, sp.oo)).rewrite(sp.exp),
            sp.exp(x) - 1 - x,
        ),
    )


DERIVATION = _derivation()
