"""FedAlt: personal parameters first, then the shared ones (docs/theory.md section 2, [P]).

Round t, for every sampled client i in S_t (all at once, batched):

    v <- v_i^t                                              # the client's own v
    repeat tau_v times:  v <- v - gamma_v * h_i(u^t, v)      # u held at u^t
    v_i^{t+1} <- v
    u_i <- u^t
    repeat tau_u times:  u_i <- u_i - gamma_u * g_i(u_i, v_i^{t+1})   # the NEW v
server:   u^{t+1} <- (1/m) sum_{i in S_t} u_i
clients not in S_t keep v_i^t.

g_i, h_i are stochastic gradients (exact plus the problem's noise) drawn from the
counter-based stream at (seed, t, i, step, block). Gathering, scattering and the server's
average are `ClientServerAlgorithm`'s; this file holds only the client's work.
"""

from __future__ import annotations

from dataclasses import dataclass

from altsim.theory import block_step_sizes, require
from altsim.theory.checks import require_bool

from .algorithm import ClientServerAlgorithm, LocalState, StatelessOption, register_algorithm
from .noise import BLOCK_U, BLOCK_V, NoiseStream, stochastic_grad_u, stochastic_grad_v


@register_algorithm
@dataclass(frozen=True)
class FedAlt(StatelessOption, ClientServerAlgorithm):
    """Hyperparameters of FedAlt."""

    gamma_u: float
    """Step size on u; > 0."""
    gamma_v: float
    """Step size on v; > 0."""
    tau_u: int = 1
    """Local steps on u per round; >= 1."""
    tau_v: int = 1
    """Local steps on v per round; >= 1."""
    stateless: bool = False
    """Stateless clients: start every round from v_i^0 (see `StatelessOption`)."""
    reuse_sample: bool = False
    """The u-step reuses the v-step's sample (the same minibatch) instead of drawing a fresh one, as a
    minibatch implementation easily does. The FedAlt [D] bounds assume a fresh sample and refuse
    such runs; needs a family whose noise is a minibatch of data points."""

    name = "fedalt"
    label, color, marker = "FedAlt", "#0072B2", "o"

    @classmethod
    def official(cls, gamma: float, tau: int = 1, stateless: bool = False) -> FedAlt:
        """The official code's variant: one step size and one number of local steps for both blocks."""
        return cls(gamma_u=gamma, gamma_v=gamma, tau_u=tau, tau_v=tau, stateless=stateless)

    @classmethod
    def from_experiment(cls, config, eta, L_u, L_v, **options) -> FedAlt:
        """FedAlt as `config` asks: gamma_u = eta/(L_u tau_u), gamma_v = eta_v/(L_v tau_v) (eta_v = eta unless set),
        tau_u, tau_v and stateless from the config, or the official variant when `config.official` is set."""
        if config.official:
            return cls.official_from_experiment(config, eta, L_u, L_v, **options)
        gu, gv = block_step_sizes(eta, L_u, L_v, config.tau_u, config.tau_v)
        if getattr(config, "eta_v", None) is not None:
            gv = block_step_sizes(config.eta_v, L_u, L_v, config.tau_u, config.tau_v)[1]
        return cls(
            gamma_u=gu,
            gamma_v=gv,
            tau_u=config.tau_u,
            tau_v=config.tau_v,
            stateless=config.stateless,
            **options,
        )

    def __post_init__(self) -> None:
        require("gamma_u", self.gamma_u, low=0, low_open=True)
        require("gamma_v", self.gamma_v, low=0, low_open=True)
        require("tau_u", self.tau_u, low=1, integer=True)
        require("tau_v", self.tau_v, low=1, integer=True)
        require_bool("stateless", self.stateless)
        require_bool("reuse_sample", self.reuse_sample)

    def validate_for(self, problem) -> None:
        """Refuse `reuse_sample` on a problem whose noise is not a minibatch both blocks can share."""
        if self.reuse_sample and not problem.samples_shared_by_blocks:
            raise ValueError(
                f"reuse_sample=True: needs a family whose noise is a minibatch of data points "
                f"(noise = 'minibatch'); {problem.family}'s noise here is not"
            )

    def local_update(self, problem, local: LocalState, noise: NoiseStream, t: int) -> LocalState:
        """tau_v steps on v with u held at u^t, then tau_u steps on u at the new v, each u-step with a fresh
        sample unless `reuse_sample` (then the v-step's, which the FedAlt bounds refuse)."""
        u, v = local.u, local.v
        for k in range(self.tau_v):  # personal first, u held at u^t
            v = v - self.gamma_v * stochastic_grad_v(problem, noise, t, k, u, v, local.clients)
        for k in range(
            self.tau_u
        ):  # then shared, at the new v; a fresh sample unless told to reuse
            step, block = (min(k, self.tau_v - 1), BLOCK_V) if self.reuse_sample else (k, BLOCK_U)
            u = u - self.gamma_u * stochastic_grad_u(
                problem, noise, t, step, u, v, local.clients, block
            )
        return local.with_(u=u, v=v)
