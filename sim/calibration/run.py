"""Running a calibration: populations of particles simulated on the work engine, resumable.

Every random number comes from the calibration's seed: the proposals of batch ``b`` of
population ``t`` (and their acceptance uniforms) from ``SeedSequence(seed, spawn_key=(KEY, t,
b))``, and the simulation of attempt ``i`` of that batch from ``Streams(seed, attempt_id(t, b,
i))``. Batch sizes depend only on earlier results. So the posterior is the same whatever the
workers, the executor and the chunking, and after a resume.

Simulations run in chunks on :class:`sim.runner.engine.Engine` with the failure policy
``"record"``: a failing simulation is a rejected attempt. Each finished chunk's summaries go to
a hidden work folder ``OUT/.NAME.calibration/`` (written whole or not at all), so
``--resume`` after Ctrl-C or ``kill -9`` recomputes the populations from the saved chunks and
simulates only what is missing.
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from sim.calibration import abc_smc
from sim.calibration.spec import MAX_POPULATIONS, LoadedCalibration
from sim.errors import InputError, Problem
from sim.model.interface import Model, OutcomeSpec
from sim.model.joint import ValuesModel
from sim.runner.engine import ChunkResult, ChunkRunner, Engine, chunk_ranges
from sim.seeding import Streams

#: spawn_key head of the proposal generators (a stable, arbitrary constant).
PROPOSAL_KEY = 0xCA11B
#: The "population" of the posterior-predictive runs.
PREDICTIVE = MAX_POPULATIONS + 1
#: A population stops after this many proposals per particle (then the calibration stops).
MAX_PROPOSALS_PER_PARTICLE = 200
#: Largest batch of one population.
MAX_BATCH = (1 << 24) - 1
FINGERPRINT = "fingerprint.json"


def attempt_id(population: int, batch: int, index: int) -> int:
    """The replication number of an attempt: unique per (population, batch, index)."""
    return (population << 40) | (batch << 24) | index


class AttemptModel(ValuesModel):
    """The attempts of one batch: replication ``first + i`` runs the base with ``values[i]``."""

    def __init__(
        self,
        base_type: type[BaseModel],
        base_data: dict[str, Any],
        source_dir: Path | None,
        keys: list[str],
        first: int,
        values: np.ndarray,
    ) -> None:
        super().__init__(base_type, base_data, source_dir)
        self.keys = keys
        self.first = first
        self.values = values

    def run_replication(self, streams: Streams) -> Any:
        row = streams.replication - self.first
        values = dict(zip(self.keys, self.values[row].tolist(), strict=True))
        return self.model_with(row, values).run_replication(streams)


def summaries_of(
    result: ChunkResult, loaded: LoadedCalibration
) -> tuple[np.ndarray, list[str | None]]:
    """The target summaries of a chunk's runs (NaN where missing) and their errors."""
    targets = loaded.spec.targets
    rows = result.stop - result.start
    out = np.full((rows, len(targets)), np.nan)
    for column, (name, target) in enumerate(targets.items()):
        if target.series is not None:
            array = result.series.get(target.series)
            if array is not None and target.day is not None and target.day < array.shape[1]:
                out[:, column] = array[:, target.day]
            continue
        outcome = target.outcome or name
        values = np.asarray(result.values[outcome], dtype=float).copy()
        nulls = result.nulls[outcome]
        values[nulls] = np.nan if target.null_as is None else target.null_as
        out[:, column] = values
    errors: list[str | None] = list(result.errors) if result.errors else [None] * rows
    for row, error in enumerate(errors):
        if error is not None:
            out[row] = np.nan
    return out, errors


@dataclass
class WorkFolder:
    """The hidden folder of a calibration in progress: a fingerprint and one file per chunk."""

    path: Path

    def exists(self) -> bool:
        return (self.path / FINGERPRINT).is_file()

    def start(self, print_: dict[str, Any], *, resume: bool, source: str) -> None:
        """Create the folder, or reopen it with ``resume`` if its fingerprint is ``print_``
        (otherwise bad input, saying why: :func:`sim.sweeps.store.resume_refusal`)."""
        from sim.sweeps.store import resume_refusal

        if self.exists():
            refusal = resume_refusal(
                self.path, print_, resume=resume, source=source, kind="calibration"
            )
            if refusal is not None:
                raise refusal
            return
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        temporary = self.path / f".{FINGERPRINT}.tmp"
        temporary.write_text(json.dumps(print_, indent=2, sort_keys=True))
        os.replace(temporary, self.path / FINGERPRINT)

    def chunk_path(self, first: int) -> Path:
        return self.path / f"attempts-{first:020d}.npz"

    def chunks(self) -> int:
        return len(list(self.path.glob("attempts-*.npz")))

    def read(self, first: int) -> np.ndarray | None:
        path = self.chunk_path(first)
        if not path.is_file():
            return None
        with np.load(path) as data:
            return np.asarray(data["summaries"])

    def write(self, first: int, summaries: np.ndarray, errors: list[str | None]) -> None:
        final = self.chunk_path(first)
        temporary = final.with_name(f".{final.name}.tmp-{os.getpid()}.npz")
        shown = np.array([e or "" for e in errors], dtype=np.str_)
        np.savez(temporary, summaries=summaries, errors=shown)
        os.replace(temporary, final)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


@dataclass
class Population:
    """One population: its particles, weights, distances, summaries and counts."""

    index: int
    tolerance: float
    theta: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    summaries: np.ndarray
    proposals: int
    runs: int
    failed: int

    @property
    def acceptance_rate(self) -> float:
        return len(self.theta) / max(self.proposals, 1)


@dataclass
class Calibration:
    """What a finished calibration found (the populations; the predictive summaries)."""

    loaded: LoadedCalibration
    populations: list[Population]
    predictive: np.ndarray
    reached_target: bool
    stopped_because: str
    elapsed_seconds: float = 0.0
    workers: int = 1
    executor: str = "local"
    resumed_runs: int = 0
    runs: int = 0
    failed: int = 0
    specs: list[OutcomeSpec] = field(default_factory=list)


ProgressFactory = Callable[[int, str], Any]


def default_progress(total: int, desc: str) -> Any:
    """A tqdm bar on stderr per population: particles accepted out of ``total``."""
    import sys

    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="particle", file=sys.stderr, dynamic_ncols=True)


class _Simulator:
    """Runs batches of attempts over one executor, reusing saved chunks."""

    def __init__(
        self,
        loaded: LoadedCalibration,
        model: Model,
        work: WorkFolder,
        engine_factory: Callable[[int], Engine],
        chunk_runs: int,
    ) -> None:
        """``model`` is the base scenario's model (what its outcomes and series are)."""
        self.loaded = loaded
        base = loaded.base_scenario
        self.base_type = type(base)
        self.base_data = base.model_dump(mode="json", by_alias=True)
        self.source_dir = loaded.base_path.parent
        self.specs = list(model.outcome_specs())
        wants_series = any(t.series is not None for t in loaded.spec.targets.values())
        self.series = list(model.series_names()) if wants_series else None
        self.keys = list(loaded.spec.priors())
        self.work = work
        self.engine_factory = engine_factory
        self.chunk_runs = chunk_runs
        self.runs = 0
        self.resumed = 0

    def run(
        self, first: int, theta: np.ndarray, on_rows: Callable[[int, np.ndarray], None]
    ) -> np.ndarray:
        """Summaries of attempts ``first .. first + len(theta) - 1``; ``on_rows(offset,
        summaries)`` is called as each chunk arrives (saved chunks first)."""
        count = len(theta)
        out = np.full((count, len(self.loaded.spec.targets)), np.nan)
        todo = []
        for start, stop in chunk_ranges(count, size=self.chunk_runs):
            saved = self.work.read(first + start)
            if saved is not None and saved.shape[0] == stop - start:
                out[start:stop] = saved
                self.resumed += stop - start
                on_rows(start, saved)
            else:
                todo.append((first + start, first + stop))
        if todo:
            model = AttemptModel(
                self.base_type, self.base_data, self.source_dir, self.keys, first, theta
            )
            runner = ChunkRunner(
                model, self.loaded.spec.seed, self.specs, self.series, failures="record"
            )
            engine = self.engine_factory(len(todo))
            for _, result in engine.map(runner, todo):
                summaries, errors = summaries_of(result, self.loaded)
                self.work.write(result.start, summaries, errors)
                out[result.start - first : result.stop - first] = summaries
                self.runs += result.stop - result.start
                on_rows(result.start - first, summaries)
        return out


def _count_accepted(
    bar: Any,
    inside: np.ndarray,
    u: np.ndarray,
    fitted: np.ndarray,
    observed: np.ndarray,
    sd: np.ndarray,
    tolerance: float,
    offset: int,
    rows: np.ndarray,
) -> None:
    """Move a population's bar by the particles a chunk's rows will have accepted."""
    if bar is None:
        return
    d = abc_smc.distances(rows[:, fitted], observed, sd)
    p = abc_smc.acceptance_probability(d, tolerance)
    got = int((u[inside[offset : offset + len(rows)]] < p).sum())
    bar.update(min(got, max(0, bar.total - bar.n)))


def _generator(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(PROPOSAL_KEY, *key)))
    )


def run_populations(
    simulator: _Simulator, progress: ProgressFactory | None
) -> tuple[list[Population], bool, str]:
    """The ABC-SMC loop (see :mod:`sim.calibration.abc_smc`)."""
    spec = simulator.loaded.spec
    priors = list(spec.priors().values())
    names = list(spec.targets)
    fitted = np.array([name not in spec.holdout for name in names])
    observed = np.array([spec.targets[n].observed for n in names])[fitted]
    sd = np.array([spec.targets[n].sd for n in names])[fitted]
    n = spec.particles
    populations: list[Population] = []
    for t in range(spec.max_populations):
        previous = populations[-1] if populations else None
        if previous is None:
            tolerance = math.inf
            chol = None
        else:
            tolerance = abc_smc.next_tolerance(
                previous.distances,
                previous.weights,
                spec.quantile,
                previous.tolerance,
                spec.max_tolerance_ratio,
            )
            chol = abc_smc.kernel_cholesky(previous.theta, previous.weights)
        accepted_theta: list[np.ndarray] = []
        accepted_d: list[np.ndarray] = []
        accepted_s: list[np.ndarray] = []
        proposals = runs = failed = 0
        rate = previous.acceptance_rate if previous is not None else 1.0
        bar = progress(n, f"population {t}") if progress is not None else None
        batch = 0
        try:
            while sum(len(a) for a in accepted_theta) < n:
                if proposals >= MAX_PROPOSALS_PER_PARTICLE * n:
                    return (
                        populations,
                        False,
                        (
                            f"population {t} accepted too few particles "
                            f"({sum(len(a) for a in accepted_theta)} of {n} after {proposals:,} "
                            "proposals)"
                        ),
                    )
                need = n - sum(len(a) for a in accepted_theta)
                # The prior's first batch is exactly what is needed; later ones allow for the
                # acceptance rate seen so far (a deterministic function of earlier results).
                margin = 1.0 if previous is None and batch == 0 else 1.1
                size = min(MAX_BATCH, max(need, math.ceil(need / max(rate, 0.005) * margin)))
                rng = _generator(spec.seed, t, batch)
                if previous is None or chol is None:
                    theta = abc_smc.sample_prior(priors, rng, size)
                else:
                    theta = abc_smc.propose(previous.theta, previous.weights, chol, rng, size)
                u = rng.random(size)
                inside = np.flatnonzero(np.isfinite(abc_smc.prior_logpdf(priors, theta)))
                simulated = theta[inside]

                on_rows = functools.partial(
                    _count_accepted, bar, inside, u, fitted, observed, sd, tolerance
                )
                summaries = simulator.run(attempt_id(t, batch, 0), simulated, on_rows)
                d = abc_smc.distances(summaries[:, fitted], observed, sd)
                accept = u[inside] < abc_smc.acceptance_probability(d, tolerance)
                order = np.flatnonzero(accept)[:need]
                if len(order) == need and need > 0:
                    used = int(inside[order[-1]]) + 1  # proposals up to the last particle kept
                else:
                    used = size
                proposals += used
                runs += len(simulated)
                failed += int(np.isnan(summaries).all(axis=1).sum())
                accepted_theta.append(simulated[order])
                accepted_d.append(d[order])
                accepted_s.append(summaries[order])
                rate = max(len(order), 1) / used
                batch += 1
        finally:
            if bar is not None:
                bar.close()
        theta_t = np.concatenate(accepted_theta)
        if previous is None or chol is None:
            weights = np.full(n, 1.0 / n)
        else:
            weights = abc_smc.importance_weights(
                theta_t, priors, previous.theta, previous.weights, chol
            )
        population = Population(
            t,
            tolerance,
            theta_t,
            weights,
            np.concatenate(accepted_d),
            np.concatenate(accepted_s),
            proposals,
            runs,
            failed,
        )
        populations.append(population)
        if tolerance == 1.0:
            return populations, True, "reached the observation error (tolerance 1)"
        if t > 0 and population.acceptance_rate < spec.min_acceptance:
            return (
                populations,
                False,
                (f"acceptance rate {population.acceptance_rate:.3g} below min_acceptance"),
            )
    return populations, False, f"max_populations ({spec.max_populations}) reached"


def automatic_chunk_runs(particles: int, workers: int) -> int:
    """Runs per chunk: about 8 chunks per worker for a population's first batch, at most 250."""
    return max(1, min(250, math.ceil(particles / (8 * max(workers, 1)))))


def calibrate(
    loaded: LoadedCalibration,
    *,
    out: Path,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    resume: bool = False,
    progress: ProgressFactory | None = default_progress,
    command: list[str] | None = None,
) -> Calibration:
    """Run (or resume) a calibration; the caller writes its folder (:mod:`.outputs`)."""
    from sim import __version__
    from sim.model import build_model
    from sim.runner.executors import make_executor
    from sim.sweeps.store import fingerprint, model_sources, read_fingerprint

    spec = loaded.spec
    started = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    work = WorkFolder(out / f".{spec.name}.calibration")
    chunk_runs = spec.chunk_runs
    if chunk_runs is None and resume and work.exists():
        chunk_runs = read_fingerprint(work.path, "calibration")["chunk_runs"]
    if chunk_runs is None:
        chunk_runs = automatic_chunk_runs(spec.particles, workers)
    # A user model's own file too, so that editing it before a resume is noticed.
    base_model = build_model(loaded.base_scenario, loaded.base_path.parent)
    inputs = [
        Path(loaded.document.path).resolve(),
        *loaded.base_document.chain,
        *model_sources(base_model),
    ]
    print_ = fingerprint(
        [Path(p).resolve() for p in inputs],
        {"engine_version": __version__, "chunk_runs": chunk_runs},
    )
    work.start(print_, resume=resume, source=str(loaded.document.path))
    opened = make_executor(executor, workers, preload=[__name__], scheduler=scheduler)
    failed_with: BaseException | None = None
    try:

        def engine_for(chunks: int) -> Engine:
            return Engine(opened, workers, total=chunks)

        simulator = _Simulator(loaded, base_model, work, engine_for, chunk_runs)
        populations, reached, why = run_populations(simulator, progress)
        if not populations:
            raise InputError(
                [Problem(str(loaded.document.path), 1, 1, "", f"no population completed: {why}")]
            )
        final = populations[-1]
        predictive = simulator.run(attempt_id(PREDICTIVE, 0, 0), final.theta, lambda o, r: None)
    except BaseException as error:
        failed_with = error
        raise
    finally:
        opened.close(abort=failed_with is not None)
    return Calibration(
        loaded,
        populations,
        predictive,
        reached,
        why,
        elapsed_seconds=time.perf_counter() - started,
        workers=workers,
        executor=executor,
        resumed_runs=simulator.resumed,
        runs=simulator.runs + simulator.resumed,
        failed=sum(p.failed for p in populations),
        specs=simulator.specs,
    )


#: Accepted particles per run the dry run assumes after the prior's population: typical of a
#: model whose summaries the parameters control (0.35 with the default quantile 0.5), and of
#: one whose own noise dominates near tolerance 1 (0.03: the case calibration's last ones).
TYPICAL_ACCEPTANCE = 0.35
SLOW_ACCEPTANCE = 0.03


def plan(loaded: LoadedCalibration, workers: int, *, probe_seconds: float = 2.0) -> str:
    """What a calibration will do and about how long it should take (``--dry-run``): a timing
    run of a few prior particles in this process, then the runs of ``max_populations``
    populations at an assumed acceptance rate, and the posterior-predictive runs."""
    from sim.fmt import duration
    from sim.model import build_model

    spec = loaded.spec
    base = loaded.base_scenario
    source_dir = loaded.base_path.parent
    model = build_model(base, source_dir)
    wants_series = any(t.series is not None for t in spec.targets.values())
    theta = abc_smc.sample_prior(list(spec.priors().values()), _generator(spec.seed, 0, 0), 200)
    attempts = AttemptModel(
        type(base),
        base.model_dump(mode="json", by_alias=True),
        source_dir,
        list(spec.priors()),
        0,
        theta,
    )
    runner = ChunkRunner(
        attempts,
        spec.seed,
        list(model.outcome_specs()),
        list(model.series_names()) if wants_series else None,
        failures="record",
    )
    started = time.perf_counter()
    probed = 0
    while probed < len(theta) and (time.perf_counter() - started < probe_seconds or probed < 3):
        runner((probed, probed + 1))
        probed += 1
    seconds = (time.perf_counter() - started) / probed
    n = spec.particles
    typical_later = math.ceil(n / TYPICAL_ACCEPTANCE)
    slow_later = math.ceil(n / SLOW_ACCEPTANCE)
    typical = n + min(spec.max_populations - 1, 4) * typical_later + n
    slow = n + (spec.max_populations - 1) * slow_later + n
    return (
        f"calibration {spec.name}: abc-smc, {len(spec.parameters)} parameters, "
        f"{len(spec.fitted())} targets fitted, {len(spec.holdout)} held out; "
        f"{n:,} particles per population, at most {spec.max_populations} populations\n"
        f"timing run: {probed} runs at prior particles, {seconds * 1000:.2f} ms/run\n"
        f"runs: {n:,} for the prior and {n:,} posterior-predictive; per later population about "
        f"{typical_later:,} (acceptance {TYPICAL_ACCEPTANCE} per run) to {slow_later:,} (a noisy "
        f"model, {SLOW_ACCEPTANCE})\n"
        f"estimate: about {duration(seconds * typical / workers)} ({typical:,} runs, 5 "
        f"populations) to {duration(seconds * slow / workers)} ({slow:,} runs, "
        f"{spec.max_populations} populations of a noisy model) on {workers} worker(s)"
    )
