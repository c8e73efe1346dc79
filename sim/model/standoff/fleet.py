"""The fleet: every Lithuanian-registered truck in Belarus as a row of numpy arrays.

Each truck has its own owner group, market value, worth to its owner and daily idle cost,
and a record of what happened to it (when it queued, was held, paid, left, was lost). Costs
are computed from those records: the carriers' cost up to any day, and daily series.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.model.standoff.schema import Fleet as FleetSpec

INF = math.inf

# Status codes of a truck.
AT_LARGE = 0  # in Belarus, not heading home
LEAVING = 1  # heading home before any hold order (travelling or queueing)
HELD = 2  # on a guarded lot
RETURNING = 3  # paid for; a driver is collecting it, or it is queueing to leave
ABANDONED = 4  # the owner gave it up
CONFISCATED = 5  # taken by Belarus at the end of the storage period

# How a truck got out.
EXIT_NONE = 0
EXIT_EVACUATED = 1
EXIT_RETRIEVED = 2
EXIT_RELEASED = 3


@dataclass
class Fleet:
    """Per-truck state. All arrays have one entry per truck; times are days, inf = never."""

    group: np.ndarray
    value_eur: np.ndarray
    worth_eur: np.ndarray
    idle_eur_per_day: np.ndarray
    status: np.ndarray
    exit_kind: np.ndarray
    queue_arrival: np.ndarray
    held_from: np.ndarray
    left_lot: np.ndarray
    paid_at: np.ndarray
    fee_paid_eur: np.ndarray
    retrieval_cost_eur: np.ndarray
    lost_at: np.ndarray
    idle_from: np.ndarray
    idle_to: np.ndarray

    @classmethod
    def draw(cls, spec: FleetSpec, size: int, rng: np.random.Generator) -> Fleet:
        """Draw ``size`` trucks: a group for each by the groups' shares, then the group's
        per-truck parameters."""
        groups = list(spec.groups.values())
        shares = np.array([g.share for g in groups])
        group = np.minimum(
            np.searchsorted(np.cumsum(shares), rng.random(size), side="right"), len(groups) - 1
        ).astype(np.int64)
        value = np.empty(size)
        worth = np.empty(size)
        idle = np.empty(size)
        for index, g in enumerate(groups):
            mine = np.flatnonzero(group == index)
            count = mine.size
            v = np.asarray(g.value_eur.sample(rng, count), dtype=float)
            value[mine] = v
            worth[mine] = v * np.asarray(g.owner_value_factor.sample(rng, count), dtype=float)
            idle[mine] = np.asarray(g.idle_cost_eur_per_day.sample(rng, count), dtype=float)

        def never() -> np.ndarray:
            return np.full(size, INF)

        return cls(
            group=group,
            value_eur=value,
            worth_eur=worth,
            idle_eur_per_day=idle,
            status=np.zeros(size, dtype=np.int8),
            exit_kind=np.zeros(size, dtype=np.int8),
            queue_arrival=never(),
            held_from=never(),
            left_lot=never(),
            paid_at=never(),
            fee_paid_eur=np.zeros(size),
            retrieval_cost_eur=np.zeros(size),
            lost_at=never(),
            idle_from=never(),
            idle_to=never(),
        )

    @property
    def size(self) -> int:
        return int(self.group.size)

    # -- costs ---------------------------------------------------------------------------------
    def idle_cost_until(self, day: float) -> float:
        """Idle cost accrued by ``day``: each truck's daily cost over [idle_from, idle_to)."""
        end = np.minimum(self.idle_to, day)
        days_idle = np.clip(end - self.idle_from, 0.0, None)
        return float(self.idle_eur_per_day @ days_idle)

    def carrier_cost_until(self, day: float) -> float:
        """Carriers' gross cost by ``day``: fees and retrieval costs, idle cost, assets lost."""
        paid = self.paid_at <= day
        lost = self.lost_at <= day
        return (
            float(self.fee_paid_eur[paid].sum() + self.retrieval_cost_eur[paid].sum())
            + self.idle_cost_until(day)
            + float(self.value_eur[lost].sum())
        )

    def cumulative_cost_series(self, days: np.ndarray) -> np.ndarray:
        """Carriers' gross cost at each of ``days`` (sorted), for all trucks at once.

        Idle cost of a truck idle over [s, e) at day d is r * ((d - s)^+ - (d - e)^+); sums of
        such ramps over trucks come from cumulative sums over the sorted start and end times.
        """
        idle = _ramp_sum(self.idle_from, self.idle_eur_per_day, days) - _ramp_sum(
            self.idle_to, self.idle_eur_per_day, days
        )
        paid = _step_sum(self.paid_at, self.fee_paid_eur + self.retrieval_cost_eur, days)
        lost = _step_sum(self.lost_at, self.value_eur, days)
        return idle + paid + lost


def _ramp_sum(times: np.ndarray, rates: np.ndarray, days: np.ndarray) -> np.ndarray:
    """sum_i rates_i * (d - times_i)^+ for each d in ``days``; infinite times never start."""
    finite = np.isfinite(times)
    t = times[finite]
    r = rates[finite]
    order = np.argsort(t)
    t = t[order]
    r = r[order]
    rate_sum = np.concatenate(([0.0], np.cumsum(r)))
    weighted = np.concatenate(([0.0], np.cumsum(r * t)))
    k = np.searchsorted(t, days, side="right")
    return days * rate_sum[k] - weighted[k]


def _step_sum(times: np.ndarray, amounts: np.ndarray, days: np.ndarray) -> np.ndarray:
    """sum_i amounts_i [times_i <= d] for each d in ``days``."""
    finite = np.isfinite(times)
    t = times[finite]
    order = np.argsort(t)
    total = np.concatenate(([0.0], np.cumsum(amounts[finite][order])))
    return total[np.searchsorted(t[order], days, side="right")]
