"""The report page of a sweep folder.

Its provenance, the design, the effect of each parameter on each analysed output, tornado
charts, the Sobol or Morris indices, the replication noise, the failed runs and, when
``sim discover`` left a ``discovery.json``, its boxes (:mod:`sim.reporting.discovery`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from sim.fmt import DASH, MINUS
from sim.fmt import number as format_number
from sim.fmt import share as format_share
from sim.reporting import plots
from sim.reporting.data import (
    SweepFolder,
    command,
    read_sweep_folder,
    sqrt_or_none,
    when,
)
from sim.reporting.discovery import discovery_section
from sim.reporting.page import Page, code, details, join, meta, render, table

#: Design points shown in the pair plot of a large design (a fixed, seeded subset).
MAX_DESIGN_POINTS = 600
#: Parameters shown in the pair plot (the first ones of the sweep).
MAX_DESIGN_PARAMETERS = 8
#: Point means shown in each effect plot (the binned means use every point).
MAX_EFFECT_POINTS = 4000
#: Bins of a parameter's range for its binned mean (fewer distinct values: one per value).
EFFECT_BINS = 10
#: Share of the variance of the point means above which replication noise is flagged.
NOISE_WARNING = 0.10


def sweep_page(folder: Path) -> Page:
    """The page of the sweep folder ``folder``."""
    sweep = read_sweep_folder(folder)
    page = Page(
        f"Sweep {sweep.name}",
        str(sweep.sweep.get("description") or ""),
        f"sim report \u00b7 {sweep.method}",
    )
    page.section("provenance", "Sweep and provenance", provenance(sweep))
    page.section("design", "Design", design(page, sweep))
    effects(page, sweep)
    tornadoes(page, sweep)
    page.section(
        "sensitivity",
        sensitivity_heading(sweep.method),
        indices(page, sweep.method, sweep.outputs, sweep.keys, sweep.sensitivity),
    )
    page.section("noise", "Replication noise", noise(sweep))
    page.section("failures", "Failed runs", failures(sweep))
    if sweep.discovery is not None:
        page.section("discovery", "Discovered boxes", discovery_section(page, sweep))
    return page


# --------------------------------------------------------------------------------------------
# Numbers of the charts


def binned_means(x: np.ndarray, y: np.ndarray, bins: int = EFFECT_BINS) -> plots.Binned:
    """The mean of ``y`` in bins of ``x`` with a 95% t-interval; one bin per distinct value of
    ``x`` when it has at most ``bins`` + 2, else ``bins`` equal-width bins of its range."""
    from scipy import stats

    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size == 0:
        empty = np.array([])
        return plots.Binned(empty, empty, empty, empty)
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
    return plots.Binned(centre[keep], mean[keep], (mean - half)[keep], (mean + half)[keep])


def fifth_swing(
    key: str, x: np.ndarray, y: np.ndarray, low: float, high: float
) -> plots.Swing | None:
    """Mean of ``y`` over the points whose ``x`` lies in the lowest fifth of [low, high] and in
    the highest fifth; None when either fifth has no point."""
    ok = np.isfinite(x) & np.isfinite(y)
    width = high - low
    if not width > 0:
        return None
    low_points = ok & (x <= low + 0.2 * width)
    high_points = ok & (x >= high - 0.2 * width)
    if not low_points.any() or not high_points.any():
        return None
    return plots.Swing(key, float(y[low_points].mean()), float(y[high_points].mean()))


# --------------------------------------------------------------------------------------------
# Sections


def provenance(sweep: SweepFolder) -> Markup:
    """The sweep, its base scenario, seed, design size, engine, command and files."""
    summary, manifest, spec = sweep.summary, sweep.manifest, sweep.sweep
    replications = summary.get("replications")
    points = summary.get("points", sweep.design.num_rows)
    rows: list[tuple[str, Any]] = [
        ("Sweep", code(sweep.name)),
        ("Description", str(spec.get("description") or DASH)),
        ("Method", sweep.method),
        ("Base scenario", code(summary.get("base", spec.get("base", "?")))),
        ("Seed", str(summary.get("seed", DASH))),
        (
            "Design",
            f"{format_number(points)} points \u00d7 {replications} replications = "
            f"{format_number(summary.get('runs', sweep.runs))} runs",
        ),
        ("Engine version", f"sim {manifest.get('engine_version') or DASH}"),
        ("Date", when(manifest.get("finished_utc"))),
        ("Command", code(command(manifest))),
    ]
    elapsed = manifest.get("elapsed_seconds")
    if isinstance(elapsed, int | float):
        rows.append(("Run time", f"{elapsed:,.1f} s on {manifest.get('workers', '?')} worker(s)"))
    rows.append(("Folder", code(sweep.path.resolve())))
    return (
        meta(rows)
        + details("sweep.yaml", sweep.sweep_text)
        + details("base.resolved.yaml", sweep.base_text)
    )


def design(page: Page, sweep: SweepFolder) -> Markup:
    """A table of the varied parameters and a pair plot of the design points."""
    rows = []
    for parameter in sweep.parameters:
        finite = parameter.values[np.isfinite(parameter.values)]
        distinct = np.unique(finite).size
        shown_min = parameter.labels[0] if parameter.labels else format_number(finite.min())
        shown_max = parameter.labels[-1] if parameter.labels else format_number(finite.max())
        rows.append(
            [code(parameter.key), parameter.spec, format_number(distinct), shown_min, shown_max]
        )
    body = table(
        ["parameter", "range in the sweep", "distinct values", "design min", "design max"],
        rows,
        numeric=(2, 3, 4),
        table_id="design-table",
    )
    if not sweep.parameters:
        return body
    points = sweep.design.num_rows
    subset = np.arange(points)
    if subset.size > MAX_DESIGN_POINTS:
        rng = np.random.default_rng(0)  # a fixed subset: the same picture every time
        subset = np.sort(rng.choice(subset, MAX_DESIGN_POINTS, replace=False))
    shown = sweep.parameters[:MAX_DESIGN_PARAMETERS]
    axes = [plots.Axis(p.key, p.values[subset], p.labels) for p in shown]
    extra = ""
    if len(sweep.parameters) > len(shown):
        extra = f" The first {len(shown)} of {len(sweep.parameters)} parameters."
    return body + page.figure(
        "design.png",
        plots.design_matrix(axes, points),
        "Pair plot of the design points",
        f"The design points, pair by pair ({sweep.method}).{extra}",
    )


def _axis_label(sweep: SweepFolder, output: str) -> str:
    unit = sweep.outcomes.unit(output)
    return f"mean {output}" + (f" ({unit})" if unit else "")


def effects(page: Page, sweep: SweepFolder) -> None:
    """Point means of each output against each parameter, with binned means."""
    parts = []
    for output in sweep.outputs:
        y = sweep.means[output]
        show = np.arange(y.size)
        if show.size > MAX_EFFECT_POINTS:
            show = np.sort(np.random.default_rng(0).choice(show, MAX_EFFECT_POINTS, replace=False))
        axes = [plots.Axis(p.key, p.values[show], p.labels) for p in sweep.parameters]
        binned = [binned_means(p.values, y) for p in sweep.parameters]
        parts.append(
            page.figure(
                f"effects-{output}.png",
                plots.effect_grid(output, axes, y[show], binned, _axis_label(sweep, output)),
                f"Point means of {output} against each parameter",
            )
        )
    if not parts:
        return
    nulls = [f"{k} counts a null as {format_number(v)}" for k, v in sweep.null_as.items()]
    caption = render(
        "sweep/effects.html.j2",
        replications=sweep.summary.get("replications"),
        bins=EFFECT_BINS,
        null_note=f" {'; '.join(nulls)}." if nulls else "",
    )
    page.section("effects", "Effect of each parameter", caption + join(parts))


def tornadoes(page: Page, sweep: SweepFolder) -> None:
    """A tornado chart of each output: its mean in each numeric parameter's outer fifths."""
    parts = []
    for output in sweep.outputs:
        y = sweep.means[output]
        swings = [
            swing
            for p in sweep.parameters
            if not p.labels
            and (swing := fifth_swing(p.key, p.values, y, p.low, p.high)) is not None
        ]
        if not swings:
            continue
        centre = float(np.nanmean(y)) if np.isfinite(y).any() else 0.0
        parts.append(
            page.figure(
                f"tornado-{output}.png",
                plots.tornado(output, swings, centre, sweep.outcomes.unit(output)),
                f"Tornado chart of {output}",
            )
        )
    if parts:
        page.section(
            "tornado", "Tornado charts", render("sweep/tornado.html.j2", charts=join(parts))
        )


def sensitivity_heading(method: str) -> str:
    if method == "sobol":
        return "Sobol indices"
    if method == "morris":
        return "Morris screening"
    return "Sensitivity indices"


def _index_values(entry: Mapping[str, Any], name: str, keys: Sequence[str]) -> list[float]:
    got = entry.get(name) or {}
    return [
        float(v) if isinstance(v, int | float) else math.nan for v in (got.get(k) for k in keys)
    ]


def _sobol_cell(value: float) -> str:
    return DASH if math.isnan(value) else f"{value:.2f}".replace("-", MINUS)


def _morris_cell(value: float) -> str:
    return format_number(None if math.isnan(value) else value)


def indices(
    page: Page, method: str, outputs: Sequence[str], keys: Sequence[str], found: Mapping[str, Any]
) -> Markup:
    """Charts and a table of the Sobol or Morris indices of every output."""
    if not found:
        return render("sweep/no_indices.html.j2", method=method)
    sobol = method == "sobol" or any("ST" in (found.get(o) or {}) for o in outputs)
    names = (
        ("S1", "S1_conf", "ST", "ST_conf") if sobol else ("mu_star", "mu_star_conf", "sigma", "mu")
    )
    header = ["output", "parameter"] + (
        ["S1", "S1 95% CI \u00b1", "ST", "ST 95% CI \u00b1"]
        if sobol
        else ["\u03bc*", "\u03bc* 95% CI \u00b1", "\u03c3", "\u03bc"]
    )
    cell = _sobol_cell if sobol else _morris_cell
    charts, rows, errors = [], [], []
    for output in outputs:
        entry = found.get(output) or {}
        if "error" in entry:
            errors.append((output, str(entry["error"])))
            continue
        columns = [_index_values(entry, name, keys) for name in names]
        if sobol:
            png = plots.sobol_chart(output, keys, *columns)
        else:
            png = plots.morris_chart(output, keys, *columns[:3])
        charts.append(page.figure(f"{method}-{output}.png", png, f"{method} indices of {output}"))
        for key, row in zip(keys, zip(*columns, strict=True), strict=True):
            rows.append([code(output), code(key), *map(cell, row)])
    all_indices = (
        table(header, rows, numeric=(2, 3, 4, 5), table_id="indices-table") if rows else ""
    )
    return render(
        "sweep/indices.html.j2",
        sobol=sobol,
        charts=join(charts),
        errors=errors,
        table=all_indices,
    )


def noise(sweep: SweepFolder) -> Markup:
    """How much of the variance of the point means is Monte Carlo noise, per output."""
    found = sweep.summary.get("replication_noise") or {}
    rows = []
    for output in sweep.outputs:
        entry = (
            found.get(output)
            or (sweep.sensitivity.get(output) or {}).get("replication_noise")
            or {}
        )
        share = entry.get("noise_share")
        flag: Markup | str = ""
        if isinstance(share, int | float):
            flag = (
                Markup('<span class="warn">high: add replications</span>')
                if share > NOISE_WARNING
                else Markup('<span class="ok">low</span>')
            )
        unit = sweep.outcomes.unit(output)
        rows.append(
            [
                code(output),
                format_share(share),
                format_number(sqrt_or_none(entry.get("noise_variance")), unit, output),
                format_number(sqrt_or_none(entry.get("variance_of_means")), unit, output),
                unit,
                flag,
            ]
        )
    return render(
        "sweep/noise.html.j2",
        table=table(
            ["output", "noise share", "noise (std)", "std of the point means", "unit", ""],
            rows,
            numeric=(1, 2, 3),
            table_id="noise-table",
        ),
        warning=f"{NOISE_WARNING:.0%}",
    )


def failures(sweep: SweepFolder) -> Markup:
    """How many runs failed, and their most common errors."""
    failed = sweep.summary.get("failed_runs", sweep.failed)
    total = sweep.summary.get("runs", sweep.runs)
    errors = ""
    if failed and sweep.errors:
        errors = table(
            ["error (last line)", "runs"],
            [[code(m), format_number(c)] for m, c in sweep.errors.most_common(10)],
            numeric=(1,),
            table_id="errors-table",
        )
    return render(
        "sweep/failures.html.j2",
        failed=format_number(failed) if failed else "",
        total=format_number(total),
        errors=errors,
    )
