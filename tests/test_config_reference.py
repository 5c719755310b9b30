"""The config reference read from the code (#24): every field of every config dataclass documented with
its meaning and valid range, `altsim config`, docs/config.md generated from the same source, configs
built in Python validated when they are constructed, and "did you mean" for every unknown name."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from pathlib import Path

import pytest

from altsim import reference
from altsim.cli import main
from altsim.rates import ExperimentConfig
from altsim.rates.regime_study import RegimeStudy
from altsim.synthetic import FAMILIES
from altsim.synthetic.finite_sum import FiniteSumConfig
from altsim.theory import get_bound
from altsim.theory.checks import close_names, unknown_name_message

CONFIG_MD = Path(__file__).resolve().parents[1] / "docs" / "config.md"
CLASSES = [
    ExperimentConfig,
    RegimeStudy,
    FiniteSumConfig,
    *(FAMILIES[name].config for name in reference.builtin_families()),
]
"""Every config dataclass of altsim: the experiment, the regime study, and each built-in family's."""
RANGE = re.compile(r">=|> 0|<=|in \[|in \(|an integer in|true or false")
"""How a field's docstring states a valid range (or, for a flag, that it takes true or false)."""


def _run(argv):
    out = io.StringIO()
    return main(argv, out=out), out.getvalue()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_field_says_what_it_means_and_what_it_takes(cls):
    docs = reference.field_docs(cls)
    assert [f.name for f in docs] == [f.name for f in dataclasses.fields(cls)]
    missing = [f.name for f in docs if len(f.doc) < 15]
    assert not missing, f"{cls.__name__}: no docstring after field(s) {', '.join(missing)}"
    for f in docs:
        if f.type.split(" |")[0] in ("int", "float", "bool") or "tuple[int" in f.type:
            assert RANGE.search(f.doc), f"{cls.__name__}.{f.name}: the docstring states no range"
        if f.type == "str" and f.name != "family":
            assert re.search(r"'\w+'", f.doc), f"{cls.__name__}.{f.name}: no valid value quoted"


def test_a_subclass_keeps_the_docstrings_of_its_base_and_its_own_overrides():
    digits = {f.name: f for f in reference.field_docs(FAMILIES["digits"].config)}
    base = {f.name: f for f in reference.field_docs(FiniteSumConfig)}
    assert digits["label_noise"].doc == base["label_noise"].doc  # inherited
    assert digits["batch_size"].default == 10 and base["batch_size"].default == 5  # redeclared
    assert digits["noise"].doc != base["noise"].doc and "'minibatch'" in digits["noise"].doc


def test_docs_config_md_is_generated_from_the_code():
    fresh = reference.config_markdown()
    committed = CONFIG_MD.read_text(encoding="utf-8")
    assert committed == fresh, (
        f"docs/config.md is out of date with the config dataclasses; regenerate it: {reference.REGENERATE}"
    )
    _, stdout = _run(["config", "--markdown"])
    assert stdout == fresh  # the command the file says regenerates it


def test_every_field_appears_in_the_listing_and_the_markdown():
    _, text = _run(["config", "--list"])
    markdown = CONFIG_MD.read_text(encoding="utf-8")
    for s in reference.config_sections(reference.builtin_families()):
        assert f"{s.title()}  (" in text and f"## `{s.title()}`" in markdown
        body = markdown.split(f'<a id="{s.anchor()}"></a>')[1].split("<a id=")[0]
        for f in s.fields:
            assert f"\n  {f.name}: {f.type} = " in text, (s.title(), f.name)
            assert f"- **`{f.name}`** (`{f.type}`, default `{f.default_text()}`)" in body, (
                s.title(),
                f.name,
            )
    for cls in CLASSES:  # every field of every config dataclass, whatever the section
        for f in dataclasses.fields(cls):
            assert f"- **`{f.name}`**" in markdown and f"  {f.name}: " in text


def test_config_list_json_is_strict_and_complete():
    code, stdout = _run(["config", "--list", "--json"])

    def refuse(token):
        raise AssertionError(f"non-standard JSON: {token}")

    data = json.loads(stdout, parse_constant=refuse)
    tables = [(s["table"], s["family"]) for s in data["sections"]]
    assert code == 0 and tables[:3] == [("experiment", None), ("regime", None), ("sweep", None)]
    assert {f for t, f in tables if t == "problem"} == set(FAMILIES)
    experiment = data["sections"][0]["fields"]
    assert [f["name"] for f in experiment] == [f.name for f in dataclasses.fields(ExperimentConfig)]
    rounds = next(f for f in experiment if f["name"] == "rounds")
    assert rounds == {
        "name": "rounds",
        "type": "int",
        "default": 500,
        "required": False,
        "doc": rounds["doc"],
    }
    regime = {f["name"]: f for f in data["sections"][1]["fields"]}
    assert regime["eta_grid"]["required"] and regime["enabled"]["default"] is False


def test_config_family_restricts_the_problem_tables_to_one():
    code, stdout = _run(["config", "--list", "--family", "digits"])
    assert code == 0 and '[problem] (family = "digits")' in stdout
    assert stdout.count("[problem] (family") == 1 and "[experiment]" in stdout


@pytest.mark.parametrize(
    "argv, match",
    [
        (["config"], "config: give --list"),
        (["config", "--markdown", "--json"], "two formats"),
        (
            ["config", "--list", "--family", "Digits"],
            "--family='Digits': unknown family (did you mean 'digits'?); choose one of",
        ),
    ],
)
def test_config_mistakes_are_one_line_and_exit_2(argv, match, capsys):
    code, _ = _run(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and match in err, err


# --- validated when constructed -------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(problem={"sigma": 0.5}),
            "problem (coupled_quadratic): unknown key 'sigma' (did you mean 'sigma_u' or 'sigma_v'?)",
        ),
        (dict(problem={"chi": 2}), r"chi=2: must be a number in [0, 0.7)"),
        (dict(family="digit"), "family='digit': unknown family (did you mean 'digits'?)"),
        (dict(family="digits", problem={"hiden": 4}), "did you mean 'hidden'?"),
        (
            dict(algorithms=("FedAlt",)),
            "algorithms[]='FedAlt': unknown algorithm (did you mean 'fedalt'?)",
        ),
        (dict(bounds=("fedsim_sgd_parital",)), "(did you mean 'fedsim_sgd_partial'?)"),
    ],
)
def test_a_config_built_in_python_is_validated_when_it_is_constructed(kwargs, match):
    with pytest.raises(ValueError) as e:
        ExperimentConfig(**kwargs)
    assert match in str(e.value) and "\n" not in str(e.value)


def test_construction_checks_the_family_config_without_building_the_problem(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the problem was built")

    fam = FAMILIES["coupled_quadratic"]
    monkeypatch.setitem(FAMILIES, "coupled_quadratic", dataclasses.replace(fam, build=boom))
    ExperimentConfig(problem={"n": 5, "chi": 0.2})


def test_python_and_the_cli_give_the_same_error_line(tmp_path, capsys):
    with pytest.raises(ValueError) as e:
        ExperimentConfig(problem={"sigma": 0.5})
    toml = tmp_path / "bad.toml"
    toml.write_text("[problem]\nsigma = 0.5\n")
    code, _ = _run(["run", str(toml), "--out", str(tmp_path / "o"), "--quiet"])
    assert code == 2 and capsys.readouterr().err == f"altsim: error: {e.value}\n"


# --- did you mean ----------------------------------------------------------------------------------
def test_close_names_prefers_case_then_the_nearest():
    assert close_names("FedAlt", ["fedavg", "fedalt", "fedsim"]) == ["fedalt"]
    assert close_names("round", ["bounds", "rounds"]) == ["rounds"]
    assert close_names("sigma", ["n", "sigma_u", "sigma_v"]) == ["sigma_u", "sigma_v"]
    assert close_names("zzz", ["rounds"]) == [] and close_names(3, ["rounds"]) == []


def test_every_unknown_name_suggests_the_nearest(tmp_path, capsys):
    def message(call):
        with pytest.raises(ValueError) as e:
            call()
        return str(e.value)

    assert "experiment: unknown key 'round' (did you mean 'rounds'?)" in message(
        lambda: ExperimentConfig.from_dict({"round": 3})
    )
    assert "bound='fedsim_sgd_parital': unknown bound (did you mean 'fedsim_sgd_partial'?)" in (
        message(lambda: get_bound("fedsim_sgd_parital"))
    )
    cases = [
        (
            "[regime]\nenabled = true\nmargn = 0.2\n",
            "regime: unknown key 'margn' (did you mean 'margin'?)",
        ),
        ("[sweep]\nrounds = [2, 3]\nmm = [1, 2]\n", "sweep: unknown key 'mm' (did you mean 'm'?)"),
        (
            '[sweep]\n"problem.detla" = [0.5, 1.0]\n',
            "(did you mean 'problem.delta'?); choose from problem.n, ",
        ),
        ("[experiment]\nfamily = 'coupled'\n", "did you mean 'coupled_quadratic'?"),
        (
            "[experiments]\nrounds = 3\n",
            "config: unknown table 'experiments' (did you mean 'experiment'?)",
        ),
    ]
    for i, (text, match) in enumerate(cases):
        toml = tmp_path / f"c{i}.toml"
        toml.write_text(text)
        code, _ = _run(["run", str(toml), "--out", str(tmp_path / f"o{i}"), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and match in err, (text, err)
    code, _ = _run(["bound", "--alg", "fedsim", "--set", "Lu=1"])
    err = capsys.readouterr().err
    assert code == 2 and "--set: unknown symbol 'Lu' (did you mean 'L_u'?); choose from L_u," in err
    code, _ = _run(["problem", "--set", "sigmau=0.1"])
    assert code == 2 and "did you mean 'sigma_u'?" in capsys.readouterr().err


def test_the_message_lists_every_choice_on_one_line():
    text = unknown_name_message("family", "x\ny", ["a", "b"], kind="family")
    assert text == "family='x\\ny': unknown family; choose one of a, b" and "\n" not in text
    many = unknown_name_message("problem", ["sigma", "bogus"], ["n", "sigma_u"], kind="key")
    assert many == (
        "problem: unknown keys 'bogus', 'sigma' (did you mean 'sigma_u'?); choose from n, sigma_u"
    )


def test_the_reference_modules_examples_run():
    import doctest

    result = doctest.testmod(reference, optionflags=doctest.ELLIPSIS)
    assert result.attempted and not result.failed
