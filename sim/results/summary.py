"""Summaries of a run: ``summary.json``, the daily bands of ``timeseries.parquet``, and a table.

All statistics are computed from ``runs.parquet``'s table and the outcome specs, so anything
that can read a run folder can recompute them.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from sim.fmt import fixed_formatter, percent, share
from sim.model.interface import OutcomeSpec
from sim.results.survival import is_event_day, survival_summary, valid_horizon

#: The quantiles reported for every numeric outcome and every series day, with their keys.
QUANTILES: tuple[tuple[str, float], ...] = (
    ("p05", 0.05),
    ("p25", 0.25),
    ("p50", 0.50),
    ("p75", 0.75),
    ("p95", 0.95),
)

_METRIC_KEYS = ("mean", "std", "ci95", *(key for key, _ in QUANTILES), "min", "max", "n")


def _number(value: float | np.floating | None) -> float | None:
    """A JSON-safe float: None for a missing, NaN or infinite value."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def numeric_metrics(values: np.ndarray, *, integer: bool = False) -> dict[str, Any]:
    """Mean, std (ddof=1), 95% t-interval of the mean, quantiles, min, max and n of ``values``.

    NaNs are left out. With no values every number is None; with one, ``std`` and ``ci95`` are.
    ``integer`` reports ``min`` and ``max`` as ints.
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    n = int(values.size)
    if n == 0:
        empty: dict[str, Any] = {key: None for key in _METRIC_KEYS}
        empty["ci95"] = [None, None]
        empty["n"] = 0
        return empty
    mean = float(np.mean(values))
    std: float | None = None
    ci95: list[float | None] = [None, None]
    if n > 1:
        std = float(np.std(values, ddof=1))
        half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
        ci95 = [_number(mean - half), _number(mean + half)]
    quantiles = np.quantile(values, [q for _, q in QUANTILES])
    lowest, highest = float(np.min(values)), float(np.max(values))
    metrics: dict[str, Any] = {"mean": _number(mean), "std": _number(std), "ci95": ci95}
    for (key, _), quantile in zip(QUANTILES, quantiles, strict=True):
        metrics[key] = _number(quantile)
    metrics["min"] = int(lowest) if integer and math.isfinite(lowest) else _number(lowest)
    metrics["max"] = int(highest) if integer and math.isfinite(highest) else _number(highest)
    metrics["n"] = n
    return metrics


def category_shares(
    values: Sequence[str | None], categories: Sequence[str]
) -> dict[str, float | None]:
    """The share of each category among the non-null ``values``.

    Every declared category is present (0.0 if never seen); values outside them follow, sorted.
    The shares sum to 1; with no values at all, every share is None.
    """
    counts = Counter(value for value in values if value is not None)
    total = sum(counts.values())
    names = list(categories) + sorted(name for name in counts if name not in categories)
    if total == 0:
        return {name: None for name in names}
    return {name: counts.get(name, 0) / total for name in names}


def summarize(
    table: pa.Table,
    specs: Sequence[OutcomeSpec],
    *,
    scenario: str,
    seed: int,
    horizon: float | None = None,
) -> dict[str, Any]:
    """The content of ``summary.json`` for a run's table.

    ``metrics`` has an entry for every int and float outcome (nulls left out; ``null_share``
    added for nullable outcomes), ``categories`` one for every category outcome. With a
    ``horizon`` (the day the replications stop: :func:`sim.model.interface.horizon_of`), each
    event day (a nullable outcome in unit ``day``) also gets ``survival``: its Kaplan-Meier
    median, restricted mean time to the horizon, the horizon and the share of runs where the
    event happened (:mod:`sim.results.survival`). Without one there is nothing to censor at,
    and no ``survival``.
    """
    horizon = valid_horizon(horizon)
    rows = table.num_rows
    metrics: dict[str, Any] = {}
    categories: dict[str, Any] = {}
    for spec in specs:
        column = table.column(spec.name)
        if spec.kind == "category":
            categories[spec.name] = category_shares(column.to_pylist(), spec.categories)
            continue
        values = column.drop_null().to_numpy().astype(np.float64, copy=False)
        entry = numeric_metrics(values, integer=spec.kind == "int")
        if spec.nullable:
            entry["null_share"] = column.null_count / rows if rows else None
        if horizon is not None and is_event_day(spec):
            days = pc.fill_null(column.cast(pa.float64()), math.nan).to_numpy()
            entry["survival"] = survival_summary(np.asarray(days, dtype=np.float64), horizon)
        metrics[spec.name] = entry
    return {
        "scenario": scenario,
        "replications": rows,
        "seed": seed,
        "metrics": metrics,
        "categories": categories,
    }


_BANDS_SCHEMA = pa.schema(
    [
        pa.field("day", pa.int64()),
        pa.field("series", pa.string()),
        pa.field("mean", pa.float64()),
        *(pa.field(key, pa.float64()) for key, _ in QUANTILES),
    ]
)


#: Bytes of series values :func:`series_bands` reads at once from a day-block source (a block of
#: days of every replication; at least one day).
BAND_BLOCK_BYTES = 8 * 1024 * 1024


@runtime_checkable
class DayBlocks(Protocol):
    """Series read a block of days at a time (:class:`sim.runner.series.SeriesStore`)."""

    def shape(self, name: str) -> tuple[int, int]:
        """``(replications, days)``."""
        ...

    def has_nan(self, name: str) -> bool:
        """Whether any value is NaN."""
        ...

    def read_days(self, name: str, first: int, stop: int) -> np.ndarray:
        """Days ``first..stop-1`` of every replication, a C-contiguous ``(N, days)`` array."""
        ...


def _day_bands(data: np.ndarray, nan: bool, levels: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and quantiles over axis 0 of a ``(replications, days)`` block."""
    if data.shape[0] == 0:
        days = data.shape[1]
        return np.full(days, np.nan), np.full((len(levels), days), np.nan)
    if nan:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(data, axis=0), np.nanquantile(data, levels, axis=0)
    return np.mean(data, axis=0), np.quantile(data, levels, axis=0)


def _day_blocks(days: int, rows: int, block_bytes: int) -> list[tuple[int, int]]:
    """``(first, stop)`` day blocks of about ``block_bytes`` of ``rows`` values each.

    No block is a single day unless the series is (numpy sums one column pairwise but several
    columns row after row, as the whole array is summed: one-day blocks would change the
    means' last bits).
    """
    if days <= 1:
        return [(0, days)] if days else []
    width = max(2, block_bytes // max(1, 8 * rows))
    blocks = [(first, min(days, first + width)) for first in range(0, days, width)]
    if len(blocks) > 1 and blocks[-1][1] - blocks[-1][0] == 1:
        blocks[-2:] = [(blocks[-2][0], days)]
    return blocks


def series_bands(
    series: Mapping[str, np.ndarray], *, block_bytes: int = BAND_BLOCK_BYTES
) -> pa.Table:
    """Daily bands of each series, long format: one row per series and day.

    Columns ``day``, ``series``, ``mean``, ``p05``, ``p25``, ``p50``, ``p75``, ``p95``. Each
    array is ``(replications, days)``; NaNs are left out of a day's statistics. When
    ``series`` can be read a block of days at a time (:class:`DayBlocks`, as a run's
    :class:`sim.runner.series.SeriesStore`), it is, about ``block_bytes`` of values at a time
    (at least one day), so the bands need memory for one block and not for ``N x days``
    values; the numbers are the same, bit for bit (each day's statistics only see that day).
    """
    columns: dict[str, list[np.ndarray]] = {name: [] for name in _BANDS_SCHEMA.names}
    levels = [q for _, q in QUANTILES]
    blocks = isinstance(series, DayBlocks)
    for name in series:
        if blocks:
            source: Any = series
            rows, days = source.shape(name)
            nan = bool(source.has_nan(name))
            means, parts = [], []
            for first, stop in _day_blocks(days, rows, block_bytes):
                mean, quantiles = _day_bands(source.read_days(name, first, stop), nan, levels)
                means.append(mean)
                parts.append(quantiles)
            mean = np.concatenate(means) if means else np.full(0, np.nan)
            quantiles = (
                np.concatenate(parts, axis=1) if parts else np.full((len(levels), 0), np.nan)
            )
        else:
            data = np.asarray(series[name], dtype=np.float64)
            if data.ndim != 2:
                raise ValueError(f"series {name!r} must be (replications, days), not {data.shape}")
            days = data.shape[1]
            mean, quantiles = _day_bands(data, bool(np.isnan(data).any()), levels)
        columns["day"].append(np.arange(days, dtype=np.int64))
        columns["series"].append(np.full(days, name, dtype=object))
        columns["mean"].append(mean)
        for (key, _), row in zip(QUANTILES, quantiles, strict=True):
            columns[key].append(row)
    arrays = [
        pa.array(np.concatenate(parts) if parts else [], type=field.type)
        for field, parts in zip(_BANDS_SCHEMA, columns.values(), strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=_BANDS_SCHEMA)


def render_table(rows: list[list[str]], right: set[int]) -> list[str]:
    """Fixed-width lines: columns padded to their widest cell, ``right`` ones right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _survival_lines(metrics: dict[str, dict[str, Any]], specs: Sequence[OutcomeSpec]) -> list[str]:
    """The times to an event (entries with ``survival``): share of runs where it happened,
    Kaplan-Meier median and restricted mean, censored at the horizon."""
    rows = [["  outcome", "happened", "KM median", "restricted mean", "horizon", "unit"]]
    for spec in specs:
        survival = (metrics.get(spec.name) or {}).get("survival")
        if not isinstance(survival, dict):
            continue
        fmt = fixed_formatter(spec.unit, spec.name, spec.kind)
        median = survival.get("median")
        rows.append(
            [
                "  " + spec.name,
                percent(survival.get("event_share")),
                "not reached" if median is None else fmt(median),
                fmt(survival.get("rmst")),
                fmt(survival.get("horizon")),
                spec.unit,
            ]
        )
    if len(rows) == 1:
        return []
    heading = (
        "Times to an event, censored at the horizon (Kaplan-Meier median; restricted mean "
        "counting a run without the event as the horizon)"
    )
    return ["", heading, *render_table(rows, right={1, 2, 3, 4})]


def format_summary_table(summary: dict[str, Any], specs: Sequence[OutcomeSpec]) -> str:
    """A fixed-width table of a summary for the terminal (plain text, no colours).

    One row per numeric outcome (mean, 95% CI, p05, p50, p95 and unit; for a nullable outcome
    over the runs where it has a value), then the times to an event with a ``survival`` entry
    (Kaplan-Meier median, restricted mean, share of runs where it happened), then the share of
    each category of each category outcome.
    """
    metrics: dict[str, dict[str, Any]] = summary.get("metrics", {})
    categories: dict[str, dict[str, Any]] = summary.get("categories", {})
    replications = summary.get("replications")
    header = f"Scenario {summary.get('scenario')!s}: "
    if isinstance(replications, int):
        header += f"{replications:,} replications"
    else:
        header += "? replications"
    header += f", seed {summary.get('seed')}"
    lines = [header, ""]

    rows = [["outcome", "mean", "95% CI", "p05", "p50", "p95", "unit"]]
    for spec in specs:
        entry = metrics.get(spec.name)
        if spec.kind == "category" or entry is None:
            continue
        fmt = fixed_formatter(spec.unit, spec.name, spec.kind)
        low, high = entry.get("ci95") or [None, None]
        ci = "-" if low is None or high is None else f"[{fmt(low)}, {fmt(high)}]"
        label = spec.name
        null_share = entry.get("null_share")
        if isinstance(null_share, float) and null_share > 0:
            label += f" ({share(null_share)} null)"
        rows.append(
            [
                label,
                fmt(entry.get("mean")),
                ci,
                fmt(entry.get("p05")),
                fmt(entry.get("p50")),
                fmt(entry.get("p95")),
                spec.unit,
            ]
        )
    if len(rows) > 1:
        lines.extend(render_table(rows, right={1, 2, 3, 4, 5}))
    lines.extend(_survival_lines(metrics, specs))

    for spec in specs:
        shares = categories.get(spec.name)
        if spec.kind != "category" or shares is None:
            continue
        lines.append("")
        lines.append(f"{spec.name} (share of replications)")
        share_rows = [["  " + str(value), percent(share)] for value, share in shares.items()]
        if share_rows:
            lines.extend(render_table(share_rows, right={1}))
    return "\n".join(lines) + "\n"
