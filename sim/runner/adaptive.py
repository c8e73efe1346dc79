"""Adaptive precision: replications in batches until the main outcomes' means are precise enough.

``sim run SCENARIO --precision REL`` runs the scenario's ``replications`` (or ``-n``) as a first
batch, then adds batches until, for every main outcome, the half-width of the 95% t-interval of
its mean is at most ``REL x |mean|``, or until ``--max-replications`` (default
:data:`DEFAULT_MAX_FACTOR` times the first batch) is reached.

The rules, outcome by outcome (the same statistics as ``summary.json``, from
:func:`sim.results.numeric_metrics`):

- nullable outcomes (``release_day``...) are judged on their non-null values, i.e. on the mean
  ``summary.json`` reports; their null share is not a target. An outcome with no value at all
  so far counts as converged (there is no mean to estimate); one with a single value does not;
- an outcome with zero spread (e.g. always 0) counts as converged whatever its mean;
- an outcome whose mean is 0 but whose spread is not can never reach a relative target: it
  stops only at the maximum (its relative half-width is reported as None);
- category outcomes are not judged.

Batches grow geometrically: from the worst outcome's ratio ``r = half-width / target``, the
next total is about ``n x 1.1 r^2`` (the n the current interval says is needed, with a 10%
margin), but at least ``1.5 n`` and at most ``4 n``, so a handful of batches suffice and a
noisy early estimate cannot overshoot far.

Replication ``i`` is always ``model.run_replication(Streams(seed, i))``: batches run the next
indices (the first batch ``0..n0-1``, the second ``n0..n1-1``...), chunked over one executor
kept for the whole run, so the final table is identical, bit for bit, to that of a fixed run of
the final number of replications with the same seed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.errors import InputError, Problem
from sim.model.interface import Model, presentation_of
from sim.results.summary import numeric_metrics
from sim.runner.executors import Executor
from sim.runner.replications import ChunkResult, RunOutput, Session

#: Default maximum: this many times the first batch.
DEFAULT_MAX_FACTOR = 20
#: Each batch grows the total by at least this factor...
MIN_GROWTH = 1.5
#: ... and at most this one.
MAX_GROWTH = 4.0
#: Margin on the replications the current interval says are needed.
SAFETY = 1.1
#: Where argument problems are reported (as in :mod:`sim.cli`).
ARGUMENTS = "<command line>"


def parse_precision(text: str) -> float:
    """``--precision``: a fraction in (0, 1] (``0.02``) or a percentage (``2%``).

    Raises :class:`InputError` about ``--precision`` otherwise.
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(%?)\s*", text)
    value = float(match.group(1)) / (100.0 if match.group(2) else 1.0) if match else math.nan
    if not 0 < value <= 1:
        message = (
            f"expected a relative half-width in (0, 1] such as 0.02, or a percentage such as "
            f"2%, got {text!r}"
        )
        raise InputError([Problem(ARGUMENTS, 1, 1, "--precision", message)])
    return value


def main_outcomes(model: Model, requested: str | Sequence[str] | None = None) -> list[str]:
    """The outcomes ``--precision`` judges.

    ``requested`` (``"a,b,c"`` or a list) must name numeric outcomes of the model, else an
    :class:`InputError` about ``--precision-outcomes``. By default: the outcomes the model's
    presentation declares for precision (:meth:`Presentation.precision`); a model without a
    presentation gets all its numeric outcomes.
    """
    specs = {spec.name: spec for spec in model.outcome_specs()}
    numeric = [name for name, spec in specs.items() if spec.kind != "category"]
    if requested is None:
        presentation = presentation_of(model)
        if presentation.precision_outcomes or presentation.main_outcomes:
            return presentation.precision(list(specs.values()))
        return numeric
    names = requested.split(",") if isinstance(requested, str) else list(requested)
    names = [name.strip() for name in names if name.strip()]
    problems = []
    for name in names:
        if name not in specs:
            message = f"unknown outcome {name!r} (outcomes: {', '.join(specs)})"
        elif name not in numeric:
            message = f"{name!r} is a category outcome: it has no mean to make precise"
        else:
            continue
        problems.append(Problem(ARGUMENTS, 1, 1, "--precision-outcomes", message))
    if not names:
        message = "names no outcome (expected a comma-separated list such as a,b,c)"
        problems.append(Problem(ARGUMENTS, 1, 1, "--precision-outcomes", message))
    if problems:
        raise InputError(problems)
    return list(dict.fromkeys(names))


@dataclass(frozen=True)
class OutcomePrecision:
    """How precisely one outcome's mean is known after ``n`` non-null values.

    ``relative_half_width`` is ``half_width / |mean|`` (None when undefined: no values, or a
    mean of 0 with a non-zero spread); ``converged`` says whether it meets the target.
    """

    name: str
    n: int
    mean: float | None
    half_width: float | None
    relative_half_width: float | None
    converged: bool

    def ratio(self, target: float) -> float:
        """``relative half-width / target`` (infinite when it cannot be estimated)."""
        if self.converged:
            return 0.0
        if self.relative_half_width is None:
            return math.inf
        return self.relative_half_width / target

    def to_json(self) -> dict[str, Any]:
        """The manifest entry of this outcome."""
        return {
            "relative_half_width": self.relative_half_width,
            "half_width": self.half_width,
            "mean": self.mean,
            "n": self.n,
            "converged": self.converged,
        }


def assess(values: np.ndarray, name: str, target: float) -> OutcomePrecision:
    """The precision of the mean of ``values`` (NaN left out) against ``target``."""
    metrics = numeric_metrics(values)
    n, mean = int(metrics["n"]), metrics["mean"]
    low, high = metrics["ci95"]
    if n == 0:
        return OutcomePrecision(name, 0, None, None, None, converged=True)
    if low is None or high is None or mean is None:
        return OutcomePrecision(name, n, mean, None, None, converged=False)
    half = (high - low) / 2.0
    if half == 0:
        return OutcomePrecision(name, n, mean, 0.0, 0.0, converged=True)
    if mean == 0:
        return OutcomePrecision(name, n, mean, half, None, converged=False)
    relative = half / abs(mean)
    return OutcomePrecision(name, n, mean, half, relative, converged=relative <= target)


def next_total(done: int, precisions: Sequence[OutcomePrecision], target: float, cap: int) -> int:
    """The total replications after the next batch (see the module docstring), at most ``cap``."""
    worst = max((p.ratio(target) for p in precisions), default=0.0)
    growth = min(MAX_GROWTH, max(MIN_GROWTH, SAFETY * worst**2))
    return min(cap, max(done + 1, math.ceil(done * growth)))


@dataclass
class AdaptiveOutput:
    """An adaptive run: the replications run (``output``) and how precise the means are.

    ``batches`` lists the total number of replications after each batch; ``outcomes`` the
    final precision of each judged outcome.
    """

    output: RunOutput
    target: float
    reached: bool
    replications: int
    max_replications: int
    batches: list[int]
    outcomes: dict[str, OutcomePrecision] = field(default_factory=dict)

    def worst(self) -> OutcomePrecision | None:
        """The least precise outcome (None if none was judged)."""
        if not self.outcomes:
            return None
        return max(self.outcomes.values(), key=lambda p: p.ratio(self.target))

    def manifest_entry(self) -> dict[str, Any]:
        """``manifest.json``'s ``precision``."""
        return {
            "target": self.target,
            "reached": self.reached,
            "replications": self.replications,
            "max_replications": self.max_replications,
            "batches": list(self.batches),
            "outcomes": {name: p.to_json() for name, p in self.outcomes.items()},
        }

    def message(self) -> str:
        """The stderr line: reached after N, or not reached and the worst outcome."""
        target = f"{self.target * 100:g}%"
        batches = ", ".join(f"{total:,}" for total in self.batches)
        if self.reached:
            return (
                f"precision {target} reached after {self.replications:,} replications "
                f"(batches: {batches})"
            )
        worst = self.worst()
        if worst is None:  # pragma: no cover - reached is then True
            detail = ""
        elif worst.relative_half_width is None:
            detail = f": worst outcome {worst.name} (mean {worst.mean}, no relative precision)"
        else:
            detail = f": worst outcome {worst.name} at {worst.relative_half_width * 100:.2g}%"
        return (
            f"precision {target} not reached after {self.replications:,} replications"
            f"{detail} (batches: {batches})"
        )


def _values(chunks: Sequence[ChunkResult], name: str) -> np.ndarray:
    """An outcome's values so far as float64, NaN for nulls (as summary.json reads them)."""
    values = np.concatenate([np.asarray(chunk.values[name], dtype=np.float64) for chunk in chunks])
    nulls = np.concatenate([chunk.nulls[name] for chunk in chunks])
    values[nulls] = np.nan
    return values


def run_to_precision(
    model: Model,
    *,
    seed: int,
    precision: float,
    first: int,
    max_replications: int | None = None,
    outcomes: Sequence[str] | None = None,
    workers: int | None = None,
    progress: bool = True,
    executor: str | Executor = "local",
    scheduler: str | None = None,
) -> AdaptiveOutput:
    """Run batches of replications of ``model`` until ``precision`` is reached (module doc).

    ``first`` is the first batch, ``max_replications`` the most to run (default
    :data:`DEFAULT_MAX_FACTOR` x ``first``; the first batch is cut to it), ``outcomes`` the
    outcomes judged (default :func:`main_outcomes`). ``workers``, ``executor`` and
    ``scheduler`` are as for :func:`sim.runner.run_replications`; the executor is kept across
    batches (an :class:`Executor` instance is used as is and left open).
    """
    if not 0 < precision:
        raise ValueError(f"precision must be positive, not {precision}")
    if first < 1:
        raise ValueError(f"the first batch must be at least 1 replication, not {first}")
    cap = DEFAULT_MAX_FACTOR * first if max_replications is None else max_replications
    if cap < 1:
        raise ValueError(f"max_replications must be at least 1, not {cap}")
    judged = main_outcomes(model, outcomes)
    batches: list[int] = []
    total = min(first, cap)
    precisions: dict[str, OutcomePrecision] = {}
    with Session(
        model,
        seed=seed,
        total=total,
        workers=workers,
        progress=progress,
        executor=executor,
        scheduler=scheduler,
    ) as session:
        while True:
            session.run(batches[-1] if batches else 0, total)
            batches.append(total)
            precisions = {
                name: assess(_values(session.done, name), name, precision) for name in judged
            }
            reached = all(p.converged for p in precisions.values())
            if reached or total >= cap:
                break
            total = next_total(total, list(precisions.values()), precision, cap)
            session.extend_to(total)
        output = session.output()
    return AdaptiveOutput(
        output=output,
        target=precision,
        reached=reached,
        replications=total,
        max_replications=cap,
        batches=batches,
        outcomes=precisions,
    )
