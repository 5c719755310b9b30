"""altsim.synthetic: federated problems whose constants are certified by construction.

`make_problem(family, params, seed=..., device=..., dtype=...)` builds one; `FAMILIES`
lists the registered families, and `register(Family(...))` adds one (from any module);
`measured_constants(problem)` estimates what the certificates bound.
"""

from .bilinear_quadratic import BilinearQuadratic, BilinearQuadraticConfig
from .coupled_quadratic import CoupledQuadratic, CoupledQuadraticConfig
from .digits import Digits, DigitsConfig
from .kinked_quadratic import KinkedQuadratic, KinkedQuadraticConfig
from .measured import measured_constants
from .problem import (
    FAMILIES,
    Certified,
    Family,
    Problem,
    config_from_mapping,
    family_config,
    get_family,
    load_toml_table,
    make_problem,
    register,
    resolve_device,
    resolve_dtype,
)
from .shared_representation import SharedRepresentation, SharedRepresentationConfig
from .small_network import SmallNetwork, SmallNetworkConfig

__all__ = [
    "FAMILIES",
    "BilinearQuadratic",
    "BilinearQuadraticConfig",
    "Certified",
    "CoupledQuadratic",
    "CoupledQuadraticConfig",
    "Digits",
    "DigitsConfig",
    "Family",
    "KinkedQuadratic",
    "KinkedQuadraticConfig",
    "Problem",
    "SharedRepresentation",
    "SharedRepresentationConfig",
    "SmallNetwork",
    "SmallNetworkConfig",
    "config_from_mapping",
    "family_config",
    "get_family",
    "load_toml_table",
    "make_problem",
    "measured_constants",
    "register",
    "resolve_device",
    "resolve_dtype",
]

from altsim.synthetic import problem as _problem

_problem.BUILTIN_FAMILIES = frozenset(FAMILIES)  # what is registered now is altsim's own
