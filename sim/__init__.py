"""Scenario simulation engine for the 2025-26 Lithuania-Belarus truck standoff.

The Python API (see :mod:`sim.api` and the README):

- :func:`load` a scenario file (``extends``, overrides, validation);
- :func:`run` its Monte Carlo replications into a :class:`RunResult` (``.runs``, ``.summary``,
  ``.series``, ``.to_pandas()``, ``.save(folder)``, ``RunResult.open(folder)``);
  :func:`plan_run` estimates its time and memory first (``sim run --dry-run``);
- :func:`sweep` a parameter sweep into a :class:`SweepResult`;
- :func:`calibrate` parameters to observed figures (ABC-SMC) into a :class:`CalibrationResult`;
- :func:`compare` two runs (a :class:`Comparison`), :func:`report` a folder as HTML,
  :func:`discover` the parameter ranges behind an outcome (PRIM).

Bad input raises :class:`InputError`, whose ``problems`` say file, line, column and key.
"""

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from sim.api import (
        CalibrationResult,
        Comparison,
        RunPlan,
        RunResult,
        SweepResult,
        calibrate,
        compare,
        discover,
        load,
        load_calibration,
        load_sweep,
        plan_calibration,
        plan_run,
        plan_sweep,
        report,
        run,
        sweep,
    )
    from sim.errors import InputError, Problem

_API = (
    "CalibrationResult",
    "Comparison",
    "RunPlan",
    "RunResult",
    "SweepResult",
    "calibrate",
    "compare",
    "discover",
    "load",
    "load_calibration",
    "load_sweep",
    "plan_calibration",
    "plan_run",
    "plan_sweep",
    "report",
    "run",
    "sweep",
)
_ERRORS = ("InputError", "Problem")


def __getattr__(name: str) -> object:
    """The API's names, imported on first use (``import sim`` stays cheap: no scipy, no
    pyarrow until a function is called)."""
    if name in _API:
        from sim import api

        return getattr(api, name)
    if name in _ERRORS:
        from sim import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


__all__ = [
    "CalibrationResult",
    "Comparison",
    "InputError",
    "Problem",
    "RunPlan",
    "RunResult",
    "SweepResult",
    "__version__",
    "calibrate",
    "compare",
    "discover",
    "load",
    "load_calibration",
    "load_sweep",
    "plan_calibration",
    "plan_run",
    "plan_sweep",
    "report",
    "run",
    "sweep",
]


def __dir__() -> list[str]:
    """The API's names too (tab completion in notebooks), though they load lazily."""
    return sorted(set(globals()) | set(__all__))
