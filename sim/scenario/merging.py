"""Documents from several sources: ``extends`` chains of files and ``--set`` overrides.

``extends: PATH`` at the top level of a file (relative to the file that contains it) loads that
file first (recursively) and deep-merges this one over it: mappings merge key by key, any other
value (lists included) replaces the parent's wholesale. A distribution is a value too: when both
mappings have a ``dist:`` key and the child's names another type, the child's mapping replaces the
parent's (the parent's ``low``/``mode``/``high`` mean nothing to a lognormal). The ``extends`` key
is dropped. Keys keep the position of the file that supplied them. File names in messages are the
path given for the top file and, for extended files, that file's directory joined with the
``extends`` value (lexically normalised, e.g. ``scenarios/base.yaml``).

Overrides (``--set KEY.PATH=VALUE``, :func:`apply_overrides`): VALUE is read as YAML by the same
loader (``3`` is an int, ``0.5`` a float, ``true`` a bool, ``null`` or an empty VALUE is None,
``{dist: uniform, low: 1, high: 2}`` a mapping, anything else a string). Dotted segments walk
mappings (missing or null intermediate mappings are created) and, when the segment is a number,
list items. Every key and value an override writes has the position ``--set:N:1``: file
``--set``, line N = the 1-based index of that override among the overrides, column 1.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sim.errors import InputError, Problem
from sim.scenario.distributions import TAG_ALIASES
from sim.scenario.loading import (
    Document,
    KeyPath,
    Position,
    PositionMaps,
    decode_problem,
    format_key_path,
    parse_mapping,
    read_failure_reason,
    read_text,
    read_value,
    show_value,
)

__all__ = ["OVERRIDE_FILE", "apply_overrides", "load_document", "set_value"]

OVERRIDE_FILE = "--set"
"""The file name of positions that come from overrides."""

_EXTENDS = "extends"
_DIST = "dist"


# --------------------------------------------------------------------------------------------
# Loading with extends
# --------------------------------------------------------------------------------------------


def load_document(path: str | Path) -> Document:
    """Load a YAML mapping file, following ``extends``, with the position of every key and value.

    Raises :class:`InputError` for an unreadable or malformed file, refused tags, duplicate or
    non-string keys, a top level that is not a mapping, and a bad, missing or cyclic ``extends``.
    """
    top = Path(path)
    file = os.fspath(path)
    try:
        text = read_text(top)
    except OSError as exc:
        problem = Problem(file, 1, 1, "", f"cannot read file: {read_failure_reason(exc)}")
        raise InputError([problem]) from None
    except UnicodeDecodeError as exc:
        raise InputError([decode_problem(top, file, exc)]) from None
    data, positions, values, chain = _load_text(text, top, file, [])
    return Document(data, positions, values, top, chain)


def _load_text(
    text: str, path: Path, file: str, stack: list[tuple[Path, str]]
) -> tuple[dict[str, Any], dict[KeyPath, Position], dict[KeyPath, Position], list[Path]]:
    """Parse one file's text and merge it over the file it extends, if any."""
    data, positions, values = parse_mapping(text, file)
    chain = [Path(file)]
    if _EXTENDS not in data:
        return data, positions, values, chain

    key: KeyPath = (_EXTENDS,)
    target = data.pop(_EXTENDS)
    where = values.pop(key)
    positions.pop(key)

    def fail(message: str) -> InputError:
        return InputError([Problem(where.file, where.line, where.col, _EXTENDS, message)])

    if not isinstance(target, str) or not target.strip():
        raise fail(f"extends must be the path of a YAML file (a string), not {show_value(target)}")
    parent_path = path.parent / target
    parent_file = os.path.normpath(os.path.join(os.path.dirname(file), target))
    here = (path.resolve(), file)
    seen = stack + [here]
    parent_resolved = parent_path.resolve()
    for index, (resolved, _) in enumerate(seen):
        if resolved == parent_resolved:
            names = " -> ".join([name for _, name in seen] + [parent_file])
            first = seen[index][1]
            raise fail(f"extends cycle: {names} ({first} extends itself through this chain)")
    try:
        parent_text = read_text(parent_path)
    except OSError as exc:
        raise fail(
            f"cannot read extended file '{parent_file}': {read_failure_reason(exc)}"
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError([decode_problem(parent_path, parent_file, exc)]) from None
    p_data, p_positions, p_values, p_chain = _load_text(parent_text, parent_path, parent_file, seen)

    out_positions: dict[KeyPath, Position] = {(): positions[()]}
    out_values: dict[KeyPath, Position] = {(): values[()]}
    merged = _deep_merge(
        p_data, data, (), (p_positions, p_values), (positions, values), (out_positions, out_values)
    )
    return merged, out_positions, out_values, chain + p_chain


def _deep_merge(
    parent: dict[str, Any],
    child: dict[str, Any],
    prefix: KeyPath,
    parent_pos: PositionMaps,
    child_pos: PositionMaps,
    out: PositionMaps,
) -> dict[str, Any]:
    """``child`` over ``parent``: mappings merge key by key; anything else is replaced.

    A distribution mapping whose ``dist`` the child changes is replaced, not merged.
    """
    result: dict[str, Any] = {}
    for key, parent_value in parent.items():
        path = prefix + (key,)
        if key not in child:
            result[key] = parent_value
            _copy_subtree(parent_value, path, parent_pos, out)
            continue
        child_value = child[key]
        if (
            isinstance(parent_value, dict)
            and isinstance(child_value, dict)
            and not _changes_distribution(parent_value, child_value)
        ):
            for target, source in zip(out, child_pos, strict=True):
                target[path] = source[path]
            result[key] = _deep_merge(parent_value, child_value, path, parent_pos, child_pos, out)
        else:
            result[key] = child_value
            _copy_subtree(child_value, path, child_pos, out)
    for key, child_value in child.items():
        if key not in parent:
            result[key] = child_value
            _copy_subtree(child_value, prefix + (key,), child_pos, out)
    return result


def _changes_distribution(parent: dict[str, Any], child: dict[str, Any]) -> bool:
    """Are both distribution mappings (a ``dist`` key), of different types (aliases resolved)?"""
    if _DIST not in parent or _DIST not in child:
        return False
    tags = [value[_DIST] for value in (parent, child)]
    canonical = [TAG_ALIASES.get(tag, tag) if isinstance(tag, str) else tag for tag in tags]
    return bool(canonical[0] != canonical[1])


def _copy_subtree(value: Any, path: KeyPath, source: PositionMaps, out: PositionMaps) -> None:
    for target, origin in zip(out, source, strict=True):
        if path in origin:
            target[path] = origin[path]
    if isinstance(value, dict):
        for key, item in value.items():
            _copy_subtree(item, path + (key,), source, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _copy_subtree(item, path + (index,), source, out)


# --------------------------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------------------------


def _parse_value(text: str, where: Position, key: str) -> Any:
    """Read one override VALUE as YAML; problems are reported at ``where``."""
    try:
        return read_value(text, where.file)
    except InputError as exc:
        raise InputError(
            [Problem(where.file, where.line, where.col, key, p.message) for p in exc.problems]
        ) from None


def _split_key(key: str) -> list[str]:
    parts = key.split(".")
    if not key or any(not part.strip() for part in parts):
        raise ValueError(f"bad key path '{key}': empty key")
    return [part.strip() for part in parts]


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"a string ({show_value(value)})"
    if isinstance(value, bool) or value is None:
        return show_value(value)
    if isinstance(value, int | float):
        return f"a number ({show_value(value)})"
    return f"a {type(value).__name__}"


def _set_in(doc: Document, key: str, value: Any, where: Position) -> None:
    """Set ``key`` (dotted) to ``value`` in ``doc`` in place; positions become ``where``."""
    try:
        parts = _split_key(key)
    except ValueError as exc:
        raise InputError([Problem(where.file, where.line, where.col, key, str(exc))]) from None

    def fail(message: str) -> InputError:
        return InputError([Problem(where.file, where.line, where.col, key, message)])

    container: Any = doc.data
    path: KeyPath = ()
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        step: str | int
        if isinstance(container, dict):
            step = part
        elif isinstance(container, list):
            if not part.isdigit():
                raise fail(f"'{format_key_path(path)}' is a list: '{part}' is not an item number")
            step = int(part)
            if step >= len(container):
                raise fail(
                    f"'{format_key_path(path)}' has {len(container)} items: there is no item {step}"
                )
        else:  # pragma: no cover - the loop below only descends into mappings and lists
            raise fail(f"'{format_key_path(path)}' is not a mapping")
        path = path + (step,)
        if last:
            _drop_prefixed(doc.positions, path)
            _drop_prefixed(doc.value_positions, path)
            container[step] = value
            _mark_subtree(value, path, where, doc)
            return
        if isinstance(container, dict) and container.get(step) is None:
            container[step] = {}
            doc.positions[path] = doc.value_positions[path] = where
        child = container[step]
        if not isinstance(child, dict | list):
            raise fail(
                f"cannot set '{key}': '{format_key_path(path)}' is {_kind(child)}, not a mapping"
            )
        container = child


def _drop_prefixed(positions: dict[KeyPath, Position], prefix: KeyPath) -> None:
    size = len(prefix)
    for path in [p for p in positions if p[:size] == prefix]:
        del positions[path]


def _mark_subtree(value: Any, path: KeyPath, where: Position, doc: Document) -> None:
    doc.positions[path] = doc.value_positions[path] = where
    if isinstance(value, dict):
        for key, item in value.items():
            _mark_subtree(item, path + (key,), where, doc)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _mark_subtree(item, path + (index,), where, doc)


def _copy_document(doc: Document) -> Document:
    return Document(
        copy.deepcopy(doc.data),
        dict(doc.positions),
        dict(doc.value_positions),
        doc.path,
        list(doc.chain),
    )


def apply_overrides(doc: Document, overrides: Sequence[str]) -> Document:
    """A copy of ``doc`` with each ``KEY.PATH=VALUE`` override applied, in order.

    Override N (1-based) has the position ``--set:N:1``. All malformed overrides are reported
    together in one :class:`InputError`; ``doc`` itself is not changed.
    """
    result = _copy_document(doc)
    problems: list[Problem] = []
    for index, override in enumerate(overrides, start=1):
        where = Position(OVERRIDE_FILE, index, 1)
        key, sep, text = override.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(
                Problem(
                    where.file,
                    where.line,
                    where.col,
                    key if sep else "",
                    f"an override must look like KEY.PATH=VALUE; got {override!r}",
                )
            )
            continue
        try:
            _split_key(key)
            value = _parse_value(text, where, key)
            _set_in(result, key, value, where)
        except ValueError as exc:
            problems.append(Problem(where.file, where.line, where.col, key, str(exc)))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return result


def set_value(doc: Document, key: str, value: Any, *, position: Position | None = None) -> Document:
    """A copy of ``doc`` with the dotted ``key`` set to the plain ``value``.

    The same rules as :func:`apply_overrides` (for code such as sweeps that already have the
    value); ``position`` (default ``--set:1:1``) is recorded for every key the value writes.
    """
    result = _copy_document(doc)
    _set_in(result, key, copy.deepcopy(value), position or Position(OVERRIDE_FILE, 1, 1))
    return result
