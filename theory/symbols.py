"""One sympy symbol for every quantity of the theory (docs/theory.md, sections 1-5).

Symbols are declared positive or nonnegative so that sympy can simplify square roots and
signs the way the derivations do. `SYMBOLS` maps each plain name (the name used in
configs, ``--set KEY=VALUE`` and JSON) to its symbol.
"""

from __future__ import annotations

import sympy as sp

# Smoothness (A1): block constants and the coupling chi^2 = L_uv^2 / (L_u L_v).
L_u, L_v = sp.symbols("L_u L_v", positive=True)
L_uv, chi = sp.symbols("L_uv chi", nonnegative=True)
# Variance (A2) and diversity (A3).
sigma_u, sigma_v, delta, rho = sp.symbols("sigma_u sigma_v delta rho", nonnegative=True)
# Participation: n clients, m sampled per round.
n, m = sp.symbols("n m", positive=True, integer=True)
# Local steps.
tau, tau_u, tau_v = sp.symbols("tau tau_u tau_v", positive=True, integer=True)
# Horizon, normalised step size and the two block step sizes.
T = sp.Symbol("T", positive=True)
eta, eta_v, gamma_u, gamma_v = sp.symbols("eta eta_v gamma_u gamma_v", positive=True)
# Initial optimality gap F(u^0, V^0) - F*.
Delta_F0 = sp.Symbol("Delta_F0", nonnegative=True)
# Weight of the personal term in the stationarity measure (1, or m/n under partial participation).
w = sp.Symbol("w", nonnegative=True)
# Run option as a number: 1 when clients restart from v_i^0 every round, 0 when they keep v_i.
stateless = sp.Symbol("stateless", nonnegative=True, integer=True)
# Run option as a number: 1 when FedAlt's u-step reuses the v-step's sample, 0 when it draws afresh.
reuse_sample = sp.Symbol("reuse_sample", nonnegative=True, integer=True)
# Run option as a number: 1 when every local step of a round reuses the round's first draw, 0 when it draws afresh.
reuse_local_draw = sp.Symbol("reuse_local_draw", nonnegative=True, integer=True)
# Correlation of a u-gradient's noise with the v-gradient's noise drawn at the same local step (closed-form families).
noise_correlation = sp.Symbol("noise_correlation", real=True)

SYMBOLS: dict[str, sp.Symbol] = {
    s.name: s
    for s in (
        L_u,
        L_v,
        L_uv,
        chi,
        sigma_u,
        sigma_v,
        delta,
        rho,
        n,
        m,
        tau,
        tau_u,
        tau_v,
        T,
        eta,
        eta_v,
        gamma_u,
        gamma_v,
        Delta_F0,
        w,
        stateless,
        reuse_sample,
        reuse_local_draw,
        noise_correlation,
    )
}

DESCRIPTIONS: dict[str, str] = {
    "L_u": "Lipschitz constant of grad_u F_i in u (A1)",
    "L_v": "Lipschitz constant of grad_v F_i in v_i (A1)",
    "L_uv": "cross Lipschitz constant between the blocks (A1)",
    "chi": "coupling, chi = L_uv / sqrt(L_u L_v) (A1)",
    "sigma_u": "std bound of the stochastic u-gradient (A2)",
    "sigma_v": "std bound of the stochastic v-gradient (A2)",
    "delta": "partial gradient diversity (A3)",
    "rho": "[R] multiplicative diversity term (A3, if the paper has it)",
    "n": "number of clients",
    "m": "clients sampled per round",
    "tau": "FedSim local steps",
    "tau_u": "FedAlt local steps on u",
    "tau_v": "FedAlt local steps on v",
    "T": "number of rounds",
    "eta": "normalised step size, gamma_u = eta/(L_u tau_u), gamma_v = eta/(L_v tau_v)",
    "eta_v": "normalised v step size when it differs from eta: gamma_v = eta_v/(L_v tau_v) (default: eta)",
    "gamma_u": "step size on u",
    "gamma_v": "step size on v",
    "Delta_F0": "initial gap F(u^0, V^0) - F*",
    "w": "weight of the personal term in the stationarity measure",
    "stateless": "1 if sampled clients restart from v_i^0 every round, 0 if they keep v_i (the default)",
    "reuse_sample": "1 if FedAlt's u-step reuses the v-step's sample, 0 if it draws a fresh one (the default)",
    "reuse_local_draw": "1 if every local step of a round reuses the round's first draw (one minibatch per "
    "round), 0 if each step draws afresh (the default)",
    "noise_correlation": "correlation, per coordinate, of the u-gradient's noise with the v-gradient's noise of the "
    "same local step, in [-1, 1] (0, independent, by default)",
}

# Free weights of the proofs (Young's inequality's parameters; `altsim.theory.weights`): never set by a user.
theta, omega, beta, phi, lam = sp.symbols("theta omega beta phi lambda", positive=True)
WEIGHTS: dict[str, sp.Symbol] = {s.name: s for s in (theta, omega, beta, phi, lam)}

DEFAULTS: dict[str, float] = {
    "stateless": 0,
    "reuse_sample": 0,
    "reuse_local_draw": 0,
    "noise_correlation": 0,
}
"""Values a run that does not mention a symbol has: clients keep their state unless told otherwise."""


DOMAINS: dict[str, tuple[float, bool, bool]] = {
    **{k: (0.0, True, False) for k in ("L_u", "L_v", "eta", "eta_v", "gamma_u", "gamma_v")},
    **{
        k: (0.0, False, False)
        for k in ("L_uv", "chi", "sigma_u", "sigma_v", "delta", "rho", "Delta_F0", "w")
    },
    **{k: (1, False, True) for k in ("n", "m", "tau", "tau_u", "tau_v", "T")},
    "stateless": (0, False, True),
    "reuse_sample": (0, False, True),
    "reuse_local_draw": (0, False, True),
    "noise_correlation": (-1.0, False, False),
}
"""Symbol name -> (lower end, open at it, integer): the values a symbol may take (all finite)."""
