"""The sweep file: its schema, and its checks against the base scenario it varies.

A sweep names a base scenario, a design method, the parameters it varies (dotted key paths
into the base scenario, with a range or a list of values) and the replications per point.
Every varied key must exist in the base scenario (defaults included), and every value the
design can give it must be valid there: both ends of a range are checked, and a fractional
value inside it, so that a whole-number key without ``integer: true`` is caught before a
long run rather than in its middle. The size of the design and the number of runs are counted
(:func:`design_points`) and checked against :mod:`sim.limits` before any design is built.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.errors import InputError, Problem, did_you_mean
from sim.limits import (
    MAX_MORRIS_LEVELS,
    MAX_NAME_LENGTH,
    MAX_REPLICATIONS,
    MAX_RESAMPLES,
    MAX_SEED,
    MAX_SWEEP_POINTS,
    MAX_SWEEP_RUNS,
)
from sim.scenario import Document, load_document, set_value, validate
from sim.scenario.base import NAME_PATTERN, WholeNumber
from sim.scenario.pydantic_errors import WHOLE_NUMBER

Method = Literal["grid", "list", "lhs", "sobol", "morris"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


_EXACT_INTEGERS = 2**53
"""Whole numbers up to this size are exact as floats (and fit the design's int64 columns)."""


class Range(_Section):
    """A continuous (or whole-number) range for lhs, sobol and morris designs."""

    low: float
    high: float
    integer: bool = Field(
        False, description="Whole numbers only: the design picks integers in [low, high]."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"needs low < high (got low={self.low:g}, high={self.high:g})")
        got = f"(got low={self.low:g}, high={self.high:g})"
        if not math.isfinite(self.high - self.low):
            raise ValueError(f"the range is too wide to compute with {got}")
        if self.integer and max(abs(self.low), abs(self.high)) > _EXACT_INTEGERS:
            raise ValueError(f"an integer range must lie within -2**53 .. 2**53 {got}")
        return self


class Values(_Section):
    """Explicit values for grid and list designs."""

    values: list[Any] = Field(min_length=1)


class Output(_Section):
    """An outcome to analyse, with what a null (an event that did not happen) counts as."""

    outcome: str
    null_as: float | None = Field(
        None,
        description="Count a null as this value (e.g. the horizon for a release that never "
        "came); by default nulls are left out of a point's mean.",
    )


class SweepSpec(_Section):
    """A parameter sweep over a base scenario."""

    name: str = Field(
        pattern=NAME_PATTERN, max_length=MAX_NAME_LENGTH, description="The sweep folder's name."
    )
    description: str = ""
    base: str = Field(description="The base scenario, relative to this file.")
    method: Method
    samples: WholeNumber | None = Field(
        None,
        ge=1,
        le=MAX_SWEEP_POINTS,
        description="Base sample size for lhs, sobol and morris (trajectories).",
    )
    replications: WholeNumber = Field(
        10, ge=1, le=MAX_REPLICATIONS, description="Replications per design point."
    )
    seed: WholeNumber = Field(
        0, ge=0, le=MAX_SEED, description="Seeds the design and every replication."
    )
    parameters: dict[str, Range | Values] = Field(min_length=1)
    outputs: list[str | Output] | None = Field(
        None, description="Outcomes to analyse (sensitivity): default every numeric outcome."
    )
    second_order: bool = Field(False, description="Sobol: also second-order indices.")
    levels: WholeNumber = Field(4, ge=2, le=MAX_MORRIS_LEVELS, description="Morris: grid levels.")
    resamples: WholeNumber = Field(
        1000, ge=10, le=MAX_RESAMPLES, description="Bootstrap resamples for index CIs."
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="Level of the index CIs.")
    chunk_runs: WholeNumber | None = Field(
        None,
        ge=1,
        le=MAX_SWEEP_RUNS,
        description="Runs per unit of work sent to a worker (default: automatic).",
    )

    def output_list(self) -> list[Output] | None:
        """``outputs`` with plain names turned into :class:`Output`."""
        if self.outputs is None:
            return None
        return [o if isinstance(o, Output) else Output(outcome=o) for o in self.outputs]

    @model_validator(mode="after")
    def _method_needs(self) -> SweepSpec:
        ranges = [k for k, p in self.parameters.items() if isinstance(p, Range)]
        lists = [k for k, p in self.parameters.items() if isinstance(p, Values)]
        if self.method in ("grid", "list") and ranges:
            raise ValueError(
                f"method {self.method} takes `values:` lists, but {ranges[0]} has a range"
            )
        if self.method in ("lhs", "sobol", "morris"):
            if lists:
                raise ValueError(
                    f"method {self.method} takes ranges (low, high), but {lists[0]} has values"
                )
            if self.samples is None:
                raise ValueError(f"method {self.method} needs `samples`")
        if self.method == "list":
            lengths = {len(p.values) for p in self.parameters.values() if isinstance(p, Values)}
            if len(lengths) > 1:
                raise ValueError(
                    f"method list pairs the i-th values of every parameter: the lists must "
                    f"have the same length (got {sorted(lengths)})"
                )
        if self.method in ("sobol", "morris") and len(self.parameters) < 2:
            raise ValueError(f"method {self.method} needs at least two parameters")
        return self


def design_points(spec: SweepSpec) -> int:
    """How many points ``spec``'s design has, computed without building it.

    grid: the product of the value counts; list: the common length; lhs: ``samples``; sobol
    (Saltelli): ``samples * (k + 2)``, or ``samples * (2k + 2)`` with second-order indices;
    morris: ``samples * (k + 1)`` (k: the number of parameters).
    """
    counts = [len(p.values) for p in spec.parameters.values() if isinstance(p, Values)]
    k = len(spec.parameters)
    samples = spec.samples or 1
    if spec.method == "grid":
        return math.prod(counts)
    if spec.method == "list":
        return max(counts, default=0)
    if spec.method == "lhs":
        return samples
    if spec.method == "sobol":
        return samples * (2 * k + 2 if spec.second_order else k + 2)
    return samples * (k + 1)


def check_size(spec: SweepSpec, document: Document) -> None:
    """Refuse a sweep with more design points or runs than :mod:`sim.limits` allows.

    Counted by :func:`design_points`, before any design is built; the problem is at
    ``parameters`` (a grid or a list), ``samples`` or ``replications``.
    """
    points = design_points(spec)
    if points > MAX_SWEEP_POINTS:
        where = ("parameters",) if spec.method in ("grid", "list") else ("samples",)
        message = (
            f"the design has {points:,} points ({_points_formula(spec)}), more than the limit "
            f"of {MAX_SWEEP_POINTS:,}"
        )
        raise InputError([document.problem(where, message, value=where != ("parameters",))])
    runs = points * spec.replications
    if runs > MAX_SWEEP_RUNS:
        message = (
            f"the sweep has {runs:,} runs ({points:,} points x {spec.replications:,} "
            f"replications), more than the limit of {MAX_SWEEP_RUNS:,}"
        )
        raise InputError([document.problem(("replications",), message)])


def _points_formula(spec: SweepSpec) -> str:
    k = len(spec.parameters)
    if spec.method == "grid":
        counts = [len(p.values) for p in spec.parameters.values() if isinstance(p, Values)]
        return "the product of the value counts " + " x ".join(str(n) for n in counts)
    if spec.method == "sobol":
        factor = f"(2 x {k} + 2)" if spec.second_order else f"({k} + 2)"
        return f"samples {spec.samples:,} x {factor}"
    if spec.method == "morris":
        return f"samples {spec.samples:,} x ({k} + 1)"
    return f"samples {spec.samples:,}"


def looks_like_sweep(data: dict[str, Any]) -> bool:
    """Whether a YAML document is a sweep rather than a scenario."""
    return "base" in data and "method" in data


@dataclass
class LoadedSweep:
    """A validated sweep, its document, and its validated base scenario."""

    spec: SweepSpec
    document: Document
    base_path: Path
    base_document: Document
    base_scenario: BaseModel


def load_base(document: Document, base: str) -> tuple[Path, BaseModel, Document]:
    """The base scenario a sweep or calibration file names (relative to that file): its path,
    the validated scenario and its document; problems at the ``base`` key or in the base."""
    from sim.model import load_scenario

    base_path = (Path(document.path).parent / base).resolve()
    if not base_path.is_file():
        raise InputError(
            [document.problem(("base",), f"cannot read base scenario '{base}': no such file")]
        )
    base_scenario, base_document = load_scenario(base_path)
    return base_path, base_scenario, base_document


def load_sweep(path: str | Path) -> LoadedSweep:
    """Read and check a sweep file and its base scenario; raises InputError on any problem."""
    document = load_document(path)
    spec = validate(document, SweepSpec)
    check_size(spec, document)
    base_path, base_scenario, base_document = load_base(document, spec.base)
    loaded = LoadedSweep(spec, document, base_path, base_document, base_scenario)
    check_parameters(loaded)
    return loaded


def resolved_has(data: Any, parts: list[str]) -> bool:
    """Whether the key path ``parts`` exists in a resolved scenario (mappings and lists)."""
    node = data
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def key_paths(data: Any, prefix: str = "") -> list[str]:
    """Every key path of a resolved scenario's mappings (``detention.storage_fee_eur_per_day``)."""
    if isinstance(data, dict):
        out = []
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            out.append(path)
            out.extend(key_paths(value, path))
        return out
    return []


def key_path_hint(key: str, resolved: Any) -> str:
    """``; did you mean '...'?`` for a key path close to one of the scenario's, else ``''``."""
    return did_you_mean(key, key_paths(resolved))


def check_parameters(loaded: LoadedSweep) -> None:
    """Every varied key exists in the base scenario, and every value it may take is valid."""
    spec = loaded.spec
    resolved = loaded.base_scenario.model_dump(mode="json", by_alias=True)
    problems: list[Problem] = []
    for key, parameter in spec.parameters.items():
        where = ("parameters", key)
        if not resolved_has(resolved, key.split(".")):
            problems.append(
                loaded.document.problem(
                    where,
                    f"'{key}' is not a key of the base scenario {spec.base}"
                    f"{key_path_hint(key, resolved)}",
                    value=False,
                )
            )
            continue
        for label, value in _probe_values(parameter):
            trial = set_value(loaded.base_document, key, value)
            try:
                validate(trial, type(loaded.base_scenario))
            except InputError as error:
                message = "; ".join(
                    re.sub(r" \(got [^)]*\)$", "", p.message) for p in error.problems
                )
                hint = ""
                if (
                    isinstance(parameter, Range)
                    and not parameter.integer
                    and ("integer" in message or WHOLE_NUMBER in message)
                ):
                    hint = " (a whole-number key: add `integer: true` to the range)"
                shown = f"{value:.6g}" if isinstance(value, float) else repr(value)
                problems.append(
                    loaded.document.problem(
                        where, f"{label} {shown} is invalid here: {message}{hint}", value=False
                    )
                )
                break
    problems.extend(_check_outputs(loaded))
    if problems:
        raise InputError(problems)


def _check_outputs(loaded: LoadedSweep) -> list[Problem]:

    from sim.model import build_model

    outputs = loaded.spec.output_list()
    if not outputs:
        return []
    model = build_model(loaded.base_scenario, loaded.base_path.parent)
    numeric = [s.name for s in model.outcome_specs() if s.kind in ("int", "float")]
    problems = []
    for index, output in enumerate(outputs):
        if output.outcome not in numeric:
            hint = did_you_mean(output.outcome, numeric)
            problems.append(
                loaded.document.problem(
                    ("outputs", index), f"'{output.outcome}' is not a numeric outcome{hint}"
                )
            )
    return problems


def _probe_values(parameter: Range | Values) -> list[tuple[str, Any]]:
    if isinstance(parameter, Values):
        return [("value", v) for v in parameter.values]
    if parameter.integer:
        low, high = math.ceil(parameter.low), math.floor(parameter.high)
        return [("low", low), ("high", high)]
    inside = parameter.low + (parameter.high - parameter.low) * 0.4142135623730951
    return [("low", parameter.low), ("high", parameter.high), ("a value inside the range", inside)]


def scenario_data(base_data: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The base scenario's data with the design point's values set at their key paths."""
    data = copy.deepcopy(base_data)
    for key, value in values.items():
        node: Any = data
        parts = key.split(".")
        for part in parts[:-1]:
            if isinstance(node, list):
                node = node[int(part)]
            else:
                node = node.setdefault(part, {})
        last = parts[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return data
