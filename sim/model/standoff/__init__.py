"""The built-in border-standoff model: one folder, a module per mechanism, its schema and its
presentation. It registers itself with :mod:`sim.model.registry` through ``MODEL``.

- ``schema``: every key a standoff scenario may set, its default, its range and its scope;
- ``border``: incidents, the closure rule, the checkpoints together, reopening read-outs;
- ``checkpoint``: one checkpoint as a multi-lane FIFO queue shared with background traffic;
- ``fleet``: every truck as a row of numpy arrays, and the carriers' costs;
- ``flows``: trucks entering and leaving Belarus on ordinary trips;
- ``owners``: how owners decide (retrieve, wait, write off, replace);
- ``release``: the hold order, fees, Belarus's processing queue, release, confiscation;
- ``compensation``: Lithuania's compensation schemes;
- ``belarus``: Minsk's price for a release, against which every offer is weighed;
- ``policies``: the policies list (actions on a day or a condition);
- ``negotiation``: Lithuania's government, the carriers' talks, US mediation;
- ``sums``: sums over trucks by day (ramps, steps, counts), the daily series' blocks;
- ``model``: a replication assembled from these, its outcomes and daily series;
- ``presentation``: main outcomes, cost and gain splits, labels and colours for reports.
"""

from typing import Any

from sim.model.registry import ModelDefinition
from sim.model.standoff.schema import Scenario, references


def build(scenario: Scenario) -> Any:
    """The model of a validated scenario. The mechanisms (and numba, which compiles their
    loops) are imported only here: reading or checking a scenario does not load them."""
    from sim.model.standoff.model import StandoffModel

    return StandoffModel(scenario)


def __getattr__(name: str) -> Any:
    """``OUTCOMES``, ``SERIES`` and ``StandoffModel``, from ``model`` on first use."""
    if name in ("OUTCOMES", "SERIES", "StandoffModel"):
        from sim.model.standoff import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


MODEL = ModelDefinition(
    name="standoff",
    schema=Scenario,
    factory=build,
    description="The Lithuania-Belarus truck standoff of 2025-26 (the built-in model).",
    default=True,
    check=references,
)

__all__ = ["MODEL", "OUTCOMES", "SERIES", "Scenario", "StandoffModel"]
