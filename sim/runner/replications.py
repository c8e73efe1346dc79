"""Running the replications of a model, in this process or in a pool, into one Arrow table.

Replication ``i`` of a run seeded ``S`` is ``model.run_replication(Streams(S, i))`` and nothing
else, so a run gives the same table, bit for bit, whatever the number of workers or executor.
Work is sent out in chunks of consecutive replications; each chunk comes back columnar (numpy
arrays and short lists) and the chunks are put back in replication order.
"""

from __future__ import annotations

import math
import operator
import os
import sys
import time
import traceback
from contextlib import closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from sim.model.interface import Model, OutcomeSpec, Presentation, ReplicationResult, presentation_of
from sim.results.metadata import field_metadata, schema_metadata
from sim.runner.executors import Executor, make_executor
from sim.seeding import Streams

if TYPE_CHECKING:
    import pyarrow as pa

#: Chunks per worker the runner aims for: enough to balance load, few enough to keep overhead low.
CHUNKS_PER_WORKER = 6
#: Largest chunk, so progress moves and a failure is reported reasonably soon.
MAX_CHUNK_SIZE = 250
#: Progress updates the in-process runner aims for.
IN_PROCESS_UPDATES = 100

#: Outcome kinds the runner stores. pyarrow is imported only in the parent process, where the
#: table is assembled: workers (forked from a preloaded fork server) never need it.
KINDS = ("int", "float", "category")


class ReplicationError(Exception):
    """A replication failed: ``replication`` is its index, ``message`` what went wrong.

    ``details`` holds the original traceback as text (it survives the trip from a worker).
    """

    def __init__(self, replication: int, message: str, details: str = "") -> None:
        super().__init__(replication, message, details)
        self.replication = replication
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return f"replication {self.replication} failed: {self.message}"


@dataclass
class RunOutput:
    """What a run produced.

    ``table`` has one row per replication in replication order: ``replication``, ``seed`` and
    one column per outcome spec. ``series`` maps each series name to an ``(N, days)`` float
    array, rows in replication order. ``workers`` is the number of workers actually used.
    """

    table: pa.Table
    series: dict[str, np.ndarray]
    elapsed_seconds: float
    workers: int


@dataclass
class ChunkResult:
    """The columnar results of replications ``start`` to ``stop - 1``.

    ``values`` holds an int64 or float64 array per numeric outcome and a list of strings per
    category outcome; ``nulls`` a boolean mask per outcome (null where True).
    """

    start: int
    stop: int
    values: dict[str, np.ndarray | list[str | None]] = field(default_factory=dict)
    nulls: dict[str, np.ndarray] = field(default_factory=dict)
    series: dict[str, np.ndarray] = field(default_factory=dict)


def _convert(spec: OutcomeSpec, value: Any) -> tuple[Any, bool]:
    """One outcome value as stored (int, float or str) and whether it is null.

    Raises ValueError/TypeError with a readable message when the value does not fit the spec.
    """
    if value is None:
        if not spec.nullable:
            raise ValueError(f"outcome {spec.name!r} is None but is not nullable")
        return (0 if spec.kind == "int" else math.nan if spec.kind == "float" else None), True
    if spec.kind == "float":
        if isinstance(value, str | bytes) or not isinstance(value, int | float | np.number):
            raise TypeError(f"outcome {spec.name!r} must be a float, not {type(value).__name__}")
        number = float(value)
        if spec.nullable and math.isnan(number):
            return math.nan, True
        return number, False
    if spec.kind == "int":
        if isinstance(value, float | np.floating):
            if math.isnan(value) and spec.nullable:
                return 0, True
            if not float(value).is_integer():
                raise ValueError(f"outcome {spec.name!r} must be an integer, not {value!r}")
            return int(value), False
        try:
            return operator.index(value), False
        except TypeError:
            raise TypeError(
                f"outcome {spec.name!r} must be an integer, not {type(value).__name__}"
            ) from None
    if not isinstance(value, str):
        raise TypeError(f"outcome {spec.name!r} must be a string, not {type(value).__name__}")
    if spec.categories and value not in spec.categories:
        raise ValueError(
            f"outcome {spec.name!r} is {value!r}, not one of {', '.join(spec.categories)}"
        )
    return str(value), False


class ChunkRunner:
    """Runs a chunk ``(start, stop)`` of replications; picklable, so it travels to workers."""

    def __init__(
        self, model: Model, seed: int, specs: list[OutcomeSpec], series_names: list[str]
    ) -> None:
        self.model = model
        self.seed = seed
        self.specs = specs
        self.series_names = series_names

    def __call__(self, chunk: tuple[int, int]) -> ChunkResult:
        """Run replications ``chunk[0]`` to ``chunk[1] - 1``; a failure is a ReplicationError."""
        start, stop = chunk
        rows = stop - start
        values: dict[str, np.ndarray | list[str | None]] = {}
        for spec in self.specs:
            if spec.kind == "int":
                values[spec.name] = np.zeros(rows, dtype=np.int64)
            elif spec.kind == "float":
                values[spec.name] = np.zeros(rows, dtype=np.float64)
            else:
                values[spec.name] = [None] * rows
        nulls = {spec.name: np.zeros(rows, dtype=bool) for spec in self.specs}
        series: dict[str, np.ndarray] = {}
        for row, replication in enumerate(range(start, stop)):
            try:
                result = self.model.run_replication(Streams(self.seed, replication))
            except Exception as exc:
                raise ReplicationError(
                    replication, f"{type(exc).__name__}: {exc}", traceback.format_exc()
                ) from exc
            try:
                self._store(result, row, rows, values, nulls, series)
            except (TypeError, ValueError) as exc:
                raise ReplicationError(replication, str(exc)) from exc
        return ChunkResult(start, stop, values, nulls, series)

    def _store(
        self,
        result: ReplicationResult,
        row: int,
        rows: int,
        values: dict[str, np.ndarray | list[str | None]],
        nulls: dict[str, np.ndarray],
        series: dict[str, np.ndarray],
    ) -> None:
        """Check one replication's result against the specs and store it at ``row``."""
        if not isinstance(result, ReplicationResult):
            raise TypeError(
                f"run_replication returned {type(result).__name__}, not a ReplicationResult"
            )
        outcomes = result.outcomes
        for spec in self.specs:
            if spec.name not in outcomes:
                raise ValueError(f"outcome {spec.name!r} is missing")
            value, is_null = _convert(spec, outcomes[spec.name])
            column: Any = values[spec.name]
            column[row] = value
            nulls[spec.name][row] = is_null
        if len(outcomes) != len(self.specs):
            declared = {spec.name for spec in self.specs}
            extra = sorted(name for name in outcomes if name not in declared)
            raise ValueError(f"undeclared outcomes: {', '.join(extra)}")
        if len(result.series) != len(self.series_names) or any(
            name not in result.series for name in self.series_names
        ):
            raise ValueError(
                f"series are {sorted(result.series)}, expected {sorted(self.series_names)}"
            )
        for name in self.series_names:
            array = np.asarray(result.series[name], dtype=np.float64)
            if array.ndim != 1:
                raise ValueError(f"series {name!r} must be one-dimensional, not {array.shape}")
            stored = series.get(name)
            if stored is None:
                stored = series[name] = np.empty((rows, array.shape[0]), dtype=np.float64)
            if array.shape[0] != stored.shape[1]:
                raise ValueError(
                    f"series {name!r} has {array.shape[0]} days, other replications have "
                    f"{stored.shape[1]}"
                )
            stored[row] = array


def chunk_ranges(replications: int, workers: int) -> list[tuple[int, int]]:
    """Split ``range(replications)`` into consecutive ``(start, stop)`` chunks.

    With a pool, about :data:`CHUNKS_PER_WORKER` chunks per worker; in process, about
    :data:`IN_PROCESS_UPDATES` (only the progress bar sees the difference). Chunks hold at least
    1 and at most :data:`MAX_CHUNK_SIZE` replications.
    """
    target = IN_PROCESS_UPDATES if workers == 1 else workers * CHUNKS_PER_WORKER
    size = min(MAX_CHUNK_SIZE, max(1, math.ceil(replications / target)))
    return [(start, min(start + size, replications)) for start in range(0, replications, size)]


def _assemble(
    chunks: list[ChunkResult],
    specs: list[OutcomeSpec],
    series_names: list[str],
    seed: int,
    replications: int,
    presentation: Presentation | None = None,
) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """Concatenate chunk results (already in replication order) into the table and series.

    Each outcome field carries its spec as metadata (kind, description, unit, nullable,
    categories) and the schema the model's presentation (JSON under ``sim.presentation``).
    """
    import pyarrow as pa

    arrow_types = {"int": pa.int64(), "float": pa.float64(), "category": pa.string()}
    fields = [
        pa.field("replication", pa.int64(), nullable=False),
        pa.field("seed", pa.int64(), nullable=False),
    ]
    columns: list[pa.Array] = [
        pa.array(np.arange(replications, dtype=np.int64), type=pa.int64()),
        pa.array(np.full(replications, seed, dtype=np.int64), type=pa.int64()),
    ]
    for spec in specs:
        arrow_type = arrow_types[spec.kind]
        mask = np.concatenate([chunk.nulls[spec.name] for chunk in chunks])
        if spec.kind == "category":
            strings: list[str | None] = []
            for chunk in chunks:
                strings.extend(chunk.values[spec.name])
            column = pa.array(strings, type=arrow_type)
        else:
            data = np.concatenate([np.asarray(chunk.values[spec.name]) for chunk in chunks])
            column = pa.array(data, type=arrow_type, mask=mask if mask.any() else None)
        fields.append(
            pa.field(spec.name, arrow_type, nullable=spec.nullable, metadata=field_metadata(spec))
        )
        columns.append(column)
    schema = pa.schema(fields, metadata=schema_metadata(presentation))
    table = pa.Table.from_arrays(columns, schema=schema)
    series: dict[str, np.ndarray] = {}
    for name in series_names:
        parts = [chunk.series[name] for chunk in chunks]
        lengths = {part.shape[1] for part in parts}
        if len(lengths) > 1:
            raise ValueError(f"series {name!r} has different lengths: {sorted(lengths)} days")
        series[name] = np.concatenate(parts, axis=0)
    return table, series


class Session:
    """Replications of one model over one executor, run in one or more ranges of indices.

    The shared machinery of :func:`run_replications` and of adaptive runs
    (:mod:`sim.runner.adaptive`): checks the seed and the model's outcomes, opens the executor
    (or uses a given :class:`Executor` as is), shows one progress bar, runs ranges of
    replications in chunks and keeps their results in order. Used as a context manager: on an
    exception (Ctrl-C included) the executor it opened is aborted, else closed.
    """

    def __init__(
        self,
        model: Model,
        *,
        seed: int,
        total: int,
        workers: int | None,
        progress: bool,
        executor: str | Executor,
        scheduler: str | None,
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise TypeError(f"seed must be an integer, not {type(seed).__name__}")
        if not 0 <= seed < 2**63:
            raise ValueError(f"seed must be between 0 and 2**63 - 1, not {seed}")
        if total < 1:
            raise ValueError(f"replications must be at least 1, not {total}")
        self.seed = int(seed)
        self.specs = list(model.outcome_specs())
        self.series_names = list(model.series_names())
        for spec in self.specs:
            if spec.kind not in KINDS:
                raise ValueError(f"outcome {spec.name!r} has unknown kind {spec.kind!r}")
            if spec.name in ("replication", "seed"):
                raise ValueError(f"outcome name {spec.name!r} is reserved")
        self.own_executor = not isinstance(executor, Executor)
        if isinstance(executor, Executor):
            self.pool = executor
        else:
            count = workers if workers is not None else (os.cpu_count() or 1)
            if count < 1:
                raise ValueError(f"workers must be at least 1, not {count}")
            useful = len(chunk_ranges(total, count))
            self.pool = make_executor(
                executor,
                min(count, useful),
                preload=[type(model).__module__],
                scheduler=scheduler,
            )
        self.presentation = presentation_of(model)
        self.runner = ChunkRunner(model, self.seed, self.specs, self.series_names)
        self.done: list[ChunkResult] = []
        self.bar = tqdm(
            total=total,
            unit="rep",
            desc=getattr(model, "name", None) or None,
            file=sys.stderr,
            disable=not progress,
            dynamic_ncols=True,
        )
        self.started = time.perf_counter()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            if self.own_executor:
                self.pool.close(abort=exc is not None)
        finally:
            self.bar.close()

    def run(self, start: int, stop: int) -> list[ChunkResult]:
        """Run replications ``start``..``stop - 1``; their chunk results, in order."""
        chunks = [
            (start + low, start + high)
            for low, high in chunk_ranges(stop - start, self.pool.workers)
        ]
        results: list[ChunkResult | None] = [None] * len(chunks)
        with closing(self.pool.map_chunks(self.runner, chunks)) as completed:
            for index, result in completed:
                results[index] = result
                self.bar.update(result.stop - result.start)
        batch = [result for result in results if result is not None]
        if len(batch) != len(chunks):  # pragma: no cover - an executor that lost chunks
            raise RuntimeError("the executor did not return every chunk")
        self.done.extend(batch)
        return batch

    def extend_to(self, total: int) -> None:
        """Tell the progress bar the run will now go to ``total`` replications."""
        self.bar.total = total
        self.bar.refresh()

    def output(self) -> RunOutput:
        """Everything run so far as one table and series, in replication order."""
        elapsed = time.perf_counter() - self.started
        replications = self.done[-1].stop if self.done else 0
        table, series = _assemble(
            self.done, self.specs, self.series_names, self.seed, replications, self.presentation
        )
        return RunOutput(
            table=table, series=series, elapsed_seconds=elapsed, workers=self.pool.workers
        )


def run_replications(
    model: Model,
    *,
    seed: int,
    replications: int,
    workers: int | None = None,
    progress: bool = True,
    executor: str | Executor = "local",
    scheduler: str | None = None,
) -> RunOutput:
    """Run ``replications`` replications of ``model`` from ``seed``.

    ``workers`` None means ``os.cpu_count()``; 1 runs in this process. ``executor`` is an
    executor name (``"local"``, or ``"dask"``: a local Dask cluster of ``workers`` processes,
    or the cluster whose scheduler is at ``scheduler``, see :func:`make_executor`) or an
    :class:`Executor` instance, which is then used as is (``workers`` ignored) and left open
    for the caller to reuse. ``progress`` shows a tqdm bar on stderr. A failing replication
    raises :class:`ReplicationError`; Ctrl-C cancels the remaining work, stops the workers and
    re-raises KeyboardInterrupt.
    """
    with Session(
        model,
        seed=seed,
        total=replications,
        workers=workers,
        progress=progress,
        executor=executor,
        scheduler=scheduler,
    ) as session:
        session.run(0, replications)
        return session.output()
