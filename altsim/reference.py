"""The config reference, read from the code: every table of a config file and every key it takes.

Each key's meaning, default and valid range is the string literal written right after its field in
the config dataclass (`ExperimentConfig`, `RegimeStudy`, each family's config), read from the
source with `ast` by `field_docs`: the reference cannot drift from the code, and a field without
such a docstring is a test failure. `altsim config --list` prints it (`--json`, `--markdown`), and
docs/config.md is `config_markdown()`, regenerated with::

    altsim config --markdown > docs/config.md
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import math
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

REGENERATE = "altsim config --markdown > docs/config.md"
"""The command that writes docs/config.md."""


@dataclass(frozen=True)
class FieldDoc:
    """One key of a config table: its name, type, default and docstring."""

    name: str
    """The key (the dataclass field's name)."""
    type: str
    """The field's annotation, as written in the source (e.g. 'int | None')."""
    default: Any
    """The default value (a default factory called); None both for a default of None and for a required key."""
    required: bool
    """True when the field has no default: the key must be given."""
    doc: str
    """The docstring after the field, whitespace collapsed to single spaces ('' when there is none)."""

    def default_text(self) -> str:
        """The default as a TOML value ('required', or 'unset' for None: the key is left out)."""
        if self.required:
            return "required"
        return toml_literal(self.default)

    def as_dict(self) -> dict:
        """The field as plain JSON data (tuples as lists, mappings as objects)."""
        return {
            "name": self.name,
            "type": self.type,
            "default": _plain(self.default),
            "required": self.required,
            "doc": self.doc,
        }


@dataclass(frozen=True)
class Section:
    """One table of a config file: its name, where its keys come from, and the keys."""

    table: str
    """The TOML table, e.g. 'experiment', 'regime', 'sweep' or 'problem' (with `family` set)."""
    source: str
    """Where the keys are defined, e.g. 'altsim.rates.experiment.ExperimentConfig'."""
    doc: str
    """What the table is for."""
    fields: tuple[FieldDoc, ...]
    """Its keys, in the order of the dataclass."""
    family: str | None = None
    """The family, for a `[problem]` section (each family takes its own keys)."""

    def title(self) -> str:
        """'[experiment]', or '[problem] (family = "digits")' for a family's section (the family is named
        in `[experiment]`)."""
        return f"[{self.table}]" + (f' (family = "{self.family}")' if self.family else "")

    def anchor(self) -> str:
        """The section's anchor in docs/config.md: 'experiment', or 'problem-digits' for a family's."""
        return self.table + (f"-{self.family}" if self.family else "")

    def as_dict(self) -> dict:
        """The section as plain JSON data."""
        return {
            "table": self.table,
            "family": self.family,
            "source": self.source,
            "doc": self.doc,
            "fields": [f.as_dict() for f in self.fields],
        }


def _plain(value: Any) -> Any:
    """`value` as JSON data: tuples and lists as lists, mappings as dicts, other values as they are."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def toml_literal(value: Any) -> str:
    """`value` written as in a TOML file ('unset' for None, which TOML cannot write: leave the key out)."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {toml_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _docstrings(cls: type) -> dict[str, str]:
    """{field name: the string literal right after it} in the body of `cls` itself ({} when its source
    cannot be read, e.g. a class defined in an interactive session)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    node = next(
        (n for n in ast.parse(source).body if isinstance(n, ast.ClassDef)),
        None,
    )
    if node is None:
        return {}
    docs = {}
    for stmt, after in zip(node.body, node.body[1:]):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[stmt.target.id] = " ".join(after.value.value.split())
    return docs


def field_docs(cls: type) -> list[FieldDoc]:
    """Every field of the dataclass `cls`, in order, with the docstring written after it in the class that
    defines it last (a subclass that redeclares a field, e.g. with another default, documents it anew).

    >>> from altsim.rates import ExperimentConfig
    >>> rounds = next(f for f in field_docs(ExperimentConfig) if f.name == "rounds")
    >>> rounds.type, rounds.default, rounds.doc
    ('int', 500, 'Rounds T; an integer >= 1.')
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"cls={cls!r}: must be a dataclass")
    docs: dict[str, str] = {}
    for base in reversed(cls.__mro__):
        if dataclasses.is_dataclass(base):
            docs.update(_docstrings(base))
    out = []
    for f in dataclasses.fields(cls):
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        out.append(FieldDoc(f.name, kind, default, required, docs.get(f.name, "")))
    return out


def _first_line(obj: Any) -> str:
    return " ".join(inspect.cleandoc(obj.__doc__ or "").split("\n\n")[0].split())


def _source(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def builtin_families() -> list[str]:
    """The families altsim itself registers (their config classes live in `altsim.synthetic`), sorted:
    docs/config.md lists these, not the ones a plugin or a test registered."""
    from altsim.synthetic import FAMILIES

    return sorted(
        name
        for name, fam in FAMILIES.items()
        if fam.config.__module__.startswith("altsim.synthetic")
    )


def config_sections(families: Iterable[str] | None = None) -> list[Section]:
    """The reference: `[experiment]`, `[regime]`, `[sweep]`, then `[problem]` for each of `families`
    (default: every registered family, sorted; an unknown name is refused with the nearest ones)."""
    from altsim.rates.experiment import ExperimentConfig
    from altsim.rates.regime_study import RegimeStudy
    from altsim.sweep import REGIME_ENABLED_DOC, SWEEP_KEYS_DOC
    from altsim.synthetic import FAMILIES, get_family

    names = sorted(FAMILIES) if families is None else list(families)
    sections = [
        Section(
            "experiment",
            _source(ExperimentConfig),
            "The run: algorithms, participation, step sizes, rounds, seeds (`altsim.rates.ExperimentConfig`; "
            "in Python, `problem` is a field, in a TOML file it is the `[problem]` table).",
            tuple(field_docs(ExperimentConfig)),
        ),
        Section(
            "regime",
            _source(RegimeStudy),
            "Optional: which algorithm wins, at every point of a sweep. `enabled = true` alone compares "
            "FedAlt's and FedSim's runs with the paper's section-6 prediction; with `eta_grid` and "
            "`tune_seeds` it runs the tuned study (`altsim.rates.regime_study.RegimeStudy`).",
            (
                FieldDoc("enabled", "bool", False, False, REGIME_ENABLED_DOC),
                *field_docs(RegimeStudy),
            ),
        ),
        Section(
            "sweep",
            "altsim.sweep.parse_spec",
            "Optional: a grid. Each key takes every value of its list; each combination is one point, an "
            "experiment of its own, and every point is validated before any runs.",
            tuple(FieldDoc(k, "list", None, False, doc) for k, doc in SWEEP_KEYS_DOC.items()),
        ),
    ]
    for name in names:
        fam = get_family(name)
        sections.append(
            Section(
                "problem",
                _source(fam.config),
                f"{fam.summary[:1].upper()}{fam.summary[1:]}. {_first_line(fam.config)}",
                tuple(field_docs(fam.config)),
                family=name,
            )
        )
    return sections


def config_text(sections: list[Section], width: int = 100) -> str:
    """The reference as plain text (`altsim config --list`): each table, then each key with its type,
    default and docstring."""
    lines: list[str] = []
    for s in sections:
        lines.append(f"{s.title()}  ({s.source})")
        lines += textwrap.wrap(s.doc, width, initial_indent="  ", subsequent_indent="  ")
        for f in s.fields:
            lines.append(f"  {f.name}: {f.type} = {f.default_text()}")
            lines += textwrap.wrap(
                f.doc or "(undocumented)",
                width,
                initial_indent="      ",
                subsequent_indent="      ",
            )
        lines.append("")
    return "\n".join(lines)


def config_json(sections: list[Section]) -> dict:
    """The reference as JSON data (`altsim config --list --json`)."""
    return {"sections": [s.as_dict() for s in sections]}


PYTHON_EXAMPLE = """\
from altsim.rates import ExperimentConfig, run

config = ExperimentConfig(
    family="coupled_quadratic",
    problem={"n": 10, "chi": 0.5, "sigma_u": 0.5, "sigma_v": 0.5},  # the [problem] table
    algorithms=("fedalt", "fedsim"),
    rounds=50,
    m=5,
    seeds=(0, 1),
)
# the same config as plain data, e.g. the tables of a TOML file
assert ExperimentConfig.from_dict(config.to_dict()) == config
result = run(config)
for name, comparison in result.compare().items():
    print(name, [(check.name, check.verdict) for check in comparison.checks])

try:  # every key and value is checked when the config is built, naming the nearest valid key
    ExperimentConfig(problem={"sigma": 0.5})
except ValueError as error:
    print(error)
"""
"""The Python example of docs/config.md (the doc-block test runs it)."""


def _md(text: str) -> str:
    """Text safe inside a Markdown list item: a '|' or '<' cannot start a table or a tag."""
    return text.replace("<", "&lt;")


def config_markdown(families: Iterable[str] | None = None) -> str:
    """docs/config.md: the reference as Markdown, for the built-in families unless `families` is given
    (so the file does not depend on what a session registered)."""
    sections = config_sections(builtin_families() if families is None else families)
    out = [
        "# Config reference",
        "",
        f"<!-- Generated from the code by `{REGENERATE}`; do not edit by hand. -->",
        "",
        "Every key of a config file, read from the docstring written after its field in the code "
        "(`altsim config --list` prints the same, `--json` as JSON, `--family NAME` one family's "
        "`[problem]` keys). A file for `altsim run` holds `[experiment]`, `[problem]` and optionally "
        "`[sweep]` and `[regime]`; a key left out takes its default, and *unset* means the key is "
        "left out. Integer keys take integers (not `20.0` or `true`); real keys take finite numbers "
        "of magnitude at most 1e100. Every key and value is checked before any work, and an unknown "
        "key or name is refused with the nearest valid one.",
        "",
        "The same config built in Python, checked the same way when it is constructed:",
        "",
        "```python",
        PYTHON_EXAMPLE.rstrip("\n"),
        "```",
        "",
        "Tables:",
        "",
        *(f"- [`{s.title()}`](#{s.anchor()})" for s in sections),
        "",
    ]
    for s in sections:
        out += [f'<a id="{s.anchor()}"></a>', "", f"## `{s.title()}`", "", _md(s.doc), ""]
        out += [f"Defined by `{s.source}`.", ""]
        for f in s.fields:
            out.append(f"- **`{f.name}`** (`{f.type}`, default `{f.default_text()}`): {_md(f.doc)}")
        out.append("")
    return "\n".join(out)
