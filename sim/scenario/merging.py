"""Documents from several sources: ``extends`` chains of files and ``--set`` overrides.

``extends: PATH`` at the top level of a file (relative to the file that contains it) loads that
file first (recursively) and deep-merges this one over it: mappings merge key by key, any other
value replaces the parent's wholesale, except a list whose entries all carry the same key
(``name``, else ``from_day``: an incident schedule's periods, a list of named entries): those
merge entry by entry (the child's entry over the parent's of the same key, new entries added,
periods kept in day order), so a what-if changes one entry without restating the list. A
distribution is a value too: when both mappings have a ``dist:`` key and the child's names
another type, the child's mapping replaces the parent's (the parent's ``low``/``mode``/``high``
mean nothing to a lognormal). The ``extends`` key
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
    merged = _merge_mappings(
        p_data,
        data,
        ((), (), ()),
        (p_positions, p_values),
        (positions, values),
        (out_positions, out_values),
    )
    return merged, out_positions, out_values, chain + p_chain


#: The keys that identify the entries of a list, tried in this order: when every entry of the
#: parent's and of the child's list is a mapping with the same one of these keys (distinct
#: values), the lists merge by it under ``extends``: an entry with the key of a parent's entry
#: merges over it, a new one is added (lists keyed by ``from_day`` stay in day order).
LIST_KEYS = ("name", "from_day")

Paths = tuple[KeyPath, KeyPath, KeyPath]
"""Where a merged value is in the parent, in the child, and in the result."""


def _merge_mappings(
    parent: dict[str, Any],
    child: dict[str, Any],
    paths: Paths,
    parent_pos: PositionMaps,
    child_pos: PositionMaps,
    out: PositionMaps,
) -> dict[str, Any]:
    """``child`` over ``parent``: mappings merge key by key; lists of entries that carry a key
    (:data:`LIST_KEYS`) merge entry by entry; anything else is replaced. ``paths`` are where
    the two mappings and the result sit (key paths, for the positions of each value).

    A distribution mapping whose ``dist`` the child changes is replaced, not merged.
    """
    parent_at, child_at, out_at = paths
    result: dict[str, Any] = {}
    for key, parent_value in parent.items():
        here = (parent_at + (key,), child_at + (key,), out_at + (key,))
        if key not in child:
            result[key] = parent_value
            _copy_subtree(parent_value, here[0], here[2], parent_pos, out)
            continue
        result[key] = _merge_value(parent_value, child[key], here, parent_pos, child_pos, out)
    for key, child_value in child.items():
        if key not in parent:
            result[key] = child_value
            _copy_subtree(child_value, child_at + (key,), out_at + (key,), child_pos, out)
    return result


def _merge_value(
    parent_value: Any,
    child_value: Any,
    paths: Paths,
    parent_pos: PositionMaps,
    child_pos: PositionMaps,
    out: PositionMaps,
) -> Any:
    """One key's value: the child's merged over the parent's, or the child's."""
    _, child_at, out_at = paths
    if (
        isinstance(parent_value, dict)
        and isinstance(child_value, dict)
        and not _changes_distribution(parent_value, child_value)
    ):
        _copy_entry(child_at, out_at, child_pos, out)
        return _merge_mappings(parent_value, child_value, paths, parent_pos, child_pos, out)
    key = _list_key(parent_value, child_value)
    if key is not None:
        _copy_entry(child_at, out_at, child_pos, out)
        return _merge_lists(parent_value, child_value, key, paths, parent_pos, child_pos, out)
    _copy_subtree(child_value, child_at, out_at, child_pos, out)
    return child_value


def _list_key(parent_value: Any, child_value: Any) -> str | None:
    """The key the two lists merge by (see :data:`LIST_KEYS`), or None to replace."""
    if not (isinstance(parent_value, list) and isinstance(child_value, list)):
        return None
    entries = [*parent_value, *child_value]
    if not entries or not all(isinstance(entry, dict) for entry in entries):
        return None
    for key in LIST_KEYS:
        if all(key in entry for entry in entries):
            for side in (parent_value, child_value):
                ids = [repr(entry[key]) for entry in side]
                if len(set(ids)) != len(ids):
                    return None
            return key
    return None


def _merge_lists(
    parent_list: list[Any],
    child_list: list[Any],
    key: str,
    paths: Paths,
    parent_pos: PositionMaps,
    child_pos: PositionMaps,
    out: PositionMaps,
) -> list[Any]:
    """Entries merged by ``key``: the parent's in order (each merged with the child's entry of
    the same key), then the child's new ones; sorted by ``from_day`` when that is the key."""
    parent_at, child_at, out_at = paths
    by_id = {repr(entry[key]): index for index, entry in enumerate(child_list)}
    plan: list[tuple[int | None, int | None]] = []
    for index, entry in enumerate(parent_list):
        plan.append((index, by_id.pop(repr(entry[key]), None)))
    plan += [(None, index) for index in by_id.values()]

    def identity(pair: tuple[int | None, int | None]) -> Any:
        p_index, c_index = pair
        return child_list[c_index][key] if c_index is not None else parent_list[p_index or 0][key]

    if key == "from_day" and all(
        isinstance(identity(pair), int | float) and not isinstance(identity(pair), bool)
        for pair in plan
    ):
        plan.sort(key=identity)
    result: list[Any] = []
    for position, (p_index, c_index) in enumerate(plan):
        target = out_at + (position,)
        if c_index is None and p_index is not None:
            result.append(parent_list[p_index])
            _copy_subtree(parent_list[p_index], parent_at + (p_index,), target, parent_pos, out)
        elif p_index is None and c_index is not None:
            result.append(child_list[c_index])
            _copy_subtree(child_list[c_index], child_at + (c_index,), target, child_pos, out)
        elif p_index is not None and c_index is not None:
            here = (parent_at + (p_index,), child_at + (c_index,), target)
            merged = _merge_value(
                parent_list[p_index], child_list[c_index], here, parent_pos, child_pos, out
            )
            result.append(merged)
    return result


def _copy_entry(
    source_at: KeyPath, out_at: KeyPath, source: PositionMaps, out: PositionMaps
) -> None:
    """The positions of the key at ``source_at`` (only that key, not below it)."""
    for target, origin in zip(out, source, strict=True):
        if source_at in origin:
            target[out_at] = origin[source_at]


def _changes_distribution(parent: dict[str, Any], child: dict[str, Any]) -> bool:
    """Are both distribution mappings (a ``dist`` key), of different types (aliases resolved)?"""
    if _DIST not in parent or _DIST not in child:
        return False
    tags = [value[_DIST] for value in (parent, child)]
    canonical = [TAG_ALIASES.get(tag, tag) if isinstance(tag, str) else tag for tag in tags]
    return bool(canonical[0] != canonical[1])


def _copy_subtree(
    value: Any, source_at: KeyPath, out_at: KeyPath, source: PositionMaps, out: PositionMaps
) -> None:
    """The positions of ``value`` and everything below it, from ``source_at`` to ``out_at``."""
    _copy_entry(source_at, out_at, source, out)
    if isinstance(value, dict):
        for key, item in value.items():
            _copy_subtree(item, source_at + (key,), out_at + (key,), source, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _copy_subtree(item, source_at + (index,), out_at + (index,), source, out)


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
