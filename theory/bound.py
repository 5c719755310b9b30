"""`Bound`: a symbolic convergence bound with its conditions and provenance.

A bound says: for every run of `algorithm` that satisfies every condition,

    (1/T) sum_{t<T} E[Delta_t^{(w)}]  <=  expression,

where Delta^{(w)} = ||grad_u F||^2 / L_u + w * (1/n) sum_i ||grad_v F_i||^2 / L_v and the
weight w is `personal_weight` (docs/theory.md section 4). Provenance is one of

- "P": the paper's own statement;
- "R": reconstructed, a consistent guess at what the paper states;
- "D": derived and proved in this project (derivation in the defining module's docstring,
  algebra checked by sympy in tests/);
- "calibrated": a template whose unknown constants were fitted to measurements.

A bound proved "for every Young weight theta, ... > 0" keeps the weights as free symbols (`weights`);
it is the infimum over them, which `evaluate` searches (`altsim.theory.weights`, docs/theory.md 7.8).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .checks import require, require_instance, shown
from .symbols import DEFAULTS, SYMBOLS
from .weights import minimise_over_weights

PROVENANCES = ("P", "R", "D", "calibrated")

CONDITION_KINDS = {
    "local_steps": "how many local steps a round takes (tau, tau_u, tau_v)",
    "participation": "how many clients a round samples (m of n)",
    "noise": "whether the gradients are stochastic (sigma_u, sigma_v)",
    "step_rule": "how the block step sizes relate (gamma_u L_u = gamma_v L_v)",
    "step_range": "which normalised step sizes eta the proof allows",
    "sampling_cap": "a joint limit on eta, the coupling and the sampled fraction m/n",
    "descent": "a per-round descent coefficient that must stay positive",
    "client_state": "whether clients keep v_i between rounds",
    "sample_independence": "whether a step's stochastic gradient is drawn afresh, independent of an earlier step's",
}
"""What each condition is about, as data: `covers`, `falsify` and the preflight checks decide by kind,
never by a condition's prose. Kinds whose conditions depend on eta (step_range, sampling_cap,
descent) are the ones a different step size can satisfy; see `STEP_SIZE_KINDS`."""
STEP_SIZE_KINDS = frozenset({"step_range", "sampling_cap", "descent"})

# Equalities between floats (m = n, gamma_u L_u = gamma_v L_v) hold up to this relative error.
_EQ_RTOL = 1e-9


def _require_values(values: Any, name: str = "values", optional: bool = False) -> None:
    """Refuse (TypeError naming `name`) what is not a mapping of symbol names to values."""
    if optional and values is None:
        return
    if not isinstance(values, Mapping):
        raise TypeError(
            f"{name}={shown(values)}: must be a mapping of symbol names to values, not "
            f"{type(values).__name__}"
        )


def _require_names(name: str, value: Any) -> None:
    """Refuse `value` unless it is a tuple (or list) of str (TypeError naming `name`)."""
    if not isinstance(value, (tuple, list)) or not all(isinstance(x, str) for x in value):
        raise TypeError(f"{name}={shown(value)}: must be a tuple of names (str)")


@dataclass(frozen=True)
class Condition:
    """One hypothesis of a bound, as a sympy relation over the symbols of `altsim.theory.symbols`.

    `kind` (a key of `CONDITION_KINDS`) says what the condition is about, so that code can reason
    about conditions without reading their prose."""

    relation: sp.Basic
    description: str
    kind: str
    weights: tuple[str, ...] = ()
    """Free weights (see `altsim.theory.weights`): the condition reads "for some positive weights,
    relation holds", and `check` searches them. Only strict inequalities take weights."""

    def __post_init__(self) -> None:
        require_instance("description", self.description, str, "a str")
        _require_names("weights", self.weights)
        if not isinstance(self.kind, str) or self.kind not in CONDITION_KINDS:
            raise ValueError(f"kind={self.kind!r}: must be one of {', '.join(CONDITION_KINDS)}")
        if not isinstance(self.relation, sp.Basic) or not isinstance(
            self.relation, (sp.core.relational.Relational, sp.logic.boolalg.BooleanAtom)
        ):
            raise TypeError(
                f"relation={self.relation!r}: must be a sympy relation such as sp.Eq(m, n) or "
                "eta < 2/(1+chi), not " + type(self.relation).__name__
            )
        if self.weights and not isinstance(
            self.relation, (sp.StrictGreaterThan, sp.StrictLessThan)
        ):
            raise ValueError(
                f"weights={self.weights!r}: only a strict inequality can hold for some weights"
            )

    @property
    def symbols(self) -> frozenset[str]:
        """Names of the symbols the relation involves (its free weights excluded)."""
        return frozenset(s.name for s in self.relation.free_symbols) - set(self.weights)

    @functools.cached_property
    def _margin_fn(self):
        """margin(symbols..., weights...) = rhs - lhs (or lhs - rhs for >): positive where the relation holds."""
        rel = self.relation
        margin = (
            rel.rhs - rel.lhs
            if isinstance(rel, (sp.StrictLessThan, sp.LessThan))
            else rel.lhs - rel.rhs
        )
        syms = sorted(margin.free_symbols, key=lambda s: s.name)
        return [s.name for s in syms], sp.lambdify(syms, margin, modules="numpy", cse=True)

    def best_margin(self, values: Mapping[str, Any]) -> np.ndarray:
        """With weights: the largest margin (rhs - lhs for <, lhs - rhs for >) the weight search finds,
        elementwise over array values; the condition holds where it is positive."""

        names, fn = self._margin_fn
        values = with_default_eta_v(names, values)
        args = {k: np.asarray(values[k], dtype=float) for k in names if k not in self.weights}
        neg, _ = minimise_over_weights(
            lambda **kw: fn(*(kw[k] for k in names)),
            args,
            self.weights,
            transform=lambda g: np.where(np.isfinite(g), -g, np.inf),
        )
        return -neg

    def holds_on(self, values: Mapping[str, Any]) -> np.ndarray:
        """Elementwise over array values: where an inequality condition holds (one vectorised evaluation,
        or one weight search); the equalities are checked one value at a time by `check`."""
        if isinstance(self.relation, sp.Equality):
            raise TypeError(f"{self.description}: holds_on is for inequalities")
        if self.weights:
            return np.asarray(self.best_margin(values)) > 0
        names, fn = self._margin_fn
        values = with_default_eta_v(names, {**DEFAULTS, **values})
        with np.errstate(all="ignore"):
            margin = np.asarray(
                fn(*(np.asarray(values[k], dtype=float) for k in names)), dtype=float
            )
        if isinstance(self.relation, (sp.StrictLessThan, sp.StrictGreaterThan)):
            return margin > 0
        return margin >= 0

    def check(self, values: Mapping[str, Any]) -> str | None:
        """Return None if the condition holds at `values`, otherwise the reason it does not."""
        _require_values(values)
        needed = sorted(self.symbols)
        values = with_default_eta_v(
            needed, {**{k: v for k, v in DEFAULTS.items() if k in needed}, **values}
        )
        missing = [k for k in needed if k not in values]
        if missing:
            return f"{self.description}: needs {', '.join(missing)}"
        if self.weights:
            best = float(self.best_margin({k: float(values[k]) for k in needed}))
            if best > 0:
                return None
            return (
                f"{self.description}: fails for every weight {', '.join(self.weights)} tried "
                f"(best margin {best:.6g})"
            )
        if not isinstance(self.relation, sp.Equality) and self.holds_on(values):
            return None  # the fast path: one lambdified evaluation; the sympy path below explains a failure
        subs = {SYMBOLS[k]: float(values[k]) for k in needed}
        lhs = float(self.relation.lhs.subs(subs))
        rhs = float(self.relation.rhs.subs(subs))
        if isinstance(self.relation, sp.Equality):
            ok = math.isclose(lhs, rhs, rel_tol=_EQ_RTOL, abs_tol=1e-300)
        elif isinstance(self.relation, sp.StrictLessThan):
            ok = lhs < rhs
        elif isinstance(self.relation, sp.LessThan):
            ok = lhs <= rhs * (1 + _EQ_RTOL) if rhs > 0 else lhs <= rhs
        elif isinstance(self.relation, sp.StrictGreaterThan):
            ok = lhs > rhs
        elif isinstance(self.relation, sp.GreaterThan):
            ok = lhs >= rhs
        else:  # pragma: no cover - defensive: only the relations above are used
            raise TypeError(f"unsupported relation {self.relation!r}")
        if ok:
            return None
        return f"{self.description}: {sp.sstr(self.relation)} fails ({lhs:.6g} vs {rhs:.6g})"

    def latex(self) -> str:
        """The relation as LaTeX (for reports and figures)."""
        return sp.latex(self.relation)


@dataclass(frozen=True)
class Coverage:
    """The answer of `Bound.covers`: whether a run may be compared to the bound, and why not."""

    ok: bool
    reasons: tuple[str, ...] = ()
    failed: tuple[Condition, ...] = ()
    """The conditions that fail (reasons may also name a wrong algorithm or an uncertified constant)."""
    other: tuple[str, ...] = ()
    """Reasons that are not a failed condition: wrong algorithm, uncertified constants."""

    def __bool__(self) -> bool:
        return self.ok

    @property
    def failed_kinds(self) -> frozenset[str]:
        """The kinds (`CONDITION_KINDS`) of the conditions that fail."""
        return frozenset(c.kind for c in self.failed)

    def only_step_size(self) -> bool:
        """Whether every failure is a step-size condition (another eta would make the bound cover the run)."""
        return bool(self.failed) and not self.other and self.failed_kinds <= STEP_SIZE_KINDS


@dataclass(frozen=True)
class Bound:
    """A convergence bound: expression, conditions, provenance. See the module docstring."""

    name: str
    algorithm: str
    expression: sp.Expr
    conditions: tuple[Condition, ...]
    provenance: str
    reference: str
    summary: str
    personal_weight: sp.Expr = sp.Integer(1)
    eta_max: sp.Expr | None = None
    """Upper end (exclusive) of the normalised step sizes the bound allows, if it depends on eta."""
    rate: str = ""
    """The bound's order in T at its best step size, e.g. 'T^-1' or 'T^-1/2'."""
    unknowns: tuple[str, ...] = field(default_factory=tuple)
    """Names of unknown constants (templates only); evaluation needs them calibrated first."""
    weights: tuple[str, ...] = ()
    """Free weights of the proof (Young's inequality's parameters, see `altsim.theory.weights`): the
    bound holds for every positive value, so `evaluate` returns the smallest value its search finds."""
    descent: sp.Expr | None = None
    """With free weights: the per-round descent coefficient, which must be positive at the weights used
    (the search climbs it where it is not)."""

    def __post_init__(self) -> None:
        for name in ("name", "reference", "summary", "rate"):
            require_instance(name, getattr(self, name), str, "a str")
        _require_names("unknowns", self.unknowns)
        _require_names("weights", self.weights)
        if self.expression is None:
            raise TypeError("expression=None: must be a sympy expression or a number")
        # plain Python numbers are welcome wherever a sympy expression is: 0, 1.5, Fraction(1, 2)
        for name in ("expression", "personal_weight", "eta_max", "descent"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, sp.Basic):
                try:
                    object.__setattr__(self, name, sp.sympify(value, strict=True))
                except (sp.SympifyError, TypeError):
                    raise TypeError(
                        f"{name}={shown(value)}: must be a sympy expression or a number, not "
                        f"{type(value).__name__}"
                    ) from None
            if value is not None and not isinstance(getattr(self, name), sp.Expr):
                raise TypeError(
                    f"{name}={shown(value)}: must be a sympy expression or a number, not "
                    f"{type(value).__name__}"
                )
        if not isinstance(self.conditions, (tuple, list)):
            raise TypeError(f"conditions={self.conditions!r}: must be a tuple of Condition")
        object.__setattr__(self, "conditions", tuple(self.conditions))
        if self.provenance not in PROVENANCES:
            raise ValueError(f"provenance={self.provenance!r}: must be one of {PROVENANCES}")
        if not isinstance(self.algorithm, str) or not self.algorithm.isidentifier():
            raise ValueError(
                f"algorithm={self.algorithm!r}: must be an algorithm's registered name"
            )
        for c in self.conditions:
            if not isinstance(c, Condition):
                raise TypeError(f"conditions: {c!r} is not a Condition")
        stepped = [c.kind for c in self.conditions if c.kind in STEP_SIZE_KINDS]
        if stepped and self.eta_max is None:
            raise ValueError(
                f"eta_max: bound {self.name!r} has a {stepped[0]} condition, so it needs eta_max, the "
                "upper end (exclusive) of the step sizes it allows (e.g. eta_max=2/(1+chi))"
            )

    def weight_at(self, values: Mapping[str, Any]) -> float:
        """The personal weight w of the measure at `values` (1, or m/n for the partial-participation bounds)."""
        _require_values(values)
        return float(
            self.personal_weight.subs(
                {s: values[s.name] for s in self.personal_weight.free_symbols}
            )
        )

    def eta_max_at(self, values: Mapping[str, Any]) -> float:
        """The upper end of the allowed eta at `values` (which must hold eta_max's symbols)."""
        if self.eta_max is None:
            raise ValueError(f"bound {self.name!r} has no step-size range")
        return float(self.eta_max.subs({s: values[s.name] for s in self.eta_max.free_symbols}))

    # -- symbols -------------------------------------------------------------------------
    @functools.cached_property
    def parameters(self) -> tuple[str, ...]:
        """Names of the symbols the expression needs, sorted (free weights excluded: the bound picks them)."""
        return tuple(
            sorted(s.name for s in self.expression.free_symbols if s.name not in self.weights)
        )

    def missing(self, values: Mapping[str, Any]) -> list[str]:
        """The parameters of the expression that `values` lacks (free weights excluded: the bound picks them)."""
        _require_values(values)
        return [p for p in self.parameters if p not in values]

    # -- evaluation ----------------------------------------------------------------------
    @functools.cached_property
    def _arguments(self) -> list[sp.Symbol]:
        """Every symbol of the expression, weights included, sorted by name."""
        return sorted(self.expression.free_symbols, key=lambda s: s.name)

    @functools.cached_property
    def _numpy_fn(self):
        # common subexpressions once: the local-step bounds repeat large pieces (5x faster for fedalt_sgd_local)
        return sp.lambdify(self._arguments, self.expression, modules="numpy", cse=True)

    @functools.cached_property
    def _torch_fn(self):
        return sp.lambdify(self._arguments, self.expression, modules="torch")

    def _args(self, values: Mapping[str, Any]) -> list:
        values = with_default_eta_v(self.parameters, values)
        missing = self.missing(values)
        if missing:
            raise ValueError(f"bound {self.name!r} needs values for: {', '.join(missing)}")
        for p in self.parameters:  # numbers, arrays or tensors of them: never text, None or a table
            v = values[p]
            if not (hasattr(v, "shape") and hasattr(v, "dtype")):
                try:
                    np.asarray(v, dtype=float)
                except (TypeError, ValueError):
                    raise ValueError(
                        f"{p}={shown(v)}: must be a number or an array of numbers, not "
                        f"{type(v).__name__}"
                    ) from None
        return [values[p] for p in self.parameters]

    def evaluate(self, values: Mapping[str, Any] | None = None, **kw) -> np.ndarray:
        """Evaluate with numpy; every value may be an array, and they broadcast together.

        A bound with free weights returns, per element, the smallest value the weight search finds
        (+inf where no weight gives a positive descent coefficient)."""
        _require_values(values, optional=True)
        vals = {**(values or {}), **kw}
        if self.weights:
            return self.evaluate_with_weights(vals)[0]
        args = [np.asarray(a, dtype=float) for a in self._args(vals)]
        with np.errstate(
            all="ignore"
        ):  # extreme constants give inf or nan, which callers check; no warnings
            out = np.asarray(self._numpy_fn(*args), dtype=float)
        return out + np.zeros(np.broadcast_shapes(*[a.shape for a in args]))

    def evaluate_with_weights(self, values: Mapping[str, Any]) -> tuple[np.ndarray, dict]:
        """(value, weights): the bound at the best free weights found, and those weights."""

        fixed = dict(zip(self.parameters, (np.asarray(a, dtype=float) for a in self._args(values))))
        names = [s.name for s in self._arguments]
        descent = None
        if self.descent is not None:
            syms, fn = self._descent_fn
            descent = lambda **kw: fn(*(kw[s.name] for s in syms))  # noqa: E731
        return minimise_over_weights(
            lambda **kw: self._numpy_fn(*(kw[k] for k in names)),
            fixed,
            self.weights,
            descent=descent,
        )

    @functools.cached_property
    def _descent_fn(self):
        syms = sorted(self.descent.free_symbols, key=lambda s: s.name)
        return syms, sp.lambdify(syms, self.descent, modules="numpy", cse=True)

    def evaluate_at(self, values: Mapping[str, Any], weights: Mapping[str, Any]) -> np.ndarray:
        """The expression at given free weights (each a valid bound when the descent coefficient is positive)."""
        vals = {**with_default_eta_v(self.parameters, values), **weights}
        with np.errstate(all="ignore"):
            return np.asarray(
                self._numpy_fn(*(np.asarray(vals[s.name], dtype=float) for s in self._arguments))
            )

    def evaluate_torch(self, values: Mapping[str, Any] | None = None, **kw):
        """Evaluate with torch tensors (any device); broadcasting as in torch. A bound with free weights
        is evaluated by the numpy search and returned on the device of its first tensor argument."""
        import torch

        _require_values(values, optional=True)
        vals = {**(values or {}), **kw}
        if self.weights:
            device = next((v.device for v in vals.values() if isinstance(v, torch.Tensor)), "cpu")
            plain = {
                k: (v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v)
                for k, v in vals.items()
            }
            return torch.as_tensor(self.evaluate(plain), dtype=torch.float64, device=device)
        args = [
            torch.as_tensor(a, dtype=torch.float64) if not isinstance(a, torch.Tensor) else a
            for a in self._args(vals)
        ]
        return self._torch_fn(*args)

    # -- presentation -------------------------------------------------------------------
    def latex(self) -> str:
        """The bound's expression as LaTeX."""
        return sp.latex(self.expression)

    def conditions_text(self) -> list[str]:
        """One line per condition: its description and its relation as a sympy string."""
        return [f"{c.description}: {sp.sstr(c.relation)}" for c in self.conditions]

    def conditions_data(self) -> list[dict]:
        """The conditions as plain data: description, relation, kind and symbols."""
        return [
            {
                "description": c.description,
                "relation": sp.sstr(c.relation),
                "kind": c.kind,
                "symbols": sorted(c.symbols),
            }
            for c in self.conditions
        ]

    def describe(self) -> dict:
        """Plain-data description (JSON-ready)."""
        return {
            "name": self.name,
            "algorithm": self.algorithm,
            "provenance": self.provenance,
            "reference": self.reference,
            "summary": self.summary,
            "expression": sp.sstr(self.expression),
            "latex": self.latex(),
            "conditions": self.conditions_text(),
            "condition_data": self.conditions_data(),
            "personal_weight": sp.sstr(self.personal_weight),
            "parameters": list(self.parameters),
            "unknowns": list(self.unknowns),
            "rate": self.rate,
        }

    # -- applicability -------------------------------------------------------------------
    def covers(self, setting: Mapping[str, Any]) -> Coverage:
        """Whether a run with `setting` (config and certified constants) satisfies every condition.

        `setting` holds plain numbers keyed by symbol name plus "algorithm". The normalised
        step size `eta` is derived from the step sizes when absent (see `normalised_eta`).
        Run options (stateless clients, ...) are symbols too, so they are conditions like any other.
        A setting that is not a mapping is refused (TypeError).
        """
        _require_values(setting, "setting")
        other: list[str] = []
        alg = setting.get("algorithm")
        if alg != self.algorithm:
            other.append(f"bound is for {self.algorithm}, run is {alg}")
        values = dict(setting)
        if "eta" not in values:
            eta = normalised_eta(setting)
            if eta is not None:
                values["eta"] = eta
        if "eta_v" not in values:
            eta_v = normalised_eta_v(setting)
            if eta_v is not None:
                values["eta_v"] = eta_v
        uncertified = self.uncertified(values)
        other += [f"{k} is not certified for this problem (infinite)" for k in uncertified]
        failed, reasons = [], []
        for cond in self.conditions:
            if cond.symbols & set(uncertified):
                continue  # already reported: an infinite constant makes the condition meaningless
            why = cond.check(values)
            if why is not None:
                failed.append(cond)
                reasons.append(why)
        return Coverage(not (other or failed), tuple(other + reasons), tuple(failed), tuple(other))

    def conditions_of(self, kind: str) -> tuple[Condition, ...]:
        """This bound's conditions of one kind (see `CONDITION_KINDS`)."""
        if not isinstance(kind, str) or kind not in CONDITION_KINDS:
            raise ValueError(f"kind={kind!r}: must be one of {', '.join(CONDITION_KINDS)}")
        return tuple(c for c in self.conditions if c.kind == kind)

    def uncertified(self, values: Mapping[str, Any]) -> list[str]:
        """Parameters (of the expression or a condition) whose given value is infinite: a problem that
        certifies no finite constant."""
        _require_values(values)
        names = sorted(set(self.parameters).union(*(c.symbols for c in self.conditions)))
        out = []
        for k in names:
            try:
                if math.isinf(float(values[k])):
                    out.append(k)
            except (KeyError, TypeError, ValueError):
                pass
        return out


def with_default_eta_v(needed, values: Mapping[str, Any]) -> Mapping[str, Any]:
    """`values` with eta_v = eta when a bound needs eta_v and none is given: the block rule
    gamma_v L_v tau_v = gamma_u L_u tau_u, which every algorithm follows unless told otherwise."""
    if "eta_v" in needed and "eta_v" not in values and "eta" in values:
        return {**values, "eta_v": values["eta"]}
    return values


def _normalised(setting: Mapping[str, Any], block: str) -> float | None:
    """gamma_b L_b tau_b for block b (tau_b falls back to FedSim's tau, then 1); None if the setting lacks
    it. A setting that is not a mapping, or whose value there is not a number, is refused by name."""
    if not isinstance(setting, Mapping):
        raise TypeError(
            f"setting={shown(setting)}: must be a mapping (a run's setting), not "
            f"{type(setting).__name__}"
        )
    keys = (f"gamma_{block}", f"L_{block}")
    if any(k not in setting for k in keys):
        return None
    steps_key = f"tau_{block}" if f"tau_{block}" in setting else "tau"
    for k in (*keys, *([steps_key] if steps_key in setting else [])):
        require(k, setting[k], allow_inf=True)
    steps = setting.get(steps_key, 1)
    return float(setting[keys[0]]) * float(setting[keys[1]]) * float(steps)


def normalised_eta_v(setting: Mapping[str, Any]) -> float | None:
    """eta_v = gamma_v L_v tau_v, the normalised v step size (None if the setting lacks it)."""
    return _normalised(setting, "v")


def normalised_eta(setting: Mapping[str, Any]) -> float | None:
    """eta = gamma_u L_u tau_u, the normalised u step size (None if the setting lacks it)."""
    return _normalised(setting, "u")
