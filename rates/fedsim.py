"""FedSim: shared and personal parameters updated at the same time (docs/theory.md section 2, [P]).

Round t, for every sampled client i in S_t (all at once, batched):

    (u_i, v) <- (u^t, v_i^t)
    repeat tau times:                      # both gradients at the same local point
        g, h <- g_i(u_i, v), h_i(u_i, v)
        u_i <- u_i - gamma_u * g
        v   <- v   - gamma_v * h
    v_i^{t+1} <- v
server:   u^{t+1} <- (1/m) sum_{i in S_t} u_i
clients not in S_t keep v_i^t.
"""

from __future__ import annotations

from dataclasses import dataclass

from altsim.theory import block_step_sizes, require
from altsim.theory.checks import require_bool

from .algorithm import ClientServerAlgorithm, LocalState, StatelessOption, register_algorithm
from .noise import NoiseStream, stochastic_grad_u, stochastic_grad_v


@dataclass(frozen=True)
class JointSteps(ClientServerAlgorithm):
    """Hyperparameters shared by the algorithms that step both blocks at once (FedSim, FedAvg,
    full personalization)."""

    gamma_u: float
    """Step size on u; > 0."""
    gamma_v: float
    """Step size on v; > 0."""
    tau: int = 1
    """Local steps per round, each on both blocks; >= 1."""

    def __post_init__(self) -> None:
        require("gamma_u", self.gamma_u, low=0, low_open=True)
        require("gamma_v", self.gamma_v, low=0, low_open=True)
        require("tau", self.tau, low=1, integer=True)

    def joint_steps(self, problem, local: LocalState, noise: NoiseStream, t: int, u, v):
        """tau steps on both blocks, both gradients at the same local point."""
        for k in range(self.tau):
            g = stochastic_grad_u(problem, noise, t, k, u, v, local.clients)
            h = stochastic_grad_v(problem, noise, t, k, u, v, local.clients)
            u, v = u - self.gamma_u * g, v - self.gamma_v * h
        return u, v

    @classmethod
    def from_experiment(cls, config, eta: float, L_u: float, L_v: float, **options):
        """The instance at normalised step size eta: gamma_u = eta/(L_u tau), gamma_v = eta/(L_v tau), or
        eta_v/(L_v tau) when the config sets eta_v (docs/theory.md section 2)."""
        gu, gv = block_step_sizes(eta, L_u, L_v, config.tau, config.tau)
        if getattr(config, "eta_v", None) is not None:
            gv = block_step_sizes(config.eta_v, L_u, L_v, config.tau, config.tau)[1]
        return cls(gamma_u=gu, gamma_v=gv, tau=config.tau, **options)


@register_algorithm
@dataclass(frozen=True)
class FedSim(StatelessOption, JointSteps):
    """Hyperparameters of FedSim."""

    stateless: bool = False
    """Stateless clients: start every round from v_i^0 (see `StatelessOption`)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        require_bool("stateless", self.stateless)

    name = "fedsim"
    label, color, marker = "FedSim", "#D55E00", "s"

    @classmethod
    def official(cls, gamma: float, tau: int = 1, stateless: bool = False) -> FedSim:
        """The official code's variant: one step size for both blocks."""
        return cls(gamma_u=gamma, gamma_v=gamma, tau=tau, stateless=stateless)

    @classmethod
    def from_experiment(cls, config, eta, L_u, L_v, **options) -> FedSim:
        """FedSim as `config` asks: the block step sizes of `JointSteps.from_experiment` and its `stateless`, or
        the official variant (one step size) when `config.official` is set."""
        if config.official:
            return cls.official_from_experiment(config, eta, L_u, L_v, **options)
        return super().from_experiment(config, eta, L_u, L_v, stateless=config.stateless, **options)

    def local_update(self, problem, local: LocalState, noise: NoiseStream, t: int) -> LocalState:
        """tau steps on both blocks at once from (u^t, v_i), both gradients at the same local point."""
        u, v = self.joint_steps(problem, local, noise, t, local.u, local.v)
        return local.with_(u=u, v=v)
