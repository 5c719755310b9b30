"""Are the full-participation deterministic bounds attained at chi > 0? A scan on bilinear_quadratic (pure
quadratics coupled at exactly L_uv): one client, d_u = d_v = 1, problem seeds 0-39, eta at 0.3, 0.6, 0.9 of the
bound's range, 60 rounds; the largest measured/bound per (bound, chi). benchmarks/FALSIFY.md records the output.

    python benchmarks/scripts/chi_scan.py
"""

import warnings

from altsim.rates.experiment import ExperimentConfig
from altsim.testing.falsify import evaluate
from altsim.theory import get_bound

warnings.simplefilter("ignore")  # an eta outside another bound's range is expected here
for name in ("fedsim_gd_full", "fedalt_gd_full"):
    bound = get_bound(name)
    for chi in (0.3, 0.6, 0.9):
        best = (0.0, None)
        for seed in range(40):
            for eta_frac in (0.3, 0.6, 0.9):
                cfg = ExperimentConfig(
                    family="bilinear_quadratic",
                    problem=dict(n=1, d_u=1, d_v=1, chi=chi, spread=0.0, init_scale=2.0),
                    problem_seed=seed,
                    algorithms=(bound.algorithm,),
                    rounds=60,
                    eta=eta_frac * float(bound.eta_max_at({"chi": chi})),
                    seeds=(0,),
                    bounds=(name,),
                )
                a = evaluate(bound, cfg)
                if a.ratio > best[0]:
                    best = (a.ratio, dict(problem_seed=seed, eta_frac=eta_frac, T=a.T))
        print(f"{name} chi={chi}: worst ratio {best[0]:.7f} at {best[1]}")
