"""Models whose replications run the base scenario with parameter values set per replication.

Two users: a scenario with ``parameters_from:`` (a calibration's posterior, drawn jointly: one
weighted particle per replication, so the parameters' correlations are kept), and the
calibration itself (each attempt a particle). Both build, for a replication, the base scenario
with the particle's values set at their key paths, and run it with the replication's own
streams (so two scenarios drawing the same particle share random numbers elsewhere).

A ``parameters_from`` replication picks its particle by inverse CDF over the cumulative
weights, from one uniform of the stream ``world/parameters_from``: every calibrated parameter
of that replication comes from the same particle. The uniform is keyed by that name only, so
adding or removing a parameter of the model moves no other draw.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from sim.model.interface import Model, OutcomeSpec, Presentation, ReplicationResult, presentation_of
from sim.seeding import Streams

#: The stream whose uniform picks a replication's particle.
JOINT_STREAM = "world/parameters_from"
#: Columns of a posterior table that are not parameters.
NOT_PARAMETERS = ("population", "particle", "weight")


def set_values(data: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of scenario ``data`` with each ``values`` key path set."""
    data = copy.deepcopy(data)
    for key, value in values.items():
        node: Any = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(parts[-1])] = value
        else:
            node[parts[-1]] = value
    return data


class ValuesModel:
    """The base scenario run with values set per replication (subclasses say which values).

    Picklable: the scenario's type and data travel; the last built model is a cache.
    """

    def __init__(
        self, base_type: type[BaseModel], base_data: dict[str, Any], source_dir: Path | None
    ) -> None:
        data = dict(base_data)
        data.pop("parameters_from", None)
        self.base_type = base_type
        self.base_data = data
        # The base model's name, as its scenario gives it (these are its replications).
        if data.get("model"):
            self.name = str(data["model"])
        else:
            from sim.model.registry import default_model

            self.name = default_model().name
        self.source_dir = source_dir
        self._cache: tuple[Any, Model] | None = None
        self._base: Model | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = None
        state["_base"] = None
        return state

    def base_model(self) -> Model:
        """The base scenario's own model (its outcomes, series and presentation)."""
        if self._base is None:
            from sim.model.registry import build_model

            self._base = build_model(self.base_type.model_validate(self.base_data), self.source_dir)
        return self._base

    @property
    def horizon(self) -> Any:
        return getattr(self.base_model(), "horizon", None)

    def outcome_specs(self) -> list[OutcomeSpec]:
        return list(self.base_model().outcome_specs())

    def series_names(self) -> list[str]:
        return list(self.base_model().series_names())

    def presentation(self) -> Presentation:
        return presentation_of(self.base_model())

    def model_with(self, key: Any, values: dict[str, Any]) -> Model:
        """The model of the base with ``values`` set (the last one is cached under ``key``);
        raises pydantic's ValidationError if the values are not valid there."""
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        from sim.model.registry import build_model

        scenario = self.base_type.model_validate(set_values(self.base_data, values))
        reuse = getattr(self._cache[1] if self._cache else None, "with_scenario", None)
        model: Model = (
            reuse(scenario) if callable(reuse) else build_model(scenario, self.source_dir)
        )
        self._cache = (key, model)
        return model


class JointModel(ValuesModel):
    """A scenario's ``parameters_from``: each replication runs one weighted particle."""

    def __init__(
        self,
        base_type: type[BaseModel],
        base_data: dict[str, Any],
        source_dir: Path | None,
        keys: Sequence[str],
        values: np.ndarray,
        weights: np.ndarray,
    ) -> None:
        super().__init__(base_type, base_data, source_dir)
        self.keys = list(keys)
        self.values = np.asarray(values, dtype=float)
        cumulative = np.cumsum(np.asarray(weights, dtype=float))
        self.cumulative = cumulative / cumulative[-1]

    def particle(self, streams: Streams) -> int:
        """This replication's particle: inverse CDF of one uniform over the cumulative weights."""
        u = streams.uniform(JOINT_STREAM)
        index = int(np.searchsorted(self.cumulative, u, side="right"))
        return min(index, len(self.cumulative) - 1)

    def run_replication(self, streams: Streams) -> ReplicationResult:
        index = self.particle(streams)
        values = dict(zip(self.keys, self.values[index].tolist(), strict=True))
        return self.model_with(index, values).run_replication(streams)


def read_particles(
    path: Path, weights: str | None, population: int | str
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(key paths, values (particles x keys), weights)`` of one population of a posterior
    table (``population: last``: its last). Raises ValueError with a readable message."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as error:  # an unreadable or non-Parquet file
        raise ValueError(f"cannot read {path} as Parquet: {error}") from None
    names = table.column_names
    if "population" in names:
        populations = np.asarray(table.column("population").to_numpy(), dtype=np.int64)
        chosen = int(populations.max()) if population == "last" else int(population)
        mask = populations == chosen
        if not mask.any():
            raise ValueError(f"{path} has no population {chosen}")
    else:
        if population != "last":
            raise ValueError(f"{path} has no `population` column to choose {population} from")
        mask = np.ones(table.num_rows, dtype=bool)
    if weights is not None and weights not in names:
        raise ValueError(f"{path} has no weight column {weights!r} (columns: {', '.join(names)})")
    keys = [name for name in names if name not in NOT_PARAMETERS and name != weights]
    if not keys or not mask.any():
        raise ValueError(f"{path} has no parameter columns or no rows")
    values = np.column_stack([np.asarray(table.column(k).to_numpy(), dtype=float) for k in keys])
    values = values[mask]
    if weights is None:
        w = np.ones(values.shape[0])
    else:
        w = np.asarray(table.column(weights).to_numpy(), dtype=float)[mask]
    if not np.all(np.isfinite(values)) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{path}: parameter values and weights must be finite, weights >= 0")
    if not w.sum() > 0:
        raise ValueError(f"{path}: the weights sum to zero")
    return keys, values, w
