"""The border: incidents, Lithuania's closure rule, and checkpoints as multi-lane FIFO queues
shared with background traffic.

A checkpoint is an exact FIFO queue whose capacity changes at known times (closures, policy
windows, policy actions). Capacity is exact, not rounded to lanes: a capacity of ``x`` lanes'
worth (``lanes * fraction``, the fraction may exceed 1) opens ``k = ceil(x)`` lanes and
stretches every service that starts while it holds by ``k / x``, so the lanes serve exactly
``x / mean service`` vehicles a day when busy; with ``x`` a whole number nothing is stretched
and an open checkpoint without background traffic is exactly the M/M/c queue. Service is not
pre-empted: a vehicle being processed when a lane closes or the stretch changes completes as
started.

The standoff's trucks are discrete: they are submitted in batches with their arrival and
service times, and ``advance(t)`` starts, in arrival order, every truck that can start before
``t``. The lanes are a heap of the times each becomes free, so a truck costs one heap operation
(in a loop compiled with numba, ``serve``) instead of a SimPy process: this is where the engine
gets its speed.

Background traffic (other carriers, Lithuanian trucks on normal trips) is a deterministic fluid,
so it costs no per-vehicle work. It arrives at ``background_trucks_per_day`` while the border is
open and at that rate times ``background_queue_share_when_closed`` while the border is closed or
the checkpoint has no capacity. Its backlog ``B`` is piecewise linear and exact under the
piecewise-constant arrival rate ``lambda`` and capacity ``m = x / mean service`` (vehicles/day):
``dB/dt = lambda - m`` while ``B > 0`` or ``lambda > m``, else ``B = 0``. It shares the
checkpoint with the discrete trucks, FIFO:

- a standoff truck arriving when a backlog is there is ready for a lane only once the
  background that arrived before it has been served (cumulative background served ``D(t)``
  reaches the cumulative background arrived ``A(a)`` at its arrival ``a``);
- while the backlog is empty, the background uses a share ``rho = lambda / m`` of the capacity,
  so services starting then are stretched by a further ``1 / (1 - rho)``. ``rho`` is capped at
  ``MAX_BACKGROUND_SHARE`` (0.95): near saturation the fluid, having no randomness, would
  otherwise starve the trucks completely, while a vehicle at the head of a real FIFO queue
  always gets the next free lane.

Limits (documented on purpose): the background fluid does not wait for the discrete trucks (it
is served at the full capacity while it has a backlog, so while both queue the lanes serve a
little more than their capacity); its waits are those of a deterministic queue (no random
queueing of its own below saturation); and its demand does not react to the queue.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from sim.model.standoff.schema import Checkpoint as CheckpointSpec
from sim.model.standoff.schema import Closure as ClosureSpec
from sim.model.standoff.schema import Incidents as IncidentsSpec
from sim.model.standoff.sums import count_between
from sim.scenario.distributions import Dist

INF = math.inf
MAX_BACKGROUND_SHARE = 0.95  # cap on rho, the background's share of an unqueued checkpoint
LANE_TOLERANCE = 1e-9  # lanes' worth below which a capacity counts as whole (10 * 0.1 is 1 lane)
REOPENING_WINDOW_DAYS = 30.0  # the reopening read-outs look this long after the first reopening


def open_lanes_for(capacity_lanes: float) -> int:
    """Lanes to open for a capacity of ``capacity_lanes`` lanes' worth: ceil, 0 if none."""
    if capacity_lanes <= LANE_TOLERANCE:
        return 0
    return max(1, math.ceil(capacity_lanes - LANE_TOLERANCE))


@njit(cache=True)
def serve(  # pragma: no cover - compiled; run as Python under NUMBA_DISABLE_JIT=1
    free_at: np.ndarray, ready: np.ndarray, service: np.ndarray, until: float
) -> np.ndarray:
    """Start, in FIFO order, trucks ready at ``ready`` (nondecreasing) with services
    ``service`` on lanes that become free at ``free_at`` (a binary min-heap, updated), up to
    the first that cannot start before ``until``; returns their start times.

    Each truck takes the lane free first (the heap's root) at max(ready, root) and keeps it
    for its service. Compiled with numba: one heap operation per truck, no Python per truck.
    """
    lanes = free_at.size
    starts = np.empty(ready.size)
    count = 0
    for i in range(ready.size):
        begin = max(ready[i], free_at[0])
        if begin >= until:
            break
        starts[count] = begin
        count += 1
        # Replace the root by the lane's new free time and sift it down.
        value = begin + service[i]
        at = 0
        while True:
            child = 2 * at + 1
            if child >= lanes:
                break
            if child + 1 < lanes and free_at[child + 1] < free_at[child]:
                child += 1
            if free_at[child] >= value:
                break
            free_at[at] = free_at[child]
            at = child
        free_at[at] = value
    return starts[:count]


class CheckpointQueue:
    """One checkpoint: lanes, a FIFO queue of standoff trucks, the background fluid, and a
    record of every truck that used it.

    Units: times in days, capacities in lanes' worth (``capacity_lanes``) or vehicles per day
    (``capacity_per_day``), the background backlog in vehicles.
    """

    def __init__(
        self,
        name: str,
        lanes: int,
        service_days: Dist,
        mean_service_days: float | None = None,
        background_per_day: float = 0.0,
    ) -> None:
        self.name = name
        self.nominal_lanes = lanes
        self.service_days = service_days
        if mean_service_days is None:
            mean_service_days = 1.0 if service_days is None else float(service_days.mean())
        self.mean_service_days = mean_service_days
        self.time = 0.0
        self.capacity_lanes = float(lanes)
        self.open_lanes = lanes
        self._lane_stretch = 1.0  # open lanes / lanes' worth
        self._free_at = np.zeros(lanes)  # when each open lane is free: a min-heap (``serve``)
        # Submitted trucks not yet started, sorted by arrival (stable: FIFO for ties), with the
        # cumulative background arrived before each (set once it has arrived; 0 = none ahead).
        self._pend_ids = np.empty(0, dtype=np.int64)
        self._pend_arrival = np.empty(0)
        self._pend_service = np.empty(0)
        self._pend_ahead = np.empty(0)
        self._next = 0
        # The background fluid: one segment per change of arrival rate or capacity, each with
        # its start, cumulative arrivals A and backlog B there, and its rates (vehicles/day).
        self.seg_start: list[float] = [0.0]
        self.seg_arrived: list[float] = [0.0]
        self.seg_backlog: list[float] = [0.0]
        self.seg_rate: list[float] = [float(background_per_day)]
        self.seg_capacity: list[float] = [self.capacity_per_day]
        self._clears_at = self._clearing_time()
        # Record of everything that happened here (parallel lists, in start order).
        self.started_ids: list[np.ndarray] = []
        self.started_at: list[np.ndarray] = []
        self.started_arrival: list[np.ndarray] = []
        self.started_service: list[np.ndarray] = []
        self.withdrawn_ids: list[np.ndarray] = []
        self.withdrawn_arrival: list[np.ndarray] = []
        self.withdrawn_at: list[float] = []

    # -- the background fluid ------------------------------------------------------------------
    @property
    def capacity_per_day(self) -> float:
        """Vehicles a day the checkpoint serves when busy."""
        return self.capacity_lanes / self.mean_service_days

    @property
    def background_rate(self) -> float:
        """Background vehicles arriving per day now."""
        return self.seg_rate[-1]

    def _clearing_time(self) -> float:
        """When the backlog of the current segment is (or was) empty for good: its start if it
        starts empty and cannot grow, +inf if it never clears under the current rates."""
        backlog, rate, capacity = self.seg_backlog[-1], self.seg_rate[-1], self.seg_capacity[-1]
        if rate < capacity:
            return self.seg_start[-1] + backlog / (capacity - rate)
        return self.seg_start[-1] if backlog == 0 and rate == 0 else INF

    def backlog_at(self, t: float) -> float:
        """Background vehicles queueing at ``t`` (on or after the current segment's start)."""
        start, rate, capacity = self.seg_start[-1], self.seg_rate[-1], self.seg_capacity[-1]
        return max(0.0, self.seg_backlog[-1] + (rate - capacity) * (t - start))

    def _service_stretch(self) -> float:
        """Factor on the drawn service times of trucks starting now (between fluid events)."""
        if self.time < self._clears_at:  # the background queues: FIFO readiness shares the lanes
            return self._lane_stretch
        rate, capacity = self.seg_rate[-1], self.seg_capacity[-1]
        if rate <= 0 or capacity <= 0:
            return self._lane_stretch
        return self._lane_stretch / (1.0 - min(rate / capacity, MAX_BACKGROUND_SHARE))

    @property
    def has_background(self) -> bool:
        """Whether any background traffic ever arrived here (else every fluid read-out is 0)."""
        return any(rate > 0 for rate in self.seg_rate)

    def _segments(self) -> np.ndarray:
        """The fluid's segments as one array: rows start, arrived, backlog, rate, capacity."""
        return np.array(
            (self.seg_start, self.seg_arrived, self.seg_backlog, self.seg_rate, self.seg_capacity)
        )

    def fluid(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cumulative background arrived, background backlog) at times ``t`` >= 0."""
        starts, arrived0, backlog0, rates, capacities = self._segments()
        seg = np.maximum(np.searchsorted(starts, t, side="right") - 1, 0)
        since = t - starts[seg]
        rate = rates[seg]
        arrived = arrived0[seg] + rate * since
        return arrived, np.maximum(0.0, backlog0[seg] + (rate - capacities[seg]) * since)

    def fluid_breakpoints(self, until: float) -> np.ndarray:
        """Times in [0, until] where the fluid's rates change: segment starts, the moments a
        backlog clears, and ``until``; between two of them A, B and D are linear."""
        points = [*self.seg_start, until]
        for k, start in enumerate(self.seg_start):
            rate, capacity = self.seg_rate[k], self.seg_capacity[k]
            if rate < capacity and self.seg_backlog[k] > 0:
                points.append(start + self.seg_backlog[k] / (capacity - rate))
        times = np.unique(np.asarray(points))
        return times[times <= until]

    def fluid_knots(self, until: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, cumulative arrived A, backlog B) at every point in [0, until] where the
        fluid's slopes change, ``until`` last: A, B and D = A - B are linear in between, so
        ``np.interp`` on these is exact up to ``until``."""
        times: list[float] = []
        arrived: list[float] = []
        backlog: list[float] = []
        count = len(self.seg_start)
        for k in range(count):
            start = self.seg_start[k]
            if start > until:
                break
            stop = min(self.seg_start[k + 1], until) if k + 1 < count else until
            a0, b0 = self.seg_arrived[k], self.seg_backlog[k]
            rate, capacity = self.seg_rate[k], self.seg_capacity[k]
            times.append(start)
            arrived.append(a0)
            backlog.append(b0)
            if rate < capacity and b0 > 0:
                clear = start + b0 / (capacity - rate)
                if clear < stop:
                    times.append(clear)
                    arrived.append(a0 + rate * (clear - start))
                    backlog.append(0.0)
            if k + 1 == count or self.seg_start[k + 1] > until:
                times.append(stop)
                arrived.append(a0 + rate * (stop - start))
                backlog.append(max(0.0, b0 + (rate - capacity) * (stop - start)))
        return np.array(times), np.array(arrived), np.array(backlog)

    def background_ready_at(self, ahead: np.ndarray, until: float) -> np.ndarray:
        """First time the background served reaches ``ahead`` vehicles (``until`` if not by
        then): when a vehicle with that much background ahead of it gets its turn."""
        times = self.fluid_breakpoints(until)
        arrived, backlog = self.fluid(times)
        served = arrived - backlog
        j = np.searchsorted(served, ahead, side="left")
        inside = (j > 0) & (j < times.size)
        jj = np.clip(j, 1, max(1, times.size - 1))
        lo_t, hi_t = times[jj - 1], times[np.minimum(jj, times.size - 1)]
        lo_d, hi_d = served[jj - 1], served[np.minimum(jj, times.size - 1)]
        span = np.where(hi_d > lo_d, hi_d - lo_d, 1.0)
        ready = np.where(inside, lo_t + (ahead - lo_d) * (hi_t - lo_t) / span, until)
        return np.where(j == 0, times[0], ready)

    def _set_fluid(self, now: float, rate: float) -> None:
        """Start a fluid segment at ``now`` with the current capacity and arrival ``rate``."""
        arrived = self.seg_arrived[-1] + self.seg_rate[-1] * (now - self.seg_start[-1])
        backlog = self.backlog_at(now)
        capacity = self.capacity_per_day
        if rate == self.seg_rate[-1] and capacity == self.seg_capacity[-1]:
            return
        if now == self.seg_start[-1]:  # replace a segment that lasted no time
            for values in (
                self.seg_start,
                self.seg_arrived,
                self.seg_backlog,
                self.seg_rate,
                self.seg_capacity,
            ):
                values.pop()
        self.seg_start.append(now)
        self.seg_arrived.append(arrived)
        self.seg_backlog.append(backlog)
        self.seg_rate.append(rate)
        self.seg_capacity.append(capacity)
        self._clears_at = self._clearing_time()

    # -- state changes -------------------------------------------------------------------------
    def submit(self, ids: np.ndarray, arrival: np.ndarray, service: np.ndarray) -> None:
        """Add trucks that will reach the queue at ``arrival`` (all >= the checkpoint's time)."""
        if ids.size == 0:
            return
        if float(arrival.min()) < self.time:
            raise RuntimeError(
                f"{self.name}: arrival {arrival.min()} before the queue's time {self.time}"
            )
        rest = self._next
        pending = self._pend_arrival[rest:]
        if pending.size == 0 or float(arrival.min()) >= pending[-1]:
            # The new trucks all arrive after the pending ones: sort them alone and append.
            if arrival.size > 1:
                order = np.argsort(arrival, kind="stable")
                ids, arrival, service = ids[order], arrival[order], service[order]
            if pending.size == 0:
                self._pend_ids, self._pend_arrival = ids, arrival
                self._pend_service, self._pend_ahead = service, np.zeros(ids.size)
            else:
                self._pend_ids = np.concatenate((self._pend_ids[rest:], ids))
                self._pend_arrival = np.concatenate((pending, arrival))
                self._pend_service = np.concatenate((self._pend_service[rest:], service))
                self._pend_ahead = np.concatenate((self._pend_ahead[rest:], np.zeros(ids.size)))
        else:  # interleaved: merge by a stable sort (pending first at equal arrival times)
            order = np.argsort(np.concatenate((pending, arrival)), kind="stable")
            self._pend_ids = np.concatenate((self._pend_ids[rest:], ids))[order]
            self._pend_arrival = np.concatenate((pending, arrival))[order]
            self._pend_service = np.concatenate((self._pend_service[rest:], service))[order]
            self._pend_ahead = np.concatenate((self._pend_ahead[rest:], np.zeros(ids.size)))[order]
        self._next = 0

    def advance(self, until: float) -> None:
        """Start, in FIFO order, every truck whose service can begin before ``until``."""
        if until < self.time:
            raise RuntimeError(f"{self.name}: cannot go back from {self.time} to {until}")
        if self.time < self._clears_at < until:  # the stretch changes when the backlog clears
            self._advance(self._clears_at)
        self._advance(until)

    def _advance(self, until: float) -> None:
        first = self._next
        arrival = self._pend_arrival
        # Only trucks arriving before ``until`` can start before it.
        last = int(np.searchsorted(arrival, until, side="left")) if first < arrival.size else 0
        if first < last and self.time < self._clears_at:
            # The background queues (or keeps arriving at a saturated checkpoint): record the
            # background ahead of each truck that arrives now; trucks wait for it to be served.
            start, capacity = self.seg_start[-1], self.seg_capacity[-1]
            new = max(first, int(np.searchsorted(arrival, self.time, side="left")))
            self._pend_ahead[new:last] = self.seg_arrived[-1] + self.seg_rate[-1] * (
                arrival[new:last] - start
            )
            served = self.seg_arrived[-1] - self.seg_backlog[-1]
            behind = self._pend_ahead[first:last] - served
            if capacity > 0:
                ready_at = start + behind / capacity
            else:
                ready_at = np.where(behind > 0, INF, -INF)
            ready = np.maximum(np.maximum(arrival[first:last], ready_at), self.time)
        else:
            ready = arrival[first:last]
        if self.open_lanes > 0 and first < last:
            stretch = self._service_stretch()
            service = self._pend_service[first:last]
            if stretch != 1.0:
                service = service * stretch
            starts = serve(self._free_at, ready, service, until)
            count = starts.size
            if count:
                i = first + count
                self.started_ids.append(self._pend_ids[first:i])
                self.started_at.append(starts)
                self.started_arrival.append(arrival[first:i])
                self.started_service.append(service[:count])
                self._next = i
        self.time = until

    def set_capacity(self, now: float, capacity_lanes: float, background_per_day: float) -> None:
        """From ``now`` (after serving everything that starts before): a capacity of
        ``capacity_lanes`` lanes' worth (exact) and background arriving at
        ``background_per_day`` vehicles/day."""
        self.advance(now)
        lanes = open_lanes_for(capacity_lanes)
        if lanes != self.open_lanes:
            # Keep the lanes that free up first (a closing lane finishes its current truck), or
            # open new ones free now; a sorted array is a min-heap.
            if lanes < self.open_lanes:
                self._free_at = np.sort(self._free_at)[:lanes]
            else:
                added = np.full(lanes - self.open_lanes, now)
                self._free_at = np.sort(np.concatenate((self._free_at, added)))
            self.open_lanes = lanes
        self.capacity_lanes = max(0.0, float(capacity_lanes)) if lanes else 0.0
        self._lane_stretch = lanes / self.capacity_lanes if lanes else 1.0
        self._set_fluid(now, float(background_per_day))

    def set_open_lanes(self, now: float, lanes: int) -> None:
        """Open exactly ``lanes`` whole lanes from ``now``; the background rate is kept."""
        self.set_capacity(now, float(lanes), self.background_rate)

    def withdraw_waiting(self, now: float) -> np.ndarray:
        """Remove every submitted truck not started by ``now`` (queueing or still on its way)."""
        self.advance(now)
        ids = self._pend_ids[self._next :]
        if ids.size:
            self.withdrawn_ids.append(ids)
            self.withdrawn_arrival.append(self._pend_arrival[self._next :])
            self.withdrawn_at.append(now)
        self._pend_ids = self._pend_ids[:0]
        self._pend_arrival = self._pend_arrival[:0]
        self._pend_service = self._pend_service[:0]
        self._next = 0
        return ids

    # -- read-outs -----------------------------------------------------------------------------
    def waiting_records(self) -> tuple[np.ndarray, np.ndarray]:
        """(arrival, left_queue_at) of every truck that reached the queue: started, withdrawn,
        or still waiting (left at +inf). Trucks withdrawn before arriving are left out."""
        arrivals: list[np.ndarray] = []
        leaves: list[np.ndarray] = []
        for a, s in zip(self.started_arrival, self.started_at, strict=True):
            arrivals.append(a)
            leaves.append(s)
        for a, t in zip(self.withdrawn_arrival, self.withdrawn_at, strict=True):
            reached = a <= t
            arrivals.append(a[reached])
            leaves.append(np.full(int(reached.sum()), t))
        pending = self._pend_arrival[self._next :]
        arrivals.append(pending)
        leaves.append(np.full(pending.size, INF))
        return np.concatenate(arrivals), np.concatenate(leaves)

    def started(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, start, end) of every truck served here so far."""
        if not self.started_ids:
            empty = np.empty(0)
            return np.empty(0, dtype=np.int64), empty, empty
        start = np.concatenate(self.started_at)
        return (
            np.concatenate(self.started_ids),
            start,
            start + np.concatenate(self.started_service),
        )


def peak_queue(arrival: np.ndarray, left: np.ndarray) -> int:
    """Largest number of trucks waiting at once, given when each arrived and left the queue.

    At equal times departures count before arrivals, so a truck served on arrival never
    counts as waiting. The count only rises at an arrival: at the k-th arrival (in time
    order) it is k minus the departures by then (for tied arrivals the last of them counts
    them all, and it is the largest).
    """
    if arrival.size == 0:
        return 0
    arrived = np.arange(1, arrival.size + 1)
    arrival = np.sort(arrival)
    gone = np.sort(left).searchsorted(arrival, side="right")
    return int(max(0, (arrived - gone).max()))


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
            if departure is None:
                period = np.full(1, days.size - 1)
            else:
                period = np.searchsorted(days, np.minimum(departure, now), side="right") - 1
            uniform = rng.random(ids.size) if draws is None else draws.pick[ids]
            if period.min() == period.max():  # one period (the usual case): a binary search
                row = cumulative[int(period[0])]
                choice = np.searchsorted(row, uniform * row[-1], side="right")
            else:
                rows = cumulative[period]
                pick = uniform * rows[:, -1]
                choice = (pick[:, None] >= rows).sum(axis=1)
            choice = np.minimum(choice, count - 1)
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
        peak = 0
        for queue in self.checkpoints:
            through = queue.started()[2]
            through = through[through < horizon]
            if through.size:
                peak = max(peak, int(np.bincount(through.astype(np.int64)).max()))
        return peak

    def traffic_outcomes(
        self, horizon: float, records: list[tuple[np.ndarray, np.ndarray]] | None = None
    ) -> dict[str, float | None]:
        """The reopening queue and waits (background + standoff vehicles).

        - ``reopening_peak_queue`` (vehicles, fractional as the background is a fluid): most
          vehicles queueing at any one checkpoint within ``REOPENING_WINDOW_DAYS`` (30) days
          after the first reopening (capped at ``horizon``); None if the border never reopened.
        - ``reopening_wait_hours`` (hours): the longest wait of a vehicle arriving at a
          checkpoint in that window, until its service starts (censored at ``horizon``); None
          if the border never reopened.

        ``records`` are the checkpoints' ``waiting_records()`` if the caller has them.
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
        out["reopening_peak_queue"] = max(
            _peak_vehicles(queue, arrival, left, begin, end)
            for queue, (arrival, left) in zip(self.checkpoints, records, strict=True)
        )
        out["reopening_wait_hours"] = 24.0 * max(
            _longest_wait(queue, arrival, left, begin, end, horizon)
            for queue, (arrival, left) in zip(self.checkpoints, records, strict=True)
        )
        return out


def _peak_vehicles(
    queue: CheckpointQueue, arrival: np.ndarray, left: np.ndarray, begin: float, end: float
) -> float:
    """Most vehicles (background backlog + standoff trucks waiting, given when each arrived
    and left the queue) at ``queue`` within [begin, end]. The sum is linear between events, so
    its supremum is at an event: read just after it (departures before arrivals at equal
    times) and just before it."""
    background = queue.has_background
    knots = queue.fluid_knots(end) if background else None
    parts = [np.array([begin, end]), arrival, left]
    if knots is not None:
        parts.append(knots[0])
    events = np.concatenate(parts)
    times = events[(events >= begin) & (events <= end)]
    arr_sorted, left_sorted = np.sort(arrival), np.sort(left)
    after = np.searchsorted(arr_sorted, times, side="right") - np.searchsorted(
        left_sorted, times, side="right"
    )
    before = np.searchsorted(arr_sorted, times, side="left") - np.searchsorted(
        left_sorted, times, side="left"
    )
    before[times <= begin] = 0  # what queued before the window is read at its start
    count = np.maximum(after, before)
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
    finish = queue.started()[2]
    finish = finish[finish < horizon]
    through = np.bincount(finish.astype(np.int64), minlength=days).astype(float)
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
