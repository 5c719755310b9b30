# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # When does the theory predict FedSim wins?
#
# The paper's condition (docs/theory.md section 6): FedAlt's bound is smaller exactly when
#
#     (sigma_v^2 / L_v)(1 - 2m/n)  <  sigma_u^2/(m L_u) + delta^2 (1 - m/n)/(m L_u).
#
# The left side is positive only when fewer than half the clients take part, and it grows
# with the personal noise sigma_v. So FedSim can win only with low participation, noisy
# personal gradients and small heterogeneity delta.

# %%
import numpy as np

from altsim.theory import regime_condition, regime_winner

print(regime_condition())
n = 20
for m in (1, 2, 5, 10, 20):
    row = [
        regime_winner(sigma_u=0.1, sigma_v=sv, delta=d, L_u=1, L_v=1, n=n, m=m)
        for sv in (0.1, 2.0)
        for d in (0.1, 2.0)
    ]
    print(f"m/n = {m / n:.2f}:", row, "  (sigma_v, delta) = (0.1,0.1) (0.1,2) (2,0.1) (2,2)")

# %% [markdown]
# Full participation (m = n) never predicts FedSim: the left side is negative.

# %%
assert all(
    regime_winner(0.3, sv, 0.5, 1, 1, n, n) in ("fedalt", "tie") for sv in np.linspace(0, 5, 11)
)

# %% [markdown]
# Check one predicted-FedSim point empirically: both algorithms at the same step size, the
# same seeds, the difference of their final running averages paired over seeds.

# %%
from altsim.rates import ExperimentConfig, run
from altsim.sweep import regime_verdict

res = run(
    ExperimentConfig(
        problem=dict(n=n, d_u=5, d_v=5, chi=0.5, delta=0.1, sigma_u=0.1, sigma_v=2.0),
        rounds=200,
        m=2,
        eta=0.1,
        seeds=tuple(range(8)),
    )
)
print(regime_verdict(res))
