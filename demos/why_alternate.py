# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Why alternate?
#
# FedAlt updates a client's personal parameters v first, then the shared u *at the new v*.
# FedSim updates both at once from the same point. On one client with u and v each
# one-dimensional we can watch it: FedAlt takes stair-steps, FedSim takes diagonals.

# %%
from altsim.figures import save, trajectory_view
from altsim.figures.trajectory_view import paths

fig = trajectory_view()
save(fig, "why_alternate_paths")

# %% [markdown]
# Both end near the same point here: with one client and no noise they are two ways of doing
# block gradient descent. The difference the theory cares about appears with many clients,
# partial participation and noise. Run both on the same certified problem, same step size,
# same seeds (so the same clients and noise), and compare the stationarity they reach.

# %%
from altsim.rates import ExperimentConfig, run

result = run(
    ExperimentConfig(
        problem=dict(n=20, chi=0.6, nonconvexity=0.2, delta=2.0, sigma_u=0.1, sigma_v=0.1),
        rounds=200,
        m=4,
        eta=0.2,
        seeds=tuple(range(8)),
    )
)
for alg, tr in result.trajectories.items():
    final = tr.running_average()[:, -1]
    print(
        f"{alg}: mean over seeds of (1/T) sum Delta_t = {final.mean():.4g} (sd {final.std(ddof=1):.2g})"
    )

# %% [markdown]
# With clients this different (delta^2 >> sigma^2) the paper predicts FedAlt's bound to be
# the smaller one (docs/theory.md section 6):

# %%
from altsim.theory import regime_winner

c = result.constants
print("paper's prediction:", regime_winner(c.sigma_u, c.sigma_v, c.delta, c.L_u, c.L_v, 20, 4))
_, p = paths()
assert set(p) == {"fedalt", "fedsim"}
