"""altsim.figures: matplotlib figures from results (plain data), saved as PNG and PDF.

- `rate_plot`: measured running average against bounds (log-log, reference slopes);
- `tightness_plot`: measured / bound against T;
- `personalization_plot`: held-out accuracy of no, partial and full personalization (real data);
- `regime_map`: the paper's predicted winner against the empirical one over a sweep;
- `regime_study_plot`: the tuned regime study, each prediction's margin against the measured advantage;
- `sweep_plot`: final stationarity against a swept quantity;
- `trajectory_view`, `trajectory_animation`: FedAlt's stair-steps and FedSim's diagonals (teaching).
"""

from .personalization import personalization_plot
from .rate_plot import rate_plot
from .regime_map import regime_map
from .regime_study import regime_study_plot
from .style import save
from .sweep_plot import sweep_plot
from .tightness import tightness_plot
from .trajectory_view import trajectory_animation, trajectory_view

__all__ = [
    "personalization_plot",
    "rate_plot",
    "regime_map",
    "regime_study_plot",
    "save",
    "sweep_plot",
    "tightness_plot",
    "trajectory_animation",
    "trajectory_view",
]
