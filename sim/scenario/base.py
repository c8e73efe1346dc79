"""What every scenario schema builds on: strict sections, and the keys every scenario has.

A model's schema (the built-in model's lives in its own folder, ``sim/model/NAME/schema.py``)
subclasses :class:`ScenarioBase` and builds its sections from :class:`Section`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Section(BaseModel):
    """Base of every schema section: unknown keys are errors, defaults are validated."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class ScenarioBase(Section):
    """What every scenario has, whichever model it runs: its name, seed and replications."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Names the output folder: letters, digits, '.', '_', '-'.",
    )
    description: str = ""
    engine_version: str | None = Field(
        None,
        description="Written by `sim run` into scenario.resolved.yaml: the engine that ran it.",
    )
    seed: int = Field(0, ge=0, description="Root of every random stream of the run.")
    replications: int = Field(1000, ge=1)
