"""Contract tests driven by the registries: every family, every algorithm, every [D] bound.

Registering a new family, algorithm or bound adds it here without editing a list."""

import pytest

from altsim import theory
from altsim.rates import ALGORITHMS
from altsim.synthetic import FAMILIES
from altsim.testing.contracts import check_algorithm, check_derivation, check_family


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_meets_the_problem_contract(name):
    check_family(name)


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_algorithm_meets_the_contract_on_every_family(name, family):
    check_algorithm(name, family=family)


@pytest.mark.parametrize(
    "name", sorted(b.name for b in theory.BOUNDS.values() if b.provenance == "D")
)
def test_every_explicit_bound_ships_with_a_derivation_that_holds(name):
    check_derivation(name)


def test_the_contract_checks_catch_a_broken_algorithm_and_a_broken_derivation():
    """The checks can fail: an algorithm whose clients see each other breaks batched == per-client."""
    from dataclasses import dataclass

    from altsim.rates import FedSim, LocalState
    from altsim.rates.algorithm import ALGORITHMS as registry
    from altsim.theory.derivation import Identity

    @dataclass(frozen=True)
    class Leaky(FedSim):
        name = "leaky_test_only"

        def local_update(self, problem, local, noise, t):
            done = super().local_update(problem, local, noise, t)
            return LocalState(
                done.clients, done.u, done.v + 0.01 * done.v.mean(1, keepdim=True), done.client
            )

    registry["leaky_test_only"] = Leaky
    try:
        with pytest.raises(AssertionError, match="per-client loop"):
            check_algorithm("leaky_test_only")
    finally:
        del registry["leaky_test_only"]
    x = theory.symbols.eta
    broken = Identity("wrong", (x + 1) ** 2, x**2 + 1)
    theory.DERIVATIONS["fedsim_gd_full"] = (*theory.DERIVATIONS["fedsim_gd_full"], broken)
    try:
        with pytest.raises(AssertionError, match="wrong"):
            check_derivation("fedsim_gd_full")
    finally:
        theory.DERIVATIONS["fedsim_gd_full"] = theory.DERIVATIONS["fedsim_gd_full"][:-1]
