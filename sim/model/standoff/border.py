"""The border: incidents, Lithuania's closure rule, and checkpoints as multi-lane FIFO queues.

A checkpoint is an exact FIFO c-server queue whose number of open lanes changes at known
times (closures, policy windows). Trucks are submitted in batches with their arrival and
service times; ``advance(t)`` starts, in arrival order, every truck that can start before
``t`` under the lanes open since the last change. The lanes are a heap of the times each
becomes free, so a truck costs one heap operation instead of a SimPy process: this is where
the engine gets its speed. Service is not pre-empted: a truck being processed when a lane
closes completes.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.model.standoff.schema import Checkpoint as CheckpointSpec
from sim.model.standoff.schema import Closure as ClosureSpec
from sim.model.standoff.schema import Incidents as IncidentsSpec
from sim.scenario.distributions import Dist

INF = math.inf


class CheckpointQueue:
    """One checkpoint: lanes, a FIFO queue, and a record of every truck that used it."""

    def __init__(self, name: str, lanes: int, service_days: Dist) -> None:
        self.name = name
        self.nominal_lanes = lanes
        self.service_days = service_days
        self.time = 0.0
        self.open_lanes = lanes
        self._free_at: list[float] = [0.0] * lanes  # heap of the times open lanes become free
        # Submitted trucks not yet started, sorted by arrival (stable: FIFO for ties).
        self._pend_ids = np.empty(0, dtype=np.int64)
        self._pend_arrival = np.empty(0)
        self._pend_service = np.empty(0)
        self._next = 0
        # Record of everything that happened here (parallel lists, in start order).
        self.started_ids: list[np.ndarray] = []
        self.started_at: list[np.ndarray] = []
        self.started_arrival: list[np.ndarray] = []
        self.started_service: list[np.ndarray] = []
        self.withdrawn_ids: list[np.ndarray] = []
        self.withdrawn_arrival: list[np.ndarray] = []
        self.withdrawn_at: list[float] = []

    # -- state changes -------------------------------------------------------------------------
    def submit(self, ids: np.ndarray, arrival: np.ndarray, service: np.ndarray) -> None:
        """Add trucks that will reach the queue at ``arrival`` (all >= the checkpoint's time)."""
        if ids.size == 0:
            return
        if float(arrival.min()) < self.time:
            raise RuntimeError(
                f"{self.name}: arrival {arrival.min()} before the queue's time {self.time}"
            )
        rest = slice(self._next, None)
        all_ids = np.concatenate((self._pend_ids[rest], ids))
        all_arrival = np.concatenate((self._pend_arrival[rest], arrival))
        all_service = np.concatenate((self._pend_service[rest], service))
        order = np.argsort(all_arrival, kind="stable")
        self._pend_ids = all_ids[order]
        self._pend_arrival = all_arrival[order]
        self._pend_service = all_service[order]
        self._next = 0

    def advance(self, until: float) -> None:
        """Start, in FIFO order, every truck whose service can begin before ``until``."""
        if until < self.time:
            raise RuntimeError(f"{self.name}: cannot go back from {self.time} to {until}")
        first = self._next
        arrival = self._pend_arrival
        # Only trucks arriving before ``until`` can start before it.
        last = int(np.searchsorted(arrival, until, side="left")) if first < arrival.size else 0
        if self.open_lanes > 0 and first < last:
            free_at = self._free_at
            service = self._pend_service
            starts: list[float] = []
            i = first
            # The hot loop: one heap operation per truck.
            arr_list = arrival[first:last].tolist()
            svc_list = service[first:last].tolist()
            for a, s in zip(arr_list, svc_list, strict=True):
                lane_free = free_at[0]
                start = a if a > lane_free else lane_free
                if start >= until:
                    break
                heapq.heapreplace(free_at, start + s)
                starts.append(start)
                i += 1
            if i > first:
                self.started_ids.append(self._pend_ids[first:i])
                self.started_at.append(np.asarray(starts))
                self.started_arrival.append(arrival[first:i])
                self.started_service.append(service[first:i])
                self._next = i
        self.time = until

    def set_open_lanes(self, now: float, lanes: int) -> None:
        """Change the open lanes at ``now`` (after serving everything that starts before)."""
        self.advance(now)
        if lanes == self.open_lanes:
            return
        if lanes < self.open_lanes:
            # Keep the lanes that free up first; a closing lane finishes its current truck.
            self._free_at = sorted(self._free_at)[:lanes]
        else:
            self._free_at = self._free_at + [now] * (lanes - self.open_lanes)
        heapq.heapify(self._free_at)
        self.open_lanes = lanes

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
    counts as waiting.
    """
    if arrival.size == 0:
        return 0
    times = np.concatenate((left, arrival))
    steps = np.concatenate((np.full(left.size, -1), np.ones(arrival.size, dtype=np.int64)))
    order = np.lexsort((steps, times))
    return int(max(0, np.cumsum(steps[order]).max()))


def count_between(starts: np.ndarray, ends: np.ndarray, days: np.ndarray) -> np.ndarray:
    """For each day d, how many intervals [start, end) contain d."""
    entered = np.searchsorted(np.sort(starts), days, side="right")
    left = np.searchsorted(np.sort(ends), days, side="right")
    return (entered - left).astype(float)


@dataclass
class Border:
    """The checkpoints together, whether the border is closed, and policy windows."""

    checkpoints: list[CheckpointQueue]
    specs: list[CheckpointSpec]
    closed: bool = False
    before_advance: list[Callable[[float], None]] = field(default_factory=list)
    closures: list[tuple[float, float]] = field(default_factory=list)  # (start, end) of each
    closed_since: float | None = None
    # Open lanes of every checkpoint since each change: (day, lanes per checkpoint).
    lane_days: list[float] = field(default_factory=list)
    lane_counts: list[tuple[int, ...]] = field(default_factory=list)

    @classmethod
    def from_specs(cls, specs: dict[str, CheckpointSpec]) -> Border:
        queues = [CheckpointQueue(name, s.lanes, s.service_days) for name, s in specs.items()]
        border = cls(checkpoints=queues, specs=list(specs.values()))
        border.lane_days.append(0.0)
        border.lane_counts.append(tuple(q.open_lanes for q in queues))
        return border

    def lanes_for(self, index: int, now: float) -> int:
        """Lanes of checkpoint ``index`` open to Lithuanian trucks at ``now``."""
        spec = self.specs[index]
        fraction = 1.0
        for window in spec.schedule:
            if window.from_day <= now < window.to_day:
                fraction = window.capacity_fraction
        if self.closed:
            fraction *= spec.closure_capacity_fraction
        share = spec.lanes * fraction
        if share <= 0:
            return 0
        return max(1, round(share))

    def refresh_capacity(self, now: float) -> None:
        """Apply closure state and policy windows to every checkpoint at ``now``."""
        self._flush(now)
        for index, queue in enumerate(self.checkpoints):
            queue.set_open_lanes(now, self.lanes_for(index, now))
        counts = tuple(q.open_lanes for q in self.checkpoints)
        if counts != self.lane_counts[-1]:
            self.lane_days.append(now)
            self.lane_counts.append(counts)

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
    ) -> None:
        """Send trucks to checkpoints and draw their service times.

        Each truck picks a checkpoint with probability proportional to the lanes open when it
        set off (``departure``, default ``now``; the nominal lanes if none was open), so the
        choice does not depend on when the model gets round to submitting it.
        """
        if ids.size == 0:
            return
        count = len(self.checkpoints)
        if count == 1:
            choice = np.zeros(ids.size, dtype=np.int64)
        else:
            when = np.full(ids.size, now) if departure is None else np.minimum(departure, now)
            period = np.searchsorted(np.asarray(self.lane_days), when, side="right") - 1
            weights = np.asarray(self.lane_counts, dtype=float)[period]
            nominal = np.array([q.nominal_lanes for q in self.checkpoints], dtype=float)
            weights[weights.sum(axis=1) == 0] = nominal
            cumulative = np.cumsum(weights, axis=1)
            pick = rng.random(ids.size) * cumulative[:, -1]
            choice = np.minimum((pick[:, None] >= cumulative).sum(axis=1), count - 1)
        for index, queue in enumerate(self.checkpoints):
            mine = choice == index
            if mine.any():
                service = np.asarray(queue.service_days.sample(rng, int(mine.sum())), dtype=float)
                queue.submit(ids[mine], arrival[mine], service)

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
