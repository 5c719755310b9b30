"""The algorithm contract: a typed `State`, the `Algorithm` protocol, and the registry.

An algorithm is a frozen dataclass of hyperparameters with two pure functions over batched
tensors (R seeds, n clients, m sampled per round):

    init(problem, R) -> State
    round(problem, state, clients, noise, t) -> State

Most federated algorithms share the shape of a round: gather the sampled clients' rows, let
every client do its local work, scatter the rows back and average on the server.
`ClientServerAlgorithm` does that once; a subclass writes only `local_update` (the paper's
client pseudo-code) and, when its server does more than average u, `server_update`.

Register an algorithm with `@register_algorithm` (in your own module or test file) and it runs
through `altsim.rates.run`, sweeps, comparisons and figures like the built-in ones.

The round index t is an int, or a 0-d int64 tensor when the round is compiled
(`altsim.rates.fused`): pass it on to the noise stream, which hashes either to the same numbers,
and keep Python branches off it. `check_compiled` in `altsim.testing.contracts` tests a new
algorithm's compiled round against its eager one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, cast, runtime_checkable

import torch

from altsim.theory.checks import require_bool, shown, unknown_name_message
from altsim.theory.stepsize import official_step_size

from .noise import NoiseStream


@dataclass(frozen=True)
class State:
    """Everything an algorithm carries from one round to the next, per seed (leading dim R).

    `u` (R, d_u) and `V` (R, n, d_v) are where the stationarity measure is taken. `client`
    holds named per-client tensors (R, n, ...) and `server` named per-seed tensors (R, ...),
    for algorithms that need more (personal copies of u, control variates, momentum). A client
    tensor named "u" is each client's own copy of the shared block: held-out accuracy uses it."""

    u: torch.Tensor
    V: torch.Tensor
    client: Mapping[str, torch.Tensor] = field(default_factory=dict)
    server: Mapping[str, torch.Tensor] = field(default_factory=dict)

    def tensors(self) -> dict[str, torch.Tensor]:
        """Every tensor of the state by a flat name ('u', 'V', 'client.NAME', 'server.NAME')."""
        return {
            "u": self.u,
            "V": self.V,
            **{f"client.{k}": v for k, v in self.client.items()},
            **{f"server.{k}": v for k, v in self.server.items()},
        }

    def finite(self) -> torch.Tensor:
        """(R,) bool: whether every entry of this seed's state is finite."""
        ok = None
        for x in self.tensors().values():
            f = torch.isfinite(x).reshape(x.shape[0], -1).all(-1)
            ok = f if ok is None else ok & f
        assert ok is not None, "a state has at least u and V"
        return ok

    def where(self, keep: torch.Tensor, other: State) -> State:
        """Rows of `self` where keep (R,) is true, rows of `other` elsewhere (for stopping diverged seeds)."""

        def pick(a, b):
            return torch.where(keep.view(-1, *([1] * (a.dim() - 1))), a, b)

        return State(
            pick(self.u, other.u),
            pick(self.V, other.V),
            {k: pick(v, other.client[k]) for k, v in self.client.items()},
            {k: pick(v, other.server[k]) for k, v in self.server.items()},
        )


@dataclass(frozen=True)
class LocalState:
    """What the sampled clients work on in one round: their rows, shape (R, m, ...)."""

    clients: torch.Tensor
    """(R, m) indices of the sampled clients."""
    u: torch.Tensor
    """(R, m, d_u): each client's local copy of the shared parameters."""
    v: torch.Tensor
    """(R, m, d_v): each client's personal parameters."""
    client: Mapping[str, torch.Tensor] = field(default_factory=dict)
    """The sampled rows of the per-client state, each (R, m, ...)."""
    server: Mapping[str, torch.Tensor] = field(default_factory=dict)
    """The server state as the clients receive it, each (R, ...) (e.g. a control variate); read-only."""

    def with_(self, **changes) -> LocalState:
        """A copy with some fields replaced (the usual way a local update returns its result)."""
        return dataclasses.replace(self, **changes)


@runtime_checkable
class Algorithm(Protocol):
    """What the engine needs of an algorithm."""

    name: ClassVar[str]

    def init(self, problem, R: int) -> State:
        """The state before round 0 for R seeds: the problem's initial point, broadcast to every seed."""

    def round(
        self, problem, state: State, clients: torch.Tensor, noise: NoiseStream, t: int
    ) -> State:
        """The state after round `t`, in which the clients (R, m) are sampled; `noise` is the run's random
        stream (a pure function: same arguments, same state)."""

    def setting(self) -> dict:
        """The hyperparameters as plain data, with the algorithm's name: what a bound's conditions read."""


def _row_index(x: torch.Tensor, clients: torch.Tensor) -> torch.Tensor:
    """clients (R, m) broadcast to the gather/scatter index of the per-client tensor x (R, n, ...)."""
    return clients.view(*clients.shape, *([1] * (x.dim() - 2))).expand(*clients.shape, *x.shape[2:])


def _rows(x: torch.Tensor, clients: torch.Tensor) -> torch.Tensor:
    return x.gather(1, _row_index(x, clients))


def _put_rows(x: torch.Tensor, clients: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    return x.scatter(
        1, _row_index(x, clients), rows
    )  # clients are distinct per row: no two writes collide


def scatter_client_state(state: State, local: LocalState) -> dict[str, torch.Tensor]:
    """The per-client state with the sampled clients' rows replaced by what their local update returned."""
    return {k: _put_rows(x, local.clients, local.client[k]) for k, x in state.client.items()}


class ClientServerAlgorithm:
    """Gather the sampled clients' rows -> `local_update` -> `server_update` (scatter back, average).

    Subclasses are frozen dataclasses of hyperparameters; they set `name` (and optionally
    `label`, `color`, `marker` for figures) and write `local_update`."""

    name: ClassVar[str] = ""
    label: ClassVar[str | None] = None
    color: ClassVar[str | None] = None
    marker: ClassVar[str | None] = None

    # -- the contract ------------------------------------------------------------------------
    def init(self, problem, R: int) -> State:
        """The problem's initial point for R seeds, with the client and server state `init_client_state` and
        `init_server_state` add."""
        u0, V0 = problem.initial_point()
        return State(
            u0.expand(R, problem.d_u).clone(),
            V0.expand(R, problem.n, problem.d_v).clone(),
            self.init_client_state(problem, R, u0, V0),
            self.init_server_state(problem, R, u0, V0),
        )

    def round(
        self, problem, state: State, clients: torch.Tensor, noise: NoiseStream, t: int
    ) -> State:
        """One round: `gather` the sampled clients' rows, `local_update` them, then `server_update`."""
        local = self.gather(problem, state, clients)
        return self.server_update(problem, state, self.local_update(problem, local, noise, t))

    def setting(self) -> dict:
        """The hyperparameters as plain data, with the algorithm's name (goes into results)."""
        return {"algorithm": self.name, **dataclasses.asdict(cast(Any, self))}

    # -- hooks ----------------------------------------------------------------------------------
    def validate_for(self, problem) -> None:
        """Refuse, before any work, a problem these hyperparameters cannot run on (ValueError naming both)."""

    def init_client_state(self, problem, R: int, u0, V0) -> dict[str, torch.Tensor]:
        """Named per-client tensors (R, n, ...) the algorithm carries beyond u and V; none by default."""
        return {}

    def init_server_state(self, problem, R: int, u0, V0) -> dict[str, torch.Tensor]:
        """Named per-seed server tensors (R, ...) the algorithm carries; none by default."""
        return {}

    def personal_start(self, problem, state: State) -> torch.Tensor:
        """The V that sampled clients start from (stateless clients override this with V^0)."""
        return state.V

    def gather(self, problem, state: State, clients: torch.Tensor) -> LocalState:
        """The `LocalState` of the sampled clients: u broadcast to each, their rows of V (from
        `personal_start`) and of the client state, and the server state."""
        u = state.u.unsqueeze(1).expand(*clients.shape, problem.d_u)
        return LocalState(
            clients,
            u,
            _rows(self.personal_start(problem, state), clients),
            {k: _rows(x, clients) for k, x in state.client.items()},
            dict(state.server),
        )

    def local_update(self, problem, local: LocalState, noise: NoiseStream, t: int) -> LocalState:
        """The sampled clients' local work in round `t` (the paper's client pseudo-code): what each client sends
        back. Every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define local_update")

    def server_update(self, problem, state: State, local: LocalState) -> State:
        """Default server: u^{t+1} = mean of the sampled clients' u; their v_i and client state scatter back."""
        return State(
            local.u.mean(1),
            _put_rows(state.V, local.clients, local.v),
            scatter_client_state(state, local),
            dict(state.server),
        )

    @classmethod
    def from_experiment(cls, config, eta: float, L_u: float, L_v: float, **options):
        """The instance an `ExperimentConfig` asks for, at normalised step size eta (see docs/theory.md section 2)."""
        raise NotImplementedError(f"{cls.__name__} must define from_experiment")


class StatelessOption:
    """`stateless = True`: a sampled client starts from its initial v_i^0, not from the v_i it left last
    time (clients that cannot keep state between rounds), and the official code's variant (one step
    size, one number of local steps). The [D] bounds assume stateful clients. For FedAlt and FedSim."""

    def personal_start(self, problem, state):
        """V^0 with `stateless` set (every sampled client starts from its initial v_i), else the kept V."""
        return problem.initial_point()[1].expand_as(state.V) if self.stateless else state.V

    @classmethod
    def official_from_experiment(cls, config, eta: float, L_u: float, L_v: float, **options):
        """The official variant an `ExperimentConfig` with `official = true` asks for."""
        gamma = official_step_size(eta, L_u, L_v, config.tau)
        algorithm: Any = cls  # the concrete algorithm class, which defines `official`
        return dataclasses.replace(
            algorithm.official(gamma, config.tau, stateless=config.stateless), **options
        )


# --- the registry ------------------------------------------------------------------------------
ALGORITHMS: dict[str, Any] = {}
"""Registered algorithms by name (built-in ones and any a user registers)."""


BUILTIN_ALGORITHMS: frozenset[str] = frozenset()
"""altsim's own algorithms (set once `altsim.rates` has registered them): never replaced."""


def register_algorithm(cls: type | None = None, *, replace: bool = False):
    """Class decorator: make an algorithm available by `cls.name` everywhere (configs, sweeps, figures).

    The class must be a dataclass (its fields are the hyperparameters) with `init`, `round`, `setting`
    and its own or an inherited working `from_experiment`. A name already registered is refused
    unless `replace=True` (bounds are matched to algorithms by name, so a silent replacement would
    hold one algorithm's runs against another's bounds). Configs reach algorithms registered in other
    modules through `ExperimentConfig.plugins`."""
    require_bool("replace", replace)
    if cls is None:
        return lambda c: register_algorithm(c, replace=replace)
    if not isinstance(cls, type):
        raise TypeError(
            f"cls={shown(cls)}: must be a class (a dataclass of hyperparameters), not "
            f"{type(cls).__name__}"
        )
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"name={name!r}: an algorithm needs a class attribute `name`, a Python identifier"
        )
    if not dataclasses.is_dataclass(cls):
        raise ValueError(
            f"algorithm {name!r}: {cls.__name__} must be a dataclass (its fields are the hyperparameters)"
        )
    for method in ("init", "round", "setting", "from_experiment"):
        if not callable(getattr(cls, method, None)):
            raise ValueError(f"algorithm {name!r}: missing method {method}()")
    inherited: Any = ClientServerAlgorithm.from_experiment
    if getattr(getattr(cls, "from_experiment"), "__func__", None) is inherited.__func__:  # noqa: B009
        raise ValueError(
            f"algorithm {name!r}: define from_experiment(config, eta, L_u, L_v, **options), which builds "
            "it from an ExperimentConfig"
        )
    if name in BUILTIN_ALGORITHMS and ALGORITHMS[name] is not cls:
        raise ValueError(
            f"algorithm {name!r}: taken by one of altsim's own algorithms ({ALGORITHMS[name].__name__}), "
            "which replace=True does not replace; choose another name"
        )
    if name in ALGORITHMS and ALGORITHMS[name] is not cls and not replace:
        raise ValueError(
            f"algorithm {name!r} is registered already ({ALGORITHMS[name].__name__}); choose another name "
            "or pass replace=True"
        )
    ALGORITHMS[name] = cls
    return cls


CONFIG_FIELDS = frozenset({"gamma_u", "gamma_v", "tau", "tau_u", "tau_v", "stateless"})
"""Hyperparameters an ExperimentConfig sets (through eta, the tau fields and stateless): not options."""


def get_algorithm(name: Any) -> Any:
    """The registered class called `name`, or a ValueError listing the known ones (never a silent fallback)."""
    if not isinstance(name, str) or name not in ALGORITHMS:
        raise ValueError(unknown_name_message("algorithm", name, ALGORITHMS, kind="algorithm"))
    return ALGORITHMS[name]
