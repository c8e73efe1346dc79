"""What pydantic's validation errors mean, in terms of the data: the one place that knows them.

Everything here depends on how pydantic reports errors: the error ``type`` names, the shape of
``loc`` (a failed union adds one segment per member: the member's class name, its ``Tag``, or a
label such as ``float`` or ``constrained-float``), the ``ctx`` keys (``discriminator``,
``expected_tags``, ``tag``, ``expected``, all pre-quoted text), the ``"Value error, "`` prefix of
messages from our validators, and the field annotations and aliases read through
``model_fields``. It turns a :class:`pydantic.ValidationError` into :class:`SchemaError` records
in our own vocabulary, which :mod:`sim.scenario.problems` turns into positioned problems.
``tests/test_pydantic_errors.py`` pins each error type mapped here, so a pydantic upgrade that
changes them fails there first.
"""

from __future__ import annotations

import collections.abc
import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError
from pydantic.fields import FieldInfo

from sim.scenario.loading import KeyPath

__all__ = [
    "KIND_NOUNS",
    "WHOLE_NUMBER",
    "ErrorKind",
    "SchemaError",
    "allowed_keys",
    "schema_errors",
    "whole_number_message",
]

ErrorKind = Literal[
    "unknown_key", "missing", "unknown_tag", "expected_kinds", "literal", "custom", "invalid"
]
"""What a :class:`SchemaError` says:

* ``unknown_key``: a key the schema does not have (pydantic ``extra_forbidden``);
* ``missing``: a required key is absent (``missing``; ``union_tag_not_found``, the tag key);
* ``unknown_tag``: a tagged union's tag names no member (``union_tag_invalid``);
* ``expected_kinds``: the value is of none of a union's kinds ("expected a number or a mapping");
* ``literal``: not one of the allowed values (``literal_error``);
* ``custom``: a message of one of our validators (``value_error``, ``assertion_error``);
* ``invalid``: any other error (a wrong type, a bound), with pydantic's message.
"""


@dataclass(frozen=True)
class SchemaError:
    """One pydantic error in our terms: what, where in the data, and the message parts."""

    kind: ErrorKind
    key_path: KeyPath
    """Data keys only (union labels and tags dropped); for ``missing``, the absent key."""
    loc: tuple[str | int, ...]
    """Pydantic's location, for :func:`allowed_keys`."""
    message: str
    """Pydantic's message (our validator's text for ``custom``), or "expected X or Y"."""
    input: Any
    choices: tuple[str, ...] = ()
    """The allowed values (``literal``) or tags (``unknown_tag``), unquoted."""
    tag: str = ""
    """The tag given (``unknown_tag``)."""


# Error types meaning "the input is not of this union member's kind at all": short nouns for a
# combined "expected X or Y" message.
KIND_NOUNS: dict[str, str] = {
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "dict_type": "a mapping",
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "none_required": "null",
    "date_type": "a date",
    "date_parsing": "a date",
    "date_from_datetime_parsing": "a date",
    "datetime_type": "a date and time",
    "datetime_parsing": "a date and time",
    "literal_error": "",  # the expected values, from the error's context
}
_CUSTOM_TYPES = frozenset({"value_error", "assertion_error"})


@dataclass
class _Error:
    """One pydantic error, mapped onto the data."""

    loc: tuple[str | int, ...]
    type: str
    msg: str
    input: Any
    ctx: dict[str, Any]
    key_path: KeyPath  # data keys only (union labels and tags dropped)
    unions: list[int]  # indices in loc where a run of non-data segments (union labels) starts


def _in_data(node: Any, segment: Any) -> bool:
    if isinstance(node, dict):
        return isinstance(segment, str) and segment in node
    if isinstance(node, list):
        return (
            isinstance(segment, int) and not isinstance(segment, bool) and 0 <= segment < len(node)
        )
    return False


def _map_error(data: Any, raw: Mapping[str, Any]) -> _Error:
    loc = tuple(raw["loc"])
    kind = raw["type"]
    node = data
    key_path: list[str | int] = []
    unions: list[int] = []
    in_run = False
    for index, segment in enumerate(loc):
        if _in_data(node, segment):
            key_path.append(segment)
            node = node[segment]
            in_run = False
        elif kind == "missing" and index == len(loc) - 1:
            key_path.append(segment)
        else:
            if not in_run:
                unions.append(index)
            in_run = True
    return _Error(
        loc,
        kind,
        str(raw["msg"]),
        raw.get("input"),
        dict(raw.get("ctx") or {}),
        tuple(key_path),
        unions,
    )


def _is_mismatch(error: _Error, end: int) -> bool:
    """True if ``error`` says only that the input is not of a union member's kind."""
    return len(error.loc) == end and error.type in KIND_NOUNS


def _noun(error: _Error) -> str:
    if error.type == "literal_error":
        return str(error.ctx.get("expected", "")) or error.msg
    return KIND_NOUNS.get(error.type) or error.msg


def _prune_unions(errors: list[_Error], level: int = 0) -> list[_Error]:
    """Keep only the errors of the union member(s) the input was evidently meant for.

    Pydantic reports every member of a failed union. Members the input is not even of the kind of
    (a string given to a mapping member) are dropped when some member got further; if none did,
    their errors become one "expected X or Y" error. Among members that got further, those with
    a wrong ``Literal`` (a tag) and then those with more errors are dropped.
    """
    plain = [e for e in errors if len(e.unions) <= level]
    nested = [e for e in errors if len(e.unions) > level]
    groups: dict[tuple[Any, ...], list[_Error]] = {}
    for error in nested:
        groups.setdefault(error.loc[: error.unions[level]], []).append(error)
    result = list(plain)
    for prefix, group in groups.items():
        label_index = len(prefix)
        branches: dict[Any, list[_Error]] = {}
        for error in group:
            branches.setdefault(error.loc[label_index], []).append(error)
        fitting = {
            label: errs
            for label, errs in branches.items()
            if not all(_is_mismatch(e, label_index + 1) for e in errs)
        }
        if not fitting:
            first = group[0]
            nouns: list[str] = []
            for error in group:
                noun = _noun(error)
                if noun not in nouns:
                    nouns.append(noun)
            message = "expected " + " or ".join(nouns)
            result.append(
                _Error(
                    prefix,
                    "union_mismatch",
                    message,
                    first.input,
                    {},
                    first.key_path,
                    first.unions[:level],
                )
            )
            continue

        ranks = {
            label: (
                int(any(e.type == "literal_error" and len(e.loc) == label_index + 2 for e in errs)),
                len(errs),
            )
            for label, errs in fitting.items()
        }
        best = min(ranks.values())
        for label, errs in fitting.items():
            if ranks[label] == best:
                result.extend(_prune_unions(errs, level + 1))
    return result


def _flatten_type(tp: Any, tags: frozenset[str], out: list[tuple[Any, frozenset[str]]]) -> None:
    """Unwrap Annotated / Union / Optional / type aliases into (member type, Tag labels)."""
    if type(tp).__name__ == "TypeAliasType" and hasattr(tp, "__value__"):
        _flatten_type(tp.__value__, tags, out)
        return
    origin = get_origin(tp)
    if origin is Annotated:
        args = get_args(tp)
        labels = {meta.tag for meta in args[1:] if isinstance(meta, Tag)}
        _flatten_type(args[0], tags | labels, out)
    elif origin is Union or origin is types.UnionType:
        for member in get_args(tp):
            _flatten_type(member, tags, out)
    elif tp is not type(None):
        out.append((tp, tags))


def _flatten(types_: Iterable[Any]) -> list[tuple[Any, frozenset[str]]]:
    out: list[tuple[Any, frozenset[str]]] = []
    for tp in types_:
        _flatten_type(tp, frozenset(), out)
    return out


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


_MAPPING_ORIGINS = (dict, collections.abc.Mapping, collections.abc.MutableMapping)
_SEQUENCE_ORIGINS = (
    list,
    set,
    frozenset,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Set,
    collections.abc.Iterable,
)


def _fields_by_key(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A model's fields by the key written in the data: the alias if it has one, else the name."""
    return {info.alias or name: info for name, info in model.model_fields.items()}


def _child_types(tp: Any, segment: Any) -> list[Any]:
    """The type(s) of ``tp``'s member at ``segment`` (a field, a dict key, a list index)."""
    if _is_model(tp):
        info = _fields_by_key(tp).get(segment) if isinstance(segment, str) else None
        return [info.annotation] if info is not None else []
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in _MAPPING_ORIGINS and len(args) == 2:
        return [args[1]]
    if origin in _SEQUENCE_ORIGINS and len(args) == 1:
        return [args[0]]
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return [args[0]]
        if isinstance(segment, int) and 0 <= segment < len(args):
            return [args[segment]]
    return []


def _labelled(tp: Any, tags: frozenset[str], label: Any) -> bool:
    """Does the union label (or discriminator tag) ``label`` name this member?"""
    if label in tags or getattr(tp, "__name__", None) == label:
        return True
    if _is_model(tp):
        for info in tp.model_fields.values():
            if get_origin(info.annotation) is Literal and label in get_args(info.annotation):
                return True
    return False


def allowed_keys(model_cls: type[BaseModel], loc: tuple[Any, ...], data: Any) -> list[str]:
    """Keys allowed in the mapping that holds the key ``loc[-1]`` (a field's alias, if any)."""
    candidates: list[Any] = [model_cls]
    node = data
    for segment in loc[:-1]:
        members = _flatten(candidates)
        if _in_data(node, segment):
            candidates = [child for tp, _ in members for child in _child_types(tp, segment)]
            node = node[segment]
        else:
            picked = [tp for tp, tags in members if _labelled(tp, tags, segment)]
            candidates = picked or [tp for tp, _ in members]
    models = [tp for tp, _ in _flatten(candidates) if _is_model(tp)]
    present = set(node) - {loc[-1]} if isinstance(node, dict) else set()
    fitting = [m for m in models if present <= set(_fields_by_key(m))] or models
    names: list[str] = []
    for model in fitting:
        names.extend(name for name in _fields_by_key(model) if name not in names)
    return names


def _quoted(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text)


_MESSAGE_PREFIXES = ("Value error, ", "Assertion failed, ")

_NOT_INT_TEXT = "Input should be a valid integer, unable to parse string as an integer"


def _is_int_text(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


WHOLE_NUMBER = "expected a whole number"
"""Start of the message for a value of a strict int key that is not an int."""


def whole_number_message(value: Any) -> str:
    """What is wrong with ``value`` where a strict int goes (pydantic's ``int_type``).

    ``expected a whole number, got true (a boolean)``; ``... got '50' (text: write it without
    quotes)``; ``... got 1000000.0 (a decimal number: write 1000000)``.
    """
    if isinstance(value, bool):
        shown = f"{'true' if value else 'false'} (a boolean)"
    elif isinstance(value, str):
        text = value if len(value) <= 20 else value[:17] + "..."
        shown = f"{text!r} (text" + (": write it without quotes)" if _is_int_text(value) else ")")
    elif isinstance(value, float):
        if value.is_integer() and abs(value) < 1e18:
            shown = f"{value!r} (a decimal number: write {int(value)})"
        elif value.is_integer():
            shown = f"{value!r} (a decimal number)"
        else:
            shown = f"{value!r} (a number with a fractional part)"
    else:
        shown = f"a {type(value).__name__}"
    return f"{WHOLE_NUMBER}, got {shown}"


def _to_schema_error(data: Any, error: _Error) -> SchemaError:
    """Our record of one pruned error; ``data`` is the validated input."""
    key_path = error.key_path
    if error.type == "extra_forbidden":
        return SchemaError("unknown_key", key_path, error.loc, error.msg, error.input)
    if error.type == "missing":
        return SchemaError("missing", key_path, error.loc, error.msg, error.input)
    if error.type == "union_tag_not_found":
        key_path = key_path + tuple(_quoted(str(error.ctx.get("discriminator", ""))))
        return SchemaError("missing", key_path, error.loc, error.msg, error.input)
    if error.type == "union_tag_invalid":
        discriminator = _quoted(str(error.ctx.get("discriminator", "")))
        node = data
        for part in key_path:
            node = node[part]
        if len(discriminator) == 1 and isinstance(node, dict) and discriminator[0] in node:
            key_path = key_path + (discriminator[0],)
        expected = tuple(_quoted(str(error.ctx.get("expected_tags", ""))))
        tag = str(error.ctx.get("tag", ""))
        return SchemaError(
            "unknown_tag", key_path, error.loc, error.msg, error.input, expected, tag
        )
    if error.type == "union_mismatch":
        return SchemaError("expected_kinds", key_path, error.loc, error.msg, error.input)
    message = error.msg
    for prefix in _MESSAGE_PREFIXES:
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if error.type in _CUSTOM_TYPES:
        return SchemaError("custom", key_path, error.loc, message, error.input)
    if error.type == "int_type" and isinstance(error.input, str) and not _is_int_text(error.input):
        # text that is no number at all: worded as pydantic words it for a lax int
        return SchemaError("invalid", key_path, error.loc, _NOT_INT_TEXT, error.input)
    if error.type == "int_type" and isinstance(error.input, bool | str | float):
        # only a strict int refuses these (a lax int reads true, '50' and 2.0 as ints)
        return SchemaError(
            "custom", key_path, error.loc, whole_number_message(error.input), error.input
        )
    if error.type == "literal_error":
        choices = tuple(_quoted(str(error.ctx.get("expected", ""))))
        return SchemaError("literal", key_path, error.loc, message, error.input, choices)
    return SchemaError("invalid", key_path, error.loc, message, error.input)


def schema_errors(exc: ValidationError, data: Any) -> list[SchemaError]:
    """The errors of validating ``data``, less those of union members it was not meant for."""
    raw_errors = exc.errors(include_url=False)
    errors = _prune_unions([_map_error(data, raw) for raw in raw_errors])
    return [_to_schema_error(data, error) for error in errors]
