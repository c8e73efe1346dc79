"""``sim.fmt``: every way ``sim`` shows a number to a person, with the exact strings each caller
printed before the formatters were gathered in one module."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import fmt

MINUS = "\u2212"


@pytest.mark.parametrize(
    ("unit", "name", "money"),
    [
        ("EUR", "", True),
        (" eur ", "", True),
        ("\u20ac", "", True),
        ("EUR/day", "", True),
        ("USD per truck", "", True),
        ("", "carrier_cost_eur", True),
        ("trucks", "", False),
        ("neurons", "", False),  # a unit that merely contains "eur" is not money
        ("days", "", False),
    ],
)
def test_is_money(unit: str, name: str, money: bool) -> None:
    assert fmt.is_money(unit, name) is money


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (1537.4, 3, "1,537"),
        (186.24, 3, "186"),
        (23.64, 3, "23.6"),
        (0.4213, 3, "0.421"),
        (0.0, 3, "0"),
        (-5.91, 3, f"{MINUS}5.91"),
        (23.64, 4, "23.64"),
        (None, 3, "\u2013"),
        (math.nan, 3, "\u2013"),
    ],
)
def test_significant(value: float | None, digits: int, text: str) -> None:
    assert fmt.significant(value, digits) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (45_803_288.4, "45.8 M"),
        (1_234_000_000.0, "1.23 bn"),
        (18_077.3, "18,077"),
        (3.4, "3"),
        (0.42, "0.42"),
        (-2_500_000.0, f"{MINUS}2.5 M"),
    ],
)
def test_money(value: float, text: str) -> None:
    assert fmt.money(value) == text


def test_shares() -> None:
    assert [fmt.share(s) for s in (0.0, 0.004, 0.2234, 1.0, None)] == [
        "0%",
        "0.4%",
        "22%",
        "100%",
        "\u2013",
    ]
    assert [fmt.rounded_share(s) for s in (0.0, 0.004, 0.2234, None)] == ["0%", "<1%", "22%", "-"]
    assert [fmt.percent(s) for s in (0.2234, 0.0, None)] == ["22.3%", "0.0%", "-"]
    assert fmt.percent(0.2234, 0) == "22%"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.234e9, "1.23bn"),
        (45e6, "45M"),
        (18_000.0, "1.8k"),
        (1500.0, "1,500"),
        (350.0, "350"),
        (0.25, "0.25"),
        (-0.0, "0"),
        (-45e6, f"{MINUS}45M"),
        (math.inf, ""),
    ],
)
def test_compact(value: float, text: str) -> None:
    assert fmt.compact(value) == text


def test_fixed_formatter() -> None:
    money = fmt.fixed_formatter("EUR", "cost")
    assert money(1_250_000.5) == "1,250,000" and money(None) == "-"
    days = fmt.fixed_formatter("days")
    assert days(186.44) == "186.4"
    count = fmt.fixed_formatter("trucks", kind="int")
    assert count(12.0) == "12" and count(2.5) == "2.50"
    general = fmt.fixed_formatter()
    assert [general(v) for v in (1537.4, 23.64, 0.421)] == ["1,537", "23.6", "0.42"]


def test_duration() -> None:
    assert [fmt.duration(s) for s in (45, 600, 9000)] == ["45 s", "10 min", "2.5 h"]


def test_as_written() -> None:
    assert fmt.as_written(14900.0) == "14900"
    assert fmt.as_written(np.int64(3)) == "3"
    assert fmt.as_written(0.25) == "0.25"
    assert fmt.as_written([1.0, 2.5]) == "[1, 2.5]"


def test_count() -> None:
    assert fmt.count(1537) == "1,537"
