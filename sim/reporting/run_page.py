"""The report page of a run folder.

Its provenance, a table of every outcome's distribution, histograms of the main outcomes, the
survival curves of the times to an event (censored at the horizon), the category outcomes'
shares, fan charts of the daily series and the totals split into their
parts. Which outcomes are main, the breakdowns, series labels, category titles and colours are
the model's presentation, carried by ``runs.parquet``; a folder without one shows every numeric
outcome (up to 24) and no breakdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from markupsafe import Markup

from sim.fmt import DASH
from sim.fmt import number as format_number
from sim.fmt import share as format_share
from sim.model.interface import MAX_DERIVED_MAIN
from sim.reporting import plots
from sim.reporting.data import (
    Outcomes,
    RunFolder,
    command,
    numeric,
    read_run_folder,
    start_date,
    when,
)
from sim.reporting.page import Page, code, details, join, meta, render, table
from sim.results.survival import kaplan_meier, valid_horizon

#: The section headings a model may set in its presentation (``section_titles``), and the
#: default of each.
DEFAULT_SECTION_TITLES = {"categories": "Categories", "breakdowns": "Totals and their parts"}


def run_page(folder: Path) -> Page:
    """The page of the run folder ``folder``."""
    run = read_run_folder(folder)
    name = str(run.summary.get("scenario") or run.resolved.get("name") or folder.name)
    description = str(run.resolved.get("description") or "")
    page = Page(f"Scenario {name}", description, "sim report \u00b7 run")
    page.section("provenance", "Scenario and provenance", provenance(run, name, description))
    page.section("outcomes", "Outcome distributions", outcome_table(run.metrics, run.outcomes))
    distributions(page, run)
    survival(page, run)
    categories(page, run)
    timeseries(page, run)
    breakdowns(page, run)
    return page


def _section_title(outcomes: Outcomes, key: str) -> str:
    return outcomes.presentation.section_titles.get(key) or DEFAULT_SECTION_TITLES[key]


def provenance(run: RunFolder, name: str, description: str) -> Markup:
    """Who ran what, when and how: the scenario, seed, engine, command and resolved YAML."""
    summary, manifest, resolved = run.summary, run.manifest, run.resolved
    replications = summary.get("replications")
    engine = manifest.get("engine_version") or resolved.get("engine_version") or DASH
    model = resolved.get("model") or run.outcomes.presentation.title or DASH
    rows: list[tuple[str, Any]] = [
        ("Scenario", code(name)),
        ("Description", description or DASH),
        ("Model", str(model)),
        ("Seed", str(summary.get("seed", resolved.get("seed", DASH)))),
        ("Replications", format_number(replications) if replications else DASH),
        ("Engine version", f"sim {engine}"),
        ("Date", when(manifest.get("finished_utc"))),
        ("Command", code(command(manifest))),
    ]
    elapsed = manifest.get("elapsed_seconds")
    if isinstance(elapsed, int | float):
        workers = manifest.get("workers", "?")
        executor = manifest.get("executor", "local")
        rows.append(("Run time", f"{elapsed:.1f} s on {workers} worker(s), {executor} executor"))
    if resolved.get("start_date"):
        rows.append(("Day 0", str(resolved["start_date"])))
    rows.append(("Folder", code(run.path.resolve())))
    return meta(rows) + details("scenario.resolved.yaml", run.resolved_text)


def outcome_table(metrics: Mapping[str, Mapping[str, Any]], outcomes: Outcomes) -> Markup:
    """Every outcome's mean, its CI and percentiles (summary.json), with unit and meaning."""
    rows, ids = [], []
    for name, entry in metrics.items():
        unit = outcomes.unit(name)

        def fmt(value: Any, unit: str = unit, name: str = name) -> str:
            return format_number(value, unit, name)

        low, high = (entry.get("ci95") or [None, None])[:2]
        ci = DASH if low is None or high is None else f"{fmt(low)} \u2013 {fmt(high)}"
        null_share = entry.get("null_share")
        label = code(name)
        if outcomes.description(name):
            label += Markup('<span class="desc">{}</span>').format(outcomes.description(name))
        rows.append(
            [
                label,
                unit,
                fmt(entry.get("mean")),
                ci,
                fmt(entry.get("p05")),
                fmt(entry.get("p50")),
                fmt(entry.get("p95")),
                format_share(null_share) if null_share else "",
            ]
        )
        ids.append(f"metric-{name}")
    return render(
        "run/outcomes.html.j2",
        table=table(
            ["outcome", "unit", "mean", "95% CI of the mean", "p05", "p50", "p95", "no event"],
            rows,
            numeric=range(2, 8),
            row_ids=ids,
            table_id="outcome-table",
        ),
    )


def distributions(page: Page, run: RunFolder) -> None:
    """Histograms of the main outcomes (the presentation's, else every numeric outcome)."""
    numeric_columns = run.numeric_columns()
    declared = run.outcomes.presentation.main_outcomes
    if declared:
        shown = [name for name in declared if name in numeric_columns]
    else:
        shown = numeric_columns[:MAX_DERIVED_MAIN]
    if not shown:
        return
    values_table = run.columns(shown)
    panels = []
    for column in shown:
        spec = run.outcomes.specs.get(column)
        values = numeric(values_table, column)
        values = values[np.isfinite(values)]
        integer = (spec is not None and spec.kind == "int") or pa.types.is_integer(
            run.schema.field(column).type
        )
        null_share = (run.metrics.get(column) or {}).get("null_share")
        panels.append(
            plots.Distribution(
                column,
                run.outcomes.description(column) or column,
                run.outcomes.unit(column),
                values,
                integer,
                null_share,
            )
        )
    if declared:  # say which main outcomes an older folder lacks
        missing = [n for n in declared if n not in numeric_columns]
        extra = f" Not in this folder: {', '.join(missing)}." if missing else ""
    elif len(numeric_columns) > len(shown):
        extra = f" The first {len(shown)} of {len(numeric_columns)} outputs."
    else:
        extra = ""
    caption = (
        f"Histograms over the {format_number(run.summary.get('replications'))} replications; "
        "a run where the event did not happen has no value (its share is marked in red)." + extra
    )
    figure = page.figure(
        "distributions.png",
        plots.distribution_grid(panels),
        "Histograms of the main outcomes",
        caption,
    )
    heading = "Distributions of the main outcomes" if declared else "Distributions of the outputs"
    page.section("distributions", heading, figure)


def survival(page: Page, run: RunFolder) -> None:
    """Kaplan-Meier curves (share of runs still waiting, by day) and a table of the times to
    an event: the outcomes with a ``survival`` entry in summary.json (nullable event days of a
    run with a known horizon), the main ones first."""
    found = [name for name, entry in run.metrics.items() if isinstance(entry.get("survival"), dict)]
    if not found:
        return
    main = [name for name in run.outcomes.presentation.main_outcomes if name in found]
    order = main + [name for name in found if name not in main]
    values_table = run.columns(order)
    curves, rows = [], []
    for name in order:
        entry = run.metrics[name]["survival"]
        horizon = valid_horizon(entry.get("horizon"))
        if horizon is None:
            continue
        curve = kaplan_meier(numeric(values_table, name), horizon)
        if curve is None:
            continue
        day, waiting = curve.steps()
        median = curve.median()
        curves.append(
            plots.Survival(
                name, run.outcomes.description(name) or name, day, waiting, horizon, median
            )
        )
        unit = run.outcomes.unit(name)
        rows.append(
            [
                code(name),
                format_share(entry.get("event_share")),
                "not reached" if median is None else format_number(median, unit, name),
                format_number(entry.get("rmst"), unit, name),
                format_number(horizon, unit, name),
            ]
        )
    if not curves:
        return
    figure = page.figure(
        "survival.png",
        plots.survival_curves(curves, colours=run.outcomes.presentation.colours),
        "Share of runs still waiting for each event, by day",
        "Kaplan-Meier estimate; a run where the event had not happened by the horizon is "
        "censored there. The median is the first day at or below one half.",
    )
    summary = table(
        ["event day", "happened by the horizon", "median (KM)", "restricted mean", "horizon"],
        rows,
        numeric=range(1, 5),
        table_id="survival-table",
    )
    page.section("survival", "Times to an event", figure + summary)


def categories(page: Page, run: RunFolder) -> None:
    """A bar chart of the shares of each category outcome's values."""
    if not run.categories:
        return
    presentation = run.outcomes.presentation
    parts = []
    for category, shares in run.categories.items():
        title = presentation.category_titles.get(category, category)
        png = plots.category_bars(title, shares, colours=presentation.colours)
        listing = ", ".join(f"{value} {format_share(share)}" for value, share in shares.items())
        caption = Markup("{}: share of the replications ({}).").format(code(category), listing)
        parts.append(page.figure(f"category-{category}.png", png, title, caption))
    page.section("channels", _section_title(run.outcomes, "categories"), join(parts))


def bands(series: pa.Table, outcomes: Outcomes) -> list[plots.Band]:
    """The fan-chart bands of each series, in the order of the file, titled and with units
    as the presentation says."""
    if series.num_rows == 0:
        return []
    names = series.column("series").to_pylist()
    order = list(dict.fromkeys(names))
    labels = np.asarray(names, dtype=object)
    day = numeric(series, "day")
    columns = {key: numeric(series, key) for key in ("mean", "p05", "p25", "p50", "p75", "p95")}
    found = []
    for name in order:
        mask = labels == name
        index = np.argsort(day[mask], kind="stable")
        spec = outcomes.presentation.series_spec(name)
        picked = {key: values[mask][index] for key, values in columns.items()}
        found.append(plots.Band(name, spec.title, spec.unit, day[mask][index], **picked))
    return found


def timeseries(page: Page, run: RunFolder) -> None:
    """Fan charts of the daily series (timeseries.parquet), dated when day 0 is known."""
    series = run.series()
    if series is None:
        return
    found = bands(series, run.outcomes)
    if not found:
        return
    start = start_date(run.resolved.get("start_date"))
    figure = page.figure(
        "timeseries.png",
        plots.fan_charts(found, start, run.outcomes.presentation.time_label),
        "Fan charts of the daily series",
        join((code(band.name) for band in found), ", "),
    )
    body = render("run/timeseries.html.j2", start=start.isoformat() if start else "")
    page.section("timeseries", "Over time", body + figure)


def split(
    metrics: Mapping[str, Mapping[str, Any]], outcomes: Outcomes
) -> list[tuple[str, list[plots.Component]]]:
    """The presentation's breakdowns (means of the total and its parts), where every part is
    in the folder; a part "Other" holds any rest of the total."""

    def mean(name: str) -> float | None:
        value = (metrics.get(name) or {}).get("mean")
        return float(value) if isinstance(value, int | float) else None

    found: list[tuple[str, list[plots.Component]]] = []
    for breakdown in outcomes.presentation.breakdowns:
        values = {name: mean(name) for name, _ in breakdown.parts}
        if any(value is None for value in values.values()):
            continue
        components = [
            plots.Component(name, label, values[name] or 0.0) for name, label in breakdown.parts
        ]
        total = mean(breakdown.total) if breakdown.total else None
        if total is not None:
            rest = total - sum(part.value for part in components)
            if abs(rest) > 0.005 * max(abs(total), 1.0):
                components.append(plots.Component("other", "Other", rest))
        found.append((breakdown.title, components))
    return found


def breakdowns(page: Page, run: RunFolder) -> None:
    """Stacked bars and a table of the totals split into their parts."""
    parts = split(run.metrics, run.outcomes)
    if not parts:
        return
    presentation = run.outcomes.presentation
    totals = [b.total for b in presentation.breakdowns if b.total]
    unit = run.outcomes.unit(totals[0]) if totals else ""
    png = plots.cost_split(parts, unit, colours=presentation.colours)
    titles = " and ".join(title for title, _ in parts)
    figure = page.figure(
        "cost-split.png",
        png,
        f"Split of {titles}",
        "Means over the replications; the components add up to the total.",
    )
    page.section(
        "costs", _section_title(run.outcomes, "breakdowns"), figure + split_table(parts, unit)
    )


def split_table(parts: Sequence[tuple[str, Sequence[plots.Component]]], unit: str) -> Markup:
    rows = []
    for title, components in parts:
        total = sum(part.value for part in components)
        for part in components:
            share = part.value / total if total else None
            rows.append(
                [
                    title,
                    Markup("{} ({})").format(part.label, code(part.name)),
                    format_number(part.value, unit, part.name),
                    format_share(share),
                ]
            )
    mean_header = f"mean ({unit})" if unit else "mean"
    return table(
        ["total", "component", mean_header, "share"], rows, numeric=(2, 3), table_id="cost-table"
    )
