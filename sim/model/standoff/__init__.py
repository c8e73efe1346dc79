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

from sim.model.registry import ModelDefinition
from sim.model.standoff.model import OUTCOMES, SERIES, StandoffModel
from sim.model.standoff.schema import Scenario, references

MODEL = ModelDefinition(
    name="standoff",
    schema=Scenario,
    factory=StandoffModel,
    description="The Lithuania-Belarus truck standoff of 2025-26 (the built-in model).",
    default=True,
    check=references,
)

__all__ = ["MODEL", "OUTCOMES", "SERIES", "Scenario", "StandoffModel"]
