"""Baselines to hold FedAlt and FedSim against (same state, same random streams); altsim's own.

- `FedAvg`: nothing personal. Every client's v is the same shared vector: sampled clients
  start from (u^t, v^t), take tau joint local steps, and the server averages both blocks and
  sends the new v to every client.
- `LocalOnly`: no communication. The shared u is never sent anywhere, so it stays at u^0;
  each sampled client takes tau_v steps on its own v_i.
- `FullPersonalization`: every parameter is personal. Each client keeps its own copy u_i of the
  shared block (per-client state `client["u"]`) and trains (u_i, v_i) on its own data, with no
  averaging. The state's u is the clients' mean of u_i, so Delta_t is measured at the averaged
  model: what full personalization gives the partially personalized objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from altsim.theory import require

from .algorithm import (
    ClientServerAlgorithm,
    LocalState,
    State,
    _put_rows,
    register_algorithm,
    scatter_client_state,
)
from .fedsim import JointSteps
from .noise import NoiseStream, stochastic_grad_v


@register_algorithm
@dataclass(frozen=True)
class FedAvg(JointSteps):
    """Hyperparameters of FedAvg on the joint parameters (u, v): gamma_u, gamma_v, tau."""

    name = "fedavg"
    label, color, marker = "FedAvg", "#009E73", "^"

    def gather(self, problem, state: State, clients: torch.Tensor) -> LocalState:
        """The sampled clients' rows, every v replaced by the shared v (the clients' mean: all rows agree after
        the first round)."""
        shared_v = state.V.mean(
            1
        )  # all rows are equal after the first round; before it, start from their mean
        local = super().gather(problem, state, clients)
        return local.with_(v=shared_v.unsqueeze(1).expand(*clients.shape, problem.d_v))

    def local_update(self, problem, local: LocalState, noise: NoiseStream, t: int) -> LocalState:
        """tau joint stochastic gradient steps on (u, v) from the round's start (`JointSteps.joint_steps`)."""
        u, v = self.joint_steps(problem, local, noise, t, local.u, local.v)
        return local.with_(u=u, v=v)

    def server_update(self, problem, state: State, local: LocalState) -> State:
        """Average both blocks over the sampled clients and send the new v to every client."""
        return State(
            local.u.mean(1),
            local.v.mean(1, keepdim=True).expand_as(state.V).clone(),
            scatter_client_state(state, local),
            dict(state.server),
        )


@register_algorithm
@dataclass(frozen=True)
class LocalOnly(ClientServerAlgorithm):
    """Hyperparameters of local-only training (personal parameters only; u stays at u^0)."""

    gamma_v: float
    """Step size on v; > 0."""
    tau_v: int = 1
    """Local steps on v per round; >= 1."""
    gamma_u: float = 0.0
    """Unused (u is never communicated); kept so that settings line up with the other algorithms."""

    name = "local_only"
    label, color, marker = "local only", "#CC79A7", "v"

    def __post_init__(self) -> None:
        require("gamma_v", self.gamma_v, low=0, low_open=True)
        require("tau_v", self.tau_v, low=1, integer=True)
        require("gamma_u", self.gamma_u, low=0)

    @classmethod
    def from_experiment(cls, config, eta, L_u, L_v, **options) -> LocalOnly:
        """Local-only training at gamma_v = eta / (L_v tau_v), with the config's tau_v."""
        return cls(gamma_v=eta / (L_v * config.tau_v), tau_v=config.tau_v, **options)

    def local_update(self, problem, local: LocalState, noise: NoiseStream, t: int) -> LocalState:
        """tau_v stochastic gradient steps on each sampled client's own v_i, u held at u^0."""
        v = local.v
        for k in range(self.tau_v):
            v = v - self.gamma_v * stochastic_grad_v(
                problem, noise, t, k, local.u, v, local.clients
            )
        return local.with_(v=v)

    def server_update(self, problem, state: State, local: LocalState) -> State:
        """No communication: u stays as it is, the sampled clients' v_i scatter back."""
        return State(
            state.u,
            _put_rows(state.V, local.clients, local.v),
            scatter_client_state(state, local),
            dict(state.server),
        )


@register_algorithm
@dataclass(frozen=True)
class FullPersonalization(JointSteps):
    """Hyperparameters of full personalization (no shared parameters, no communication): gamma_u (on
    each client's own copy of u), gamma_v, tau."""

    name = "full_personalization"
    label, color, marker = "full personalization", "#E69F00", "D"

    def init_client_state(self, problem, R: int, u0, V0) -> dict[str, torch.Tensor]:
        """Each client's own copy of u, `client["u"]` (R, n, d_u), all at u^0."""
        return {
            "u": u0.expand(R, problem.n, problem.d_u).clone()
        }  # every client's own copy, at u^0

    def local_update(self, problem, local: LocalState, noise: NoiseStream, t: int) -> LocalState:
        """tau joint steps on each sampled client's own (u_i, v_i), kept in its client state."""
        u, v = self.joint_steps(problem, local, noise, t, local.client["u"], local.v)
        return local.with_(u=u, v=v, client={**local.client, "u": u})

    def server_update(self, problem, state: State, local: LocalState) -> State:
        """Nothing averaged: the clients' copies scatter back, and the state's u is their mean (where Delta_t is
        measured)."""
        new = super().server_update(problem, state, local)
        return State(
            new.client["u"].mean(1), new.V, new.client, new.server
        )  # nothing averaged: u is the mean copy
