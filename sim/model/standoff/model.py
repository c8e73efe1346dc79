"""The border-standoff model: one replication assembled from its mechanisms, and its outcomes.

SimPy drives the events that matter (incidents turning into closures, the hold order,
envoy visits, talks, releases, confiscation); per-truck state lives in numpy arrays
(``fleet.py``) and the checkpoint queues are exact heap-based FIFO queues (``checkpoint.py``).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from sim.model.interface import OutcomeSpec, Presentation, ReplicationResult
from sim.model.standoff.belarus import Minsk
from sim.model.standoff.border import Border, incident_times, next_trigger, sorted_records
from sim.model.standoff.checkpoint import peak_queue_sorted
from sim.model.standoff.fleet import (
    ABANDONED,
    AT_LARGE,
    CONFISCATED,
    EXIT_EVACUATED,
    EXIT_RELEASED,
    EXIT_RETRIEVED,
    GONE,
    HELD,
    LEAVING,
    RETURNING,
    Fleet,
)
from sim.model.standoff.flows import Trips
from sim.model.standoff.negotiation import Negotiations
from sim.model.standoff.policies import policy_process
from sim.model.standoff.presentation import PRESENTATION
from sim.model.standoff.release import Detention
from sim.model.standoff.schema import Policy, Scenario
from sim.model.standoff.sums import count_between, step_sum
from sim.scenario.distributions import Constant, iter_params
from sim.seeding import Streams

Process = Generator[simpy.Event, Any, None]
Event = tuple[float, str]

CHANNELS = ("government", "carriers", "us", "none")
#: How a run's standoff ended by the horizon: no hold at all, a general release (by channel),
#: trucks confiscated without a release, the lots emptied by retrievals and write-offs without
#: a release, or still unresolved (trucks on the lots at the horizon, no release).
RESOLUTIONS = (
    "no_hold",
    "released_government",
    "released_carriers",
    "released_us",
    "confiscated",
    "emptied",
    "unresolved",
)

OUTCOMES: list[OutcomeSpec] = [
    OutcomeSpec("trucks_in_belarus", "int", "Vehicles in Belarus on day 0", "trucks"),
    OutcomeSpec("trucks_evacuated", "int", "Got out before the hold order", "trucks"),
    OutcomeSpec("trucks_held", "int", "Put on guarded lots by the hold order", "trucks"),
    OutcomeSpec("trucks_retrieved", "int", "Retrieved individually against fees", "trucks"),
    OutcomeSpec("trucks_released", "int", "Left under the general release", "trucks"),
    OutcomeSpec("trucks_abandoned", "int", "Given up by their owners", "trucks"),
    OutcomeSpec("trucks_confiscated", "int", "Taken by Belarus", "trucks"),
    OutcomeSpec("trucks_still_held", "int", "Still on the lots at the horizon", "trucks"),
    OutcomeSpec("trucks_replaced", "int", "Held trucks whose owners replaced them", "trucks"),
    OutcomeSpec(
        "retrieval_backlog_peak",
        "int",
        "Most retrievals waiting for Belarus's processing at once",
        "trucks",
    ),
    OutcomeSpec("closure_day", "float", "Day of the first closure", "day", nullable=True),
    OutcomeSpec("closures", "int", "Closures in the run", "closures"),
    OutcomeSpec("border_closed_days", "float", "Days the border was closed", "days"),
    OutcomeSpec("hold_day", "float", "Day of the hold order", "day", nullable=True),
    OutcomeSpec("release_day", "float", "Day of the general release", "day", nullable=True),
    OutcomeSpec(
        "release_channel",
        "category",
        "Channel that produced the release",
        "",
        categories=CHANNELS,
    ),
    OutcomeSpec(
        "resolution",
        "category",
        "How the standoff ended by the horizon",
        "",
        categories=RESOLUTIONS,
    ),
    OutcomeSpec(
        "hold_to_release_days",
        "float",
        "From the hold order to the release",
        "days",
        nullable=True,
    ),
    OutcomeSpec(
        "closure_to_release_days",
        "float",
        "From the first closure to the release",
        "days",
        nullable=True,
    ),
    OutcomeSpec(
        "carriers_talks_day", "float", "Day the carriers opened talks", "day", nullable=True
    ),
    OutcomeSpec(
        "last_truck_home_day",
        "float",
        "Day the last truck got home (empty if any is still held or on its way)",
        "day",
        nullable=True,
    ),
    OutcomeSpec(
        "detention_days_mean",
        "float",
        "Mean days on the lots per held truck",
        "days",
        nullable=True,
    ),
    OutcomeSpec("detention_days_max", "float", "Longest stay on the lots", "days", nullable=True),
    OutcomeSpec(
        "truck_days_held",
        "float",
        "Days on the lots summed over held trucks (0 without a hold)",
        "truck-days",
    ),
    OutcomeSpec(
        "storage_fee_per_truck_at_release_eur",
        "float",
        "Storage fee accrued per held truck by the release",
        "EUR",
        nullable=True,
    ),
    OutcomeSpec("carrier_cost_eur", "float", "Carriers' total cost (gross)", "EUR"),
    OutcomeSpec("fees_paid_eur", "float", "Storage and exit fees paid to Belarus", "EUR"),
    OutcomeSpec(
        "fees_owed_eur",
        "float",
        "Fees owed, not yet paid, at the horizon (trucks still held, or released but unpaid)",
        "EUR",
    ),
    OutcomeSpec("idle_cost_eur", "float", "Carriers' idle cost", "EUR"),
    OutcomeSpec("replacement_cost_eur", "float", "Cost of substitutes for held trucks", "EUR"),
    OutcomeSpec("assets_lost_eur", "float", "Value of abandoned and confiscated trucks", "EUR"),
    OutcomeSpec("retrieval_cost_eur", "float", "Drivers and paperwork to fetch trucks", "EUR"),
    OutcomeSpec("compensation_paid_eur", "float", "Paid to carriers by Lithuania", "EUR"),
    OutcomeSpec("carrier_net_cost_eur", "float", "Carriers' cost less compensation", "EUR"),
    OutcomeSpec(
        "lithuania_fiscal_cost_eur", "float", "Lithuania's budget spent on the standoff", "EUR"
    ),
    OutcomeSpec(
        "belarus_standoff_gain_eur",
        "float",
        "Belarus's gain from the trucks: fees, trucks seized or abandoned",
        "EUR",
    ),
    OutcomeSpec("belarus_gain_eur", "float", "Standoff gain plus sanctions relief", "EUR"),
    OutcomeSpec(
        "sanctions_relief_eur",
        "float",
        "Present value of the US sanctions lifted (appraisal period, discounted)",
        "EUR",
    ),
    OutcomeSpec("prisoners_released", "int", "Political prisoners freed by US deals", "people"),
    OutcomeSpec("us_deals", "int", "US deals concluded", "deals"),
    OutcomeSpec(
        "peak_checkpoint_queue",
        "int",
        "Longest queue of the standoff's trucks at any checkpoint",
        "trucks",
    ),
    OutcomeSpec(
        "reopening_peak_queue",
        "float",
        "Most vehicles (background and standoff) queueing at one checkpoint within 30 days "
        "of the first reopening",
        "vehicles",
        nullable=True,
    ),
    OutcomeSpec(
        "reopening_wait_hours",
        "float",
        "Longest wait of a vehicle arriving within 30 days of the first reopening",
        "hours",
        nullable=True,
    ),
    OutcomeSpec(
        "peak_daily_exits",
        "int",
        "Most of the standoff's trucks through one checkpoint in one calendar day",
        "trucks/day",
    ),
]

SERIES = ["held", "queueing", "carrier_cost_eur", "retrieved"]


def resolution(
    hold_day: float | None, release_channel: str, confiscated: int, still_held: int
) -> str:
    """How a run ended (the ``resolution`` outcome): no hold; released, by channel;
    confiscated; emptied (every truck out, one by one); or unresolved at the horizon. What the
    outcome means: the naive benchmark reads it from here too."""
    if hold_day is None:
        return "no_hold"
    if release_channel != "none":
        return f"released_{release_channel}"
    if confiscated:
        return "confiscated"
    return "unresolved" if still_held else "emptied"


class StandoffModel:
    """The built-in model of the Lithuania-Belarus truck standoff (see MODEL.md)."""

    name = "standoff"

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        # The day every replication stops: an event day still null then is censored there
        # (sim.model.interface.horizon_of).
        self.horizon = float(scenario.horizon_days)
        # Every parameter drawn once per replication, with its key path; a constant's value is
        # the same whatever its uniform, so it is not drawn.
        params = [
            (path, dist)
            for path, info, dist in iter_params(scenario)
            if info.scope == "replication"
        ]
        self.world_params = [
            (path, dist) for path, dist in params if not isinstance(dist, Constant)
        ]
        self.world_streams = [f"world/{path}" for path, _ in self.world_params]
        # (dist, value): keyed by id(dist) only in the replication, as a model sent to another
        # process holds copies of its distributions.
        self.world_constants = [
            (dist, float(dist.value)) for _, dist in params if isinstance(dist, Constant)
        ]

    def outcome_specs(self) -> list[OutcomeSpec]:
        return OUTCOMES

    def series_names(self) -> list[str]:
        return SERIES

    def presentation(self) -> Presentation:
        return PRESENTATION

    def run_replication(self, streams: Streams) -> ReplicationResult:
        return Replication(self, streams).run()

    def trace_replication(self, streams: Streams) -> tuple[ReplicationResult, list[Event]]:
        """Run one replication and return, with its result, the trace of its main events."""
        events: list[Event] = []
        return Replication(self, streams, events).run(), events


class Replication:
    """One run of the model: builds the mechanisms, runs SimPy, computes the outcomes."""

    def __init__(
        self, model: StandoffModel, streams: Streams, events: list[Event] | None = None
    ) -> None:
        self.scenario = scenario = model.scenario
        self.streams = streams
        self.events = events
        self.horizon = float(scenario.horizon_days)
        # Replication-level draws: one uniform per parameter, keyed by its key path and mapped
        # through its quantile function, so changing, adding or removing a parameter leaves
        # every other parameter's draw alone (common random numbers across scenarios).
        self._world = {id(dist): value for dist, value in model.world_constants}
        uniforms = streams.uniforms(model.world_streams)
        for (_, dist), uniform in zip(model.world_params, uniforms, strict=True):
            self._world[id(dist)] = float(dist.ppf(uniform))
        self.env = env = simpy.Environment()
        world = self._world

        # The helpers the mechanisms are handed are closures over what they read, not methods
        # of the replication, so that no mechanism holds the replication: with the pending
        # events dropped at the end of ``run`` nothing is left in a reference cycle, and the
        # run's objects are freed at once instead of by the cyclic garbage collector.
        def value_of(dist: object) -> float:
            """This replication's value of a replication-level parameter."""
            return world[id(dist)]

        def log(what: str) -> None:
            """Record an event in the trace (only when tracing)."""
            if events is not None:
                events.append((env.now, what))

        self.value_of = value_of
        self.log = log
        self.initial_trucks = max(0, round(self.value_of(scenario.fleet.trucks_in_belarus)))
        self.fleet = Fleet.empty()
        self.trips = Trips(
            scenario,
            self.fleet,
            streams["fleet"],
            self.initial_trucks,
            self.value_of(scenario.fleet.stay_days),
        )
        self.border = Border.from_specs(scenario.checkpoints, value_of=self.value_of)
        self.detention = Detention(
            scenario,
            self.fleet,
            self.border,
            streams["retrieval"],
            streams["checkpoints"],
            self.value_of,
            self.log,
        )
        self.minsk = Minsk(scenario, self.detention, self.value_of, self.log)
        fleet, border, detention = self.fleet, self.border, self.detention

        def net_loss_until(day: float) -> float:
            """Carriers' losses by ``day`` (now), net of compensation, with every decision due
            and every checkpoint passage up to ``day`` accounted for."""
            border.advance(day)
            detention.sync_exits()
            return fleet.carrier_cost_until(day) - detention.compensations.paid_until(fleet, day)

        self.net_loss_until = net_loss_until
        self.negotiations = Negotiations(
            self.env,
            scenario,
            self.detention,
            self.minsk,
            self.value_of,
            self.net_loss_until,
            self.log,
            horizon=self.horizon,
        )
        self.first_closure: float | None = None
        self.first_reopening: float | None = None
        self.hold_pending = False
        self._records: list[tuple[np.ndarray, np.ndarray]] | None = None

    # -- processes -----------------------------------------------------------------------------
    def closures(self) -> Process:
        spec = self.scenario.closure
        rng = self.streams["closure"]
        rates = [self.value_of(p.rate_per_day) for p in self.scenario.incidents.schedule]
        incidents = incident_times(
            self.scenario.incidents, self.horizon, self.streams["incidents"], rates
        )
        counted_from = 0.0
        earliest = 0.0
        for _ in range(spec.max_closures):
            planned = float(spec.planned_duration_days.sample(rng))
            early = float(spec.early_end_days.sample(rng)) if spec.early_end_days else math.inf
            if spec.rule == "none":
                return
            if spec.rule == "fixed_day":
                if self.first_closure is not None:
                    return
                start = float(spec.fixed_day)  # type: ignore[arg-type]
            else:
                start = next_trigger(incidents, spec, counted_from, earliest)
            if start >= self.horizon:
                return
            yield self.env.timeout(start - self.env.now)
            now = self.env.now
            self.trips.close(now)
            self.border.set_closed(now, True)
            self.log("closure starts")
            if self.first_closure is None:
                self.first_closure = now
            if self.detention.hold_day is None:
                self.evacuate(now)
            self.consider_hold()
            yield self.env.timeout(min(planned, early))
            now = self.env.now
            self.border.set_closed(now, False)
            self.trips.reopen(now, held=self.detention.hold_day is not None)
            if self.first_reopening is None:
                self.first_reopening = now
            self.log("closure ends")
            counted_from = now
            earliest = now + spec.min_days_between_closures

    def consider_hold(self) -> None:
        """Belarus decides whether this closure provokes a hold order, and when."""
        rng = self.streams["hold"]
        spec = self.scenario.hold
        probability = float(spec.probability.sample(rng))
        delay = float(spec.reaction_delay_days.sample(rng))
        orders = rng.random() < probability
        after_reopening = rng.random() < self.value_of(spec.after_reopening_probability)
        if orders and self.detention.hold_day is None and not self.hold_pending:
            self.hold_pending = True
            self.env.process(self.hold_order(delay, after_reopening))

    def evacuate(self, now: float) -> None:
        """Trucks in Belarus that decide to go home when a closure starts set off for a
        checkpoint."""
        spec = self.scenario.evacuation
        rng = self.streams["evacuation"]
        fleet = self.fleet
        inside = np.flatnonzero(fleet.status == AT_LARGE)
        leaving = inside[rng.random(inside.size) < self.value_of(spec.share)]
        count = leaving.size
        arrival = (
            now
            + np.asarray(spec.decision_delay_days.sample(rng, count), dtype=float)
            + np.asarray(spec.travel_days.sample(rng, count), dtype=float)
        )
        fleet.status[leaving] = LEAVING
        fleet.queue_arrival[leaving] = arrival
        fleet.idle_from[leaving] = arrival
        self.border.submit(self.streams["checkpoints"], now, leaving, arrival)

    def hold_order(self, delay: float, after_reopening: bool) -> Process:
        yield self.env.timeout(delay)
        self.hold_pending = False
        if not self.border.closed and not after_reopening:
            self.log("no hold order: the border has reopened")
            return
        now = self.env.now
        self.trips.stop(now)
        self.detention.order_hold(now)
        self.log(
            f"hold order: {self.detention.trucks_held} held, "
            f"{int(np.count_nonzero(self.fleet.exit_kind == EXIT_EVACUATED))} got out"
        )
        streams = self.streams
        negotiations = self.negotiations
        if self.scenario.government.enabled:
            self.env.process(negotiations.government(streams["government"]))
        if self.scenario.carriers.enabled:
            self.env.process(negotiations.carriers(streams["carriers"]))
        if self.scenario.us.enabled:
            self.env.process(negotiations.lithuania_request(streams["us.lithuania"]))
        self.env.process(self.storage_period())
        self.env.process(self.owners_review())
        self.detention.review(now)

    def storage_period(self) -> Process:
        spec = self.scenario.detention
        deadline = self.env.now + self.value_of(spec.storage_period_days)
        enforced = self.streams["confiscation"].random() < self.value_of(
            spec.confiscation_probability
        )
        announce = spec.deadline_announced_days_after_hold
        if announce is not None:
            delay = float(announce.sample(self.streams["confiscation"]))
            if self.env.now + delay < deadline:
                yield self.env.timeout(delay)
                self.detention.announce_deadline(self.env.now, deadline)
        yield self.env.timeout(max(0.0, deadline - self.env.now))
        if enforced:
            self.detention.confiscate(self.env.now)

    def deadline_policy(self, deadline: float, enforced: bool) -> Process:
        yield self.env.timeout(max(0.0, deadline - self.env.now))
        if enforced:
            self.detention.confiscate(self.env.now)

    def owners_review(self) -> Process:
        interval = self.scenario.owners.review_interval_days
        while True:
            yield self.env.timeout(interval)
            if not self.detention.review(self.env.now):
                return  # released, taken, or no truck left on the lots

    def policy_change(self, day: float) -> Process:
        yield self.env.timeout(day)
        self.border.refresh_capacity(self.env.now)

    # -- policies --------------------------------------------------------------------------------
    def act(self, policy: Policy) -> None:
        """Take a policy's action now."""
        now = self.env.now
        detention = self.detention
        if policy.action == "set_fee":
            detention.fees.change(now, self.value_of(policy.eur_per_day))
            detention.review(now)
        elif policy.action == "compensation":
            if detention.hold_day is None:
                detention.pending_compensation = policy
            else:
                start = max(now, detention.hold_day + policy.starts_days_after_hold)
                detention.compensations.start(policy, start)
                detention.review(now)
        elif policy.action == "ask_us":
            self.negotiations.ask_us()
        elif policy.action == "checkpoint":
            self.border.set_checkpoint_fraction(now, policy.checkpoint, policy.capacity_fraction)
        elif policy.action == "confiscation_deadline":
            rng = self.streams[f"policy/{policy.name}"]
            enforced = rng.random() < self.value_of(policy.probability)
            deadline = now + policy.days
            # Owners hear of it now, or at the hold if there is none yet.
            detention.announce_deadline(now, deadline)
            self.env.process(self.deadline_policy(deadline, enforced))
        elif policy.action == "eu_countermeasures":
            self.minsk.countermeasures += self.value_of(policy.eur_per_day)
            self.log(f"EU counter-measures: Minsk's price {self.minsk.price(now) / 1e6:.2f}M EUR")

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> ReplicationResult:
        env = self.env
        env.process(self.closures())
        for day in self.border.policy_change_days():
            if 0 < day < self.horizon:
                env.process(self.policy_change(day))
        if any(s.schedule for s in self.scenario.checkpoints.values()):
            self.border.refresh_capacity(0.0)
        if self.scenario.us.enabled:
            env.process(self.negotiations.us_mediation(self.streams["us"], self.horizon))
        for policy in self.scenario.policies:
            env.process(policy_process(self, policy, self.act))
        env.run(until=self.horizon)
        self.detention.apply_processing(self.horizon)
        self.border.advance(self.horizon)
        self.detention.sync_exits()
        result = ReplicationResult(outcomes=self.outcomes(), series=self.series())
        # Events still pending at the horizon hold the processes waiting on them, and these
        # the replication; the border holds the detention's hook: dropping both ends the last
        # reference cycles through the run's objects (see __init__).
        env._queue.clear()
        self.border.before_advance.clear()
        return result

    # -- outcomes ------------------------------------------------------------------------------
    def waiting_records(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every checkpoint's (arrival, left queue) records at the end of the run (made once,
        read by the outcomes and the series)."""
        if self._records is None:
            self._records = [queue.waiting_records() for queue in self.border.checkpoints]
        return self._records

    def outcomes(self) -> dict[str, float | int | str | None]:
        fleet = self.fleet
        detention = self.detention
        negotiations = self.negotiations
        horizon = self.horizon
        status = fleet.status
        exit_kind = fleet.exit_kind
        got_out = (
            np.isfinite(fleet.idle_to)
            & (fleet.idle_to <= horizon)
            & ((status == LEAVING) | (status == RETURNING))
        )
        if detention.hold_day is None:
            exit_kind[got_out & (status == LEAVING)] = EXIT_EVACUATED
        on_the_way = ((status == RETURNING) & ~got_out) | (status == HELD)
        if detention.hold_day is not None:
            on_the_way |= (status == LEAVING) & ~got_out
        last_home: float | None = None
        if got_out.any() and not on_the_way.any():
            last_home = float(fleet.idle_to[got_out].max())

        held = np.isfinite(fleet.held_from)
        stay = np.minimum(fleet.left_lot[held], horizon) - fleet.held_from[held]

        fees, retrieval, idle, replacement, assets = fleet.costs_until(horizon)
        carrier_cost = fees + retrieval + assets + idle + replacement
        compensation = detention.compensations.paid_until(fleet, horizon)
        relief = negotiations.sanctions_relief_eur()
        owed = detention.fees_owed(horizon)

        records = self.waiting_records()
        ordered = sorted_records(records)
        peak = max((peak_queue_sorted(arrival, left) for arrival, left in ordered), default=0)
        traffic = self.border.traffic_outcomes(horizon, records, ordered)

        def since(day: float | None, origin: float | None) -> float | None:
            return None if day is None or origin is None else day - origin

        release_day = detention.release_day
        by_status = np.bincount(status, minlength=GONE + 1).tolist()  # trucks by status ...
        by_exit = np.bincount(exit_kind, minlength=EXIT_RELEASED + 1).tolist()  # ... and exit
        confiscated = by_status[CONFISCATED]
        still_held = by_status[HELD]
        standoff_gain = fees + assets
        return {
            "trucks_in_belarus": self.initial_trucks,
            "trucks_evacuated": by_exit[EXIT_EVACUATED],
            "trucks_held": detention.trucks_held,
            "trucks_retrieved": by_exit[EXIT_RETRIEVED],
            "trucks_released": by_exit[EXIT_RELEASED],
            "trucks_abandoned": by_status[ABANDONED],
            "trucks_confiscated": confiscated,
            "trucks_still_held": still_held,
            "trucks_replaced": int(np.count_nonzero(fleet.replaced_at <= horizon)),
            "retrieval_backlog_peak": detention.backlog_peak,
            "closure_day": self.first_closure,
            "closures": self.border.closure_count(),
            "border_closed_days": self.border.closed_days(self.horizon),
            "hold_day": detention.hold_day,
            "release_day": release_day,
            "release_channel": detention.release_channel,
            "resolution": resolution(
                detention.hold_day, detention.release_channel, confiscated, still_held
            ),
            "hold_to_release_days": since(release_day, detention.hold_day),
            "closure_to_release_days": since(release_day, self.first_closure),
            "carriers_talks_day": negotiations.talks_open_day,
            "last_truck_home_day": last_home,
            "detention_days_mean": float(stay.mean()) if stay.size else None,
            "detention_days_max": float(stay.max()) if stay.size else None,
            "truck_days_held": float(stay.sum()),
            "storage_fee_per_truck_at_release_eur": (
                detention.fee_owed(release_day) if release_day is not None else None
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
            "prisoners_released": negotiations.prisoners_released,
            "us_deals": negotiations.us_deals,
            "peak_checkpoint_queue": peak,
            "reopening_peak_queue": traffic["reopening_peak_queue"],
            "reopening_wait_hours": traffic["reopening_wait_hours"],
            "peak_daily_exits": self.border.peak_daily_exits(horizon),
        }

    def series(self) -> dict[str, np.ndarray]:
        fleet = self.fleet
        days = np.arange(0.0, math.floor(self.horizon) + 1.0)
        held = np.isfinite(fleet.held_from)
        retrieved = fleet.exit_kind == EXIT_RETRIEVED
        return {
            "held": count_between(fleet.held_from[held], fleet.left_lot[held], days),
            "queueing": self.border.queueing_series(days, self.waiting_records()),
            "carrier_cost_eur": fleet.cumulative_cost_series(days, self.detention.fees_series),
            "retrieved": step_sum(fleet.paid_at[retrieved], np.ones(int(retrieved.sum())), days),
        }
