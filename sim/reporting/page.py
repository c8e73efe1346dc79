"""A report page: its sections, the PNGs they embed, and rendering it from the templates.

The HTML comes from the jinja2 templates in ``templates/`` with autoescape on: text passed in
is escaped, HTML built in Python is :class:`markupsafe.Markup` (made with ``Markup(...).format``
so that its arguments are escaped too). The style sheet ``report.css`` is inlined and images are
base64 ``data:`` URIs, so the page needs nothing but itself.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup, escape

#: What a cell, a value or a caption can be: text (escaped) or HTML.
Html = str | Markup


@cache
def environment() -> Environment:
    """The templates of ``sim.reporting`` (autoescape on, undefined names are errors)."""
    return Environment(
        loader=PackageLoader("sim.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def css() -> str:
    """The style sheet inlined into every page."""
    return (resources.files("sim.reporting") / "report.css").read_text(encoding="utf-8").strip()


def template(name: str) -> Template:
    return environment().get_template(name)


def render(name: str, **context: Any) -> Markup:
    """A template rendered as a piece of a page."""
    return Markup(template(name).render(**context).strip("\n"))


def _component(name: str, *args: Any, **kwargs: Any) -> Markup:
    macro = getattr(template("components.html.j2").module, name)
    return Markup(macro(*args, **kwargs))


def table(
    header: Sequence[str],
    rows: Iterable[Sequence[Html]],
    numeric: Iterable[int] = (),
    row_ids: Sequence[str] | None = None,
    table_id: str = "",
) -> Markup:
    """A table; the columns in ``numeric`` right-aligned."""
    return _component(
        "table", list(header), [list(row) for row in rows], set(numeric), row_ids, table_id
    )


def meta(rows: Iterable[tuple[str, Html]]) -> Markup:
    """A definition list of (label, value)."""
    return _component("meta", list(rows))


def details(summary: str, text: str) -> Markup:
    """A collapsed block of preformatted text (nothing when ``text`` is empty)."""
    return _component("details", summary, text)


def code(text: object) -> Markup:
    """``text`` as inline code."""
    return Markup("<code>{}</code>").format(text)


def note(text: Html) -> Markup:
    """A paragraph in the muted style of notes."""
    return Markup('<p class="note">{}</p>').format(text)


def join(parts: Iterable[Html], separator: Html = "") -> Markup:
    """Pieces of HTML (or text, escaped) joined."""
    return Markup(separator).join(parts)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels, from the PNG header."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


@dataclass(frozen=True)
class Section:
    """One ``<section>`` of a page: its anchor, ``<h2>`` heading and body."""

    anchor: str
    heading: str
    body: Markup


@dataclass
class Page:
    """A report page being built: its sections and the PNGs they embed."""

    title: str
    subtitle: str = ""
    kind: str = ""
    sections: list[Section] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)

    def figure(self, name: str, png: bytes, alt: str, caption: Html = "") -> Markup:
        """An embedded image (kept as ``plots/NAME``) in a ``<figure>`` with its caption."""
        from sim.reporting.plots import DPI

        self.images[name] = png
        width, height = png_size(png)
        scale = 100 / DPI
        data = base64.b64encode(png).decode("ascii")
        return _component(
            "figure",
            Path(name).stem,
            data,
            alt,
            round(width * scale),
            round(height * scale),
            caption,
        )

    def section(self, anchor: str, heading: str, body: Html) -> None:
        """Add a section (``<section id=anchor>`` with an ``<h2>``)."""
        self.sections.append(Section(anchor, heading, escape(body)))

    def render(self) -> str:
        """The whole HTML document."""
        return template("page.html.j2").render(
            title=self.title,
            subtitle=self.subtitle,
            kind=self.kind,
            sections=self.sections,
            css=Markup(css()),
        )
