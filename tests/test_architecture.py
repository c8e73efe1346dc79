"""The layout's promises, checked on the source: a model is one folder that nothing above it
names, and no layer imports a layer above it.

Layers, from the bottom: ``errors``/``seeding``/``pcg``/``files``/``fmt``/``limits`` <
``scenario`` < ``model`` < ``results``/``runner`` < ``sweep``/``analysis``/``report`` < ``api`` <
``cli``. A module may import from its own layer and the layers below.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.model.standoff import OUTCOMES, SERIES

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sim"
MODEL_FOLDER = PACKAGE / "model" / "standoff"


def modules() -> Iterator[tuple[str, Path]]:
    """Every module of the package as (dotted name, path)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def imported(tree: ast.AST, module: str) -> set[str]:
    """The modules a module imports (absolute names), anywhere in it (lazy imports too)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = module.split(".")[: -node.level] if node.level else []
                name = ".".join([*base, node.module or ""]).rstrip(".")
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def docstring_nodes(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings."""
    ids = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
        ):
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def test_nothing_outside_the_model_folder_names_the_model() -> None:
    """No module outside sim/model/standoff/ imports it, says "standoff" in code, or names any
    of its outcomes or series in a string: they learn about a model from its specs only."""
    names = {spec.name for spec in OUTCOMES} | set(SERIES) | {"standoff"}
    offences = []
    for module, path in modules():
        if path.is_relative_to(MODEL_FOLDER):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = docstring_nodes(tree)
        offences += [
            f"{module} imports {name}"
            for name in imported(tree, module)
            if name.startswith("sim.model.standoff")
        ]
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) not in docstrings and node.value in names:
                    offences.append(f"{module}:{node.lineno} names {node.value!r}")
            elif isinstance(node, ast.Name | ast.Attribute | ast.FunctionDef | ast.ClassDef):
                identifier = (
                    getattr(node, "id", None)
                    or getattr(node, "attr", None)
                    or getattr(node, "name", "")
                )
                if "standoff" in identifier.lower():
                    offences.append(f"{module}:{node.lineno} names {identifier}")
    assert offences == []


LAYERS = [
    ("sim.errors", "sim.seeding", "sim.pcg", "sim.files", "sim.fmt", "sim.limits"),
    ("sim.scenario",),
    ("sim.model",),
    ("sim.results", "sim.runner"),
    ("sim.sweeps", "sim.calibration", "sim.analysis", "sim.reporting"),
    ("sim.api",),
    ("sim.cli", "sim.__main__"),
]


def layer_of(module: str) -> int | None:
    for index, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return index
    return None


@pytest.mark.parametrize("module,path", list(modules()), ids=lambda value: str(value))
def test_no_import_goes_up_a_layer(module: str, path: Path) -> None:
    own = layer_of(module)
    if own is None:
        return  # the package's __init__ (lazy re-exports of the API)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    upward = sorted(
        name
        for name in imported(tree, module)
        if name.startswith("sim.") and (layer_of(name) or 0) > own
    )
    assert upward == [], f"{module} imports from a higher layer"


def _compiled_functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    """The module-level functions decorated with numba's njit."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Name) and target.id == "njit":
                    found[node.name] = node
    return found


def test_compiled_code_calls_only_compiled_code_of_its_own_file() -> None:
    """numba's cache (``cache=True``) is keyed on the file of the function compiled, not on
    the files of the compiled functions it calls: a compiled call into another file would
    keep running the old machine code after that file changed. So a compiled function calls
    only compiled functions of its own file (or numpy's, which numba compiles itself)."""
    compiled = {}
    trees = {}
    for module, path in modules():
        trees[module] = tree = ast.parse(path.read_text(encoding="utf-8"))
        compiled[module] = _compiled_functions(tree)
    everywhere = {name for functions in compiled.values() for name in functions}
    offences = []
    for module, functions in compiled.items():
        imported = {
            alias.asname or alias.name
            for node in trees[module].body
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        for name, function in functions.items():
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    callee = node.func.id
                    if callee in imported and callee in everywhere:
                        offences.append(f"{module}.{name} calls {callee} from another file")
    assert offences == []
    assert sum(len(functions) for functions in compiled.values()) >= 15  # the check saw them
