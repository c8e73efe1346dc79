"""Validating a document against a pydantic schema, each error a :class:`Problem` at its place.

An unknown key is reported at the key, with a did-you-mean hint (or the allowed keys); a missing
key at its parent mapping's key; a bad value where the value starts. What each pydantic error
means is read in :mod:`sim.scenario.pydantic_errors`; this module words and places the problems.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sim.errors import InputError, Problem, did_you_mean
from sim.scenario.loading import Document, KeyPath, format_key_path, show_value
from sim.scenario.pydantic_errors import SchemaError, allowed_keys, schema_errors

__all__ = ["validate"]

M = TypeVar("M", bound=BaseModel)

_KEY_SHOWN = 40  # an unknown key is quoted up to this many characters (the file may be any YAML)


def _get(data: Any, key_path: KeyPath) -> Any:
    node = data
    for part in key_path:
        node = node[part]
    return node


def _problem(doc: Document, model_cls: type[BaseModel], error: SchemaError) -> Problem:
    """One user-facing Problem for one schema error."""
    key_path = error.key_path
    at_key = False
    if error.kind == "unknown_key":
        unknown = str(key_path[-1]) if key_path else str(error.loc[-1])
        node = _get(doc.data, key_path[:-1]) if key_path else doc.data
        # Keys the user wrote next to the unknown one are not what they meant; keys inherited
        # through `extends` (from another file) are the likeliest meaning of a typo.
        here = doc.positions.get(key_path)
        present = {
            name
            for name in (node if isinstance(node, dict) else ())
            if here is None
            or getattr(doc.positions.get(key_path[:-1] + (name,)), "file", here.file) == here.file
        }
        allowed = allowed_keys(model_cls, error.loc, doc.data)
        shown = unknown if len(unknown) <= _KEY_SHOWN else unknown[: _KEY_SHOWN - 3] + "..."
        message = f"unknown key '{shown}'"
        # A schema may say what became of keys it no longer has (``REMOVED_KEYS``: dotted key
        # path, list indices left out -> what to use instead).
        removed = getattr(model_cls, "REMOVED_KEYS", {}).get(
            ".".join(str(part) for part in key_path if not isinstance(part, int))
        )
        hint = "" if removed else did_you_mean(unknown, [n for n in allowed if n not in present])
        if removed:
            message += f": {removed}"
        elif hint:
            message += hint
        elif allowed and len(allowed) <= 12:
            message += "; allowed keys here: " + ", ".join(allowed)
        at_key = True
    elif error.kind == "missing":
        where = doc.locate(key_path[:-1])
        return Problem(
            where.file, where.line, where.col, format_key_path(key_path), "required key is missing"
        )
    elif error.kind == "unknown_tag":
        message = error.message
        if error.choices:
            choices = ", ".join(f"'{name}'" for name in error.choices)
            message = f"{show_value(error.tag)} is not one of {choices}"
            message += did_you_mean(error.tag, error.choices)
    elif error.kind == "expected_kinds":
        message = f"{error.message} (got {show_value(error.input)})"
    else:
        message = error.message
        if error.kind != "custom" and isinstance(
            error.input, str | int | float | bool | date | type(None)
        ):
            message += f" (got {show_value(error.input)})"
            if error.kind == "literal" and isinstance(error.input, str):
                message += did_you_mean(error.input, error.choices)
    try:
        value = _get(doc.data, key_path)
    except (KeyError, IndexError, TypeError):
        value = None
    at_value = not at_key and not isinstance(value, dict | list)
    where = doc.locate(key_path, value=at_value)
    return Problem(where.file, where.line, where.col, format_key_path(key_path), message)


def validate(doc: Document, model_cls: type[M], *, context: dict[str, Any] | None = None) -> M:
    """``model_cls.model_validate(doc.data, context=context)``, problems as :class:`InputError`.

    Each pydantic error becomes one Problem at the place the offending key or value was written
    (the file it came from, through ``extends``, or ``--set:N:1``): an unknown key at the key,
    with a did-you-mean hint; a missing key at its parent mapping's key (1:1 of the top file at
    the top level); a bad value where the value starts (at the key when the value is a mapping
    or a list). Errors from union members the input was plainly not meant for are left out.
    Problems are sorted by file (the chain's order, then ``--set``), line and column.
    """
    try:
        return model_cls.model_validate(doc.data, context=context)
    except ValidationError as exc:
        problems: list[Problem] = []
        for error in schema_errors(exc, doc.data):
            problem = _problem(doc, model_cls, error)
            if problem not in problems:
                problems.append(problem)
        files = [str(p) for p in doc.chain]

        def order(problem: Problem) -> tuple[int, int, int]:
            rank = files.index(problem.file) if problem.file in files else len(files)
            return (rank, problem.line, problem.col)

        problems.sort(key=order)
        raise InputError(problems) from None
