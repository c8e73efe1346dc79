"""Per design point, the share of its runs whose outcome is above (or below) a threshold.

The one definition shared by ``sim discover`` (which marks a point a case of interest when its
share reaches ``threshold_share``) and the report (which colours the points of a discovered
box the same way): a run *meets* the condition when it succeeded (no error), has a value (a
null counts as ``null_as`` when given, else the run is left out) and that value is strictly
above (below) the threshold; a point's share is over its usable runs, NaN when it has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sim.files import read_schema, read_table

Direction = Literal["above", "below"]

_ABOVE = {"above", ">", ">=", "high", "higher", "greater", "gt", "ge"}
_BELOW = {"below", "<", "<=", "low", "lower", "less", "lt", "le"}


def direction_of(direction: object) -> Direction:
    """``"above"`` or ``"below"`` for a written direction (``sim discover`` writes these;
    ``>``, ``high``, ``lt``... are read too); ValueError otherwise."""
    text = str(direction).strip().lower()
    if text in _ABOVE:
        return "above"
    if text in _BELOW:
        return "below"
    raise ValueError(f"unknown direction {direction!r}")


@dataclass(frozen=True)
class ThresholdShares:
    """The condition run by run and its share point by point.

    ``usable``, ``meets`` and ``nulls`` have one entry per run (``nulls``: successful runs
    without a value); ``runs`` (usable runs) and ``share`` one per point index.
    """

    usable: np.ndarray
    meets: np.ndarray
    nulls: np.ndarray
    runs: np.ndarray
    share: np.ndarray


def threshold_shares(
    point: np.ndarray,
    values: np.ndarray,
    ok: np.ndarray | None,
    direction: Direction,
    threshold: float,
    null_as: float | None,
    size: int,
) -> ThresholdShares:
    """The condition for each run (``point``: its point index, 0..size-1; ``values``: floats,
    NaN for a null; ``ok``: which runs succeeded, None for all) and each point's share."""
    point = np.asarray(point, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    succeeded = np.ones(values.size, dtype=bool) if ok is None else np.asarray(ok, dtype=bool)
    nulls = succeeded & np.isnan(values)
    if null_as is not None:
        values = np.where(np.isnan(values), null_as, values)
    usable = succeeded & np.isfinite(values)
    meets = (values > threshold) if direction == "above" else (values < threshold)
    meets &= usable
    size = max(size, int(point.max()) + 1 if point.size else 0)
    runs = np.bincount(point[usable], minlength=size)
    hits = np.bincount(point[usable], weights=meets[usable].astype(float), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(runs > 0, hits / np.maximum(runs, 1), np.nan)
    return ThresholdShares(usable=usable, meets=meets, nulls=nulls, runs=runs, share=share)


def float_values(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric (or boolean) column as floats, nulls as NaN."""
    if pa.types.is_boolean(column.type):
        column = pc.cast(column, pa.int8())
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=float)


def succeeded(table: pa.Table) -> np.ndarray | None:
    """Which runs of a sweep's table succeeded (a null ``error``); None without the column."""
    if "error" not in table.column_names:
        return None
    return np.asarray(pc.is_null(table.column("error")).to_numpy(zero_copy_only=False), dtype=bool)


def point_shares(
    runs: Path,
    outcome: str,
    direction: Direction,
    threshold: float,
    null_as: float | None,
    points: int,
) -> np.ndarray:
    """Per point id of a sweep's ``runs.parquet``, the share of its usable runs whose
    ``outcome`` is strictly above (below) ``threshold`` (see :func:`threshold_shares`); NaN
    for a point without a usable run, or for every point when there is no such outcome."""
    schema = read_schema(runs)
    if outcome not in schema.names:
        return np.full(points, np.nan)
    columns = ["point", outcome] + (["error"] if "error" in schema.names else [])
    table = read_table(runs, columns=columns)
    point = np.asarray(table.column("point").to_numpy(), dtype=np.int64)
    values = float_values(table.column(outcome))
    found = threshold_shares(point, values, succeeded(table), direction, threshold, null_as, points)
    return found.share
