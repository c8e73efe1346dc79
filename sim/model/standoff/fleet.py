"""The fleet: every Lithuanian-registered truck the run has to follow, as rows of numpy arrays.

Each truck has its own owner group, market value, worth to its owner, daily idle cost, the
owner's belief about a release and replacement terms, and a record of what happened to it
(when it entered, queued, was held, asked to be retrieved, paid, left, was lost, was replaced).
Rows are drawn for trucks in Belarus when the model needs them (``draw``) and joined to the
arrays (``append``); costs are computed from the records: the carriers' cost up to any day, and
daily series.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.model.standoff.schema import Scenario
from sim.model.standoff.sums import grid_last_day, ramp_sum, step_sum

INF = math.inf

# Status codes of a truck.
AT_LARGE = 0  # in Belarus on a trip, not heading home
LEAVING = 1  # heading home before any hold order (travelling or queueing)
HELD = 2  # on a guarded lot (its owner may have asked Belarus to process it)
RETURNING = 3  # paid for; a driver is collecting it, or it is queueing to leave
ABANDONED = 4  # the owner gave it up (wrote it off, or would not pay the release fee)
CONFISCATED = 5  # taken by Belarus
GONE = 6  # left Belarus at the end of an ordinary trip (part of the background traffic)

# How a truck got out.
EXIT_NONE = 0
EXIT_EVACUATED = 1
EXIT_RETRIEVED = 2
EXIT_RELEASED = 3


class CarrierCosts(NamedTuple):
    """The carriers' costs by a day, in EUR, by kind."""

    fees: float
    retrieval: float
    idle: float
    replacement: float
    assets: float


@dataclass
class Fleet:
    """Per-truck state. All arrays have one entry per truck; times are days, inf = never."""

    # Drawn when the truck enters.
    group: np.ndarray
    value_eur: np.ndarray
    worth_eur: np.ndarray
    idle_eur_per_day: np.ndarray
    retrieval_cost_draw_eur: np.ndarray
    driver_travel_days: np.ndarray
    expected_release_days: np.ndarray
    replacement_cost_eur: np.ndarray
    replacement_eur_per_day: np.ndarray
    # What happened to it.
    status: np.ndarray
    exit_kind: np.ndarray
    entered_at: np.ndarray
    departs_at: np.ndarray
    queue_arrival: np.ndarray
    held_from: np.ndarray
    requested_at: np.ndarray
    left_lot: np.ndarray
    paid_at: np.ndarray
    fee_fixed_at: np.ndarray
    fee_paid_eur: np.ndarray
    retrieval_cost_eur: np.ndarray
    lost_at: np.ndarray
    idle_from: np.ndarray
    idle_to: np.ndarray
    replaced_at: np.ndarray

    @classmethod
    def empty(cls) -> Fleet:
        kinds = {"group": np.int64, "status": np.int8, "exit_kind": np.int8}
        return cls(**{name: np.empty(0, dtype=kinds.get(name, float)) for name in COLUMNS})

    @staticmethod
    def draw(
        scenario: Scenario,
        size: int,
        now: float,
        rng: np.random.Generator,
        departs_at: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """The rows of ``size`` trucks in Belarus at ``now`` (``append`` adds them): a group for
        each by the groups' shares, then each truck's own parameters, drawn from ``rng``."""
        groups = list(scenario.fleet.groups.values())
        cumulative = np.cumsum(np.array([g.share for g in groups]))
        group = _pick_groups(rng.random(size), cumulative)
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

        def draw(dist: object) -> np.ndarray:
            return np.asarray(dist.sample(rng, size), dtype=float)  # type: ignore[attr-defined]

        owners = scenario.owners
        return {
            "group": group,
            "value_eur": value,
            "worth_eur": worth,
            "idle_eur_per_day": idle,
            "retrieval_cost_draw_eur": draw(scenario.retrieval.cost_eur),
            "driver_travel_days": draw(scenario.retrieval.driver_travel_days),
            "expected_release_days": draw(owners.expected_release_days),
            "replacement_cost_eur": draw(owners.replacement_cost_eur),
            "replacement_eur_per_day": draw(owners.replacement_eur_per_day),
            "status": np.full(size, AT_LARGE, dtype=np.int8),
            "exit_kind": np.full(size, EXIT_NONE, dtype=np.int8),
            "entered_at": np.full(size, now),
            "departs_at": np.asarray(departs_at, dtype=float),
            "fee_paid_eur": np.zeros(size),
            "retrieval_cost_eur": np.zeros(size),
        }

    def append(self, *batches: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Add the trucks of ``batches`` (from ``draw``; the times they do not give are "not
        yet", inf), every column joined once; returns each batch's indices."""
        if not batches:
            return []
        first = self.size
        sizes = [batch["group"].size for batch in batches]
        added = sum(sizes)
        never = np.full(added, INF)
        for name in COLUMNS:
            parts = [batch[name] for batch in batches if name in batch]
            column = np.concatenate(parts) if len(parts) > 1 else parts[0] if parts else never
            if column is never:
                never = np.full(added, INF)  # each not-yet column is its own array
            if first:
                column = np.concatenate((getattr(self, name), column))
            setattr(self, name, column)
        bounds = np.cumsum([first, *sizes])
        return [np.arange(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]

    def lose(self, ids: np.ndarray, now: float, status: int) -> int:
        """The trucks ``ids`` are lost to their owners at ``now`` (written off or taken): they
        get ``status`` and leave the lots, their idle time ends. Returns how many of them were
        on the lots (held) until then."""
        return int(
            _lose_rows(
                np.asarray(ids, dtype=np.int64),
                float(now),
                status,
                self.status,
                self.lost_at,
                self.left_lot,
                self.idle_to,
            )
        )

    @property
    def size(self) -> int:
        return int(self.group.size)

    # -- costs ---------------------------------------------------------------------------------
    def _segments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(idle_end, lease_start, lease_end, lease rate): a truck is idle over [idle_from,
        idle_end) and, once replaced, pays for the substitute over [lease_start, lease_end)."""
        idle_end = np.minimum(self.idle_to, self.replaced_at)
        lease_start = self.replaced_at
        lease_end = np.where(np.isfinite(lease_start), self.idle_to, INF)
        return idle_end, lease_start, lease_end, self.replacement_eur_per_day

    def costs_until(self, day: float) -> CarrierCosts:
        """The carriers' costs by ``day``, worked out from one pass of segments: fees and
        retrieval costs paid; idle cost (each truck's daily cost while idle and not replaced);
        replacement (the one-off cost and the substitute's daily cost since); assets lost.

        One compiled pass (``_cost_parts``) picks the amounts counted by ``day`` and each
        truck's days idle (not replaced) and with a substitute; numpy then sums the amounts and
        takes the dot products, so the totals are numpy's to the last bit."""
        size = self.size
        picked = np.empty((4, size))  # fees, retrieval costs, replacement costs, values lost
        days = np.empty((2, size))  # idle, with a substitute
        paid, replaced, lost = _cost_parts(
            float(day),
            self.idle_from,
            self.idle_to,
            self.replaced_at,
            self.paid_at,
            self.lost_at,
            self.fee_paid_eur,
            self.retrieval_cost_eur,
            self.replacement_cost_eur,
            self.value_eur,
            picked,
            days,
        )
        return CarrierCosts(
            fees=float(picked[0, :paid].sum()),
            retrieval=float(picked[1, :paid].sum()),
            idle=float(self.idle_eur_per_day @ days[0]),
            replacement=float(picked[2, :replaced].sum())
            + float(self.replacement_eur_per_day @ days[1]),
            assets=float(picked[3, :lost].sum()),
        )

    def carrier_cost_until(self, day: float) -> float:
        """Carriers' gross cost by ``day`` (a daily condition on the carriers' losses calls
        this every day)."""
        costs = self.costs_until(day)
        return costs.fees + costs.retrieval + costs.idle + costs.replacement + costs.assets

    def cumulative_cost_series(
        self, days: np.ndarray, fees: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """Carriers' gross cost at each of ``days`` (sorted), fees counted as they accrue.

        Idle cost of a truck idle over [s, e) at day d is r * ((d - s)^+ - (d - e)^+); sums of
        such ramps over trucks are ``sums.ramp_sum``.
        ``fees(days)`` is the storage and exit fee accrued by each day (see
        ``Detention.fees_series``); retrieval costs count when paid.

        On the daily grid 0, 1, ..., D one compiled pass (``_cost_series_on_grid``) bins every
        part at once, each in the order and arithmetic of ``ramp_sum`` and ``step_sum``, so the
        series is the same to the last bit as ``cumulative_cost_series_numpy``.
        """
        last = grid_last_day(days)
        if last is None:
            return self.cumulative_cost_series_numpy(days, fees)
        costs = _cost_series_on_grid(
            self.idle_from,
            self.idle_to,
            self.replaced_at,
            self.idle_eur_per_day,
            self.replacement_eur_per_day,
            self.replacement_cost_eur,
            self.paid_at,
            self.retrieval_cost_eur,
            self.lost_at,
            self.value_eur,
            last,
        )
        return costs + fees(days)

    def cumulative_cost_series_numpy(
        self, days: np.ndarray, fees: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """``cumulative_cost_series`` from one ``ramp_sum`` or ``step_sum`` a part."""
        idle_end, lease_start, lease_end, lease_rate = self._segments()
        idle = ramp_sum(self.idle_from, self.idle_eur_per_day, days) - ramp_sum(
            idle_end, self.idle_eur_per_day, days
        )
        lease = ramp_sum(lease_start, lease_rate, days) - ramp_sum(lease_end, lease_rate, days)
        replaced = step_sum(self.replaced_at, self.replacement_cost_eur, days)
        paid = step_sum(self.paid_at, self.retrieval_cost_eur, days)
        lost = step_sum(self.lost_at, self.value_eur, days)
        return idle + lease + replaced + paid + lost + fees(days)


#: The fleet's columns, in order (every one an array with an entry per truck).
COLUMNS = tuple(f.name for f in fields(Fleet))


@njit(cache=True, error_model="numpy")
def _cost_parts(  # pragma: no cover - compiled; run as Python under NUMBA_DISABLE_JIT=1
    day: float,
    idle_from: np.ndarray,
    idle_to: np.ndarray,
    replaced_at: np.ndarray,
    paid_at: np.ndarray,
    lost_at: np.ndarray,
    fee_paid: np.ndarray,
    retrieval: np.ndarray,
    replacement_cost: np.ndarray,
    value: np.ndarray,
    picked: np.ndarray,
    days: np.ndarray,
) -> tuple[int, int, int]:
    """One pass over the trucks for ``Fleet.costs_until``. Into the rows of ``picked``, in the
    trucks' order: the fees and retrieval costs paid by ``day``, the replacement costs paid by
    then, the values lost by then; returns how many of each (paid, replaced, lost). Into the
    rows of ``days``: each truck's days idle (not replaced) and with a substitute by ``day``."""
    paid_count = swap_count = lost_count = 0
    for i in range(idle_from.size):
        replaced = replaced_at[i]
        if paid_at[i] <= day:
            picked[0, paid_count] = fee_paid[i]
            picked[1, paid_count] = retrieval[i]
            paid_count += 1
        if replaced <= day:
            picked[2, swap_count] = replacement_cost[i]
            swap_count += 1
        if lost_at[i] <= day:
            picked[3, lost_count] = value[i]
            lost_count += 1
        start = idle_from[i]
        if math.isfinite(start):
            end = np.minimum(idle_to[i], replaced)
            days[0, i] = np.maximum(np.minimum(end, day) - start, 0.0)
        else:
            days[0, i] = 0.0
        if math.isfinite(replaced):
            days[1, i] = np.maximum(np.minimum(idle_to[i], day) - replaced, 0.0)
        else:
            days[1, i] = 0.0
    return paid_count, swap_count, lost_count


@njit(cache=True)
def _cost_series_on_grid(  # pragma: no cover - compiled; run as Python under NUMBA_DISABLE_JIT=1
    idle_from: np.ndarray,
    idle_to: np.ndarray,
    replaced_at: np.ndarray,
    idle_rate: np.ndarray,
    lease_rate: np.ndarray,
    replacement_cost: np.ndarray,
    paid_at: np.ndarray,
    retrieval: np.ndarray,
    lost_at: np.ndarray,
    value: np.ndarray,
    last: int,
) -> np.ndarray:
    """The carriers' costs but fees on days 0..last: idle and lease ramps (starts minus ends)
    plus replacement, retrieval and assets lost as steps. Each part is binned as
    ``sums._ramps_on_grid`` or ``sums._steps_on_grid`` bins it (a time counts from the first
    day on or after it; infinite and NaN times never), and the parts are added in the order
    of ``Fleet.cumulative_cost_series_numpy``."""
    days = last + 1
    # Ramps: 0 idle from, 1 idle end, 2 lease start, 3 lease end; each a (rate, rate * time)
    # sum by day. Steps: 0 replacement, 1 retrieval, 2 value lost.
    started = np.zeros((4, days))
    weighted = np.zeros((4, days))
    counted = np.zeros((3, days))
    for i in range(idle_from.size):
        replaced = replaced_at[i]
        lease_end = idle_to[i] if math.isfinite(replaced) else math.inf
        ramps = (
            (idle_from[i], idle_rate[i]),
            (np.minimum(idle_to[i], replaced), idle_rate[i]),
            (replaced, lease_rate[i]),
            (lease_end, lease_rate[i]),
        )
        for part in range(4):
            t, rate = ramps[part]
            if -math.inf < t <= last:
                day = max(0, math.ceil(t))
                started[part, day] += rate
                weighted[part, day] += rate * t
        steps = (
            (replaced, replacement_cost[i]),
            (paid_at[i], retrieval[i]),
            (lost_at[i], value[i]),
        )
        for part in range(3):
            t, amount = steps[part]
            if -math.inf < t <= last:
                counted[part, max(0, math.ceil(t))] += amount
    ramp = np.empty((4, days))
    for part in range(4):
        rate = 0.0
        base = 0.0
        for day in range(days):
            rate += started[part, day]
            base += weighted[part, day]
            ramp[part, day] = day * rate - base
    out = np.empty(days)
    step = np.zeros(3)
    for day in range(days):
        for part in range(3):
            step[part] += counted[part, day]
        idle = ramp[0, day] - ramp[1, day]
        lease = ramp[2, day] - ramp[3, day]
        out[day] = idle + lease + step[0] + step[1] + step[2]
    return out


@njit(cache=True)
def _pick_groups(  # pragma: no cover - compiled; run as Python under NUMBA_DISABLE_JIT=1
    uniform: np.ndarray, cumulative: np.ndarray
) -> np.ndarray:
    """Each truck's group for its uniform: how many cumulative shares are at or below it (the
    last group if rounding leaves the total share below 1), as
    ``np.searchsorted(cumulative, uniform, side="right")``."""
    last = cumulative.size - 1
    group = np.empty(uniform.size, dtype=np.int64)
    for i in range(uniform.size):
        count = 0
        for share in cumulative:
            count += share <= uniform[i]
        group[i] = min(count, last)
    return group


@njit(cache=True)
def _lose_rows(  # pragma: no cover - compiled; run as Python under NUMBA_DISABLE_JIT=1
    ids: np.ndarray,
    now: float,
    code: int,
    status: np.ndarray,
    lost_at: np.ndarray,
    left_lot: np.ndarray,
    idle_to: np.ndarray,
) -> int:
    """``Fleet.lose`` in one loop (a review writes trucks off almost every time)."""
    held = 0
    for i in ids:
        held += status[i] == HELD
    for i in ids:
        status[i] = code
        lost_at[i] = now
        left_lot[i] = now
        idle_to[i] = now
    return held
