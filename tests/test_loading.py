"""Tests for sim.scenario.loading (and sim.errors): malformed files, refused tags, positions.

Each test runs in its own temporary directory (see tests/scenario_yaml.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_yaml import GOOD, load_problems, write

from sim.errors import EXIT_BAD_INPUT, InputError, Problem
from sim.scenario.loading import Position
from sim.scenario.merging import load_document


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


# --------------------------------------------------------------------------------------------
# sim.errors
# --------------------------------------------------------------------------------------------


def test_problem_and_input_error_format() -> None:
    first = Problem("a.yaml", 3, 5, "fees.x", "bad\nvalue")
    top = Problem("a.yaml", 1, 1, "", "empty")
    assert str(first) == "a.yaml:3:5: fees.x: bad value"
    assert str(top) == "a.yaml:1:1: (top): empty"
    error = InputError([first, top])
    assert str(error) == "a.yaml:3:5: fees.x: bad value\na.yaml:1:1: (top): empty"
    assert error.problems == [first, top]
    assert EXIT_BAD_INPUT == 2


# --------------------------------------------------------------------------------------------
# Malformed files
# --------------------------------------------------------------------------------------------


def test_malformed_bad_indentation() -> None:
    write("a.yaml", "fees:\n  pay_probability: 1\n storage_fee_eur_per_day: 2\n")
    assert load_problems("a.yaml") == [
        "a.yaml:3:2: (top): expected <block end>, but found '<block mapping start>' "
        "(while parsing a block mapping at line 1, column 1)"
    ]


def test_malformed_unclosed_bracket() -> None:
    write("a.yaml", "days: [1, 2\nname: x\n")
    assert load_problems("a.yaml") == [
        "a.yaml:2:5: (top): expected ',' or ']', but got ':' "
        "(while parsing a flow sequence at line 1, column 7)"
    ]


def test_unreadable_top_file() -> None:
    assert load_problems("missing.yaml") == [
        "missing.yaml:1:1: (top): cannot read file: no such file"
    ]


def test_duplicate_key_reported_at_second() -> None:
    write("a.yaml", "name: a\nfees:\n  pay_probability: 1\n  pay_probability: 0.5\n")
    assert load_problems("a.yaml") == [
        "a.yaml:4:3: fees.pay_probability: duplicate key 'pay_probability' "
        "(first written at line 3, column 3)"
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "- a\n- b\n",
            "a.yaml:1:1: (top): the top level must be a mapping of keys to values, not a list",
        ),
        (
            "just words\n",
            "a.yaml:1:1: (top): the top level must be a mapping of keys to values, "
            "not a single value (text)",
        ),
        (
            "# only a comment\n",
            "a.yaml:1:1: (top): the file is empty; expected a mapping of keys to values",
        ),
    ],
)
def test_top_level_must_be_a_mapping(text: str, line: str) -> None:
    write("a.yaml", text)
    assert load_problems("a.yaml") == [line]


def test_keys_must_be_strings() -> None:
    write("a.yaml", "name: a\n1: one\nchecks:\n  on: 2\n")
    assert load_problems("a.yaml") == [
        "a.yaml:2:1: 1: keys must be strings; got 1 (quote it: '1')",
        "a.yaml:4:3: checks.on: keys must be strings; got true (quote it: 'on')",
    ]


def test_python_tag_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    write("a.yaml", f'name: !!python/object/apply:os.system ["echo hi > {marker}"]\n')
    assert load_problems("a.yaml") == [
        "a.yaml:1:7: name: YAML tags that construct objects are not allowed "
        "(found !!python/object/apply:os.system)"
    ]
    assert not marker.exists()


@pytest.mark.parametrize("tagged", ["!custom 3", "!!python/name:os.system", "!!set {a}"])
def test_other_object_tags_are_refused(tagged: str) -> None:
    write("a.yaml", f"name: x\nfees: {tagged}\n")
    (problem,) = load_problems("a.yaml")
    assert problem.startswith("a.yaml:2:7: fees: YAML tags that construct objects are not allowed")


def test_standard_tags_are_fine() -> None:
    write("a.yaml", "a: !!str 12\nb: !!int '7'\nc: !!float 1\nd: !!bool true\ne: !!null ''\n")
    assert load_document("a.yaml").data == {"a": "12", "b": 7, "c": 1.0, "d": True, "e": None}


def test_recursive_alias_is_refused() -> None:
    write("a.yaml", "days: &d [1, *d]\n")
    assert load_problems("a.yaml") == [
        "a.yaml:1:7: days.1: recursive YAML alias (a value that contains itself)"
    ]


# --------------------------------------------------------------------------------------------
# Loading: data and positions
# --------------------------------------------------------------------------------------------


def test_positions_of_keys_values_and_items() -> None:
    doc = load_document(write("a.yaml", GOOD))
    assert doc.data == {
        "name": "base",
        "fees": {"storage_fee_eur_per_day": 20, "pay_probability": 0.5},
        "checkpoints": {"north": {"capacity": 10}},
        "days": [1, 2, 3],
    }
    assert doc.path == Path("a.yaml") and doc.chain == [Path("a.yaml")]
    assert doc.positions[("fees", "pay_probability")] == Position("a.yaml", 4, 3)
    assert doc.value_positions[("fees", "pay_probability")] == Position("a.yaml", 4, 20)
    assert doc.value_positions[("checkpoints", "north", "capacity")] == Position("a.yaml", 6, 21)
    assert doc.positions[("days", 2)] == Position("a.yaml", 7, 14)
    assert doc.positions[()] == Position("a.yaml", 1, 1)


def test_yaml12_floats_and_merge_keys() -> None:
    write(
        "a.yaml",
        "a: 1e6\nb: 2.5E-3\nc: 1.5e3\nd: '1e6'\nbase: &b {p: 1, q: 2}\ne:\n  <<: *b\n  q: 3\n",
    )
    doc = load_document("a.yaml")
    assert doc.data["a"] == 1e6 and isinstance(doc.data["a"], float)
    assert doc.data["b"] == 2.5e-3 and doc.data["c"] == 1500.0 and doc.data["d"] == "1e6"
    assert doc.data["e"] == {"p": 1, "q": 3}
    assert doc.positions[("e", "q")] == Position("a.yaml", 8, 3)
    assert doc.positions[("e", "p")] == Position("a.yaml", 5, 11)  # where the anchor wrote it
