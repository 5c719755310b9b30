"""The `Problem` interface: batched oracles and certified constants, and the family registry.

Shapes. Oracles take `u` of shape (..., k, d_u), `v` of shape (..., k, d_v) and `clients`, a
long tensor of shape (..., k) holding client indices; leading dimensions (seeds) broadcast.
Each client carries its own u, because local steps make u differ between clients.

Noise. `stochastic_grad_u(u, v, clients, z)` turns standard normals z of shape
(..., k, noise_dim_u) supplied by the caller (the engine owns the random stream) into a
stochastic gradient. The default is additive Gaussian noise, sigma_u / sqrt(d_u) * z, so
E||noise||^2 is exactly sigma_u^2. Finite-sum families may instead use z to pick a
minibatch (the b smallest of N normals are a uniform subset without replacement).
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import functools
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from altsim.theory import Constants
from altsim.theory.checks import (
    require,
    require_callable,
    require_instance,
    require_mapping,
    require_str,
    shown,
    unknown_name_message,
)


def resolve_device(device: str | torch.device) -> torch.device:
    """A torch.device, or a ValueError naming the device when it is unknown or absent (a TypeError
    when it is neither a str nor a torch.device)."""
    require_instance(
        "device", device, (str, torch.device), "'cpu', 'cuda', 'cuda:N' or a torch.device"
    )
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"device={device!r}: unknown; use 'cpu' or 'cuda' (or 'cuda:N')") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r}: CUDA is not available on this machine (torch.cuda.is_available() is False); use 'cpu'"
        )
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device={device!r}: only 'cpu' and 'cuda' are supported")
    return dev


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """The torch dtype for 'float64' or 'float32' (a torch dtype passes through); ValueError otherwise."""
    table = {
        "float64": torch.float64,
        "float32": torch.float32,
        torch.float64: torch.float64,
        torch.float32: torch.float32,
    }
    require_instance("dtype", dtype, (str, torch.dtype), "'float64', 'float32' or a torch dtype")
    if dtype not in table:
        raise ValueError(f"dtype={shown(dtype)}: must be 'float64' or 'float32'")
    return table[dtype]


@dataclass(frozen=True)
class Certified(Constants):
    """Constants proven from a problem's construction, plus a certified lower bound on F*."""

    F_lower: float = -math.inf
    """A number <= inf F, proven from the construction."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (isinstance(self.F_lower, float) and self.F_lower == -math.inf):  # none proven
            require("F_lower", self.F_lower)

    def as_dict(self) -> dict[str, float]:
        """The constants by field name, with chi and F_lower."""
        d = super().as_dict()
        d["F_lower"] = self.F_lower
        return d


class Problem(abc.ABC):
    """A federated problem F(u, V) = (1/n) sum_i F_i(u, v_i) with batched oracles."""

    family: str
    n: int
    d_u: int
    d_v: int
    sigma_u: float
    sigma_v: float
    device: torch.device
    dtype: torch.dtype

    def client_rows(self, clients: torch.Tensor, *data: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """data[k][clients] for per-client instance data (n, ...), gathered once per clients tensor.

        A round's local steps call the oracles with the same `clients` tensor again and again; the
        gather is a copy of every sampled client's data, so it is made once and reused while the
        tensor and the data are the same objects, unchanged in place (their version counters).
        Inside a compiled graph it is not cached: the compiler fuses the gather into its kernels."""
        if (
            torch.compiler.is_compiling()
            or clients.is_inference()
            or any(x.is_inference() for x in data)
        ):
            return tuple(x[clients] for x in data)  # (inference tensors carry no version counter)
        versions = (clients._version, *(x._version for x in data))  # an in-place change bumps these
        cached = getattr(self, "_rows_cache", None)
        if (
            cached is not None
            and cached[0] is clients
            and cached[1] == versions
            and len(cached[2]) == len(data)
            and all(a is b for a, b in zip(cached[2], data))
        ):
            return cached[3]
        rows = tuple(x[clients] for x in data)
        self._rows_cache = (clients, versions, data, rows)
        return rows

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_rows_cache", None)  # a cache, not part of the problem: never pickled to workers
        return state

    @abc.abstractmethod
    def loss(self, u: torch.Tensor, v: torch.Tensor, clients: torch.Tensor) -> torch.Tensor:
        """F_i(u, v) for each client index; shape (..., k)."""

    @abc.abstractmethod
    def grad_u(self, u: torch.Tensor, v: torch.Tensor, clients: torch.Tensor) -> torch.Tensor:
        """grad_u F_i(u, v); shape (..., k, d_u)."""

    @abc.abstractmethod
    def grad_v(self, u: torch.Tensor, v: torch.Tensor, clients: torch.Tensor) -> torch.Tensor:
        """grad_v F_i(u, v); shape (..., k, d_v)."""

    @abc.abstractmethod
    def certified_constants(self) -> Certified:
        """Upper bounds on L_u, L_v, L_uv, sigma_u, sigma_v, delta and a lower bound on F*."""

    @abc.abstractmethod
    def initial_point(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(u0 of shape (d_u,), V0 of shape (n, d_v)), a pure function of the config and seed."""

    def with_initial_point(self, u0, V0) -> Problem:
        """A copy of this problem that starts at (`u0`, `V0`): u0 of shape (d_u,), V0 of (n, d_v).

        Everything else is shared with this problem; the certified initial gap Delta_F0 and the
        measured constants follow the new start. Each may be a tensor (detached and copied: the
        start carries no autograd history), an array or nested lists of real numbers. Refused with
        a ValueError naming the argument when it is not real numbers (complex, bool, text, None,
        ragged lists), a shape is wrong or an entry is not finite, and, for a problem whose
        certificates hold on a region only (`inside_region`), when the start lies outside it."""
        start = []
        for name, x, shape in (("u0", u0, (self.d_u,)), ("V0", V0, (self.n, self.d_v))):
            wanted = f"real numbers of shape {shape} (a tensor, an array or nested lists)"
            given = (  # an array's repr runs over lines: its type, shape and dtype instead
                f"<{type(x).__name__} of shape {tuple(x.shape)}, dtype {x.dtype}>"
                if hasattr(x, "shape") and hasattr(x, "dtype")
                else shown(x)
            )
            try:
                t = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(x)
            except (TypeError, ValueError, RuntimeError):  # None, text, ragged or mixed lists
                raise ValueError(
                    f"{name}={given}: must be {wanted}, not {type(x).__name__}"
                ) from None
            if t.is_complex() or t.dtype == torch.bool:
                raise ValueError(f"{name}={given}: must be {wanted}, not of dtype {t.dtype}")
            t = t.to(device=self.device, dtype=self.dtype)
            if tuple(t.shape) != shape:
                raise ValueError(f"{name}: must have shape {shape}, not {tuple(t.shape)}")
            if not bool(torch.isfinite(t).all()):
                raise ValueError(f"{name}: every entry must be finite")
            start.append(t.clone())
        inside = getattr(self, "inside_region", None)  # certificates that hold on a region only
        if callable(inside) and not bool(inside(start[0], start[1])):
            describe = getattr(self, "describe", None)
            region = describe().get("region") if callable(describe) else None
            raise ValueError(
                f"u0, V0: outside the region the certified constants hold on"
                f"{f' ({region})' if region else ''}; start inside it"
            )
        new = copy.copy(self)
        new.__dict__.pop("_rows_cache", None)
        fixed = _FixedStart(start[0], start[1])
        new.initial_point = fixed  # type: ignore[method-assign]
        # the measured-constants cache tells them apart
        new.describe = functools.partial(_describe_with_start, self.describe, fixed)  # type: ignore[method-assign]
        return new

    def describe(self) -> dict:
        """What identifies this instance: its family, its seed and every parameter of its config (the
        frozen dataclass it was built from, `config`). Families whose instances hold more (a region the
        certificates hold on, a data source) override it and add those; `altsim problem` prints it, and
        `measured_constants` caches by it (only where it identifies the instance: `instance_key`)."""
        out: dict = {"family": getattr(self, "family", type(self).__name__)}
        if hasattr(self, "seed"):
            out["seed"] = self.seed
        config = _config_of(self)
        if config is not None:
            out.update(dataclasses.asdict(config))
        return out

    # Stochastic oracles: exact gradient plus scaled standard normal z (see module docstring).
    @property
    def noisy_u(self) -> bool:
        """Whether the u-gradients are stochastic (sigma_u > 0)."""
        return self.sigma_u > 0

    @property
    def noisy_v(self) -> bool:
        """Whether the v-gradients are stochastic (sigma_v > 0)."""
        return self.sigma_v > 0

    _noise_correlation: float = 0.0

    @property
    def noise_correlation(self) -> float:
        """Correlation, per coordinate, of the u-gradient's noise with the v-gradient's noise drawn at the same
        local step (families with a `noise_correlation` parameter set it); 0 unless both blocks are noisy,
        since then the draws cannot be correlated in effect. `rates.noise.stochastic_grad_u` applies it."""
        return self._noise_correlation if self.noisy_u and self.noisy_v else 0.0

    @property
    def noise_dim_u(self) -> int:
        """How many standard normals one stochastic u-gradient consumes (d_u for additive Gaussian noise; a
        finite-sum family draws one per data point to pick its minibatch)."""
        return self.d_u

    @property
    def noise_dim_v(self) -> int:
        """How many standard normals one stochastic v-gradient consumes (d_v for additive Gaussian noise)."""
        return self.d_v

    def stochastic_grad_u(self, u, v, clients, z: torch.Tensor | None) -> torch.Tensor:
        """grad_u F_i(u, v) plus the noise (sigma_u / sqrt(d_u)) z, so that E||noise||^2 = sigma_u^2 exactly;
        the exact gradient when `z` is None or sigma_u = 0. `z`: standard normals of shape (..., k, noise_dim_u)."""
        g = self.grad_u(u, v, clients)
        return g if z is None or self.sigma_u == 0 else g + (self.sigma_u / math.sqrt(self.d_u)) * z

    def stochastic_grad_v(self, u, v, clients, z: torch.Tensor | None) -> torch.Tensor:
        """grad_v F_i(u, v) plus the noise (sigma_v / sqrt(d_v)) z (E||noise||^2 = sigma_v^2); exact when `z` is
        None or sigma_v = 0."""
        h = self.grad_v(u, v, clients)
        return h if z is None or self.sigma_v == 0 else h + (self.sigma_v / math.sqrt(self.d_v)) * z

    @property
    def samples_shared_by_blocks(self) -> bool:
        """Whether one random draw can serve both blocks' gradients as the same sample (a minibatch of
        data points), so that an algorithm may reuse the v-step's sample for the u-step."""
        return False

    @property
    def all_clients(self) -> torch.Tensor:
        """The client indices 0, ..., n-1 on the problem's device (the `clients` argument of a full pass)."""
        return torch.arange(self.n, device=self.device)

    def objective(self, u: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
        """F(u, V) with u of shape (..., d_u) and V of shape (..., n, d_v); shape (...)."""
        require_instance("u", u, torch.Tensor, f"a tensor of shape (..., {self.d_u})")
        require_instance("V", V, torch.Tensor, f"a tensor of shape (..., {self.n}, {self.d_v})")
        uu = u.unsqueeze(-2).expand(*V.shape[:-1], self.d_u)
        return self.loss(uu, V, self.all_clients).mean(-1)


def _config_of(problem) -> Any:
    """The frozen config dataclass a problem was built from (`config`, or `cfg`), or None."""
    for name in ("config", "cfg"):
        c = getattr(problem, name, None)
        if dataclasses.is_dataclass(c) and not isinstance(c, type):
            return c
    return None


def instance_key(problem) -> str | None:
    """A text that is equal for two problems exactly when they are the same instance (family, seed,
    parameters: `describe()`), or None where the problem cannot say (no `describe` of its own and no
    config dataclass and seed to read): such a problem is never taken for another."""
    describe = getattr(problem, "describe", None)
    if not callable(describe):
        return None
    own = getattr(type(problem), "describe", None) is not Problem.describe
    if not own and (_config_of(problem) is None or not hasattr(problem, "seed")):
        return None
    return repr(sorted(describe().items()))


PROBLEM_ATTRIBUTES = (
    "n",
    "d_u",
    "d_v",
    "device",
    "dtype",
    "loss",
    "grad_u",
    "grad_v",
    "initial_point",
    "certified_constants",
)
"""What code that takes a problem reads of it: a `Problem`, or any object with these (a wrapper)."""


def require_problem(name: str, value: Any) -> None:
    """Refuse (TypeError naming `name`) what is neither a `Problem` nor an object with its attributes
    (`PROBLEM_ATTRIBUTES`: a wrapper around one passes)."""
    if isinstance(value, Problem) or all(hasattr(value, a) for a in PROBLEM_ATTRIBUTES):
        return
    raise TypeError(
        f"{name}={shown(value)}: must be an altsim.synthetic.Problem (make_problem builds one), not "
        f"{type(value).__name__}"
    )


MAX_SEED = 2**31 - 1
"""Largest problem seed (the same range as a config's `problem_seed`)."""


def build_arguments(
    config: Any, config_type: type, seed: Any, device: Any, dtype: Any
) -> tuple[torch.device, torch.dtype]:
    """Check a family constructor's arguments before anything is built: `config` an instance of
    `config_type` (TypeError), `seed` an integer in [0, MAX_SEED], `device` and `dtype` ones
    `resolve_device` and `resolve_dtype` accept (ValueError naming each). Returns (device, dtype)."""
    require_instance("config", config, config_type, f"a {config_type.__name__}")
    require("seed", seed, low=0, high=MAX_SEED, integer=True)
    return resolve_device(device), resolve_dtype(dtype)


@dataclass(frozen=True)
class Family:
    """A registered problem family: how to build it, and a small instance for contract tests."""

    name: str
    """Registry key, used in configs (`family = "..."`)."""
    config: type
    """Frozen dataclass of the family's parameters."""
    build: Callable[..., Problem]
    """build(config, seed=, device=, dtype=) -> Problem."""
    summary: str
    """One line for `altsim problem --list`."""
    example: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """Parameters of a small, noisy instance: every registered family must pass the contract tests there."""
    size: Callable[[Any], tuple[int, int, int, int]] | None = None
    """config -> (n, d_u, d_v, floats of instance data), read before anything is allocated (memory
    estimates); None reads n, d_u, d_v off the config and assumes (d_u + d_v) n floats of data."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]+", self.name):
            raise ValueError(
                f"name={shown(self.name)}: a family's name must be a non-empty str of letters, digits, "
                "'_', '-' and '.'"
            )
        if not (isinstance(self.config, type) and dataclasses.is_dataclass(self.config)):
            raise TypeError(
                f"config={shown(self.config)}: must be a dataclass (the family's parameters)"
            )
        require_callable("build", self.build, optional=False)
        require_instance("summary", self.summary, str, "a str")
        require_mapping("example", self.example)
        require_callable("size", self.size)

    def dimensions(self, config) -> tuple[int, int, int, int]:
        """(n, d_u, d_v, floats of instance data) of an instance with `config`, known before anything is
        allocated (`size` when the family gives one, else read off the config)."""
        if self.size is not None:
            return self.size(config)
        n, d_u, d_v = (int(getattr(config, k, 1)) for k in ("n", "d_u", "d_v"))
        return n, d_u, d_v, n * (d_u + d_v)


FAMILIES: dict[str, Family] = {}
BUILTIN_FAMILIES: frozenset[str] = frozenset()
"""altsim's own families (set once `altsim.synthetic` has registered them): never replaced."""


def register(family: Family) -> Family:
    """Add `family` to `FAMILIES` under its name (replacing a user's family of that name), so that
    configs and `make_problem` find it; returns it. Anything but a `Family` is refused (TypeError), and
    so is a family under the name of one of altsim's own (ValueError): recorded results, stored worst
    instances and tests refer to those."""
    require_instance("family", family, Family, "an altsim.synthetic.Family")
    if family.name in BUILTIN_FAMILIES and FAMILIES.get(family.name) is not family:
        raise ValueError(
            f"family.name={family.name!r}: taken by one of altsim's own families; choose another name"
        )
    FAMILIES[family.name] = family
    return family


def config_from_mapping(cls: type, table: Mapping[str, Any], param: str | None = None):
    """Build a frozen config dataclass from a dict or TOML table, rejecting unknown keys by name (with the
    nearest valid key); `param` names the table in the message (default: the class's name)."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"cls={shown(cls)}: must be a dataclass, not {type(cls).__name__}")
    require_str("param", param, optional=True)
    require_mapping(param or "table", table, "a table (a mapping of parameter names to values)")
    fields = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in table if k not in fields]
    if unknown:
        raise ValueError(unknown_name_message(param or cls.__name__, unknown, fields, kind="key"))
    return cls(**dict(table))


def get_family(name: Any) -> Family:
    """The registered family called `name`; a ValueError naming the nearest registered ones otherwise."""
    if not isinstance(name, str) or name not in FAMILIES:
        raise ValueError(unknown_name_message("family", name, sorted(FAMILIES), kind="family"))
    return FAMILIES[name]


def family_config(family: str, params: Mapping[str, Any] | None = None):
    """The config dataclass of a registered `family` built from plain parameters: every key and value
    validated (the dataclass's own checks), nothing of the problem built."""
    get_family(family)
    require_mapping("params", params, "a mapping of the family's parameters", optional=True)
    return config_from_mapping(get_family(family).config, params or {}, f"problem ({family})")


def load_toml_table(path, table: str | None = None) -> dict:
    """Read a TOML file (or one of its tables); a malformed file gets a ValueError naming it and the line."""
    import tomllib

    require_instance("path", path, (str, os.PathLike), "a file path")
    require_str("table", table, optional=True)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ValueError(f"config={str(path)!r}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise ValueError(f"config={str(path)!r}: not UTF-8 text (TOML files are UTF-8)") from None
    except (
        tomllib.TOMLDecodeError,
        ValueError,
    ) as e:  # ValueError: e.g. an integer of thousands of digits
        raise ValueError(f"config={str(path)!r}: not valid TOML ({str(e)[:160]})") from None
    if table is None:
        return data
    section = data.get(table, {})
    if not isinstance(section, dict):
        raise ValueError(f"config={str(path)!r}: [{table}] must be a table")
    return section


def make_problem(
    family: str,
    params: Mapping[str, Any] | None = None,
    *,
    seed: int = 0,
    device: str | torch.device = "cpu",
    dtype: str | torch.dtype = "float64",
) -> Problem:
    """Build a problem of a registered family from plain parameters (validated before any work): the
    family's name, its parameters (its config dataclass's checks), `seed` (an integer in [0,
    MAX_SEED]), `device` and `dtype`."""
    fam = get_family(family)
    config = family_config(family, params)
    require("seed", seed, low=0, high=MAX_SEED, integer=True)
    return fam.build(config, seed=seed, device=resolve_device(device), dtype=resolve_dtype(dtype))


class _FixedStart:
    """The initial point `Problem.with_initial_point` gave a problem (a class, so it pickles)."""

    def __init__(self, u0: torch.Tensor, V0: torch.Tensor) -> None:
        self.u0, self.V0 = u0, V0

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.u0.clone(), self.V0.clone()


def _describe_with_start(describe, start: _FixedStart) -> dict:
    return {**describe(), "initial_point": [start.u0.tolist(), start.V0.tolist()]}
