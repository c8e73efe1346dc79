"""The small interface between the runner and a model.

The runner knows a model only through this: it asks the model for the outcome columns it
produces, and calls ``run_replication`` once per replication with that replication's streams.
Everything a replication returns is determined by the scenario and the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from sim.seeding import Streams

OutcomeKind = Literal["int", "float", "category"]


@dataclass(frozen=True)
class OutcomeSpec:
    """One outcome column: its name, kind and meaning (``unit`` for humans and reports)."""

    name: str
    kind: OutcomeKind
    description: str
    unit: str = ""
    nullable: bool = False
    categories: tuple[str, ...] = ()


@dataclass
class ReplicationResult:
    """What one replication produced.

    ``outcomes`` maps each declared outcome name to a value (``None`` for a null, allowed only
    where the spec is nullable). ``series`` maps a daily series name to an array indexed by day
    0..horizon (inclusive): the same length in every replication of a scenario.
    """

    outcomes: dict[str, float | int | str | None]
    series: dict[str, np.ndarray] = field(default_factory=dict)


class Model(Protocol):
    """A replicable model. Instances must be picklable (they travel to worker processes)."""

    name: str

    def outcome_specs(self) -> list[OutcomeSpec]:
        """The outcome columns, in the order they appear in runs.parquet."""
        ...

    def series_names(self) -> list[str]:
        """The daily series each replication returns (possibly none)."""
        ...

    def run_replication(self, streams: Streams) -> ReplicationResult:
        """Run one replication drawing only from ``streams``."""
        ...
