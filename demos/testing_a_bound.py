# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Testing a bound with hypothesis
#
# A bound is a claim about *every* problem inside its conditions. hypothesis draws problems
# and step sizes for us and tries to break the claim; if it finds a counterexample it shrinks it
# to a small one. Here: the deterministic FedSim bound Delta_F0 / (T eta (1 - eta (1 + chi)/2)),
# derived in altsim.theory.fedsim_sgd.

# %%
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from altsim import theory
from altsim.rates import FedSim, simulate
from altsim.synthetic import make_problem

bound = theory.get_bound("fedsim_gd_full")
print(bound.latex())


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    chi=st.floats(0.0, 0.6),
    delta=st.floats(0.1, 3.0),
    n=st.integers(2, 8),
    eta_frac=st.floats(0.05, 0.99),
    seed=st.integers(0, 1000),
)
def bound_holds(chi, delta, n, eta_frac, seed):
    p = make_problem(
        "coupled_quadratic",
        dict(n=n, d_u=3, d_v=3, chi=chi, delta=delta, nonconvexity=0.3),
        seed=seed,
    )
    c = p.certified_constants()
    eta = eta_frac * 2 / (1 + c.chi)
    tr = simulate(p, FedSim(gamma_u=eta / c.L_u, gamma_v=eta / c.L_v), rounds=30, m=n, seeds=[0])
    curve = bound.evaluate({**c.values(), "eta": eta, "T": tr.horizons.astype(float)})
    assert np.all(tr.running_average()[0] <= curve * (1 + 1e-9))


bound_holds()
print("the bound held on every drawn instance")

# %% [markdown]
# A deliberately wrong bound, the same with its constant halved, is caught at once:


# %%
@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(chi=st.floats(0.0, 0.6), seed=st.integers(0, 1000))
def halved_bound_holds(chi, seed):
    p = make_problem("coupled_quadratic", dict(n=4, d_u=3, d_v=3, chi=chi, delta=1.0), seed=seed)
    c = p.certified_constants()
    eta = 1 / (1 + c.chi)
    tr = simulate(p, FedSim(gamma_u=eta / c.L_u, gamma_v=eta / c.L_v), rounds=30, m=4, seeds=[0])
    curve = 0.5 * bound.evaluate({**c.values(), "eta": eta, "T": tr.horizons.astype(float)})
    assert np.all(tr.running_average()[0] <= curve)


try:
    halved_bound_holds()
    caught = False
except AssertionError:
    caught = True
print("halved bound broken:", caught)
assert caught
