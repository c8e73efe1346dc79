"""Running the replications of a model, in this process or in a pool, into one Arrow table.

Replication ``i`` of a run seeded ``S`` is ``model.run_replication(Streams(S, i))`` and nothing
else, so a run gives the same table, bit for bit, whatever the number of workers or executor.
Work is sent out in chunks of consecutive replications by the work engine
(:mod:`sim.runner.engine`); each chunk comes back columnar (numpy arrays and short lists) and
the chunks are put back in replication order.

Memory. The parent keeps the outcome columns (they are the table) and nothing per replication
beyond them: each chunk's daily series go, as the chunk arrives, to a temporary file
(:class:`sim.runner.series.SeriesStore`) and the daily bands are computed from it a block of
days at a time (:func:`sim.results.series_bands`). The bound, for the built-in model: the table
is about 280 bytes per replication (``runs.parquet`` as Arrow), held about twice at the peak
(the chunks' columns and the assembled table), so about 0.6 KB per replication; the daily
series (4 x 366 days x 8 bytes = 11.7 KB per replication, formerly held in memory) are on disk.
On top of that, a constant: the interpreter, libraries and pool (about 200-240 MiB measured),
the chunks in flight (at most a few chunks of :data:`sim.runner.engine.MAX_CHUNK_SIZE`
replications), and the bands' working block, about 3 x max(8 MiB, 8 bytes x N) (constant up
to a million replications). ``benchmarks/run_memory.py`` measures it: 2,000 -> 20,000
replications on 2 workers, the parent's peak grew by 1.5 KB per replication (21 KB before).
While the result lives the temporary folder takes the series' 11.7 KB per replication on disk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.model.interface import Model, OutcomeSpec, Presentation, presentation_of
from sim.runner.engine import (
    ChunkResult,
    ChunkRunner,
    Engine,
    check_specs,
    chunk_ranges,
    effective_workers,
    outcome_array,
    progress_bar,
    runs_schema,
)
from sim.runner.executors import Executor
from sim.runner.series import SeriesStore

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class RunOutput:
    """What a run produced.

    ``table`` has one row per replication in replication order: ``replication``, ``seed`` and
    one column per outcome spec. ``series`` maps each series name to an ``(N, days)`` float
    array, rows in replication order, loaded on demand from a temporary folder that lives as
    long as the store (:class:`SeriesStore`: ``read_days`` reads some days only; ``close()``
    removes it). ``workers`` is the number of workers actually used.
    """

    table: pa.Table
    series: SeriesStore
    elapsed_seconds: float
    workers: int


def _assemble(
    chunks: list[ChunkResult],
    specs: list[OutcomeSpec],
    seed: int,
    replications: int,
    presentation: Presentation | None = None,
) -> pa.Table:
    """Concatenate chunk results (already in replication order) into the table (the schema is
    :func:`sim.runner.engine.runs_schema`)."""
    import pyarrow as pa

    leading = [
        pa.field("replication", pa.int64(), nullable=False),
        pa.field("seed", pa.int64(), nullable=False),
    ]
    columns: list[pa.Array] = [
        pa.array(np.arange(replications, dtype=np.int64), type=pa.int64()),
        pa.array(np.full(replications, seed, dtype=np.int64), type=pa.int64()),
        *(outcome_array(spec, chunks) for spec in specs),
    ]
    schema = runs_schema(leading, specs, presentation)
    return pa.Table.from_arrays(columns, schema=schema)


class Session:
    """Replications of one model over one executor, run in one or more ranges of indices.

    The shared machinery of :func:`run_replications` and of adaptive runs
    (:mod:`sim.runner.adaptive`) on the work engine (:class:`sim.runner.engine.Engine`):
    checks the seed and the model's outcomes, opens the executor (or uses a given
    :class:`Executor` as is), shows one progress bar, runs ranges of replications in chunks and
    keeps their outcome columns in order and sends their daily series to a temporary
    :class:`SeriesStore` as each chunk arrives; a failing replication fails the run. Used as a
    context manager: on an exception (Ctrl-C included) the executor it opened is aborted, else
    closed, and the series store is removed.
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
        check_specs(self.specs, ("replication", "seed"))
        count = 1
        if not isinstance(executor, Executor):
            count = effective_workers(workers, total)
        name = getattr(model, "name", None) or None

        def bar(total: int, initial: int) -> Any:
            return progress_bar(total, initial, unit="rep", desc=name)

        self.engine = Engine(
            executor,
            count,
            total=total,
            progress=bar if progress else None,
            preload=[type(model).__module__],
            scheduler=scheduler,
        )
        self.pool = self.engine.executor
        self.presentation = presentation_of(model)
        self.runner = ChunkRunner(model, self.seed, self.specs, self.series_names)
        self.done: list[ChunkResult] = []
        self.series = SeriesStore(self.series_names)
        self.started = time.perf_counter()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            self.engine.__exit__(exc_type, exc, tb)
        finally:
            if exc_type is not None:
                self.series.close()

    def run(self, start: int, stop: int) -> list[ChunkResult]:
        """Run replications ``start``..``stop - 1``; their chunk results, in order.

        Each chunk's series go to :attr:`series` as it arrives and are dropped from its result
        (``series`` is then empty), so no more than the chunks in flight are held in memory.
        """
        chunks = [
            (start + low, start + high)
            for low, high in chunk_ranges(stop - start, self.engine.workers)
        ]
        results: list[ChunkResult | None] = [None] * len(chunks)
        for index, result in self.engine.map(self.runner, chunks):
            self.series.add(result.start, result.stop, result.series)
            result.series = {}
            results[index] = result
        batch = [result for result in results if result is not None]
        if len(batch) != len(chunks):  # pragma: no cover - an executor that lost chunks
            raise RuntimeError("the executor did not return every chunk")
        self.done.extend(batch)
        return batch

    def extend_to(self, total: int) -> None:
        """Tell the progress bar the run will now go to ``total`` replications."""
        self.engine.extend_to(total)

    def output(self) -> RunOutput:
        """Everything run so far as one table and the series store, in replication order."""
        elapsed = time.perf_counter() - self.started
        replications = self.done[-1].stop if self.done else 0
        table = _assemble(self.done, self.specs, self.seed, replications, self.presentation)
        return RunOutput(
            table=table, series=self.series, elapsed_seconds=elapsed, workers=self.engine.workers
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
