"""A straightforward per-truck SimPy version of the border-standoff model (v2): the speed yardstick.

This is what a competent SimPy user writes first for the model of ``sim.model.standoff`` (model
v2), with the same parameters, scopes and decision rules as the engine, so that
``benchmarks/speed.py`` can time both and check that their outcomes agree in distribution. It
is not a straw man: every truck is one ``env.process`` that waits on events (never polls), a
checkpoint's lanes and Belarus's processing office are plain ``simpy.Store`` objects, and the
background traffic costs a few events per change of its rates.

- **Trips.** Every truck in Belarus is a process. On day 0 ``trucks_in_belarus`` trucks are
  inside, each on an exponential stay of mean ``stay_days``; while the border is open and no
  hold is in force an entry process adds trucks at ``trucks_in_belarus / stay_days`` a day
  (exponential gaps). A truck whose stay ends leaves (the engine does not route ordinary trips
  through the checkpoints either). A closure interrupts every truck inside: it is stranded, and
  (while no hold is ordered) heads home with probability ``evacuation.share``; a reopening
  interrupts the stranded ones again with a new stay.
- **Checkpoints.** Each checkpoint's open lanes are objects in a ``simpy.Store``: a truck's
  process takes a free lane (FIFO among trucks), holds it for its service time and puts it
  back. Capacity is exact as in the engine: ``x`` lanes' worth (lanes times the policy
  fraction, a ``checkpoint`` action's overriding the schedule windows, times the closure
  fraction while closed) opens ``ceil(x)`` lanes and stretches services starting meanwhile by
  ``ceil(x) / x``. Closing lanes are those that free up last: a free one leaves the store, a
  busy one closes when its truck is through (service is never pre-empted); new lanes are free
  at once. A truck picks a checkpoint with probability proportional to its capacity when it
  sets off.
- **Background traffic** is the engine's deterministic FIFO fluid, computed naively: each
  checkpoint keeps a list of segments (one per change of the background's arrival rate or of
  the capacity, with the background arrived and queueing at its start; both linear in
  between). A truck reaching the checkpoint notes the background arrived before it and waits in
  its own process until that much has been served (a timeout from the current segment's rates,
  re-armed whenever they change), then asks for a lane; a service starting while no background
  queues is stretched by ``1 / (1 - rho)``, ``rho`` = arrival rate / capacity, capped at 0.95.
  Why a fluid, not vehicles: background vehicles one by one as SimPy processes (~200 a day
  over a year, ~70,000 a replication) would model a different, stochastic queue (random
  queueing at rho ~0.7, where the engine's fluid has none), so the agreement checks would
  compare two models; stepping the fluid in small time steps would only approximate it and
  cost the yardstick thousands of events a replication, flattering the engine's ratio. The
  fluid in closed form between changes costs a few events per change, so the yardstick stays
  fair. The reopening read-outs (queue, waits) are computed from the same segments and each
  truck's queue record, in plain Python loops.
- **Incidents** are a Poisson process (exponential gaps, restarted at each change of rate);
  each incident checks the closure rule (k incidents within w days).
- **The hold order** (after a closure, with its probability and delay; if the border has
  reopened by then, only with ``after_reopening_probability``) interrupts every truck inside
  and every truck heading home that has not started service (it leaves the queue, or the wait
  for the background). A ``confiscation_deadline`` policy taken before the hold reaches owners
  at the hold.
- **Owners.** Each held truck's process is its owner. Every decision point (the hold, news,
  the periodic review) is one SimPy event all owners wait on; each owner not yet in Belarus's
  processing queue, woken, prices retrieving, waiting and writing off with the rule of
  ``sim.model.standoff.owners`` (written out again below for one owner; a place in the queue
  after a deadline the owner believes carries the risk of confiscation; a compensation scheme
  whose budget is spent counts for nothing). Owners who would retrieve or write off apply to
  Belarus's office; the office takes the applications of a decision point most tolerant
  first, each while its tolerable wait covers its place in the queue (the k-th to join, k = 1,
  2, ..., is processed ``k / P`` days after the backlog), and answers each owner. Having
  decided, an owner who keeps the truck replaces it if the saving until its own processing
  (queued) or the release it expects (waiting) pays for a substitute. Accepted trucks go
  into the office's ``Store``; the office process serves it at ``processing_per_day`` and
  interrupts the owner's process when its truck is processed (the fee is paid, a driver
  fetches it). The general release and the confiscation are decision points of their own
  kind.
- **Outcomes** are the engine's (``OUTCOMES`` in ``model.py``), daily series aside.
- **Minsk** weighs every offer (government attempts, the carriers' talks with their retries,
  US deals raised by Lithuania's request and open talks) against its reservation price.
- **Policies** (every action of the schema) are processes with the engine's triggers.

Parameter scopes follow the schema: replication-level parameters are drawn once per
replication (on first use), truck-level ones once per truck, event-level ones per event.
Random streams differ from the engine's; the outcomes agree in distribution only.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import simpy

# What a condition and two outcomes mean (definitions, not mechanisms), from the engine.
from sim.model.standoff.model import resolution
from sim.model.standoff.negotiation import sanctions_relief_eur
from sim.model.standoff.policies import holds
from sim.model.standoff.schema import Checkpoint as CheckpointSpec
from sim.model.standoff.schema import Compensation, Policy, Scenario
from sim.scenario.distributions import Dist
from sim.seeding import Streams

Process = Generator[simpy.Event, Any, Any]
Outcomes = dict[str, float | int | str | None]

INF = math.inf

# Truck status.
AT_LARGE = 0  # in Belarus on a trip, not heading home
LEAVING = 1  # heading home before the hold order (deciding, driving, queueing, or crossed)
HELD = 2  # on a guarded lot (its owner may have asked Belarus to process it)
RETURNING = 3  # paid for (or to be paid for under the release): going home
ABANDONED = 4  # given up by its owner
CONFISCATED = 5  # taken by Belarus
GONE = 6  # left Belarus at the end of an ordinary trip

# How a truck got out.
EXIT_NONE = 0
EXIT_EVACUATED = 1
EXIT_RETRIEVED = 2
EXIT_RELEASED = 3

LANE_TOLERANCE = 1e-9  # lanes' worth below which a capacity counts as whole (as the engine)
MAX_BACKGROUND_SHARE = 0.95  # cap on the background's share of an unqueued checkpoint
REOPENING_WINDOW_DAYS = 30.0  # the reopening read-outs look this long after the first reopening

# What a decision point is.
REVIEW = "review"
RELEASE = "release"
CONFISCATE = "confiscate"


class Truck:
    """One vehicle: its owner's parameters and the record of what happened to it."""

    __slots__ = (
        "group",
        "value",
        "worth",
        "idle_rate",
        "retrieval_draw",
        "driver_travel",
        "expected_release",
        "replacement_cost",
        "replacement_rate",
        "status",
        "exit_kind",
        "process",
        "drawn",
        "started_service",
        "queued",
        "reply",
        "held_from",
        "left_lot",
        "paid_at",
        "fee_paid",
        "retrieval_cost",
        "lost_at",
        "idle_from",
        "idle_to",
        "replaced_at",
    )

    def __init__(self) -> None:
        self.status = AT_LARGE
        self.exit_kind = EXIT_NONE
        self.process: simpy.Process | None = None
        self.drawn = False
        self.started_service = False
        self.queued = False
        self.reply: simpy.Event | None = None
        self.held_from = INF
        self.left_lot = INF
        self.paid_at = INF
        self.fee_paid = 0.0
        self.retrieval_cost = 0.0
        self.lost_at = INF
        self.idle_from = INF
        self.idle_to = INF
        self.replaced_at = INF

    def draw_owner(self, run: NaiveReplication) -> None:
        """Draw the truck's own parameters, the first time they matter (it is stranded by a
        closure or held), and enter it in the run's fleet; a trip that ends uneventfully
        needs none of them."""
        self.drawn = True
        run.trucks.append(self)
        draw = run.draw
        index = bisect.bisect_right(run.group_cumulative, run.rng.random())
        self.group = min(index, len(run.groups) - 1)
        spec = run.groups[self.group]
        self.value = draw(spec.value_eur)
        self.worth = self.value * draw(spec.owner_value_factor)
        self.idle_rate = draw(spec.idle_cost_eur_per_day)
        sc = run.sc
        self.retrieval_draw = draw(sc.retrieval.cost_eur)
        self.driver_travel = draw(sc.retrieval.driver_travel_days)
        self.expected_release = draw(sc.owners.expected_release_days)
        self.replacement_cost = draw(sc.owners.replacement_cost_eur)
        self.replacement_rate = draw(sc.owners.replacement_eur_per_day)

    def idle_cost_until(self, day: float) -> float:
        """Idle cost over [idle_from, min(idle_to, replaced_at, day))."""
        if self.idle_from == INF:
            return 0.0
        end = min(self.idle_to, self.replaced_at, day)
        return self.idle_rate * max(0.0, end - self.idle_from)

    def replacement_cost_until(self, day: float) -> float:
        """The substitute's one-off cost and its daily cost until the truck is home or lost."""
        if self.replaced_at > day:
            return 0.0
        lease = max(0.0, min(self.idle_to, day) - self.replaced_at)
        return self.replacement_cost + self.replacement_rate * lease


class FeeSchedule:
    """The storage fee per day over time; ``accrued(t)`` integrates it from day 0."""

    def __init__(self, rate: float) -> None:
        self.days = [0.0]
        self.rates = [rate]
        self.totals = [0.0]

    def rate(self, day: float) -> float:
        return self.rates[max(0, bisect.bisect_right(self.days, day) - 1)]

    def accrued(self, day: float) -> float:
        i = max(0, bisect.bisect_right(self.days, day) - 1)
        return self.totals[i] + self.rates[i] * (day - self.days[i])

    def change(self, day: float, rate: float) -> None:
        self.totals.append(self.accrued(day))
        self.days.append(day)
        self.rates.append(rate)


@dataclass
class Scheme:
    """A compensation scheme in force over [start, end)."""

    start: float
    end: float
    per_day: float
    lump_sum: float
    fee_share: float
    budget: float
    groups: set[int] | None
    enters_decisions: bool

    def covers(self, group: int) -> bool:
        return self.groups is None or group in self.groups

    def paid_until(self, trucks: list[Truck], day: float) -> float:
        total = 0.0
        for t in trucks:
            if t.held_from == INF or not self.covers(t.group):
                continue
            on_from = max(t.held_from, self.start)
            on_to = min(t.left_lot, self.end)
            if on_to > on_from:
                total += self.per_day * max(0.0, min(on_to, day) - on_from)
                if on_from <= day:
                    total += self.lump_sum
            if self.start <= t.paid_at < self.end and t.paid_at <= day:
                total += self.fee_share * t.fee_paid
        return min(total, self.budget)


class Lane:
    """One lane of a checkpoint: when it is (or was last) free, and whether it closes once its
    current truck is through."""

    __slots__ = ("free_at", "closing")

    def __init__(self, free_at: float) -> None:
        self.free_at = free_at
        self.closing = False


class Checkpoint:
    """A crossing: its open lanes (the free ones in a ``simpy.Store``), the background traffic
    as a fluid, and a record of every standoff truck that reached it.

    The background fluid is one segment per change of its arrival rate or of the capacity:
    each segment's start, the background arrived (``A``) and queueing (``B``) there, the
    arrival rate and the capacity (vehicles/day); ``A`` and ``B`` are linear in between.
    """

    def __init__(
        self, env: simpy.Environment, name: str, spec: CheckpointSpec, background: float
    ) -> None:
        self.env = env
        self.name = name
        self.spec = spec
        self.mean_service = float(spec.service_days.mean())
        self.background = background  # vehicles/day while the border is open
        self.capacity = float(spec.lanes)  # lanes' worth, exact
        self.stretch = 1.0  # open lanes / lanes' worth
        self.free_lanes = simpy.Store(env)
        self.lanes: list[Lane] = []  # every open lane, free or busy
        for _ in range(spec.lanes):
            self.open_lane(0.0)
        rate = (
            background if spec.lanes > 0 else background * spec.background_queue_share_when_closed
        )
        # Fluid segments: (start, arrived, backlog, arrival rate, capacity per day).
        self.segments: list[tuple[float, float, float, float, float]] = [
            (0.0, 0.0, 0.0, rate, self.capacity / self.mean_service)
        ]
        self.changed = env.event()  # fires when the fluid's rates change
        self.override: float | None = None  # a `checkpoint` policy's capacity fraction
        # Standoff trucks that reached the queue: when, and when they left it (lane or hold).
        self.arrived: list[float] = []
        self.left: list[float] = []
        self.through: list[float] = []  # when each truck served here is through

    def open_lane(self, now: float) -> None:
        lane = Lane(now)
        self.lanes.append(lane)
        self.free_lanes.put(lane)

    def set_capacity(self, now: float, capacity: float, rate: float) -> None:
        """From ``now``: ``capacity`` lanes' worth (ceil(capacity) lanes, services stretched by
        ceil(capacity) / capacity) and background arriving at ``rate`` vehicles/day. Closing
        lanes are those that free up last; a busy one closes when its truck is through."""
        lanes = 0 if capacity <= LANE_TOLERANCE else max(1, math.ceil(capacity - LANE_TOLERANCE))
        if lanes < len(self.lanes):
            self.lanes.sort(key=lambda lane: lane.free_at)
            for lane in self.lanes[lanes:]:
                if lane in self.free_lanes.items:
                    self.free_lanes.items.remove(lane)
                else:
                    lane.closing = True
            del self.lanes[lanes:]
        while len(self.lanes) < lanes:
            self.open_lane(now)
        self.capacity = capacity if lanes else 0.0
        self.stretch = lanes / capacity if lanes else 1.0
        per_day = self.capacity / self.mean_service
        start, arrived, backlog, old_rate, old_per_day = self.segments[-1]
        if rate == old_rate and per_day == old_per_day:
            return
        self.segments.append(
            (now, arrived + old_rate * (now - start), self.backlog_at(now), rate, per_day)
        )
        changed, self.changed = self.changed, self.env.event()
        changed.succeed()

    # -- the background fluid --------------------------------------------------------------------
    def backlog_at(self, t: float) -> float:
        """Background queueing at ``t`` (not before the current segment's start)."""
        start, _, backlog, rate, per_day = self.segments[-1]
        return max(0.0, backlog + (rate - per_day) * (t - start))

    def arrived_at(self, t: float) -> float:
        """Background arrived by ``t`` (not before the current segment's start)."""
        start, arrived, _, rate, _ = self.segments[-1]
        return arrived + rate * (t - start)

    def ready_at(self, ahead: float) -> float:
        """When the background served reaches ``ahead`` under the current rates (-inf if it
        has, +inf if it never will)."""
        start, arrived, backlog, _, per_day = self.segments[-1]
        behind = ahead - (arrived - backlog)
        if behind <= 0:
            return -INF
        return start + behind / per_day if per_day > 0 else INF

    def service_factor(self, now: float) -> float:
        """Stretch of a service starting at ``now``: the lanes' (partial capacity), and while
        no background queues, 1 / (1 - rho) for the lanes' share the background uses."""
        start, _, backlog, rate, per_day = self.segments[-1]
        if rate <= 0 or per_day <= 0:
            return self.stretch
        clears = start + backlog / (per_day - rate) if rate < per_day else INF
        if now < clears:
            return self.stretch
        return self.stretch / (1.0 - min(rate / per_day, MAX_BACKGROUND_SHARE))

    # -- read-outs ---------------------------------------------------------------------------------
    def fluid(self, t: float) -> tuple[float, float, float]:
        """(background arrived, queueing, arrival rate) at ``t`` (the segment starting at ``t``
        gives the rate)."""
        segment = self.segments[0]
        for s in self.segments:
            if s[0] > t:
                break
            segment = s
        start, arrived, backlog, rate, per_day = segment
        return (
            arrived + rate * (t - start),
            max(0.0, backlog + (rate - per_day) * (t - start)),
            rate,
        )

    def knots(self, until: float) -> list[float]:
        """Times in [0, until] where the fluid's slopes change (and ``until``)."""
        times = [until]
        for start, _, backlog, rate, per_day in self.segments:
            if start <= until:
                times.append(start)
                if rate < per_day and backlog > 0:
                    clear = start + backlog / (per_day - rate)
                    if clear <= until:
                        times.append(clear)
        return sorted(set(times))

    def served_by(self, ahead: float, until: float) -> float:
        """The last time in [0, until] with at most ``ahead`` background served (``until`` if
        it is never more): when a vehicle with ``ahead`` before it gets its turn."""
        times = self.knots(until)
        served = []
        for t in times:
            arrived, backlog, _ = self.fluid(t)
            served.append(arrived - backlog)
        last = 0
        for j, d in enumerate(served):
            if d <= ahead:
                last = j
        if last == len(times) - 1:
            return until
        d0, d1 = served[last], served[last + 1]
        t0, t1 = times[last], times[last + 1]
        return t0 + (ahead - d0) * (t1 - t0) / (d1 - d0)

    def reach(self, level: float, until: float) -> float | None:
        """The first time in [0, until] the background arrived reaches ``level`` (None if it
        does not)."""
        times = self.knots(until)
        previous_t, previous_a = times[0], self.fluid(times[0])[0]
        for t in times[1:]:
            a = self.fluid(t)[0]
            if a >= level > previous_a:
                return previous_t + (level - previous_a) * (t - previous_t) / (a - previous_a)
            previous_t, previous_a = t, a
        return None

    def peak_queue(self) -> int:
        """Most standoff trucks waiting at once (a truck served on arrival never counts)."""
        steps = sorted([(t, -1) for t in self.left] + [(t, 1) for t in self.arrived])
        count = peak = 0
        for _, step in steps:
            count += step
            peak = max(peak, count)
        return peak

    def peak_vehicles(self, begin: float, end: float) -> float:
        """Most vehicles (standoff trucks waiting and background queueing) within
        [begin, end]: the count is a step function and the backlog linear between knots, so
        the peak is just before or just after one of those times (what queued before the
        window is read at its start)."""
        arrived, left = sorted(self.arrived), sorted(self.left)
        background = self.has_background()
        peak = 0.0
        for t in [begin, end, *self.arrived, *self.left, *self.knots(end)]:
            if not begin <= t <= end:
                continue
            after = bisect.bisect_right(arrived, t) - bisect.bisect_right(left, t)
            before = 0
            if t > begin:
                before = bisect.bisect_left(arrived, t) - bisect.bisect_left(left, t)
            backlog = self.fluid(t)[1] if background else 0.0
            peak = max(peak, max(after, before) + backlog)
        return peak

    def longest_wait(self, begin: float, end: float, horizon: float) -> float:
        """Longest wait (days) of a vehicle arriving in [begin, end], censored at ``horizon``:
        standoff trucks until they leave the queue, background vehicles until the background
        before them is served."""
        longest = 0.0
        for a, e in zip(self.arrived, self.left, strict=True):
            if begin <= a <= end:
                longest = max(longest, min(e, horizon) - a)
        if not self.has_background():
            return longest
        candidates = [begin, end] + self.knots(horizon)
        for t in self.knots(horizon):
            arrived, backlog, _ = self.fluid(t)
            when = self.reach(arrived - backlog, horizon)
            if when is not None:
                candidates.append(when)
        for t in candidates:
            if begin <= t <= end:
                arrived, _, rate = self.fluid(t)
                if rate > 0:
                    longest = max(longest, self.served_by(arrived, horizon) - t)
        return longest

    def has_background(self) -> bool:
        return any(s[3] > 0 for s in self.segments)

    def peak_daily_exits(self, horizon: float) -> int:
        """Most standoff trucks through here in one calendar day within [0, horizon)."""
        days: dict[int, int] = {}
        for t in self.through:
            if t < horizon:
                days[int(t)] = days.get(int(t), 0) + 1
        return max(days.values(), default=0)


def _divide(numerator: float, denominator: float) -> float | None:
    """numerator / denominator as numpy divides floats: +-inf for a zero denominator, None
    for 0 / 0 (numpy's nan, which no comparison accepts: that owner never queues)."""
    if denominator != 0:
        return numerator / denominator
    if numerator == 0:
        return None
    return math.copysign(INF, numerator) * math.copysign(1.0, denominator)


class NaiveReplication:
    """One replication of the per-truck SimPy model."""

    def __init__(self, scenario: Scenario, streams: Streams) -> None:
        self.sc = sc = scenario
        self.horizon = float(sc.horizon_days)
        self.env = env = simpy.Environment()
        self.rng = streams["naive.trucks"]
        self.rng_world = streams["naive.world"]
        self.rng_border = streams["naive.border"]
        self.rng_negotiation = streams["naive.negotiation"]
        self.streams = streams
        self._world: dict[int, float] = {}

        self.groups = list(sc.fleet.groups.values())
        self.group_cumulative = list(itertools.accumulate(g.share for g in self.groups))
        self.trucks: list[Truck] = []

        self.checkpoints = [
            Checkpoint(env, name, spec, max(0.0, self.world(spec.background_trucks_per_day)))
            for name, spec in sc.checkpoints.items()
        ]
        self.closed = False
        self.closure_spans: list[tuple[float, float]] = []
        self.closed_since: float | None = None
        self.closures_started = 0
        self.recent_incidents: list[float] = []
        self.earliest_closure = 0.0
        self.first_closure_day: float | None = None

        # Trips.
        self.initial_trucks = max(0, round(self.world(sc.fleet.trucks_in_belarus)))
        self.stay = self.world(sc.fleet.stay_days)
        self.inside: set[Truck] = set()  # on a trip (or stranded) in Belarus
        self.leaving: set[Truck] = set()  # heading home, service not started: the hold stops them
        self.entries_open = True
        self.entries_reopen = env.event()

        # The hold and detention.
        self.hold_pending = False
        self.hold_day: float | None = None
        self.trucks_held = 0
        self.on_lots = 0
        self.retrieved = 0
        self.fees = FeeSchedule(self.world(sc.detention.storage_fee_eur_per_day))
        self.schemes: list[Scheme] = []
        self._spent_key: tuple[int, float] | None = None
        self._spent = 0.0
        self.pending_compensation: Compensation | None = None
        self.belief_shift = 0.0
        self.belief_cap_day = INF
        self.announced_deadlines: list[float] = []
        self.decision_point = env.event()
        self.applications: list[tuple[float, float, Truck]] = []  # (tolerance, wait, owner)
        self.review_backlog = 0.0
        self.office = simpy.Store(env)
        self.office_free_at = 0.0
        self.backlog = 0
        self.backlog_peak = 0

        self.release_day: float | None = None
        self.release_channel = "none"
        self.release_due = 0.0
        self.confiscation_day: float | None = None

        # Minsk and the channels.
        self.countermeasures = 0.0
        self.talks_open_day: float | None = None
        self.talks_open = False
        self.lithuania_asked_day: float | None = None
        self.us_deals = 0
        self.prisoners_held = round(self.world(sc.us.prisoners_held))
        self.prisoners_released = 0
        self.sectors_lifted: list[tuple[str, float]] = []

    # -- parameters ------------------------------------------------------------------------------
    def world(self, dist: Dist) -> float:
        """A replication-level parameter: drawn on first use, then the same all replication."""
        key = id(dist)
        if key not in self._world:
            self._world[key] = float(dist.sample(self.rng_world))
        return self._world[key]

    def draw(self, dist: Dist) -> float:
        """A truck- or event-level parameter: a fresh draw."""
        return float(dist.sample(self.rng))

    # -- trips -----------------------------------------------------------------------------------
    def new_truck(self, stay: float) -> None:
        truck = Truck()
        truck.process = self.env.process(self.life(truck, stay))

    def entries(self) -> Process:
        """Trucks enter Belarus at a constant rate while the border is open and no hold."""
        if self.initial_trucks == 0:
            return
        mean_gap = self.stay / self.initial_trucks
        while True:
            if not self.entries_open:
                yield self.entries_reopen
                continue
            yield self.env.timeout(self.rng.exponential(mean_gap))
            if self.entries_open:
                self.new_truck(self.rng.exponential(self.stay))

    def life(self, truck: Truck, stay: float) -> Process:
        """A trip; stranded by a closure (maybe heading home); held by the hold order."""
        env = self.env
        self.inside.add(truck)
        while True:
            try:
                if stay < INF:
                    yield env.timeout(stay)
                    self.inside.discard(truck)
                    truck.status = GONE
                    return
                yield env.event()  # stranded: until the reopening or the hold
            except simpy.Interrupt as interrupt:
                cause = interrupt.cause
            if not truck.drawn:
                truck.draw_owner(self)
            if cause == "closure":
                stay = INF
                if self.hold_day is None and self.rng.random() < self.world(
                    self.sc.evacuation.share
                ):
                    self.inside.discard(truck)
                    caught = yield from self.evacuate(truck)
                    if not caught:
                        return
                    break
            elif cause == "reopen":
                stay = self.rng.exponential(self.stay)
            else:  # the hold order
                self.inside.discard(truck)
                break
        yield from self.detained(truck)

    def evacuate(self, truck: Truck) -> Process:
        """Head home; returns whether the hold order caught the truck before its service."""
        spec = self.sc.evacuation
        truck.status = LEAVING
        self.leaving.add(truck)
        checkpoint = self.choose_checkpoint()
        try:
            delay = self.draw(spec.decision_delay_days) + self.draw(spec.travel_days)
            yield self.env.timeout(delay)
            truck.idle_from = self.env.now
            yield from self.cross(truck, checkpoint)
        except simpy.Interrupt:
            return True
        return False

    def interrupt_inside(self, cause: str) -> None:
        for truck in list(self.inside):
            truck.process.interrupt(cause)  # type: ignore[union-attr]

    # -- the border ------------------------------------------------------------------------------
    def capacity_for(self, checkpoint: Checkpoint, now: float) -> float:
        """Lanes' worth open at ``checkpoint``: its lanes times the policy fraction (a
        ``checkpoint`` action's, else a schedule window's, else 1) times the closure fraction
        while the border is closed."""
        fraction = 1.0
        for window in checkpoint.spec.schedule:
            if window.from_day <= now < window.to_day:
                fraction = window.capacity_fraction
        if checkpoint.override is not None:
            fraction = checkpoint.override
        if self.closed:
            fraction *= checkpoint.spec.closure_capacity_fraction
        return max(0.0, checkpoint.spec.lanes * fraction)

    def refresh_capacity(self) -> None:
        now = self.env.now
        for checkpoint in self.checkpoints:
            capacity = self.capacity_for(checkpoint, now)
            rate = checkpoint.background
            if self.closed or capacity <= 0:
                rate *= checkpoint.spec.background_queue_share_when_closed
            checkpoint.set_capacity(now, capacity, rate)

    def choose_checkpoint(self) -> Checkpoint:
        """A checkpoint with probability proportional to its capacity (nominal lanes if
        none)."""
        weights = [c.capacity for c in self.checkpoints]
        if sum(weights) == 0:
            weights = [float(c.spec.lanes) for c in self.checkpoints]
        u = self.rng_border.random() * sum(weights)
        for checkpoint, weight in zip(self.checkpoints, weights, strict=True):
            u -= weight
            if u < 0:
                return checkpoint
        return self.checkpoints[-1]

    def cross(self, truck: Truck, checkpoint: Checkpoint) -> Process:
        """Wait for the background that arrived before the truck, then for a lane (FIFO among
        trucks), cross, and get home."""
        env = self.env
        service = float(checkpoint.spec.service_days.sample(self.rng_border))
        record = len(checkpoint.arrived)
        checkpoint.arrived.append(env.now)
        checkpoint.left.append(INF)
        ahead = checkpoint.arrived_at(env.now)
        request: simpy.resources.store.StoreGet | None = None
        try:
            while True:  # until the background ahead is served (rates may change meanwhile)
                ready = checkpoint.ready_at(ahead)
                if ready <= env.now:
                    break
                changed = checkpoint.changed
                if ready == INF:
                    yield changed
                    continue
                timer = env.timeout(ready - env.now)
                fired = yield timer | changed
                if timer in fired:
                    break
            request = checkpoint.free_lanes.get()
            lane = yield request
        except simpy.Interrupt:
            checkpoint.left[record] = env.now
            if request is not None:
                if request.triggered:
                    self.free_lane(checkpoint, cast(Lane, request.value))
                else:
                    request.cancel()
            raise
        now = env.now
        checkpoint.left[record] = now
        truck.started_service = True
        self.leaving.discard(truck)
        duration = service * checkpoint.service_factor(now)
        lane.free_at = now + duration
        checkpoint.through.append(now + duration)
        yield env.timeout(duration)
        self.free_lane(checkpoint, lane)
        truck.idle_to = env.now

    @staticmethod
    def free_lane(checkpoint: Checkpoint, lane: Lane) -> None:
        """A lane is free again (or closes, if it was closing)."""
        if not lane.closing:
            checkpoint.free_lanes.put(lane)

    def incidents(self) -> Process:
        """Poisson incidents with a piecewise-constant rate; each one may close the border."""
        schedule = self.sc.incidents.schedule
        ends = [p.from_day for p in schedule[1:]] + [INF]
        for period, end in zip(schedule, ends, strict=True):
            end = min(end, self.horizon)
            rate = self.world(period.rate_per_day)
            while self.env.now < end:
                gap = self.rng_border.exponential(1.0 / rate) if rate > 0 else INF
                if self.env.now + gap >= end:
                    yield self.env.timeout(end - self.env.now)
                    break
                yield self.env.timeout(gap)
                self.on_incident()

    def on_incident(self) -> None:
        """The closure rule: k incidents within w days (counted since the last reopening)."""
        spec = self.sc.closure
        if self.closed:
            return  # incidents during a closure do not count toward the next one
        now = self.env.now
        self.recent_incidents = [t for t in self.recent_incidents if t >= now - spec.window_days]
        self.recent_incidents.append(now)
        if (
            len(self.recent_incidents) >= spec.incidents_threshold
            and now >= self.earliest_closure
            and self.closures_started < spec.max_closures
        ):
            self.env.process(self.closure())

    def fixed_closure(self) -> Process:
        day = float(self.sc.closure.fixed_day)  # type: ignore[arg-type]
        if day >= self.horizon or self.sc.closure.max_closures < 1:
            return
        yield self.env.timeout(day)
        yield from self.closure()

    def closure(self) -> Process:
        """Close the border (entries stop, lanes cut, trucks inside stranded), wait, reopen."""
        spec = self.sc.closure
        self.closures_started += 1
        planned = self.draw(spec.planned_duration_days)
        early = self.draw(spec.early_end_days) if spec.early_end_days is not None else INF
        self.closed = True
        self.entries_open = False
        self.closed_since = self.env.now
        self.recent_incidents = []
        self.refresh_capacity()
        if self.first_closure_day is None:
            self.first_closure_day = self.env.now
        self.interrupt_inside("closure")
        self.consider_hold()
        yield self.env.timeout(min(planned, early))
        self.closed = False
        self.closure_spans.append((self.closed_since, self.env.now))
        self.closed_since = None
        self.refresh_capacity()
        self.interrupt_inside("reopen")
        if self.hold_day is None:
            self.entries_open = True
            reopened, self.entries_reopen = self.entries_reopen, self.env.event()
            reopened.succeed()
        self.earliest_closure = self.env.now + spec.min_days_between_closures

    def policy_change(self, day: float) -> Process:
        yield self.env.timeout(day)
        self.refresh_capacity()

    def consider_hold(self) -> None:
        spec = self.sc.hold
        probability = self.draw(spec.probability)
        delay = self.draw(spec.reaction_delay_days)
        orders = self.rng.random() < probability
        after_reopening = self.rng.random() < self.world(spec.after_reopening_probability)
        if orders and self.hold_day is None and not self.hold_pending:
            self.hold_pending = True
            self.env.process(self.hold_order(delay, after_reopening))

    # -- the hold order --------------------------------------------------------------------------
    def hold_order(self, delay: float, after_reopening: bool) -> Process:
        yield self.env.timeout(delay)
        self.hold_pending = False
        if not self.closed and not after_reopening:
            return
        env = self.env
        self.hold_day = env.now
        self.entries_open = False
        for truck in list(self.leaving):
            truck.process.interrupt("hold")  # type: ignore[union-attr]
        self.leaving.clear()
        self.interrupt_inside("hold")
        spec = self.pending_compensation or self.sc.compensation
        self.start_compensation(spec, env.now + spec.starts_days_after_hold)
        self.office_free_at = env.now
        env.process(self.office_process())
        if self.sc.government.enabled:
            env.process(self.government())
        if self.sc.carriers.enabled:
            env.process(self.carriers())
        if self.sc.us.enabled:
            env.process(self.lithuania_request())
        env.process(self.storage_period())
        env.process(self.owners_review())
        # The interrupted trucks reach the lots at this instant (urgent events): review after.
        yield env.timeout(0)
        self.trucks_held = self.on_lots
        self.review()

    def unresolved(self) -> bool:
        """A hold is in force, no release or confiscation yet, and trucks are on the lots."""
        return (
            self.hold_day is not None
            and self.release_day is None
            and self.confiscation_day is None
            and self.on_lots > 0
        )

    def fee_owed(self, day: float) -> float:
        if self.hold_day is None:
            return 0.0
        return self.fees.accrued(day) - self.fees.accrued(self.hold_day)

    # -- compensation ----------------------------------------------------------------------------
    def start_compensation(self, spec: Compensation, day: float) -> None:
        """``spec`` replaces the scheme in force from ``day`` on."""
        for scheme in self.schemes:
            scheme.end = min(scheme.end, max(day, scheme.start))
        names = list(self.sc.fleet.groups)
        self.schemes.append(
            Scheme(
                start=day,
                end=INF,
                per_day=self.world(spec.eur_per_truck_per_day),
                lump_sum=self.world(spec.lump_sum_eur_per_truck),
                fee_share=self.world(spec.fee_share_reimbursed),
                budget=INF if spec.budget_eur is None else self.world(spec.budget_eur),
                groups=None if spec.groups is None else {names.index(g) for g in spec.groups},
                enters_decisions=spec.enters_decisions,
            )
        )

    def compensation_terms(self, day: float, group: int) -> tuple[float, float]:
        """(per day, fee share refunded) an owner of ``group`` counts on at ``day``: nothing
        once the scheme's budget is spent (owners learn it at their next decision point)."""
        for scheme in reversed(self.schemes):
            if scheme.start <= day < scheme.end:
                if scheme.enters_decisions and scheme.covers(group):
                    if scheme.budget < INF and self.spent(scheme, day) >= scheme.budget:
                        return 0.0, 0.0
                    return scheme.per_day, scheme.fee_share
                return 0.0, 0.0
        return 0.0, 0.0

    def spent(self, scheme: Scheme, day: float) -> float:
        """What ``scheme`` has paid by ``day`` (worked out once per scheme and day)."""
        key = (id(scheme), day)
        if self._spent_key != key:
            self._spent_key = key
            self._spent = scheme.paid_until(self.trucks, day)
        return self._spent

    def compensation_until(self, day: float) -> float:
        return sum(s.paid_until(self.trucks, day) for s in self.schemes)

    # -- owners ----------------------------------------------------------------------------------
    def review(self) -> None:
        """A decision point: every owner with a truck on the lots reconsiders."""
        if not self.unresolved():
            return
        self.applications = []
        self.review_backlog = max(0.0, self.office_free_at - self.env.now)
        self.broadcast(REVIEW)
        self.env.process(self.take_applications())

    def broadcast(self, kind: str) -> None:
        point, self.decision_point = self.decision_point, self.env.event()
        point.succeed(kind)

    def take_applications(self) -> Process:
        """Belarus's office takes a decision point's applications, most tolerant first: an owner
        joins the processing queue while their tolerable wait covers their place in it; the
        others wait or write the truck off, whichever they prefer."""
        yield self.env.timeout(0)  # after every owner woken by the decision point has applied
        now = self.env.now
        per_truck = 1.0 / self.world(self.sc.belarus.processing_per_day)
        applications = sorted(self.applications, key=lambda a: -a[0])
        self.applications = []
        for tolerance, wait, truck in applications:
            reply = truck.reply
            assert reply is not None
            place = max(0.0, self.office_free_at - now) + per_truck  # when it would be processed
            if tolerance >= place and self.unresolved():
                truck.queued = True
                self.office_free_at = max(now, self.office_free_at) + per_truck
                self.office.put(truck)
                self.backlog += 1
                self.backlog_peak = max(self.backlog_peak, self.backlog)
                # Joining the queue, the owner replaces the truck if the wait pays for that.
                if (
                    truck.replaced_at == INF
                    and (truck.idle_rate - truck.replacement_rate) * place > truck.replacement_cost
                ):
                    truck.replaced_at = now
                reply.succeed("queued")
            else:
                reply.succeed("write_off" if truck.worth < wait else "wait")

    def office_process(self) -> Process:
        """Belarus processes retrievals one after another at its rate."""
        per_truck = 1.0 / self.world(self.sc.belarus.processing_per_day)
        while True:
            truck = yield self.office.get()
            yield self.env.timeout(per_truck)
            self.backlog -= 1
            if truck.status == HELD and self.unresolved():
                now = self.env.now
                truck.status = RETURNING
                truck.exit_kind = EXIT_RETRIEVED
                self.pay(truck, self.fee_owed(now), now)
                self.on_lots -= 1
                self.retrieved += 1
                truck.process.interrupt("processed")

    def expected_days(self, truck: Truck, now: float) -> float:
        """Days until a general release this owner expects at ``now``."""
        waited = now - self.hold_day  # type: ignore[operator]
        belief = truck.expected_release + self.world(self.sc.owners.belief_pessimism) * waited
        return min(belief + self.belief_shift, max(0.0, self.belief_cap_day - now))

    def believed_deadline(self, now: float) -> float:
        future = [d for d in self.announced_deadlines if d > now]
        return min(future) if future else INF

    def consider_replacement(self, truck: Truck, expected: float) -> None:
        """An owner still waiting (not in the processing queue) replaces the truck when the
        saving over the time they expect to be without it pays for a substitute."""
        if truck.replaced_at < INF:
            return
        saving = (truck.idle_rate - truck.replacement_rate) * max(expected, 0.0)
        if saving > truck.replacement_cost:
            truck.replaced_at = self.env.now

    def owner_choice(self, truck: Truck, expected: float) -> tuple[float, float] | None:
        """(tolerable processing wait, cost of waiting) if the owner applies to retrieve (or
        may write off); None if they simply wait."""
        now = self.env.now
        owners = self.sc.owners
        per_day, share = self.compensation_terms(now, truck.group)
        daily = truck.replacement_rate if truck.replaced_at < INF else truck.idle_rate
        net = daily - per_day
        owed = self.fee_owed(now)
        rate = self.fees.rate(now)
        r = truck.retrieval_draw
        w = truck.worth
        days = max(expected, 0.0)
        discount = self.world(owners.expected_fee_discount)
        wait = (1.0 - share) * (1.0 - discount) * (owed + rate * days) + r + net * days
        deadline = self.believed_deadline(now)
        credibility = self.world(owners.deadline_credibility)
        believed = credibility > 0 and deadline < INF
        until_deadline = max(0.0, deadline - now)
        lose = w + net * until_deadline
        if believed and now + days > deadline:
            wait = (1.0 - credibility) * wait + credibility * lose
        alternative = min(wait, w)
        a = (1.0 - share) * owed + r
        b = (1.0 - share) * rate + net
        if b > 0:
            tolerance = (alternative - a) / b
        else:
            tolerance = INF if a <= alternative else -INF
        if believed and tolerance > until_deadline:
            # A place in the queue after the deadline: the truck may be confiscated first, so
            # retrieving then costs (1 - p)(a + b q) + p lose, tolerable up to ``late``.
            if credibility >= 1.0:
                tolerance = until_deadline
            else:
                late = _divide(
                    alternative - credibility * lose - (1.0 - credibility) * a,
                    (1.0 - credibility) * b,
                )
                tolerance = -INF if late is None else max(until_deadline, min(tolerance, late))
        first = self.review_backlog + 1.0 / self.world(self.sc.belarus.processing_per_day)
        if tolerance >= first or w < wait:
            return tolerance, wait
        return None

    def detained(self, truck: Truck) -> Process:
        """The owner of a held truck: decide at each decision point until the truck is out."""
        env = self.env
        truck.status = HELD
        truck.held_from = env.now
        truck.idle_from = min(truck.idle_from, env.now)
        self.on_lots += 1
        while True:
            try:
                kind = yield self.decision_point
            except simpy.Interrupt:  # processed by Belarus's office: a driver fetches it
                yield from self.go_home(truck)
                return
            if kind == RELEASE:
                yield from self.released(truck)
                return
            if kind == CONFISCATE:
                self.lose(truck, CONFISCATED)
                return
            if truck.queued:
                continue
            expected = self.expected_days(truck, env.now)
            choice = self.owner_choice(truck, expected)
            if choice is None:
                # Having decided to wait, the owner considers a substitute until the release.
                self.consider_replacement(truck, expected)
                continue
            truck.reply = env.event()
            self.applications.append((choice[0], choice[1], truck))
            answer = yield truck.reply
            if answer == "wait":
                self.consider_replacement(truck, expected)
            # A release or confiscation at this same instant went by while it waited.
            if self.release_day is not None and truck.status == HELD:
                yield from self.released(truck)
                return
            if self.confiscation_day is not None and truck.status == HELD:
                self.lose(truck, CONFISCATED)
                return
            if answer == "write_off":
                self.lose(truck, ABANDONED)
                self.on_lots -= 1
                return

    def go_home(self, truck: Truck, checkpoint: Checkpoint | None = None) -> Process:
        """A driver fetches the truck and takes it through a checkpoint (chosen now if not
        given)."""
        if checkpoint is None:
            checkpoint = self.choose_checkpoint()
        yield self.env.timeout(truck.driver_travel)
        truck.left_lot = self.env.now
        yield from self.cross(truck, checkpoint)

    def released(self, truck: Truck) -> Process:
        """Under the general release: pay and send a driver, or abandon the truck."""
        env = self.env
        self.on_lots -= 1
        _, share = self.compensation_terms(env.now, truck.group)
        due = self.release_due
        if (1.0 - share) * due + truck.retrieval_draw > truck.worth:
            self.lose(truck, ABANDONED)
            return
        truck.status = RETURNING
        truck.exit_kind = EXIT_RELEASED
        checkpoint = self.choose_checkpoint()
        yield env.timeout(self.draw(self.sc.release.pickup_delay_days))
        self.pay(truck, due, env.now)
        yield from self.go_home(truck, checkpoint)

    def pay(self, truck: Truck, fee: float, now: float) -> None:
        truck.paid_at = now
        truck.fee_paid = fee
        truck.retrieval_cost = truck.retrieval_draw

    def lose(self, truck: Truck, status: int) -> None:
        truck.status = status
        truck.lost_at = truck.left_lot = truck.idle_to = self.env.now

    def owners_review(self) -> Process:
        interval = self.sc.owners.review_interval_days
        while True:
            yield self.env.timeout(interval)
            if not self.unresolved():
                return
            self.review()

    # -- news --------------------------------------------------------------------------------------
    def news(self, shift: float) -> None:
        self.belief_shift += shift
        self.review()

    def expect_release_by(self, day: float | None) -> None:
        self.belief_cap_day = INF if day is None else day
        self.review()

    def announce_deadline(self, deadline: float) -> None:
        self.announced_deadlines.append(deadline)
        self.review()

    # -- release and confiscation ------------------------------------------------------------------
    def release(self, channel: str) -> None:
        """The general release: every held truck may leave once its fee is paid."""
        if not self.unresolved():
            return
        now = self.env.now
        self.release_day = now
        self.release_channel = channel
        if self.sc.release.fee_rule == "flat":
            self.release_due = self.world(self.sc.release.flat_fee_eur)
        else:
            discount = self.world(self.sc.release.fee_discount)
            self.release_due = self.fee_owed(now) * (1.0 - discount)
        self.broadcast(RELEASE)

    def confiscate(self) -> None:
        if not self.unresolved():
            return
        self.confiscation_day = self.env.now
        self.on_lots = 0
        self.broadcast(CONFISCATE)

    def storage_period(self) -> Process:
        spec = self.sc.detention
        env = self.env
        deadline = env.now + self.world(spec.storage_period_days)
        enforced = self.rng_negotiation.random() < self.world(spec.confiscation_probability)
        announce = spec.deadline_announced_days_after_hold
        if announce is not None:
            delay = float(announce.sample(self.rng_negotiation))
            if env.now + delay < deadline:
                yield env.timeout(delay)
                self.announce_deadline(deadline)
        yield env.timeout(max(0.0, deadline - env.now))
        if enforced:
            self.confiscate()

    def deadline_policy(self, deadline: float, enforced: bool) -> Process:
        yield self.env.timeout(max(0.0, deadline - self.env.now))
        if enforced:
            self.confiscate()

    # -- Minsk -----------------------------------------------------------------------------------
    def price(self) -> float:
        """Minsk's reservation price for releasing the trucks now."""
        spec = self.sc.belarus
        now = self.env.now
        brings = self.on_lots * (
            self.fees.rate(now) + self.world(spec.leverage_eur_per_truck_per_day)
        )
        costs = self.world(spec.pressure_eur_per_day) + self.countermeasures
        return max(0.0, brings - costs) * self.world(spec.planning_days)

    def accepts(self, offer: float) -> bool:
        return offer >= self.price()

    # -- negotiation channels ----------------------------------------------------------------------
    def government(self) -> Process:
        spec = self.sc.government
        rng = self.rng_negotiation
        while True:
            yield self.env.timeout(float(spec.attempt_interval_days.sample(rng)))
            offer = float(spec.offer_eur.sample(rng))
            if not self.unresolved():
                return
            if self.accepts(offer):
                self.release("government")
                return

    def carriers(self) -> Process:
        spec = self.sc.carriers
        rng = self.rng_negotiation
        env = self.env
        if spec.opening_day is not None:
            opening = max(env.now, spec.opening_day)
        else:
            opening = env.now + self.world(spec.patience_days)
        if spec.patience_loss_eur is not None and spec.opening_day is None:
            threshold = self.world(spec.patience_loss_eur)
            while env.now + spec.check_interval_days < opening:
                yield env.timeout(spec.check_interval_days)
                if not self.unresolved():
                    return
                if self.net_loss_until(env.now) >= threshold:
                    opening = env.now
                    break
        yield env.timeout(max(0.0, opening - env.now))
        while True:
            if not self.unresolved():
                return
            duration = float(spec.talks_duration_days.sample(rng))
            offer = float(spec.offer_eur.sample(rng))
            if self.talks_open_day is None:
                self.talks_open_day = env.now
            self.talks_open = True
            self.expect_release_by(env.now + self.world(self.sc.owners.talks_open_expected_days))
            yield env.timeout(duration)
            self.talks_open = False
            if not self.unresolved():
                return
            if self.accepts(offer):
                self.release("carriers")
                return
            self.expect_release_by(None)
            if spec.retry_days is None:
                return
            yield env.timeout(float(spec.retry_days.sample(rng)))

    def lithuania_request(self) -> Process:
        delay = self.sc.us.lithuania_request_days_after_hold
        if delay is None:
            return
        yield self.env.timeout(float(delay.sample(self.rng_negotiation)))
        self.ask_us()

    def ask_us(self) -> None:
        if self.lithuania_asked_day is None:
            self.lithuania_asked_day = self.env.now

    def truck_offer(self, draw: float) -> float:
        offer = draw
        if self.lithuania_asked_day is not None:
            offer += self.world(self.sc.us.lithuania_request_offer_eur)
        if self.talks_open:
            offer += self.world(self.sc.carriers.us_offer_eur)
        return offer

    def us_mediation(self) -> Process:
        spec = self.sc.us
        rng = self.rng_negotiation
        env = self.env
        deal_probability = self.world(spec.deal_probability)
        sectors = [name for name, s in spec.sanctions.items() if not s.lifted_at_start]
        disappointment = self.world(self.sc.owners.us_visit_without_trucks_days)
        visit_day = spec.last_visit_day
        while True:
            visit_day += float(spec.visit_interval_days.sample(rng))
            if visit_day >= self.horizon:
                return
            if visit_day < env.now:
                continue  # a visit before the scenario starts
            yield env.timeout(visit_day - env.now)
            held = self.unresolved()
            if rng.random() >= deal_probability:
                if held:
                    self.news(disappointment)
                continue
            self.us_deals += 1
            freed = min(
                round(float(spec.prisoners_per_deal.sample(rng))),
                self.prisoners_held - self.prisoners_released,
            )
            self.prisoners_released += max(0, freed)
            for _ in range(spec.sectors_per_deal):
                if len(self.sectors_lifted) < len(sectors):
                    self.sectors_lifted.append((sectors[len(self.sectors_lifted)], env.now))
            if held and self.accepts(self.truck_offer(float(spec.trucks_offer_eur.sample(rng)))):
                delay = float(spec.release_delay_days.sample(rng))
                self.expect_release_by(env.now + delay)
                env.process(self.release_after(delay))
            elif held:
                self.news(disappointment)

    def release_after(self, delay: float) -> Process:
        yield self.env.timeout(delay)
        self.release("us")

    def sanctions_relief(self) -> float:
        return sanctions_relief_eur(self.sc.us, self.world, self.sectors_lifted)

    # -- policies ----------------------------------------------------------------------------------
    def metric(self, name: str) -> float | None:
        if self.hold_day is None:
            return None
        now = self.env.now
        if name == "days_since_hold":
            return now - self.hold_day
        if name == "trucks_on_lots":
            return float(self.on_lots)
        if name == "trucks_retrieved":
            return float(self.retrieved)
        return self.net_loss_until(now)

    def policy(self, policy: Policy) -> Process:
        env = self.env
        if policy.day is not None:
            if policy.day >= self.horizon:
                return
            yield env.timeout(max(0.0, policy.day - env.now))
        else:
            condition = policy.when
            assert condition is not None
            while not holds(condition, self.metric(condition.metric)):
                if env.now + 1.0 >= self.horizon:
                    return
                if self.hold_day is not None and not self.unresolved():
                    return  # the hold is over: the condition can no longer fire
                yield env.timeout(1.0)
        self.act(policy)

    def act(self, policy: Policy) -> None:
        now = self.env.now
        if policy.action == "set_fee":
            self.fees.change(now, self.world(policy.eur_per_day))
            self.review()
        elif policy.action == "compensation":
            if self.hold_day is None:
                self.pending_compensation = policy
            else:
                self.start_compensation(
                    policy, max(now, self.hold_day + policy.starts_days_after_hold)
                )
                self.review()
        elif policy.action == "ask_us":
            self.ask_us()
        elif policy.action == "checkpoint":
            for checkpoint in self.checkpoints:
                if checkpoint.name == policy.checkpoint:
                    checkpoint.override = policy.capacity_fraction
            self.refresh_capacity()
        elif policy.action == "confiscation_deadline":
            rng = self.streams[f"naive.policy/{policy.name}"]
            enforced = rng.random() < self.world(policy.probability)
            deadline = now + policy.days
            self.announce_deadline(deadline)  # owners hear of it now, or at the hold
            self.env.process(self.deadline_policy(deadline, enforced))
        elif policy.action == "eu_countermeasures":
            self.countermeasures += self.world(policy.eur_per_day)

    # -- accounting --------------------------------------------------------------------------------
    def carrier_cost_until(self, day: float) -> float:
        cost = 0.0
        for t in self.trucks:
            if t.paid_at <= day:
                cost += t.fee_paid + t.retrieval_cost
            if t.lost_at <= day:
                cost += t.value
            cost += t.idle_cost_until(day) + t.replacement_cost_until(day)
        return cost

    def net_loss_until(self, day: float) -> float:
        return self.carrier_cost_until(day) - self.compensation_until(day)

    # -- the run ---------------------------------------------------------------------------------
    def run(self) -> Outcomes:
        env = self.env
        for _ in range(self.initial_trucks):
            self.new_truck(self.rng.exponential(self.stay))
        env.process(self.entries())
        rule = self.sc.closure.rule
        if rule == "incidents":
            env.process(self.incidents())
        elif rule == "fixed_day":
            env.process(self.fixed_closure())
        days = {w.from_day for c in self.checkpoints for w in c.spec.schedule}
        days |= {w.to_day for c in self.checkpoints for w in c.spec.schedule}
        for day in sorted(days):
            if 0 < day < self.horizon:
                env.process(self.policy_change(day))
        self.refresh_capacity()
        if self.sc.us.enabled:
            env.process(self.us_mediation())
        for policy in self.sc.policies:
            env.process(self.policy(policy))
        env.run(until=self.horizon)
        return self.outcomes()

    def outcomes(self) -> Outcomes:
        h = self.horizon
        trucks = self.trucks
        held = [t for t in trucks if t.held_from < INF]
        stays = [min(t.left_lot, h) - t.held_from for t in held]
        fees = sum(t.fee_paid for t in trucks if t.paid_at <= h)
        retrieval = sum(t.retrieval_cost for t in trucks if t.paid_at <= h)
        assets = sum(t.value for t in trucks if t.lost_at <= h)
        idle = sum(t.idle_cost_until(h) for t in trucks)
        replacement = sum(t.replacement_cost_until(h) for t in trucks)
        carrier_cost = fees + retrieval + assets + idle + replacement
        compensation = self.compensation_until(h)
        relief = self.sanctions_relief()
        # Fees owed at the horizon: the fee accrued on trucks still held, and the fee due on
        # trucks released on terms but not yet paid for.
        owed = sum(1 for t in trucks if t.status == HELD) * max(self.fee_owed(h), 0.0)
        owed += sum(
            self.release_due for t in trucks if t.exit_kind == EXIT_RELEASED and t.paid_at > h
        )

        def got_out(t: Truck) -> bool:
            return t.idle_to <= h and t.status in (LEAVING, RETURNING)

        if self.hold_day is not None:
            evacuated = sum(1 for t in trucks if t.status == LEAVING and t.started_service)
        else:
            evacuated = sum(1 for t in trucks if t.status == LEAVING and t.idle_to <= h)
        on_the_way = any(
            t.status == HELD
            or (t.status == RETURNING and not got_out(t))
            or (self.hold_day is not None and t.status == LEAVING and not got_out(t))
            for t in trucks
        )
        home = [t.idle_to for t in trucks if got_out(t)]
        last_home = max(home) if home and not on_the_way else None

        def since(day: float | None, origin: float | None) -> float | None:
            return None if day is None or origin is None else day - origin

        spans = list(self.closure_spans)
        if self.closed_since is not None:
            spans.append((self.closed_since, h))

        def count(status: int) -> int:
            return sum(1 for t in trucks if t.status == status)

        def exits(kind: int) -> int:
            return sum(1 for t in trucks if t.exit_kind == kind)

        confiscated = count(CONFISCATED)
        still_held = count(HELD)
        standoff_gain = fees + assets
        reopening_peak: float | None = None
        reopening_wait: float | None = None
        if self.closure_spans:  # the window after the first reopening
            begin = self.closure_spans[0][1]
            end = min(begin + REOPENING_WINDOW_DAYS, h)
            reopening_peak = max(c.peak_vehicles(begin, end) for c in self.checkpoints)
            reopening_wait = 24.0 * max(c.longest_wait(begin, end, h) for c in self.checkpoints)
        return {
            "trucks_in_belarus": self.initial_trucks,
            "trucks_evacuated": evacuated,
            "trucks_held": self.trucks_held,
            "trucks_retrieved": exits(EXIT_RETRIEVED),
            "trucks_released": exits(EXIT_RELEASED),
            "trucks_abandoned": count(ABANDONED),
            "trucks_confiscated": confiscated,
            "trucks_still_held": still_held,
            "trucks_replaced": sum(1 for t in trucks if t.replaced_at <= h),
            "retrieval_backlog_peak": self.backlog_peak,
            "closure_day": self.first_closure_day,
            "closures": self.closures_started,
            "border_closed_days": float(sum(min(e, h) - s for s, e in spans)),
            "hold_day": self.hold_day,
            "release_day": self.release_day,
            "release_channel": self.release_channel,
            "resolution": resolution(self.hold_day, self.release_channel, confiscated, still_held),
            "hold_to_release_days": since(self.release_day, self.hold_day),
            "closure_to_release_days": since(self.release_day, self.first_closure_day),
            "carriers_talks_day": self.talks_open_day,
            "last_truck_home_day": last_home,
            "detention_days_mean": float(np.mean(stays)) if stays else None,
            "detention_days_max": float(max(stays)) if stays else None,
            "truck_days_held": float(sum(stays)),
            "storage_fee_per_truck_at_release_eur": (
                self.fee_owed(self.release_day) if self.release_day is not None else None
            ),
            "carrier_cost_eur": carrier_cost,
            "fees_paid_eur": fees,
            "fees_owed_eur": owed,
            "idle_cost_eur": idle,
            "replacement_cost_eur": replacement,
            "assets_lost_eur": assets,
            "retrieval_cost_eur": retrieval,
            "compensation_paid_eur": compensation,
            "carrier_net_cost_eur": carrier_cost - compensation,
            "lithuania_fiscal_cost_eur": compensation,
            "belarus_standoff_gain_eur": standoff_gain,
            "belarus_gain_eur": standoff_gain + relief,
            "sanctions_relief_eur": relief,
            "prisoners_released": self.prisoners_released,
            "us_deals": self.us_deals,
            "peak_checkpoint_queue": max(c.peak_queue() for c in self.checkpoints),
            "reopening_peak_queue": reopening_peak,
            "reopening_wait_hours": reopening_wait,
            "peak_daily_exits": max(c.peak_daily_exits(h) for c in self.checkpoints),
        }


class NaiveStandoffModel:
    """The naive model behind the engine's interface: ``run_replication(streams)``."""

    name = "standoff-naive"

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    def run_replication(self, streams: Streams) -> Outcomes:
        """Run one replication and return its outcomes (no daily series)."""
        return NaiveReplication(self.scenario, streams).run()
