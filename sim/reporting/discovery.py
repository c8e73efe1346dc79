"""The "Discovered boxes" section of a sweep's page: the boxes ``sim discover`` left in
discovery.json, as a table and a chart of each box over the design points.

A design point is drawn as a case when its share of runs meeting the box's condition
(:func:`sim.analysis.thresholds.point_shares`, the function ``sim discover`` uses) reaches the
box's ``threshold_share``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from markupsafe import Markup

from sim.analysis.thresholds import Direction, direction_of, point_shares
from sim.fmt import number as format_number
from sim.fmt import share as format_share
from sim.reporting import plots
from sim.reporting.data import Parameter, SweepFolder, float_or_none, mapping
from sim.reporting.page import Page, code, join, render, table

#: Boxes of discovery.json drawn (all are listed in the table).
MAX_BOXES = 8

_SIGN = {"above": ">", "below": "<", None: "?"}


def restricted_keys(box: Mapping[str, Any], by_key: Mapping[str, Parameter]) -> list[str]:
    """The keys a box restricts: its ``restricted`` list, else the limits narrower than the
    parameter's range in the design."""
    limits = mapping(box.get("limits"))
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


def _direction(box: Mapping[str, Any]) -> Direction | None:
    try:
        return direction_of(box.get("direction"))
    except ValueError:
        return None


def _limits(
    box: Mapping[str, Any], by_key: Mapping[str, Parameter]
) -> tuple[list[Markup], dict[str, tuple[float, float]]]:
    """The restrictions of a box as text, and the numeric ranges to draw (by key)."""
    limits = mapping(box.get("limits"))
    quasi_p = mapping(box.get("quasi_p"))
    texts: list[Markup] = []
    drawn: dict[str, tuple[float, float]] = {}
    for key in restricted_keys(box, by_key):
        bounds = limits.get(key)
        parameter = by_key.get(key)
        p_text = Markup("")
        if isinstance(quasi_p.get(key), int | float):
            p_text = Markup(' <span class="note">(quasi-p {})</span>').format(f"{quasi_p[key]:.2g}")
        if parameter is not None and parameter.labels:
            kept = ", ".join(str(v) for v in bounds) if isinstance(bounds, list) else "?"
            texts.append(Markup("{} in {{{}}}{}").format(code(key), kept, p_text))
            continue
        pair = (list(bounds) + [None, None])[:2] if isinstance(bounds, list) else [None] * 2
        low, high = float_or_none(pair[0]), float_or_none(pair[1])
        low_value = low if low is not None else (parameter.low if parameter else math.nan)
        high_value = high if high is not None else (parameter.high if parameter else math.nan)
        texts.append(
            Markup("{} in [{}, {}]{}").format(
                code(key), format_number(low_value), format_number(high_value), p_text
            )
        )
        if parameter is not None:
            drawn[key] = (low_value, high_value)
    return texts, drawn


def _row(number: int, box: Mapping[str, Any], limit_texts: list[Markup]) -> list[Any]:
    outcome = str(box.get("outcome", "?"))
    threshold = float_or_none(box.get("threshold"))
    condition = Markup("{} {} {}").format(
        code(outcome), _SIGN[_direction(box)], format_number(threshold, name=outcome)
    )
    cases = ""
    if isinstance(box.get("cases_in_box"), int) and isinstance(box.get("n_in_box"), int):
        cases = f"{box['cases_in_box']:,} of {box['n_in_box']:,}"
    return [
        str(number),
        condition,
        format_share(float_or_none(box.get("coverage"))),
        format_share(float_or_none(box.get("density"))),
        format_share(float_or_none(box.get("mass"))),
        cases,
        join(limit_texts, Markup("<br>")) or "no restriction",
    ]


def _chart(
    page: Page,
    sweep: SweepFolder,
    number: int,
    box: Mapping[str, Any],
    drawn: dict[str, tuple[float, float]],
    by_key: Mapping[str, Parameter],
) -> Markup | None:
    """A box over the design points (None when it cannot be drawn)."""
    outcome = str(box.get("outcome", "?"))
    threshold = float_or_none(box.get("threshold"))
    direction = _direction(box)
    if number > MAX_BOXES or not drawn or direction is None or threshold is None:
        return None
    null_as = float_or_none(box.get("null_as"))
    if null_as is None:
        null_as = sweep.null_as.get(outcome)
    by_id = point_shares(
        sweep.path / "runs.parquet",
        outcome,
        direction,
        threshold,
        null_as,
        sweep.design.num_rows,
    )
    share = by_id[sweep.point_ids]
    needed = float_or_none(box.get("threshold_share"))
    meets = np.nan_to_num(share, nan=-1.0) >= (0.5 if needed is None else needed) - 1e-12
    values = sweep.means.get(outcome)
    view = plots.BoxView(
        f"Box {number}: {outcome} {_SIGN[direction]} {format_number(threshold, name=outcome)}",
        dict(list(drawn.items())[:4]),
        {key: by_key[key].values for key in drawn},
        meets,
        outcome,
        values if values is not None else np.full(meets.size, np.nan),
        threshold,
    )
    return page.figure(f"box-{number}.png", plots.box_chart(view), f"Box {number}")


def discovery_section(page: Page, sweep: SweepFolder) -> Markup:
    """The boxes of discovery.json: a table, and a chart of each box over the design points."""
    if not sweep.boxes:
        return Markup('<p class="note">discovery.json lists no box.</p>')
    by_key = {p.key: p for p in sweep.parameters}
    rows, figures = [], []
    for number, box in enumerate(sweep.boxes, start=1):
        texts, drawn = _limits(box, by_key)
        rows.append(_row(number, box, texts))
        figure = _chart(page, sweep, number, box, drawn, by_key)
        if figure is not None:
            figures.append(figure)
    return render(
        "sweep/discovery.html.j2",
        table=table(
            ["box", "condition", "coverage", "density", "mass", "cases in box", "restrictions"],
            rows,
            numeric=(0, 2, 3, 4, 5),
            table_id="discovery-table",
        ),
        figures=join(figures),
    )
