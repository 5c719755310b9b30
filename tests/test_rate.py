"""theory/rate.py: the [D] paper-level bounds (the paper's rate shape with explicit constants) and the slope fit."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from altsim import theory
from altsim.theory import fedalt_local, fedsim_local, rate


def _num(e, values):
    syms = sorted(e.free_symbols, key=lambda s: s.name)
    with np.errstate(all="ignore"):
        return float(sp.lambdify(syms, e, "numpy")(*(np.float64(values[s.name]) for s in syms)))


@st.composite
def setting(draw):
    n = draw(st.integers(2, 60))
    tau = draw(st.integers(1, 8))
    return dict(
        Delta_F0=draw(st.floats(0.01, 10.0)),
        T=float(draw(st.integers(1, 10**6))),
        chi=draw(st.floats(0.0, 2.0)),
        L_u=draw(st.floats(0.3, 3.0)),
        L_v=draw(st.floats(0.3, 3.0)),
        delta=draw(st.floats(0.0, 3.0)),
        sigma_u=draw(st.floats(0.0, 3.0)),
        sigma_v=draw(st.floats(0.0, 3.0)),
        n=n,
        m=draw(st.integers(1, n)),
        tau=tau,
        tau_u=draw(st.integers(1, 8)),
        tau_v=draw(st.integers(1, 8)),
    )


def test_rate_identities_hold():
    assert all(i.holds() for i in rate.DERIVATION)


@settings(max_examples=40, deadline=None)
@given(v=setting(), frac=st.floats(0.05, 1.0))
def test_fedsim_paper_level_bounds_the_local_bound_at_its_fixed_weights(v, frac):
    """For every eta <= eta_bar: c(theta = omega = 1) >= eta/8 and fedsim_sgd_local's expression there is at
    most A/(eta T) + B eta + C eta^2 (the proof's claim), and the stated value bounds phi at its eta."""
    pl = rate.fedsim_paper_level()
    e = frac * _num(pl.eta_bar, v)
    w = {**v, "eta": e, "theta": 1.0, "omega": 1.0}
    c = _num(fedsim_local.c_sgd, w)
    assert c >= e / 8 * (1 - 1e-12)
    local = (v["Delta_F0"] / v["T"] + _num(fedsim_local.N_sgd, w)) / c
    assert local <= pl.phi(v, e) * (1 + 1e-9)
    eta = pl.eta(v)
    assert pl.phi(v, eta) <= pl.value(v) * (1 + 1e-9)


@settings(max_examples=40, deadline=None)
@given(v=setting(), frac=st.floats(0.05, 1.0))
def test_fedalt_paper_level_bounds_the_local_proof_at_its_fixed_weights(v, frac):
    """theta = omega = phi = beta = 1 in fedalt_local's one-round inequality (any beta > 0 is allowed there):
    min(c_x, c_Y/p) >= eta/8 and (Delta_F0/T + N)/min(c_x, c_Y/p) <= A/(eta T) + B eta + C eta^2."""
    pl = rate.fedalt_paper_level()
    e = frac * _num(pl.eta_bar, v)
    w = {**v, "eta": e, "eta_v": e, "theta": 1.0, "omega": 1.0, "phi": 1.0, "beta": 1.0}
    p = v["m"] / v["n"]
    c = min(_num(fedalt_local.c_x, w), _num(fedalt_local.c_Y, w) / p)
    assert c >= e / 8 * (1 - 1e-12)
    noise = (
        fedalt_local.p * fedalt_local.N_v + fedalt_local.N_u + fedalt_local.Q * fedalt_local.mu_s
    )
    local = (v["Delta_F0"] / v["T"] + _num(noise, w)) / c
    assert local <= pl.phi(v, e) * (1 + 1e-9)
    assert pl.phi(v, pl.eta(v)) <= pl.value(v) * (1 + 1e-9)


@pytest.mark.parametrize("pl", list(rate.PAPER_LEVEL.values()), ids=lambda p: p.name)
def test_paper_level_is_above_its_source_bound_at_its_step_size(pl):
    v = dict(
        Delta_F0=2.0,
        T=5000,
        chi=0.7,
        L_u=1.0,
        L_v=2.0,
        delta=0.8,
        sigma_u=0.4,
        sigma_v=0.6,
        n=40,
        m=10,
        tau=5,
        tau_u=5,
        tau_v=3,
    )
    source = theory.get_bound(pl.source)
    assert float(source.evaluate({**v, "eta": pl.eta(v)})) <= pl.value(v)
    assert pl.describe()["provenance"] == "D" and pl.describe()["source"] == pl.source


@settings(max_examples=50, deadline=None)
@given(tau=st.integers(1, 50), x=st.floats(1e-6, 1.0), L=st.floats(0.1, 5.0))
def test_drift_polynomial_bound(tau, x, L):
    """eps = ((1 + x/tau)^tau - 1)/L - x/L <= (e - 2)(1 - 1/tau) x^2 / L for x = eta L <= 1.

    The left side in exact rational arithmetic: in floating point (1 + x/tau)^tau - 1 - x cancels, and at
    tau = 1 (eps = 0 exactly) its rounding error alone exceeds the right side, which is 0."""
    from fractions import Fraction

    X = Fraction(x)
    eps = float((1 + X / tau) ** tau - 1 - X) / L
    assert eps <= (math.e - 2) * (1 - 1 / tau) * x**2 / L * (1 + 1e-12)


def test_fitted_slopes_show_the_template_regimes():
    """The local-step bounds at their best step size decay as the template says: towards -1/2 with noise, -2/3
    from the drift alone (no noise, every client each round, several local steps), -1 with neither."""
    b = theory.get_bound("fedsim_sgd_local")
    base = dict(
        Delta_F0=1.0,
        chi=0.5,
        L_u=1.0,
        L_v=1.0,
        delta=1.0,
        sigma_u=0.5,
        sigma_v=0.5,
        n=10,
        m=10,
        tau=5,
    )
    noisy = rate.fit_slopes(b, base, [1e5, 1e6, 1e7])
    drift = rate.fit_slopes(b, {**base, "sigma_u": 0.0, "sigma_v": 0.0}, [1e6, 1e7, 1e8])
    neither = rate.fit_slopes(
        b, {**base, "sigma_u": 0.0, "sigma_v": 0.0, "tau": 1}, [1e3, 1e4, 1e5]
    )
    assert -0.56 < noisy[-1] < -0.5
    assert -0.7 < drift[-1] < -0.64
    assert abs(neither[-1] + 1) < 1e-3
