"""Running a sweep: every design point times every replication, in chunks, resumable.

Replication ``r`` of every design point uses the same streams, ``Streams(seed, r)``: points
differ only by their parameters (common random numbers), which sharpens the comparison of
points and the sensitivity indices. A run that raises is recorded with its error (and its
point's parameters) and the sweep goes on.

The runs are numbered point-major (``run = point * replications + replication``) and cut into
chunks of consecutive runs; a chunk is the unit of work sent to a worker, and the unit saved
to disk (see ``store.py``). Rows never depend on the chunking, the executor or the number of
workers.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.fmt import duration, percent
from sim.model import build_model
from sim.model.interface import Model, OutcomeSpec
from sim.seeding import Streams
from sim.sweep.design import Design, build_design
from sim.sweep.spec import LoadedSweep, Output, scenario_data

#: Aim for about this much work per chunk, so per-task overhead stays small.
TARGET_CHUNK_SECONDS = 0.5
#: And at least this many chunks per worker, so the load balances and progress moves.
MIN_CHUNKS_PER_WORKER = 4


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


@dataclass(frozen=True)
class Chunk:
    """Runs ``start``..``stop - 1`` (point-major numbering) and the values of their points."""

    index: int
    start: int
    stop: int
    points: dict[int, dict[str, Any]]


@dataclass
class SweepWorker:
    """Runs the chunks of a sweep (a picklable callable sent to the executor's workers)."""

    base_type: type[BaseModel]
    base_data: dict[str, Any]
    source_dir: Path | None
    seed: int
    replications: int
    specs: list[OutcomeSpec]
    _cache: tuple[int, Model | str] | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = None
        return state

    def model_for(self, point: int, values: dict[str, Any]) -> Model | str:
        """The model of a point, or the reason its scenario is invalid (cached per point)."""
        if self._cache is not None and self._cache[0] == point:
            return self._cache[1]
        try:
            scenario = point_scenario(self.base_type, self.base_data, values)
            model: Model | str = build_model(scenario, self.source_dir)
        except ValidationError as error:
            model = f"invalid scenario at this point: {validation_message(error)}"
        self._cache = (point, model)
        return model

    def __call__(self, chunk: Chunk) -> dict[str, Any]:
        """Columnar results of the chunk's runs: point, replication, error, and each outcome."""
        names = [s.name for s in self.specs]
        columns: dict[str, list[Any]] = {name: [] for name in names}
        points: list[int] = []
        replications: list[int] = []
        errors: list[str | None] = []
        for run in range(chunk.start, chunk.stop):
            point, replication = divmod(run, self.replications)
            points.append(point)
            replications.append(replication)
            model = self.model_for(point, chunk.points[point])
            outcomes: dict[str, Any] | None = None
            error: str | None = None
            if isinstance(model, str):
                error = model
            else:
                try:
                    outcomes = model.run_replication(Streams(self.seed, replication)).outcomes
                except Exception as exc:  # recorded, and the sweep goes on
                    error = f"{type(exc).__name__}: {exc}"
            errors.append(error)
            for name in names:
                columns[name].append(None if outcomes is None else outcomes.get(name))
        return {"point": points, "replication": replications, "error": errors, **columns}


def chunk_ranges(total_runs: int, chunk_runs: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each chunk of at most ``chunk_runs`` runs."""
    return [(s, min(s + chunk_runs, total_runs)) for s in range(0, total_runs, chunk_runs)]


def chunks_for(design: Design, replications: int, chunk_runs: int) -> list[Chunk]:
    chunks = []
    for index, (start, stop) in enumerate(chunk_ranges(design.points * replications, chunk_runs)):
        first, last = start // replications, (stop - 1) // replications
        points = {p: design.values(p) for p in range(first, last + 1)}
        chunks.append(Chunk(index, start, stop, points))
    return chunks


def automatic_chunk_runs(seconds_per_run: float, total_runs: int, workers: int) -> int:
    """Runs per chunk: about TARGET_CHUNK_SECONDS of work, but enough chunks to share out."""
    by_time = max(1, round(TARGET_CHUNK_SECONDS / max(seconds_per_run, 1e-7)))
    by_balance = max(1, math.ceil(total_runs / (workers * MIN_CHUNKS_PER_WORKER)))
    return min(by_time, by_balance)


@dataclass
class Prepared:
    """A sweep ready to run: its design, worker, outcome specs and timing probe."""

    loaded: LoadedSweep
    design: Design
    worker: SweepWorker
    specs: list[OutcomeSpec]
    seconds_per_run: float
    probe_runs: int

    @property
    def total_runs(self) -> int:
        return self.design.points * self.loaded.spec.replications


def prepare(
    loaded: LoadedSweep, *, probe_seconds: float = 0.3, max_probe_runs: int = 20
) -> Prepared:
    """Build the design and the worker, and time a few runs in-process."""
    spec = loaded.spec
    design = build_design(spec)
    base = loaded.base_scenario
    base_data = base.model_dump(mode="json", by_alias=True)
    base_model = build_model(base, loaded.base_path.parent)
    specs = list(base_model.outcome_specs())
    worker = SweepWorker(
        type(base), base_data, loaded.base_path.parent, spec.seed, spec.replications, specs
    )
    # Probe up to 10 points spread over the design, one replication of each in turn, so the
    # estimate reflects the whole design rather than its first corner.
    spread = sorted({round(i * (design.points - 1) / 9) for i in range(10)})
    limit = min(max_probe_runs, design.points * spec.replications)
    order = [(p, r) for r in range(spec.replications) for p in spread][:limit]
    points = {p: design.values(p) for p in spread}
    runs = 0
    started = time.perf_counter()
    for point, replication in order:
        run = point * spec.replications + replication
        worker(Chunk(-1, run, run + 1, points))
        runs += 1
        if time.perf_counter() - started > probe_seconds:
            break
    seconds = (time.perf_counter() - started) / max(runs, 1)
    return Prepared(loaded, design, worker, specs, seconds, runs)


def describe_plan(prepared: Prepared, workers: int, chunk_runs: int) -> str:
    """What a sweep will do and how long it should take (``--dry-run``)."""
    spec = prepared.loaded.spec
    total = prepared.total_runs
    estimate = prepared.seconds_per_run * total / max(workers, 1)
    return (
        f"sweep {spec.name}: method {spec.method}, {len(spec.parameters)} parameters, "
        f"{prepared.design.points:,} points x {spec.replications} replications = {total:,} runs\n"
        f"timing run: {prepared.probe_runs} runs at points spread over the design, "
        f"{prepared.seconds_per_run * 1000:.2f} ms/run\n"
        f"estimate: about {duration(estimate)} on {workers} worker(s), "
        f"in {math.ceil(total / chunk_runs):,} chunks of up to {chunk_runs:,} runs"
    )


ProgressFactory = Callable[[int, int], Any]


def default_progress(total: int, initial: int) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="run",
        file=sys.stderr,
        dynamic_ncols=True,
        desc="sweep",
    )


def cpu_count() -> int:
    return os.cpu_count() or 1


@dataclass
class SweepOutcome:
    """What a finished sweep reports."""

    folder: Path
    points: int
    runs: int
    failed: int
    resumed_runs: int
    elapsed_seconds: float
    workers: int
    summary: dict[str, Any]


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
) -> SweepOutcome:
    """Run (or resume) a sweep into ``out/NAME/``, streaming runs to disk as chunks finish."""
    from sim import __version__
    from sim.results import make_manifest, write_run_folder
    from sim.runner import make_executor
    from sim.scenario import dump_yaml
    from sim.sweep.assemble import assemble, chunk_table, design_table, runs_schema
    from sim.sweep.sensitivity import analyze, replication_noise
    from sim.sweep.store import WorkFolder, fingerprint

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
        chunk_runs = json.loads((work.path / "fingerprint.json").read_text())["chunk_runs"]
    if chunk_runs is None:
        chunk_runs = automatic_chunk_runs(prepared.seconds_per_run, total, workers)
    inputs = [Path(loaded.document.path).resolve(), *loaded.base_document.chain]
    print_ = fingerprint(
        [Path(p).resolve() for p in inputs],
        {"engine_version": __version__, "chunk_runs": chunk_runs},
    )
    done = work.start(print_, resume=resume, sweep_file=str(loaded.document.path))
    chunks = chunks_for(design, spec.replications, chunk_runs)
    todo = [c for c in chunks if c.index not in done]
    resumed_runs = sum(c.stop - c.start for c in chunks if c.index in done)

    design_arrow = design_table(design)
    schema = runs_schema(design_arrow.schema, prepared.specs)
    bar = progress(total, resumed_runs) if progress else None
    pool = None
    try:
        if todo:
            pool = make_executor(
                executor,
                min(workers, len(todo)),
                preload=[type(prepared.worker).__module__],
                **({"scheduler": scheduler} if scheduler else {}),
            )
            for position, result in pool.map_chunks(prepared.worker, todo):
                chunk = todo[position]
                work.write_chunk(chunk.index, chunk_table(result, design_arrow, schema, spec.seed))
                if bar is not None:
                    bar.update(chunk.stop - chunk.start)
            pool.close()
            pool = None
    except BaseException:
        if pool is not None:
            pool.close(abort=True)
        raise
    finally:
        if bar is not None:
            bar.close()

    numeric = [s.name for s in prepared.specs if s.kind in ("int", "float")]
    chosen = spec.output_list() or [Output(outcome=name) for name in numeric]
    outputs = [o.outcome for o in chosen]
    staging = out / f".{spec.name}.assemble"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        null_as = {o.outcome: o.null_as for o in chosen if o.null_as is not None}
        means, variances, runs, failed = assemble(
            work, len(chunks), staging, schema, numeric, design.points, null_as
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
        files: dict[str, Any] = {
            "design.parquet": design_arrow,
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
    return SweepOutcome(
        final_dir, design.points, runs, failed, resumed_runs, elapsed, workers, summary
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
