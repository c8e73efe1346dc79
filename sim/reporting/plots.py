"""Charts of run and sweep folders, each returned as PNG bytes.

Every chart is drawn on its own :class:`matplotlib.figure.Figure` attached to its own Agg canvas,
never through pyplot: importing this module selects no backend and registers no figure, and the
house style is applied with a temporary ``rc_context`` around each chart only. The functions
draw what they are given; the numbers (bands, bins, swings, indices) are computed by the page
modules of :mod:`sim.reporting`. No chart knows a model: titles, labels and colours come in as
arguments (the colours of categories and parts from the model's presentation, then
:data:`PALETTE` in order).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ParamSpec, cast

import matplotlib
import matplotlib.dates as mdates
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.fmt import compact

#: Resolution of every PNG; the report shows images at 100 CSS pixels per figure inch.
DPI = 120

BLUE = "#2f6db5"
ORANGE = "#e07b39"
GREEN = "#3a9a5b"
RED = "#c8453c"
PURPLE = "#7d5ba6"
GREY = "#8a939d"
TEAL = "#2a9d9a"
GOLD = "#d4a72c"
INK = "#1f2933"
PALETTE = (BLUE, ORANGE, GREEN, RED, PURPLE, TEAL, GOLD, GREY)

STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 8.0,
    "axes.labelsize": 9.0,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#9aa3ad",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "axes.prop_cycle": cycler(color=PALETTE),
    "grid.color": "#e4e7eb",
    "grid.linewidth": 0.7,
    "xtick.color": "#39424e",
    "ytick.color": "#39424e",
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "legend.frameon": False,
    "legend.fontsize": 8.0,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "text.color": INK,
}

P = ParamSpec("P")


def styled(draw: Callable[P, bytes]) -> Callable[P, bytes]:
    """Run a chart function inside the house style (a temporary ``rc_context``)."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> bytes:
        with matplotlib.rc_context(cast(Any, STYLE)):
            return draw(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float, *, constrained: bool = True) -> Figure:
    """A figure of ``width`` x ``height`` inches on its own Agg canvas (no pyplot).

    ``constrained`` lays it out automatically; the charts with many axes place them with
    :func:`margins` instead, which is several times faster to draw.
    """
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None)
    FigureCanvasAgg(figure)
    return figure


def margins(
    figure: Figure,
    rows: int,
    columns: int,
    *,
    left: float,
    right: float,
    top: float,
    bottom: float,
    wgap: float,
    hgap: float,
) -> None:
    """Place a grid of axes with margins and gaps given in inches."""
    width, height = figure.get_size_inches()
    cell_width = (width - left - right - wgap * (columns - 1)) / columns
    cell_height = (height - top - bottom - hgap * (rows - 1)) / rows
    figure.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=wgap / cell_width,
        hspace=hgap / cell_height,
    )


def _header(figure: Figure, title: str, handles: Sequence[Any] = ()) -> None:
    """A bold title at the top left and a one-row legend at the top right (manual layouts)."""
    height = figure.get_size_inches()[1]
    y = 1 - 0.08 / height
    if title:
        figure.text(0.01, y, title, ha="left", va="top", fontsize=10.5, fontweight="bold")
    if handles:
        figure.legend(
            handles=handles,
            loc="upper right",
            bbox_to_anchor=(0.995, 1 - 0.02 / height),
            ncols=len(handles),
            borderaxespad=0.2,
        )


def to_png(figure: Figure) -> bytes:
    """The figure as PNG bytes; the figure is cleared afterwards, freeing its artists."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    figure.clear()
    return buffer.getvalue()


#: Axis labels: 1.2bn, 45M, 18k, 350, 0.25 (:func:`sim.fmt.compact`).
SHORT = FuncFormatter(lambda value, _position: compact(value))


def colours_for(names: Sequence[str], declared: Mapping[str, str]) -> list[str]:
    """A colour for each name: the declared one (the model's presentation), else the first
    colour of :data:`PALETTE` not used yet in this chart (the palette again once all are)."""
    chosen = {name: declared[name] for name in names if name in declared}
    used = set(chosen.values())
    free = [colour for colour in PALETTE if colour not in used]
    index = 0
    for name in names:
        if name not in chosen:
            chosen[name] = free[index] if index < len(free) else PALETTE[index % len(PALETTE)]
            index += 1
    return [chosen[name] for name in names]


def key_label(key: str, width: int = 24) -> str:
    """A dotted key path broken at its dots so that lines stay under ``width`` characters."""
    lines: list[str] = []
    for part in key.split("."):
        if lines and len(lines[-1]) + 1 + len(part) <= width:
            lines[-1] += "." + part
        else:
            lines.append(part if not lines else "." + part)
    return "\n".join(lines)


def _grid(figure: Figure, count: int, columns: int, **kwargs: Any) -> list[Axes]:
    """``count`` axes in rows of ``columns``; the unused cells of the last row are hidden."""
    rows = max(1, math.ceil(count / columns))
    axes = figure.subplots(rows, columns, squeeze=False, **kwargs).ravel().tolist()
    for extra in axes[count:]:
        extra.set_visible(False)
    return axes[:count]


# --------------------------------------------------------------------------------------------
# Run folders


@dataclass(frozen=True)
class Distribution:
    """One outcome's values over the replications (nulls left out), for a histogram."""

    name: str
    title: str
    unit: str
    values: np.ndarray
    integer: bool = False
    null_share: float | None = None


def histogram_bins(values: np.ndarray, integer: bool) -> np.ndarray:
    """Bin edges: one bin per whole number for a narrow integer range, else 12 to 50 bins
    (Freedman-Diaconis, at least the square root of the count)."""
    low, high = float(np.min(values)), float(np.max(values))
    if low == high:
        return np.array([low - 0.5, high + 0.5])
    if integer and high - low <= 60:
        return np.arange(low - 0.5, high + 1.5)
    edges = np.histogram_bin_edges(values, bins="fd")
    bins = int(min(50, max(12, len(edges) - 1, round(math.sqrt(values.size)))))
    return np.linspace(low, high, bins + 1)


@styled
def distribution_grid(panels: Sequence[Distribution], columns: int = 3) -> bytes:
    """Histograms of several outcomes, with their median, mean and 5th-95th percentiles."""
    columns = max(1, min(columns, len(panels)))
    rows = math.ceil(len(panels) / columns)
    figure = new_figure(10.0, 0.35 + 2.55 * rows, constrained=False)
    axes = _grid(figure, len(panels), columns)
    margins(
        figure, rows, columns, left=0.65, right=0.15, top=0.62, bottom=0.5, wgap=0.55, hgap=0.95
    )
    for index, (ax, panel) in enumerate(zip(axes, panels, strict=True)):
        values = np.asarray(panel.values, dtype=float)
        values = values[np.isfinite(values)]
        ax.set_title(panel.title, fontsize=9.0)
        ax.set_xlabel(f"{panel.name} ({panel.unit})" if panel.unit else panel.name)
        if index % columns == 0:
            ax.set_ylabel("replications")
        ax.xaxis.set_major_formatter(SHORT)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
        if values.size == 0:
            ax.text(0.5, 0.5, "no values", transform=ax.transAxes, ha="center", color=GREY)
            continue
        ax.hist(
            values,
            bins=histogram_bins(values, panel.integer).tolist(),
            color=BLUE,
            alpha=0.8,
            edgecolor="white",
            linewidth=0.3,
        )
        p05, p50, p95 = np.quantile(values, [0.05, 0.5, 0.95])
        ax.axvline(float(p50), color=INK, linewidth=1.4)
        ax.axvline(float(values.mean()), color=ORANGE, linewidth=1.4, linestyle="--")
        for quantile in (p05, p95):
            ax.axvline(float(quantile), color=GREY, linewidth=1.0, linestyle=":")
        if panel.null_share:
            ax.text(
                0.98,
                0.96,
                f"none in {panel.null_share:.0%} of runs",
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize=7.5,
                color=RED,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1.5},
            )
    handles = [
        Line2D([], [], color=INK, linewidth=1.4, label="median"),
        Line2D([], [], color=ORANGE, linewidth=1.4, linestyle="--", label="mean"),
        Line2D([], [], color=GREY, linewidth=1.0, linestyle=":", label="5th and 95th percentiles"),
    ]
    _header(figure, "", handles)
    return to_png(figure)


@styled
def category_bars(
    title: str,
    shares: Mapping[str, float | None],
    label: str = "",
    colours: Mapping[str, str] | None = None,
) -> bytes:
    """Horizontal bars of the share of each category, labelled in percent; ``colours`` by
    category value (see :func:`colours_for`)."""
    names = list(shares)
    values = [float(shares[name] or 0.0) for name in names]
    figure = new_figure(6.4, 0.9 + 0.42 * len(names))
    ax = figure.subplots()
    bar_colours = colours_for(names, colours or {})
    positions = np.arange(len(names))[::-1]
    ax.barh(positions, values, color=bar_colours, height=0.62)
    ax.set_yticks(positions, names)
    ax.set_xlim(0, max(1e-9, max(values, default=0.0)) * 1.18)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
    ax.grid(axis="y", visible=False)
    for position, value in zip(positions, values, strict=True):
        ax.text(value, position, f"  {value:.1%}", va="center", fontsize=8.5)
    ax.set_title(title)
    ax.set_xlabel(label or "share of replications")
    return to_png(figure)


@dataclass(frozen=True)
class Survival:
    """The Kaplan-Meier curve of a time to an event: the share of runs still waiting just after
    each ``day`` (step points from day 0 to the horizon) and its median (None if not reached);
    ``title`` describes the event (the legend shows the outcome's name)."""

    name: str
    title: str
    day: np.ndarray
    waiting: np.ndarray
    horizon: float
    median: float | None = None


@styled
def survival_curves(curves: Sequence[Survival], colours: Mapping[str, str] | None = None) -> bytes:
    """Step curves of the share of runs still waiting for each event, by day, to the horizon;
    a dotted line at one half, where each reached median is marked."""
    figure = new_figure(10.0, 3.6)
    ax = figure.subplots()
    line_colours = colours_for([curve.name for curve in curves], colours or {})
    for curve, colour in zip(curves, line_colours, strict=True):
        label = curve.name + (
            "\nmedian not reached"
            if curve.median is None
            else f"\nmedian day {compact(curve.median)}"
        )
        ax.step(curve.day, curve.waiting, where="post", color=colour, linewidth=1.6, label=label)
        if curve.median is not None:
            ax.plot([curve.median], [0.5], marker="o", markersize=4, color=colour)
    ax.axhline(0.5, color=GREY, linewidth=0.9, linestyle=":")
    horizon = max((curve.horizon for curve in curves), default=1.0)
    ax.set_xlim(0, horizon)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
    ax.set_xlabel("day")
    ax.set_ylabel("runs still waiting")
    ax.set_title("Share of runs still waiting for the event (Kaplan-Meier)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), labelspacing=0.9)
    return to_png(figure)


@dataclass(frozen=True)
class Band:
    """Daily quantile bands of one series over the replications."""

    name: str
    title: str
    unit: str
    day: np.ndarray
    mean: np.ndarray
    p05: np.ndarray
    p25: np.ndarray
    p50: np.ndarray
    p75: np.ndarray
    p95: np.ndarray


@styled
def fan_charts(
    bands: Sequence[Band], start_date: date | None = None, time_label: str = "step"
) -> bytes:
    """Median, 50% and 90% bands of daily series, one panel each over a shared day axis;
    dates along the top when the scenario's start date is known."""
    rows = len(bands)
    top_margin = 0.95 if start_date is not None else 0.55
    figure = new_figure(10.0, top_margin + 0.55 + 2.35 * rows, constrained=False)
    axes = _grid(figure, rows, 1, sharex=True)
    margins(figure, rows, 1, left=0.8, right=0.15, top=top_margin, bottom=0.55, wgap=0, hgap=0.45)
    for ax, band in zip(axes, bands, strict=True):
        ax.fill_between(band.day, band.p05, band.p95, color=BLUE, alpha=0.16, linewidth=0)
        ax.fill_between(band.day, band.p25, band.p75, color=BLUE, alpha=0.34, linewidth=0)
        ax.plot(band.day, band.p50, color=BLUE, linewidth=1.8)
        ax.plot(band.day, band.mean, color=ORANGE, linewidth=1.1, linestyle="--")
        low = np.nanmin(band.p05) if np.isfinite(band.p05).any() else 0.0
        if low >= 0:
            ax.set_ylim(bottom=0)
        ax.set_ylabel(band.unit)
        ax.yaxis.set_major_formatter(SHORT)
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.text(
            0.005,
            0.97,
            band.title,
            transform=ax.transAxes,
            ha="left",
            va="top",
            fontsize=9.5,
            fontweight="bold",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5},
        )
    days = np.concatenate([band.day for band in bands])
    axes[0].set_xlim(float(days.min()), float(days.max()))
    axes[-1].set_xlabel(time_label)
    if start_date is not None:
        origin = float(mdates.date2num(start_date))

        def to_date(day: Any) -> Any:
            return day + origin

        def to_day(number: Any) -> Any:
            return number - origin

        dates = axes[0].secondary_xaxis("top", functions=(to_date, to_day))
        dates.xaxis.set_major_locator(mdates.MonthLocator())
        dates.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
        dates.tick_params(labelsize=7.5, colors="#5b6672")
    handles = [
        Line2D([], [], color=BLUE, linewidth=1.8, label="median"),
        Patch(facecolor=BLUE, alpha=0.45, label="50% band (p25\u2013p75)"),
        Patch(facecolor=BLUE, alpha=0.16, label="90% band (p05\u2013p95)"),
        Line2D([], [], color=ORANGE, linewidth=1.1, linestyle="--", label="mean"),
    ]
    _header(figure, "", handles)
    return to_png(figure)


@dataclass(frozen=True)
class Component:
    """One part of a total: the outcome it comes from, a label and its mean."""

    name: str
    label: str
    value: float


@styled
def cost_split(
    parts: Sequence[tuple[str, Sequence[Component]]],
    unit: str = "",
    colours: Mapping[str, str] | None = None,
) -> bytes:
    """One stacked horizontal bar per total (title, components), in ``unit``; a component has
    the same colour in every bar (``colours`` by outcome name, see :func:`colours_for`)."""
    figure = new_figure(10.0, 0.45 + 1.4 * len(parts))
    axes = _grid(figure, len(parts), 1)
    names = list(dict.fromkeys(part.name for _, components in parts for part in components))
    colour_of = dict(zip(names, colours_for(names, colours or {}), strict=True))
    for ax, (title, components) in zip(axes, parts, strict=True):
        total = sum(max(0.0, part.value) for part in components)
        left = 0.0
        for part in components:
            value = max(0.0, part.value)
            colour = colour_of[part.name]
            share = value / total if total else 0.0
            label = f"{part.label}: {compact(value)} ({share:.0%})"
            ax.barh(0, value, left=left, color=colour, height=0.6, label=label)
            if share >= 0.12:
                ax.text(
                    left + value / 2,
                    0,
                    f"{part.label}\n{compact(value)} ({share:.0%})",
                    ha="center",
                    va="center",
                    fontsize=7.8,
                    color="white",
                    fontweight="bold",
                )
            left += value
        ax.set_xlim(0, max(total, 1e-9))
        ax.set_ylim(-0.5, 0.5)
        ax.set_yticks([])
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_formatter(SHORT)
        ax.set_title(f"{title}: mean {compact(total)} {unit}".rstrip())
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7.8)
    axes[-1].set_xlabel(f"{unit} (mean over replications)" if unit else "mean over replications")
    return to_png(figure)


# --------------------------------------------------------------------------------------------
# Sweep folders


@dataclass(frozen=True)
class Binned:
    """Means of the point means within bins of one parameter, with 95% CIs."""

    centre: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


@dataclass(frozen=True)
class Axis:
    """One parameter's values over the design: numbers, or codes of labelled values."""

    key: str
    values: np.ndarray
    labels: tuple[str, ...] = ()


def _set_axis_labels(ax: Axes, axis: Axis, which: str = "x") -> None:
    """Category names as ticks for a parameter given as a list of non-numeric values."""
    if not axis.labels:
        return
    ticks = np.arange(len(axis.labels))
    if which == "x":
        ax.set_xticks(ticks, axis.labels, rotation=30, ha="right")
    else:
        ax.set_yticks(ticks, axis.labels)


@styled
def design_matrix(axes_data: Sequence[Axis], total_points: int) -> bytes:
    """Corner pair plot of the design points: histograms on the diagonal, scatter below."""
    count = len(axes_data)
    if count == 1:
        figure = new_figure(6.0, 3.0)
        ax = figure.subplots()
        ax.hist(axes_data[0].values, bins=20, color=BLUE, alpha=0.8, edgecolor="white")
        ax.set_xlabel(axes_data[0].key)
        ax.set_ylabel("points")
        _set_axis_labels(ax, axes_data[0])
        return to_png(figure)
    side = min(9.0, 1.45 * count + 1.2)
    figure = new_figure(side, side, constrained=False)
    grid = figure.add_gridspec(count, count)
    margins(figure, count, count, left=0.95, right=0.1, top=0.4, bottom=0.8, wgap=0.1, hgap=0.1)

    def limits(values: np.ndarray) -> tuple[float, float]:
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return (0.0, 1.0)
        low, high = float(finite.min()), float(finite.max())
        pad = (high - low) * 0.06 or 0.5
        return (low - pad, high + pad)

    bounds = [limits(axis.values) for axis in axes_data]
    shown = len(axes_data[0].values)
    for row in range(count):
        for column in range(row + 1):
            ax = figure.add_subplot(grid[row, column])
            x_axis, y_axis = axes_data[column], axes_data[row]
            if row == column:
                ax.hist(x_axis.values, bins=16, color=BLUE, alpha=0.75, edgecolor="white")
                ax.set_yticks([])
                ax.grid(False)
            else:
                ax.scatter(x_axis.values, y_axis.values, s=4, color=BLUE, alpha=0.55, linewidths=0)
                ax.set_ylim(*bounds[row])
            ax.set_xlim(*bounds[column])
            ax.tick_params(labelsize=6.5, length=2)
            ax.xaxis.set_major_locator(MaxNLocator(4))
            if row != column:
                ax.yaxis.set_major_locator(MaxNLocator(4))
            if row == count - 1:
                ax.set_xlabel(key_label(x_axis.key, 22), fontsize=7)
                _set_axis_labels(ax, x_axis)
            else:
                ax.tick_params(labelbottom=False)
            if column == 0 and row > 0:
                ax.set_ylabel(key_label(y_axis.key, 22), fontsize=7)
                _set_axis_labels(ax, y_axis, "y")
            elif row != column:
                ax.tick_params(labelleft=False)
    note = f" ({shown:,} of {total_points:,}, drawn at random)" if shown < total_points else ""
    _header(figure, f"Design points{note}")
    return to_png(figure)


@styled
def effect_grid(
    output: str,
    parameters: Sequence[Axis],
    means: np.ndarray,
    binned: Sequence[Binned],
    ylabel: str = "",
) -> bytes:
    """Point means of one output against each parameter, with the binned mean and its CI."""
    columns = min(3, len(parameters))
    rows = math.ceil(len(parameters) / columns)
    figure = new_figure(10.0, 0.3 + 2.6 * rows, constrained=False)
    axes = _grid(figure, len(parameters), columns, sharey=True)
    margins(
        figure, rows, columns, left=0.85, right=0.15, top=0.45, bottom=0.62, wgap=0.25, hgap=0.8
    )
    for index, (ax, axis, line) in enumerate(zip(axes, parameters, binned, strict=True)):
        finite = np.isfinite(axis.values) & np.isfinite(means)
        ax.scatter(
            axis.values[finite],
            means[finite],
            s=7,
            color=BLUE,
            alpha=0.28 if finite.sum() > 300 else 0.5,
            linewidths=0,
        )
        ok = np.isfinite(line.mean)
        ax.fill_between(
            line.centre[ok], line.low[ok], line.high[ok], color=ORANGE, alpha=0.25, linewidth=0
        )
        ax.plot(line.centre[ok], line.mean[ok], color=ORANGE, linewidth=1.8, marker="o", ms=3)
        ax.set_xlabel(key_label(axis.key, 40))
        _set_axis_labels(ax, axis)
        ax.yaxis.set_major_formatter(SHORT)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        if index % columns == 0:
            ax.set_ylabel(ylabel or output)
    handles = [
        Line2D([], [], color=BLUE, marker="o", linestyle="", ms=4, alpha=0.6, label="point mean"),
        Line2D([], [], color=ORANGE, linewidth=1.8, marker="o", ms=3, label="binned mean"),
        Patch(facecolor=ORANGE, alpha=0.25, label="95% CI of the binned mean"),
    ]
    _header(figure, output, handles)
    return to_png(figure)


@dataclass(frozen=True)
class Swing:
    """Mean output over the points in the lowest and in the highest fifth of a parameter."""

    key: str
    low: float
    high: float

    @property
    def size(self) -> float:
        """The swing: high minus low (signed)."""
        return self.high - self.low


@styled
def tornado(output: str, swings: Sequence[Swing], centre: float, unit: str = "") -> bytes:
    """Bars from the overall mean to the mean in each parameter's lowest and highest fifth."""
    ordered = sorted(swings, key=lambda swing: abs(swing.size))  # largest drawn on top
    figure = new_figure(5.2, 1.2 + 0.42 * len(ordered))
    ax = figure.subplots()
    positions = np.arange(len(ordered))
    lows = np.array([swing.low for swing in ordered])
    highs = np.array([swing.high for swing in ordered])
    ax.barh(positions, lows - centre, left=centre, color=BLUE, height=0.62, label="lowest fifth")
    ax.barh(
        positions, highs - centre, left=centre, color=ORANGE, height=0.62, label="highest fifth"
    )
    ax.axvline(centre, color=INK, linewidth=0.9)
    ax.set_yticks(positions, [key_label(swing.key, 36) for swing in ordered], fontsize=7.5)
    ax.grid(axis="y", visible=False)
    ax.xaxis.set_major_formatter(SHORT)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    span = float(np.nanmax(np.abs(np.concatenate([lows, highs]) - centre))) if ordered else 0.0
    span = span or abs(centre) * 0.1 or 1.0
    ax.set_xlim(centre - span * 1.35, centre + span * 1.35)
    for position, swing in zip(positions, ordered, strict=True):
        edge = max(swing.low, swing.high, centre)
        sign = "+" if swing.size >= 0 else "\u2212"
        ax.text(
            edge,
            float(position),
            f"  {sign}{compact(abs(swing.size))}",
            va="center",
            fontsize=7.5,
            color="#39424e",
        )
    ax.set_title(output)
    ax.set_xlabel(f"mean {output}" + (f" ({unit})" if unit else ""))
    figure.legend(loc="outside upper right", ncols=2, fontsize=7.5)
    return to_png(figure)


@styled
def sobol_chart(
    output: str,
    keys: Sequence[str],
    first: Sequence[float],
    first_conf: Sequence[float],
    total: Sequence[float],
    total_conf: Sequence[float],
) -> bytes:
    """First-order (S1) and total (ST) Sobol indices with their CIs, sorted by ST."""
    order = sorted(range(len(keys)), key=lambda i: np.nan_to_num(total[i], nan=-1.0))
    figure = new_figure(5.2, 1.2 + 0.5 * len(keys))
    ax = figure.subplots()
    positions = np.arange(len(order))
    height = 0.38

    def column(values: Sequence[float]) -> np.ndarray:
        return np.array([values[i] for i in order], dtype=float)

    ax.barh(
        positions + height / 2,
        column(first),
        xerr=column(first_conf),
        height=height,
        color=BLUE,
        label="S1 (first order)",
        error_kw={"elinewidth": 0.9, "capsize": 2, "ecolor": INK},
    )
    ax.barh(
        positions - height / 2,
        column(total),
        xerr=column(total_conf),
        height=height,
        color=ORANGE,
        label="ST (total)",
        error_kw={"elinewidth": 0.9, "capsize": 2, "ecolor": INK},
    )
    ax.axvline(0, color=INK, linewidth=0.8)
    ax.set_yticks(positions, [key_label(keys[i], 36) for i in order], fontsize=7.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("share of the variance of the point means")
    ax.set_title(output)
    figure.legend(loc="outside upper right", ncols=2, fontsize=7.5)
    return to_png(figure)


@styled
def morris_chart(
    output: str,
    keys: Sequence[str],
    mu_star: Sequence[float],
    mu_star_conf: Sequence[float],
    sigma: Sequence[float],
) -> bytes:
    """Morris screening: mu* (with CI) against sigma, and mu* bars sorted."""
    figure = new_figure(10.0, max(3.0, 1.3 + 0.42 * len(keys)))
    scatter_ax, bar_ax = figure.subplots(1, 2)
    mu = np.asarray(mu_star, dtype=float)
    conf = np.asarray(mu_star_conf, dtype=float)
    spread = np.asarray(sigma, dtype=float)
    for index, key in enumerate(keys):
        colour = PALETTE[index % len(PALETTE)]
        scatter_ax.errorbar(
            mu[index],
            spread[index],
            xerr=conf[index],
            fmt="o",
            color=colour,
            ms=5,
            elinewidth=1,
            capsize=2,
            label=key,
        )
    top = float(np.nanmax(np.concatenate([mu + np.nan_to_num(conf), spread, [0.0]])))
    top = top * 1.08 or 1.0
    scatter_ax.plot([0, top], [0, top], color=GREY, linewidth=0.8, linestyle="--")
    scatter_ax.text(
        top * 0.97, top * 0.9, "\u03c3 = \u03bc*", ha="right", va="top", fontsize=7.5, color=GREY
    )
    scatter_ax.set_xlim(0, top)
    scatter_ax.set_ylim(0, top)
    scatter_ax.xaxis.set_major_formatter(SHORT)
    scatter_ax.yaxis.set_major_formatter(SHORT)
    scatter_ax.set_xlabel("\u03bc* (mean |elementary effect|), with 95% CI")
    scatter_ax.set_ylabel("\u03c3 (spread of the effects)")
    scatter_ax.set_title(f"{output}: \u03bc* against \u03c3 (colours as on the right)")
    order = sorted(range(len(keys)), key=lambda i: np.nan_to_num(mu[i], nan=-1.0))
    positions = np.arange(len(order))
    bar_ax.barh(
        positions,
        mu[order],
        xerr=conf[order],
        color=[PALETTE[i % len(PALETTE)] for i in order],
        height=0.62,
        error_kw={"elinewidth": 0.9, "capsize": 2, "ecolor": INK},
    )
    bar_ax.set_yticks(positions, [key_label(keys[i], 36) for i in order], fontsize=7.5)
    bar_ax.grid(axis="y", visible=False)
    bar_ax.xaxis.set_major_formatter(SHORT)
    bar_ax.set_xlabel("\u03bc* with 95% CI")
    bar_ax.set_title(f"{output}: \u03bc* ranked")
    return to_png(figure)


@dataclass(frozen=True)
class BoxView:
    """A discovered box over the design, and which points meet its condition."""

    title: str
    limits: dict[str, tuple[float, float]]
    parameters: dict[str, np.ndarray]
    meets: np.ndarray
    output: str
    output_values: np.ndarray
    threshold: float


@styled
def box_chart(view: BoxView) -> bytes:
    """A box over the design: points coloured by the condition, the box drawn, pair by pair."""
    keys = list(view.limits)
    colours = np.where(view.meets, ORANGE, "#c3c9d0")
    handles = [
        Line2D([], [], color=ORANGE, marker="o", linestyle="", ms=5, label="meets the condition"),
        Line2D([], [], color="#c3c9d0", marker="o", linestyle="", ms=5, label="does not"),
        Patch(facecolor="none", edgecolor=RED, linewidth=1.5, label="box"),
    ]
    if len(keys) == 1:
        key = keys[0]
        figure = new_figure(6.0, 3.2)
        ax = figure.subplots()
        low, high = view.limits[key]
        ax.axvspan(low, high, facecolor=RED, alpha=0.08, edgecolor=RED, linewidth=1.5)
        ax.scatter(view.parameters[key], view.output_values, c=colours, s=10, linewidths=0)
        ax.axhline(view.threshold, color=INK, linewidth=0.9, linestyle="--")
        ax.set_xlabel(key)
        ax.set_ylabel(view.output)
        ax.yaxis.set_major_formatter(SHORT)
        ax.set_title(view.title, fontsize=9)
        ax.legend(handles=handles, fontsize=7, loc="best")
        return to_png(figure)
    pairs = [(a, b) for i, a in enumerate(keys) for b in keys[i + 1 :]][:6]
    columns = min(3, len(pairs))
    rows = math.ceil(len(pairs) / columns)
    figure = new_figure(3.3 * columns + 0.4, 0.7 + 2.9 * rows)
    axes = _grid(figure, len(pairs), columns)
    order = np.argsort(view.meets, kind="stable")  # the points that meet it drawn on top
    for ax, (x_key, y_key) in zip(axes, pairs, strict=True):
        x, y = view.parameters[x_key], view.parameters[y_key]
        ax.scatter(x[order], y[order], c=colours[order], s=9, linewidths=0)
        (x_low, x_high), (y_low, y_high) = view.limits[x_key], view.limits[y_key]
        ax.add_patch(
            Rectangle(
                (x_low, y_low),
                x_high - x_low,
                y_high - y_low,
                fill=False,
                edgecolor=RED,
                linewidth=1.6,
            )
        )
        ax.set_xlabel(key_label(x_key, 30), fontsize=7.5)
        ax.set_ylabel(key_label(y_key, 30), fontsize=7.5)
    figure.legend(handles=handles, loc="outside upper right", ncols=3)
    figure.suptitle(view.title, x=0.01, ha="left", fontsize=9.5, fontweight="bold")
    return to_png(figure)
