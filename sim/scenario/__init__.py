"""Scenarios, independent of any model: YAML loading with positions, ``extends`` and ``--set``,
validation against a schema, the base every schema builds on, and distributions.

Modules: ``loading`` (YAML with positions, :class:`Document`), ``merging`` (``extends`` and
``--set``), ``problems`` (validation errors as problems; pydantic's side in ``pydantic_errors``),
``dumping`` (YAML out), ``distributions``, ``base`` (what every schema builds on) and ``user``
(the schema of user-model scenarios). Which schema a scenario's ``model:`` selects, and
importing a user model, is the model registry's job (:mod:`sim.model.registry`), one layer up:
nothing here imports a model.
"""

from __future__ import annotations

from sim.scenario.base import ScenarioBase, Section
from sim.scenario.distributions import Dist, ParamInfo, iter_params
from sim.scenario.dumping import dump_yaml
from sim.scenario.loading import Document, KeyPath, Position, format_key_path
from sim.scenario.merging import OVERRIDE_FILE, apply_overrides, load_document, set_value
from sim.scenario.problems import validate
from sim.scenario.user import UserScenario, iter_user_params

__all__ = [
    "OVERRIDE_FILE",
    "Dist",
    "Document",
    "KeyPath",
    "ParamInfo",
    "Position",
    "ScenarioBase",
    "Section",
    "UserScenario",
    "apply_overrides",
    "dump_yaml",
    "format_key_path",
    "iter_params",
    "iter_user_params",
    "load_document",
    "set_value",
    "validate",
]
