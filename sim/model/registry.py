"""Which model a scenario runs: one registry from a scenario's ``model:`` to its schema and its
factory, and loading a scenario through it.

A built-in model is a sub-package of :mod:`sim.model` (a folder: its schema, its mechanisms,
its presentation) that exports ``MODEL``, a :class:`ModelDefinition`; the registry finds them
by listing the folder, so nothing here names one. The built-in model marked ``default`` runs
when a scenario has no ``model:`` key. Any other ``model:`` value is a user model, a Python
callable ``module.path:attribute`` (:mod:`sim.model.user`), imported here, one layer above
scenario loading, which never imports user code.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.errors import InputError
from sim.model.interface import Model
from sim.scenario import OVERRIDE_FILE, Document, apply_overrides, load_document, validate
from sim.scenario.base import ScenarioBase
from sim.scenario.distributions import Dist, ParamInfo, iter_params
from sim.scenario.user import UserScenario, iter_user_params

__all__ = [
    "ModelDefinition",
    "build_model",
    "builtin_models",
    "default_model",
    "load_scenario",
    "scenario_params",
]


@dataclass(frozen=True)
class ModelDefinition:
    """A built-in model: the ``model:`` name that selects it, its scenario schema, and the
    factory that builds the model from a validated scenario. ``default`` marks the model a
    scenario without ``model:`` runs (exactly one built-in model has it)."""

    name: str
    schema: type[ScenarioBase]
    factory: Callable[[Any], Model]
    description: str = ""
    default: bool = False
    #: Checks across sections that pydantic cannot place (a name used here that must exist
    #: there): (key path, message) for each problem, reported at that key of the file. The
    #: schema is validated with ``context={"located_checks": True}`` so it can leave them out.
    check: Callable[[Any], list[tuple[tuple[str | int, ...], str]]] | None = None


@cache
def builtin_models() -> dict[str, ModelDefinition]:
    """Every built-in model, by name: each sub-package of :mod:`sim.model` exporting ``MODEL``."""
    import sim.model

    found: dict[str, ModelDefinition] = {}
    for info in pkgutil.iter_modules(sim.model.__path__):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"sim.model.{info.name}")
        definition = getattr(module, "MODEL", None)
        if isinstance(definition, ModelDefinition):
            found[definition.name] = definition
    defaults = [d.name for d in found.values() if d.default]
    if len(defaults) != 1:  # pragma: no cover - a packaging mistake, not user input
        raise RuntimeError(f"expected one default built-in model, found {defaults}")
    return found


def default_model() -> ModelDefinition:
    """The built-in model a scenario without ``model:`` runs."""
    return next(d for d in builtin_models().values() if d.default)


def _definition(model_value: object) -> ModelDefinition | None:
    """The built-in model a ``model:`` value selects (None: a user model)."""
    if model_value is None:
        return default_model()
    if isinstance(model_value, str):
        return builtin_models().get(model_value)
    return None


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> tuple[ScenarioBase, Document]:
    """Read, merge (``extends``), override (``--set``) and validate a scenario file.

    The document's ``model`` key picks the schema: absent or a built-in model's name, that
    model's schema; anything else, a :class:`UserScenario`. For a user scenario, ``model_dir``
    is resolved to an absolute folder (relative to the file that set it; by default the
    scenario file's folder), in the scenario and in ``document.data`` alike, and the model is
    imported to check it names a callable.

    A ``name`` only inherited through ``extends`` is not the scenario's: the file's own name (its
    stem) is used instead, so a what-if that forgets ``name:`` never writes over the results of
    the scenario it extends.

    Raises :class:`sim.errors.InputError` with every problem found, each at its file and line.
    """
    document = apply_overrides(load_document(path), overrides)
    _own_name(document, Path(path))
    definition = _definition(document.data.get("model"))
    if definition is not None:
        context = {"located_checks": True} if definition.check is not None else None
        scenario: ScenarioBase = validate(document, definition.schema, context=context)
        if definition.check is not None:
            found = definition.check(scenario)
            if found:
                files = [str(f) for f in document.chain]
                problems = [document.problem(path, message) for path, message in found]
                problems.sort(
                    key=lambda p: (
                        files.index(p.file) if p.file in files else len(files),
                        p.line,
                        p.col,
                    )
                )
                raise InputError(problems)
    else:
        scenario = _check_user_model(validate(document, UserScenario), document)
    if scenario.parameters_from is not None:
        scenario = _check_parameters_from(scenario, document)
    return scenario, document


def _own_name(document: Document, path: Path) -> None:
    """Give a scenario whose file does not set ``name`` (it inherits one) its file's stem."""
    import re

    from sim.scenario.base import NAME_PATTERN

    where = document.positions.get(("name",))
    if where is None or where.file in (os.fspath(path), OVERRIDE_FILE):
        return
    stem = re.sub(r"[^A-Za-z0-9._-]", "-", path.stem).lstrip("._-") or "scenario"
    if re.match(NAME_PATTERN, stem):
        document.data["name"] = stem


def _check_parameters_from(scenario: ScenarioBase, document: Document) -> ScenarioBase:
    """Resolve ``parameters_from.file`` to an absolute path (relative to the file that set it)
    and check its table: readable, and every column a key path whose values are valid here."""
    from sim.model.joint import read_particles, set_values

    source = scenario.parameters_from
    assert source is not None
    where = ("parameters_from", "file")
    written_in = document.locate(where, value=True).file
    base = document.path.parent if written_in == OVERRIDE_FILE else Path(written_in).parent
    path = (base / source.file).resolve()
    if not path.is_file():
        raise InputError([document.problem(where, f"no such file: {os.path.normpath(path)}")])
    try:
        keys, values, _ = read_particles(path, source.weights, source.population)
    except ValueError as error:
        raise InputError([document.problem(where, str(error))]) from None
    data = scenario.model_dump(mode="json", by_alias=True)
    data.pop("parameters_from")
    problems = []
    for column, key in enumerate(keys):
        node: Any = data
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            problems.append(
                document.problem(
                    where,
                    f"column '{key}' of {path.name} is not a key of this scenario",
                )
            )
            continue
        for value in (values[:, column].min(), values[:, column].max()):
            try:
                type(scenario).model_validate(set_values(data, {key: float(value)}))
            except ValidationError as error:
                first = error.errors()[0]["msg"].removeprefix("Value error, ")
                problems.append(
                    document.problem(
                        where,
                        f"column '{key}' of {path.name}: {float(value):g} is invalid: {first}",
                    )
                )
                break
    if problems:
        raise InputError(problems)
    resolved = source.model_copy(update={"file": str(path)})
    document.data.setdefault("parameters_from", {})["file"] = str(path)
    return scenario.model_copy(update={"parameters_from": resolved})


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


def build_model(scenario: BaseModel, source_dir: Path | None = None) -> Model:
    """The model a validated scenario asks for.

    A built-in model's scenario (an instance of its schema) gives that model; a
    :class:`UserScenario` a :class:`~sim.model.user.UserModel`, whose module is imported from
    ``scenario.model_dir`` (relative to ``source_dir``, the scenario file's folder) or
    ``source_dir``. Raises :class:`sim.model.user.ModelImportError` if the user model cannot be
    imported or is not callable; TypeError for anything else.
    """
    source = getattr(scenario, "parameters_from", None)
    if source is not None:
        from sim.model.joint import JointModel, read_particles

        keys, values, weights = read_particles(Path(source.file), source.weights, source.population)
        data = scenario.model_dump(mode="json", by_alias=True)
        return JointModel(type(scenario), data, source_dir, keys, values, weights)
    if isinstance(scenario, UserScenario):
        from sim.model.user import UserModel

        return UserModel(scenario, source_dir)
    for definition in builtin_models().values():
        if type(scenario) is definition.schema:
            return definition.factory(scenario)
    raise TypeError(f"not a scenario: {type(scenario).__name__}")


def scenario_params(scenario: ScenarioBase) -> list[tuple[str, ParamInfo, Dist]]:
    """Every uncertain parameter of a scenario of any model: ``(key path, info, Dist)``."""
    if isinstance(scenario, UserScenario):
        return iter_user_params(scenario)
    return list(iter_params(scenario))
