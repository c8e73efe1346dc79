"""Models the runner can replicate: the interface, and the built-in border-standoff model."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.model.interface import Model
    from sim.scenario.schema import Scenario


def build_model(scenario: Scenario) -> Model:
    """The model a scenario asks for (today: the built-in border-standoff model)."""
    from sim.model.standoff import StandoffModel

    return StandoffModel(scenario)
