"""Scenarios: the schema, YAML loading with positions, and distributions.

Modules: ``loading`` (YAML with positions, :class:`Document`), ``merging`` (``extends`` and
``--set``), ``problems`` (validation errors as problems; pydantic's side in ``pydantic_errors``),
``dumping`` (YAML out), ``distributions``, ``schema`` and ``user`` (the schemas).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from sim.errors import InputError
from sim.scenario.distributions import Dist, ParamInfo, iter_params
from sim.scenario.dumping import dump_yaml
from sim.scenario.loading import Document, KeyPath, Position, format_key_path
from sim.scenario.merging import OVERRIDE_FILE, apply_overrides, load_document, set_value
from sim.scenario.problems import validate
from sim.scenario.schema import Scenario
from sim.scenario.user import UserScenario, iter_user_params

BUILTIN_MODEL = "standoff"
"""``model:`` of the built-in border-standoff model (also what an absent ``model:`` means)."""


def load_scenario(
    path: str | Path, overrides: Sequence[str] = ()
) -> tuple[Scenario | UserScenario, Document]:
    """Read, merge (``extends``), override (``--set``) and validate a scenario file.

    The document's ``model`` key picks the schema: absent or ``standoff``, the built-in model's
    :class:`Scenario`; anything else, a :class:`UserScenario`. For a user scenario, ``model_dir``
    is resolved to an absolute folder (relative to the file that set it; by default the
    scenario file's folder), in the scenario and in ``document.data`` alike, and the model is
    imported to check it names a callable.

    Raises :class:`sim.errors.InputError` with every problem found, each at its file and line.
    """
    document = apply_overrides(load_document(path), overrides)
    if document.data.get("model", BUILTIN_MODEL) == BUILTIN_MODEL:
        return validate(document, Scenario), document
    scenario = validate(document, UserScenario)
    return _check_user_model(scenario, document), document


def _check_user_model(scenario: UserScenario, document: Document) -> UserScenario:
    """Resolve ``model_dir`` and import the model; problems at the ``model``/``model_dir`` key."""
    from sim.model.user import ModelImportError, import_model

    scenario_dir = document.path.parent
    if scenario.model_dir is None:
        folder = scenario_dir
    else:
        written_in = document.locate(("model_dir",), value=True).file
        base = scenario_dir if written_in == OVERRIDE_FILE else Path(written_in).parent
        folder = base / scenario.model_dir
        if not folder.is_dir():
            problem = document.problem(
                ("model_dir",), f"no such folder: {os.path.normpath(folder)}"
            )
            raise InputError([problem])
    resolved = str(folder.resolve())
    document.data["model_dir"] = resolved
    scenario = scenario.model_copy(update={"model_dir": resolved})
    try:
        import_model(scenario.model, Path(resolved))
    except ModelImportError as error:
        raise InputError([document.problem(("model",), str(error))]) from None
    return scenario


def scenario_params(scenario: Scenario | UserScenario) -> list[tuple[str, ParamInfo, Dist]]:
    """Every uncertain parameter of a scenario of either kind: ``(key path, info, Dist)``."""
    if isinstance(scenario, UserScenario):
        return iter_user_params(scenario)
    return list(iter_params(scenario))


__all__ = [
    "BUILTIN_MODEL",
    "OVERRIDE_FILE",
    "Document",
    "KeyPath",
    "Position",
    "Scenario",
    "UserScenario",
    "apply_overrides",
    "dump_yaml",
    "format_key_path",
    "load_document",
    "load_scenario",
    "scenario_params",
    "set_value",
    "validate",
]
