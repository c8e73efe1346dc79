"""The border: incidents, Lithuania's closure rule, and the checkpoints together (capacity
under closures, policy windows and actions; which checkpoint a truck heads for; the traffic
read-outs at the reopening). Each checkpoint is a ``CheckpointQueue`` (checkpoint.py), a
multi-lane FIFO queue shared with background traffic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from sim.model.standoff.checkpoint import CheckpointQueue, counts_at
from sim.model.standoff.schema import Checkpoint as CheckpointSpec
from sim.model.standoff.schema import Closure as ClosureSpec
from sim.model.standoff.schema import Incidents as IncidentsSpec
from sim.model.standoff.sums import count_between
from sim.scenario.distributions import Dist

INF = math.inf
REOPENING_WINDOW_DAYS = 30.0  # the reopening read-outs look this long after the first reopening


@dataclass
class ExitDraws:
    """Random draws made per truck ahead of its passage, indexed by truck: a uniform that
    picks its checkpoint, and its service time at each checkpoint (one array per checkpoint)."""

    pick: np.ndarray
    service: list[np.ndarray]


@dataclass
class Border:
    """The checkpoints together, whether the border is closed, and policy windows and actions.

    ``background`` holds each checkpoint's background demand (vehicles/day, this replication's
    value) and ``overrides`` the capacity fractions policies set with
    :meth:`set_checkpoint_fraction` (None: the scenario's schedule applies).
    """

    checkpoints: list[CheckpointQueue]
    specs: list[CheckpointSpec]
    closed: bool = False
    before_advance: list[Callable[[float], None]] = field(default_factory=list)
    closures: list[tuple[float, float]] = field(default_factory=list)  # (start, end) of each
    closed_since: float | None = None
    # Capacity (lanes' worth) of every checkpoint since each change: (day, capacity per
    # checkpoint).
    lane_days: list[float] = field(default_factory=list)
    lane_counts: list[tuple[float, ...]] = field(default_factory=list)
    background: list[float] = field(default_factory=list)
    overrides: list[float | None] = field(default_factory=list)
    _table: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_specs(
        cls,
        specs: dict[str, CheckpointSpec],
        value_of: Callable[[Dist], float] | None = None,
    ) -> Border:
        """The border of a scenario's checkpoints, open at day 0.

        ``value_of`` gives this replication's value of a replication-level parameter (the
        background demand); without it, the parameter's mean is used.
        """
        values = value_of if value_of is not None else (lambda dist: float(dist.mean()))
        background = [max(0.0, float(values(s.background_trucks_per_day))) for s in specs.values()]
        queues = [
            CheckpointQueue(
                name,
                s.lanes,
                s.service_days,
                background_per_day=rate
                if s.lanes > 0
                else rate * s.background_queue_share_when_closed,
            )
            for (name, s), rate in zip(specs.items(), background, strict=True)
        ]
        border = cls(
            checkpoints=queues,
            specs=list(specs.values()),
            background=background,
            overrides=[None] * len(queues),
        )
        border.lane_days.append(0.0)
        border.lane_counts.append(tuple(q.capacity_lanes for q in queues))
        return border

    def capacity_for(self, index: int, now: float) -> float:
        """Capacity of checkpoint ``index`` at ``now``, in lanes' worth (exact, may be >lanes):
        its lanes times the policy fraction (an action's, else a schedule window's, else 1)
        times the closure fraction while the border is closed."""
        spec = self.specs[index]
        fraction = 1.0
        override = self.overrides[index] if self.overrides else None
        if override is not None:
            fraction = override
        else:
            for window in spec.schedule:
                if window.from_day <= now < window.to_day:
                    fraction = window.capacity_fraction
        if self.closed:
            fraction *= spec.closure_capacity_fraction
        return max(0.0, spec.lanes * fraction)

    def background_rate_for(self, index: int, capacity_lanes: float) -> float:
        """Background vehicles/day arriving at checkpoint ``index``: the demand while the border
        is open and the checkpoint has capacity, its queueing share otherwise."""
        rate = self.background[index] if self.background else 0.0
        if self.closed or capacity_lanes <= 0:
            return rate * self.specs[index].background_queue_share_when_closed
        return rate

    def refresh_capacity(self, now: float) -> None:
        """Apply closure state, policy windows and policy actions to every checkpoint at
        ``now``."""
        self._flush(now)
        for index, queue in enumerate(self.checkpoints):
            capacity = self.capacity_for(index, now)
            queue.set_capacity(now, capacity, self.background_rate_for(index, capacity))
        counts = tuple(q.capacity_lanes for q in self.checkpoints)
        if counts != self.lane_counts[-1]:
            self.lane_days.append(now)
            self.lane_counts.append(counts)

    def set_checkpoint_fraction(self, now: float, name: str, fraction: float | None) -> None:
        """A policy opens (fraction > 0, may exceed 1), restricts or closes (0) checkpoint
        ``name`` from ``now`` on, overriding its schedule windows; None goes back to the
        schedule. The closure fraction still multiplies it while the border is closed."""
        names = [q.name for q in self.checkpoints]
        if name not in names:
            raise KeyError(f"no checkpoint {name!r}; the checkpoints are {names}")
        if fraction is not None and fraction < 0:
            raise ValueError(f"a capacity fraction cannot be negative, got {fraction}")
        self.overrides[names.index(name)] = fraction
        self.refresh_capacity(now)

    def set_closed(self, now: float, closed: bool) -> None:
        """Close or reopen the border at ``now``; closures are recorded as (start, end)."""
        if closed and not self.closed:
            self.closed_since = now
        elif self.closed and not closed and self.closed_since is not None:
            self.closures.append((self.closed_since, now))
            self.closed_since = None
        self.closed = closed
        self.refresh_capacity(now)

    def _flush(self, now: float) -> None:
        for hook in self.before_advance:
            hook(now)

    def advance(self, now: float) -> None:
        self._flush(now)
        for queue in self.checkpoints:
            queue.advance(now)

    def submit(
        self,
        rng: np.random.Generator,
        now: float,
        ids: np.ndarray,
        arrival: np.ndarray,
        departure: np.ndarray | None = None,
        draws: ExitDraws | None = None,
    ) -> None:
        """Send trucks to checkpoints and draw their service times.

        Each truck picks a checkpoint with probability proportional to the capacity open when
        it set off (``departure``, default ``now``; the nominal lanes if none was open), so the
        choice does not depend on when the model gets round to submitting it. With ``draws``
        (drawn per truck beforehand) nothing is drawn from ``rng``, so the result does not
        depend on how the trucks are batched either.
        """
        if ids.size == 0:
            return
        count = len(self.checkpoints)
        if count == 1:
            choice = np.zeros(ids.size, dtype=np.int64)
        else:
            days, cumulative = self._choice_table()
            uniform = rng.random(ids.size) if draws is None else draws.pick[ids]
            set_off = np.empty(0) if departure is None else departure  # none: the latest period
            choice = _pick_checkpoints(days, cumulative, set_off, now, uniform)
        for index, queue in enumerate(self.checkpoints):
            mine = np.flatnonzero(choice == index)
            if not mine.size:
                continue
            if draws is not None:
                service = draws.service[index][ids[mine]]
            else:
                service = np.asarray(queue.service_days.sample(rng, mine.size), dtype=float)
            queue.submit(ids[mine], arrival[mine], service)

    def exit_draws(self, rng: np.random.Generator, ids: np.ndarray, size: int) -> ExitDraws:
        """Each of ``ids`` (indices below ``size``) draws now its checkpoint pick and its
        service time at every checkpoint, for one later passage (:meth:`submit`)."""
        pick = np.full(size, np.nan)
        pick[ids] = rng.random(ids.size)
        service = []
        for queue in self.checkpoints:
            times = np.full(size, np.nan)
            times[ids] = np.asarray(queue.service_days.sample(rng, ids.size), dtype=float)
            service.append(times)
        return ExitDraws(pick=pick, service=service)

    def _choice_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(days, cumulative capacity weights per period): cached until the capacity changes.
        A period with no capacity anywhere weighs the checkpoints by their nominal lanes."""
        if self._table is None or self._table[0].size != len(self.lane_days):
            weights = np.asarray(self.lane_counts, dtype=float)
            nominal = np.array([q.nominal_lanes for q in self.checkpoints], dtype=float)
            weights[weights.sum(axis=1) == 0] = nominal
            self._table = (np.asarray(self.lane_days), np.cumsum(weights, axis=1))
        return self._table

    def withdraw_waiting(self, now: float) -> np.ndarray:
        self._flush(now)
        parts = [q.withdraw_waiting(now) for q in self.checkpoints]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def policy_change_days(self) -> list[float]:
        """Days at which a policy window opens or closes."""
        days = {w.from_day for s in self.specs for w in s.schedule}
        days |= {w.to_day for s in self.specs for w in s.schedule}
        return sorted(days)

    def closure_count(self) -> int:
        return len(self.closures) + (1 if self.closed_since is not None else 0)

    def closed_days(self, horizon: float) -> float:
        """Days within [0, horizon) the border was closed, an ongoing closure included."""
        spans = list(self.closures)
        if self.closed_since is not None:
            spans.append((self.closed_since, horizon))
        return float(sum(max(0.0, min(end, horizon) - start) for start, end in spans))

    # -- traffic read-outs (background + standoff) ---------------------------------------------
    def queueing_series(
        self, days: np.ndarray, records: list[tuple[np.ndarray, np.ndarray]] | None = None
    ) -> np.ndarray:
        """Vehicles queueing (background backlog + standoff trucks waiting, all checkpoints) at
        each of ``days`` (``records``: the checkpoints' ``waiting_records()`` if known)."""
        days = np.asarray(days, dtype=float)
        if records is None:
            records = [queue.waiting_records() for queue in self.checkpoints]
        total = np.zeros(days.size)
        for queue, (arrival, left) in zip(self.checkpoints, records, strict=True):
            total += count_between(arrival, left, days)
            if queue.has_background:
                total += queue.fluid(days)[1]
        return total

    def peak_daily_throughput(self, horizon: float) -> float:
        """Most vehicles (standoff trucks by the end of their service, and background) through
        one checkpoint in one calendar day [d, d+1) over [0, horizon)."""
        return max(_peak_daily_throughput(queue, horizon) for queue in self.checkpoints)

    def peak_daily_exits(self, horizon: float) -> int:
        """Most of the standoff's trucks through one checkpoint in one calendar day [d, d+1)
        within [0, horizon) (by the end of their service; background traffic not counted)."""
        if horizon <= 0:
            return 0
        return max(int(queue.exits_by_day(horizon).max()) for queue in self.checkpoints)

    def traffic_outcomes(
        self,
        horizon: float,
        records: list[tuple[np.ndarray, np.ndarray]] | None = None,
        ordered: list[tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> dict[str, float | None]:
        """The reopening queue and waits (background + standoff vehicles).

        - ``reopening_peak_queue`` (vehicles, fractional as the background is a fluid): most
          vehicles queueing at any one checkpoint within ``REOPENING_WINDOW_DAYS`` (30) days
          after the first reopening (capped at ``horizon``); None if the border never reopened.
        - ``reopening_wait_hours`` (hours): the longest wait of a vehicle arriving at a
          checkpoint in that window, until its service starts (censored at ``horizon``); None
          if the border never reopened.

        ``records`` are the checkpoints' ``waiting_records()`` if the caller has them, and
        ``ordered`` the same arrival and leaving times each sorted (``sorted_records``).
        """
        out: dict[str, float | None] = {
            "reopening_peak_queue": None,
            "reopening_wait_hours": None,
        }
        if not self.closures or self.closures[0][1] >= horizon:
            return out
        begin = self.closures[0][1]
        end = min(begin + REOPENING_WINDOW_DAYS, horizon)
        if records is None:
            records = [queue.waiting_records() for queue in self.checkpoints]
        if ordered is None:
            ordered = sorted_records(records)
        out["reopening_peak_queue"] = max(
            _peak_vehicles(queue, arrival, left, begin, end)
            for queue, (arrival, left) in zip(self.checkpoints, ordered, strict=True)
        )
        out["reopening_wait_hours"] = 24.0 * max(
            _longest_wait(queue, arrival, left, begin, end, horizon)
            for queue, (arrival, left) in zip(self.checkpoints, records, strict=True)
        )
        return out


def sorted_records(
    records: list[tuple[np.ndarray, np.ndarray]],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each checkpoint's arrival and leaving times, each sorted on its own (what the queue
    counts read)."""
    return [(np.sort(arrival), np.sort(left)) for arrival, left in records]


def _peak_vehicles(
    queue: CheckpointQueue, arrival: np.ndarray, left: np.ndarray, begin: float, end: float
) -> float:
    """Most vehicles (background backlog + standoff trucks waiting, given when each arrived
    and left the queue, both sorted) at ``queue`` within [begin, end]. The sum is linear
    between events, so its supremum is at an event: read just after it (departures before
    arrivals at equal times) and just before it."""
    background = queue.has_background
    knots = queue.fluid_knots(end) if background else None
    parts = [np.array([begin, end]), arrival, left]
    if knots is not None:
        parts.append(knots[0])
    events = np.concatenate(parts)
    times = np.sort(events[(events >= begin) & (events <= end)])
    count = counts_at(arrival, left, times, begin)
    if knots is None:
        return float(count.max())
    return float(np.max(count + np.interp(times, knots[0], knots[2])))


def _longest_wait(
    queue: CheckpointQueue,
    arrival: np.ndarray,
    left: np.ndarray,
    begin: float,
    end: float,
    horizon: float,
) -> float:
    """Longest wait (days) of a vehicle arriving at ``queue`` in [begin, end], censored at
    ``horizon``: standoff trucks until they start (or leave the queue), background vehicles
    until the background ahead of them is served."""
    inside = (arrival >= begin) & (arrival <= end)
    longest = float(np.max(np.minimum(left[inside], horizon) - arrival[inside], initial=0.0))
    if not queue.has_background:
        return longest
    # Background: a vehicle arriving at t waits W(t) = D^-1(A(t)) - t. W is linear between
    # the knots and the moments A(t) reaches D at a knot, and only jumps up (where D is flat,
    # a closed checkpoint); np.interp reads D^-1 at a flat level at the flat's end, the jump's
    # upper side, so the supremum is W at one of those times.
    times, arrived, backlog = queue.fluid_knots(horizon)
    served = arrived - backlog
    reach = np.interp(served, arrived, times)
    candidates = np.concatenate(([begin, end], times, reach))
    candidates = candidates[(candidates >= begin) & (candidates <= end)]
    seg = np.maximum(np.searchsorted(queue.seg_start, candidates, side="right") - 1, 0)
    candidates = candidates[np.asarray(queue.seg_rate)[seg] > 0]  # background arrives then
    if candidates.size:
        ready = np.interp(np.interp(candidates, times, arrived), served, times)
        longest = max(longest, float(np.max(ready - candidates)))
    return max(0.0, longest)


def _peak_daily_throughput(queue: CheckpointQueue, horizon: float) -> float:
    """Most vehicles through ``queue`` in one calendar day [d, d+1) within [0, horizon)."""
    if horizon <= 0:
        return 0.0
    days = math.ceil(horizon)
    through = queue.exits_by_day(horizon).astype(float)
    if queue.has_background:
        times, arrived, backlog = queue.fluid_knots(horizon)
        edges = np.minimum(np.arange(0.0, days + 1.0), horizon)
        through += np.diff(np.interp(edges, times, arrived - backlog))
    return float(through.max())


def incident_times(
    spec: IncidentsSpec, horizon: float, rng: np.random.Generator, rates: list[float]
) -> np.ndarray:
    """A Poisson process with piecewise-constant rate on [0, horizon): sorted incident days.

    ``rates`` are the period rates already drawn for this replication.
    """
    bounds = [p.from_day for p in spec.schedule] + [horizon]
    pieces = []
    for (start, end), rate in zip(zip(bounds, bounds[1:], strict=False), rates, strict=False):
        end = min(end, horizon)
        if end <= start or rate <= 0:
            continue
        count = rng.poisson(rate * (end - start))
        pieces.append(rng.uniform(start, end, count))
    if not pieces:
        return np.empty(0)
    return np.sort(np.concatenate(pieces))


def next_trigger(
    incidents: np.ndarray, spec: ClosureSpec, counted_from: float, earliest: float
) -> float:
    """First day >= ``earliest`` on which ``k`` incidents counted from ``counted_from`` fall
    within ``w`` days (the day of the k-th such incident), or +inf."""
    k = spec.incidents_threshold
    counted = incidents[incidents >= counted_from]
    if counted.size < k:
        return INF
    last = counted[k - 1 :]
    first = counted[: counted.size - k + 1]
    hits = np.flatnonzero((last - first <= spec.window_days) & (last >= earliest))
    return float(last[hits[0]]) if hits.size else INF


@njit(cache=True)
def _pick_checkpoints(  # pragma: no cover - compiled; run as Python under NUMBA_DISABLE_JIT=1
    days: np.ndarray,
    cumulative: np.ndarray,
    departure: np.ndarray,
    now: float,
    uniform: np.ndarray,
) -> np.ndarray:
    """Each truck's checkpoint: in the capacity period of ``min(departure, now)`` (the last
    period starting on or before it, ``days``; the latest period if ``departure`` is empty or
    none starts by then), the first checkpoint whose cumulative weight exceeds ``uniform``
    times the total (the last if rounding leaves none)."""
    periods, count = cumulative.shape
    choice = np.empty(uniform.size, dtype=np.int64)
    for i in range(uniform.size):
        period = periods - 1
        if departure.size:
            period = np.searchsorted(days, np.minimum(departure[i], now), side="right") - 1
            if period < 0:
                period += periods
        pick = uniform[i] * cumulative[period, count - 1]
        chosen = 0
        for k in range(count):
            chosen += cumulative[period, k] <= pick
        choice[i] = min(chosen, count - 1)
    return choice
