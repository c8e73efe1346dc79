"""Checkpoints: multi-lane FIFO queues shared with background traffic.


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

import numpy as np
from numba import njit

from sim.scenario.distributions import Dist

INF = math.inf
MAX_BACKGROUND_SHARE = 0.95  # cap on rho, the background's share of an unqueued checkpoint
LANE_TOLERANCE = 1e-9  # lanes' worth below which a capacity counts as whole (10 * 0.1 is 1 lane)


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
    return starts[:count].copy()  # (not a view that keeps the whole buffer)


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
            new = max(first, int(np.searchsorted(arrival, self.time, side="left")))
            ready = _ready_behind_background(
                arrival,
                self._pend_ahead,
                first,
                new,
                last,
                self.seg_start[-1],
                self.seg_arrived[-1],
                self.seg_rate[-1],
                self.seg_arrived[-1] - self.seg_backlog[-1],
                self.seg_capacity[-1],
                self.time,
            )
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

    def exits_by_day(self, horizon: float) -> np.ndarray:
        """Standoff trucks through (service ended) on each calendar day [d, d+1) of
        [0, horizon), ``horizon`` > 0."""
        finish = self.started()[2]
        finish = finish[finish < horizon]
        return np.bincount(finish.astype(np.int64), minlength=math.ceil(horizon))

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


@njit(cache=True)
def _ready_behind_background(  # pragma: no cover - compiled
    arrival: np.ndarray,
    ahead: np.ndarray,
    first: int,
    new: int,
    last: int,
    start: float,
    arrived: float,
    rate: float,
    served: float,
    capacity: float,
    now: float,
) -> np.ndarray:
    """When trucks ``first..last`` (by arrival) are ready for a lane behind the background:
    the trucks from ``new`` on arrived in the current fluid segment (from ``start``, with
    ``arrived`` background vehicles arrived by then, arriving at ``rate``) and record the
    background ahead of them (``ahead``); each is ready when the background served (``served``
    at ``start``, then ``capacity`` a day) reaches what was ahead of it, not before it arrives
    nor before ``now`` (with no capacity: never if background is ahead of it)."""
    for i in range(new, last):
        ahead[i] = arrived + rate * (arrival[i] - start)
    ready = np.empty(last - first)
    for i in range(first, last):
        behind = ahead[i] - served
        if capacity > 0:
            ready_at = start + behind / capacity
        else:
            ready_at = math.inf if behind > 0 else -math.inf
        ready[i - first] = np.maximum(np.maximum(arrival[i], ready_at), now)
    return ready


def peak_queue(arrival: np.ndarray, left: np.ndarray) -> int:
    """Largest number of trucks waiting at once, given when each arrived and left the queue.

    At equal times departures count before arrivals, so a truck served on arrival never
    counts as waiting. The count only rises at an arrival: at the k-th arrival (in time
    order) it is k minus the departures by then (for tied arrivals the last of them counts
    them all, and it is the largest).
    """
    return peak_queue_sorted(np.sort(arrival), np.sort(left))


@njit(cache=True)
def peak_queue_sorted(  # pragma: no cover - compiled; run as Python under NUMBA_DISABLE_JIT=1
    arrival: np.ndarray, left: np.ndarray
) -> int:
    """``peak_queue`` of arrival and leaving times already sorted (each on its own; no NaN)."""
    peak = 0
    gone = 0
    for k in range(arrival.size):
        while gone < left.size and left[gone] <= arrival[k]:
            gone += 1
        peak = max(peak, k + 1 - gone)
    return peak


@njit(cache=True)
def counts_at(  # pragma: no cover - compiled; run as Python under NUMBA_DISABLE_JIT=1
    arrival: np.ndarray, left: np.ndarray, times: np.ndarray, begin: float
) -> np.ndarray:
    """Trucks waiting (given sorted arrival and leaving times) just after and just before
    each of ``times`` (sorted), the larger of the two; just before ``begin`` or earlier counts
    0 (what queued before a window is read at its start). One sweep of the three arrays."""
    count = np.empty(times.size, dtype=np.int64)
    arrived_by = arrived_before = left_by = left_before = 0
    for i in range(times.size):
        t = times[i]
        while arrived_before < arrival.size and arrival[arrived_before] < t:
            arrived_before += 1
        while left_before < left.size and left[left_before] < t:
            left_before += 1
        arrived_by = max(arrived_by, arrived_before)
        while arrived_by < arrival.size and arrival[arrived_by] <= t:
            arrived_by += 1
        left_by = max(left_by, left_before)
        while left_by < left.size and left[left_by] <= t:
            left_by += 1
        after = arrived_by - left_by
        before = arrived_before - left_before if t > begin else 0
        count[i] = max(after, before)
    return count
