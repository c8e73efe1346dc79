"""Numbers for people: money, counts, shares, significant digits, durations, axis labels.

One module for every place ``sim`` shows a number to a person (terminal tables, the HTML
report, chart axes, error messages). The HTML report and charts use a true minus sign
(:data:`MINUS`) and an en dash for a missing value (:data:`DASH`); terminal output keeps ASCII.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable
from typing import Any

#: The minus sign of the report and the charts (U+2212).
MINUS = "\u2212"
#: A missing value in the report (an en dash).
DASH = "\u2013"

#: Units that make an outcome an amount of money (compared lower-case).
MONEY_UNITS = ("eur", "usd", "gbp", "\u20ac", "$", "\u00a3")
#: Units that make an outcome a number of days.
DAY_UNITS = ("day", "days", "d")


def _finite(value: object) -> float | None:
    """``value`` as a finite float, or None (None, NaN, infinity, not a number)."""
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def is_money(unit: str, name: str = "") -> bool:
    """Whether an outcome is an amount of money: its unit is a currency (``EUR``, ``€``), or
    starts with one (``EUR/day``), or its name ends in ``_eur``."""
    text = unit.strip().lower()
    first = re.split(r"[\s/()]+", text, maxsplit=1)[0] if text else ""
    return text in MONEY_UNITS or first in MONEY_UNITS or name.endswith("_eur")


def is_days(unit: str) -> bool:
    """Whether a unit is days (``day``, ``days``, ``d``)."""
    return unit.strip().lower() in DAY_UNITS


def count(value: int) -> str:
    """A whole number with grouped thousands: 1,537."""
    return f"{int(value):,}"


def significant(value: float | int | None, digits: int = 3, *, minus: str = MINUS) -> str:
    """Grouped thousands from 1,000 on (1,537; 45,803), else ``digits`` significant digits
    (186; 23.6; 0.42); zero is 0; None or NaN is a dash."""
    number = _finite(value)
    if number is None:
        return DASH
    if abs(number) >= 1000:
        text = f"{number:,.0f}"
    elif number == 0:
        text = "0"
    else:
        text = f"{number:.{digits}g}"
    return text.replace("-", minus)


def money(value: float | int | None, *, minus: str = MINUS) -> str:
    """An amount: 45.8 M, 1.23 bn from a million on, else whole units with grouped thousands
    (18,077); below one unit, three significant digits (0.42)."""
    number = _finite(value)
    if number is None:
        return DASH
    magnitude = abs(number)
    if magnitude >= 1e9:
        text = f"{number / 1e9:.3g} bn"
    elif magnitude >= 1e6:
        text = f"{number / 1e6:.3g} M"
    elif magnitude >= 1:
        text = f"{number:,.0f}"
    else:
        return significant(number, minus=minus)
    return text.replace("-", minus)


def number(value: float | int | None, unit: str = "", name: str = "") -> str:
    """A number for the report: money (by unit or name) with :func:`money`, others with
    :func:`significant` (three digits); None or NaN is a dash."""
    if is_money(unit, name):
        return money(value)
    return significant(value)


def share(value: float | None, *, missing: str = DASH) -> str:
    """A share in percent for the report: 22%, 100%, 0%; under 1%, one decimal (0.4%)."""
    number = _finite(value)
    if number is None:
        return missing
    if number == 0 or number >= 0.01:
        return f"{number:.0%}"
    return f"{number:.1%}"


def rounded_share(value: float | None, *, missing: str = "-") -> str:
    """A share in whole percent for the terminal (22%), a positive one under half a percent
    as ``<1%`` (so that it does not read as none)."""
    if value is None:
        return missing
    if 0 < value < 0.01 and f"{value:.0%}" == "0%":
        return "<1%"
    return f"{value:.0%}"


def percent(value: float | None, decimals: int = 1, *, missing: str = "-") -> str:
    """A share in percent with fixed decimals (22.3%) for terminal tables."""
    if value is None:
        return missing
    return f"{float(value):.{decimals}%}"


def compact(value: float) -> str:
    """A short axis label: 1.2bn, 45M, 18k, 1,500, 350, 0.25; NaN is empty."""
    if not math.isfinite(value):
        return ""
    magnitude = abs(value)
    for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e4, "k")):
        if magnitude >= size:
            return f"{value / size:.3g}{suffix}".replace("-", MINUS)
    if magnitude >= 1000:
        return f"{value:,.0f}".replace("-", MINUS)
    text = f"{value:.3g}"
    return "0" if text in ("0", "-0") else text.replace("-", MINUS)


def fixed_formatter(unit: str = "", name: str = "", kind: str = "float") -> Callable[[Any], str]:
    """How a terminal table prints one outcome's numbers (ASCII, ``-`` for None): money as whole
    units (1,250,000), days with one decimal (186.4), whole numbers of an ``int`` outcome as
    they are, others with 0, 1 or 2 decimals by size (1,537; 23.6; 0.42)."""

    def as_money(value: float) -> str:
        return f"{value:,.0f}"

    def as_days(value: float) -> str:
        return f"{value:,.1f}"

    def general(value: float) -> str:
        if kind == "int" and float(value).is_integer():
            return f"{value:,.0f}"
        magnitude = abs(value)
        if magnitude >= 1000:
            return f"{value:,.0f}"
        if magnitude >= 10:
            return f"{value:,.1f}"
        return f"{value:,.2f}"

    if is_money(unit, name):
        chosen = as_money
    elif is_days(unit):
        chosen = as_days
    else:
        chosen = general

    def format_value(value: Any) -> str:
        if value is None:
            return "-"
        return chosen(float(value))

    return format_value


def duration(seconds: float, decimals: int = 0) -> str:
    """A rough duration: 45 s, 12 min, 2.5 h (``decimals`` on seconds and minutes: 44.6 s)."""
    if seconds < 90:
        return f"{seconds:.{decimals}f} s"
    if seconds < 5400:
        return f"{seconds / 60:.{decimals}f} min"
    return f"{seconds / 3600:.1f} h"


def as_written(value: Any) -> str:
    """A number as a user wrote it: ``14900`` rather than ``14900.0``, ``0.25``; lists as
    ``[1, 2]``."""
    if isinstance(value, tuple | list):
        return "[" + ", ".join(as_written(v) for v in value) + "]"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
