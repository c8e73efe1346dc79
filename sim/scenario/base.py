"""What every scenario schema builds on: strict sections, and the keys every scenario has.

A model's schema (the built-in model's lives in its own folder, ``sim/model/NAME/schema.py``)
subclasses :class:`ScenarioBase` and builds its sections from :class:`Section`. Whole-number
keys use :data:`WholeNumber`: a boolean, a decimal number or a string is refused there, never
read as a count. Sizes are bounded by the limits of :mod:`sim.limits`.
"""

from __future__ import annotations

import numbers
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

from sim.limits import MAX_NAME_LENGTH, MAX_REPLICATIONS, MAX_SEED

__all__ = ["NAME_PATTERN", "ParametersFrom", "ScenarioBase", "Section", "WholeNumber"]


def _numpy_integer(value: Any) -> Any:
    """A numpy integer (from Python code: ``seed=np.int64(3)``) as an int; anything else as is."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | int):
        return int(value)
    return value


WholeNumber = Annotated[int, Strict(), BeforeValidator(_numpy_integer)]
"""An integer written as one: ``true``, ``2.0`` and ``"2"`` are refused (a strict int; numpy
integers given from Python are accepted as ints)."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
"""What a scenario or sweep name may hold: it names the output folder."""


class Section(BaseModel):
    """Base of every schema section: unknown keys are errors, defaults are validated, numbers
    are finite (``.inf`` and ``.nan`` are refused)."""

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


class ParametersFrom(Section):
    """A joint source of parameter values: a calibration's posterior (one weighted particle
    per replication; every column but ``population``, ``particle`` and the weights is a key
    path of this scenario)."""

    file: str = Field(description="A Parquet table of particles, relative to this file.")
    weights: str | None = Field("weight", description="Its weight column (null: equal).")
    population: Literal["last"] | WholeNumber = Field(
        "last", description="Which population of the table (`last`: the final one)."
    )


class ScenarioBase(Section):
    """What every scenario has, whichever model it runs: its name, seed and replications."""

    name: str = Field(
        pattern=NAME_PATTERN,
        max_length=MAX_NAME_LENGTH,
        description="Names the output folder: letters, digits, '.', '_', '-' "
        f"(at most {MAX_NAME_LENGTH}).",
    )
    description: str = ""
    engine_version: str | None = Field(
        None,
        description="Written by `sim run` into scenario.resolved.yaml: the engine that ran it.",
    )
    seed: WholeNumber = Field(
        0, ge=0, le=MAX_SEED, description="Root of every random stream of the run."
    )
    replications: WholeNumber = Field(1000, ge=1, le=MAX_REPLICATIONS)
    parameters_from: ParametersFrom | None = Field(
        None,
        exclude_if=lambda value: value is None,
        description="Draw the key paths of a posterior table jointly: each replication runs "
        "one particle, picked by weight (see `sim calibrate`).",
    )
