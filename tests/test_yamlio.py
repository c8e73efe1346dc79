"""Tests for sim.scenario.yamlio: positions, extends, overrides, validation messages, dumping.

Every test runs inside its own temporary directory (``chdir``), so file names in problem lines
are short relative paths such as ``a.yaml`` and the expected lines can be written out exactly.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from sim.errors import EXIT_BAD_INPUT, InputError, Problem
from sim.scenario.yamlio import (
    Document,
    Position,
    apply_overrides,
    dump_yaml,
    load_document,
    set_value,
    validate,
)

# --------------------------------------------------------------------------------------------
# A small schema in the style of the project's scenarios
# --------------------------------------------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Fees(Strict):
    storage_fee_eur_per_day: float = Field(ge=0)
    pay_probability: float = Field(ge=0, le=1)


class Checkpoint(Strict):
    capacity: int
    mode: Literal["open", "closed"] = "open"


class Uniform(Strict):
    dist: Literal["uniform"]
    low: float
    high: float


class Lognormal(Strict):
    dist: Literal["lognormal"]
    mu: float
    sd: float


Distribution = Annotated[Uniform | Lognormal, Field(discriminator="dist")]


class Fleet(Strict):
    trucks: int = Field(ge=0)
    value_eur: Distribution | float


class Scenario(Strict):
    name: str
    fees: Fees
    fleet: Fleet | None = None
    checkpoints: dict[str, Checkpoint] = {}
    days: list[int] = []
    policy: Literal["hold", "release"] = "hold"


GOOD = """\
name: base
fees:
  storage_fee_eur_per_day: 20
  pay_probability: 0.5
checkpoints:
  north: {capacity: 10}
days: [1, 2, 3]
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def write(name: str, text: str) -> str:
    """Write dedented ``text`` to ``name`` (creating folders); return ``name``."""
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return name


def load_problems(name: str) -> list[str]:
    with pytest.raises(InputError) as info:
        load_document(name)
    return [str(problem) for problem in info.value.problems]


def validation_problems(doc: Document) -> list[str]:
    with pytest.raises(InputError) as info:
        validate(doc, Scenario)
    return [str(problem) for problem in info.value.problems]


def check(text: str, name: str = "a.yaml") -> list[str]:
    """Problems of validating ``text`` (written to ``name``) against Scenario."""
    return validation_problems(load_document(write(name, text)))


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
            "not a single value ('just words')",
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


# --------------------------------------------------------------------------------------------
# extends
# --------------------------------------------------------------------------------------------


def test_extends_merges_mappings_and_replaces_lists() -> None:
    write("base.yaml", GOOD)
    write(
        "child.yaml",
        """\
        extends: base.yaml
        name: child
        fees:
          pay_probability: 0.9
        checkpoints:
          south: {capacity: 4}
        days: [7]
        """,
    )
    doc = load_document("child.yaml")
    assert doc.data == {
        "name": "child",
        "fees": {"storage_fee_eur_per_day": 20, "pay_probability": 0.9},
        "checkpoints": {"north": {"capacity": 10}, "south": {"capacity": 4}},
        "days": [7],
    }
    assert doc.chain == [Path("child.yaml"), Path("base.yaml")]
    assert doc.positions[("fees", "storage_fee_eur_per_day")] == Position("base.yaml", 3, 3)
    assert doc.positions[("fees", "pay_probability")] == Position("child.yaml", 4, 3)
    assert doc.positions[("checkpoints", "north")] == Position("base.yaml", 6, 3)
    assert doc.positions[("days", 0)] == Position("child.yaml", 7, 8)
    assert ("days", 2) not in doc.positions  # the parent's longer list is gone
    assert ("extends",) not in doc.positions
    assert isinstance(validate(doc, Scenario), Scenario)


def test_grandparent_chain_and_inherited_positions() -> None:
    write("common/grand.yaml", GOOD)
    write("common/parent.yaml", "extends: grand.yaml\nfees:\n  pay_probability: 1.5\n")
    write("runs/child.yaml", "extends: ../common/parent.yaml\nname: child\n")
    doc = load_document("runs/child.yaml")
    assert doc.chain == [
        Path("runs/child.yaml"),
        Path("common/parent.yaml"),
        Path("common/grand.yaml"),
    ]
    assert doc.data["name"] == "child" and doc.data["days"] == [1, 2, 3]
    assert doc.positions[("days",)] == Position("common/grand.yaml", 7, 1)
    # A bad value inherited from a parent is reported in the parent file.
    assert validation_problems(doc) == [
        "common/parent.yaml:3:20: fees.pay_probability: "
        "Input should be less than or equal to 1 (got 1.5)"
    ]


def test_unknown_key_in_parent_names_the_parent_file() -> None:
    write("base.yaml", GOOD + "nmae: typo\n")
    write("child.yaml", "extends: base.yaml\n")
    assert validation_problems(load_document("child.yaml")) == [
        "base.yaml:8:1: nmae: unknown key 'nmae'; allowed keys here: "
        "name, fees, fleet, checkpoints, days, policy"
    ]


def test_missing_extends_target() -> None:
    write("sub/a.yaml", "name: x\nextends: nothere.yaml\n")
    assert load_problems("sub/a.yaml") == [
        "sub/a.yaml:2:10: extends: cannot read extended file 'sub/nothere.yaml': no such file"
    ]


def test_two_file_cycle() -> None:
    write("a.yaml", "extends: b.yaml\nname: a\n")
    write("b.yaml", "name: b\nextends: a.yaml\n")
    assert load_problems("a.yaml") == [
        "b.yaml:2:10: extends: extends cycle: a.yaml -> b.yaml -> a.yaml "
        "(a.yaml extends itself through this chain)"
    ]


def test_self_extends() -> None:
    write("a.yaml", "extends: ./a.yaml\n")
    assert load_problems("a.yaml") == [
        "a.yaml:1:10: extends: extends cycle: a.yaml -> a.yaml "
        "(a.yaml extends itself through this chain)"
    ]


def test_extends_must_be_a_string() -> None:
    write("a.yaml", "extends: [b.yaml]\n")
    assert load_problems("a.yaml") == [
        "a.yaml:1:10: extends: extends must be the path of a YAML file (a string), not a list"
    ]


def test_malformed_parent_is_reported_in_the_parent() -> None:
    write("base.yaml", "name: [x\n")
    write("child.yaml", "extends: base.yaml\n")
    (problem,) = load_problems("child.yaml")
    assert problem.startswith("base.yaml:2:1: (top): ")


# --------------------------------------------------------------------------------------------
# validate: messages and positions
# --------------------------------------------------------------------------------------------


def test_unknown_keys_with_hints_top_nested_and_in_dict_of_models() -> None:
    problems = check(
        """\
        name: x
        polcy: hold
        fees:
          storage_fee_eur_per_dya: 3
          pay_probability: 0.5
        checkpoints:
          north: {capacity: 3, mdoe: open}
        """
    )
    assert problems == [
        "a.yaml:2:1: polcy: unknown key 'polcy'; did you mean 'policy'?",
        "a.yaml:3:1: fees.storage_fee_eur_per_day: required key is missing",
        "a.yaml:4:3: fees.storage_fee_eur_per_dya: unknown key 'storage_fee_eur_per_dya'; "
        "did you mean 'storage_fee_eur_per_day'?",
        "a.yaml:7:24: checkpoints.north.mdoe: unknown key 'mdoe'; did you mean 'mode'?",
    ]


def test_errors_inside_a_tagged_union_use_data_keys() -> None:
    problems = check(
        """\
        name: x
        fees: {storage_fee_eur_per_day: 1, pay_probability: 0}
        fleet:
          trucks: 3
          value_eur: {dist: lognormal, mu: 1, sdd: 2}
        """
    )
    assert problems == [
        "a.yaml:5:3: fleet.value_eur.sd: required key is missing",
        "a.yaml:5:39: fleet.value_eur.sdd: unknown key 'sdd'; did you mean 'sd'?",
    ]


def test_union_tag_and_union_kind_messages() -> None:
    head = "name: x\nfees: {storage_fee_eur_per_day: 1, pay_probability: 0}\nfleet:\n  trucks: 1\n"
    assert check(head + "  value_eur: {dist: lognormall, mu: 1, sd: 1}\n") == [
        "a.yaml:5:21: fleet.value_eur.dist: 'lognormall' is not one of 'uniform', 'lognormal'; "
        "did you mean 'lognormal'?"
    ]
    assert check(head + "  value_eur: {mu: 1, sd: 1}\n") == [
        "a.yaml:5:3: fleet.value_eur.dist: required key is missing"
    ]
    assert check(head + "  value_eur: lots\n") == [
        "a.yaml:5:14: fleet.value_eur: expected a mapping or a number (got 'lots')"
    ]


def test_wrong_type_out_of_range_and_literal() -> None:
    problems = check(
        """\
        name: x
        policy: relase
        fees:
          storage_fee_eur_per_day: -5
          pay_probability: 1.01
        checkpoints:
          north:
            capacity: many
        days: [1, two]
        """
    )
    assert problems == [
        "a.yaml:2:9: policy: Input should be 'hold' or 'release' (got 'relase'); "
        "did you mean 'release'?",
        "a.yaml:4:28: fees.storage_fee_eur_per_day: "
        "Input should be greater than or equal to 0 (got -5)",
        "a.yaml:5:20: fees.pay_probability: Input should be less than or equal to 1 (got 1.01)",
        "a.yaml:8:15: checkpoints.north.capacity: "
        "Input should be a valid integer, unable to parse string as an integer (got 'many')",
        "a.yaml:9:11: days.1: "
        "Input should be a valid integer, unable to parse string as an integer (got 'two')",
    ]


def test_mapping_where_a_number_is_expected_is_reported_at_the_key() -> None:
    problems = check(
        "name: x\nfees:\n  storage_fee_eur_per_day:\n    amount: 3\n  pay_probability: 0\n"
    )
    assert problems == ["a.yaml:3:3: fees.storage_fee_eur_per_day: Input should be a valid number"]


def test_missing_required_keys_top_level_and_nested() -> None:
    assert check("fees:\n  pay_probability: 0.5\n") == [
        "a.yaml:1:1: name: required key is missing",
        "a.yaml:1:1: fees.storage_fee_eur_per_day: required key is missing",
    ]
    assert check(
        "\n\nname: x\nfees: {storage_fee_eur_per_day: 1, pay_probability: 0}\n"
        "checkpoints:\n  north: {mode: closed}\n"
    ) == ["a.yaml:6:3: checkpoints.north.capacity: required key is missing"]


def test_validate_passes_context_and_returns_the_model() -> None:
    doc = load_document(write("a.yaml", GOOD))
    scenario = validate(doc, Scenario, context={"anything": 1})
    assert scenario.checkpoints["north"].capacity == 10


def test_document_problem_helper() -> None:
    doc = load_document(write("a.yaml", GOOD))
    assert str(doc.problem(("fees", "pay_probability"), "too sure")) == (
        "a.yaml:4:20: fees.pay_probability: too sure"
    )
    assert str(doc.problem(("fees", "nothing"), "absent")) == "a.yaml:2:1: fees.nothing: absent"


# --------------------------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------------------------


def test_overrides_create_replace_and_parse_yaml_values() -> None:
    doc = load_document(write("a.yaml", GOOD))
    new = apply_overrides(
        doc,
        [
            "fees.pay_probability=1",
            "fleet.value_eur={dist: uniform, low: 1, high: 2}",
            "fleet.trucks=12",
            "checkpoints.north=closed-for-now",
            "days.1=5",
            "extra.flag=true",
            "extra.none=",
            "extra.ratio = 2.5e-1",
            "name=a=b",
        ],
    )
    assert new.data["fees"] == {"storage_fee_eur_per_day": 20, "pay_probability": 1}
    assert new.data["fleet"] == {
        "value_eur": {"dist": "uniform", "low": 1, "high": 2},
        "trucks": 12,
    }
    assert new.data["checkpoints"] == {"north": "closed-for-now"}
    assert new.data["days"] == [1, 5, 3]
    assert new.data["extra"] == {"flag": True, "none": None, "ratio": 0.25}
    assert new.data["name"] == "a=b"
    assert new.positions[("fleet", "value_eur", "high")] == Position("--set", 2, 1)
    assert new.positions[("fleet",)] == Position("--set", 2, 1)
    assert new.positions[("fees", "storage_fee_eur_per_day")] == Position("a.yaml", 3, 3)
    assert ("checkpoints", "north", "capacity") not in new.positions
    assert doc.data["fees"]["pay_probability"] == 0.5  # the original is untouched
    assert "fleet" not in doc.data and ("fleet",) not in doc.positions


def test_wrong_override_value_is_reported_at_its_index() -> None:
    doc = apply_overrides(
        load_document(write("a.yaml", GOOD)),
        ["name=ok", "fees.pay_probability=2", "checkpoints.north.capacity=[1]"],
    )
    assert validation_problems(doc) == [
        "--set:2:1: fees.pay_probability: Input should be less than or equal to 1 (got 2)",
        "--set:3:1: checkpoints.north.capacity: Input should be a valid integer",
    ]


def test_malformed_overrides() -> None:
    doc = load_document(write("a.yaml", GOOD))
    with pytest.raises(InputError) as info:
        apply_overrides(
            doc,
            [
                "no-equals-sign",
                "=3",
                "a..b=1",
                "name.first=x",
                "days.7=1",
                "x=!!python/object/apply:os.system [echo]",
                "y=[1,",
            ],
        )
    assert [str(problem) for problem in info.value.problems] == [
        "--set:1:1: (top): an override must look like KEY.PATH=VALUE; got 'no-equals-sign'",
        "--set:2:1: (top): an override must look like KEY.PATH=VALUE; got '=3'",
        "--set:3:1: a..b: bad key path 'a..b': empty key",
        "--set:4:1: name.first: cannot set 'name.first': 'name' is a string ('base'), "
        "not a mapping",
        "--set:5:1: days.7: 'days' has 3 items: there is no item 7",
        "--set:6:1: x: YAML tags that construct objects are not allowed "
        "(found !!python/object/apply:os.system)",
        "--set:7:1: y: cannot read the value as YAML: expected the node content, "
        "but found '<stream end>' (while parsing a flow node at line 1, column 4)",
    ]


def test_set_value_sets_plain_values() -> None:
    doc = load_document(write("a.yaml", GOOD))
    new = set_value(doc, "fees.pay_probability", 0.25, position=Position("sweep.yaml", 9, 3))
    assert new.data["fees"]["pay_probability"] == 0.25
    assert new.positions[("fees", "pay_probability")] == Position("sweep.yaml", 9, 3)
    assert doc.data["fees"]["pay_probability"] == 0.5


# --------------------------------------------------------------------------------------------
# dump_yaml
# --------------------------------------------------------------------------------------------


def test_dump_yaml_round_trips() -> None:
    data = {
        "name": "run: 1",
        "zeta": 1,
        "alpha": {"nested": {"x": 1.5, "y": None, "z": True}},
        "days": [1, 2, 3],
        "items": [{"a": 1}, {"b": [1e-7, 1e20]}],
        "text": "line one\nline two\n",
        "looks_like_numbers": ["1e6", "12", "yes", "null", "0.5"],
        "empty": [],
        "none": {},
    }
    text = dump_yaml(data, header="resolved scenario\n\nengine 0.1.0")
    assert text.startswith("# resolved scenario\n#\n# engine 0.1.0\nname: 'run: 1'\nzeta: 1\n")
    assert "days: [1, 2, 3]\n" in text
    assert "  nested:\n" in text  # block style
    doc = load_document(write("out.yaml", text))
    assert doc.data == data
    assert list(doc.data) == list(data)  # insertion order kept
