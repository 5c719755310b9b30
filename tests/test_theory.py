"""theory/: derivations, regime, evaluation paths, monotonicity, step sizes, calibration."""

import doctest
import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from altsim import theory
from altsim.theory import fedsim_sgd, paper
from altsim.theory.stepsize import allowed_eta
from altsim.theory.symbols import SYMBOLS

EXPLICIT = [b for b in theory.BOUNDS.values() if b.provenance == "D"]


def test_a_false_identity_is_caught():
    from altsim.theory.derivation import Identity

    x = sp.Symbol("x", positive=True)
    assert not Identity("wrong", (x + 1) ** 2, x**2 + 1).holds()


@pytest.mark.parametrize(
    "module", theory.registry._DERIVED_MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1]
)
def test_every_derived_module_has_docstring_examples(module):
    """tests/test_docs.py runs them; here: none of the [D] modules is left without one."""
    finder = doctest.DocTestFinder()
    assert sum(len(t.examples) for t in finder.find(module)) > 0


def test_regime_function_is_section_6_condition_exactly():
    s = SYMBOLS
    expected = sp.StrictLessThan(
        (s["sigma_v"] ** 2 / s["L_v"]) * (1 - 2 * s["m"] / s["n"]),
        s["sigma_u"] ** 2 / (s["m"] * s["L_u"])
        + s["delta"] ** 2 * (1 - s["m"] / s["n"]) / (s["m"] * s["L_u"]),
    )
    got = theory.regime_condition()
    assert sp.simplify(got.lhs - expected.lhs) == 0 and sp.simplify(got.rhs - expected.rhs) == 0
    assert isinstance(got, sp.StrictLessThan)


consts = st.floats(0.0, 3.0, allow_nan=False)
pos = st.floats(0.05, 5.0, allow_nan=False)


@given(
    su=consts, sv=consts, d=consts, Lu=pos, Lv=pos, n=st.integers(2, 200), frac=st.floats(0.01, 1.0)
)
def test_regime_numeric_agrees_with_symbolic(su, sv, d, Lu, Lv, n, frac):
    m = max(1, min(n, int(round(frac * n))))
    vals = dict(sigma_u=su, sigma_v=sv, delta=d, L_u=Lu, L_v=Lv, n=n, m=m)
    rel = theory.regime_condition()
    subs = {SYMBOLS[k]: sp.nsimplify(v, rational=True) for k, v in vals.items()}
    lhs, rhs = rel.lhs.subs(subs), rel.rhs.subs(subs)  # exact rationals
    winner = theory.regime_winner(**vals)
    if lhs == rhs:
        assert winner == "tie"
    elif winner != "tie":
        assert winner == ("fedalt" if lhs < rhs else "fedsim")
    else:  # numeric tie within 1e-12 relative
        assert abs(float(lhs - rhs)) <= 1e-11 * max(abs(float(lhs)), abs(float(rhs)))


@given(su=consts, sv=consts, d=consts, Lu=pos, Lv=pos, n=st.integers(1, 200))
def test_full_participation_fedalt_never_worse(su, sv, d, Lu, Lv, n):
    assert theory.regime_winner(su, sv, d, Lu, Lv, n, n) in ("fedalt", "tie")


@pytest.mark.parametrize("hyp", ["H1", "H2"])
def test_chi_zero_makes_the_paper_level_bounds_equal(hyp):
    a = paper.paper_level("fedalt", hyp).expression.subs(SYMBOLS["chi"], 0)
    s = paper.paper_level("fedsim", hyp).expression.subs(SYMBOLS["chi"], 0)
    assert sp.simplify(a - s) == 0
    # and with chi > 0 they differ, so the check above is not vacuous
    assert (
        sp.simplify(
            paper.paper_level("fedalt", hyp).expression
            - paper.paper_level("fedsim", hyp).expression
        )
        != 0
    )


def test_no_paper_object_holds_an_unconfirmed_number():
    """[P] objects carry named unknown constants instead of numbers; [R] objects say so."""
    for b in theory.BOUNDS.values():
        if b.provenance == "P":
            assert set(b.unknowns) == {"C1", "C2", "C3"}
            # the only numbers allowed are the confirmed exponents of the shape (1/2, 2/3 and 1/T)
            allowed = {sp.Rational(p, q) for p in (-2, -1, 1, 2) for q in (1, 2, 3)}
            numbers = set(b.expression.atoms(sp.Number))
            assert numbers <= allowed, numbers
        if b.provenance == "R":
            assert b.unknowns


def _values(draw_vals, bound):
    return {k: draw_vals[k] for k in bound.parameters}


@st.composite
def settings_for(draw, bound):
    chi = draw(st.floats(0.0, 2.0))
    n = draw(st.integers(2, 100))
    m = draw(st.integers(1, n))
    vals = dict(
        chi=chi,
        n=n,
        m=m,
        L_u=draw(pos),
        L_v=draw(pos),
        sigma_u=draw(consts),
        sigma_v=draw(consts),
        delta=draw(consts),
        Delta_F0=draw(st.floats(0.0, 50.0)),
        T=draw(st.integers(1, 10_000)),
        tau=draw(st.integers(1, 6)),
        tau_u=draw(st.integers(1, 6)),
        tau_v=draw(st.integers(1, 6)),
        eta_v=draw(st.floats(0.01, 0.99)) * 2,
    )
    # a fraction of the largest step size the bound's step conditions allow here: drawn from eta_max
    # alone, most local-step settings broke the descent condition and hypothesis filtered them out
    cap = allowed_eta(bound, vals) or bound.eta_max_at(vals)
    return {**vals, "eta": draw(st.floats(0.01, 0.99)) * cap}


_MPMATH: dict = {}


def _high_precision(bound, values: dict) -> float:
    """The bound's sympy expression evaluated in 30-digit mpmath: independent of the numpy and torch paths.
    (Not `subs(...).evalf()`: substituting floats runs sympy's assumption system, which at some weights
    spends minutes isolating polynomial roots.)"""
    import mpmath

    if bound.name not in _MPMATH:
        syms = sorted(bound.expression.free_symbols, key=str)
        _MPMATH[bound.name] = (syms, sp.lambdify(syms, bound.expression, modules="mpmath"))
    syms, f = _MPMATH[bound.name]
    with mpmath.workdps(30):
        return float(f(*[mpmath.mpf(values[s]) for s in syms]))


@pytest.mark.parametrize("bound", EXPLICIT, ids=lambda b: b.name)
@given(data=st.data())
def test_numpy_torch_and_symbolic_evaluation_agree(bound, data):
    vals = data.draw(settings_for(bound))
    vals = _values(vals, bound)
    weights = {}
    if bound.weights:  # the search's value is the expression at the weights it returns
        value, found = bound.evaluate_with_weights(vals)
        if not np.isfinite(value):
            return
        weights = {theory.symbols.WEIGHTS[k]: float(w) for k, w in found.items()}
    exact = _high_precision(bound, {**{SYMBOLS[k]: v for k, v in vals.items()}, **weights})
    fast = float(bound.evaluate(vals))
    tor = float(bound.evaluate_torch(vals))
    # abs_tol: a drift term of ~1e-29 (exact) cancels to 0 in float64, (1 + x/tau)^tau - 1 - x; no bound is that small
    assert math.isclose(fast, exact, rel_tol=1e-9, abs_tol=1e-20)
    assert math.isclose(tor, exact, rel_tol=1e-9, abs_tol=1e-20)


@pytest.mark.parametrize("bound", EXPLICIT, ids=lambda b: b.name)
@given(data=st.data())
def test_bounds_are_monotone_in_the_theorys_directions(bound, data):
    vals = _values(data.draw(settings_for(bound)), bound)
    base = float(bound.evaluate(vals))
    assume(
        base > 0 and math.isfinite(base)
    )  # outside a bound's step-size condition its expression means nothing
    # a bound with free weights is the infimum the weight search finds: monotone up to the search's precision
    tol = 1e-4 if bound.weights else 1e-12
    assert float(bound.evaluate({**vals, "T": vals["T"] * 2})) <= base * (1 + tol)
    for k in ("sigma_u", "sigma_v", "delta", "Delta_F0"):
        if k in vals:
            assert float(bound.evaluate({**vals, k: vals[k] + 0.5})) >= base * (1 - tol), k


def test_evaluation_vectorises_over_a_grid():
    b = theory.get_bound("fedsim_sgd_partial")
    rng = np.random.default_rng(0)
    grid = dict(
        Delta_F0=rng.uniform(0, 5, 1000),
        chi=rng.uniform(0, 1, 1000)[:, None],
        sigma_u=0.1,
        sigma_v=0.2,
        L_u=1.0,
        L_v=2.0,
        n=10,
        m=5,
        T=100,
        eta=0.3,
        delta=1.0,
    )
    out = b.evaluate(grid)
    assert out.shape == (1000, 1000)
    i, j = 17, 503
    one = b.evaluate({**grid, "Delta_F0": grid["Delta_F0"][j], "chi": grid["chi"][i, 0]})
    assert math.isclose(float(out[i, j]), float(one), rel_tol=1e-14)
    t = b.evaluate_torch({k: torch.as_tensor(v) for k, v in grid.items()})
    assert torch.allclose(t, torch.as_tensor(out), rtol=1e-12)


def test_missing_symbols_are_named():
    with pytest.raises(ValueError, match="Delta_F0"):
        theory.get_bound("fedsim_gd_full").evaluate(T=10, eta=0.5, chi=1.0)


@given(
    a=st.floats(0.01, 100),
    b=st.floats(0.0, 10),
    c=st.floats(0.0, 10),
    T=st.integers(1, 10**6),
    eta_max=st.floats(0.05, 5),
)
def test_minimize_rate_closed_form_beats_a_fine_grid(a, b, c, T, eta_max):
    eta, val = theory.minimize_rate(a, b, c, T, eta_max)
    assert 0 < eta <= eta_max
    grid = np.geomspace(eta_max * 1e-9, eta_max, 20001)
    phi = a / (grid * T) + b * grid + c * grid**2
    assert val <= phi.min() * (1 + 1e-9)


@pytest.mark.parametrize("name", ["fedsim_gd_full", "fedalt_sgd_full", "fedsim_sgd_partial"])
def test_optimal_eta_minimises_the_bound(name):
    b = theory.get_bound(name)
    vals = dict(
        Delta_F0=3.0, chi=0.7, sigma_u=0.3, sigma_v=0.4, L_u=1.0, L_v=2.0, n=10, m=4, delta=1.0
    )
    eta, val = theory.optimal_eta(b, vals, T=500)
    eta_max = b.eta_max_at({**vals, "chi": 0.7})
    grid = np.linspace(eta_max * 1e-4, eta_max * (1 - 1e-6), 100001)
    brute = b.evaluate({**vals, "T": 500, "eta": grid})
    assert val <= brute.min() * (1 + 1e-9)
    if name == "fedsim_gd_full":  # closed form: eta* = 1/(1+chi), value 2(1+chi)DF0/T
        assert math.isclose(eta, 1 / 1.7, rel_tol=1e-5) and math.isclose(
            val, 2 * 1.7 * 3.0 / 500, rel_tol=1e-9
        )


def test_fedalt_tightening_beats_the_crude_form_where_that_applies():
    b = theory.get_bound("fedalt_gd_full")
    for chi in (0.1, 0.5, 1.0, 3.0):
        eta = np.linspace(0.01, min(1.0, 1 / (chi * math.sqrt(2))), 50)
        ours = b.evaluate(Delta_F0=1.0, T=10, eta=eta, chi=chi)
        crude = 2 * 1.0 / (eta * (1 - eta / 2) * 10)
        assert np.all(ours <= crude * (1 + 1e-12))


def test_covers_checks_every_condition_and_names_failures():
    b = theory.get_bound("fedalt_sgd_full")
    ok = dict(
        algorithm="fedalt",
        tau_u=1,
        tau_v=1,
        gamma_u=0.5,
        gamma_v=0.25,
        L_u=1.0,
        L_v=2.0,
        n=10,
        m=10,
        chi=0.5,
    )
    assert b.covers(ok) and not b.covers(ok).failed
    for change, kind, symbol in (
        ({"m": 5}, "participation", "m"),
        ({"tau_u": 2}, "local_steps", "tau_u"),
        ({"gamma_v": 0.3}, "step_rule", "gamma_v"),
        ({"gamma_u": 2.5, "gamma_v": 1.25}, "step_range", "eta"),
        ({"stateless": True}, "client_state", "stateless"),
    ):
        cov = b.covers({**ok, **change})
        assert (
            not cov and cov.failed_kinds == {kind} and all(symbol in c.symbols for c in cov.failed)
        ), change
        assert len(cov.reasons) == len(cov.failed)  # and every failure is explained in words
    assert b.covers({**ok, "gamma_u": 2.5, "gamma_v": 1.25}).only_step_size()
    assert not b.covers({**ok, "m": 5}).only_step_size()
    wrong = b.covers({**ok, "algorithm": "fedsim"})
    assert not wrong and wrong.other and not wrong.failed


def test_every_condition_has_a_known_kind_and_is_about_its_symbols():
    from altsim.theory.bound import CONDITION_KINDS, Condition

    for b in theory.BOUNDS.values():
        for c in b.conditions:
            assert c.kind in CONDITION_KINDS and c.symbols <= set(SYMBOLS), (b.name, c)
    with pytest.raises(ValueError, match="kind='prose'"):
        Condition(sp.Eq(SYMBOLS["m"], SYMBOLS["n"]), "full participation", "prose")


def test_calibration_gives_the_tightest_cover():
    tmpl = theory.get_bound("fedsim_paper_template")
    rng = np.random.default_rng(1)
    settings = [dict(sigma1_sq=0.5, sigma2_sq=0.2, T=float(T)) for T in (10, 30, 100, 300, 1000)]
    measured = [0.8 / math.sqrt(s["T"]) + 2.0 / s["T"] + rng.uniform(0, 0.01) for s in settings]
    cal = theory.calibrate(tmpl, settings, measured)
    assert cal.provenance == "calibrated" and not cal.unknowns
    fitted = np.array([float(cal.evaluate(s)) for s in settings])
    assert np.all(fitted >= np.array(measured) * (1 - 1e-9))
    assert np.isclose(fitted, measured, rtol=1e-6).any()  # tight: some measurement is active


# --- fedsim_sgd_partial: the coupling paid on the sampled share (1 + chi sqrt(m/n)) ---------------------
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(2, 12),
    frac=st.floats(0.05, 1.0),
    chi=st.floats(0.0, 0.99),
    Lu=pos,
    Lv=pos,
    aligned=st.booleans(),
)
def test_one_round_smoothness_lemma_with_the_sampled_share_holds_and_is_tight(
    seed, n, frac, chi, Lu, Lv, aligned
):
    """Steps 1-2 of the fedsim_sgd_partial proof, for every realisation, with b_i = 0 off the sample:
    F(u + a, V + B) - F - <grad_u F, a> - (1/n) sum <grad_v F_i, b_i> <= kappa/2 (L_u |a|^2 + L_v (1/n) sum |b_i|^2),
    kappa = 1 + chi sqrt(m/n). On F_i = L_u/2 |u|^2 + L_v/2 |v_i|^2 + L_uv <u, v_i> (exactly L_u, L_v, L_uv-smooth)
    the left side is the exact second-order term; with every sampled b_i equal, parallel to a and
    sqrt(L_u)|a| = sqrt(L_v) B, it attains the right side, so a smaller kappa would fail here."""
    m = max(1, min(n, round(frac * n)))
    Luv = chi * math.sqrt(Lu * Lv)
    g = np.random.default_rng(seed)
    a = g.normal(size=3)
    b = np.zeros((n, 3))
    sampled = g.permutation(n)[:m]
    if aligned:  # the equality case
        b[sampled] = a * math.sqrt(Lu / Lv) * math.sqrt(n / m)
    else:
        b[sampled] = g.normal(size=(m, 3))
    # the sign of L_uv in F_i is free (both signs are L_uv-smooth): take the worse one
    second_order = Lu / 2 * a @ a + (abs(Luv * (b @ a).sum()) + Lv / 2 * (b * b).sum()) / n
    kappa = 1 + chi * math.sqrt(m / n)
    bound = kappa / 2 * (Lu * a @ a + Lv * (b * b).sum() / n)
    assert second_order <= bound * (1 + 1e-12) + 1e-15
    if aligned:
        assert math.isclose(second_order, bound, rel_tol=1e-9)


@given(
    n=st.integers(2, 200),
    frac=st.floats(0.01, 1.0),
    chi=st.floats(0.0, 3.0),
    eta_frac=st.floats(0.001, 0.999),
    sigma_u=consts,
    sigma_v=consts,
    delta=consts,
    Lu=pos,
    Lv=pos,
    T=st.integers(1, 10**5),
    DF0=st.floats(0.01, 50.0),
)
def test_the_sampled_share_bound_never_loosens_the_previous_one(
    n, frac, chi, eta_frac, sigma_u, sigma_v, delta, Lu, Lv, T, DF0
):
    """The tightened fedsim_sgd_partial is at most the earlier (1 + chi) form wherever that form applies, and
    equals it at m = n (symbolically: the `full participation` identity; here numerically on a grid)."""
    m = max(1, min(n, round(frac * n)))
    new = theory.get_bound("fedsim_sgd_partial")
    old = fedsim_sgd._bound_expr(fedsim_sgd.noise_partial, fedsim_sgd.kappa_full)
    eta = eta_frac * 2 / (1 + chi)  # inside the old range, hence inside the new one
    vals = dict(
        n=n,
        m=m,
        chi=chi,
        eta=eta,
        sigma_u=sigma_u,
        sigma_v=sigma_v,
        delta=delta,
        L_u=Lu,
        L_v=Lv,
        T=T,
        Delta_F0=DF0,
    )
    old_value = float(old.subs({SYMBOLS[k]: v for k, v in vals.items()}))
    new_value = float(new.evaluate(vals))
    assert 0 < new_value <= old_value * (1 + 1e-12)
    if m == n:
        assert math.isclose(new_value, old_value, rel_tol=1e-12)


# --- the regime from altsim's own [D] bounds --------------------------------------------------------------
@settings(max_examples=10)
@given(
    su=consts,
    sv=consts,
    d=consts,
    Lu=pos,
    Lv=pos,
    n=st.integers(2, 50),
    frac=st.floats(0.05, 1.0),
    chi=st.floats(0.0, 1.5),
    T=st.integers(1, 10**4),
)
def test_derived_regime_compares_each_algorithms_best_bound_at_its_own_best_allowed_step(
    su, sv, d, Lu, Lv, n, frac, chi, T
):
    m = max(1, min(n, round(frac * n)))
    vals = dict(
        sigma_u=su, sigma_v=sv, delta=d, L_u=Lu, L_v=Lv, n=n, m=m, chi=chi, T=T, Delta_F0=3.0
    )
    rep = theory.regime_winner_derived(vals)
    for alg in ("fedalt", "fedsim"):
        best = rep[alg]
        if best.get("bound") is None:
            continue
        b = theory.get_bound(best["bound"])
        full = {**vals, "tau": 1, "tau_u": 1, "tau_v": 1, "eta": best["eta"]}
        assert all(c.check(full) is None for c in b.conditions if c.kind != "step_rule"), (
            best
        )  # inside every condition
        # no allowed step size of any applicable bound of this algorithm does better (a fine grid)
        for other in theory.bounds_for(alg, "D"):
            if any(
                c.check({**full, "eta": 1e-9}) is not None
                for c in other.conditions
                if c.kind not in theory.STEP_SIZE_KINDS | {"step_rule"}
            ):
                continue
            cap = theory.allowed_eta(other, full)
            # bounds with free weights: a coarser grid, and their best eta is found to the search's precision
            etas = np.geomspace(cap * 1e-6, cap * (1 - 1e-9), 801 if other.weights else 4001)
            values = other.evaluate({**full, "eta": etas})
            tol = 1e-3 if other.weights else 1e-7
            assert best["value"] <= np.min(values[np.isfinite(values) & (values > 0)]) * (1 + tol)
    if rep["winner"] in ("fedalt", "fedsim"):
        loser = "fedsim" if rep["winner"] == "fedalt" else "fedalt"
        assert rep[rep["winner"]]["value"] < rep[loser]["value"]


@given(su=consts, sv=consts, Lu=pos, Lv=pos, n=st.integers(2, 50), T=st.integers(1, 10**4))
def test_without_coupling_at_full_participation_the_derived_regime_is_a_tie(su, sv, Lu, Lv, n, T):
    """chi = 0, m = n: FedAlt's [D] bounds equal FedSim's (docs/theory.md section 6)."""
    rep = theory.regime_winner_derived(
        dict(
            sigma_u=su, sigma_v=sv, delta=1.0, L_u=Lu, L_v=Lv, n=n, m=n, chi=0.0, T=T, Delta_F0=2.0
        )
    )
    assert rep["winner"] == "tie", rep


def test_derived_regime_says_where_no_bound_applies():
    rep = theory.regime_winner_derived(
        dict(
            sigma_u=0.1,
            sigma_v=0.1,
            delta=1.0,
            L_u=1.0,
            L_v=1.0,
            n=10,
            m=5,
            chi=0.3,
            T=100,
            Delta_F0=1.0,
            tau_u=3,
            tau_v=3,
            tau=3,
            stateless=1,
        )
    )
    assert rep["winner"] is None and "fedalt and fedsim" in rep["reason"]
    assert "one local step" in rep["fedalt"]["reasons"]["fedalt_sgd_partial"]
    assert "keep v_i" in rep["fedalt"]["reasons"]["fedalt_sgd_local"]
    # with clients that keep their state, the local-step bounds give a verdict at tau = 3
    assert theory.regime_winner_derived(
        dict(
            sigma_u=0.1,
            sigma_v=0.1,
            delta=1.0,
            L_u=1.0,
            L_v=1.0,
            n=10,
            m=5,
            chi=0.3,
            T=100,
            Delta_F0=1.0,
            tau_u=3,
            tau_v=3,
            tau=3,
        )
    )["winner"] in ("fedalt", "fedsim")


REGIME_VALUES = dict(
    sigma_u=0.1, sigma_v=0.1, delta=1.0, L_u=1.0, L_v=1.0, L_uv=0.3, n=10, m=5, chi=0.3, T=100
)


@pytest.mark.parametrize(
    "key, bad, needle",
    [
        ("L_u", -1, r"^L_u=-1: must be a number in \(0, inf\)"),
        ("T", "100", r"^T='100': must be an integer in \[1, inf\), not str"),
        ("T", 100.0, r"^T=100\.0: must be an integer"),
        ("m", 20, r"^m=20: must be an integer in \[1, 10\]"),
        ("stateless", True, r"^stateless=True: must be an integer in \[0, 1\], not bool"),
        ("sigma_u", math.inf, r"^sigma_u=inf: must be a number"),
    ],
)
def test_the_regime_functions_refuse_a_value_outside_its_symbols_domain(key, bad, needle):
    # L_u=-1 and T="100" returned a value before
    vals = {**REGIME_VALUES, key: bad}
    for call in (
        lambda: theory.tightest_bound("fedsim", vals),
        lambda: theory.tightest_bound("fedalt", vals, provenance=None),
        lambda: theory.regime_winner_derived(vals),
    ):
        with pytest.raises(ValueError, match=needle):
            call()


def test_tightest_bound_refuses_an_algorithm_or_provenance_it_cannot_mean():
    # both returned {'bound': None, 'reasons': {}}, as if no bound applied
    with pytest.raises(
        ValueError, match=r"^algorithm=123: must be an algorithm's name \(a str\), not int"
    ):
        theory.tightest_bound(123, REGIME_VALUES)  # type: ignore[arg-type]
    for bad in ("X", "d", 1, ["D"]):
        with pytest.raises(
            ValueError, match=r"^provenance=.*: must be None or one of P, R, D, calibrated"
        ):
            theory.tightest_bound("fedsim", REGIME_VALUES, provenance=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^values=\[1, 2\]: must be a mapping"):
        theory.tightest_bound("fedsim", [1, 2])  # type: ignore[arg-type]
    # what is valid still works: a name that is not a symbol passes, and every provenance
    assert theory.tightest_bound("fedsim", {**REGIME_VALUES, "Delta_F0": 1.0, "mine": -3})["bound"]
    for prov in (None, "P", "R", "D", "calibrated"):
        assert "bound" in theory.tightest_bound("fedsim", REGIME_VALUES, provenance=prov)
