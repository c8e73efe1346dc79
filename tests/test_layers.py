"""Layering: scenario loading imports neither the layers above it nor user code.

``sim.scenario`` reads, merges and checks scenario files; choosing a model and importing a user's
module is the model registry's job, one layer up. Two checks per module of ``sim.scenario``:
statically, no import statement anywhere in it (function-level ones included) names a layer
above or imports code by name; dynamically, importing it in a fresh interpreter leaves those
layers out of ``sys.modules``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import sim.scenario

SCENARIO_DIR = Path(sim.scenario.__file__).parent

ABOVE = ("sim.model", "sim.runner", "sim.analysis", "sim.sweeps", "sim.results", "sim.reporting")
"""Packages above scenario loading: none may be imported by it."""

CODE_LOADERS = ("importlib", "runpy")
"""Modules that import code by name (a user's model): not scenario loading's job."""

#: Modules left out of these checks (none: the package's __init__ included, since picking a
#: schema by `model:` and importing user code moved to sim/model/registry.py).
NOT_YET: set[str] = set()

MODULES = sorted(path.stem for path in SCENARIO_DIR.glob("*.py") if path.stem not in NOT_YET)


def _imported_names(path: Path) -> list[str]:
    """Every module an import statement in ``path`` names (``from X import y`` gives X and X.y)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            names.append("__import__")
    return names


def _is_under(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def test_the_modules_are_found() -> None:
    assert {"loading", "merging", "problems", "pydantic_errors", "dumping"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_no_import_statement_reaches_up_or_loads_code(module: str) -> None:
    names = _imported_names(SCENARIO_DIR / f"{module}.py")
    assert [n for n in names if _is_under(n, ABOVE)] == []
    assert [n for n in names if _is_under(n, CODE_LOADERS) or n == "__import__"] == []


@pytest.mark.parametrize("module", MODULES)
def test_importing_leaves_the_layers_above_unloaded(module: str) -> None:
    code = (
        "import importlib, json, sys\n"
        f"importlib.import_module('sim.scenario.{module}')\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(result.stdout)
    assert [name for name in loaded if _is_under(name, ABOVE)] == []
