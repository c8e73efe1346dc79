"""The calibration file: its schema, and its checks against the base scenario it fits.

A calibration names a base scenario, priors over key paths of it (the sweep key-path syntax,
each prior a distribution of :mod:`sim.scenario.distributions`), the observed targets (an
outcome, or a series at a day, each with the sd of its observation error) and the targets held
out of the fit. Every key path must exist in the base scenario and every value its prior can
give must be valid there (three quantiles are tried); every target must name an outcome or a
series of the base's model; a held-out name must be a target. Problems are reported at their
``FILE:LINE:COL`` with a did-you-mean where a close name exists.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.errors import InputError, Problem, did_you_mean
from sim.limits import MAX_NAME_LENGTH, MAX_SEED
from sim.scenario import Document, load_document, set_value, validate
from sim.scenario.base import NAME_PATTERN, WholeNumber
from sim.scenario.distributions import Dist, Distribution
from sim.sweeps.spec import key_path_hint, load_base, resolved_has

#: Most particles per population, and populations, a calibration may ask for.
MAX_PARTICLES = 100_000
MAX_POPULATIONS = 100


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


class Target(_Section):
    """An observed figure: an outcome column, or a series at a day, with its error's sd."""

    observed: float
    sd: float = Field(gt=0, description="Standard deviation of the observation error.")
    outcome: str | None = Field(None, description="The outcome (default: the target's name).")
    series: str | None = Field(None, description="A series of the model, read at `day`.")
    day: WholeNumber | None = Field(None, ge=0, description="The series' step (day) to read.")
    null_as: float | None = Field(
        None,
        description="Count a null outcome (an event that did not happen) as this value; by "
        "default a run with a null target is rejected.",
    )

    @model_validator(mode="after")
    def _series_or_outcome(self) -> Target:
        if self.series is not None and self.outcome is not None:
            raise ValueError("give either `outcome` or `series` (with `day`), not both")
        if (self.series is None) != (self.day is None):
            raise ValueError("a series target needs both `series` and `day`")
        return self


class CalibrationSpec(_Section):
    """An ABC-SMC calibration of a base scenario's parameters to observed targets."""

    name: str = Field(pattern=NAME_PATTERN, max_length=MAX_NAME_LENGTH)
    description: str = ""
    base: str = Field(description="The base scenario, relative to this file.")
    method: Literal["abc-smc"] = "abc-smc"
    particles: WholeNumber = Field(1000, ge=10, le=MAX_PARTICLES)
    max_populations: WholeNumber = Field(10, ge=1, le=MAX_POPULATIONS)
    min_acceptance: float = Field(
        0.0, ge=0, lt=1, description="Stop when a population's acceptance rate falls below."
    )
    quantile: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="Each population's tolerance: this quantile of the previous population's "
        "distances (never below 1, the exact target).",
    )
    max_tolerance_ratio: float = Field(
        0.8,
        gt=0,
        le=1,
        description="Each population's tolerance is at most this times the previous one, so a "
        "model whose own noise dominates still gets to the exact target (tolerance 1).",
    )
    seed: WholeNumber = Field(0, ge=0, le=MAX_SEED)
    parameters: dict[str, Distribution] = Field(
        min_length=1, description="Priors over key paths of the base scenario."
    )
    targets: dict[str, Target] = Field(min_length=1)
    holdout: list[str] = Field(default_factory=list)
    chunk_runs: WholeNumber | None = Field(None, ge=1, le=10_000)

    def priors(self) -> dict[str, Dist]:
        """The priors by key path (validated :class:`Dist` objects)."""
        return {key: prior for key, prior in self.parameters.items() if isinstance(prior, Dist)}

    def fitted(self) -> list[str]:
        """The targets of the fit (not held out), in file order."""
        return [name for name in self.targets if name not in self.holdout]


def looks_like_calibration(data: dict[str, Any]) -> bool:
    """Whether a YAML document is a calibration file."""
    return "base" in data and "targets" in data


@dataclass
class LoadedCalibration:
    """A validated calibration, its document, and its validated base scenario."""

    spec: CalibrationSpec
    document: Document
    base_path: Path
    base_document: Document
    base_scenario: BaseModel


def load_calibration(path: str | Path) -> LoadedCalibration:
    """Read and check a calibration file and its base; raises InputError on any problem."""
    document = load_document(path)
    spec = validate(document, CalibrationSpec)
    base_path, base_scenario, base_document = load_base(document, spec.base)
    loaded = LoadedCalibration(spec, document, base_path, base_document, base_scenario)
    check_calibration(loaded)
    return loaded


def check_calibration(loaded: LoadedCalibration) -> None:
    """Key paths, priors, targets and holdout checked against the base; InputError if not."""
    from sim.model import build_model

    spec, document = loaded.spec, loaded.document
    resolved = loaded.base_scenario.model_dump(mode="json", by_alias=True)
    problems: list[Problem] = []
    for key, prior in spec.priors().items():
        where = ("parameters", key)
        if prior.discrete:
            problems.append(
                document.problem(
                    where, f"a prior must be a continuous distribution, not {prior.describe()}"
                )
            )
            continue
        if not resolved_has(resolved, key.split(".")):
            hint = key_path_hint(key, resolved)
            problems.append(
                document.problem(
                    where,
                    f"'{key}' is not a key of the base scenario {spec.base}{hint}",
                    value=False,
                )
            )
            continue
        for q in (0.001, 0.5, 0.999):
            value = float(prior.ppf(q))
            trial = set_value(loaded.base_document, key, value)
            try:
                validate(trial, type(loaded.base_scenario))
            except InputError as error:
                message = "; ".join(
                    re.sub(r" \(got [^)]*\)$", "", p.message) for p in error.problems
                )
                problems.append(
                    document.problem(
                        where,
                        f"the prior's {q:g} quantile {value:.6g} is invalid here: {message}",
                        value=True,
                    )
                )
                break
    model = build_model(loaded.base_scenario, loaded.base_path.parent)
    numeric = [s.name for s in model.outcome_specs() if s.kind in ("int", "float")]
    series = list(model.series_names())
    for name, target in spec.targets.items():
        if target.series is not None:
            if target.series not in series:
                known = ", ".join(series) or "none"
                problems.append(
                    document.problem(
                        ("targets", name, "series"),
                        f"'{target.series}' is not a series of the model (its series: {known})"
                        f"{did_you_mean(target.series, series)}",
                    )
                )
            continue
        outcome = target.outcome or name
        if outcome not in numeric:
            at: tuple[str, ...] = (
                ("targets", name, "outcome") if target.outcome else ("targets", name)
            )
            problems.append(
                document.problem(
                    at,
                    f"'{outcome}' is not a numeric outcome of the model"
                    f"{did_you_mean(outcome, numeric)}",
                    value=target.outcome is not None,
                )
            )
    for index, name in enumerate(spec.holdout):
        if name not in spec.targets:
            problems.append(
                document.problem(
                    ("holdout", index),
                    f"'{name}' is not a target{did_you_mean(name, list(spec.targets))}",
                )
            )
    if not spec.fitted() and not problems:
        problems.append(document.problem(("holdout",), "every target is held out: none to fit"))
    if problems:
        raise InputError(problems)


def summary_names(spec: CalibrationSpec) -> list[str]:
    """Every target's name, in file order (the columns of the simulated summaries)."""
    return list(spec.targets)


def finite(value: float) -> bool:
    return math.isfinite(value)
