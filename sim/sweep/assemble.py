"""The final sweep folder, assembled from the chunk files with flat memory.

- ``design.parquet``: ``point`` and a column per varied key path;
- ``runs.parquet``: one row per point and replication: ``point``, ``replication``, ``seed``,
  the point's parameters, ``error`` (null unless the run raised), and every outcome;
- ``points.parquet``: per point and outcome (long format): n, failed, mean, std, CI95, quantiles;
- ``sensitivity.json`` (sobol, morris): indices with confidence intervals per output;
- ``summary.json``: the sweep, counts (points, runs, failed runs), replication noise;
- ``sweep.yaml`` (the sweep file as run), ``base.resolved.yaml``, ``manifest.json``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.model.interface import OutcomeSpec
from sim.sweep.design import Design
from sim.sweep.store import POINTS_SCHEMA, WorkFolder, point_statistics

ARROW_TYPES = {"int": pa.int64(), "float": pa.float64(), "category": pa.string()}


def design_table(design: Design) -> pa.Table:
    columns = {"point": pa.array(np.arange(design.points, dtype=np.int64))}
    for key in design.keys:
        columns[key] = pa.array(design.columns[key])
    return pa.table(columns)


def runs_schema(design_schema: pa.Schema, specs: Sequence[OutcomeSpec]) -> pa.Schema:
    fields = [
        pa.field("point", pa.int64(), nullable=False),
        pa.field("replication", pa.int64(), nullable=False),
        pa.field("seed", pa.int64(), nullable=False),
        *(design_schema.field(name) for name in design_schema.names if name != "point"),
        pa.field("error", pa.string()),
        *(pa.field(s.name, ARROW_TYPES[s.kind]) for s in specs),
    ]
    return pa.schema(fields)


def chunk_table(result: dict[str, Any], design: pa.Table, schema: pa.Schema, seed: int) -> pa.Table:
    """One chunk's rows with the run seed and the points' parameters joined in."""
    point = np.asarray(result["point"], dtype=np.int64)
    columns: dict[str, Any] = {
        "point": point,
        "replication": np.asarray(result["replication"], dtype=np.int64),
        "seed": np.full(point.size, seed, dtype=np.int64),
    }
    taken = design.take(pa.array(point))
    for name in design.column_names:
        if name != "point":
            columns[name] = taken.column(name)
    for name in schema.names:
        if name not in columns:
            columns[name] = pa.array(result[name], type=schema.field(name).type)
    return pa.table(columns, schema=schema)


def _points_of(tables: Iterator[pa.Table]) -> Iterator[tuple[int, pa.Table]]:
    """Regroup chunk tables (point-major) into one table per point."""
    pending: list[pa.Table] = []
    current: int | None = None
    for table in tables:
        points = table.column("point").to_numpy()
        boundaries = np.flatnonzero(np.diff(points)) + 1
        starts = [0, *boundaries.tolist()]
        stops = [*boundaries.tolist(), table.num_rows]
        for start, stop in zip(starts, stops, strict=True):
            piece = table.slice(start, stop - start)
            point = int(points[start])
            if current is not None and point != current:
                yield current, pa.concat_tables(pending)
                pending = []
            current = point
            pending.append(piece)
    if current is not None:
        yield current, pa.concat_tables(pending)


def assemble(
    work: WorkFolder,
    chunk_count: int,
    folder: Path,
    schema: pa.Schema,
    outputs: Sequence[str],
    points: int,
    null_as: dict[str, float] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int, int]:
    """Write runs.parquet and points.parquet into ``folder`` from the chunk files.

    Returns the per-point means and within-point variances of ``outputs`` for the sensitivity
    analysis (an outcome in ``null_as`` counts its nulls in successful runs as that value
    there; points.parquet always leaves nulls out), the number of runs and of failed runs.
    """
    null_as = null_as or {}
    means = {name: np.full(points, np.nan) for name in outputs}
    variances = {name: np.full(points, np.nan) for name in outputs}
    runs = failed = 0
    statistics: list[dict[str, Any]] = []
    with (
        pq.ParquetWriter(folder / "runs.parquet", schema, compression="zstd") as writer,
        pq.ParquetWriter(folder / "points.parquet", POINTS_SCHEMA, compression="zstd") as stats,
    ):

        def tables() -> Iterator[pa.Table]:
            for table in work.read_chunks(chunk_count):
                writer.write_table(table)
                yield table

        for point, table in _points_of(tables()):
            runs += table.num_rows
            failed += table.num_rows - table.column("error").null_count
            rows = point_statistics(point, table, outputs)
            statistics.extend(rows)
            for row in rows:
                name = row["outcome"]
                if name in null_as:
                    ok = table.filter(pc.is_null(table.column("error")))
                    filled = pc.fill_null(ok.column(name), null_as[name]).to_numpy()
                    values = filled.astype(float)
                    if values.size:
                        means[name][point] = float(values.mean())
                    if values.size > 1:
                        variances[name][point] = float(values.var(ddof=1))
                    continue
                if row["mean"] is not None:
                    means[name][point] = row["mean"]
                if row["std"] is not None:
                    variances[name][point] = row["std"] ** 2
            if len(statistics) >= 10_000:
                stats.write_table(pa.Table.from_pylist(statistics, schema=POINTS_SCHEMA))
                statistics = []
        if statistics:
            stats.write_table(pa.Table.from_pylist(statistics, schema=POINTS_SCHEMA))
    return means, variances, runs, failed
