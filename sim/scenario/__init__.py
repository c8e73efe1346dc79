"""Scenarios: the schema, YAML loading with positions, and distributions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sim.scenario.schema import Scenario
from sim.scenario.yamlio import Document, apply_overrides, load_document, validate


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> tuple[Scenario, Document]:
    """Read, merge (``extends``), override (``--set``) and validate a scenario file.

    Raises :class:`sim.errors.InputError` with every problem found, each at its file and line.
    """
    document = apply_overrides(load_document(path), overrides)
    return validate(document, Scenario), document


__all__ = ["Document", "Scenario", "load_scenario"]
