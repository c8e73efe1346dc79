"""``sim report DIR``: charts in ``DIR/plots/`` and one self-contained ``DIR/report.html``.

A run folder (``runs.parquet`` + ``summary.json``) gets its provenance, a table of every
outcome's distribution, histograms of the main outcomes, the release channels, fan charts of
the daily series and the split of the carriers' cost and of Belarus's gain. A sweep folder
(``design.parquet`` + ``summary.json``) gets its design, the effect of each parameter on each
analysed output, tornado charts, the Sobol or Morris indices, the replication noise, the failed
runs and, when ``sim discover`` left a ``discovery.json``, its boxes.

The page needs nothing but itself: images are embedded as base64 ``data:`` URIs, the style is
inline, there is no script and no font or file is fetched. Everything is computed and drawn in
memory first; then ``plots/`` is replaced whole and ``report.html`` renamed into place, so a
failed report leaves the previous one (or none), never half of one.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import secrets
import shlex
import struct
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from sim.errors import InputError, Problem

# plots imports matplotlib (a few hundred ms): loaded when a report is built, not on import.

FolderKind = Literal["run", "sweep"]

RUN_FILES = ("runs.parquet", "summary.json")
SWEEP_FILES = ("design.parquet", "summary.json")

#: The outcomes of the built-in model whose histograms a run report shows, in order.
MAIN_OUTCOMES = (
    "carrier_cost_eur",
    "release_day",
    "closure_to_release_days",
    "trucks_held",
    "trucks_retrieved",
    "detention_days_mean",
    "fees_paid_eur",
    "belarus_gain_eur",
    "prisoners_released",
)

#: At most this many histograms for a user model (every numeric output otherwise).
MAX_DISTRIBUTIONS = 24

#: The components of the carriers' cost and of Belarus's gain (summary means), with labels.
CARRIER_COST_PARTS = (
    ("fees_paid_eur", "Fees paid"),
    ("idle_cost_eur", "Idle cost"),
    ("assets_lost_eur", "Trucks lost"),
    ("retrieval_cost_eur", "Retrieval"),
)
BELARUS_GAIN_PARTS = (
    ("fees_paid_eur", "Fees received"),
    ("assets_lost_eur", "Trucks seized or abandoned"),
    ("sanctions_relief_eur", "Sanctions relief"),
)

#: Titles and units of the built-in model's daily series.
SERIES_LABELS = {
    "held": ("Vehicles held on the lots", "vehicles"),
    "queueing": ("Vehicles queueing at the checkpoints", "vehicles"),
    "carrier_cost_eur": ("Carriers' cumulative cost", "EUR"),
}

#: Titles of category outcomes' charts.
CATEGORY_TITLES = {"release_channel": "Which channel produced the general release"}

#: Design points shown in the pair plot of a large design (a fixed, seeded subset).
MAX_DESIGN_POINTS = 600
#: Parameters shown in the pair plot (the first ones of the sweep).
MAX_DESIGN_PARAMETERS = 8
#: Point means shown in each effect plot (the binned means use every point).
MAX_EFFECT_POINTS = 4000
#: Bins of a parameter's range for its binned mean (fewer distinct values: one per value).
EFFECT_BINS = 10
#: Boxes of discovery.json drawn (all are listed in the table).
MAX_BOXES = 8
#: Share of the variance of the point means above which replication noise is flagged.
NOISE_WARNING = 0.10

_MONEY_UNITS = ("eur", "usd", "gbp", "\u20ac", "$", "\u00a3")
_MINUS = "\u2212"


# --------------------------------------------------------------------------------------------
# Numbers


def is_money(unit: str, name: str = "") -> bool:
    """Whether an outcome is an amount of money (by its unit, or a name ending in ``_eur``)."""
    return unit.strip().lower() in _MONEY_UNITS or name.endswith("_eur")


def format_number(value: float | int | None, unit: str = "", name: str = "") -> str:
    """A number for people: money as 45.8 M / 1.23 bn (below a million: 18,077), others with
    grouped thousands or three significant digits (1,537; 186; 23.6; 0.42); None is a dash."""
    if value is None:
        return "\u2013"
    number = float(value)
    if not math.isfinite(number):
        return "\u2013"
    magnitude = abs(number)
    if is_money(unit, name) and magnitude >= 1e6:
        text = f"{number / 1e9:.3g} bn" if magnitude >= 1e9 else f"{number / 1e6:.3g} M"
    elif magnitude >= 1000 or (is_money(unit, name) and magnitude >= 1):
        text = f"{number:,.0f}"
    elif number == 0:
        text = "0"
    else:
        text = f"{number:.3g}"
    return text.replace("-", _MINUS)


def format_share(share: float | None) -> str:
    """A share in percent: 22%, 0.4%, 0%."""
    if share is None or not math.isfinite(share):
        return "\u2013"
    if share == 0 or share >= 0.01:
        return f"{share:.0%}"
    return f"{share:.1%}"


# --------------------------------------------------------------------------------------------
# Reading a folder


def _problem(path: Path, message: str, line: int = 1, col: int = 1) -> InputError:
    return InputError([Problem(str(path), line, col, "", message)])


def folder_kind(folder: Path) -> FolderKind:
    """``"run"`` or ``"sweep"``; bad input (exit 2) if ``folder`` is neither."""
    if not folder.exists():
        raise _problem(folder, "no such folder")
    if not folder.is_dir():
        raise _problem(folder, "is a file; expected a run folder or a sweep folder")
    if all((folder / name).is_file() for name in SWEEP_FILES):
        return "sweep"
    if all((folder / name).is_file() for name in RUN_FILES):
        return "run"
    present = sorted(p.name for p in folder.iterdir() if p.is_file())
    found = ", ".join(present[:6]) if present else "no files"
    raise _problem(
        folder,
        "not a run folder (runs.parquet and summary.json) nor a sweep folder "
        f"(design.parquet and summary.json); it has {found}",
    )


def _read_json(path: Path, *, required: bool = True) -> Any:
    """JSON from ``path``; invalid JSON is bad input at its line and column."""
    if not path.is_file():
        if required:
            raise _problem(path, "missing")
        return None
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise _problem(path, f"invalid JSON: {error.msg}", error.lineno, error.colno) from None


def _read_yaml(path: Path) -> tuple[str, dict[str, Any]]:
    """The text of a YAML file and its top-level mapping ({} when missing or unreadable)."""
    if not path.is_file():
        return "", {}
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return text, {}
    return text, data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class OutcomeInfo:
    """What the report knows about an outcome: meaning, unit, kind."""

    description: str = ""
    unit: str = ""
    integer: bool = False


def _outcome_info(model: object) -> dict[str, OutcomeInfo]:
    """Descriptions and units of the built-in model's outcomes ({} for a user model)."""
    if model not in (None, "standoff"):
        return {}
    from sim.model.standoff.model import OUTCOMES

    return {
        spec.name: OutcomeInfo(spec.description, spec.unit, spec.kind == "int") for spec in OUTCOMES
    }


def _start_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _when(stamp: object) -> str:
    """An ISO UTC time stamp as ``2025-11-25 16:05 UTC``."""
    if not isinstance(stamp, str):
        return "\u2013"
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _command(manifest: Mapping[str, Any]) -> str:
    command = manifest.get("command")
    if isinstance(command, list):
        return shlex.join(str(part) for part in command)
    return "\u2013"


def _numeric(table: pa.Table, name: str) -> np.ndarray:
    """A column as floats, nulls as NaN."""
    column = table.column(name)
    if pa.types.is_boolean(column.type):
        column = pc.cast(column, pa.int8())
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=float)


def _is_numeric_type(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


# --------------------------------------------------------------------------------------------
# The page


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels, from the PNG header."""
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


@dataclass
class Page:
    """A report page being built: its sections and the PNGs they embed."""

    title: str
    subtitle: str = ""
    kind: str = ""
    sections: list[tuple[str, str, str]] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)

    def figure(self, name: str, png: bytes, alt: str, caption: str = "") -> str:
        """An embedded image (kept as ``plots/NAME``) in a ``<figure>`` with its caption."""
        from sim.analysis.plots import DPI

        self.images[name] = png
        width, height = _png_size(png)
        scale = 100 / DPI
        data = base64.b64encode(png).decode("ascii")
        caption_html = f"<figcaption>{caption}</figcaption>" if caption else ""
        return (
            f'<figure id="fig-{_e(Path(name).stem)}"><img src="data:image/png;base64,{data}" '
            f'alt="{_e(alt)}" width="{round(width * scale)}" height="{round(height * scale)}">'
            f"{caption_html}</figure>"
        )

    def section(self, anchor: str, heading: str, body: str) -> None:
        """Add a section (``<section id=anchor>`` with an ``<h2>``)."""
        self.sections.append((anchor, heading, body))

    def render(self) -> str:
        """The whole HTML document."""
        toc = "".join(
            f'<li><a href="#{_e(anchor)}">{_e(heading)}</a></li>'
            for anchor, heading, _ in self.sections
        )
        body = "\n".join(
            f'<section id="{_e(anchor)}">\n<h2>{_e(heading)}</h2>\n{content}\n</section>'
            for anchor, heading, content in self.sections
        )
        subtitle = f'<p class="subtitle">{_e(self.subtitle)}</p>' if self.subtitle else ""
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(self.title)}</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
<p class="kind">{_e(self.kind)}</p>
<h1>{_e(self.title)}</h1>
{subtitle}
<nav class="toc" aria-label="Contents"><ol>{toc}</ol></nav>
</header>
{body}
<footer>Generated by <code>sim report</code>. Self-contained: images are embedded, nothing
is fetched.</footer>
</main>
</body>
</html>
"""


CSS = """
:root{--ink:#1f2933;--muted:#5b6672;--line:#dde2e7;--soft:#f4f6f8;--accent:#2f6db5;
--warn:#a14a00}
*{box-sizing:border-box}
html{background:#eef1f4}
body{margin:0;color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",sans-serif}
main{max-width:1080px;margin:0 auto;padding:28px 40px 56px;background:#fff;
box-shadow:0 0 0 1px var(--line)}
h1{font-size:28px;line-height:1.2;margin:2px 0 4px}
h2{font-size:20px;margin:0 0 10px;padding-top:6px}
h3{font-size:16px;margin:22px 0 6px}
p{margin:6px 0 10px}
.kind{margin:0;color:var(--accent);font-weight:600;text-transform:uppercase;
letter-spacing:.06em;font-size:12px}
.subtitle{color:var(--muted);font-size:16px;margin-top:0}
nav.toc{margin:14px 0 6px;padding:10px 16px;background:var(--soft);border-radius:6px}
nav.toc ol{margin:0;padding-left:20px;columns:2;column-gap:32px}
nav.toc a{color:var(--accent);text-decoration:none}
section{margin-top:34px;padding-top:10px;border-top:1px solid var(--line)}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0 6px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top;text-align:left}
thead th{border-bottom:2px solid #c5ccd3;font-weight:600;white-space:nowrap;background:#fff}
tbody tr:nth-child(even){background:#fafbfc}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td .desc{display:block;color:var(--muted);font-size:12px}
td.name code{font-weight:600}
figure{margin:14px 0 18px}
figure img{display:block;max-width:100%;height:auto;border:1px solid var(--line);
border-radius:4px}
figcaption{color:var(--muted);font-size:13px;margin-top:5px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:6px 18px}
.grid figure{margin:6px 0}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:3px 18px;margin:6px 0 12px}
dl.meta dt{color:var(--muted)}
dl.meta dd{margin:0;overflow-wrap:anywhere}
details{margin:8px 0;border:1px solid var(--line);border-radius:6px;padding:6px 12px}
details summary{cursor:pointer;font-weight:600}
pre{background:var(--soft);padding:10px 12px;border-radius:4px;overflow:auto;max-height:520px;
font-size:12px;line-height:1.4}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
.note{color:var(--muted);font-size:13px}
.warn{color:var(--warn);font-weight:600}
.ok{color:#2f7a45;font-weight:600}
footer{margin-top:40px;color:var(--muted);font-size:12px;border-top:1px solid var(--line);
padding-top:10px}
@media (max-width:720px){main{padding:16px}nav.toc ol{columns:1}
.grid{grid-template-columns:1fr}}
@media print{html{background:#fff}main{box-shadow:none}section{break-inside:avoid-page}}
""".strip()


def _meta(rows: Iterable[tuple[str, str]]) -> str:
    """A definition list; values are HTML already."""
    items = "".join(f"<dt>{_e(label)}</dt><dd>{value}</dd>" for label, value in rows)
    return f'<dl class="meta">{items}</dl>'


def _details(summary: str, text: str) -> str:
    if not text:
        return ""
    return f"<details><summary>{_e(summary)}</summary><pre>{_e(text)}</pre></details>"


def _table(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: Iterable[int] = (),
    row_ids: Sequence[str] | None = None,
    table_id: str = "",
) -> str:
    """An HTML table; cells are HTML already; columns in ``numeric`` right-aligned."""
    numbers = set(numeric)

    def cls(index: int) -> str:
        return ' class="num"' if index in numbers else ""

    head = "".join(f"<th{cls(i)}>{_e(text)}</th>" for i, text in enumerate(header))
    lines = []
    for index, row in enumerate(rows):
        row_id = f' id="{_e(row_ids[index])}"' if row_ids else ""
        cells = "".join(f"<td{cls(i)}>{cell}</td>" for i, cell in enumerate(row))
        lines.append(f"<tr{row_id}>{cells}</tr>")
    ident = f' id="{_e(table_id)}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


# --------------------------------------------------------------------------------------------
# Run folders


def _run_page(folder: Path) -> Page:
    from sim.analysis import plots

    summary = _read_json(folder / "summary.json")
    manifest = _read_json(folder / "manifest.json", required=False) or {}
    resolved_text, resolved = _read_yaml(folder / "scenario.resolved.yaml")
    info = _outcome_info(resolved.get("model"))
    metrics: dict[str, dict[str, Any]] = summary.get("metrics") or {}
    categories: dict[str, dict[str, Any]] = summary.get("categories") or {}
    name = str(summary.get("scenario") or resolved.get("name") or folder.name)
    description = str(resolved.get("description") or "")
    replications = summary.get("replications")
    page = Page(f"Scenario {name}", description, "sim report \u00b7 run")

    # Provenance.
    engine = manifest.get("engine_version") or resolved.get("engine_version") or "\u2013"
    elapsed = manifest.get("elapsed_seconds")
    rows = [
        ("Scenario", f"<code>{_e(name)}</code>"),
        ("Description", _e(description or "\u2013")),
        ("Model", _e(resolved.get("model") or "standoff")),
        ("Seed", _e(summary.get("seed", resolved.get("seed", "\u2013")))),
        ("Replications", _e(format_number(replications) if replications else "\u2013")),
        ("Engine version", f"sim {_e(engine)}"),
        ("Date", _e(_when(manifest.get("finished_utc")))),
        ("Command", f"<code>{_e(_command(manifest))}</code>"),
    ]
    if isinstance(elapsed, int | float):
        workers = manifest.get("workers", "?")
        executor = manifest.get("executor", "local")
        rows.append(
            ("Run time", _e(f"{elapsed:.1f} s on {workers} worker(s), {executor} executor"))
        )
    if resolved.get("start_date"):
        rows.append(("Day 0", _e(resolved["start_date"])))
    rows.append(("Folder", f"<code>{_e(folder.resolve())}</code>"))
    body = _meta(rows) + _details("scenario.resolved.yaml", resolved_text)
    page.section("provenance", "Scenario and provenance", body)

    # The outcome table.
    page.section("outcomes", "Outcome distributions", _outcome_table(metrics, info))

    # Histograms.
    schema = pq.read_schema(folder / "runs.parquet")
    numeric_columns = [
        f.name
        for f in schema
        if _is_numeric_type(f.type) and f.name not in ("replication", "seed", "point")
    ]
    if info:
        shown = [n for n in MAIN_OUTCOMES if n in numeric_columns]
    else:
        shown = numeric_columns[:MAX_DISTRIBUTIONS]
    if shown:
        table = pq.read_table(folder / "runs.parquet", columns=shown)
        panels = []
        for column in shown:
            about = info.get(column, OutcomeInfo())
            values = _numeric(table, column)
            values = values[np.isfinite(values)]
            integer = about.integer or pa.types.is_integer(schema.field(column).type)
            null_share = (metrics.get(column) or {}).get("null_share")
            panels.append(
                plots.Distribution(
                    column, about.description or column, about.unit, values, integer, null_share
                )
            )
        if info:  # the built-in model: say which main outcomes an older folder lacks
            missing = [n for n in MAIN_OUTCOMES if n not in numeric_columns]
            note = f" Not in this folder: {', '.join(missing)}." if missing else ""
        elif len(numeric_columns) > len(shown):
            note = f" The first {len(shown)} of {len(numeric_columns)} outputs."
        else:
            note = ""
        caption = (
            f"Histograms over the {format_number(replications)} replications; a run where the "
            "event did not happen has no value (its share is marked in red)." + note
        )
        figure = page.figure(
            "distributions.png",
            plots.distribution_grid(panels),
            "Histograms of the main outcomes",
            _e(caption),
        )
        heading = "Distributions of the main outcomes" if info else "Distributions of the outputs"
        page.section("distributions", heading, figure)

    # Category outcomes (the release channel).
    if categories:
        parts = []
        for category, shares in categories.items():
            title = CATEGORY_TITLES.get(category, category)
            png = plots.category_bars(title, shares)
            listing = ", ".join(
                f"{_e(value)} {format_share(share)}" for value, share in shares.items()
            )
            parts.append(
                page.figure(
                    f"category-{category}.png",
                    png,
                    title,
                    f"<code>{_e(category)}</code>: share of the replications ({listing}).",
                )
            )
        heading = "Release channels" if "release_channel" in categories else "Categories"
        page.section("channels", heading, "".join(parts))

    # Fan charts.
    series_path = folder / "timeseries.parquet"
    if series_path.is_file():
        bands = _bands(pq.read_table(series_path))
        if bands:
            start = _start_date(resolved.get("start_date"))
            figure = page.figure(
                "timeseries.png",
                plots.fan_charts(bands, start),
                "Fan charts of the daily series",
                ", ".join(f"<code>{_e(band.name)}</code>" for band in bands),
            )
            dates = f", with dates from day 0 = {start.isoformat()} along the top" if start else ""
            caption = (
                f'<p class="note">Daily quantiles over the replications: the median, the '
                f"50% band (25th to 75th percentile) and the 90% band (5th to 95th); x axis in "
                f"days{_e(dates)}.</p>"
            )
            page.section("timeseries", "Over time", caption + figure)

    # Cost and gain split.
    split = _cost_split(metrics)
    if split:
        png = plots.cost_split(split)
        figure = page.figure(
            "cost-split.png",
            png,
            "Split of the carriers' cost and of Belarus's gain",
            "Means over the replications; the components add up to the total.",
        )
        page.section("costs", "Who pays, who gains", figure + _split_table(split))
    return page


def _outcome_table(
    metrics: Mapping[str, Mapping[str, Any]], info: Mapping[str, OutcomeInfo]
) -> str:
    header = ["outcome", "unit", "mean", "95% CI of the mean", "p05", "p50", "p95", "no event"]
    rows, ids = [], []
    for name, entry in metrics.items():
        about = info.get(name, OutcomeInfo())
        unit = about.unit

        def fmt(value: Any, unit: str = unit, name: str = name) -> str:
            return _e(format_number(value, unit, name))

        low, high = (entry.get("ci95") or [None, None])[:2]
        ci = "\u2013" if low is None or high is None else f"{fmt(low)} \u2013 {fmt(high)}"
        null_share = entry.get("null_share")
        label = f"<code>{_e(name)}</code>"
        if about.description:
            label += f'<span class="desc">{_e(about.description)}</span>'
        rows.append(
            [
                label,
                _e(unit),
                fmt(entry.get("mean")),
                ci,
                fmt(entry.get("p05")),
                fmt(entry.get("p50")),
                fmt(entry.get("p95")),
                format_share(null_share) if null_share else "",
            ]
        )
        ids.append(f"metric-{name}")
    table = _table(header, rows, numeric=range(2, 8), row_ids=ids, table_id="outcome-table")
    return table + (
        '<p class="note">Over the replications: the mean with the 95% t-interval of the mean, '
        "and the 5th, 50th and 95th percentiles. <em>no event</em>: the share of runs where "
        "the event did not happen (no release, no hold...); the other statistics are over the "
        "remaining runs. Money: M = million, bn = billion.</p>"
    )


def _bands(table: pa.Table) -> list[Any]:
    """The fan-chart bands of each series, in the order of the file."""
    from sim.analysis.plots import Band

    if table.num_rows == 0:
        return []
    names = table.column("series").to_pylist()
    order = list(dict.fromkeys(names))
    series = np.asarray(names, dtype=object)
    day = _numeric(table, "day")
    columns = {key: _numeric(table, key) for key in ("mean", "p05", "p25", "p50", "p75", "p95")}
    bands = []
    for name in order:
        mask = series == name
        index = np.argsort(day[mask], kind="stable")
        title, unit = SERIES_LABELS.get(name, (name, ""))
        picked = {key: values[mask][index] for key, values in columns.items()}
        bands.append(Band(name, title, unit, day[mask][index], **picked))
    return bands


def _cost_split(metrics: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, list[Any]]]:
    """The components of the carriers' cost and Belarus's gain (means), where present."""
    from sim.analysis.plots import Component

    def mean(name: str) -> float | None:
        value = (metrics.get(name) or {}).get("mean")
        return float(value) if isinstance(value, int | float) else None

    split: list[tuple[str, list[Any]]] = []
    for total_name, title, parts in (
        ("carrier_cost_eur", "Carriers' cost", CARRIER_COST_PARTS),
        ("belarus_gain_eur", "Belarus's gain", BELARUS_GAIN_PARTS),
    ):
        values = {name: mean(name) for name, _ in parts}
        if any(value is None for value in values.values()):
            continue
        components = [Component(name, label, values[name] or 0.0) for name, label in parts]
        total = mean(total_name)
        if total is not None:
            rest = total - sum(part.value for part in components)
            if abs(rest) > 0.005 * max(abs(total), 1.0):
                components.append(Component("other", "Other", rest))
        split.append((title, components))
    return split


def _split_table(split: Sequence[tuple[str, Sequence[Any]]]) -> str:
    rows = []
    for title, components in split:
        total = sum(part.value for part in components)
        for part in components:
            share = part.value / total if total else None
            rows.append(
                [
                    _e(title),
                    f"{_e(part.label)} (<code>{_e(part.name)}</code>)",
                    _e(format_number(part.value, "EUR")),
                    format_share(share),
                ]
            )
    return _table(
        ["total", "component", "mean (EUR)", "share"], rows, numeric=(2, 3), table_id="cost-table"
    )


# --------------------------------------------------------------------------------------------
# Sweep folders


def binned_means(x: np.ndarray, y: np.ndarray, bins: int = EFFECT_BINS) -> Any:
    """The mean of ``y`` in bins of ``x`` with a 95% t-interval; one bin per distinct value of
    ``x`` when it has at most ``bins`` + 2, else ``bins`` equal-width bins of its range."""
    from scipy import stats

    from sim.analysis.plots import Binned

    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size == 0:
        empty = np.array([])
        return Binned(empty, empty, empty, empty)
    distinct = np.unique(x)
    if distinct.size <= bins + 2:
        index = np.searchsorted(distinct, x)
        count = distinct.size
    else:
        edges = np.linspace(distinct[0], distinct[-1], bins + 1)
        index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
        count = bins
    n = np.bincount(index, minlength=count).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.bincount(index, weights=x, minlength=count) / n
        mean = np.bincount(index, weights=y, minlength=count) / n
        squares = np.bincount(index, weights=(y - mean[index]) ** 2, minlength=count)
        std = np.sqrt(squares / (n - 1))
        t = stats.t.ppf(0.975, np.maximum(n - 1, 1))
        half = np.where(n > 1, t * std / np.sqrt(n), np.nan)
    keep = n > 0
    return Binned(centre[keep], mean[keep], (mean - half)[keep], (mean + half)[keep])


def fifth_swing(key: str, x: np.ndarray, y: np.ndarray, low: float, high: float) -> Any | None:
    """Mean of ``y`` over the points whose ``x`` lies in the lowest fifth of [low, high] and in
    the highest fifth; None when either fifth has no point."""
    from sim.analysis.plots import Swing

    ok = np.isfinite(x) & np.isfinite(y)
    width = high - low
    if not width > 0:
        return None
    low_points = ok & (x <= low + 0.2 * width)
    high_points = ok & (x >= high - 0.2 * width)
    if not low_points.any() or not high_points.any():
        return None
    return Swing(key, float(y[low_points].mean()), float(y[high_points].mean()))


@dataclass
class _Parameter:
    """A varied key path: its design values (numeric, or codes of labels) and range."""

    key: str
    values: np.ndarray
    labels: tuple[str, ...]
    low: float
    high: float
    spec: str


def _parameters(design: pa.Table, keys: Sequence[str], spec: Mapping[str, Any]) -> list[_Parameter]:
    parameters = []
    for key in keys:
        column = design.column(key)
        entry = _mapping(spec.get(key))
        if _is_numeric_type(column.type) or pa.types.is_boolean(column.type):
            values = _numeric(design, key)
            labels: tuple[str, ...] = ()
        else:
            raw = [str(v) for v in column.to_pylist()]
            labels = tuple(
                dict.fromkeys(str(v) for v in entry.get("values", [])) or sorted(set(raw))
            )
            labels = labels + tuple(sorted(set(raw) - set(labels)))
            codes = {label: index for index, label in enumerate(labels)}
            values = np.array([codes[v] for v in raw], dtype=float)
        finite = values[np.isfinite(values)]
        low = float(finite.min()) if finite.size else math.nan
        high = float(finite.max()) if finite.size else math.nan
        if isinstance(entry.get("low"), int | float) and isinstance(entry.get("high"), int | float):
            low, high = float(entry["low"]), float(entry["high"])
            text = f"{format_number(low)} \u2013 {format_number(high)}"
            if entry.get("integer"):
                text += " (whole numbers)"
        elif "values" in entry:
            shown = ", ".join(str(v) for v in entry["values"][:8])
            more = f", \u2026 ({len(entry['values'])} values)" if len(entry["values"]) > 8 else ""
            text = f"values {shown}{more}"
        else:
            text = f"{format_number(low)} \u2013 {format_number(high)}"
        parameters.append(_Parameter(key, values, labels, low, high, text))
    return parameters


def _output_names(summary: Mapping[str, Any]) -> list[str]:
    names = []
    for item in summary.get("outputs") or []:
        name = item.get("outcome") if isinstance(item, dict) else item
        if isinstance(name, str):
            names.append(name)
    return names


def _point_means(
    runs: Path, outcomes: Sequence[str], null_as: Mapping[str, float], points: int
) -> tuple[dict[str, np.ndarray], int, int, Counter[str]]:
    """Per point, the mean of each outcome over its successful runs (nulls as ``null_as``
    where given, else left out); also the run count, failed-run count and error messages."""
    schema = pq.read_schema(runs)
    wanted = [name for name in outcomes if name in schema.names]
    columns = ["point", *wanted] + (["error"] if "error" in schema.names else [])
    table = pq.read_table(runs, columns=columns)
    point = np.asarray(table.column("point").to_numpy(), dtype=np.int64)
    errors: Counter[str] = Counter()
    ok = np.ones(table.num_rows, dtype=bool)
    if "error" in table.column_names:
        error = table.column("error")
        ok = np.asarray(pc.is_null(error).to_numpy(zero_copy_only=False), dtype=bool)
        for message in error.filter(pc.invert(pc.is_null(error))).to_pylist():
            first = str(message).strip().splitlines()[-1:] or [""]
            errors[first[0][:200]] += 1
    size = max(points, int(point.max()) + 1 if point.size else 0)
    means = {}
    for name in wanted:
        values = _numeric(table, name)
        if name in null_as:
            values = np.where(np.isnan(values), float(null_as[name]), values)
        good = ok & np.isfinite(values)
        total = np.bincount(point[good], weights=values[good], minlength=size)
        count = np.bincount(point[good], minlength=size)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[name] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return means, table.num_rows, int((~ok).sum()), errors


def _sweep_page(folder: Path) -> Page:
    from sim.analysis import plots

    summary = _read_json(folder / "summary.json")
    manifest = _read_json(folder / "manifest.json", required=False) or {}
    sensitivity = _read_json(folder / "sensitivity.json", required=False) or {}
    discovery = _read_json(folder / "discovery.json", required=False)
    sweep_text, sweep = _read_yaml(folder / "sweep.yaml")
    base_text, base = _read_yaml(folder / "base.resolved.yaml")
    info = _outcome_info(base.get("model"))
    name = str(summary.get("sweep") or sweep.get("name") or folder.name)
    method = str(summary.get("method") or sweep.get("method") or "?")
    page = Page(f"Sweep {name}", str(sweep.get("description") or ""), f"sim report \u00b7 {method}")

    design = pq.read_table(folder / "design.parquet")
    keys = [k for k in design.column_names if k != "point"]
    point_ids = (
        np.asarray(design.column("point").to_numpy(), dtype=np.int64)
        if "point" in design.column_names
        else np.arange(design.num_rows)
    )
    spec = _mapping(sweep.get("parameters"))
    parameters = _parameters(design, keys, spec)
    outputs = _output_names(summary)
    null_as = {k: float(v) for k, v in (summary.get("null_as") or {}).items()}
    boxes = _boxes(discovery)
    wanted = list(dict.fromkeys(outputs + [str(b.get("outcome")) for b in boxes]))
    means_by_id, runs, failed, errors = _point_means(
        folder / "runs.parquet", wanted, null_as, design.num_rows
    )
    # Point means in design row order.
    means = {out: values[point_ids] for out, values in means_by_id.items()}
    outputs = [out for out in outputs if out in means]

    # Provenance.
    replications = summary.get("replications")
    points = summary.get("points", design.num_rows)
    engine = manifest.get("engine_version") or "\u2013"
    rows = [
        ("Sweep", f"<code>{_e(name)}</code>"),
        ("Description", _e(sweep.get("description") or "\u2013")),
        ("Method", _e(method)),
        ("Base scenario", f"<code>{_e(summary.get('base', sweep.get('base', '?')))}</code>"),
        ("Seed", _e(summary.get("seed", "\u2013"))),
        (
            "Design",
            _e(
                f"{format_number(points)} points \u00d7 {replications} replications = "
                f"{format_number(summary.get('runs', runs))} runs"
            ),
        ),
        ("Engine version", f"sim {_e(engine)}"),
        ("Date", _e(_when(manifest.get("finished_utc")))),
        ("Command", f"<code>{_e(_command(manifest))}</code>"),
    ]
    elapsed = manifest.get("elapsed_seconds")
    if isinstance(elapsed, int | float):
        rows.append(
            ("Run time", _e(f"{elapsed:,.1f} s on {manifest.get('workers', '?')} worker(s)"))
        )
    rows.append(("Folder", f"<code>{_e(folder.resolve())}</code>"))
    body = (
        _meta(rows) + _details("sweep.yaml", sweep_text) + _details("base.resolved.yaml", base_text)
    )
    page.section("provenance", "Sweep and provenance", body)

    # Design.
    design_rows = []
    for parameter in parameters:
        finite = parameter.values[np.isfinite(parameter.values)]
        distinct = np.unique(finite).size
        shown_min = parameter.labels[0] if parameter.labels else format_number(finite.min())
        shown_max = parameter.labels[-1] if parameter.labels else format_number(finite.max())
        design_rows.append(
            [
                f"<code>{_e(parameter.key)}</code>",
                _e(parameter.spec),
                _e(format_number(distinct)),
                _e(shown_min),
                _e(shown_max),
            ]
        )
    body = _table(
        ["parameter", "range in the sweep", "distinct values", "design min", "design max"],
        design_rows,
        numeric=(2, 3, 4),
        table_id="design-table",
    )
    if parameters:
        rng = np.random.default_rng(0)  # a fixed subset: the same picture every time
        subset = np.arange(design.num_rows)
        if subset.size > MAX_DESIGN_POINTS:
            subset = np.sort(rng.choice(subset, MAX_DESIGN_POINTS, replace=False))
        shown = parameters[:MAX_DESIGN_PARAMETERS]
        axes = [plots.Axis(p.key, p.values[subset], p.labels) for p in shown]
        note = ""
        if len(parameters) > len(shown):
            note = f" The first {len(shown)} of {len(parameters)} parameters."
        body += page.figure(
            "design.png",
            plots.design_matrix(axes, design.num_rows),
            "Pair plot of the design points",
            _e(f"The design points, pair by pair ({method}).{note}"),
        )
    page.section("design", "Design", body)

    # Effects.
    parts = []
    for output in outputs:
        y = means[output]
        show = np.arange(y.size)
        if show.size > MAX_EFFECT_POINTS:
            show = np.sort(np.random.default_rng(0).choice(show, MAX_EFFECT_POINTS, replace=False))
        axes = [plots.Axis(p.key, p.values[show], p.labels) for p in parameters]
        binned = [binned_means(p.values, y) for p in parameters]
        unit = info.get(output, OutcomeInfo()).unit
        label = f"mean {output}" + (f" ({unit})" if unit else "")
        parts.append(
            page.figure(
                f"effects-{output}.png",
                plots.effect_grid(output, axes, y[show], binned, label),
                f"Point means of {output} against each parameter",
            )
        )
    if parts:
        nulls = [f"{k} counts a null as {format_number(v)}" for k, v in null_as.items()]
        null_note = f" {'; '.join(nulls)}." if nulls else ""
        caption = (
            f'<p class="note">Each dot is a design point: its mean over its {replications} '
            "replications (failed runs left out). The line is the mean of the points in each "
            f"of {EFFECT_BINS} equal-width bins of the parameter (one per value when it takes "
            f"few), with its 95% confidence interval.{_e(null_note)}</p>"
        )
        page.section("effects", "Effect of each parameter", caption + "".join(parts))

    # Tornado.
    parts = []
    for output in outputs:
        y = means[output]
        swings = [
            swing
            for p in parameters
            if not p.labels
            and (swing := fifth_swing(p.key, p.values, y, p.low, p.high)) is not None
        ]
        if not swings:
            continue
        centre = float(np.nanmean(y)) if np.isfinite(y).any() else 0.0
        unit = info.get(output, OutcomeInfo()).unit
        parts.append(
            page.figure(
                f"tornado-{output}.png",
                plots.tornado(output, swings, centre, unit),
                f"Tornado chart of {output}",
            )
        )
    if parts:
        caption = (
            '<p class="note">For each parameter, the mean of the point means over the points '
            "in the lowest fifth of its range (blue) and in the highest fifth (orange), around "
            "the mean of all points; sorted by the size of the swing (labelled). Other "
            "parameters vary freely within each fifth, so a swing is a main effect averaged "
            "over them.</p>"
        )
        page.section(
            "tornado", "Tornado charts", caption + f'<div class="grid">{"".join(parts)}</div>'
        )

    # Sensitivity indices.
    page.section(
        "sensitivity",
        _sensitivity_heading(method),
        _indices(page, method, outputs, keys, sensitivity),
    )

    # Replication noise.
    noise = summary.get("replication_noise") or {}
    noise_rows = []
    for output in outputs:
        entry = noise.get(output) or (sensitivity.get(output) or {}).get("replication_noise") or {}
        share = entry.get("noise_share")
        flag = ""
        if isinstance(share, int | float):
            flag = (
                '<span class="warn">high: add replications</span>'
                if share > NOISE_WARNING
                else '<span class="ok">low</span>'
            )
        unit = info.get(output, OutcomeInfo()).unit
        noise_rows.append(
            [
                f"<code>{_e(output)}</code>",
                format_share(share),
                _e(format_number(_sqrt(entry.get("noise_variance")), unit, output)),
                _e(format_number(_sqrt(entry.get("variance_of_means")), unit, output)),
                _e(unit),
                flag,
            ]
        )
    body = _table(
        ["output", "noise share", "noise (std)", "std of the point means", "unit", ""],
        noise_rows,
        numeric=(1, 2, 3),
        table_id="noise-table",
    ) + (
        '<p class="note">The share of the variance of the point means that Monte Carlo noise '
        "(within-point variance / replications) accounts for: variance no parameter explains; "
        "<em>noise (std)</em> is its square root, the typical Monte Carlo error of a point "
        "mean. "
        f"Below a few percent read the indices as they are; above {NOISE_WARNING:.0%} add "
        "replications. With common random numbers it is an upper bound.</p>"
    )
    page.section("noise", "Replication noise", body)

    # Failed runs.
    failed_runs = summary.get("failed_runs", failed)
    total_runs = summary.get("runs", runs)
    if failed_runs:
        body = (
            f'<p><span class="warn" id="failed-count">{format_number(failed_runs)}</span> of '
            f"{format_number(total_runs)} runs failed; their outcomes are null and left out of "
            "every statistic above.</p>"
        )
        if errors:
            body += _table(
                ["error (last line)", "runs"],
                [
                    [f"<code>{_e(m)}</code>", _e(format_number(c))]
                    for m, c in errors.most_common(10)
                ],
                numeric=(1,),
                table_id="errors-table",
            )
    else:
        body = (
            f'<p><span class="ok" id="failed-count">0</span> of {format_number(total_runs)} '
            "runs failed.</p>"
        )
    page.section("failures", "Failed runs", body)

    # Discovery boxes.
    if discovery is not None:

        def shares(
            outcome: str, direction: Literal["above", "below"], threshold: float, null: Any
        ) -> np.ndarray:
            by_id = point_shares(
                folder / "runs.parquet", outcome, direction, threshold, null, design.num_rows
            )
            return by_id[point_ids]

        body = _discovery(page, boxes, parameters, means, shares, null_as)
        page.section("discovery", "Discovered boxes", body)
    return page


def _sensitivity_heading(method: str) -> str:
    if method == "sobol":
        return "Sobol indices"
    if method == "morris":
        return "Morris screening"
    return "Sensitivity indices"


def _indices(
    page: Page, method: str, outputs: Sequence[str], keys: Sequence[str], indices: Mapping[str, Any]
) -> str:
    """Charts and a table of the Sobol or Morris indices of every output."""
    from sim.analysis import plots

    if not indices:
        if method in ("sobol", "morris"):
            return '<p class="warn">No indices: this folder has no sensitivity.json.</p>'
        return (
            f'<p class="note">No indices: a {_e(method)} design has no variance-based or '
            "screening analysis. The effect plots and tornado charts above show how each "
            "parameter moves each output.</p>"
        )

    def values(entry: Mapping[str, Any], name: str) -> list[float]:
        got = entry.get(name) or {}
        return [
            float(v) if isinstance(v, int | float) else math.nan for v in (got.get(k) for k in keys)
        ]

    parts, header, rows = [], ["output", "parameter"], []
    sobol = method == "sobol" or any("ST" in (indices.get(o) or {}) for o in outputs)
    header += (
        ["S1", "S1 95% CI \u00b1", "ST", "ST 95% CI \u00b1"]
        if sobol
        else [
            "\u03bc*",
            "\u03bc* 95% CI \u00b1",
            "\u03c3",
            "\u03bc",
        ]
    )
    errors = []
    for output in outputs:
        entry = indices.get(output) or {}
        if "error" in entry:
            errors.append(f"<li><code>{_e(output)}</code>: {_e(entry['error'])}</li>")
            continue
        if sobol:
            s1, s1c, st, stc = (values(entry, n) for n in ("S1", "S1_conf", "ST", "ST_conf"))
            png = plots.sobol_chart(output, keys, s1, s1c, st, stc)
            table_values = list(zip(s1, s1c, st, stc, strict=True))

            def cell(v: float) -> str:
                return "\u2013" if math.isnan(v) else f"{v:.2f}".replace("-", _MINUS)

        else:
            mu, muc, sigma, mu_signed = (
                values(entry, n) for n in ("mu_star", "mu_star_conf", "sigma", "mu")
            )
            png = plots.morris_chart(output, keys, mu, muc, sigma)
            table_values = list(zip(mu, muc, sigma, mu_signed, strict=True))

            def cell(v: float) -> str:
                return _e(format_number(None if math.isnan(v) else v))

        parts.append(page.figure(f"{method}-{output}.png", png, f"{method} indices of {output}"))
        for key, row in zip(keys, table_values, strict=True):
            rows.append([f"<code>{_e(output)}</code>", f"<code>{_e(key)}</code>", *map(cell, row)])
    if sobol:
        note = (
            "S1: the share of the variance of the point means that a parameter explains alone; "
            "ST: with all its interactions (ST \u2212 S1 large: the parameter acts through "
            "others). Bars: 95% bootstrap confidence intervals."
        )
    else:
        note = (
            "\u03bc*: mean absolute elementary effect (how much a parameter moves the output); "
            "\u03c3: their spread (large against \u03bc*: non-linear or interacting). Bars: "
            "95% bootstrap confidence intervals of \u03bc*."
        )
    charts = "".join(parts)
    if sobol:
        charts = f'<div class="grid">{charts}</div>'
    body = f'<p class="note">{note}</p>{charts}'
    if errors:
        body += f"<p>Not analysed:</p><ul>{''.join(errors)}</ul>"
    if rows:
        body += (
            "<details><summary>All indices</summary>"
            + _table(header, rows, numeric=(2, 3, 4, 5), table_id="indices-table")
            + "</details>"
        )
    return body


# --------------------------------------------------------------------------------------------
# Discovery boxes


def _boxes(discovery: Any) -> list[dict[str, Any]]:
    """The boxes of discovery.json: a list of boxes (or ``{"boxes": [...]}``)."""
    if isinstance(discovery, dict):
        discovery = discovery.get("boxes", [discovery] if "limits" in discovery else None)
    if not isinstance(discovery, list):
        return []
    return [box for box in discovery if isinstance(box, dict)]


_ABOVE = {"above", ">", ">=", "high", "higher", "greater", "gt", "ge"}
_BELOW = {"below", "<", "<=", "low", "lower", "less", "lt", "le"}


def box_direction(direction: object) -> Literal["above", "below"]:
    """``"above"`` or ``"below"`` for a box's direction (``sim discover`` writes these)."""
    text = str(direction).strip().lower()
    if text in _ABOVE:
        return "above"
    if text in _BELOW:
        return "below"
    raise ValueError(f"unknown direction {direction!r}")


def point_shares(
    runs: Path,
    outcome: str,
    direction: Literal["above", "below"],
    threshold: float,
    null_as: float | None,
    points: int,
) -> np.ndarray:
    """Per point (by id), the share of its successful runs whose ``outcome`` is strictly above
    (below) ``threshold``; nulls count as ``null_as`` or are left out; NaN without a usable run.
    This is how ``sim discover`` marks its cases of interest."""
    schema = pq.read_schema(runs)
    if outcome not in schema.names:
        return np.full(points, np.nan)
    columns = ["point", outcome] + (["error"] if "error" in schema.names else [])
    table = pq.read_table(runs, columns=columns)
    point = np.asarray(table.column("point").to_numpy(), dtype=np.int64)
    values = _numeric(table, outcome)
    if null_as is not None:
        values = np.where(np.isnan(values), null_as, values)
    usable = np.isfinite(values)
    if "error" in table.column_names:
        usable &= np.asarray(pc.is_null(table.column("error")).to_numpy(zero_copy_only=False))
    meets = (values > threshold) if direction == "above" else (values < threshold)
    size = max(points, int(point.max()) + 1 if point.size else 0)
    counts = np.bincount(point[usable], minlength=size)
    hits = np.bincount(point[usable], weights=meets[usable].astype(float), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)


def _restricted(box: Mapping[str, Any], by_key: Mapping[str, _Parameter]) -> list[str]:
    """The keys a box restricts: its ``restricted`` list, else the limits narrower than the
    parameter's range in the design."""
    limits = _mapping(box.get("limits"))
    listed = box.get("restricted")
    if isinstance(listed, list):
        return [str(key) for key in listed if key in limits]
    keys = []
    for key, bounds in limits.items():
        parameter = by_key.get(key)
        if parameter is None or not isinstance(bounds, list):
            continue
        if parameter.labels:
            if len(bounds) < len(parameter.labels):
                keys.append(key)
            continue
        finite = parameter.values[np.isfinite(parameter.values)]
        low, high = (bounds + [None, None])[:2]
        if finite.size and (
            (isinstance(low, int | float) and low > finite.min())
            or (isinstance(high, int | float) and high < finite.max())
        ):
            keys.append(key)
    return keys


def _discovery(
    page: Page,
    boxes: Sequence[Mapping[str, Any]],
    parameters: Sequence[_Parameter],
    means: Mapping[str, np.ndarray],
    shares: Any,
    sweep_null_as: Mapping[str, float],
) -> str:
    """The boxes of discovery.json: a table, and a chart of each box over the design points.

    ``shares(outcome, direction, threshold, null_as)`` gives each design point's share of runs
    meeting the condition (design row order)."""
    from sim.analysis import plots

    if not boxes:
        return '<p class="note">discovery.json lists no box.</p>'
    by_key = {p.key: p for p in parameters}
    rows, figures = [], []
    for number, box in enumerate(boxes, start=1):
        outcome = str(box.get("outcome", "?"))
        threshold = _float(box.get("threshold"))
        try:
            direction: Literal["above", "below"] | None = box_direction(box.get("direction"))
        except ValueError:
            direction = None
        sign = {"above": ">", "below": "<", None: "?"}[direction]
        condition = (
            f"<code>{_e(outcome)}</code> {sign} {_e(format_number(threshold, name=outcome))}"
        )
        limits_raw = _mapping(box.get("limits"))
        restricted = _restricted(box, by_key)
        quasi_p = _mapping(box.get("quasi_p"))
        limit_text, drawn = [], {}
        for key in restricted:
            bounds = limits_raw.get(key)
            parameter = by_key.get(key)
            p_text = ""
            if isinstance(quasi_p.get(key), int | float):
                p_text = f' <span class="note">(quasi-p {quasi_p[key]:.2g})</span>'
            if parameter is not None and parameter.labels:
                kept = ", ".join(str(v) for v in bounds) if isinstance(bounds, list) else "?"
                limit_text.append(f"<code>{_e(key)}</code> in {{{_e(kept)}}}{p_text}")
                continue
            pair = (list(bounds) + [None, None])[:2] if isinstance(bounds, list) else [None] * 2
            low = _float(pair[0])
            high = _float(pair[1])
            low_value = low if low is not None else (parameter.low if parameter else math.nan)
            high_value = high if high is not None else (parameter.high if parameter else math.nan)
            limit_text.append(
                f"<code>{_e(key)}</code> in [{_e(format_number(low_value))}, "
                f"{_e(format_number(high_value))}]{p_text}"
            )
            if parameter is not None:
                drawn[key] = (low_value, high_value)
        cases = ""
        if isinstance(box.get("cases_in_box"), int) and isinstance(box.get("n_in_box"), int):
            cases = f"{box['cases_in_box']:,} of {box['n_in_box']:,}"
        rows.append(
            [
                str(number),
                condition,
                format_share(_float(box.get("coverage"))),
                format_share(_float(box.get("density"))),
                format_share(_float(box.get("mass"))),
                _e(cases),
                "<br>".join(limit_text) or "no restriction",
            ]
        )
        values = means.get(outcome)
        if number > MAX_BOXES or not drawn or direction is None or threshold is None:
            continue
        null_as = _float(box.get("null_as"))
        if null_as is None:
            null_as = sweep_null_as.get(outcome)
        share = shares(outcome, direction, threshold, null_as)
        needed = _float(box.get("threshold_share"))
        meets = np.nan_to_num(share, nan=-1.0) >= (0.5 if needed is None else needed) - 1e-12
        view = plots.BoxView(
            f"Box {number}: {outcome} {sign} {format_number(threshold, name=outcome)}",
            dict(list(drawn.items())[:4]),
            {key: by_key[key].values for key in drawn},
            meets,
            outcome,
            values if values is not None else np.full(meets.size, np.nan),
            threshold,
        )
        figures.append(page.figure(f"box-{number}.png", plots.box_chart(view), f"Box {number}"))
    table = _table(
        ["box", "condition", "coverage", "density", "mass", "cases in box", "restrictions"],
        rows,
        numeric=(0, 2, 3, 4, 5),
        table_id="discovery-table",
    )
    note = (
        '<p class="note">Boxes found by <code>sim discover</code> (discovery.json): ranges of '
        "the parameters where the condition mostly holds. A design point is a case when at "
        "least half its runs (the box's <code>threshold_share</code>) meet the condition. "
        "Coverage: the share of all cases that lie in the box; density: the share of the "
        "points in the box that are cases; mass: the share of all points in the box. In the "
        "charts (pairs of the first four restricted parameters) cases are orange and the box "
        "is drawn in red; each chart is a projection, so a grey point inside the red rectangle "
        "lies outside the box in another parameter.</p>"
    )
    return note + table + "".join(figures)


def _mapping(value: object) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one (for optional parts of JSON and YAML)."""
    return dict(value) if isinstance(value, Mapping) else {}


def _sqrt(value: object) -> float | None:
    return math.sqrt(value) if isinstance(value, int | float) and value >= 0 else None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


# --------------------------------------------------------------------------------------------
# Writing


def _write_text_atomically(path: Path, text: str) -> None:
    """Write ``path`` through a temporary sibling renamed into place."""
    temporary = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def build_report(folder: Path) -> Path:
    """Write ``folder/plots/`` and ``folder/report.html`` for a run or sweep folder.

    Raises :class:`InputError` (exit 2) if ``folder`` is neither. Everything is computed before
    anything is written; ``plots/`` is replaced whole, then ``report.html`` renamed into place.
    Returns the path of ``report.html``.
    """
    from sim.results.writer import write_run_folder

    folder = Path(folder)
    kind = folder_kind(folder)
    page = _run_page(folder) if kind == "run" else _sweep_page(folder)
    document = page.render()
    write_run_folder(folder / "plots", dict(page.images))
    report = folder / "report.html"
    _write_text_atomically(report, document)
    return report
