"""Reading a run or sweep folder for its report: summary, runs, series, manifest, scenario.

Everything a page shows about the model comes from the folder: the outcome specs and the
presentation that ``runs.parquet`` carries (:mod:`sim.results.metadata`), so a user model's run
gets a full report from its own specs and no page names a model.
"""

from __future__ import annotations

import math
import shlex
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from sim.analysis.thresholds import float_values, succeeded
from sim.errors import InputError, Problem
from sim.files import read_json, read_schema, read_table
from sim.fmt import DASH
from sim.fmt import number as format_number
from sim.model.interface import OutcomeSpec, Presentation
from sim.results.metadata import outcome_specs_from_schema, presentation_from_schema


def _problem(path: Path, message: str, line: int = 1, col: int = 1) -> InputError:
    return InputError([Problem(str(path), line, col, "", message)])


def read_yaml(path: Path) -> tuple[str, dict[str, Any]]:
    """The text of a YAML file and its top-level mapping ({} when missing or unreadable)."""
    if not path.is_file():
        return "", {}
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        return text, {}
    return text, data if isinstance(data, dict) else {}


def start_date(value: object) -> date | None:
    """Day 0 of a scenario (``start_date``), if it is a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def when(stamp: object) -> str:
    """An ISO UTC time stamp as ``2025-11-25 16:05 UTC``."""
    if not isinstance(stamp, str):
        return DASH
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def command(manifest: Mapping[str, Any]) -> str:
    """The command line that made the folder (from its manifest)."""
    words = manifest.get("command")
    if isinstance(words, list):
        return shlex.join(str(part) for part in words)
    return DASH


def numeric(table: pa.Table, name: str) -> np.ndarray:
    """A column as floats, nulls as NaN."""
    return float_values(table.column(name))


def is_numeric_type(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def mapping(value: object) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one (for optional parts of JSON and YAML)."""
    return dict(value) if isinstance(value, Mapping) else {}


def sqrt_or_none(value: object) -> float | None:
    return math.sqrt(value) if isinstance(value, int | float) and value >= 0 else None


def float_or_none(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


# --------------------------------------------------------------------------------------------
# What runs.parquet says about its outcomes


@dataclass(frozen=True)
class Outcomes:
    """The outcome specs (by name) and the model's presentation of a folder's runs.parquet."""

    specs: dict[str, OutcomeSpec]
    presentation: Presentation

    def unit(self, name: str) -> str:
        spec = self.specs.get(name)
        return spec.unit if spec else ""

    def description(self, name: str) -> str:
        spec = self.specs.get(name)
        return spec.description if spec else ""


def read_outcomes(schema: pa.Schema, exclude: Sequence[str] = ()) -> Outcomes:
    """The outcomes of a runs.parquet schema (``exclude``: a sweep's parameter columns)."""
    specs = outcome_specs_from_schema(
        schema, exclude=("replication", "seed", "point", "error", *exclude)
    )
    return Outcomes({spec.name: spec for spec in specs}, presentation_from_schema(schema))


# --------------------------------------------------------------------------------------------
# Run folders


@dataclass(frozen=True)
class RunFolder:
    """A run folder as its report reads it."""

    path: Path
    summary: dict[str, Any]
    manifest: dict[str, Any]
    resolved_text: str
    resolved: dict[str, Any]
    schema: pa.Schema
    outcomes: Outcomes

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        return self.summary.get("metrics") or {}

    @property
    def categories(self) -> dict[str, dict[str, Any]]:
        return self.summary.get("categories") or {}

    def numeric_columns(self) -> list[str]:
        """The numeric outcome columns, in file order."""
        return [
            f.name
            for f in self.schema
            if is_numeric_type(f.type) and f.name not in ("replication", "seed", "point")
        ]

    def columns(self, names: Sequence[str]) -> pa.Table:
        return read_table(self.path / "runs.parquet", columns=list(names))

    def series(self) -> pa.Table | None:
        """timeseries.parquet (the daily bands), if the folder has one."""
        path = self.path / "timeseries.parquet"
        return read_table(path) if path.is_file() else None


def read_run_folder(folder: Path) -> RunFolder:
    """Read the parts of a run folder a report needs (summary.json is required)."""
    summary = read_json(folder / "summary.json")
    manifest = read_json(folder / "manifest.json", required=False) or {}
    resolved_text, resolved = read_yaml(folder / "scenario.resolved.yaml")
    schema = read_schema(folder / "runs.parquet")
    return RunFolder(
        folder, summary, manifest, resolved_text, resolved, schema, read_outcomes(schema)
    )


# --------------------------------------------------------------------------------------------
# Sweep folders


@dataclass
class Parameter:
    """A varied key path: its design values (numeric, or codes of labels) and range."""

    key: str
    values: np.ndarray
    labels: tuple[str, ...]
    low: float
    high: float
    spec: str


def read_parameters(
    design: pa.Table, keys: Sequence[str], spec: Mapping[str, Any]
) -> list[Parameter]:
    """Each varied key path of a design, with its range as the sweep file gives it."""
    parameters = []
    for key in keys:
        column = design.column(key)
        entry = mapping(spec.get(key))
        if is_numeric_type(column.type) or pa.types.is_boolean(column.type):
            values = numeric(design, key)
            labels: tuple[str, ...] = ()
        else:
            raw = [str(v) for v in column.to_pylist()]
            labels = tuple(
                dict.fromkeys(str(v) for v in entry.get("values", [])) or sorted(set(raw))
            )
            labels = labels + tuple(sorted(set(raw) - set(labels)))
            codes = {label: index for index, label in enumerate(labels)}
            values = np.array([codes[v] for v in raw], dtype=float)
        finite = values[np.isfinite(values)]
        low = float(finite.min()) if finite.size else math.nan
        high = float(finite.max()) if finite.size else math.nan
        if isinstance(entry.get("low"), int | float) and isinstance(entry.get("high"), int | float):
            low, high = float(entry["low"]), float(entry["high"])
            text = f"{format_number(low)} \u2013 {format_number(high)}"
            if entry.get("integer"):
                text += " (whole numbers)"
        elif "values" in entry:
            shown = ", ".join(str(v) for v in entry["values"][:8])
            more = f", \u2026 ({len(entry['values'])} values)" if len(entry["values"]) > 8 else ""
            text = f"values {shown}{more}"
        else:
            text = f"{format_number(low)} \u2013 {format_number(high)}"
        parameters.append(Parameter(key, values, labels, low, high, text))
    return parameters


def output_names(summary: Mapping[str, Any]) -> list[str]:
    """The outputs a sweep analysed (summary.json's ``outputs``: names or ``{outcome: ...}``)."""
    names = []
    for item in summary.get("outputs") or []:
        name = item.get("outcome") if isinstance(item, dict) else item
        if isinstance(name, str):
            names.append(name)
    return names


@dataclass(frozen=True)
class PointMeans:
    """Per point id, the mean of each outcome over its successful runs; the run count, the
    failed-run count and the last line of each error message with its count."""

    means: dict[str, np.ndarray]
    runs: int
    failed: int
    errors: Counter[str]


def point_means(
    runs: Path, outcomes: Sequence[str], null_as: Mapping[str, float], points: int
) -> PointMeans:
    """Per point, the mean of each outcome over its successful runs (nulls as ``null_as``
    where given, else left out); also the run count, failed-run count and error messages."""
    schema = read_schema(runs)
    wanted = [name for name in outcomes if name in schema.names]
    columns = ["point", *wanted] + (["error"] if "error" in schema.names else [])
    table = read_table(runs, columns=columns)
    point = np.asarray(table.column("point").to_numpy(), dtype=np.int64)
    errors: Counter[str] = Counter()
    ok = succeeded(table)
    if ok is None:
        ok = np.ones(table.num_rows, dtype=bool)
    else:
        error = table.column("error")
        for message in error.filter(pc.invert(pc.is_null(error))).to_pylist():
            first = str(message).strip().splitlines()[-1:] or [""]
            errors[first[0][:200]] += 1
    size = max(points, int(point.max()) + 1 if point.size else 0)
    means = {}
    for name in wanted:
        values = numeric(table, name)
        if name in null_as:
            values = np.where(np.isnan(values), float(null_as[name]), values)
        good = ok & np.isfinite(values)
        total = np.bincount(point[good], weights=values[good], minlength=size)
        count = np.bincount(point[good], minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[name] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return PointMeans(means, table.num_rows, int((~ok).sum()), errors)


@dataclass(frozen=True)
class SweepFolder:
    """A sweep folder as its report reads it; point means in design row order."""

    path: Path
    summary: dict[str, Any]
    manifest: dict[str, Any]
    sensitivity: dict[str, Any]
    discovery: Any
    boxes: list[dict[str, Any]]
    sweep_text: str
    sweep: dict[str, Any]
    base_text: str
    base: dict[str, Any]
    design: pa.Table
    keys: list[str]
    point_ids: np.ndarray
    parameters: list[Parameter]
    outputs: list[str]
    null_as: dict[str, float]
    means: dict[str, np.ndarray]
    runs: int
    failed: int
    errors: Counter[str]
    outcomes: Outcomes

    @property
    def name(self) -> str:
        return str(self.summary.get("sweep") or self.sweep.get("name") or self.path.name)

    @property
    def method(self) -> str:
        return str(self.summary.get("method") or self.sweep.get("method") or "?")


def boxes_of(discovery: Any) -> list[dict[str, Any]]:
    """The boxes of discovery.json: a list of boxes (or ``{"boxes": [...]}``)."""
    if isinstance(discovery, dict):
        discovery = discovery.get("boxes", [discovery] if "limits" in discovery else None)
    if not isinstance(discovery, list):
        return []
    return [box for box in discovery if isinstance(box, dict)]


def read_sweep_folder(folder: Path) -> SweepFolder:
    """Read a sweep folder: its files, design and the point means of its outputs and of the
    outcomes of its discovered boxes."""
    summary = read_json(folder / "summary.json")
    manifest = read_json(folder / "manifest.json", required=False) or {}
    sensitivity = read_json(folder / "sensitivity.json", required=False) or {}
    discovery = read_json(folder / "discovery.json", required=False)
    sweep_text, sweep = read_yaml(folder / "sweep.yaml")
    base_text, base = read_yaml(folder / "base.resolved.yaml")
    design = read_table(folder / "design.parquet")
    keys = [k for k in design.column_names if k != "point"]
    point_ids = (
        np.asarray(design.column("point").to_numpy(), dtype=np.int64)
        if "point" in design.column_names
        else np.arange(design.num_rows)
    )
    parameters = read_parameters(design, keys, mapping(sweep.get("parameters")))
    outputs = output_names(summary)
    null_as = {k: float(v) for k, v in (summary.get("null_as") or {}).items()}
    boxes = boxes_of(discovery)
    wanted = list(dict.fromkeys([*outputs, *(str(box.get("outcome")) for box in boxes)]))
    found = point_means(folder / "runs.parquet", wanted, null_as, design.num_rows)
    means = {out: values[point_ids] for out, values in found.means.items()}
    outcomes = read_outcomes(read_schema(folder / "runs.parquet"), exclude=keys)
    return SweepFolder(
        path=folder,
        summary=summary,
        manifest=manifest,
        sensitivity=sensitivity,
        discovery=discovery,
        boxes=boxes,
        sweep_text=sweep_text,
        sweep=sweep,
        base_text=base_text,
        base=base,
        design=design,
        keys=keys,
        point_ids=point_ids,
        parameters=parameters,
        outputs=[out for out in outputs if out in means],
        null_as=null_as,
        means=means,
        runs=found.runs,
        failed=found.failed,
        errors=found.errors,
        outcomes=outcomes,
    )
