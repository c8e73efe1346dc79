"""Running the replications of a model, in this process or in a pool, into one Arrow table.

Replication ``i`` of a run seeded ``S`` is ``model.run_replication(Streams(S, i))`` and nothing
else, so a run gives the same table, bit for bit, whatever the number of workers or executor.
Work is sent out in chunks of consecutive replications by the work engine
(:mod:`sim.runner.engine`); each chunk comes back columnar (numpy arrays and short lists) and
the chunks are put back in replication order.
"""

from __future__ import annotations

import os
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
    outcome_array,
    progress_bar,
    runs_schema,
)
from sim.runner.executors import Executor

if TYPE_CHECKING:
    import pyarrow as pa


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


def _assemble(
    chunks: list[ChunkResult],
    specs: list[OutcomeSpec],
    series_names: list[str],
    seed: int,
    replications: int,
    presentation: Presentation | None = None,
) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """Concatenate chunk results (already in replication order) into the table and series
    (the schema is :func:`sim.runner.engine.runs_schema`)."""
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
    table = pa.Table.from_arrays(columns, schema=schema)
    series: dict[str, np.ndarray] = {}
    for name in series_names:
        parts = [chunk.series[name] for chunk in chunks]
        lengths = {part.shape[1] for part in parts}
        if len(lengths) > 1:
            raise ValueError(f"series {name!r} has different lengths: {sorted(lengths)} steps")
        series[name] = np.concatenate(parts, axis=0)
    return table, series


class Session:
    """Replications of one model over one executor, run in one or more ranges of indices.

    The shared machinery of :func:`run_replications` and of adaptive runs
    (:mod:`sim.runner.adaptive`) on the work engine (:class:`sim.runner.engine.Engine`):
    checks the seed and the model's outcomes, opens the executor (or uses a given
    :class:`Executor` as is), shows one progress bar, runs ranges of replications in chunks and
    keeps their results in order; a failing replication fails the run. Used as a context
    manager: on an exception (Ctrl-C included) the executor it opened is aborted, else closed.
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
            count = workers if workers is not None else (os.cpu_count() or 1)
            if count < 1:
                raise ValueError(f"workers must be at least 1, not {count}")
            count = min(count, len(chunk_ranges(total, count)))
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
        self.started = time.perf_counter()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.engine.__exit__(exc_type, exc, tb)

    def run(self, start: int, stop: int) -> list[ChunkResult]:
        """Run replications ``start``..``stop - 1``; their chunk results, in order."""
        chunks = [
            (start + low, start + high)
            for low, high in chunk_ranges(stop - start, self.engine.workers)
        ]
        batch = list(self.engine.run_in_order(self.runner, chunks))
        self.done.extend(batch)
        return batch

    def extend_to(self, total: int) -> None:
        """Tell the progress bar the run will now go to ``total`` replications."""
        self.engine.extend_to(total)

    def output(self) -> RunOutput:
        """Everything run so far as one table and series, in replication order."""
        elapsed = time.perf_counter() - self.started
        replications = self.done[-1].stop if self.done else 0
        table, series = _assemble(
            self.done, self.specs, self.series_names, self.seed, replications, self.presentation
        )
        return RunOutput(
            table=table, series=series, elapsed_seconds=elapsed, workers=self.engine.workers
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
