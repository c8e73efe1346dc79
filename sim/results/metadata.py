"""What a results table says about itself: each outcome's spec as Arrow field metadata, and the
model's presentation as schema metadata, written with the table and read back from any
``runs.parquet`` (so a report, a comparison or ``RunResult.open`` need nothing but the file)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from sim.model.interface import OutcomeKind, OutcomeSpec, Presentation

#: The schema metadata key of a results table that holds the model's presentation (JSON).
PRESENTATION_KEY = "sim.presentation"

#: Columns of every results table that are not outcomes.
RESERVED_COLUMNS = ("point", "replication", "seed", "error")

_KINDS: dict[str, OutcomeKind] = {"int": "int", "float": "float", "category": "category"}


def field_metadata(spec: OutcomeSpec) -> dict[str, str]:
    """An outcome spec as Arrow field metadata (what :func:`spec_from_field` reads back)."""
    return {
        "kind": spec.kind,
        "description": spec.description,
        "unit": spec.unit,
        "nullable": "true" if spec.nullable else "false",
        "categories": json.dumps(list(spec.categories)),
    }


def schema_metadata(presentation: Presentation | None) -> dict[str, str]:
    """The schema-level metadata of a results table: the model's presentation."""
    return {PRESENTATION_KEY: (presentation or Presentation()).to_json()}


def _text(metadata: Mapping[bytes, bytes], key: str) -> str:
    return metadata.get(key.encode(), b"").decode("utf-8", "replace")


def _kind_of_type(arrow_type: pa.DataType) -> OutcomeKind | None:
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "category"
    if pa.types.is_dictionary(arrow_type):
        return "category"
    return None


def spec_from_field(arrow_field: pa.Field) -> OutcomeSpec | None:
    """The outcome spec a field of a results table carries (None: not an outcome column).

    A field written without metadata (an older folder) gets its kind from its Arrow type.
    """
    if arrow_field.name in RESERVED_COLUMNS:
        return None
    metadata: Mapping[bytes, bytes] = arrow_field.metadata or {}
    kind = _KINDS.get(_text(metadata, "kind")) or _kind_of_type(arrow_field.type)
    if kind is None:
        return None
    nullable_text = _text(metadata, "nullable")
    nullable = nullable_text == "true" if nullable_text else arrow_field.nullable
    categories: tuple[str, ...] = ()
    raw = _text(metadata, "categories")
    if raw:
        try:
            loaded: Any = json.loads(raw)
        except json.JSONDecodeError:
            loaded = []
        if isinstance(loaded, list):
            categories = tuple(str(value) for value in loaded)
    return OutcomeSpec(
        arrow_field.name,
        kind,
        _text(metadata, "description"),
        _text(metadata, "unit"),
        nullable=nullable,
        categories=categories,
    )


def specs_from_schema(schema: pa.Schema, skip: tuple[str, ...] = ()) -> list[OutcomeSpec]:
    """The outcome specs of a results table, in column order (``skip``: columns to leave out,
    such as a sweep's parameters)."""
    specs = []
    for arrow_field in schema:
        if arrow_field.name in skip:
            continue
        spec = spec_from_field(arrow_field)
        if spec is not None:
            specs.append(spec)
    return specs


def presentation_from_schema(schema: pa.Schema) -> Presentation:
    """The presentation a results table carries (the default one if it has none)."""
    raw = (schema.metadata or {}).get(PRESENTATION_KEY.encode())
    if not raw:
        return Presentation()
    try:
        return Presentation.from_json(raw)
    except (ValueError, KeyError, TypeError):
        return Presentation()
