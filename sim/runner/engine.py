"""The one work engine: runs of a model cut into chunks, computed over an executor.

Fixed runs, adaptive runs and sweeps all go through here. A *run* is one call of a model's
``run_replication``; runs are numbered ``0..N-1`` and cut into chunks of consecutive runs
(:func:`chunk_ranges`). For a fixed or adaptive run, run ``i`` is replication ``i`` of one
model; for a sweep, runs are numbered point-major (``run = point * replications +
replication``) and each point has its own model. Replication ``r`` always uses
``Streams(seed, r)``, so results never depend on the chunking, the executor or the workers.

- :class:`ChunkRunner` is the picklable work sent to workers: it runs a chunk, checks every
  result against the outcome specs and returns it columnar (:class:`ChunkResult`). Its failure
  policy says what a failing run does: ``"raise"`` (a :class:`ReplicationError` that fails the
  whole run, for ``sim run``) or ``"record"`` (the error is kept in the chunk's ``errors`` and
  the work goes on, for sweeps).
- :class:`Engine` opens the executor (:mod:`sim.runner.executors`), shows one progress bar on
  stderr, yields chunk results as they complete, and closes the executor, or aborts it on an
  exception or Ctrl-C.
- :func:`runs_schema` is the one Arrow schema of every ``runs.parquet`` (a run's and a
  sweep's): each outcome field carries its spec as metadata and the schema the model's
  presentation; :func:`outcome_array` makes an outcome's column from chunk results.

pyarrow is imported only where tables are made (the parent): workers never need it.
"""

from __future__ import annotations

import math
import operator
import os
import sys
import traceback
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

import numpy as np

from sim.errors import ReplicationError
from sim.model.interface import Model, OutcomeSpec, Presentation, ReplicationResult
from sim.results.metadata import field_metadata, schema_metadata
from sim.runner.executors import Executor, make_executor
from sim.seeding import Streams

if TYPE_CHECKING:
    import pyarrow as pa

C = TypeVar("C")
R = TypeVar("R")

#: Outcome kinds the engine stores.
KINDS = ("int", "float", "category")
#: Chunks per worker a balanced chunking aims for: enough to balance load, few enough to keep
#: overhead low.
CHUNKS_PER_WORKER = 6
#: Largest chunk of a balanced chunking, so progress moves and a failure is reported soon.
MAX_CHUNK_SIZE = 250
#: Progress updates a balanced chunking aims for in process.
IN_PROCESS_UPDATES = 100

#: What a failing run does: fail the whole run, or be recorded while the work goes on.
FailurePolicy = Literal["raise", "record"]


# -- chunking ----------------------------------------------------------------------------------


def chunk_ranges(total: int, workers: int = 1, *, size: int | None = None) -> list[tuple[int, int]]:
    """Split ``range(total)`` into consecutive ``(start, stop)`` chunks.

    With ``size``, chunks of ``size`` runs (the last one shorter). Without, a balanced
    chunking: with a pool, about :data:`CHUNKS_PER_WORKER` chunks per worker; in process,
    about :data:`IN_PROCESS_UPDATES` (only the progress bar sees the difference); chunks hold
    at least 1 and at most :data:`MAX_CHUNK_SIZE` runs.
    """
    if size is None:
        target = IN_PROCESS_UPDATES if workers == 1 else workers * CHUNKS_PER_WORKER
        size = min(MAX_CHUNK_SIZE, max(1, math.ceil(total / target)))
    if size < 1:
        raise ValueError(f"chunks hold at least 1 run, not {size}")
    return [(start, min(start + size, total)) for start in range(0, total, size)]


def effective_workers(workers: int | None, total: int) -> int:
    """Worker processes a run of ``total`` replications uses: ``workers`` (None: every core),
    no more than it has chunks (:func:`chunk_ranges`)."""
    count = workers if workers is not None else (os.cpu_count() or 1)
    if count < 1:
        raise ValueError(f"workers must be at least 1, not {count}")
    return min(count, len(chunk_ranges(total, count)))


@dataclass(frozen=True)
class Chunk:
    """Runs ``start``..``stop - 1`` and, in a sweep, the parameter values of their points."""

    index: int
    start: int
    stop: int
    points: Mapping[int, dict[str, Any]] = field(default_factory=dict)


@dataclass
class ChunkResult:
    """The columnar results of runs ``start`` to ``stop - 1``.

    ``values`` holds an int64 or float64 array per numeric outcome and a list of strings per
    category outcome; ``nulls`` a boolean mask per outcome (null where True); ``series`` an
    ``(runs, steps)`` array per series (when kept); ``errors`` (failure policy ``"record"``)
    the error of each run, None where it succeeded.
    """

    start: int
    stop: int
    values: dict[str, np.ndarray | list[str | None]] = field(default_factory=dict)
    nulls: dict[str, np.ndarray] = field(default_factory=dict)
    series: dict[str, np.ndarray] = field(default_factory=dict)
    errors: list[str | None] = field(default_factory=list)


# -- running a chunk -----------------------------------------------------------------------------


class PointModels(Protocol):
    """Where a sweep's runs get their model: one per design point."""

    def model_for(self, point: int, values: dict[str, Any]) -> Model | str:
        """The model of ``point`` (whose parameters are ``values``), or why there is none."""
        ...


def convert(spec: OutcomeSpec, value: Any) -> tuple[Any, bool]:
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


class _PointInvalid(Exception):
    """A sweep point with no model (its scenario is invalid): the message is the reason."""


class ChunkRunner:
    """Runs a chunk of runs; picklable, so it travels to workers.

    ``model`` runs every replication of a fixed run (run ``i`` is replication ``i``); with
    ``points`` and ``replications`` (a sweep), run ``i`` is replication ``i % replications`` of
    point ``i // replications``, whose model ``points.model_for`` gives. ``series_names`` None
    ignores the models' series (a sweep keeps none). ``failures`` is the failure policy.
    """

    def __init__(
        self,
        model: Model | None,
        seed: int,
        specs: list[OutcomeSpec],
        series_names: list[str] | None,
        *,
        points: PointModels | None = None,
        replications: int = 0,
        failures: FailurePolicy = "raise",
    ) -> None:
        if (model is None) == (points is None):
            raise ValueError("give either one model or the models of points")
        if points is not None and replications < 1:
            raise ValueError("a sweep needs its replications per point")
        self.model = model
        self.seed = seed
        self.specs = specs
        self.series_names = series_names
        self.points = points
        self.replications = replications
        self.failures = failures

    def __call__(self, chunk: tuple[int, int] | Chunk) -> ChunkResult:
        """Run the chunk's runs; a failure raises a ReplicationError or is recorded."""
        if isinstance(chunk, Chunk):
            start, stop, values_of = chunk.start, chunk.stop, chunk.points
        else:
            (start, stop), values_of = chunk, {}
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
        record = self.failures == "record"
        errors: list[str | None] = [None] * rows if record else []
        model: Model | str | None = self.model
        for row, run in enumerate(range(start, stop)):
            replication = run
            try:
                if self.points is not None:
                    point, replication = divmod(run, self.replications)
                    model = self.points.model_for(point, values_of.get(point, {}))
                if model is None or isinstance(model, str):
                    raise _PointInvalid(model or "no model")
                try:
                    result = model.run_replication(Streams(self.seed, replication))
                except Exception as exc:
                    raise ReplicationError(
                        replication, f"{type(exc).__name__}: {exc}", traceback.format_exc()
                    ) from exc
                try:
                    self._store(result, row, rows, values, nulls, series)
                except (TypeError, ValueError) as exc:
                    raise ReplicationError(replication, str(exc)) from exc
            except (ReplicationError, _PointInvalid) as exc:
                if not record:
                    raise
                errors[row] = exc.message if isinstance(exc, ReplicationError) else str(exc)
                for spec in self.specs:
                    nulls[spec.name][row] = True
        return ChunkResult(start, stop, values, nulls, series, errors)

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
        converted = []
        for spec in self.specs:
            if spec.name not in outcomes:
                raise ValueError(f"outcome {spec.name!r} is missing")
            converted.append(convert(spec, outcomes[spec.name]))
        if len(outcomes) != len(self.specs):
            declared = {spec.name for spec in self.specs}
            extra = sorted(name for name in outcomes if name not in declared)
            raise ValueError(f"undeclared outcomes: {', '.join(extra)}")
        if self.series_names is not None:
            self._store_series(result, row, rows, series)
        for spec, (value, is_null) in zip(self.specs, converted, strict=True):
            column: Any = values[spec.name]
            column[row] = value
            nulls[spec.name][row] = is_null

    def _store_series(
        self, result: ReplicationResult, row: int, rows: int, series: dict[str, np.ndarray]
    ) -> None:
        names = self.series_names or []
        if len(result.series) != len(names) or any(name not in result.series for name in names):
            raise ValueError(f"series are {sorted(result.series)}, expected {sorted(names)}")
        arrays = {}
        for name in names:
            array = np.asarray(result.series[name], dtype=np.float64)
            if array.ndim != 1:
                raise ValueError(f"series {name!r} must be one-dimensional, not {array.shape}")
            stored = series.get(name)
            if stored is not None and array.shape[0] != stored.shape[1]:
                raise ValueError(
                    f"series {name!r} has {array.shape[0]} steps, other replications have "
                    f"{stored.shape[1]}"
                )
            arrays[name] = array
        for name, array in arrays.items():
            if name not in series:
                series[name] = np.empty((rows, array.shape[0]), dtype=np.float64)
            series[name][row] = array


# -- the engine ----------------------------------------------------------------------------------

#: Makes a progress bar from ``(total, initial)``: anything with ``update(n)`` and ``close()``.
ProgressFactory = Callable[[int, int], Any]


def progress_bar(
    total: int, initial: int = 0, *, unit: str = "rep", desc: str | None = None
) -> Any:
    """A tqdm bar on stderr: runs done, rate and time left."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit=unit,
        desc=desc or None,
        file=sys.stderr,
        dynamic_ncols=True,
    )


class Engine:
    """Chunks of work over one executor, with one progress bar; a context manager.

    ``executor`` is a name (opened with ``workers`` workers on first use, see
    :func:`make_executor`; ``preload`` names modules local workers import once) or an
    :class:`Executor`, used as is and left open. ``progress`` makes the bar from ``(total,
    initial)`` (None: no bar). On leaving, an executor the engine opened is closed, or aborted
    (running work stopped) if an exception is on its way out, Ctrl-C included; the bar closes.
    """

    def __init__(
        self,
        executor: str | Executor,
        workers: int,
        *,
        total: int,
        initial: int = 0,
        progress: ProgressFactory | None = None,
        preload: Sequence[str] = (),
        scheduler: str | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.own_executor = not isinstance(executor, Executor)
        self._executor: Executor | None = executor if isinstance(executor, Executor) else None
        self._name = executor if isinstance(executor, str) else executor.name
        self._workers = workers
        self._preload = list(preload)
        self._scheduler = scheduler
        self.bar = progress(total, initial) if progress is not None else None

    @property
    def executor(self) -> Executor:
        """The executor (opened now if it is not yet)."""
        if self._executor is None:
            self._executor = make_executor(
                self._name, self._workers, preload=self._preload, scheduler=self._scheduler
            )
        return self._executor

    @property
    def workers(self) -> int:
        """How many chunks run at the same time."""
        return self.executor.workers

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            if self.own_executor and self._executor is not None:
                self._executor.close(abort=exc is not None)
                self._executor = None
        finally:
            if self.bar is not None:
                self.bar.close()

    def map(
        self, fn: Callable[[C], R], chunks: Sequence[C]
    ) -> Generator[tuple[int, R], None, None]:
        """Call ``fn`` on every chunk; yield ``(index into chunks, result)`` as they complete,
        moving the bar by the runs of each result (a :class:`ChunkResult`'s, else 1). An
        exception raised by ``fn`` is raised from here."""
        if not chunks:
            return
        with closing(self.executor.map_chunks(fn, chunks)) as completed:
            for index, result in completed:
                yield index, result
                if self.bar is not None:
                    self.bar.update(_runs_in(result))

    def extend_to(self, total: int) -> None:
        """Tell the progress bar the work now goes to ``total`` runs."""
        if self.bar is not None:
            self.bar.total = total
            refresh = getattr(self.bar, "refresh", None)
            if callable(refresh):
                refresh()


def _runs_in(result: Any) -> int:
    if isinstance(result, ChunkResult):
        return result.stop - result.start
    return 1


# -- the Arrow schema of runs.parquet ------------------------------------------------------------


def arrow_type(kind: str) -> pa.DataType:
    """The Arrow type an outcome of ``kind`` is stored as."""
    import pyarrow as pa

    types = {"int": pa.int64(), "float": pa.float64(), "category": pa.string()}
    return types[kind]


def check_specs(specs: Sequence[OutcomeSpec], reserved: Sequence[str]) -> None:
    """Refuse an unknown kind, or an outcome named like one of the table's own columns."""
    for spec in specs:
        if spec.kind not in KINDS:
            raise ValueError(f"outcome {spec.name!r} has unknown kind {spec.kind!r}")
        if spec.name in reserved:
            raise ValueError(f"outcome name {spec.name!r} is reserved")


def runs_schema(
    leading: Sequence[pa.Field],
    specs: Sequence[OutcomeSpec],
    presentation: Presentation | None = None,
    *,
    all_nullable: bool = False,
) -> pa.Schema:
    """The schema of a runs.parquet: the ``leading`` fields, then one field per outcome.

    Each outcome field carries its spec as metadata (:func:`field_metadata`) and the schema
    the model's presentation as JSON under :data:`PRESENTATION_KEY`. ``all_nullable`` makes
    every outcome field nullable (a sweep's failed runs have no outcomes).
    """
    import pyarrow as pa

    fields = [
        *leading,
        *(
            pa.field(
                spec.name,
                arrow_type(spec.kind),
                nullable=all_nullable or spec.nullable,
                metadata=field_metadata(spec),
            )
            for spec in specs
        ),
    ]
    return pa.schema(fields, metadata=schema_metadata(presentation))


def outcome_array(spec: OutcomeSpec, chunks: Sequence[ChunkResult]) -> pa.Array:
    """The column of outcome ``spec`` over ``chunks`` (in order), nulls where masked."""
    import pyarrow as pa

    kind = arrow_type(spec.kind)
    if spec.kind == "category":
        strings: list[str | None] = []
        for chunk in chunks:
            strings.extend(chunk.values[spec.name])
        return pa.array(strings, type=kind)
    mask = np.concatenate([chunk.nulls[spec.name] for chunk in chunks])
    data = np.concatenate([np.asarray(chunk.values[spec.name]) for chunk in chunks])
    return pa.array(data, type=kind, mask=mask if mask.any() else None)
