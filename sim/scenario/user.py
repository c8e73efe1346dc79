"""The schema of a user-model scenario: a Python callable named by ``model: module:attribute``.

A scenario whose ``model:`` is anything but the built-in ``standoff`` is a user-model scenario::

    name: ishigami
    model: ishigami:ishigami          # module ishigami (next to this file), function ishigami
    seed: 1
    replications: 1000
    parameters:                       # drawn once per replication, passed as a dict of floats
      x1: {dist: uniform, low: -3.141592653589793, high: 3.141592653589793}
      a: 7
    outputs: [y]                      # optional: else the keys replication 0 returns

The callable is called once per replication as ``fn(parameters, rng)`` (see
:mod:`sim.model.user`). ``model_dir`` says where the module is imported from: by default the
scenario file's folder; :func:`sim.scenario.load_scenario` fills it in as an absolute path, so
that ``scenario.resolved.yaml`` in a run folder still finds the module.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator

from sim.scenario.base import ScenarioBase
from sim.scenario.distributions import Dist, ParamInfo, param

__all__ = ["MODEL_REF", "NAME", "UserScenario", "iter_user_params"]

_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
MODEL_REF = re.compile(f"^{_DOTTED}:{_DOTTED}$")
"""``module.path:attribute`` (the attribute may be dotted too: ``module:Class.method``)."""

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""Names of parameters and outputs: letters, digits and ``_``, not starting with a digit."""

RESERVED_OUTPUTS = ("replication", "seed")
"""Columns of runs.parquet that every run has: no output may take these names."""

_REPLICATION = ParamInfo(scope="replication")


def _check_name(name: str, what: str) -> str:
    if not NAME.match(name):
        raise ValueError(
            f"{what} name {name!r} is not allowed: use letters, digits and '_', "
            "not starting with a digit"
        )
    return name


def _parameter_name(name: str) -> str:
    return _check_name(name, "a parameter")


def _output_name(name: str) -> str:
    _check_name(name, "an output")
    if name in RESERVED_OUTPUTS:
        raise ValueError(
            f"{name!r} is reserved: every run has the columns {' and '.join(RESERVED_OUTPUTS)}"
        )
    return name


ParameterName = Annotated[str, AfterValidator(_parameter_name)]
"""A key of ``parameters:`` (see :data:`NAME`)."""

OutputName = Annotated[str, AfterValidator(_output_name)]
"""An item of ``outputs:`` (see :data:`NAME`; not ``replication`` or ``seed``)."""


class UserScenario(ScenarioBase):
    """A scenario of a user model: a Python callable replicated with drawn parameters."""

    model: str = Field(
        description="The callable `(parameters, rng) -> {output: float}` as "
        "`module.path:attribute`, importable from `model_dir` or PYTHONPATH."
    )
    model_dir: str | None = Field(
        None,
        description="Folder the model's module is imported from, put first on sys.path "
        "(relative to the file that sets it; default: the scenario file's folder).",
    )
    # No limit on the size of a user model's numbers (physical constants may be large).
    parameters: dict[ParameterName, param("replication", max_magnitude=None)] = Field(  # type: ignore[valid-type]
        default_factory=dict,
        description="Passed to the model as a dict of floats: constants, or distributions "
        "drawn once per replication (one uniform each, in this order, by inverse CDF).",
    )
    outputs: list[OutputName] | None = Field(
        None,
        description="The model's outputs (columns of runs.parquet), in order; default: the "
        "keys the model returns in replication 0.",
    )

    @field_validator("model", mode="before")
    @classmethod
    def _model_ref(cls, value: Any) -> Any:
        if isinstance(value, str) and MODEL_REF.match(value):
            return value
        if value is None:
            shown = "nothing (null)"
        elif isinstance(value, str):
            shown = repr(value)
        else:
            shown = f"{value!r} ({type(value).__name__})"
        raise ValueError(
            "expected the built-in model 'standoff' or a Python callable written as "
            f"'module.path:attribute' (e.g. 'mymodel:simulate'), got {shown}"
        )

    @field_validator("outputs")
    @classmethod
    def _distinct(cls, outputs: list[str] | None) -> list[str] | None:
        if outputs is None:
            return None
        if not outputs:
            raise ValueError("needs at least one output (or leave `outputs` out to discover them)")
        twice = sorted({name for name in outputs if outputs.count(name) > 1})
        if twice:
            raise ValueError(f"outputs must be distinct (repeated: {', '.join(twice)})")
        return outputs


def iter_user_params(scenario: UserScenario) -> list[tuple[str, ParamInfo, Dist]]:
    """The parameters of a user scenario as ``(key path, ParamInfo, Dist)``, in order.

    The same rows :func:`sim.scenario.distributions.iter_params` gives for the built-in model:
    key paths ``parameters.NAME``, all drawn once per replication.
    """
    return [
        (f"parameters.{name}", _REPLICATION, dist) for name, dist in scenario.parameters.items()
    ]
