"""Running a sweep: every design point times every replication, in chunks, resumable.

Replication ``r`` of every design point uses the same streams, ``Streams(seed, r)``: points
differ only by their parameters (common random numbers), which sharpens the comparison of
points and the sensitivity indices. A run that raises is recorded with its error (and its
point's parameters) and the sweep goes on.

The runs are numbered point-major (``run = point * replications + replication``) and cut into
chunks of consecutive runs; a chunk is the unit of work sent to a worker, and the unit saved
to disk (see ``store.py``). The chunks run on the work engine (:mod:`sim.runner.engine`), with
its failure policy ``"record"``. Rows never depend on the chunking, the executor or the number
of workers.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from pydantic import BaseModel, ValidationError

from sim.fmt import duration, percent
from sim.model import build_model
from sim.model.interface import Model, OutcomeSpec, Presentation, presentation_of
from sim.runner.engine import Chunk, ChunkResult, ChunkRunner, Engine, ProgressFactory, progress_bar
from sim.runner.engine import chunk_ranges as engine_chunk_ranges
from sim.sweeps.design import Design, build_design
from sim.sweeps.spec import LoadedSweep, Output, scenario_data

#: Aim for about this much work per chunk, so per-task overhead stays small.
TARGET_CHUNK_SECONDS = 0.5
#: And at least this many chunks per worker, so the load balances and progress moves.
MIN_CHUNKS_PER_WORKER = 4
#: Rows per row group of design.parquet (bounds the memory its writing takes).
ROW_GROUP_ROWS = 16_384
#: Times the chunks that fail verification before assembly are run again, before giving up.
REPAIR_ROUNDS = 2


def point_scenario(
    base_type: type[BaseModel], base_data: dict[str, Any], values: dict[str, Any]
) -> BaseModel:
    """The scenario of one design point (raises ValidationError if the values are invalid)."""
    return base_type.model_validate(scenario_data(base_data, values))


def validation_message(error: ValidationError) -> str:
    """A one-line account of a pydantic error (for a design point that is not valid)."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        parts.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


class SweepPoints:
    """The models of a sweep's design points, built in whatever process runs them (picklable).

    The model of a point is built from the base scenario's data with the point's values set;
    the last point's model is kept, as runs come point-major. A point whose scenario is not
    valid has, instead of a model, the reason (recorded as each of its runs' error).
    """

    def __init__(
        self, base_type: type[BaseModel], base_data: dict[str, Any], source_dir: Path | None
    ) -> None:
        self.base_type = base_type
        self.base_data = base_data
        self.source_dir = source_dir
        self._cache: tuple[int, Model | str] | None = None
        self._last_model: Model | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = None
        state["_last_model"] = None
        return state

    def model_for(self, point: int, values: dict[str, Any]) -> Model | str:
        """The model of a point, or the reason its scenario is invalid (cached per point)."""
        if self._cache is not None and self._cache[0] == point:
            return self._cache[1]
        previous = self._last_model
        try:
            scenario = point_scenario(self.base_type, self.base_data, values)
            reuse = getattr(previous, "with_scenario", None)
            # A model that can be rebuilt from another scenario (a user model: its function
            # stays imported) is, instead of built from nothing at each point.
            built: Model = (
                reuse(scenario) if callable(reuse) else build_model(scenario, self.source_dir)
            )
            self._last_model = built
            model: Model | str = built
        except ValidationError as error:
            model = f"invalid scenario at this point: {validation_message(error)}"
        self._cache = (point, model)
        return model


def sweep_runner(
    base_type: type[BaseModel],
    base_data: dict[str, Any],
    source_dir: Path | None,
    seed: int,
    replications: int,
    specs: list[OutcomeSpec],
) -> ChunkRunner:
    """The work of a sweep's chunks: each point's model, failures recorded, no series."""
    return ChunkRunner(
        None,
        seed,
        specs,
        None,
        points=SweepPoints(base_type, base_data, source_dir),
        replications=replications,
        failures="record",
    )


def chunk_ranges(total_runs: int, chunk_runs: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each chunk of at most ``chunk_runs`` runs."""
    return engine_chunk_ranges(total_runs, size=chunk_runs)


class SweepChunks(Sequence[Chunk]):
    """The chunks ``indices`` of a sweep (all by default), each made when it is asked for, so
    the parent never holds every point's values at once."""

    def __init__(
        self,
        design: Design,
        replications: int,
        chunk_runs: int,
        indices: Sequence[int] | None = None,
    ) -> None:
        self.design = design
        self.replications = replications
        self.chunk_runs = chunk_runs
        self.total_runs = design.points * replications
        count = math.ceil(self.total_runs / chunk_runs)
        self.indices = list(range(count)) if indices is None else list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    @overload
    def __getitem__(self, position: int) -> Chunk: ...

    @overload
    def __getitem__(self, position: slice) -> list[Chunk]: ...

    def __getitem__(self, position: int | slice) -> Chunk | list[Chunk]:
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        index = self.indices[position]
        start = index * self.chunk_runs
        stop = min(start + self.chunk_runs, self.total_runs)
        first, last = start // self.replications, (stop - 1) // self.replications
        points = {p: self.design.values(p) for p in range(first, last + 1)}
        return Chunk(index, start, stop, points)

    def runs_of(self, index: int) -> int:
        """The number of runs of chunk ``index`` (without making it)."""
        start = index * self.chunk_runs
        return min(start + self.chunk_runs, self.total_runs) - start

    def without(self, done: set[int]) -> SweepChunks:
        """These chunks but those in ``done``."""
        indices = [index for index in self.indices if index not in done]
        return SweepChunks(self.design, self.replications, self.chunk_runs, indices)


def chunks_for(design: Design, replications: int, chunk_runs: int) -> SweepChunks:
    """Every chunk of a sweep, in order (made on demand)."""
    return SweepChunks(design, replications, chunk_runs)


def automatic_chunk_runs(seconds_per_run: float, total_runs: int, workers: int) -> int:
    """Runs per chunk: about TARGET_CHUNK_SECONDS of work, but enough chunks to share out."""
    by_time = max(1, round(TARGET_CHUNK_SECONDS / max(seconds_per_run, 1e-7)))
    by_balance = max(1, math.ceil(total_runs / (workers * MIN_CHUNKS_PER_WORKER)))
    return min(by_time, by_balance)


@dataclass
class Prepared:
    """A sweep ready to run: its design, work, outcome specs and timing probe.

    ``probe`` holds the results of the timing runs (what :meth:`assembly_seconds_per_run`
    assembles to time the assembly).
    """

    loaded: LoadedSweep
    design: Design
    worker: ChunkRunner
    specs: list[OutcomeSpec]
    seconds_per_run: float
    probe_runs: int
    presentation: Presentation = field(default_factory=Presentation)
    probe: list[ChunkResult] = field(default_factory=list, repr=False)
    #: The Python file of a user model's function (part of the resume fingerprint), if any.
    model_sources: list[Path] = field(default_factory=list)
    _assembly: float | None = field(default=None, repr=False)

    @property
    def total_runs(self) -> int:
        return self.design.points * self.loaded.spec.replications

    def assembly_seconds_per_run(self) -> float:
        """The parent's time per run to store a chunk and assemble the final folder, timed on
        copies of the probe's results (once, then remembered)."""
        if self._assembly is None:
            from sim.sweeps.assemble import time_assembly

            self._assembly = time_assembly(self, min(self.total_runs, 20_000))
        return self._assembly


def prepare(
    loaded: LoadedSweep, *, probe_seconds: float = 0.3, max_probe_runs: int = 20
) -> Prepared:
    """Build the design and the work, and time a few runs in-process."""
    from sim.sweeps.store import model_sources

    spec = loaded.spec
    design = build_design(spec)
    base = loaded.base_scenario
    base_data = base.model_dump(mode="json", by_alias=True)
    base_model = build_model(base, loaded.base_path.parent)
    specs = list(base_model.outcome_specs())
    worker = sweep_runner(
        type(base), base_data, loaded.base_path.parent, spec.seed, spec.replications, specs
    )
    # Probe up to 10 points spread over the design, so the estimate reflects the whole design
    # rather than its first corner; a few replications of each point in a row, as a sweep runs
    # them (a point's model is built once for its replications).
    spread = sorted({round(i * (design.points - 1) / 9) for i in range(10)})
    limit = min(max_probe_runs, design.points * spec.replications)
    per_point = min(spec.replications, max(1, limit // len(spread)))
    order = [(p, r) for p in spread for r in range(per_point)][:limit]
    points = {p: design.values(p) for p in spread}
    probe = []
    started = time.perf_counter()
    for point, replication in order:
        run = point * spec.replications + replication
        probe.append(worker(Chunk(-1, run, run + 1, points)))
        if time.perf_counter() - started > probe_seconds:
            break
    seconds = (time.perf_counter() - started) / max(len(probe), 1)
    return Prepared(
        loaded,
        design,
        worker,
        specs,
        seconds,
        len(probe),
        presentation_of(base_model),
        probe,
        model_sources(base_model),
    )


def describe_plan(prepared: Prepared, workers: int, chunk_runs: int) -> str:
    """What a sweep will do and how long it should take, assembly included (``--dry-run``)."""
    spec = prepared.loaded.spec
    total = prepared.total_runs
    running = prepared.seconds_per_run * total / max(workers, 1)
    assembly = prepared.assembly_seconds_per_run() * total
    return (
        f"sweep {spec.name}: method {spec.method}, {len(spec.parameters)} parameters, "
        f"{prepared.design.points:,} points x {spec.replications} replications = {total:,} runs\n"
        f"timing run: {prepared.probe_runs} runs at points spread over the design, "
        f"{prepared.seconds_per_run * 1000:.2f} ms/run; assembly "
        f"{prepared.assembly_seconds_per_run() * 1000:.3f} ms/run\n"
        f"estimate: about {duration(running + assembly)} on {workers} worker(s) "
        f"(runs {duration(running)}, assembly {duration(assembly)}), "
        f"in {math.ceil(total / chunk_runs):,} chunks of up to {chunk_runs:,} runs"
    )


def default_progress(total: int, initial: int) -> Any:
    """The sweep's progress bar on stderr (runs done, rate, time left)."""
    return progress_bar(total, initial, unit="run", desc="sweep")


def print_note(message: str) -> None:
    """A one-line note on stderr (chunks of an interrupted sweep that are run again)."""
    print(f"note: {message}", file=sys.stderr)


def cpu_count() -> int:
    return os.cpu_count() or 1


@dataclass
class SweepOutcome:
    """What a finished sweep reports (``assembly_seconds``: the time after the last run)."""

    folder: Path
    points: int
    runs: int
    failed: int
    resumed_runs: int
    elapsed_seconds: float
    workers: int
    summary: dict[str, Any]
    assembly_seconds: float = 0.0
    rerun_chunks: int = 0


def run_sweep(
    loaded: LoadedSweep,
    *,
    out: Path,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    resume: bool = False,
    progress: ProgressFactory | None = default_progress,
    command: list[str] | None = None,
    notify: Callable[[str], None] | None = print_note,
) -> SweepOutcome:
    """Run (or resume) a sweep into ``out/NAME/``, streaming runs to disk as chunks finish.

    Every saved chunk is verified (on resume before running the rest, and all of them before
    assembly; see :mod:`sim.sweeps.store`); one that fails is removed and run again, and
    ``notify`` gets one line saying how many and why.
    """
    import pyarrow.parquet as pq

    from sim import __version__
    from sim.files import PARQUET_COMPRESSION, remove_stale_siblings, temporary_sibling
    from sim.results import make_manifest, write_run_folder
    from sim.scenario import dump_yaml
    from sim.sweeps.assemble import assemble, chunk_table, design_table, sweep_runs_schema
    from sim.sweeps.sensitivity import analyze, replication_noise
    from sim.sweeps.store import ChunkLayout, WorkFolder, fingerprint

    spec = loaded.spec
    final_dir = out / spec.name
    work = WorkFolder.for_output(final_dir)
    workers = workers or cpu_count()
    started = time.perf_counter()
    prepared = prepare(loaded)
    design = prepared.design
    total = prepared.total_runs

    chunk_runs = spec.chunk_runs
    if chunk_runs is None and resume and work.exists():
        chunk_runs = work.read_fingerprint()["chunk_runs"]
    if chunk_runs is None:
        chunk_runs = automatic_chunk_runs(prepared.seconds_per_run, total, workers)
    inputs = [
        Path(loaded.document.path).resolve(),
        *loaded.base_document.chain,
        *prepared.model_sources,
    ]
    print_ = fingerprint(
        [Path(p).resolve() for p in inputs],
        {"engine_version": __version__, "chunk_runs": chunk_runs},
    )
    reopened = work.start(print_, resume=resume, sweep_file=str(loaded.document.path))
    chunks = chunks_for(design, spec.replications, chunk_runs)
    layout = ChunkLayout(total, chunk_runs, spec.replications)
    design_arrow = design_table(design)
    schema = sweep_runs_schema(design_arrow.schema, prepared.specs, prepared.presentation)

    # Run every chunk that is not done, then check them all (a resume checks first): a chunk
    # that fails its check is removed and run again, at most REPAIR_ROUNDS times.
    resumed_runs = 0
    rerun: set[int] = set()
    done: set[int] = set()
    verified = False
    if reopened:
        found = work.verify(layout, schema)
        done, verified = found.done, True
        rerun |= set(found.failed)
        resumed_runs = sum(chunks.runs_of(index) for index in done)
        said = found.describe(layout.count)
        if notify is not None and said:
            notify(f"resume: {said}")
    for round_ in range(REPAIR_ROUNDS + 1):
        todo = chunks.without(done)
        if len(todo):
            with Engine(
                executor,
                max(1, min(workers, len(todo))),
                total=total,
                initial=total - sum(chunks.runs_of(index) for index in todo.indices),
                progress=progress,
                preload=[__name__],
                scheduler=scheduler,
            ) as engine:
                for position, result in engine.map(prepared.worker, todo):
                    index = todo.indices[position]
                    table = chunk_table(
                        result, design_arrow, schema, prepared.specs, spec.seed, spec.replications
                    )
                    work.write_chunk(index, layout, table)
            verified = False
        if verified:
            break
        found = work.verify(layout, schema)  # before assembly, every chunk
        done, verified = found.done, True
        if len(done) == layout.count:
            break
        said = found.describe(layout.count)
        if notify is not None and said:
            notify(f"before assembly: {said}")
        rerun |= set(found.failed)
        if round_ == REPAIR_ROUNDS:
            raise RuntimeError(
                f"{layout.count - len(done)} chunk(s) in {work.parts} failed verification "
                f"right after they were written ({said}): is the disk "
                "failing or is another program changing the folder?"
            )
    last_run = time.perf_counter()

    numeric = [s.name for s in prepared.specs if s.kind in ("int", "float")]
    chosen = spec.output_list() or [Output(outcome=name) for name in numeric]
    outputs = [o.outcome for o in chosen]
    # A hidden sibling named with this process's id: one left by a killed sweep is removed by
    # the next write into the same place (sim.files.remove_stale_siblings), and two sweeps of
    # the same name never share it.
    remove_stale_siblings(final_dir)
    staging = temporary_sibling(final_dir, "tmp")
    staging.mkdir(parents=True)
    try:
        null_as = {o.outcome: o.null_as for o in chosen if o.null_as is not None}
        means, variances, runs, failed = assemble(
            work, layout, staging, schema, numeric, design.points, null_as
        )
        elapsed = time.perf_counter() - started
        summary = {
            "sweep": spec.name,
            "method": spec.method,
            "base": spec.base,
            "seed": spec.seed,
            "parameters": list(design.keys),
            "points": design.points,
            "replications": spec.replications,
            "runs": runs,
            "failed_runs": failed,
            "outputs": outputs,
            "null_as": null_as,
            "replication_noise": {
                k: replication_noise(means[k], variances[k], spec.replications) for k in outputs
            },
        }
        # In row groups of bounded size, so writing it needs memory flat in the points.
        pq.write_table(
            design_arrow,
            staging / "design.parquet",
            compression=PARQUET_COMPRESSION,
            row_group_size=ROW_GROUP_ROWS,
        )
        files: dict[str, Any] = {
            "design.parquet": staging / "design.parquet",
            "runs.parquet": staging / "runs.parquet",
            "points.parquet": staging / "points.parquet",
            "summary.json": summary,
            "sweep.yaml": Path(loaded.document.path).read_text(encoding="utf-8"),
            "base.resolved.yaml": dump_yaml(
                loaded.base_scenario.model_dump(mode="json", by_alias=True),
                header=f"The base scenario of sweep {spec.name}, every default filled in.",
            ),
            "manifest.json": make_manifest(command or ["sim", "sweep"], elapsed, workers, executor),
        }
        if spec.method in ("sobol", "morris"):
            files["sensitivity.json"] = analyze(
                spec, design, {k: means[k] for k in outputs}, {k: variances[k] for k in outputs}
            )
        write_run_folder(final_dir, files)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    work.remove()
    finished = time.perf_counter()
    return SweepOutcome(
        final_dir,
        design.points,
        runs,
        failed,
        resumed_runs,
        elapsed,
        workers,
        summary,
        assembly_seconds=finished - last_run,
        rerun_chunks=len(rerun),
    )


def format_sweep_summary(summary: dict[str, Any], folder: Path) -> str:
    """The sweep's headline: counts, and the top parameters of each output by its index."""
    lines = [
        f"Sweep {summary['sweep']}: {summary['method']}, {summary['points']:,} points x "
        f"{summary['replications']} replications, {summary['failed_runs']:,} failed runs"
    ]
    path = folder / "sensitivity.json"
    if path.is_file():
        indices = json.loads(path.read_text())
        key = "ST" if summary["method"] == "sobol" else "mu_star"
        for output in summary["outputs"]:
            entry = indices.get(output, {})
            noise = entry.get("replication_noise", {}).get("noise_share")
            noise_text = "" if noise is None else f" (replication noise {percent(noise, 0)})"
            if "error" in entry:
                lines.append(f"  {output}: {entry['error']}")
                continue
            ranked = sorted(entry[key].items(), key=lambda kv: -(kv[1] or 0.0))
            top = ", ".join(f"{name} {value:.2g}" for name, value in ranked[:3])
            lines.append(f"  {output}{noise_text}: {key} {top}")
    return "\n".join(lines)
