"""The TOML configs `altsim falsify` writes (`config_toml`) read back unchanged: any string (quotes,
backslashes, newlines, control characters, unicode, TOML's own punctuation), nested lists, bools, ints and
floats of any magnitude; a comment, however hostile, stays a comment."""

import json
import math
import tomllib
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from altsim.sweep import load_spec
from altsim.testing.falsify import config_toml
from altsim.testing.falsify.records import plain

FALSIFY = Path(__file__).resolve().parent / "data" / "falsify"

HOSTILE = st.one_of(
    st.text(),  # any unicode, control characters included (no surrogates: they are not text)
    st.text(alphabet="\"\\\n\r\t\x00\x1f\x7f\b\f]=#['.{} é✓\u2028\U0001f600", max_size=20),
    st.sampled_from(['"', "\\", '"""', "'''", "\n[problem]\nx = 1", "a # b", "]", "=", "#", ""]),
)
SCALARS = st.one_of(
    HOSTILE,
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),  # TOML's integers are 64-bit
    st.floats(allow_nan=False),  # infinities and subnormals included; NaN is never equal to itself
    st.sampled_from([1e-300, -5e-324, 1.7976931348623157e308, 1e22, 0.1, -0.0]),
    st.builds(np.float64, st.floats(allow_nan=False)),
    st.builds(np.int64, st.integers(-(2**63), 2**63 - 1)),
    st.builds(np.bool_, st.booleans()),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.builds(np.array, st.lists(st.floats(allow_nan=False), max_size=3)),
    ),
    max_leaves=12,
)
KEYS = st.one_of(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]*", fullmatch=True), HOSTILE)


@st.composite
def configs(draw) -> dict:
    """A config dict like `ExperimentConfig.to_dict()`: experiment keys and a `problem` table."""
    experiment = draw(
        st.dictionaries(KEYS.filter(lambda k: k != "problem"), VALUES | st.none(), max_size=6)
    )
    return {**experiment, "problem": draw(st.dictionaries(KEYS, VALUES, max_size=6))}


def _expected(config: dict) -> dict:
    """What the TOML holds: the two tables, None left out, numpy and tuples made Python lists and numbers."""
    experiment = {k: v for k, v in config.items() if k != "problem" and v is not None}
    return plain({"experiment": experiment, "problem": config["problem"]})


@settings(max_examples=300, deadline=None)
@given(config=configs(), comment=HOSTILE)
def test_config_toml_round_trips_through_tomllib(config, comment):
    text = config_toml(config, comment)
    assert tomllib.loads(text) == _expected(config)


@settings(max_examples=200, deadline=None)
@given(comment=st.lists(HOSTILE, max_size=5).map("\n".join))
def test_a_hostile_comment_stays_comment_lines_and_adds_no_keys(comment):
    config = {"rounds": 3, "problem": {"n": 2}}
    text = config_toml(config, comment)
    assert tomllib.loads(text) == {"experiment": {"rounds": 3}, "problem": {"n": 2}}
    header = text[: text.index("[experiment]")]
    assert all(line.startswith("# ") for line in header.splitlines())


def test_numpy_scalars_are_written_as_python_numbers():
    config = {
        "eta": np.float64(0.25),
        "rounds": np.int64(7),
        "official": np.bool_(False),
        "problem": {},
    }
    assert tomllib.loads(config_toml(config, "")) == {
        "experiment": {"eta": 0.25, "rounds": 7, "official": False},
        "problem": {},
    }
    assert [type(v) for v in tomllib.loads(config_toml(config, ""))["experiment"].values()] == [
        float,
        int,
        bool,
    ]


def test_a_floats_every_bit_survives():
    values = [math.pi, 1e-300, 5e-324, 1.7976931348623157e308, -0.0, math.inf, -math.inf, 0.1 + 0.2]
    back = tomllib.loads(config_toml({"problem": {"x": values}}, ""))["problem"]["x"]
    assert [v.hex() for v in back] == [v.hex() for v in values]


def test_a_recorded_worst_instance_reruns_from_the_toml_written_for_it(tmp_path):
    """`altsim run` reads the TOML back to the same experiment (what `altsim falsify`'s worst.toml is for)."""
    report = json.loads((FALSIFY / "fedalt_sgd_local.json").read_text())
    path = tmp_path / "worst.toml"
    path.write_text(config_toml(report["worst_config"], "a comment\nrerun: altsim run worst.toml"))
    config = load_spec(path).points()[0][1]
    assert config.to_dict() == report["worst_config"]


def test_config_toml_refuses_what_it_cannot_write_in_one_line_naming_it():
    import pytest

    # KeyError, AttributeError and tomli-w's own error (without the key) before
    with pytest.raises(ValueError, match=r"^config: has no 'problem' table"):
        config_toml({"rounds": 3}, "")
    with pytest.raises(TypeError, match=r"^comment=None: must be a str"):
        config_toml({"problem": {}}, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^config: problem\.n=None: TOML holds no None"):
        config_toml({"rounds": 3, "problem": {"n": None}}, "")
    with pytest.raises(ValueError, match=r"^config: problem\.x\[1\]=None"):
        config_toml({"problem": {"x": [1, None]}}, "")
    with pytest.raises(ValueError, match=r"^config: seeds\[0\]=None"):
        config_toml({"seeds": [None], "problem": {}}, "")
    with pytest.raises(ValueError, match=r"^config: problem\.3: a key must be a str, not int"):
        config_toml({"problem": {3: 1}}, "")
    with pytest.raises(TypeError, match=r"^config\['problem'\]=5: must be a mapping"):
        config_toml({"problem": 5}, "")
    with pytest.raises(TypeError, match=r"^config='x+\.\.\.<1002 characters>: must be a mapping"):
        config_toml("x" * 1000, "")  # type: ignore[arg-type]
    # a None of [experiment] still takes its default, left out
    assert tomllib.loads(config_toml({"eta": None, "problem": {"n": 2}}, "c")) == {
        "experiment": {},
        "problem": {"n": 2},
    }
