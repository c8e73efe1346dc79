"""Reading YAML with the position of every key and value: a safe loader and :class:`Document`.

Scenario and sweep files are made of plain Python data (dicts, lists, str, int, float, bool, None,
and dates for unquoted ``2025-11-01``) together with the place every key and value was written,
so that any problem found later (by the schema, see :mod:`sim.scenario.problems`, or by hand with
:meth:`Document.problem`) is reported as ``FILE:LINE:COL: KEY.PATH: message`` (see
:mod:`sim.errors`). This module reads one text; :mod:`sim.scenario.merging` follows ``extends``
across files and applies ``--set`` overrides.

Loading rules:

* Files are read only if they are regular files of at most
  :data:`sim.limits.MAX_INPUT_BYTES` (10 MiB): a FIFO, a device or a larger file is refused
  without reading it (:func:`read_bytes`). A document that is a single value is named by its
  kind ("text", "a number"), never quoted: the file may not be YAML at all.
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

Key paths are tuples of str (mapping keys) and int (list indices); printed, they are joined with
``.`` (``checkpoints.0.capacity``).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.errors import InputError, Problem
from sim.limits import MAX_INPUT_BYTES, mib

__all__ = [
    "YAML12_FLOAT",
    "YAML12_FLOAT_FIRST",
    "Document",
    "KeyPath",
    "PositionMaps",
    "Position",
    "decode_problem",
    "format_key_path",
    "parse_mapping",
    "UnreadableInput",
    "read_bytes",
    "read_failure_reason",
    "read_text",
    "read_value",
    "show_value",
]

KeyPath = tuple[str | int, ...]
"""A path into the data: mapping keys (str) and list indices (int)."""

PositionMaps = tuple[dict[KeyPath, "Position"], dict[KeyPath, "Position"]]
"""Where keys were written and where their values start (see :class:`Document`)."""

_TAG = "tag:yaml.org,2002:"
_MAP_TAG = _TAG + "map"
_SEQ_TAG = _TAG + "seq"
_STR_TAG = _TAG + "str"
_MERGE_TAG = _TAG + "merge"
_VALUE_TAG = _TAG + "value"
_SCALAR_TAGS = frozenset(
    _TAG + name for name in ("null", "bool", "int", "float", "str", "binary", "timestamp")
)
# What a document that is one scalar holds, named without quoting it: the file may be no YAML
# at all (`extends: /etc/passwd`), and its content must not end up in a message.
_SCALAR_NOUNS = {
    _TAG + "str": "text",
    _TAG + "int": "a number",
    _TAG + "float": "a number",
    _TAG + "bool": "true or false",
    _TAG + "null": "null",
    _TAG + "timestamp": "a date",
    _TAG + "binary": "binary data",
}
_TAG_MESSAGE = "YAML tags that construct objects are not allowed"
_MAX_NODES = 1_000_000  # after alias expansion: refuses "billion laughs" documents

# YAML 1.2 floats that YAML 1.1 (PyYAML) reads as strings: an exponent without a dot (1e6) or
# without a sign (1.5e3). The YAML 1.1 float and int patterns are tried first.
YAML12_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")
YAML12_FLOAT_FIRST = list("-+0123456789.")


class _Loader(yaml.SafeLoader):
    """SafeLoader used only to compose nodes and to construct standard scalars."""


_Loader.add_implicit_resolver(_TAG + "float", YAML12_FLOAT, YAML12_FLOAT_FIRST)


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


def show_value(value: Any) -> str:
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
                f"keys must be strings; got {show_value(value)} (quote it: '{node.value}')",
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


def parse_mapping(
    text: str, file: str
) -> tuple[dict[str, Any], dict[KeyPath, Position], dict[KeyPath, Position]]:
    """The mapping one file's ``text`` holds, where its keys were written, where values start.

    ``file`` is the name positions and problems carry. Raises :class:`InputError` for malformed
    YAML, refused tags, duplicate or non-string keys, an empty text or a top level that is not a
    mapping. ``extends`` is an ordinary key here (see :func:`sim.scenario.merging.load_document`).
    """
    node, builder = _parse(text, file)
    if node is None:
        raise InputError(
            [Problem(file, 1, 1, "", "the file is empty; expected a mapping of keys to values")]
        )
    if not isinstance(node, yaml.MappingNode):
        if isinstance(node, yaml.SequenceNode):
            kind = "a list"
        else:
            kind = f"a single value ({_SCALAR_NOUNS.get(node.tag, 'text')})"
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


class UnreadableInput(OSError):
    """An input file that is not read: not a regular file, or larger than the cap."""

    def __init__(self, path: Path, reason: str) -> None:
        """``reason`` in a few lower-case words ("not a regular file (a FIFO)")."""
        super().__init__(reason)
        self.path = path
        self.reason = reason


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a plain file"


def read_bytes(path: Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises OSError: :class:`UnreadableInput` if ``path`` is not a regular file (a FIFO, a
    device such as ``/dev/zero``, a directory) or holds more than ``limit`` bytes. A FIFO is
    opened without blocking and refused; nothing past ``limit + 1`` bytes is read.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(21, "it is a directory", os.fspath(path))
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise UnreadableInput(path, f"not a regular file ({_kind_of(mode)})")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnreadableInput(path, f"the file is larger than {mib(limit)}")
    return data


def read_text(path: Path) -> str:
    """The file's text; raises OSError (also for a file that is not regular, or is larger than
    :data:`sim.limits.MAX_INPUT_BYTES`: see :func:`read_bytes`), or UnicodeDecodeError with
    offsets into the bytes."""
    return read_bytes(path).decode("utf-8-sig")


def read_failure_reason(exc: OSError) -> str:
    """Why a file could not be read, in a few lower-case words ("no such file", ...)."""
    if isinstance(exc, UnreadableInput):
        return exc.reason
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "it is a directory"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


def decode_problem(path: Path, file: str, exc: UnicodeDecodeError) -> Problem:
    """A Problem at the first byte of ``path`` (reported as ``file``) that is not UTF-8."""
    raw = exc.object if isinstance(exc.object, bytes) else read_bytes(path)
    start = exc.start
    line = raw.count(b"\n", 0, start) + 1
    col = start - (raw.rfind(b"\n", 0, start) + 1) + 1
    return Problem(file, line, col, "", "the file is not UTF-8 text")


def read_value(text: str, file: str) -> Any:
    """One YAML value (an override's VALUE) read by the same rules as a file; None if empty.

    Raises :class:`InputError`: malformed YAML as problems whose message starts with "cannot read
    the value as YAML: ", any other problem (a refused tag, a duplicate key) as it is found.
    """
    try:
        node, builder = _parse(text, file)
    except InputError as exc:
        raise InputError(
            [
                Problem(
                    p.file, p.line, p.col, p.path, f"cannot read the value as YAML: {p.message}"
                )
                for p in exc.problems
            ]
        ) from None
    if node is None:
        return None
    return _build(node, builder)
