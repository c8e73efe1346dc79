"""Times to an event, censored at the horizon: Kaplan-Meier curve, median and restricted mean.

**Which outcomes.** An *event day* is a nullable numeric outcome whose unit is ``day``: the day
(counted from day 0) an event happened, null when it had not happened by the horizon, the day
the replication stops. Such a null is not a missing value but a right-censored time: the event
may come later, or never. Replications all run to the same horizon, so every censored time is
the horizon itself. Only a run whose horizon is known gets these statistics: a model declares
it as its ``horizon`` attribute (:func:`sim.model.interface.horizon_of`).

Durations between two events (unit ``days``, e.g. "from the first event to the second") are not
event days and keep only their ordinary statistics over the runs where both events happened:
their null mixes "the first event never happened" (the clock never started: not at risk) with
"the second had not followed by the horizon" (censored at the horizon minus the first event's
day, a different time in each run). Their censored analysis is that of the second event's day,
which is censored at the horizon in every run.

**Statistics** (``summary.json``'s ``"survival"``): the Kaplan-Meier estimate of the share of
runs still waiting for the event (``scipy.stats.ecdf`` on ``CensoredData``); its median (the
first day the curve is at or below one half; None if it never gets there by the horizon); the
restricted mean time to the event up to the horizon (RMST: the exact area under the step curve
from 0 to the horizon); the horizon; the share of runs where the event happened. With every
censored time at the horizon, the RMST is exactly the mean over runs of ``min(day, horizon)``
with a censored run counted as the horizon (:func:`restricted_times`), which is what
``sim compare`` compares replication by replication.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from sim.model.interface import OutcomeSpec

#: The unit of an event day (a day number from day 0), as opposed to ``days`` (a duration).
EVENT_DAY_UNIT = "day"

#: The keys of ``summary.json``'s ``"survival"`` entry.
SURVIVAL_KEYS = ("median", "rmst", "horizon", "event_share")


def is_event_day(spec: OutcomeSpec) -> bool:
    """Whether ``spec`` is a time to an event censored at the horizon: a nullable numeric
    outcome in unit ``day``."""
    return spec.nullable and spec.kind != "category" and spec.unit == EVENT_DAY_UNIT


def valid_horizon(horizon: object) -> float | None:
    """``horizon`` as a float when it is a finite number > 0, else None."""
    if isinstance(horizon, bool) or not isinstance(horizon, int | float | np.number):
        return None
    value = float(horizon)
    return value if math.isfinite(value) and value > 0 else None


def restricted_times(days: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Each run's time restricted to the horizon and whether the event was seen by then.

    ``days`` holds the event day of each run, NaN when it did not happen. A run without the
    event, or with it after the horizon, counts as the horizon, censored.
    """
    days = np.asarray(days, dtype=np.float64)
    happened = ~np.isnan(days) & (days <= horizon)
    return np.where(happened, days, horizon), happened


@dataclass(frozen=True)
class SurvivalCurve:
    """The Kaplan-Meier step curve: ``waiting[i]`` is the share of runs still waiting just
    after ``day[i]`` (and 1 before ``day[0]``); the curve is flat from the last day on."""

    day: np.ndarray
    waiting: np.ndarray
    horizon: float

    def at(self, day: float) -> float:
        """The share still waiting just after ``day``."""
        index = int(np.searchsorted(self.day, day, side="right"))
        return 1.0 if index == 0 else float(self.waiting[index - 1])

    def median(self) -> float | None:
        """The first day the share still waiting is at or below one half, None if never by the
        horizon."""
        below = np.flatnonzero(self.waiting <= 0.5 + 1e-12)
        return float(self.day[below[0]]) if below.size else None

    def rmst(self) -> float:
        """The restricted mean time: the area under the step curve from 0 to the horizon."""
        edges = np.concatenate(([0.0], np.clip(self.day, 0.0, self.horizon), [self.horizon]))
        levels = np.concatenate(([1.0], self.waiting))
        return float(np.sum(levels * np.diff(edges)))

    def steps(self) -> tuple[np.ndarray, np.ndarray]:
        """Points of the curve from day 0 to the horizon, for a ``where="post"`` step plot."""
        inside = self.day <= self.horizon
        day = np.concatenate(([0.0], self.day[inside], [self.horizon]))
        waiting = np.concatenate(([1.0], self.waiting[inside]))
        return day, np.concatenate((waiting, waiting[-1:]))


def kaplan_meier(days: np.ndarray, horizon: float) -> SurvivalCurve | None:
    """The Kaplan-Meier curve of event days censored at ``horizon`` (None with no runs)."""
    times, happened = restricted_times(days, horizon)
    if times.size == 0:
        return None
    data = stats.CensoredData(uncensored=times[happened], right=times[~happened])
    sf = stats.ecdf(data).sf
    return SurvivalCurve(
        np.asarray(sf.quantiles, dtype=np.float64),
        np.asarray(sf.probabilities, dtype=np.float64),
        horizon,
    )


def survival_summary(days: np.ndarray, horizon: float) -> dict[str, Any]:
    """``summary.json``'s ``"survival"`` entry of an event day: ``median`` (Kaplan-Meier, None
    when under half the runs see the event), ``rmst``, ``horizon`` and ``event_share``."""
    curve = kaplan_meier(days, horizon)
    if curve is None:
        return {"median": None, "rmst": None, "horizon": horizon, "event_share": None}
    _, happened = restricted_times(days, horizon)
    return {
        "median": curve.median(),
        "rmst": curve.rmst(),
        "horizon": horizon,
        "event_share": float(happened.mean()),
    }


def survival_horizon(metric: object) -> float | None:
    """The horizon of a ``summary.json`` metric entry's ``"survival"``, if it has one."""
    if not isinstance(metric, dict):
        return None
    survival = metric.get("survival")
    return valid_horizon(survival.get("horizon")) if isinstance(survival, dict) else None
