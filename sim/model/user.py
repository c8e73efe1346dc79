"""User models: a Python callable, named in a scenario as ``model: module.path:attribute``.

The simplest model is a function ``(parameters: dict, rng: numpy.random.Generator) ->
dict[str, float]``. :class:`UserModel` replicates it through the runner's interface
(:mod:`sim.model.interface`): replication ``i`` of a run seeded ``S`` calls it once with

- ``parameters``: a fresh dict of floats, the scenario's ``parameters:`` in their order, each
  drawn by inverse CDF from one uniform keyed by its name (``Streams.uniform``; constants
  given exactly), as the built-in model draws its replication-level parameters;
- ``rng``: the replication's ``model`` stream, for everything else the model draws.

So a run is reproducible from its seed whatever the number of workers, and two scenarios
that differ in one parameter's distribution share every other draw (common random numbers).

What the function returns: a mapping (a dict) from output names to values, each value either

- a number (a Python or numpy int or float, or a 0-d array): a float column of runs.parquet,
  where None or NaN is a null; or
- a series: a one-dimensional numpy array, list or tuple of numbers (None or NaN for a missing
  step), one value per step (a day, say), of the same length in every replication. Series
  become the model's series (:meth:`UserModel.series_names`), like the built-in model's daily
  series: their per-step bands (mean and quantiles over replications) go to
  ``timeseries.parquet`` and reports draw them as fan charts. A sweep keeps only the numbers.

For example ``return {"cost": 12.5, "queue": np.array([0, 3, 5, 4])}``. An output that is a
number in replication 0 must be a number in every replication, a series a series of the same
length; anything else fails the replication with a :class:`ModelOutputError` saying why.

The outputs are the scenario's ``outputs:`` if given, else the keys replication 0 returns,
found once by running replication 0 in the parent process (it is deterministic, so running it
again is harmless); which outputs are series is read from replication 0 as well.

The module is imported lazily, in whatever process runs the model, after putting the model's
folder first on ``sys.path``; a :class:`UserModel` pickles only its scenario and folder (never
the imported function), so it travels to worker processes and Dask workers.

A model that tries to end the process fails its replication instead (:class:`ModelExitError`):
``raise SystemExit``/``sys.exit(...)`` is caught around the call, and so is ``os._exit(...)``
called as ``os._exit`` (while the function runs, :func:`os._exit` is a guard that raises in the
thread running the model and exits as before anywhere else). What cannot be intercepted (a
name bound by ``from os import _exit`` before the run, ``posix._exit``, a C extension calling
``exit()``, a signal) kills the process running the model: in a worker process the parent
reports the dead worker as an error (exit 1); with one worker the model runs in the ``sim``
process itself, which then dies with the status the model chose.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import math
import numbers
import os
import sys
import threading
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import ModelImportError, ReplicationError, did_you_mean
from sim.model.interface import OutcomeSpec, ReplicationResult
from sim.scenario.distributions import Constant, Dist
from sim.scenario.user import NAME, RESERVED_OUTPUTS, UserScenario
from sim.seeding import Streams

__all__ = ["ModelExitError", "ModelImportError", "UserModel", "import_model", "model_folder"]

UserFunction = Callable[[dict[str, float], np.random.Generator], Any]

SIGNATURE = "(parameters, rng) -> dict of floats"
"""How messages describe the callable a user model must be."""


class ModelExitError(RuntimeError):
    """A user model called ``sys.exit``/``os._exit`` (or raised ``SystemExit``): its replication
    fails with this error rather than the process ending, silently, with the model's status."""


_REAL_OS_EXIT: Callable[[int], Any] = os._exit
_in_model = threading.local()


def _guarded_os_exit(status: int) -> Any:
    """Stand-in for :func:`os._exit` while a model runs: raise in the model's thread."""
    if getattr(_in_model, "depth", 0):
        raise ModelExitError(f"the model called os._exit({status!r})")
    return _REAL_OS_EXIT(status)


def _call_guarded(function: UserFunction, parameters: dict[str, float], rng: Any) -> Any:
    """``function(parameters, rng)``, turning an attempt to end the process into an error."""
    if os._exit is _REAL_OS_EXIT:
        os._exit = _guarded_os_exit  # stays: outside a model it is the real os._exit
    _in_model.depth = getattr(_in_model, "depth", 0) + 1
    try:
        return function(parameters, rng)
    except SystemExit as exc:
        raise ModelExitError(f"the model called sys.exit({exc.code!r})") from None
    finally:
        _in_model.depth -= 1


class ModelOutputError(ValueError):
    """A user model returned something that is not a mapping of its outputs to numbers or
    series, or a series whose kind or length differs from replication 0's."""


def model_folder(scenario: UserScenario, source_dir: Path | None) -> Path | None:
    """The absolute folder the model's module is imported from, if any.

    ``scenario.model_dir`` (relative to ``source_dir``, else to the working directory) if set,
    else ``source_dir``; None when neither is given (the module must then be on PYTHONPATH).
    """
    if scenario.model_dir is not None:
        folder = Path(scenario.model_dir)
        if not folder.is_absolute():
            folder = (source_dir or Path.cwd()) / folder
    elif source_dir is not None:
        folder = source_dir
    else:
        return None
    return folder.resolve()


def _put_first_on_path(folder: Path) -> None:
    entry = str(folder)
    if sys.path and sys.path[0] == entry:
        return
    while entry in sys.path:
        sys.path.remove(entry)
    sys.path.insert(0, entry)
    importlib.invalidate_caches()


def _forget_shadowed(module_name: str, folder: Path) -> None:
    """Drop an already imported module that the model's folder now provides from another file.

    Two scenarios in different folders may each have their own ``model.py``; in one process
    (a test session, a notebook) the second must not get the first's module from the cache.
    """
    top = module_name.split(".", 1)[0]
    loaded = sys.modules.get(top)
    if loaded is None:
        return
    spec = importlib.machinery.PathFinder.find_spec(top, [str(folder)])
    if spec is None or spec.origin is None:
        return
    if getattr(loaded, "__file__", None) == spec.origin:
        return
    for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
        del sys.modules[name]


def _missing_module(exc: ModuleNotFoundError, module_name: str) -> bool:
    """Whether ``exc`` says that ``module_name`` itself (or a package above it) does not exist."""
    name = exc.name or ""
    return bool(name) and (module_name == name or module_name.startswith(name + "."))


def import_model(ref: str, folder: Path | None) -> UserFunction:
    """Import ``module.path:attribute`` (``folder`` first on sys.path) and return the callable.

    Raises :class:`ModelImportError` with a one-line message when the module cannot be imported
    (it does not exist, or importing it raised), the attribute is missing, or it is not callable.
    """
    module_name, _, attribute = ref.partition(":")
    where = f"in {folder} or on PYTHONPATH" if folder is not None else "on PYTHONPATH"
    if folder is not None:
        _put_first_on_path(folder)
        _forget_shadowed(module_name, folder)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if _missing_module(exc, module_name):
            raise ModelImportError(
                f"cannot import module '{module_name}': no module named '{exc.name}' {where}"
            ) from None
        raise ModelImportError(
            f"cannot import module '{module_name}': ModuleNotFoundError: {exc}"
        ) from exc
    except Exception as exc:  # the module's own code failed: report it, not a traceback
        raise ModelImportError(
            f"cannot import module '{module_name}': {type(exc).__name__}: {exc}"
        ) from exc
    target: Any = module
    path = module_name
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            names = [
                name
                for name in dir(target)
                if not name.startswith("_")
                and not isinstance(getattr(target, name, None), types.ModuleType)
            ]
            hint = did_you_mean(part, names)
            raise ModelImportError(f"'{path}' has no attribute '{part}'{hint}") from None
        except Exception as exc:  # a module-level __getattr__ that fails
            raise ModelImportError(
                f"cannot get '{part}' from '{path}': {type(exc).__name__}: {exc}"
            ) from exc
        path = f"{path}.{part}" if path != module_name else f"{module_name}:{part}"
    if not callable(target):
        raise ModelImportError(
            f"'{ref}' is {_a(type(target).__name__)}, not a callable {SIGNATURE}"
        )
    return target


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _number(value: Any) -> float | None:
    """An output value as a float (None for a null); raise TypeError if it is not a number."""
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(value)
    number = float(value)
    return None if math.isnan(number) else number


def _is_series(value: Any) -> bool:
    """Whether a returned value is a series: a one-dimensional array, list or tuple."""
    if isinstance(value, float | int) or value is None:
        return False
    return isinstance(value, np.ndarray | list | tuple) and np.ndim(value) == 1


def _series_lengths(result: Mapping[Any, Any], names: list[str]) -> dict[str, int]:
    """The names whose value in ``result`` is a series, with its length."""
    return {name: len(result[name]) for name in names if _is_series(result.get(name))}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class UserModel:
    """A user's Python callable as a replicable :class:`~sim.model.interface.Model`.

    ``source_dir`` is the scenario file's folder: the module is imported from
    ``scenario.model_dir`` resolved against it, else from it (see :func:`model_folder`). The
    import is checked here, in the constructor (raising :class:`ModelImportError`), so a bad
    reference fails before any replication runs.
    """

    def __init__(self, scenario: UserScenario, source_dir: Path | None = None) -> None:
        self._setup(scenario, model_folder(scenario, source_dir))
        self.source_dir = source_dir
        self._outputs: list[str] | None = (
            list(scenario.outputs) if scenario.outputs is not None else None
        )
        self.function()  # import now: a bad reference is bad input, found before any run

    def _setup(self, scenario: UserScenario, folder: Path | None) -> None:
        """The state that follows from the scenario (the function is imported later)."""
        self.scenario = scenario
        self.folder = folder
        self.name = scenario.model
        self._names = list(scenario.parameters)
        self._dists: list[Dist] = list(scenario.parameters.values())
        # A constant's inverse CDF is the constant: it needs no uniform (a costly draw).
        self._constants: list[float | None] = [
            float(dist.value) if isinstance(dist, Constant) else None for dist in self._dists
        ]
        self._function: UserFunction | None = None
        self._lengths: dict[str, int] | None = None

    def with_scenario(self, scenario: UserScenario) -> UserModel:
        """The model of another scenario (a sweep's design point, say): when it names the same
        model in the same folder, the imported function is reused instead of imported again."""
        if scenario.model != self.scenario.model or scenario.model_dir != self.scenario.model_dir:
            return UserModel(scenario, self.source_dir)
        model = UserModel.__new__(UserModel)
        model._setup(scenario, self.folder)
        model.source_dir = self.source_dir
        model._outputs = list(scenario.outputs) if scenario.outputs is not None else None
        model._function = self._function
        return model

    # -- pickling: the scenario, the folder and the outputs travel; the function does not ------

    def __getstate__(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "folder": self.folder,
            "source_dir": self.source_dir,
            "outputs": self._outputs,
            "lengths": self._lengths,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._setup(state["scenario"], state["folder"])
        self.source_dir = state.get("source_dir")
        self._outputs = state["outputs"]
        self._lengths = state.get("lengths")

    # -- the Model interface ----------------------------------------------------------------------

    def function(self) -> UserFunction:
        """The user's callable, imported on first use in this process."""
        if self._function is None:
            self._function = import_model(self.scenario.model, self.folder)
        return self._function

    def outputs(self) -> list[str]:
        """The output names: the scenario's ``outputs``, else those replication 0 returns.

        Discovery runs replication 0 of the scenario's seed; if it fails, the failure is a
        :class:`sim.errors.ReplicationError` naming replication 0.
        """
        if self._outputs is None:
            self._outputs, self._lengths = self._discover()
        return self._outputs

    def series_lengths(self) -> dict[str, int]:
        """The outputs that are series, with their length (steps) in replication 0.

        Found with the outputs when they are discovered; for declared outputs, by running
        replication 0 once. If that fails, every declared output counts as a number (the run
        then reports the failure where it happens).
        """
        if self._lengths is None:
            outputs = self.outputs()
            if self._lengths is None:
                try:
                    result = self.call(Streams(self.scenario.seed, 0))
                except Exception:
                    self._lengths = {}
                else:
                    self._lengths = _series_lengths(result, outputs)
        return self._lengths

    def outcome_specs(self) -> list[OutcomeSpec]:
        """One nullable float column per output that is a number."""
        series = self.series_lengths()
        return [
            OutcomeSpec(name, "float", f"Output {name!r} of {self.scenario.model}", nullable=True)
            for name in self.outputs()
            if name not in series
        ]

    def series_names(self) -> list[str]:
        """The outputs that are series (one-dimensional arrays), in the outputs' order."""
        return list(self.series_lengths())

    def draw_parameters(self, streams: Streams) -> dict[str, float]:
        """This replication's parameters: one uniform each, keyed by the parameter's name,
        through ``ppf`` (the uniforms drawn in one call)."""
        drawn = [
            f"world/parameters.{name}"
            for name, constant in zip(self._names, self._constants, strict=True)
            if constant is None
        ]
        uniforms = iter(streams.uniforms(drawn))
        return {
            name: float(dist.ppf(next(uniforms))) if constant is None else constant
            for name, dist, constant in zip(self._names, self._dists, self._constants, strict=True)
        }

    def call(self, streams: Streams) -> Mapping[Any, Any]:
        """Call the user's function for one replication; return what it returned, checked to be
        a mapping (:class:`ModelOutputError` otherwise)."""
        result = _call_guarded(self.function(), self.draw_parameters(streams), streams["model"])
        if not isinstance(result, Mapping):
            raise ModelOutputError(
                f"{self.scenario.model} returned {_a(type(result).__name__)}, not a mapping "
                "of output names to numbers"
            )
        return result

    def run_replication(self, streams: Streams) -> ReplicationResult:
        """Call the function once; check its outputs against :meth:`outputs`."""
        outputs = self.outputs()
        result = self.call(streams)
        extra = [key for key in result if key not in outputs]
        if extra:
            source = (
                "the scenario's outputs"
                if self.scenario.outputs is not None
                else "the outputs replication 0 returned"
            )
            raise ModelOutputError(
                f"{self.scenario.model} returned {', '.join(map(repr, extra))}, not among "
                f"{source} ({', '.join(outputs)})"
            )
        missing = [name for name in outputs if name not in result]
        if missing:
            raise ModelOutputError(
                f"{self.scenario.model} returned no {', '.join(map(repr, missing))}"
            )
        values: dict[str, float | int | str | None] = {}
        series: dict[str, np.ndarray] = {}
        lengths = self._lengths
        for name in outputs:
            value = result[name]
            if _is_series(value):
                series[name] = self._series(name, value, lengths)
                continue
            if lengths is not None and name in lengths:
                raise ModelOutputError(
                    f"{self.scenario.model} returned {_shown(value)} for output {name!r}, not a "
                    f"series of {lengths[name]} steps as in replication 0"
                )
            try:
                values[name] = _number(value)
            except TypeError:
                raise ModelOutputError(
                    f"{self.scenario.model} returned {_shown(value)} ({type(value).__name__}) "
                    f"for output {name!r}, not a number"
                ) from None
        return ReplicationResult(values, series)

    def _series(self, name: str, value: Any, lengths: dict[str, int] | None) -> np.ndarray:
        """A returned series as float64 (None and NaN are NaN), checked against replication 0."""
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ModelOutputError(
                f"{self.scenario.model} returned {_shown(value)} for output {name!r}, not a "
                "number or a series of numbers"
            ) from None
        if lengths is not None:
            if name not in lengths:
                raise ModelOutputError(
                    f"{self.scenario.model} returned a series for output {name!r}, which "
                    "replication 0 returned as a number"
                )
            if array.shape[0] != lengths[name]:
                raise ModelOutputError(
                    f"{self.scenario.model} returned {array.shape[0]} steps for series "
                    f"{name!r}, replication 0 returned {lengths[name]}: a series has the same "
                    "length in every replication"
                )
        return array

    def _discover(self) -> tuple[list[str], dict[str, int]]:
        try:
            result = self.call(Streams(self.scenario.seed, 0))
            names = list(result)
            if not names:
                raise ModelOutputError(f"{self.scenario.model} returned no outputs")
            bad = [repr(k) for k in names if not isinstance(k, str) or not NAME.match(k)]
            if bad:
                raise ModelOutputError(
                    f"{self.scenario.model} returned output names {', '.join(bad)}: names must "
                    "be letters, digits and '_', not starting with a digit"
                )
            reserved = [name for name in names if name in RESERVED_OUTPUTS]
            if reserved:
                raise ModelOutputError(
                    f"{self.scenario.model} returned {', '.join(map(repr, reserved))}: "
                    f"{' and '.join(RESERVED_OUTPUTS)} are columns of every run"
                )
        except Exception as exc:
            import traceback

            raise ReplicationError(
                0, f"{type(exc).__name__}: {exc}", traceback.format_exc()
            ) from exc
        return names, _series_lengths(result, names)
