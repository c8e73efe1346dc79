"""YAML loading with source positions, ``extends`` inheritance and ``--set`` overrides.

Scenario and sweep files are read with :func:`load_document`, which returns plain Python data
(dicts, lists, str, int, float, bool, None, and dates for unquoted ``2025-11-01``) together
with the place every key and value was written, so that any problem found later (by the pydantic
schema in :func:`validate`, or by hand with :meth:`Document.problem`) is reported as
``FILE:LINE:COL: KEY.PATH: message`` (see :mod:`sim.errors`).

Loading rules:

* YAML is parsed with a ``yaml.SafeLoader`` subclass; the data are built from the composed nodes
  here, never by PyYAML's object constructors. Only the standard scalar tags (``!!str``,
  ``!!int``, ``!!float``, ``!!bool``, ``!!null``, ``!!timestamp``, ``!!binary``) and plain
  mappings and lists are accepted; any other tag (``!!python/...``, ``!custom``, ``!!set``,
  ``!!omap``) is refused: "YAML tags that construct objects are not allowed".
* Floats may also be written without a dot, YAML 1.2 style: ``1e6`` and ``2.5e-3`` are floats
  (plain PyYAML reads ``1e6`` as a string).
* A key written twice in one mapping is an error at the second one. Keys must be strings. The
  top level must be a mapping. Anchors, aliases and ``<<`` merge keys work (explicit keys win
  over merged ones); recursive aliases are refused.
* ``extends: PATH`` at the top level (relative to the file that contains it) loads that file
  first (recursively) and deep-merges this one over it: mappings merge key by key, any other
  value (lists included) replaces the parent's wholesale. The ``extends`` key is dropped. Keys
  keep the position of the file that supplied them. File names in messages are the path given
  for the top file and, for extended files, that file's directory joined with the ``extends``
  value (lexically normalised, e.g. ``scenarios/base.yaml``).

Overrides (``--set KEY.PATH=VALUE``, :func:`apply_overrides`): VALUE is read as YAML by the same
loader (``3`` is an int, ``0.5`` a float, ``true`` a bool, ``null`` or an empty VALUE is None,
``{dist: uniform, low: 1, high: 2}`` a mapping, anything else a string). Dotted segments walk
mappings (missing or null intermediate mappings are created) and, when the segment is a number,
list items. Every key and value an override writes has the position ``--set:N:1``: file
``--set``, line N = the 1-based index of that override among the overrides, column 1.

Key paths are tuples of str (mapping keys) and int (list indices); printed, they are joined with
``.`` (``checkpoints.0.capacity``).
"""

from __future__ import annotations

import collections.abc
import copy
import difflib
import os
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, Tag, ValidationError

from sim.errors import InputError, Problem

__all__ = [
    "Document",
    "KeyPath",
    "Position",
    "apply_overrides",
    "dump_yaml",
    "format_key_path",
    "load_document",
    "set_value",
    "validate",
]

KeyPath = tuple[str | int, ...]
"""A path into the data: mapping keys (str) and list indices (int)."""

OVERRIDE_FILE = "--set"
"""The file name of positions that come from overrides."""

_TAG = "tag:yaml.org,2002:"
_MAP_TAG = _TAG + "map"
_SEQ_TAG = _TAG + "seq"
_STR_TAG = _TAG + "str"
_MERGE_TAG = _TAG + "merge"
_VALUE_TAG = _TAG + "value"
_SCALAR_TAGS = frozenset(
    _TAG + name for name in ("null", "bool", "int", "float", "str", "binary", "timestamp")
)
_TAG_MESSAGE = "YAML tags that construct objects are not allowed"
_MAX_NODES = 1_000_000  # after alias expansion: refuses "billion laughs" documents
_EXTENDS = "extends"

# YAML 1.2 floats that YAML 1.1 (PyYAML) reads as strings: an exponent without a dot (1e6) or
# without a sign (1.5e3). The YAML 1.1 float and int patterns are tried first.
_FLOAT_12 = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")
_FLOAT_12_FIRST = list("-+0123456789.")


class _Loader(yaml.SafeLoader):
    """SafeLoader used only to compose nodes and to construct standard scalars."""


_Loader.add_implicit_resolver(_TAG + "float", _FLOAT_12, _FLOAT_12_FIRST)


@dataclass(frozen=True)
class Position:
    """Where something was written: file name as reported, 1-based line and column."""

    file: str
    line: int
    col: int


@dataclass
class Document:
    """A loaded YAML document: plain data plus where each key and value was written.

    ``positions[path]`` is where the key was written (for a mapping entry) or the item (for a
    list item); ``value_positions[path]`` is where its value starts. The empty path ``()`` maps
    to line 1, column 1 of the top file (key) and to the start of the top mapping (value).
    """

    data: dict[str, Any]
    positions: dict[KeyPath, Position]
    value_positions: dict[KeyPath, Position]
    path: Path
    chain: list[Path] = field(default_factory=list)

    def locate(self, key_path: Sequence[str | int], *, value: bool = False) -> Position:
        """The position of ``key_path`` (its value's with ``value=True``).

        Falls back to the longest prefix of ``key_path`` that has a position (so a key that is
        not in the data is reported at its parent), and at last to 1:1 of the top file.
        """
        path = tuple(key_path)
        if value and path in self.value_positions:
            return self.value_positions[path]
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return Position(str(self.path), 1, 1)

    def problem(
        self, key_path: Sequence[str | int], message: str, *, value: bool = True
    ) -> Problem:
        """A :class:`Problem` about ``key_path``, at its value (default) or at its key."""
        where = self.locate(key_path, value=value)
        return Problem(where.file, where.line, where.col, format_key_path(key_path), message)


def format_key_path(key_path: Iterable[str | int]) -> str:
    """``('a', 0, 'b')`` -> ``'a.0.b'``; ``()`` -> ``''``."""
    return ".".join(str(part) for part in key_path)


# --------------------------------------------------------------------------------------------
# Parsing one file
# --------------------------------------------------------------------------------------------


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _show(value: Any) -> str:
    """A short, YAML-like rendering of a scalar for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return "'" + text.replace("\n", "\\n") + "'"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _yaml_error_problem(exc: yaml.YAMLError, file: str, text: str) -> Problem:
    """A Problem for a PyYAML parse error, at the mark PyYAML reports."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "malformed YAML"
        if exc.problem and exc.context and exc.context_mark is not None:
            ctx = exc.context_mark
            message += f" ({exc.context} at line {ctx.line + 1}, column {ctx.column + 1})"
        elif exc.problem and exc.context:
            message += f" ({exc.context})"
        if mark is None:
            return Problem(file, 1, 1, "", message)
        return Problem(file, mark.line + 1, mark.column + 1, "", message)
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line = before.count("\n") + 1
        col = exc.position - (before.rfind("\n") + 1) + 1
        return Problem(
            file, line, col, "", f"unacceptable character #x{exc.character:04x}: {exc.reason}"
        )
    return Problem(file, 1, 1, "", str(exc))


class _Builder:
    """Turns composed nodes into plain data, recording positions and collecting problems."""

    def __init__(self, loader: _Loader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.problems: list[Problem] = []
        self.positions: dict[KeyPath, Position] = {}
        self.value_positions: dict[KeyPath, Position] = {}
        self._count = 0
        self._active: set[int] = set()

    def pos(self, mark: yaml.Mark) -> Position:
        return Position(self.file, mark.line + 1, mark.column + 1)

    def fail(self, node: yaml.Node, path: KeyPath, message: str) -> None:
        where = self.pos(node.start_mark)
        self.problems.append(
            Problem(where.file, where.line, where.col, format_key_path(path), message)
        )

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self._count += 1
        if self._count > _MAX_NODES:
            where = self.pos(node.start_mark)
            raise InputError(
                [
                    Problem(
                        where.file,
                        where.line,
                        where.col,
                        format_key_path(path),
                        f"document too large (more than {_MAX_NODES} values after expanding "
                        "aliases)",
                    )
                ]
            )
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if id(node) in self._active:
            self.fail(node, path, "recursive YAML alias (a value that contains itself)")
            return None
        expected = _MAP_TAG if isinstance(node, yaml.MappingNode) else _SEQ_TAG
        if node.tag != expected:
            self.fail(node, path, f"{_TAG_MESSAGE} (found {_short_tag(node.tag)})")
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, path)
            assert isinstance(node, yaml.SequenceNode)
            return self.sequence(node, path)
        finally:
            self._active.discard(id(node))

    def scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        if node.tag in (_MERGE_TAG, _VALUE_TAG):  # '<<' or '=' outside key position: text
            return node.value
        if node.tag not in _SCALAR_TAGS:
            self.fail(node, path, f"{_TAG_MESSAGE} (found {_short_tag(node.tag)})")
            return None
        try:
            return self.loader.yaml_constructors[node.tag](self.loader, node)
        except Exception:  # any failure of a standard scalar constructor (bad !!int, ...)
            if node.tag == _TAG + "timestamp":
                message = (
                    f"{node.value!r} is not a valid date (write YYYY-MM-DD, or quote it "
                    "to make it text)"
                )
            else:
                message = f"cannot read {node.value!r} as {_short_tag(node.tag)}"
            self.fail(node, path, message)
            return None

    def key(self, node: yaml.Node, path: KeyPath) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            kind = "a mapping" if isinstance(node, yaml.MappingNode) else "a list"
            self.fail(node, path, f"keys must be strings, not {kind}")
            return None
        count = len(self.problems)
        value = self.scalar(node, path + (node.value,))
        if len(self.problems) > count:
            return None
        if not isinstance(value, str):
            self.fail(
                node,
                path + (node.value,),
                f"keys must be strings; got {_show(value)} (quote it: '{node.value}')",
            )
            return None
        return value

    def mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            key = self.key(key_node, path)
            if key is None:
                continue
            key_path = path + (key,)
            if key in result:
                first = self.positions[key_path]
                self.fail(
                    key_node,
                    key_path,
                    f"duplicate key '{key}' (first written at line {first.line}, "
                    f"column {first.col})",
                )
                continue
            self.positions[key_path] = self.pos(key_node.start_mark)
            self.value_positions[key_path] = self.pos(value_node.start_mark)
            result[key] = self.build(value_node, key_path)
        for merge_node in merges:
            self.merge(merge_node, path, result)
        return result

    def merge(self, node: yaml.Node, path: KeyPath, result: dict[str, Any]) -> None:
        """Apply a ``<<`` merge: keys not already in ``result`` come from the merged mapping(s)."""
        if isinstance(node, yaml.MappingNode):
            sources: list[yaml.Node] = [node]
        elif isinstance(node, yaml.SequenceNode) and all(
            isinstance(item, yaml.MappingNode) for item in node.value
        ):
            sources = list(node.value)
        else:
            self.fail(node, path, "a '<<' merge key needs a mapping or a list of mappings")
            return
        for source in sources:  # earlier sources win, as in YAML's merge key type
            saved = self.positions, self.value_positions
            self.positions, self.value_positions = {}, {}
            try:
                merged = self.build(source, path)
            finally:
                sub_positions, sub_values = self.positions, self.value_positions
                self.positions, self.value_positions = saved
            if not isinstance(merged, dict):
                continue
            for key, value in merged.items():
                if key in result:
                    continue
                result[key] = value
                prefix = path + (key,)
                _copy_prefixed(sub_positions, prefix, self.positions)
                _copy_prefixed(sub_values, prefix, self.value_positions)

    def sequence(self, node: yaml.SequenceNode, path: KeyPath) -> list[Any]:
        items: list[Any] = []
        for index, item in enumerate(node.value):
            item_path = path + (index,)
            self.positions[item_path] = self.value_positions[item_path] = self.pos(item.start_mark)
            items.append(self.build(item, item_path))
        return items


def _copy_prefixed(
    source: Mapping[KeyPath, Position], prefix: KeyPath, target: dict[KeyPath, Position]
) -> None:
    size = len(prefix)
    for path, where in source.items():
        if path[:size] == prefix:
            target[path] = where


def _parse(text: str, file: str) -> tuple[yaml.Node | None, _Builder]:
    """Compose ``text``; return the root node (None if empty) and a builder bound to it."""
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # non-printable characters are refused up front
        raise InputError([_yaml_error_problem(exc, file, text)]) from None
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise InputError([_yaml_error_problem(exc, file, text)]) from None
    except RecursionError:
        raise InputError([Problem(file, 1, 1, "", "YAML nested too deeply")]) from None
    finally:
        loader.dispose()
    return node, _Builder(loader, file)


def _build(node: yaml.Node, builder: _Builder, path: KeyPath = ()) -> Any:
    try:
        value = builder.build(node, path)
    except RecursionError:
        raise InputError([Problem(builder.file, 1, 1, "", "YAML nested too deeply")]) from None
    if builder.problems:
        raise InputError(builder.problems)
    return value


def _parse_mapping_file(
    text: str, file: str
) -> tuple[dict[str, Any], dict[KeyPath, Position], dict[KeyPath, Position]]:
    node, builder = _parse(text, file)
    if node is None:
        raise InputError(
            [Problem(file, 1, 1, "", "the file is empty; expected a mapping of keys to values")]
        )
    if not isinstance(node, yaml.MappingNode):
        if isinstance(node, yaml.SequenceNode):
            kind = "a list"
        else:
            kind = f"a single value ({_show(node.value)})"
        mark = node.start_mark
        raise InputError(
            [
                Problem(
                    file,
                    mark.line + 1,
                    mark.column + 1,
                    "",
                    f"the top level must be a mapping of keys to values, not {kind}",
                )
            ]
        )
    data = _build(node, builder)
    builder.positions[()] = Position(file, 1, 1)
    builder.value_positions[()] = builder.pos(node.start_mark)
    return data, builder.positions, builder.value_positions


def _read_text(path: Path) -> str:
    """The file's text; raises OSError, or UnicodeDecodeError with offsets into the bytes."""
    raw = path.read_bytes()
    return raw.decode("utf-8-sig")


def _read_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "it is a directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


def _decode_problem(path: Path, file: str, exc: UnicodeDecodeError) -> Problem:
    raw = exc.object if isinstance(exc.object, bytes) else path.read_bytes()
    start = exc.start
    line = raw.count(b"\n", 0, start) + 1
    col = start - (raw.rfind(b"\n", 0, start) + 1) + 1
    return Problem(file, line, col, "", "the file is not UTF-8 text")


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
        text = _read_text(top)
    except OSError as exc:
        problem = Problem(file, 1, 1, "", f"cannot read file: {_read_reason(exc)}")
        raise InputError([problem]) from None
    except UnicodeDecodeError as exc:
        raise InputError([_decode_problem(top, file, exc)]) from None
    data, positions, values, chain = _load_text(text, top, file, [])
    return Document(data, positions, values, top, chain)


def _load_text(
    text: str, path: Path, file: str, stack: list[tuple[Path, str]]
) -> tuple[dict[str, Any], dict[KeyPath, Position], dict[KeyPath, Position], list[Path]]:
    """Parse one file's text and merge it over the file it extends, if any."""
    data, positions, values = _parse_mapping_file(text, file)
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
        raise fail(f"extends must be the path of a YAML file (a string), not {_show(target)}")
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
        parent_text = _read_text(parent_path)
    except OSError as exc:
        raise fail(f"cannot read extended file '{parent_file}': {_read_reason(exc)}") from None
    except UnicodeDecodeError as exc:
        raise InputError([_decode_problem(parent_path, parent_file, exc)]) from None
    p_data, p_positions, p_values, p_chain = _load_text(parent_text, parent_path, parent_file, seen)

    out_positions: dict[KeyPath, Position] = {(): positions[()]}
    out_values: dict[KeyPath, Position] = {(): values[()]}
    merged = _deep_merge(
        p_data, data, (), (p_positions, p_values), (positions, values), (out_positions, out_values)
    )
    return merged, out_positions, out_values, chain + p_chain


_PositionMaps = tuple[dict[KeyPath, Position], dict[KeyPath, Position]]


def _deep_merge(
    parent: dict[str, Any],
    child: dict[str, Any],
    prefix: KeyPath,
    parent_pos: _PositionMaps,
    child_pos: _PositionMaps,
    out: _PositionMaps,
) -> dict[str, Any]:
    """``child`` over ``parent``: mappings merge key by key; anything else is replaced."""
    result: dict[str, Any] = {}
    for key, parent_value in parent.items():
        path = prefix + (key,)
        if key not in child:
            result[key] = parent_value
            _copy_subtree(parent_value, path, parent_pos, out)
            continue
        child_value = child[key]
        if isinstance(parent_value, dict) and isinstance(child_value, dict):
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


def _copy_subtree(value: Any, path: KeyPath, source: _PositionMaps, out: _PositionMaps) -> None:
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

    def at_where(problems: Iterable[Problem]) -> InputError:
        return InputError(
            [Problem(where.file, where.line, where.col, key, p.message) for p in problems]
        )

    try:
        node, builder = _parse(text, where.file)
    except InputError as exc:
        raise at_where(
            Problem(p.file, p.line, p.col, p.path, f"cannot read the value as YAML: {p.message}")
            for p in exc.problems
        ) from None
    if node is None:
        return None
    try:
        return _build(node, builder)
    except InputError as exc:
        raise at_where(exc.problems) from None


def _split_key(key: str) -> list[str]:
    parts = key.split(".")
    if not key or any(not part.strip() for part in parts):
        raise ValueError(f"bad key path '{key}': empty key")
    return [part.strip() for part in parts]


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"a string ({_show(value)})"
    if isinstance(value, bool) or value is None:
        return _show(value)
    if isinstance(value, int | float):
        return f"a number ({_show(value)})"
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


# --------------------------------------------------------------------------------------------
# Validation against a pydantic model
# --------------------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)

# Error types meaning "the input is not of this union member's kind at all": short nouns for a
# combined "expected X or Y" message.
_KIND_NOUNS: dict[str, str] = {
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
    return len(error.loc) == end and error.type in _KIND_NOUNS


def _noun(error: _Error) -> str:
    if error.type == "literal_error":
        return str(error.ctx.get("expected", "")) or error.msg
    return _KIND_NOUNS.get(error.type) or error.msg


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


def _child_types(tp: Any, segment: Any) -> list[Any]:
    """The type(s) of ``tp``'s member at ``segment`` (a field, a dict key, a list index)."""
    if _is_model(tp):
        info = tp.model_fields.get(segment) if isinstance(segment, str) else None
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


def _allowed_keys(model_cls: type[BaseModel], loc: tuple[Any, ...], data: Any) -> list[str]:
    """Field names allowed in the mapping that holds the key ``loc[-1]``."""
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
    fitting = [m for m in models if present <= set(m.model_fields)] or models
    names: list[str] = []
    for model in fitting:
        names.extend(name for name in model.model_fields if name not in names)
    return names


def _hint(word: str, choices: Sequence[str]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def _quoted(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text)


def _get(data: Any, key_path: KeyPath) -> Any:
    node = data
    for part in key_path:
        node = node[part]
    return node


def _problem(doc: Document, model_cls: type[BaseModel], error: _Error) -> Problem:
    """One user-facing Problem for one (pruned) pydantic error."""
    key_path = error.key_path
    at_key = False
    if error.type == "extra_forbidden":
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
        allowed = _allowed_keys(model_cls, error.loc, doc.data)
        message = f"unknown key '{unknown}'"
        hint = _hint(unknown, [n for n in allowed if n not in present])
        if hint:
            message += hint
        elif allowed and len(allowed) <= 12:
            message += "; allowed keys here: " + ", ".join(allowed)
        at_key = True
    elif error.type in ("missing", "union_tag_not_found"):
        if error.type == "union_tag_not_found":
            key_path = key_path + tuple(_quoted(str(error.ctx.get("discriminator", ""))))
        where = doc.locate(key_path[:-1])
        return Problem(
            where.file, where.line, where.col, format_key_path(key_path), "required key is missing"
        )
    elif error.type == "union_tag_invalid":
        discriminator = _quoted(str(error.ctx.get("discriminator", "")))
        node = _get(doc.data, key_path)
        if len(discriminator) == 1 and isinstance(node, dict) and discriminator[0] in node:
            key_path = key_path + (discriminator[0],)
        expected = _quoted(str(error.ctx.get("expected_tags", "")))
        tag = str(error.ctx.get("tag", ""))
        choices = ", ".join(f"'{name}'" for name in expected)
        message = f"{_show(tag)} is not one of {choices}{_hint(tag, expected)}"
        if not expected:
            message = error.msg
    elif error.type == "union_mismatch":
        message = f"{error.msg} (got {_show(error.input)})"
    else:
        message = error.msg
        for prefix in ("Value error, ", "Assertion failed, "):
            if message.startswith(prefix):
                message = message[len(prefix) :]
        if error.type not in _CUSTOM_TYPES and isinstance(
            error.input, str | int | float | bool | date | type(None)
        ):
            message += f" (got {_show(error.input)})"
            if error.type == "literal_error" and isinstance(error.input, str):
                message += _hint(error.input, _quoted(str(error.ctx.get("expected", ""))))
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
        raw_errors = exc.errors(include_url=False)
        errors = _prune_unions([_map_error(doc.data, raw) for raw in raw_errors])
        problems: list[Problem] = []
        for error in errors:
            problem = _problem(doc, model_cls, error)
            if problem not in problems:
                problems.append(problem)
        files = [str(p) for p in doc.chain]

        def order(problem: Problem) -> tuple[int, int, int]:
            rank = files.index(problem.file) if problem.file in files else len(files)
            return (rank, problem.line, problem.col)

        problems.sort(key=order)
        raise InputError(problems) from None


# --------------------------------------------------------------------------------------------
# Writing YAML
# --------------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """SafeDumper with indented block lists, flow lists of scalars and literal multi-line text."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """Indent list items under their key (PyYAML puts them at the key's column)."""
        super().increase_indent(flow, False)


# Strings that the loader would read as floats must be quoted when written.
_Dumper.add_implicit_resolver(_TAG + "float", _FLOAT_12, _FLOAT_12_FIRST)


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text.rstrip("\n") else None
    return dumper.represent_scalar(_STR_TAG, text, style=style)


def _represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
    flow = bool(items) and all(
        not isinstance(item, dict | list) and not (isinstance(item, str) and "\n" in item)
        for item in items
    )
    return dumper.represent_sequence(_SEQ_TAG, items, flow_style=flow or None)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)


def _plain(value: Any) -> Any:
    """Plain YAML-able data: mappings to dicts, tuples to lists, enums, paths and numpy scalars."""
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return _plain(value.item())
    return value


def dump_yaml(data: Mapping[str, Any], header: str = "") -> str:
    """YAML text for ``data``: block style, keys in insertion order, ``header`` as comments.

    Lists of scalars are written inline (``[1, 2, 3]``); multi-line strings as ``|`` blocks.
    Each line of ``header`` becomes a ``# `` comment line at the top. Loading the text with
    :func:`load_document` gives back the same data.
    """
    body = yaml.dump(
        _plain(data),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    return "".join(line + "\n" for line in lines) + body
