"""The Python API: what the command line does, as functions that take and return objects.

::

    import sim

    scenario = sim.load("scenarios/baseline.yaml", overrides=["fleet.trucks_in_belarus=1500"])
    result = sim.run(scenario, replications=500, seed=1)
    result.to_pandas()                   # one row per replication
    result.summary["metrics"]["release_day"]["p50"]
    result.save("results/baseline")      # the same folder `sim run` writes

    other = sim.run("scenarios/no-us-mediation.yaml", replications=500, seed=1)
    print(sim.compare(result, other))    # paired: both ran from seed 1

Every function takes in-memory results or folders on disk, and raises
:class:`sim.errors.InputError` (its ``problems`` list each ``FILE:LINE:COL: KEY.PATH: message``)
for bad input, as the command line does before it exits with status 2. Nothing here prints
unless asked for a progress bar.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel

from sim.errors import ARGUMENTS, InputError, Problem
from sim.fmt import duration
from sim.limits import MAX_REPLICATIONS, MAX_SEED, MAX_WORKERS, check_argument
from sim.model.interface import Model, OutcomeSpec, Presentation, horizon_of, presentation_of
from sim.model.registry import build_model, load_scenario
from sim.results.metadata import outcome_specs_from_schema, presentation_from_schema
from sim.scenario.base import ScenarioBase

if TYPE_CHECKING:
    import pandas as pd

    from sim.runner.executors import Executor
    from sim.sweeps import LoadedSweep

__all__ = [
    "CalibrationResult",
    "Comparison",
    "RunResult",
    "SweepResult",
    "calibrate",
    "compare",
    "discover",
    "load",
    "report",
    "run",
    "sweep",
]

#: The files of a run folder that hold results (the rest: provenance).
RUN_FILES = ("runs.parquet", "summary.json", "timeseries.parquet", "scenario.resolved.yaml")


def _not_in_a_worker(function: str) -> None:
    """Refuse to start work from a worker process that is importing the user's script again
    (a script without ``if __name__ == "__main__":``): say what to do instead of crashing."""
    import multiprocessing

    if multiprocessing.parent_process() is not None and "__mp_main__" in sys.modules:
        raise RuntimeError(
            f"sim.{function} was called while a worker process imported your script again: "
            f'put the calls to sim under `if __name__ == "__main__":` (worker processes '
            "import the main script, as everywhere in Python's multiprocessing)"
        )


def _check_workers(workers: int | None, executor: object) -> None:
    """Bad ``workers`` or executor name: an :class:`InputError`, as on the command line."""
    if workers is not None:
        check_argument(workers, "workers", 1, MAX_WORKERS)
    from sim.runner.executors import EXECUTORS

    if isinstance(executor, str) and executor not in EXECUTORS:
        names = " or ".join(repr(name) for name in EXECUTORS)
        message = f"expected {names} (or an executor object), got {executor!r}"
        raise InputError([Problem(ARGUMENTS, 1, 1, "executor", message)])


def _precision_target(
    count: int, precision: float | str | None, max_replications: int | None
) -> tuple[float | None, int | None]:
    """(precision aimed at, most replications) of a run whose first batch is ``count``, as
    :func:`run` and :func:`plan_run` both read them; (None, None) without ``precision``. Bad
    values are an :class:`InputError`, as on the command line."""
    from sim.runner.adaptive import DEFAULT_MAX_FACTOR, parse_precision

    if precision is None:
        if max_replications is not None:
            message = "only applies with --precision"
            raise InputError([Problem(ARGUMENTS, 1, 1, "--max-replications", message)])
        return None, None
    target = parse_precision(precision) if isinstance(precision, str) else float(precision)
    if not 0 < target <= 1:
        parse_precision(str(precision))  # the same message as the command line's
    if max_replications is not None:
        cap = check_argument(max_replications, "max_replications", 1, MAX_REPLICATIONS)
    else:
        cap = min(MAX_REPLICATIONS, DEFAULT_MAX_FACTOR * count)
    return target, cap


def load(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> ScenarioBase:
    """Read, merge (``extends``), override and validate a scenario file.

    ``overrides`` are ``KEY.PATH=VALUE`` strings, as ``--set`` takes them. Returns the
    validated scenario (a pydantic model of its model's schema, every default filled in).
    Raises :class:`InputError` with every problem found.
    """
    if isinstance(overrides, str):
        overrides = [overrides]
    scenario, _ = load_scenario(Path(path), list(overrides))
    return scenario


@dataclass
class RunResult:
    """The replications of one scenario, in memory: what a run folder holds.

    - ``runs``: one row per replication (``replication``, ``seed``, one column per outcome),
      the table of ``runs.parquet``;
    - ``summary``: the statistics of ``summary.json``;
    - ``series``: the daily quantile bands of ``timeseries.parquet`` (empty if the model has no
      series); ``series_values``: each series as an ``(N, days)`` array, loaded on demand
      (``result.series_values["held"]``) from a temporary folder that lives as long as the
      result (its ``read_days(name, first, stop)`` loads some days only); a run does not hold
      them in memory, and a saved folder keeps the bands only (opened: empty);
    - ``scenario``: the scenario as run (resolved: every default, the seed and replications);
    - ``specs`` and ``presentation``: what the model says of its outcomes;
    - ``folder``: where it was saved or opened from (None until then).
    """

    scenario: BaseModel | None
    runs: pa.Table
    summary: dict[str, Any]
    series: pa.Table
    specs: list[OutcomeSpec]
    presentation: Presentation
    series_values: Mapping[str, np.ndarray] = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    workers: int = 1
    executor: str = "local"
    precision: Any = None
    folder: Path | None = None
    manifest: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The scenario's name."""
        return str(self.summary.get("scenario") or getattr(self.scenario, "name", "run"))

    @property
    def replications(self) -> int:
        return int(self.runs.num_rows)

    def to_pandas(self) -> pd.DataFrame:
        """``runs`` as a pandas DataFrame (needs pandas)."""
        return self.runs.to_pandas()

    def close(self) -> None:
        """Remove the temporary folder of ``series_values`` now, rather than when the result is
        garbage-collected (``series_values`` is then no longer readable; a saved folder keeps
        the bands)."""
        close = getattr(self.series_values, "close", None)
        if callable(close):
            close()

    def table(self) -> str:
        """The summary as the terminal table ``sim run`` prints."""
        from sim.results import format_summary_table

        return format_summary_table(self.summary, self.specs)

    def save(self, folder: str | os.PathLike[str], *, command: Sequence[str] | None = None) -> Path:
        """Write the run folder ``folder`` atomically (the files ``sim run`` writes); returns it.

        An existing folder is replaced whole if everything in it is something ``sim`` writes
        (else :class:`InputError`, nothing written). ``command`` is recorded in
        ``manifest.json``.
        """
        from sim.files import output_folder
        from sim.results import make_manifest
        from sim.results.run_folder import write_run

        if self.scenario is None:
            raise ValueError("this result has no scenario to save (it was opened from a folder)")
        target = output_folder(folder, "folder")
        extra = {"precision": self.precision.manifest_entry()} if self.precision else None
        write_run(
            target,
            self.scenario,
            runs=self.runs,
            summary=self.summary,
            bands=self.series,
            manifest=make_manifest(
                list(command or ["sim.run"]), self.elapsed_seconds, self.workers, self.executor
            ),
            manifest_extra=extra,
        )
        self.folder = target
        return target

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> RunResult:
        """A run folder read back (``runs``, ``summary``, ``series``; the scenario as written).

        Raises :class:`InputError` naming the folder if it is not a readable run folder.
        """
        from sim.files import folder_kind

        path = Path(folder)
        folder_kind(path, ("run",))
        runs = _read_parquet(path / "runs.parquet")
        summary = _read_json(path / "summary.json")
        series_path = path / "timeseries.parquet"
        series = _read_parquet(series_path) if series_path.is_file() else pa.table({})
        manifest_path = path / "manifest.json"
        manifest = _read_json(manifest_path) if manifest_path.is_file() else None
        return cls(
            scenario=_resolved_scenario(path),
            runs=runs,
            summary=summary,
            series=series,
            specs=outcome_specs_from_schema(runs.schema),
            presentation=presentation_from_schema(runs.schema),
            folder=path,
            manifest=manifest,
            executor=str((manifest or {}).get("executor", "local")),
            workers=int((manifest or {}).get("workers", 1)),
            elapsed_seconds=float((manifest or {}).get("elapsed_seconds", 0.0)),
        )


def _problem(path: Path, message: str) -> InputError:
    return InputError([Problem(str(path), 1, 1, "", message)])


def _read_parquet(path: Path) -> pa.Table:
    from sim.files import read_table

    return read_table(path)


def _read_json(path: Path) -> dict[str, Any]:
    from sim.files import read_json

    data = read_json(path)
    if not isinstance(data, dict):
        raise _problem(path, "is not a JSON object")
    return data


def _resolved_scenario(folder: Path) -> BaseModel | None:
    """The scenario of a run folder (its ``scenario.resolved.yaml``), or None if unreadable."""
    path = folder / "scenario.resolved.yaml"
    if not path.is_file():
        return None
    try:
        return load(path)
    except (InputError, OSError):
        return None


def _scenario(scenario_or_path: BaseModel | str | os.PathLike[str]) -> tuple[BaseModel, Path]:
    """A validated scenario and the folder its user model (if any) is found from."""
    if isinstance(scenario_or_path, BaseModel):
        return scenario_or_path, Path.cwd()
    path = Path(scenario_or_path)
    return load(path), path.parent


def _run_model(
    scenario_or_path: BaseModel | str | os.PathLike[str], replications: int | None, seed: int | None
) -> tuple[BaseModel, Model]:
    """The scenario of a run (``replications`` and ``seed`` applied, checked) and its model."""
    scenario, source_dir = _scenario(scenario_or_path)
    updates: dict[str, Any] = {}
    if replications is not None:
        updates["replications"] = check_argument(replications, "replications", 1, MAX_REPLICATIONS)
    if seed is not None:
        updates["seed"] = check_argument(seed, "seed", 0, MAX_SEED)
    if updates:
        scenario = type(scenario).model_validate(
            {**scenario.model_dump(mode="json", by_alias=True), **updates}
        )
    return scenario, build_model(scenario, source_dir)


def run(
    scenario_or_path: BaseModel | str | os.PathLike[str],
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    executor: str | Executor = "local",
    precision: float | str | None = None,
    progress: bool = False,
    *,
    scheduler: str | None = None,
    max_replications: int | None = None,
    precision_outcomes: str | Sequence[str] | None = None,
) -> RunResult:
    """Monte Carlo replications of a scenario (an object from :func:`load`, or a path).

    ``replications`` and ``seed`` default to the scenario's. ``workers`` None uses every core;
    1 runs in this process. ``executor`` is ``"local"`` (processes), ``"dask"`` (a local
    cluster, or the cluster whose scheduler is at ``scheduler``) or an executor object, used
    as is. With ``precision`` (a fraction such as 0.02, or ``"2%"``) replications are added in
    batches, starting from ``replications``, until the 95% CI half-width of each main outcome's
    mean (or of ``precision_outcomes``) is at most that share of its mean, or
    ``max_replications`` is reached (default 20 times the first batch).

    The result equals, table for table, the folder ``sim run`` writes for the same scenario and
    seed, whatever ``workers`` and ``executor`` are.
    """
    _not_in_a_worker("run")
    from sim.results.summary import series_bands, summarize
    from sim.runner import run_replications

    _check_workers(workers, executor)
    scenario, model = _run_model(scenario_or_path, replications, seed)
    count = int(scenario.replications)  # type: ignore[attr-defined]
    root_seed = int(scenario.seed)  # type: ignore[attr-defined]
    executor_name = executor if isinstance(executor, str) else type(executor).__name__
    adaptive = None
    target, cap = _precision_target(count, precision, max_replications)
    if target is not None:
        from sim.runner.adaptive import main_outcomes, run_to_precision

        adaptive = run_to_precision(
            model,
            seed=root_seed,
            precision=target,
            first=count,
            max_replications=cap,
            outcomes=main_outcomes(model, precision_outcomes),
            workers=workers,
            progress=progress,
            executor=executor,
            scheduler=scheduler,
        )
        output = adaptive.output
        scenario = scenario.model_copy(update={"replications": adaptive.replications})
    else:
        if precision_outcomes is not None:
            message = "only applies with --precision"
            raise InputError([Problem(ARGUMENTS, 1, 1, "--precision-outcomes", message)])
        output = run_replications(
            model,
            seed=root_seed,
            replications=count,
            workers=workers,
            progress=progress,
            executor=executor,
            scheduler=scheduler,
        )
    specs = list(model.outcome_specs())
    name = str(scenario.name)  # type: ignore[attr-defined]
    return RunResult(
        scenario=scenario,
        runs=output.table,
        summary=summarize(
            output.table, specs, scenario=name, seed=root_seed, horizon=horizon_of(model)
        ),
        series=series_bands(output.series),
        specs=specs,
        presentation=presentation_of(model),
        series_values=output.series,
        elapsed_seconds=output.elapsed_seconds,
        workers=output.workers,
        executor=executor_name,
        precision=adaptive,
    )


#: ``plan_run``'s timing run: replications in this process until this many seconds...
PLAN_PROBE_SECONDS = 0.5
#: ... or this many replications (the last batch at most doubles them).
PLAN_PROBE_REPLICATIONS = 400
#: The parent holds a run's table about twice at its peak (the chunks' columns and the table).
TABLE_COPIES = 2


@dataclass(frozen=True)
class RunPlan:
    """What :func:`plan_run` estimates for a run (``sim run --dry-run``); ``text`` says it.

    Bytes are estimates: ``peak_bytes`` of the calling process (``base_bytes``, what it holds
    now, plus ``TABLE_COPIES`` x ``table_bytes`` plus the bands' working memory), not counting
    the workers; ``disk_bytes`` is the temporary folder of the daily series.
    """

    scenario: str
    replications: int
    up_to: bool
    workers: int
    probe_replications: int
    seconds_per_replication: float
    seconds: float
    table_bytes: int
    base_bytes: int
    peak_bytes: int
    disk_bytes: int
    text: str

    def __str__(self) -> str:
        return self.text


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} TiB"  # pragma: no cover


def plan_run(
    scenario_or_path: BaseModel | str | os.PathLike[str],
    replications: int | None = None,
    workers: int | None = None,
    *,
    seed: int | None = None,
    precision: float | str | None = None,
    max_replications: int | None = None,
) -> RunPlan:
    """What :func:`run` would take (``sim run --dry-run``): loads and validates the scenario,
    times a short run of a few replications in this process (about a second at most), and
    estimates the wall time on ``workers`` (None: every core) and the peak memory of this
    process (the table plus a constant overhead, see :mod:`sim.runner.replications`). With
    ``precision``, plans the most the run may take (``max_replications``, default 20 times
    the first batch). Writes nothing.
    """
    import psutil

    from sim.results.summary import BAND_BLOCK_BYTES
    from sim.runner.engine import effective_workers
    from sim.runner.replications import Session

    _check_workers(workers, "local")
    scenario, model = _run_model(scenario_or_path, replications, seed)
    count = int(scenario.replications)  # type: ignore[attr-defined]
    root_seed = int(scenario.seed)  # type: ignore[attr-defined]
    _, cap = _precision_target(count, precision, max_replications)
    total, up_to = (count, False) if cap is None else (cap, True)
    used = effective_workers(workers, total)
    with Session(
        model,
        seed=root_seed,
        total=total,
        workers=1,
        progress=False,
        executor="local",
        scheduler=None,
    ) as session:
        started = time.perf_counter()
        session.run(0, 1)  # warm-up (first calls, caches): timed only if it is the only one
        first = time.perf_counter() - started
        done, batch, elapsed = 1, 1, 0.0
        started = time.perf_counter()
        while done < min(total, PLAN_PROBE_REPLICATIONS) and elapsed < PLAN_PROBE_SECONDS:
            stop = min(total, done + batch)
            session.run(done, stop)
            done, batch = stop, batch * 2
            elapsed = time.perf_counter() - started
        probe = session.output()
        disk_per_replication = probe.series.nbytes() / done
        probe.series.close()
    per_replication = elapsed / (done - 1) if done > 1 else first
    seconds = per_replication * total / used
    table = int(probe.table.nbytes / done * total)
    block = 3 * max(BAND_BLOCK_BYTES, 8 * total) if model.series_names() else 0
    base = int(psutil.Process().memory_info().rss)
    peak = base + TABLE_COPIES * table + block
    disk = int(disk_per_replication * total)
    name = str(scenario.name)  # type: ignore[attr-defined]
    most = "at most " if up_to else ""
    lines = [
        f"scenario {name}: {most}{total:,} replications on {used} worker(s), seed {root_seed}"
        + (f" (--precision: first batch {count:,})" if up_to else ""),
        f"timing run: {done:,} replication(s) in this process, "
        f"{per_replication * 1000:.3g} ms each",
        f"estimated time: {most}about {duration(seconds, decimals=1)}"
        + (" (plus a few seconds to start the workers)" if used > 1 else ""),
        f"estimated peak memory of this process: {most}about {_size(peak)} "
        f"({_size(base)} now, table {_size(table)}, daily bands {_size(block)}; "
        "workers not counted)",
        f"temporary disk for the daily series: {most}about {_size(disk)} (removed after the run)",
        "dry run: nothing was written",
    ]
    return RunPlan(
        scenario=name,
        replications=total,
        up_to=up_to,
        workers=used,
        probe_replications=done,
        seconds_per_replication=per_replication,
        seconds=seconds,
        table_bytes=table,
        base_bytes=base,
        peak_bytes=peak,
        disk_bytes=disk,
        text="\n".join(lines),
    )


@dataclass
class SweepResult:
    """A finished sweep's folder (sweeps stream to disk: the folder is the result).

    ``summary`` is ``summary.json``; the tables are read on demand: :meth:`design`,
    :meth:`runs`, :meth:`points`, and :meth:`sensitivity` (Sobol and Morris sweeps).
    ``points_run``, ``failed`` and ``resumed_runs`` say what this call did.
    """

    folder: Path
    summary: dict[str, Any]
    elapsed_seconds: float = 0.0
    workers: int = 1
    resumed_runs: int = 0

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> SweepResult:
        """A sweep folder read back; :class:`InputError` if it is not one."""
        from sim.files import folder_kind

        path = Path(folder)
        folder_kind(path, ("sweep",))
        return cls(path, _read_json(path / "summary.json"))

    @property
    def name(self) -> str:
        return str(self.summary.get("sweep", self.folder.name))

    @property
    def runs_count(self) -> int:
        return int(self.summary.get("runs", 0))

    @property
    def failed(self) -> int:
        return int(self.summary.get("failed_runs", 0))

    def design(self) -> pa.Table:
        return _read_parquet(self.folder / "design.parquet")

    def runs(self) -> pa.Table:
        return _read_parquet(self.folder / "runs.parquet")

    def points(self) -> pa.Table:
        return _read_parquet(self.folder / "points.parquet")

    def sensitivity(self) -> dict[str, Any] | None:
        path = self.folder / "sensitivity.json"
        return _read_json(path) if path.is_file() else None

    def table(self) -> str:
        """The sweep's headline, as ``sim sweep`` prints it."""
        from sim.sweeps.run import format_sweep_summary

        return format_sweep_summary(self.summary, self.folder)


def sweep(
    sweep_or_path: str | os.PathLike[str] | LoadedSweep,
    out: str | os.PathLike[str] = "results",
    workers: int | None = None,
    executor: str = "local",
    progress: bool = False,
    *,
    scheduler: str | None = None,
    resume: bool = False,
    command: Sequence[str] | None = None,
) -> SweepResult:
    """Run (or, with ``resume``, continue) the sweep file ``sweep_or_path`` into
    ``out/NAME/``; returns its folder as a :class:`SweepResult`.

    An interrupted sweep keeps its finished chunks; ``resume=True`` continues it to the same
    result. Runs that raise are recorded (``error``) and the sweep goes on.
    """
    _not_in_a_worker("sweep")
    _check_workers(workers, executor)
    from sim.files import output_folder
    from sim.sweeps import LoadedSweep as Loaded
    from sim.sweeps import run_sweep
    from sim.sweeps.run import cpu_count, default_progress

    loaded = sweep_or_path if isinstance(sweep_or_path, Loaded) else load_sweep(sweep_or_path)
    used = workers or cpu_count()
    outcome = run_sweep(
        loaded,
        out=output_folder(out, "out"),
        workers=used,
        executor=executor,
        scheduler=scheduler,
        resume=resume,
        progress=default_progress if progress else None,
        command=list(command or ["sim.sweeps"]),
    )
    return SweepResult(
        outcome.folder,
        outcome.summary,
        outcome.elapsed_seconds,
        outcome.workers,
        outcome.resumed_runs,
    )


def load_sweep(path: str | os.PathLike[str]) -> LoadedSweep:
    """Read and check a sweep file and its base scenario (:class:`InputError` on any problem)."""
    from sim.sweeps import load_sweep as load

    return load(Path(path))


def plan_sweep(
    sweep_or_path: str | os.PathLike[str] | LoadedSweep, workers: int | None = None
) -> str:
    """What a sweep would do and about how long it would take (a short timing run), as text:
    ``sim sweep --dry-run``. Runs nothing else and writes nothing."""
    from sim.sweeps import LoadedSweep as Loaded
    from sim.sweeps.run import automatic_chunk_runs, cpu_count, describe_plan, prepare

    loaded = sweep_or_path if isinstance(sweep_or_path, Loaded) else load_sweep(sweep_or_path)
    used = workers or cpu_count()
    prepared = prepare(loaded, probe_seconds=2.0, max_probe_runs=200)
    chunk_runs = loaded.spec.chunk_runs or automatic_chunk_runs(
        prepared.seconds_per_run, prepared.total_runs, used
    )
    return describe_plan(prepared, used, chunk_runs)


@dataclass
class Comparison:
    """Metric by metric differences B - A of two runs (see :mod:`sim.analysis.compare`).

    ``data`` is what ``sim compare --format json`` prints: ``paired``, ``metrics`` (per outcome:
    ``mean_a``, ``mean_b``, ``diff``, ``ci95``, ``p_value``...), ``categories``.
    """

    data: dict[str, Any]

    @property
    def paired(self) -> bool:
        return bool(self.data.get("paired"))

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.data.get("metrics", {}))

    @property
    def categories(self) -> dict[str, Any]:
        return dict(self.data.get("categories", {}))

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def to_json(self) -> str:
        from sim.files import to_json

        return to_json(self.data)

    def table(self) -> str:
        """The terminal table ``sim compare`` prints."""
        from sim.analysis.compare import format_comparison

        return format_comparison(self.data)

    def __str__(self) -> str:
        return self.table()


def _run_data(value: RunResult | str | os.PathLike[str], label: str) -> Any:
    from sim.analysis.compare import load_run_folder, run_data

    if isinstance(value, RunResult):
        where = value.folder or Path(f"<{value.name}>")
        return run_data(value.runs, value.summary, where, label)
    return load_run_folder(Path(value), label)


def compare(
    a: RunResult | str | os.PathLike[str],
    b: RunResult | str | os.PathLike[str],
    paired: bool | None = None,
) -> Comparison:
    """Compare run B with run A (each a :class:`RunResult` or a run folder).

    ``paired`` None pairs the runs replication by replication when they share a seed (common
    random numbers: narrower intervals); False compares them as independent samples; True
    requires pairing (an :class:`InputError` if the seeds differ).
    """
    from sim.analysis.compare import compare_runs

    problems: list[Problem] = []
    loaded = []
    for value, label in ((a, "DIR_A"), (b, "DIR_B")):
        try:
            loaded.append(_run_data(value, label))
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        raise InputError(problems)
    result = compare_runs(loaded[0], loaded[1], unpaired=paired is False)
    if paired is True and not result.get("paired"):
        raise InputError(
            [
                Problem(
                    ARGUMENTS,
                    1,
                    1,
                    "paired",
                    "the runs cannot be paired: they do not share a seed and replications",
                )
            ]
        )
    return Comparison(result)


def _folder_of(value: Any) -> Path:
    """The folder of a result (a run saved or opened, a sweep, a calibration) or a path."""
    if isinstance(value, str | os.PathLike):
        return Path(value)
    folder = getattr(value, "folder", None)
    if folder is None and isinstance(value, RunResult):
        raise ValueError("this result is in memory only: save it first (result.save(folder))")
    if folder is None:
        raise TypeError(f"expected a result or a folder, not {type(value).__name__}")
    return Path(folder)


def report(result_or_folder: Any) -> Path:
    """Write ``plots/`` and a self-contained ``report.html`` into a run, sweep or calibration
    folder (a saved :class:`RunResult`, a :class:`SweepResult`, a :class:`CalibrationResult`,
    or a path); returns the HTML's path."""
    from sim.reporting import build_report

    return build_report(_folder_of(result_or_folder))


def discover(
    sweep_or_folder: SweepResult | str | os.PathLike[str],
    outcome: str,
    *,
    above: float | None = None,
    below: float | None = None,
    write: bool = True,
    **settings: Any,
) -> dict[str, Any]:
    """Scenario discovery (PRIM) on a sweep: the box of parameter ranges where ``outcome`` is
    likely above (or below) a threshold. ``settings`` are those of ``sim discover``
    (``threshold_share``, ``per_run``, ``peel_alpha``, ``min_support``, ``min_coverage``,
    ``step``, ``null_as``). With ``write`` the box is added to the folder's
    ``discovery.json``, as the command does. Returns the box (with ``notes``)."""
    from sim.analysis.discover import discover as find_box
    from sim.analysis.discover import write_discovery

    folder = _folder_of(sweep_or_folder)
    found = find_box(folder, outcome, above=above, below=below, **settings)
    if write:
        write_discovery(folder, found.entry)
    return {**found.entry, "notes": list(found.notes)}


# -- calibration ---------------------------------------------------------------------------------


@dataclass
class CalibrationResult:
    """A calibration folder: ``posterior.parquet``, ``populations.parquet``,
    ``calibration.json`` (``summary``) and ``posterior.yaml`` (a scenario drawing the calibrated
    parameters jointly from the posterior)."""

    folder: Path
    summary: dict[str, Any]
    elapsed_seconds: float = 0.0
    workers: int = 1
    resumed_runs: int = 0

    @property
    def name(self) -> str:
        return str(self.summary.get("calibration", self.folder.name))

    def posterior(self, population: int | None = None) -> pa.Table:
        """The particles of every population, or of one (``-1``: the last)."""
        import pyarrow.compute as pc

        table = _read_parquet(self.folder / "posterior.parquet")
        if population is None:
            return table
        if population < 0:
            population = int(pc.max(table.column("population")).as_py()) + 1 + population
        return table.filter(pc.equal(table.column("population"), population))

    def populations(self) -> pa.Table:
        return _read_parquet(self.folder / "populations.parquet")

    @property
    def scenario_path(self) -> Path:
        """``posterior.yaml``: run it like any scenario (``sim.run(result.scenario_path)``)."""
        return self.folder / "posterior.yaml"

    def table(self) -> str:
        """The fit's headline, as ``sim calibrate`` prints it."""
        from sim.calibration.outputs import format_calibration

        return format_calibration(self.summary)

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> CalibrationResult:
        """A calibration folder read back (:class:`InputError` if it is not one)."""
        from sim.files import folder_kind

        path = Path(folder)
        folder_kind(path, ("calibration",))
        return cls(path, _read_json(path / "calibration.json"))


def load_calibration(path: str | os.PathLike[str]) -> Any:
    """Read and check a calibration file and its base scenario (:class:`InputError` on any
    problem); returns a :class:`sim.calibration.LoadedCalibration`."""
    from sim.calibration import load_calibration as load

    return load(Path(path))


def plan_calibration(calibration_or_path: Any, workers: int | None = None) -> str:
    """What a calibration would do and about how long it would take, as text (``sim
    calibrate --dry-run``): a short timing run; writes nothing."""
    from sim.calibration import LoadedCalibration
    from sim.calibration.run import plan

    loaded = (
        calibration_or_path
        if isinstance(calibration_or_path, LoadedCalibration)
        else load_calibration(calibration_or_path)
    )
    return plan(loaded, workers or os.cpu_count() or 1)


def calibrate(
    calibration_or_path: Any,
    out: str | os.PathLike[str] = "results",
    workers: int | None = None,
    executor: str = "local",
    progress: bool = False,
    *,
    scheduler: str | None = None,
    resume: bool = False,
    command: Sequence[str] | None = None,
) -> CalibrationResult:
    """Run (or, with ``resume``, continue) the calibration file ``calibration_or_path`` (ABC-SMC,
    see :mod:`sim.calibration.abc_smc`) into ``out/NAME/``; returns the folder as a
    :class:`CalibrationResult`. The posterior is the same whatever ``workers`` and
    ``executor``, and after a resume; a simulation that raises is a rejected particle."""
    _not_in_a_worker("calibrate")
    _check_workers(workers, executor)
    from sim.calibration import LoadedCalibration
    from sim.calibration.outputs import calibration_summary, write_calibration_folder
    from sim.calibration.run import calibrate as run_calibration
    from sim.calibration.run import default_progress
    from sim.files import check_replaceable, output_folder

    loaded = (
        calibration_or_path
        if isinstance(calibration_or_path, LoadedCalibration)
        else load_calibration(calibration_or_path)
    )
    parent = output_folder(out, "out")
    final_dir = parent / loaded.spec.name
    check_replaceable(final_dir)
    result = run_calibration(
        loaded,
        out=parent,
        workers=workers,
        executor=executor,
        scheduler=scheduler,
        resume=resume,
        progress=default_progress if progress else None,
    )
    write_calibration_folder(result, final_dir, list(command or ["sim.calibrate"]))
    from sim.calibration.run import WorkFolder

    WorkFolder(parent / f".{loaded.spec.name}.calibration").remove()
    return CalibrationResult(
        final_dir,
        calibration_summary(result),
        result.elapsed_seconds,
        result.workers,
        result.resumed_runs,
    )
