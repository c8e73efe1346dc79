"""What a results table says about its outcomes: the specs and the presentation it carries,
written with the table (:func:`field_metadata`, :func:`schema_metadata`) and read back.

A ``runs.parquet`` written by the runner keeps each outcome's :class:`OutcomeSpec` as field
metadata (``kind``, ``description``, ``unit``, ``nullable``, ``categories``) and the model's
:class:`Presentation` as schema metadata (JSON under :data:`PRESENTATION_KEY`). These readers
give them back; a table without them (an older folder, a hand-made one) gets specs guessed from
the column types and the default presentation, so whatever reads results (reports,
comparisons) needs nothing but the table.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pyarrow as pa

from sim.model.interface import OutcomeKind, OutcomeSpec, Presentation

#: The schema metadata key that holds the model's presentation (JSON), as the runner writes it.
PRESENTATION_KEY = "sim.presentation"

#: Columns of runs.parquet that are not outcomes.
NON_OUTCOME_COLUMNS = ("replication", "seed", "point", "error")


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


def _text(metadata: dict[bytes, bytes], key: str) -> str | None:
    value = metadata.get(key.encode())
    return value.decode("utf-8") if value is not None else None


def _guessed_kind(arrow_type: pa.DataType) -> OutcomeKind | None:
    if pa.types.is_integer(arrow_type) or pa.types.is_boolean(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "category"
    if pa.types.is_dictionary(arrow_type):
        return "category"
    return None


def spec_from_field(field: pa.Field) -> OutcomeSpec | None:
    """The outcome spec a field carries; guessed from its type when it carries none (None for
    a column that is no outcome: an unsupported type)."""
    metadata = dict(field.metadata or {})
    kind_text = _text(metadata, "kind")
    kind: OutcomeKind | None
    if kind_text in ("int", "float", "category"):
        kind = kind_text  # type: ignore[assignment]
    else:
        kind = _guessed_kind(field.type)
    if kind is None:
        return None
    categories: tuple[str, ...] = ()
    raw = _text(metadata, "categories")
    if raw:
        try:
            loaded = json.loads(raw)
        except ValueError:
            loaded = []
        if isinstance(loaded, list):
            categories = tuple(str(value) for value in loaded)
    nullable_text = _text(metadata, "nullable")
    nullable = nullable_text == "true" if nullable_text is not None else field.nullable
    return OutcomeSpec(
        name=field.name,
        kind=kind,
        description=_text(metadata, "description") or "",
        unit=_text(metadata, "unit") or "",
        nullable=nullable,
        categories=categories,
    )


def outcome_specs_from_schema(
    schema: pa.Schema, exclude: Sequence[str] = NON_OUTCOME_COLUMNS
) -> list[OutcomeSpec]:
    """The outcome specs of a results table, in column order (columns in ``exclude``, e.g. a
    sweep's parameters, left out)."""
    specs = []
    for field in schema:
        if field.name in exclude:
            continue
        spec = spec_from_field(field)
        if spec is not None:
            specs.append(spec)
    return specs


def has_outcome_metadata(schema: pa.Schema) -> bool:
    """Whether the table carries outcome specs (a field with a ``kind``)."""
    return any(field.metadata and b"kind" in field.metadata for field in schema)


def presentation_from_schema(schema: pa.Schema) -> Presentation:
    """The presentation a results table carries, or the default one (every numeric outcome
    main, no breakdowns, series by name) when it has none or it cannot be read."""
    raw = _text(dict(schema.metadata or {}), PRESENTATION_KEY)
    if not raw:
        return Presentation()
    try:
        return Presentation.from_json(raw)
    except (ValueError, TypeError, KeyError):
        return Presentation()
