"""Writing YAML that :func:`sim.scenario.load_document` reads back as the same data.

Used for ``scenario.resolved.yaml`` in run and sweep folders: block style, keys in insertion
order, lists of scalars inline, multi-line text as ``|`` blocks, a comment header.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any

import yaml

from sim.scenario.loading import YAML12_FLOAT, YAML12_FLOAT_FIRST

__all__ = ["dump_yaml"]

_TAG = "tag:yaml.org,2002:"


class _Dumper(yaml.SafeDumper):
    """SafeDumper with indented block lists, flow lists of scalars and literal multi-line text."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """Indent list items under their key (PyYAML puts them at the key's column)."""
        super().increase_indent(flow, False)


# Strings that the loader would read as floats must be quoted when written.
_Dumper.add_implicit_resolver(_TAG + "float", YAML12_FLOAT, YAML12_FLOAT_FIRST)


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text.rstrip("\n") else None
    return dumper.represent_scalar(_TAG + "str", text, style=style)


def _represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
    flow = bool(items) and all(
        not isinstance(item, dict | list) and not (isinstance(item, str) and "\n" in item)
        for item in items
    )
    return dumper.represent_sequence(_TAG + "seq", items, flow_style=flow or None)


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
