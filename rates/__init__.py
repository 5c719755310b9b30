"""altsim.rates: FedAlt and FedSim batched over clients and seeds, measured against bounds.

`run(ExperimentConfig(...)) -> Result`; `Result.compare() -> {algorithm: Comparison}`.
"""

from .baselines import FedAvg, FullPersonalization, LocalOnly
from .compare import BoundCheck, Comparison, compare
from .engine import Trajectory, measure, simulate
from .experiment import ALGORITHMS, ExperimentConfig, Result, choose_step, run
from .fedalt import FedAlt
from .fedsim import FedSim

__all__ = ["ALGORITHMS", "BoundCheck", "Comparison", "ExperimentConfig", "FedAlt", "FedAvg", "FedSim", "FullPersonalization",
           "LocalOnly", "Result",
           "Trajectory",
           "choose_step", "compare", "measure", "run", "simulate"]
