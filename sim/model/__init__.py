"""Models the runner can replicate: the interface, the built-in border-standoff model, and user
models (a Python callable named by ``model: module:attribute``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import BaseModel

    from sim.model.interface import Model


def build_model(scenario: BaseModel, source_dir: Path | None = None) -> Model:
    """The model a scenario asks for.

    A :class:`~sim.scenario.schema.Scenario` gives the built-in border-standoff model; a
    :class:`~sim.scenario.user.UserScenario` a :class:`~sim.model.user.UserModel`, whose module
    is imported from ``scenario.model_dir`` (relative to ``source_dir``, the scenario file's
    folder) or ``source_dir``. Raises :class:`sim.model.user.ModelImportError` if the user
    model cannot be imported or is not callable; TypeError for anything else.
    """
    from sim.scenario.schema import Scenario
    from sim.scenario.user import UserScenario

    if isinstance(scenario, UserScenario):
        from sim.model.user import UserModel

        return UserModel(scenario, source_dir)
    if isinstance(scenario, Scenario):
        from sim.model.standoff import StandoffModel

        return StandoffModel(scenario)
    raise TypeError(f"not a scenario: {type(scenario).__name__}")
