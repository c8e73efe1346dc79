"""A straightforward per-truck SimPy version of the border-standoff model: the speed yardstick.

This is what a competent SimPy user writes first for the model of ``shared/MODEL.md``, with
the same parameters, scopes and decision rules as the engine (``sim.model.standoff``), so
that ``benchmarks/speed.py`` can time both and check that their outcomes agree in
distribution. It is not a straw man: every truck is one ``env.process`` that waits on
events (never polls), and the checkpoints are plain ``simpy.PriorityResource`` objects.

- **Trucks.** One process per truck runs its whole life: wait for the first closure; maybe
  evacuate (decide, drive, queue, cross); else wait for the hold order; on the lots wait for
  the first of its retrieval decision, the general release and the confiscation
  (``simpy.AnyOf``); pay or abandon; a driver travels in; queue; cross; home.
- **Checkpoints.** A ``PriorityResource`` with one slot per lane (its capacity is the most
  lanes it can ever have). Trucks request a lane with priority 1 and hold it for their
  service time.
- **Closures** (and policy windows) cut lanes through a lane blocker: to close ``n`` lanes it
  issues ``n`` requests with priority 0, which take lanes ahead of every queued truck as soon
  as they free up; service in progress is never pre-empted. At reopening the blocker gives
  back the lanes it holds and withdraws the requests still waiting. Each closure is a
  process that closes the border, waits for the closure's duration, and reopens it.
- **Incidents** are a Poisson process (exponential gaps, restarted at each change of rate);
  each incident checks the closure rule (k incidents within w days).
- **The hold order** interrupts (``process.interrupt``) every truck that is heading home and
  has not started service (on the road or in a queue: it leaves the queue), and triggers the
  event the trucks still at large wait on.
- **The general release and confiscation** are SimPy events the held trucks wait on; the
  negotiation channels (government, carriers, US mediation) are plain SimPy processes with
  the engine's logic.

Parameter scopes follow the schema: replication-level parameters are drawn once per
replication (on first use), truck-level ones once per truck, event-level ones per event.
Random streams differ from the engine's; the outcomes agree in distribution only.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from sim.model.standoff.schema import Checkpoint as CheckpointSpec
from sim.model.standoff.schema import Scenario
from sim.scenario.distributions import Dist
from sim.seeding import Streams

Process = Generator[simpy.Event, Any, None]
Outcomes = dict[str, float | int | str | None]

INF = math.inf

# Truck status.
AT_LARGE = 0  # in Belarus, not heading home
LEAVING = 1  # heading home before the hold order (deciding, driving, queueing, or crossed)
HELD = 2  # on a guarded lot
RETURNING = 3  # paid for (or to be paid for under the release): going home
ABANDONED = 4  # given up by its owner
CONFISCATED = 5  # taken by Belarus

# How a truck got out.
EXIT_NONE = 0
EXIT_EVACUATED = 1
EXIT_RETRIEVED = 2
EXIT_RELEASED = 3

TRUCK_PRIORITY = 1
BLOCKER_PRIORITY = 0  # lane blockers go ahead of every queued truck


class Truck:
    """One vehicle: its parameters and the record of what happened to it."""

    __slots__ = (
        "value",
        "worth",
        "idle_rate",
        "status",
        "exit_kind",
        "process",
        "started_service",
        "held_from",
        "left_lot",
        "paid_at",
        "fee_paid",
        "retrieval_cost",
        "lost_at",
        "idle_from",
        "idle_to",
    )

    def __init__(self, value: float, worth: float, idle_rate: float) -> None:
        self.value = value
        self.worth = worth
        self.idle_rate = idle_rate
        self.status = AT_LARGE
        self.exit_kind = EXIT_NONE
        self.process: simpy.Process | None = None
        self.started_service = False
        self.held_from = INF
        self.left_lot = INF
        self.paid_at = INF
        self.fee_paid = 0.0
        self.retrieval_cost = 0.0
        self.lost_at = INF
        self.idle_from = INF
        self.idle_to = INF

    def idle_cost_until(self, day: float) -> float:
        """Idle cost over [idle_from, min(idle_to, day))."""
        return self.idle_rate * max(0.0, min(self.idle_to, day) - self.idle_from)


class Checkpoint:
    """A crossing: a PriorityResource with one slot per lane, and a lane blocker."""

    def __init__(self, env: simpy.Environment, name: str, spec: CheckpointSpec) -> None:
        self.name = name
        self.spec = spec
        most = max([spec.lanes] + [_lanes(spec.lanes, w.capacity_fraction) for w in spec.schedule])
        self.capacity = max(1, most)
        self.resource = simpy.PriorityResource(env, capacity=self.capacity)
        self.blockers: list[simpy.resources.resource.PriorityRequest] = []
        self.open_lanes = spec.lanes
        self.waiting = 0
        self.peak_waiting = 0
        self.set_open_lanes(spec.lanes)

    def set_open_lanes(self, lanes: int) -> None:
        """Block ``capacity - lanes`` lanes: new blockers queue ahead of trucks and take the
        first lanes to free up (the engine instead keeps those open: with exponential service
        this only shifts when the one lane left open during a closure frees up, by less than a
        service time); lanes given back are first those a blocker still waits for, then those
        it holds."""
        self.open_lanes = lanes
        blocked = self.capacity - lanes
        while len(self.blockers) < blocked:
            self.blockers.append(self.resource.request(priority=BLOCKER_PRIORITY))
        while len(self.blockers) > blocked:
            pending = [r for r in self.blockers if not r.triggered]
            request = pending[-1] if pending else self.blockers[-1]
            self.blockers.remove(request)
            if request.triggered:
                self.resource.release(request)
            else:
                request.cancel()


def _lanes(nominal: int, fraction: float) -> int:
    """Lanes open for a share ``fraction`` of ``nominal`` lanes (at least one unless none)."""
    share = nominal * fraction
    return 0 if share <= 0 else max(1, round(share))


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
        self._world: dict[int, float] = {}

        self.checkpoints = [Checkpoint(env, name, spec) for name, spec in sc.checkpoints.items()]
        self.closed = False
        self.closure_spans: list[tuple[float, float]] = []
        self.closed_since: float | None = None
        self.closures_started = 0
        self.recent_incidents: list[float] = []
        self.earliest_closure = 0.0

        self.first_closure_day: float | None = None
        self.first_closure = env.event()
        self.hold_pending = False
        self.hold_day: float | None = None
        self.hold_event = env.event()
        self.leaving: set[Truck] = set()  # heading home, service not started: the hold stops them
        self.trucks_held = 0
        self.on_lots = 0

        self.release_day: float | None = None
        self.release_channel = "none"
        self.release_due = 0.0
        self.release_event = env.event()
        self.confiscation_day: float | None = None
        self.confiscation_event = env.event()

        self.talks_open_day: float | None = None
        self.lithuania_asked_day: float | None = None
        self.us_deals = 0
        self.prisoners_held = round(self.world(sc.us.prisoners_held))
        self.prisoners_released = 0
        self.sectors_lifted: list[tuple[str, float]] = []

        self.trucks = self.draw_fleet()

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

    def draw_fleet(self) -> list[Truck]:
        fleet = self.sc.fleet
        count = max(0, round(self.world(fleet.trucks_in_belarus)))
        groups = list(fleet.groups.values())
        cumulative = list(itertools.accumulate(g.share for g in groups))
        trucks = []
        for _ in range(count):
            index = bisect.bisect_right(cumulative, self.rng.random())
            group = groups[min(index, len(groups) - 1)]
            value = self.draw(group.value_eur)
            worth = value * self.draw(group.owner_value_factor)
            trucks.append(Truck(value, worth, self.draw(group.idle_cost_eur_per_day)))
        return trucks

    # -- the border ------------------------------------------------------------------------------
    def lanes_for(self, checkpoint: Checkpoint, now: float) -> int:
        fraction = 1.0
        for window in checkpoint.spec.schedule:
            if window.from_day <= now < window.to_day:
                fraction = window.capacity_fraction
        if self.closed:
            fraction *= checkpoint.spec.closure_capacity_fraction
        return _lanes(checkpoint.spec.lanes, fraction)

    def refresh_capacity(self) -> None:
        for checkpoint in self.checkpoints:
            checkpoint.set_open_lanes(self.lanes_for(checkpoint, self.env.now))

    def choose_checkpoint(self) -> Checkpoint:
        """A checkpoint with probability proportional to its open lanes (nominal if none)."""
        weights = [c.open_lanes for c in self.checkpoints]
        if sum(weights) == 0:
            weights = [c.spec.lanes for c in self.checkpoints]
        total = sum(weights)
        u = self.rng_border.random() * total
        for checkpoint, weight in zip(self.checkpoints, weights, strict=True):
            u -= weight
            if u < 0:
                return checkpoint
        return self.checkpoints[-1]

    def cross(self, truck: Truck, checkpoint: Checkpoint) -> Process:
        """Queue for a lane (FIFO among trucks), cross, and get home."""
        service = float(checkpoint.spec.service_days.sample(self.rng_border))
        request = checkpoint.resource.request(priority=TRUCK_PRIORITY)
        if not request.triggered:
            checkpoint.waiting += 1
            checkpoint.peak_waiting = max(checkpoint.peak_waiting, checkpoint.waiting)
            try:
                yield request
            except simpy.Interrupt:
                checkpoint.waiting -= 1
                if request.triggered:
                    checkpoint.resource.release(request)
                else:
                    request.cancel()
                raise
            checkpoint.waiting -= 1
        truck.started_service = True
        self.leaving.discard(truck)
        yield self.env.timeout(service)
        checkpoint.resource.release(request)
        truck.idle_to = self.env.now

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
        """Close the border (lanes cut), wait for the closure's duration, reopen."""
        spec = self.sc.closure
        self.closures_started += 1
        planned = self.draw(spec.planned_duration_days)
        early = self.draw(spec.early_end_days) if spec.early_end_days is not None else INF
        self.closed = True
        self.closed_since = self.env.now
        self.recent_incidents = []
        self.refresh_capacity()
        self.on_closure()
        yield self.env.timeout(min(planned, early))
        self.closed = False
        self.closure_spans.append((self.closed_since, self.env.now))
        self.closed_since = None
        self.refresh_capacity()
        self.earliest_closure = self.env.now + spec.min_days_between_closures

    def policy_change(self, day: float) -> Process:
        yield self.env.timeout(day)
        self.refresh_capacity()

    def on_closure(self) -> None:
        if self.first_closure_day is None:
            self.first_closure_day = self.env.now
            self.first_closure.succeed()
        spec = self.sc.hold
        probability = self.draw(spec.probability)
        delay = self.draw(spec.reaction_delay_days)
        if self.rng.random() < probability and self.hold_day is None and not self.hold_pending:
            self.hold_pending = True
            self.env.process(self.hold_order(delay))

    # -- the hold order and detention -------------------------------------------------------------
    def hold_order(self, delay: float) -> Process:
        yield self.env.timeout(delay)
        self.hold_pending = False
        if self.sc.hold.requires_border_closed and not self.closed:
            return
        self.hold_day = self.env.now
        for truck in list(self.leaving):
            truck.process.interrupt("hold order")  # type: ignore[union-attr]
        self.leaving.clear()
        self.hold_event.succeed()
        if self.sc.government.enabled:
            self.env.process(self.government())
        if self.sc.carriers.enabled:
            self.env.process(self.carriers())
        if self.sc.us.enabled and self.sc.us.lithuania_request_days_after_hold is not None:
            self.env.process(self.lithuania_request())
        self.env.process(self.storage_period())

    def unresolved(self) -> bool:
        """A hold is in force, no release or confiscation yet, and trucks are on the lots."""
        return (
            self.hold_day is not None
            and self.release_day is None
            and self.confiscation_day is None
            and self.on_lots > 0
        )

    def release(self, channel: str) -> None:
        """The general release: every held truck may leave once its fee is paid."""
        if not self.unresolved():
            return
        self.release_day = self.env.now
        self.release_channel = channel
        if self.sc.release.fee_rule == "flat":
            self.release_due = self.world(self.sc.release.flat_fee_eur)
        else:
            discount = self.world(self.sc.release.fee_discount)
            self.release_due = self.accrued_fee(self.env.now) * (1.0 - discount)
        self.release_event.succeed()

    def storage_period(self) -> Process:
        spec = self.sc.detention
        enforced = self.rng_negotiation.random() < self.world(spec.confiscation_probability)
        yield self.env.timeout(self.world(spec.storage_period_days))
        if enforced and self.unresolved():
            self.confiscation_day = self.env.now
            self.confiscation_event.succeed()

    def accrued_fee(self, day: float) -> float:
        if self.hold_day is None:
            return 0.0
        return self.world(self.sc.detention.storage_fee_eur_per_day) * max(0.0, day - self.hold_day)

    # -- a truck's life ----------------------------------------------------------------------------
    def truck_life(self, truck: Truck) -> Process:
        """At the first closure: evacuate (maybe), else wait for the hold order; then detention."""
        yield self.first_closure
        spec = self.sc.evacuation
        if self.rng.random() < self.world(spec.share):
            truck.status = LEAVING
            self.leaving.add(truck)
            checkpoint = self.choose_checkpoint()
            try:
                delay = self.draw(spec.decision_delay_days) + self.draw(spec.travel_days)
                yield self.env.timeout(delay)
                truck.idle_from = self.env.now
                yield from self.cross(truck, checkpoint)
                return
            except simpy.Interrupt:
                pass  # the hold order caught it before its service started
        else:
            yield self.hold_event
        yield from self.detained(truck)

    def detained(self, truck: Truck) -> Process:
        """On the lots until the retrieval decision, the general release or confiscation."""
        env = self.env
        truck.status = HELD
        truck.held_from = env.now
        truck.idle_from = min(truck.idle_from, env.now)
        self.trucks_held += 1
        self.on_lots += 1
        spec = self.sc.retrieval
        decision = env.timeout(self.draw(spec.decision_delay_days))
        truck.retrieval_cost = self.draw(spec.cost_eur)
        driver_travel = self.draw(spec.driver_travel_days)

        woke = yield simpy.AnyOf(env, [decision, self.release_event, self.confiscation_event])
        if decision in woke:  # (a decision due at the release instant comes first)
            fee = self.accrued_fee(env.now)
            if fee + truck.retrieval_cost <= truck.worth:  # individual retrieval
                truck.exit_kind = EXIT_RETRIEVED
                self.pay(truck, fee)
                checkpoint = self.choose_checkpoint()
                yield env.timeout(driver_travel)
                truck.left_lot = env.now
                yield from self.cross(truck, checkpoint)
                return
            # Too dear for now: wait for the general release (or the confiscation).
            yield simpy.AnyOf(env, [self.release_event, self.confiscation_event])

        self.on_lots -= 1
        if self.release_event.triggered:
            due = self.release_due
            if due + truck.retrieval_cost <= truck.worth:
                truck.status = RETURNING
                truck.exit_kind = EXIT_RELEASED
                checkpoint = self.choose_checkpoint()
                yield env.timeout(self.draw(self.sc.release.pickup_delay_days))
                self.pay(truck, due, leaves_lot=False)
                yield env.timeout(driver_travel)
                truck.left_lot = env.now
                yield from self.cross(truck, checkpoint)
            else:
                self.lose(truck, ABANDONED)
        else:
            self.lose(truck, CONFISCATED)

    def pay(self, truck: Truck, fee: float, leaves_lot: bool = True) -> None:
        truck.status = RETURNING
        truck.paid_at = self.env.now
        truck.fee_paid = fee
        if leaves_lot:
            self.on_lots -= 1

    def lose(self, truck: Truck, status: int) -> None:
        truck.status = status
        truck.lost_at = truck.left_lot = truck.idle_to = self.env.now

    # -- negotiation channels ----------------------------------------------------------------------
    def government(self) -> Process:
        spec = self.sc.government
        rng = self.rng_negotiation
        success = self.world(spec.success_probability)
        while True:
            yield self.env.timeout(float(spec.attempt_interval_days.sample(rng)))
            if not self.unresolved():
                return
            if rng.random() < success:
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
        duration = float(spec.talks_duration_days.sample(rng))
        succeeds = rng.random() < self.world(spec.success_probability)
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
        if not self.unresolved():
            return
        self.talks_open_day = env.now
        if succeeds:
            yield env.timeout(duration)
            self.release("carriers")

    def lithuania_request(self) -> Process:
        delay = self.sc.us.lithuania_request_days_after_hold
        assert delay is not None
        yield self.env.timeout(float(delay.sample(self.rng_negotiation)))
        self.lithuania_asked_day = self.env.now

    def truck_probability(self) -> float:
        spec = self.sc.us
        p = self.world(spec.trucks_probability)
        if self.talks_open_day is not None:
            p += self.world(self.sc.carriers.us_truck_boost)
        if self.lithuania_asked_day is not None:
            p += self.world(spec.lithuania_request_boost)
        return min(1.0, p)

    def us_mediation(self) -> Process:
        spec = self.sc.us
        rng = self.rng_negotiation
        env = self.env
        deal_probability = self.world(spec.deal_probability)
        sectors = [name for name, s in spec.sanctions.items() if not s.lifted_at_start]
        visit_day = spec.last_visit_day
        while True:
            visit_day += float(spec.visit_interval_days.sample(rng))
            if visit_day >= self.horizon:
                return
            if visit_day < env.now:
                continue  # a visit before the scenario starts
            yield env.timeout(visit_day - env.now)
            if rng.random() >= deal_probability:
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
            if self.unresolved() and rng.random() < self.truck_probability():
                env.process(self.release_after(float(spec.release_delay_days.sample(rng))))

    def release_after(self, delay: float) -> Process:
        yield self.env.timeout(delay)
        self.release("us")

    # -- accounting --------------------------------------------------------------------------------
    def compensation_until(self, day: float) -> float:
        rate = self.world(self.sc.compensation.eur_per_truck_per_day)
        if rate <= 0 or self.hold_day is None:
            return 0.0
        start = self.hold_day + self.sc.compensation.starts_days_after_hold
        return rate * sum(
            max(0.0, min(t.left_lot, day) - start) for t in self.trucks if t.held_from < INF
        )

    def carrier_cost_until(self, day: float) -> float:
        cost = 0.0
        for t in self.trucks:
            if t.paid_at <= day:
                cost += t.fee_paid + t.retrieval_cost
            if t.lost_at <= day:
                cost += t.value
            cost += t.idle_cost_until(day)
        return cost

    def net_loss_until(self, day: float) -> float:
        return self.carrier_cost_until(day) - self.compensation_until(day)

    # -- the run ---------------------------------------------------------------------------------
    def run(self) -> Outcomes:
        env = self.env
        for truck in self.trucks:
            truck.process = env.process(self.truck_life(truck))
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
        carrier_cost = fees + retrieval + assets + idle
        compensation = self.compensation_until(h)
        sanctions = self.sc.us.sanctions
        relief = sum(
            self.world(sanctions[name].value_eur_per_year) * (h - day) / 365.0
            for name, day in self.sectors_lifted
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

        return {
            "trucks_in_belarus": len(trucks),
            "trucks_evacuated": evacuated,
            "trucks_held": self.trucks_held,
            "trucks_retrieved": exits(EXIT_RETRIEVED),
            "trucks_released": exits(EXIT_RELEASED),
            "trucks_abandoned": count(ABANDONED),
            "trucks_confiscated": count(CONFISCATED),
            "trucks_still_held": count(HELD),
            "closure_day": self.first_closure_day,
            "closures": self.closures_started,
            "border_closed_days": float(sum(min(e, h) - s for s, e in spans)),
            "hold_day": self.hold_day,
            "release_day": self.release_day,
            "release_channel": self.release_channel,
            "hold_to_release_days": since(self.release_day, self.hold_day),
            "closure_to_release_days": since(self.release_day, self.first_closure_day),
            "carriers_talks_day": self.talks_open_day,
            "last_truck_home_day": last_home,
            "detention_days_mean": float(np.mean(stays)) if stays else None,
            "detention_days_max": float(max(stays)) if stays else None,
            "storage_fee_per_truck_at_release_eur": (
                self.accrued_fee(self.release_day) if self.release_day is not None else None
            ),
            "carrier_cost_eur": carrier_cost,
            "fees_paid_eur": fees,
            "idle_cost_eur": idle,
            "assets_lost_eur": assets,
            "retrieval_cost_eur": retrieval,
            "compensation_paid_eur": compensation,
            "carrier_net_cost_eur": carrier_cost - compensation,
            "belarus_gain_eur": fees + assets + relief,
            "sanctions_relief_eur": relief,
            "prisoners_released": self.prisoners_released,
            "us_deals": self.us_deals,
            "peak_checkpoint_queue": max(c.peak_waiting for c in self.checkpoints),
        }


class NaiveStandoffModel:
    """The naive model behind the engine's interface: ``run_replication(streams)``."""

    name = "standoff-naive"

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario

    def run_replication(self, streams: Streams) -> Outcomes:
        """Run one replication and return its outcomes (no daily series)."""
        return NaiveReplication(self.scenario, streams).run()
