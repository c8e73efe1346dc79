"""The final sweep folder, assembled from the chunk files with flat memory.

- ``design.parquet``: ``point`` and a column per varied key path;
- ``runs.parquet``: one row per point and replication: ``point``, ``replication``, ``seed``,
  the point's parameters, ``error`` (null unless the run raised), and every outcome, with the
  outcome metadata of every runs.parquet (:func:`sim.runner.engine.runs_schema`);
- ``points.parquet``: per point and outcome (long format): n, failed, mean, std, CI95, quantiles;
- ``sensitivity.json`` (sobol, morris): indices with confidence intervals per output;
- ``summary.json``: the sweep, counts (points, runs, failed runs), replication noise;
- ``sweep.yaml`` (the sweep file as run), ``base.resolved.yaml``, ``manifest.json``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sim.model.interface import OutcomeSpec, Presentation
from sim.runner.engine import ChunkResult, outcome_array, runs_schema
from sim.sweeps.design import Design
from sim.sweeps.store import POINTS_SCHEMA, QUANTILES, ChunkLayout, WorkFolder, pc_is_ok

if TYPE_CHECKING:
    from sim.sweeps.run import Prepared

#: Rows of whole points the assembly summarises at a time (bounds the parent's memory).
BATCH_ROWS = 16_384


def design_table(design: Design) -> pa.Table:
    columns = {"point": pa.array(np.arange(design.points, dtype=np.int64))}
    for key in design.keys:
        columns[key] = pa.array(design.columns[key])
    return pa.table(columns)


def sweep_runs_schema(
    design_schema: pa.Schema,
    specs: Sequence[OutcomeSpec],
    presentation: Presentation | None = None,
) -> pa.Schema:
    """The sweep's runs.parquet: ``point``, ``replication``, ``seed``, the parameters,
    ``error``, then the outcomes as in every runs.parquet (:func:`sim.runner.runs_schema`:
    the outcome specs and the model's presentation as metadata; nullable, for failed runs)."""
    leading = [
        pa.field("point", pa.int64(), nullable=False),
        pa.field("replication", pa.int64(), nullable=False),
        pa.field("seed", pa.int64(), nullable=False),
        *(design_schema.field(name) for name in design_schema.names if name != "point"),
        pa.field("error", pa.string()),
    ]
    return runs_schema(leading, specs, presentation, all_nullable=True)


def chunk_table(
    result: ChunkResult,
    design: pa.Table,
    schema: pa.Schema,
    specs: Sequence[OutcomeSpec],
    seed: int,
    replications: int,
) -> pa.Table:
    """One chunk's rows with the run seed and the points' parameters joined in."""
    point, replication = np.divmod(
        np.arange(result.start, result.stop, dtype=np.int64), replications
    )
    taken = design.take(pa.array(point))
    columns: list[Any] = [
        pa.array(point),
        pa.array(replication),
        pa.array(np.full(point.size, seed, dtype=np.int64)),
        *(taken.column(name) for name in design.column_names if name != "point"),
        pa.array(result.errors, type=pa.string()),
        *(outcome_array(spec, [result]) for spec in specs),
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _whole_points(tables: Iterator[pa.Table], replications: int) -> Iterator[pa.Table]:
    """Regroup chunk tables (point-major, from run 0) into batches of whole points."""
    pending: list[pa.Table] = []
    rows = 0
    for table in tables:
        pending.append(table)
        rows += table.num_rows
        if rows >= BATCH_ROWS:
            joined = pa.concat_tables(pending)
            whole = rows // replications * replications
            yield joined.slice(0, whole)
            rest = joined.slice(whole)
            pending, rows = ([rest], rest.num_rows) if rest.num_rows else ([], 0)
    if rows:
        yield pa.concat_tables(pending)


def _float_matrix(table: pa.Table, name: str, replications: int) -> tuple[np.ndarray, np.ndarray]:
    """An outcome as a (points, replications) float matrix (NaN for nulls) and its null mask."""
    column = table.column(name)
    nulls = column.is_null().to_numpy(zero_copy_only=False).reshape(-1, replications)
    values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).astype(float)
    values = values.reshape(-1, replications)
    return values, nulls


def assemble(
    work: WorkFolder,
    layout: ChunkLayout,
    folder: Path,
    schema: pa.Schema,
    outputs: Sequence[str],
    points: int,
    null_as: dict[str, float] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int, int]:
    """Write runs.parquet and points.parquet into ``folder`` from the chunk files (verified
    beforehand: see :meth:`WorkFolder.verify`; one that changed since is a
    :class:`~sim.sweeps.store.ChunkError`, never a raw Arrow error).

    Returns the per-point means and within-point variances of ``outputs`` for the sensitivity
    analysis (an outcome in ``null_as`` counts its nulls in successful runs as that value
    there; points.parquet always leaves nulls out), the number of runs and of failed runs.
    Chunks stream through in batches of whole points (:data:`BATCH_ROWS` rows), summarised a
    batch at a time with array operations, so memory stays flat in the number of runs.
    """
    null_as = null_as or {}
    replications = layout.replications
    means = {name: np.full(points, np.nan) for name in outputs}
    variances = {name: np.full(points, np.nan) for name in outputs}
    runs = failed = 0
    with (
        pq.ParquetWriter(folder / "runs.parquet", schema, compression="zstd") as writer,
        pq.ParquetWriter(folder / "points.parquet", POINTS_SCHEMA, compression="zstd") as stats,
    ):

        def tables() -> Iterator[pa.Table]:
            for table in work.read_chunks(layout, schema):
                writer.write_table(table)
                yield table

        for batch in _whole_points(tables(), replications):
            runs += batch.num_rows
            ok = pc_is_ok(batch).reshape(-1, replications)
            failed += int((~ok).sum())
            point_ids = batch.column("point").to_numpy()[::replications]
            stats.write_table(points_statistics(point_ids, batch, outputs, replications, ok))
            for name in outputs:
                values, nulls = _float_matrix(batch, name, replications)
                if name in null_as:
                    filled = np.where(nulls, null_as[name], values)
                    _filled_moments(filled, ok, point_ids, means[name], variances[name])
                else:
                    _moments(values, point_ids, means[name], variances[name])
    return means, variances, runs, failed


def _moments(
    values: np.ndarray, point_ids: np.ndarray, means: np.ndarray, variances: np.ndarray
) -> None:
    """Per point: the mean of the non-missing values, and their variance (``std ** 2``)."""
    present = ~np.isnan(values)
    counts = present.sum(axis=1)
    width = values.shape[1]
    full = counts == width
    if full.any():
        rows = values[full]
        means[point_ids[full]] = rows.mean(axis=1)
        if width > 1:
            variances[point_ids[full]] = rows.std(axis=1, ddof=1) ** 2
    for index in np.flatnonzero(~full):
        kept = values[index][present[index]]
        if kept.size:
            means[point_ids[index]] = float(kept.mean())
        if kept.size > 1:
            variances[point_ids[index]] = float(kept.std(ddof=1)) ** 2


def _filled_moments(
    values: np.ndarray,
    ok: np.ndarray,
    point_ids: np.ndarray,
    means: np.ndarray,
    variances: np.ndarray,
) -> None:
    """Per point: mean and variance (ddof 1) over the successful runs, nulls already filled."""
    width = values.shape[1]
    full = ok.all(axis=1)
    if full.any():
        rows = values[full]
        means[point_ids[full]] = rows.mean(axis=1)
        if width > 1:
            variances[point_ids[full]] = rows.var(axis=1, ddof=1)
    for index in np.flatnonzero(~full):
        kept = values[index][ok[index]]
        if kept.size:
            means[point_ids[index]] = float(kept.mean())
        if kept.size > 1:
            variances[point_ids[index]] = float(kept.var(ddof=1))


def points_statistics(
    point_ids: np.ndarray,
    batch: pa.Table,
    outputs: Sequence[str],
    replications: int,
    ok: np.ndarray,
) -> pa.Table:
    """Rows of points.parquet for a batch of whole points (per point, per outcome): n, failed,
    mean, std, CI95 and quantiles of the non-missing values, as :func:`point_statistics`
    computes them, with array operations over the batch."""
    from scipy import stats

    count = point_ids.size
    width = len(outputs)
    shape = (count, width)
    n = np.zeros(shape, dtype=np.int64)
    columns = {key: np.full(shape, np.nan) for key in ("mean", "std", "ci95_lo", "ci95_hi")}
    quantiles = {label: np.full(shape, np.nan) for label, _ in QUANTILES}
    levels = [q for _, q in QUANTILES]
    for column, name in enumerate(outputs):
        values, _ = _float_matrix(batch, name, replications)
        present = ~np.isnan(values)
        n[:, column] = present.sum(axis=1)
        full = n[:, column] == replications
        if full.any():
            rows = values[full]
            columns["mean"][full, column] = rows.mean(axis=1)
            if replications > 1:
                columns["std"][full, column] = rows.std(axis=1, ddof=1)
            for (label, _), row in zip(QUANTILES, np.quantile(rows, levels, axis=1), strict=True):
                quantiles[label][full, column] = row
        for index in np.flatnonzero(~full & (n[:, column] > 0)):
            kept = values[index][present[index]]
            columns["mean"][index, column] = float(kept.mean())
            if kept.size > 1:
                columns["std"][index, column] = float(kept.std(ddof=1))
            for (label, _), value in zip(QUANTILES, np.quantile(kept, levels), strict=True):
                quantiles[label][index, column] = float(value)
    spread = n > 1
    t = np.full(shape, np.nan)
    t[spread] = stats.t.ppf(0.975, n[spread] - 1)
    half = t * columns["std"] / np.sqrt(n)
    columns["ci95_lo"] = np.where(spread, columns["mean"] - half, np.nan)
    columns["ci95_hi"] = np.where(spread, columns["mean"] + half, np.nan)
    failed = np.repeat((~ok).sum(axis=1), width)
    missing = {
        "mean": n.ravel() == 0,
        "std": ~spread.ravel(),
        "ci95_lo": ~spread.ravel(),
        "ci95_hi": ~spread.ravel(),
    }
    arrays: dict[str, pa.Array] = {
        "point": pa.array(np.repeat(point_ids.astype(np.int64), width)),
        "outcome": pa.array(list(outputs) * count, type=pa.string()),
        "n": pa.array(n.ravel()),
        "failed": pa.array(failed.astype(np.int64)),
    }
    for key, mask in missing.items():
        arrays[key] = pa.array(columns[key].ravel(), mask=mask)
    for label, _ in QUANTILES:
        arrays[label] = pa.array(quantiles[label].ravel(), mask=n.ravel() == 0)
    return pa.Table.from_arrays(
        [arrays[name] for name in POINTS_SCHEMA.names], schema=POINTS_SCHEMA
    )


def time_assembly(prepared: Prepared, runs: int) -> float:
    """Seconds per run the parent spends storing chunks and assembling the final folder,
    timed on ``runs`` copies of the probe's results in a temporary folder."""
    import tempfile
    import time

    spec = prepared.loaded.spec
    replications = spec.replications
    points = max(1, runs // replications)
    rows = points * replications
    probe = prepared.probe
    if not probe:
        return 0.0
    specs = prepared.specs
    result = ChunkResult(0, rows)
    for spec_ in specs:
        if spec_.kind == "category":
            strings = [v for chunk in probe for v in chunk.values[spec_.name]]
            result.values[spec_.name] = [strings[i % len(strings)] for i in range(rows)]
        else:
            values = np.concatenate([np.asarray(chunk.values[spec_.name]) for chunk in probe])
            result.values[spec_.name] = np.resize(values, rows)
        nulls = np.concatenate([chunk.nulls[spec_.name] for chunk in probe])
        result.nulls[spec_.name] = np.resize(nulls, rows)
    errors = [e for chunk in probe for e in chunk.errors]
    result.errors = [errors[i % len(errors)] for i in range(rows)]
    design = design_table(prepared.design)
    schema = sweep_runs_schema(design.schema, specs, prepared.presentation)
    numeric = [s.name for s in specs if s.kind in ("int", "float")]
    size = 5_000
    with tempfile.TemporaryDirectory() as tmp:
        work = WorkFolder(Path(tmp) / "work")
        work.parts.mkdir(parents=True)
        final = Path(tmp) / "final"
        final.mkdir()
        layout = ChunkLayout(rows, size, replications)
        started = time.perf_counter()
        for count in range(layout.count):
            start, stop = layout.range_of(count)
            piece = ChunkResult(
                start,
                stop,
                {k: v[start:stop] for k, v in result.values.items()},
                {k: v[start:stop] for k, v in result.nulls.items()},
                errors=result.errors[start:stop],
            )
            table = chunk_table(piece, design, schema, specs, spec.seed, replications)
            work.write_chunk(count, layout, table)
        work.verify(layout, schema)  # as a sweep checks its chunks before assembling them
        assemble(work, layout, final, schema, numeric, prepared.design.points)
        return (time.perf_counter() - started) / rows
