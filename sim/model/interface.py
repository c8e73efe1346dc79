"""The small interface between the runner and a model.

The runner knows a model only through this: it asks the model for the outcome columns it
produces, and calls ``run_replication`` once per replication with that replication's streams.
Everything a replication returns is determined by the scenario and the seed.

Everything above the model (adaptive runs, reports, comparisons) knows a model's outcomes only
through its :class:`OutcomeSpec` list and its :class:`Presentation`: which outcomes are main,
how totals split into parts, series labels, category titles and colours. The presentation
travels with the results (JSON in the metadata of ``runs.parquet``), so a report needs nothing
but the folder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from sim.seeding import Streams

OutcomeKind = Literal["int", "float", "category"]


@dataclass(frozen=True)
class OutcomeSpec:
    """One outcome column: its name, kind and meaning (``unit`` for humans and reports)."""

    name: str
    kind: OutcomeKind
    description: str
    unit: str = ""
    nullable: bool = False
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeriesSpec:
    """A daily (or per-step) series: its name, a title for charts and its unit."""

    name: str
    label: str = ""
    unit: str = ""

    @property
    def title(self) -> str:
        """The chart title: ``label``, or the name when there is none."""
        return self.label or self.name


@dataclass(frozen=True)
class Breakdown:
    """A total split into parts (a stacked bar in reports).

    ``total`` is the outcome that sums the parts (a part "Other" shows any rest), ``parts`` are
    (outcome, label) pairs.
    """

    title: str
    total: str
    parts: tuple[tuple[str, str], ...]


#: At most this many main outcomes are derived for a model that names none.
MAX_DERIVED_MAIN = 24


@dataclass(frozen=True)
class Presentation:
    """How a model's results are shown and judged, declared by the model itself.

    - ``title``: what the model is, for report headers;
    - ``main_outcomes``: the numeric outcomes a report draws first and ``--precision`` judges
      (empty: every numeric outcome, up to :data:`MAX_DERIVED_MAIN`);
    - ``precision_outcomes``: what ``--precision`` judges by default, if not the main outcomes;
    - ``breakdowns``: totals split into parts (outcome names with labels);
    - ``series``: labels and units of the series (a series not listed shows its name);
    - ``category_titles``: chart titles of category outcomes, by outcome name;
    - ``colours``: a colour (``#rrggbb``) by category value or outcome name, the same in every
      chart;
    - ``section_titles``: headings of report sections, by section (``"categories"``: the
      category outcomes, ``"breakdowns"``: the totals split into parts);
    - ``time_label``: what the index of a series counts, for chart axes ("step" by default).
    """

    title: str = ""
    main_outcomes: tuple[str, ...] = ()
    precision_outcomes: tuple[str, ...] = ()
    breakdowns: tuple[Breakdown, ...] = ()
    series: tuple[SeriesSpec, ...] = ()
    category_titles: Mapping[str, str] = field(default_factory=dict)
    colours: Mapping[str, str] = field(default_factory=dict)
    section_titles: Mapping[str, str] = field(default_factory=dict)
    time_label: str = "step"

    def main(self, specs: Sequence[OutcomeSpec]) -> list[str]:
        """The main numeric outcomes among ``specs``, in the declared order (or the specs')."""
        numeric = [spec.name for spec in specs if spec.kind != "category"]
        if self.main_outcomes:
            return [name for name in self.main_outcomes if name in numeric]
        return numeric[:MAX_DERIVED_MAIN]

    def precision(self, specs: Sequence[OutcomeSpec]) -> list[str]:
        """The numeric outcomes ``--precision`` judges by default."""
        if self.precision_outcomes:
            numeric = {spec.name for spec in specs if spec.kind != "category"}
            return [name for name in self.precision_outcomes if name in numeric]
        return self.main(specs)

    def series_spec(self, name: str) -> SeriesSpec:
        """The declared spec of series ``name``, or one with just the name."""
        for spec in self.series:
            if spec.name == name:
                return spec
        return SeriesSpec(name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (what :meth:`from_dict` reads back)."""
        return {
            "title": self.title,
            "main_outcomes": list(self.main_outcomes),
            "precision_outcomes": list(self.precision_outcomes),
            "breakdowns": [
                {"title": b.title, "total": b.total, "parts": [list(part) for part in b.parts]}
                for b in self.breakdowns
            ],
            "series": [{"name": s.name, "label": s.label, "unit": s.unit} for s in self.series],
            "category_titles": dict(self.category_titles),
            "colours": dict(self.colours),
            "section_titles": dict(self.section_titles),
            "time_label": self.time_label,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Presentation:
        """The presentation in ``data`` (unknown keys ignored, missing ones default)."""
        return cls(
            title=str(data.get("title", "")),
            main_outcomes=tuple(data.get("main_outcomes", ())),
            precision_outcomes=tuple(data.get("precision_outcomes", ())),
            breakdowns=tuple(
                Breakdown(
                    str(b["title"]),
                    str(b.get("total", "")),
                    tuple((str(name), str(label)) for name, label in b["parts"]),
                )
                for b in data.get("breakdowns", ())
            ),
            series=tuple(
                SeriesSpec(str(s["name"]), str(s.get("label", "")), str(s.get("unit", "")))
                for s in data.get("series", ())
            ),
            category_titles=dict(data.get("category_titles", {})),
            colours=dict(data.get("colours", {})),
            section_titles=dict(data.get("section_titles", {})),
            time_label=str(data.get("time_label", "step")),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Presentation:
        return cls.from_dict(json.loads(text))


def presentation_of(model: object) -> Presentation:
    """A model's :class:`Presentation`: its ``presentation()`` if it has one, else the default."""
    method = getattr(model, "presentation", None)
    return method() if callable(method) else Presentation()


def horizon_of(model: object) -> float | None:
    """The day a model's replications stop, if the model declares it (a ``horizon`` attribute,
    a finite number > 0), else None.

    With a horizon, a nullable outcome in unit ``day`` (the day of an event, null when it had
    not happened) is a time censored at the horizon, summarised by Kaplan-Meier
    (:mod:`sim.results.survival`); without one it gets only its ordinary statistics.
    """
    horizon = getattr(model, "horizon", None)
    if isinstance(horizon, bool) or not isinstance(horizon, int | float | np.number):
        return None
    value = float(horizon)
    return value if np.isfinite(value) and value > 0 else None


@dataclass
class ReplicationResult:
    """What one replication produced.

    ``outcomes`` maps each declared outcome name to a value (``None`` for a null, allowed only
    where the spec is nullable). ``series`` maps a daily series name to an array indexed by day
    0..horizon (inclusive): the same length in every replication of a scenario.
    """

    outcomes: dict[str, float | int | str | None]
    series: dict[str, np.ndarray] = field(default_factory=dict)


class Model(Protocol):
    """A replicable model. Instances must be picklable (they travel to worker processes).

    Optional: ``presentation()`` (see :func:`presentation_of`) and ``horizon``, the day its
    replications stop (see :func:`horizon_of`).
    """

    name: str

    def outcome_specs(self) -> list[OutcomeSpec]:
        """The outcome columns, in the order they appear in runs.parquet."""
        ...

    def series_names(self) -> list[str]:
        """The daily series each replication returns (possibly none)."""
        ...

    def run_replication(self, streams: Streams) -> ReplicationResult:
        """Run one replication drawing only from ``streams``."""
        ...

    # Optional: ``presentation(self) -> Presentation`` (see :func:`presentation_of`).
