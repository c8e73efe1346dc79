"""A small schema in the style of the project's scenarios, and helpers, for the YAML tests.

Shared by tests/test_loading.py, test_merging.py, test_problems.py and test_dumping.py (the
modules of :mod:`sim.scenario` that read, combine, check and write YAML). The tests run inside
their own temporary directory (``chdir``), so file names in problem lines are short relative
paths such as ``a.yaml`` and the expected lines can be written out exactly.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from sim.errors import InputError
from sim.scenario.loading import Document
from sim.scenario.merging import load_document
from sim.scenario.problems import validate

# --------------------------------------------------------------------------------------------
# A small schema in the style of the project's scenarios
# --------------------------------------------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Fees(Strict):
    storage_fee_eur_per_day: float = Field(ge=0)
    pay_probability: float = Field(ge=0, le=1)


class Checkpoint(Strict):
    capacity: int
    mode: Literal["open", "closed"] = "open"


class Uniform(Strict):
    dist: Literal["uniform"]
    low: float
    high: float


class Lognormal(Strict):
    dist: Literal["lognormal"]
    mu: float
    sd: float


Distribution = Annotated[Uniform | Lognormal, Field(discriminator="dist")]


class Fleet(Strict):
    trucks: int = Field(ge=0)
    value_eur: Distribution | float


class Scenario(Strict):
    name: str
    fees: Fees
    fleet: Fleet | None = None
    checkpoints: dict[str, Checkpoint] = {}
    days: list[int] = []
    policy: Literal["hold", "release"] = "hold"


GOOD = """\
name: base
fees:
  storage_fee_eur_per_day: 20
  pay_probability: 0.5
checkpoints:
  north: {capacity: 10}
days: [1, 2, 3]
"""


def write(name: str, text: str) -> str:
    """Write dedented ``text`` to ``name`` (creating folders); return ``name``."""
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return name


def load_problems(name: str) -> list[str]:
    with pytest.raises(InputError) as info:
        load_document(name)
    return [str(problem) for problem in info.value.problems]


def validation_problems(doc: Document) -> list[str]:
    with pytest.raises(InputError) as info:
        validate(doc, Scenario)
    return [str(problem) for problem in info.value.problems]


def check(text: str, name: str = "a.yaml") -> list[str]:
    """Problems of validating ``text`` (written to ``name``) against Scenario."""
    return validation_problems(load_document(write(name, text)))
