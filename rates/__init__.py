"""altsim.rates: what runs and measures. Algorithms batched over clients and seeds, the engine,
the random streams, the comparison with bounds, and the experiment that ties them together.

- `algorithm`: the contract (`State`, `Algorithm`, `ClientServerAlgorithm`) and the registry;
- `fedalt`, `fedsim`, `baselines`: the algorithms, each only its client's local work;
- `engine`: `simulate` loops over rounds and measures Delta_t into a `Trajectory`;
- `measurement`: `measure` (a state's exact gradient norms and F) and `Trajectory` (Delta_t per seed);
- `noise`: counter-based random streams (sampling and gradient noise);
- `compare`: a trajectory held against every bound that covers it, as plain data;
- `experiment`: `run(ExperimentConfig(...)) -> Result`; `Result.compare() -> {algorithm: Comparison}`.
"""

from .algorithm import (
    ALGORITHMS,
    Algorithm,
    ClientServerAlgorithm,
    LocalState,
    State,
    get_algorithm,
    register_algorithm,
)
from .baselines import FedAvg, FullPersonalization, LocalOnly
from .compare import BoundCheck, Comparison, compare, is_exact
from .engine import simulate
from .experiment import ExperimentConfig, Result, choose_step, make_algorithm, run
from .fedalt import FedAlt
from .fedsim import FedSim, JointSteps
from .measurement import Trajectory, measure

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "BoundCheck",
    "ClientServerAlgorithm",
    "Comparison",
    "ExperimentConfig",
    "FedAlt",
    "FedAvg",
    "FedSim",
    "FullPersonalization",
    "JointSteps",
    "LocalOnly",
    "LocalState",
    "Result",
    "State",
    "Trajectory",
    "choose_step",
    "compare",
    "get_algorithm",
    "is_exact",
    "make_algorithm",
    "measure",
    "register_algorithm",
    "run",
    "simulate",
]

from altsim.rates import algorithm as _algorithm

_algorithm.BUILTIN_ALGORITHMS = frozenset(ALGORITHMS)  # what is registered now is altsim's own
