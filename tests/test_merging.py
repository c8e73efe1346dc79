"""Tests for sim.scenario.merging: ``extends`` chains and ``--set`` overrides.

Each test runs in its own temporary directory (see tests/scenario_yaml.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_yaml import GOOD, Scenario, load_problems, validation_problems, write

from sim.errors import InputError
from sim.model import load_scenario
from sim.scenario.loading import Position
from sim.scenario.merging import apply_overrides, load_document, set_value
from sim.scenario.problems import validate


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


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


BASE_WITH_FLEET = (
    GOOD
    + """\
fleet:
  trucks: 3
  value_eur: {dist: uniform, low: 1, high: 2}
"""
)


def test_a_changed_distribution_type_replaces_the_parents_mapping() -> None:
    write("base.yaml", BASE_WITH_FLEET)
    write(
        "child.yaml",
        """\
        extends: base.yaml
        fleet:
          value_eur: {dist: lognormal, mu: 1, sd: 2}
        """,
    )
    doc = load_document("child.yaml")
    assert doc.data["fleet"] == {"trucks": 3, "value_eur": {"dist": "lognormal", "mu": 1, "sd": 2}}
    assert doc.positions[("fleet", "value_eur", "dist")] == Position("child.yaml", 3, 15)
    assert ("fleet", "value_eur", "low") not in doc.positions
    assert ("fleet", "value_eur", "low") not in doc.value_positions
    assert validate(doc, Scenario).fleet is not None


def test_a_changed_distribution_type_reports_the_childs_own_errors() -> None:
    write("base.yaml", BASE_WITH_FLEET)
    write(
        "child.yaml",
        """\
        extends: base.yaml
        fleet:
          value_eur: {dist: lognormal, mu: 1, sd: x}
        """,
    )
    assert validation_problems(load_document("child.yaml")) == [
        "child.yaml:3:43: fleet.value_eur.sd: Input should be a valid number, unable to parse "
        "string as a number (got 'x')"
    ]


def test_the_same_distribution_type_or_no_dist_key_still_merges_key_by_key() -> None:
    write("base.yaml", BASE_WITH_FLEET)
    write("same.yaml", "extends: base.yaml\nfleet:\n  value_eur: {dist: uniform, high: 5}\n")
    write("bare.yaml", "extends: base.yaml\nfleet:\n  value_eur: {high: 5}\n")
    for name in ("same.yaml", "bare.yaml"):
        doc = load_document(name)
        assert doc.data["fleet"]["value_eur"] == {"dist": "uniform", "low": 1, "high": 5}
        assert doc.positions[("fleet", "value_eur", "low")] == Position("base.yaml", 10, 30)


def test_a_changed_distribution_type_in_the_standoff_scenario(tmp_path: Path) -> None:
    """The case of issue 10: triangular in the baseline, lognormal with a bad sd in the child."""
    baseline = Path(__file__).parents[1] / "scenarios" / "baseline.yaml"
    (tmp_path / "base.yaml").write_bytes(baseline.read_bytes())
    write(
        "child.yaml",
        """\
        extends: base.yaml
        name: child
        closure:
          early_end_days: {dist: lognormal, mean: 22, sd: -3}
        """,
    )
    with pytest.raises(InputError) as info:
        load_scenario("child.yaml")
    assert [str(problem) for problem in info.value.problems] == [
        "child.yaml:4:3: closure.early_end_days: lognormal needs mean > 0 and sd > 0 "
        "(got mean=22, sd=-3)"
    ]


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


def test_lists_of_keyed_entries_merge_by_key() -> None:
    """Entries that all carry `from_day` (or `name`) merge entry by entry: one changed, one
    added (in day order), the rest inherited, each keeping the position of its own file."""
    write(
        "base.yaml",
        """\
        name: base
        schedule:
          - {from_day: 0, rate: 1}
          - {from_day: 20, rate: 2, note: kept}
          - {from_day: 90, rate: 3}
        policies:
          - {name: fee-cut, day: 60}
          - {name: ask-us, day: 100}
        """,
    )
    write(
        "child.yaml",
        """\
        extends: base.yaml
        name: child
        schedule:
          - {from_day: 50, rate: 9}
          - {from_day: 20, rate: 5}
        policies:
          - {name: ask-us, day: 30}
        """,
    )
    doc = load_document("child.yaml")
    assert doc.data["schedule"] == [
        {"from_day": 0, "rate": 1},
        {"from_day": 20, "rate": 5, "note": "kept"},
        {"from_day": 50, "rate": 9},
        {"from_day": 90, "rate": 3},
    ]
    assert doc.data["policies"] == [{"name": "fee-cut", "day": 60}, {"name": "ask-us", "day": 30}]
    # Positions follow the entries to their new places.
    assert doc.value_positions[("schedule", 0, "rate")] == Position("base.yaml", 3, 25)
    assert doc.value_positions[("schedule", 1, "rate")] == Position("child.yaml", 5, 26)
    assert doc.value_positions[("schedule", 1, "note")] == Position("base.yaml", 4, 35)
    assert doc.value_positions[("schedule", 2, "rate")] == Position("child.yaml", 4, 26)
    assert doc.value_positions[("schedule", 3, "rate")] == Position("base.yaml", 5, 26)
    assert doc.value_positions[("policies", 1, "day")] == Position("child.yaml", 7, 25)
    assert ("schedule", 4) not in doc.positions


def test_lists_without_a_shared_key_are_replaced() -> None:
    """Plain lists, lists where an entry lacks the key, or repeat a key: replaced whole."""
    write("base.yaml", "name: base\nxs: [{from_day: 0}, {from_day: 5}]\nys: [{name: a}]\n")
    write(
        "child.yaml",
        "extends: base.yaml\nname: child\nxs: [{from_day: 7}, {rate: 1}]\n"
        "ys: [{name: b}, {name: b}]\n",
    )
    doc = load_document("child.yaml")
    assert doc.data["xs"] == [{"from_day": 7}, {"rate": 1}]
    assert doc.data["ys"] == [{"name": "b"}, {"name": "b"}]


def test_a_bad_merged_entry_is_reported_where_it_was_written(tmp_path: Path) -> None:
    """A merged schedule is validated as one list: a bad entry the child added is reported in
    the child's file at its line, under its index in the merged list."""
    from sim.model.registry import load_scenario as load

    baseline = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
    write("parent.yaml", f"extends: {baseline}\nname: parent\n")
    write(
        "child.yaml",
        "extends: parent.yaml\nname: child\nincidents:\n  schedule:\n"
        "    - {from_day: 100, rate_per_day: -1}\n",
    )
    with pytest.raises(InputError) as info:
        load("child.yaml")
    [problem] = info.value.problems
    assert (problem.file, problem.line) == ("child.yaml", 5)
    assert problem.path == "incidents.schedule.4.rate_per_day"
    scenario, _ = load("parent.yaml")
    days = [period.from_day for period in scenario.incidents.schedule]  # type: ignore[attr-defined]
    assert days == [0, 17, 45, 90]


def test_a_scenario_without_its_own_name_is_named_after_its_file() -> None:
    """A name only inherited through extends is not the what-if's: it would write over the
    results of the scenario it extends. The file's stem names it instead; --set still wins."""
    from sim.model.registry import load_scenario as load

    baseline = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
    write("fee 60.yaml", f"extends: {baseline}\ndetention:\n  storage_fee_eur_per_day: 60\n")
    assert load("fee 60.yaml")[0].name == "fee-60"
    assert load("fee 60.yaml", ["name=mine"])[0].name == "mine"
    write("named.yaml", f"extends: {baseline}\nname: named\n")
    assert load("named.yaml")[0].name == "named"
