"""Tests for sim.scenario.problems: validation messages, hints and positions.

Each test runs in its own temporary directory (see tests/scenario_yaml.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_yaml import GOOD, Scenario, check, write

from sim.scenario.merging import load_document
from sim.scenario.problems import validate


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


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
