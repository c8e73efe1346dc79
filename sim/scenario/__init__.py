"""Scenarios, independent of any model: YAML loading with positions, ``extends`` and
``--set``, validation against a schema, the base every schema builds on, and distributions.

Which schema a scenario's ``model:`` selects, and importing a user model, is the model
registry's job (:mod:`sim.model.registry`), one layer up: nothing here imports a model.
"""

from __future__ import annotations

from sim.scenario.base import ScenarioBase, Section
from sim.scenario.distributions import Dist, ParamInfo, iter_params
from sim.scenario.user import UserScenario, iter_user_params
from sim.scenario.yamlio import OVERRIDE_FILE, Document, apply_overrides, load_document, validate

__all__ = [
    "OVERRIDE_FILE",
    "Dist",
    "Document",
    "ParamInfo",
    "ScenarioBase",
    "Section",
    "UserScenario",
    "apply_overrides",
    "iter_params",
    "iter_user_params",
    "load_document",
    "validate",
]
