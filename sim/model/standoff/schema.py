"""The standoff model's scenario schema: every key, its default, its range, and its scope.

This module is the one place where defaults live. Each uncertain number is a ``param`` field
that accepts a constant or a distribution and says when it is drawn:

- ``replication``: once per replication (uncertainty about the world),
- ``truck``: once per truck (differences between trucks),
- ``event``: once per event (each closure, each envoy visit, each truck at a checkpoint...).

``sim params SCENARIO`` lists every parameter with its scope; the README has the same table.
Times are in days from the scenario's start (day 0 = ``start_date``); money in EUR.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sim.errors import did_you_mean
from sim.limits import (
    MAX_COUNT,
    MAX_EVENT_RATE_PER_DAY,
    MAX_HORIZON_DAYS,
    MAX_LANES,
    MAX_TRUCKS,
)
from sim.scenario.base import ScenarioBase, Section, WholeNumber
from sim.scenario.distributions import param


class RatePeriod(Section):
    """One piece of a piecewise-constant Poisson rate."""

    from_day: float = Field(ge=0, description="Day this rate starts to apply.")
    rate_per_day: param(  # type: ignore[valid-type]
        "replication", ge=0, le=MAX_EVENT_RATE_PER_DAY, unit="1/day"
    ) = Field(description="Incidents per day from `from_day` until the next period.")


class Incidents(Section):
    """Hybrid incidents (smuggling balloons) as a Poisson process with a rate schedule."""

    schedule: list[RatePeriod] = Field(
        default_factory=lambda: [RatePeriod(from_day=0, rate_per_day=0.0)],
        description="Rate periods in increasing `from_day`; the first must start at day 0.",
    )

    @field_validator("schedule")
    @classmethod
    def _ordered(cls, schedule: list[RatePeriod]) -> list[RatePeriod]:
        if not schedule:
            raise ValueError("needs at least one rate period")
        if schedule[0].from_day != 0:
            raise ValueError("the first rate period must start at from_day 0")
        days = [p.from_day for p in schedule]
        if any(b <= a for a, b in zip(days, days[1:], strict=False)):
            raise ValueError(f"from_day must increase strictly, got {days}")
        return schedule


class Closure(Section):
    """Lithuania's closure rule: when the border closes and for how long."""

    rule: Literal["incidents", "fixed_day", "none"] = Field(
        "incidents",
        description="`incidents`: close when `incidents_threshold` incidents fall within "
        "`window_days`; `fixed_day`: close once on `fixed_day`; `none`: never close.",
    )
    incidents_threshold: WholeNumber = Field(
        6, ge=1, le=MAX_COUNT, description="k: incidents that trigger a closure."
    )
    window_days: float = Field(7.0, gt=0, description="w: the window the k incidents fall in.")
    fixed_day: float | None = Field(None, ge=0, description="Closure day for rule `fixed_day`.")
    planned_duration_days: param("event", gt=0, unit="days") = Field(  # type: ignore[valid-type]
        32, description="Announced duration of a closure."
    )
    early_end_days: param("event", gt=0, unit="days") | None = Field(  # type: ignore[valid-type]
        None,
        description="If set, a closure ends after min(planned, this draw) days: a planned "
        "duration that can end early.",
    )
    min_days_between_closures: float = Field(
        14.0, ge=0, description="After a reopening, no new closure for this many days."
    )
    max_closures: WholeNumber = Field(
        3, ge=0, le=MAX_COUNT, description="At most this many closures in a run."
    )

    @model_validator(mode="after")
    def _fixed_day_given(self) -> Closure:
        if self.rule == "fixed_day" and self.fixed_day is None:
            raise ValueError("rule `fixed_day` needs `fixed_day`")
        return self


class CapacityChange(Section):
    """A policy change of a checkpoint's capacity over a window of days."""

    from_day: float = Field(ge=0, description="First day of the window.")
    to_day: float = Field(gt=0, description="Day the window ends (exclusive).")
    capacity_fraction: float = Field(
        ge=0,
        description="Capacity as a share of the checkpoint's normal lanes, exact (0.05 of 10 "
        "lanes is half a lane's worth, not one lane); may be >1 (extra lanes).",
    )

    @model_validator(mode="after")
    def _window(self) -> CapacityChange:
        if self.to_day <= self.from_day:
            raise ValueError(f"to_day ({self.to_day}) must be after from_day ({self.from_day})")
        return self


class Checkpoint(Section):
    """A border crossing point: a multi-lane FIFO queue for the standoff's trucks, shared with
    background traffic (other vehicles crossing from Belarus into Lithuania) in aggregate."""

    lanes: WholeNumber = Field(ge=0, le=MAX_LANES, description="Lanes (servers) open normally.")
    service_days: param("event", gt=0, unit="days") = Field(  # type: ignore[valid-type]
        description="Processing time of one truck in one lane (drawn per truck crossing)."
    )
    closure_capacity_fraction: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the lanes' capacity left while the border is closed (exact, "
        "not rounded to lanes).",
    )
    schedule: list[CapacityChange] = Field(
        default_factory=list,
        description="Policy windows overriding the normal capacity (closure still applies).",
    )
    background_trucks_per_day: param(  # type: ignore[valid-type]
        "replication", ge=0, unit="trucks/day"
    ) = Field(
        0.0,
        description="Background traffic: vehicles other than the standoff's trucks (other "
        "carriers, Lithuanian trucks on normal trips) that want to cross here from Belarus "
        "into Lithuania each day while the border is open. Modelled as a deterministic fluid "
        "that queues FIFO ahead of later standoff trucks; 0 = no background traffic.",
    )
    background_queue_share_when_closed: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of the background demand that still arrives and queues here while "
        "the border is closed (or this checkpoint has no capacity); the rest goes round by "
        "other borders.",
    )


def _default_checkpoints() -> dict[str, Checkpoint]:
    return {
        "medininkai": Checkpoint(
            lanes=10,
            service_days={"dist": "exponential", "mean": 0.02},
            closure_capacity_fraction=0.1,
        ),
        "salcininkai": Checkpoint(
            lanes=6,
            service_days={"dist": "exponential", "mean": 0.02},
            closure_capacity_fraction=0.0,
        ),
    }


class OwnerGroup(Section):
    """Trucks of one owner group (e.g. Lithuanian firms, Polish firms registered in Lithuania)."""

    share: float = Field(gt=0, le=1, description="Share of the fleet in this group.")
    value_eur: param("truck", gt=0, unit="EUR") = Field(  # type: ignore[valid-type]
        {"dist": "lognormal", "mean": 30000, "sd": 15000},
        description="Market value of the vehicle (tractor with trailer).",
    )
    idle_cost_eur_per_day: param("truck", ge=0, unit="EUR/day") = Field(  # type: ignore[valid-type]
        {"dist": "lognormal", "mean": 170, "sd": 50},
        description="The carrier's own cost of the vehicle standing idle (lost contracts, "
        "leasing, wages), until it is home or replaced.",
    )
    owner_value_factor: param("truck", gt=0) = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 1.0, "high": 1.6},
        description="Worth of the vehicle to its owner as a multiple of its market value "
        "(replacement lead time, contracts): what writing it off loses.",
    )


def _default_groups() -> dict[str, OwnerGroup]:
    return {"lithuanian": OwnerGroup(share=0.68), "polish": OwnerGroup(share=0.32)}


class Fleet(Section):
    """Lithuanian-registered vehicles in Belarus, and their trips while the border is open."""

    trucks_in_belarus: param(  # type: ignore[valid-type]
        "replication", ge=0, le=MAX_TRUCKS, unit="trucks"
    ) = Field(
        {"dist": "triangular", "low": 1900, "mode": 2200, "high": 2600},
        description="Vehicles in Belarus on day 0 (rounded to a whole number). While the "
        "border is open and no hold is in force, trucks enter at trucks_in_belarus / stay_days "
        "a day and each stays stay_days on average, so the number in Belarus stays about this.",
    )
    stay_days: param("replication", gt=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 7, "high": 14},
        description="Mean days a truck spends in Belarus on a trip (exponential stays). "
        "Entries stop while the border is closed and once a hold is ordered.",
    )
    groups: dict[str, OwnerGroup] = Field(default_factory=_default_groups)

    @field_validator("groups")
    @classmethod
    def _shares_sum_to_one(cls, groups: dict[str, OwnerGroup]) -> dict[str, OwnerGroup]:
        if not groups:
            raise ValueError("needs at least one owner group")
        total = sum(g.share for g in groups.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"group shares must sum to 1, got {total:g}")
        return groups


class Evacuation(Section):
    """Trucks that head home when a closure starts, before any hold order (every closure)."""

    share: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 0.15, "high": 0.35},
        description="Share of the trucks then in Belarus that try to leave when a closure starts.",
    )
    decision_delay_days: param("truck", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "exponential", "mean": 2.0}, description="From the closure to setting off."
    )
    travel_days: param("truck", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 0.3, "high": 1.5}, description="Drive to the checkpoint."
    )


class Hold(Section):
    """Belarus's retaliation: every Lithuanian truck still in the country onto guarded lots."""

    probability: param("event", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.9, description="Chance that a closure (while no hold is in force) provokes a hold order."
    )
    reaction_delay_days: param("event", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "triangular", "low": 8, "mode": 12, "high": 16},
        description="From the closure's start to the hold order.",
    )
    after_reopening_probability: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 0.3, "high": 0.9},
        description="Chance Belarus still orders the hold if the border has reopened by then "
        "(in the case the trucks stayed held after the reopening).",
    )


class Detention(Section):
    """Storage fees on the guarded lots, and the storage period that may end in confiscation."""

    storage_fee_eur_per_day: param("replication", ge=0, unit="EUR/day") = Field(  # type: ignore[valid-type]
        120,
        description="Fee owed to Belarus per held vehicle per day (a `set_fee` policy changes it).",
    )
    storage_period_days: param("replication", gt=0, unit="days") = Field(  # type: ignore[valid-type]
        120,
        description="After this long on the lots, unclaimed trucks may be confiscated: "
        "the confiscation deadline (days after the hold).",
    )
    confiscation_probability: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.1, description="Chance Belarus confiscates the trucks still held at the deadline."
    )
    deadline_announced_days_after_hold: param("event", ge=0, unit="days") | None = Field(  # type: ignore[valid-type]
        15,
        description="When Belarus announces the deadline to owners (None: never announced; "
        "owners then do not count it). Owners believe it with `owners.deadline_credibility`.",
    )


class Compensation(Section):
    """A Lithuanian compensation scheme for carriers (none in the case), in several forms."""

    eur_per_truck_per_day: param("replication", ge=0, unit="EUR/day") = Field(  # type: ignore[valid-type]
        0, description="Paid per covered truck per day on the lots."
    )
    lump_sum_eur_per_truck: param("replication", ge=0, unit="EUR") = Field(  # type: ignore[valid-type]
        0,
        description="Paid once per covered truck on the lots when the scheme starts (or "
        "when the truck is held, if later).",
    )
    fee_share_reimbursed: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0, description="Share of the storage and exit fees the carriers pay that is refunded."
    )
    budget_eur: param("replication", ge=0, unit="EUR") | None = Field(  # type: ignore[valid-type]
        None, description="Cap on all payments (None: no cap); payments stop once it is spent."
    )
    groups: list[str] | None = Field(
        None, description="Owner groups covered (names under fleet.groups; None: all)."
    )
    starts_days_after_hold: float = Field(
        0, ge=0, description="The scheme starts this many days after the hold order."
    )
    enters_decisions: bool = Field(
        True,
        description="Owners count the scheme when they decide (retrieve, wait, write off); "
        "false: it only changes the books.",
    )


class Retrieval(Section):
    """Individual retrieval: an owner pays one truck's accrued fees and sends a driver."""

    cost_eur: param("truck", ge=0, unit="EUR") = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 500, "high": 1500},
        description="Driver travel, paperwork: paid on retrieval or release.",
    )
    driver_travel_days: param("truck", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 1, "high": 3},
        description="From Belarus processing the truck to it reaching the checkpoint queue.",
    )


class Owners(Section):
    """How owners of held trucks decide: retrieve now, wait for a release, write off, replace.

    At the hold, at each piece of news and every `review_interval_days`, each owner compares
    the expected cost of retrieving now (fee owed when Belarus gets round to the truck, driver,
    idle cost meanwhile), of waiting for the general release they expect (idle cost until then,
    the fee then less the discount they expect, the risk of confiscation if a deadline they
    believe falls before it) and of writing the truck off (its worth to them), and takes the
    cheapest. An owner who expects a long wait replaces the truck (a one-off cost, then a daily
    cost instead of the idle cost).
    """

    review_interval_days: float = Field(
        7.0, gt=0, description="How often owners reassess without news."
    )
    expected_release_days: param("truck", gt=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "lognormal", "mean": 60, "sd": 40},
        description="Owner's belief at the hold: days until a general release.",
    )
    belief_pessimism: param("replication", ge=0) = Field(  # type: ignore[valid-type]
        0.5,
        description="Days added to the expected remaining wait per day waited without a "
        "release (the longer it lasts, the longer owners expect it to last).",
    )
    expected_fee_discount: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.5, description="Share of the accrued fee owners expect a general release to waive."
    )
    us_visit_without_trucks_days: param("replication", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        30,
        description="News: a US envoy visit that leaves the trucks out adds this to every "
        "owner's expected wait.",
    )
    talks_open_expected_days: param("replication", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        30,
        description="News: while the carriers' talks are open, owners expect the release "
        "within this many days (their belief is capped by it).",
    )
    deadline_credibility: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.2,
        description="Owners' chance that an announced confiscation deadline will be enforced.",
    )
    replacement_cost_eur: param("truck", ge=0, unit="EUR") = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 2000, "high": 8000},
        description="One-off cost of replacing a held truck (leasing or buying a substitute).",
    )
    replacement_eur_per_day: param("truck", ge=0, unit="EUR/day") = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 40, "high": 90},
        description="Daily cost of the substitute, paid instead of the idle cost until the "
        "held truck is home or lost.",
    )


class Belarus(Section):
    """Belarus's side: how fast it processes retrievals and how it weighs releasing the trucks.

    What holding brings per day: the fee on every truck still on the lots plus their value as
    leverage; what it costs: pressure plus any EU counter-measure. Belarus's reservation price
    for a release is (brings - costs) * planning_days (never below 0): an offer through any
    channel (a government attempt, the carriers' talks, a US deal) frees the trucks if it is
    worth at least that. Leverage falls as trucks leave, so retrievals make a release cheaper.
    """

    processing_per_day: param("replication", gt=0, unit="trucks/day") = Field(  # type: ignore[valid-type]
        7.5, description="Individual retrievals Belarus processes a day (a backlog forms)."
    )
    leverage_eur_per_truck_per_day: param("replication", ge=0, unit="EUR/day") = Field(  # type: ignore[valid-type]
        60, description="Worth to Minsk of one held truck per day as a bargaining chip."
    )
    pressure_eur_per_day: param("replication", ge=0, unit="EUR/day") = Field(  # type: ignore[valid-type]
        60_000, description="Cost to Minsk of holding the trucks per day (trade, reputation)."
    )
    planning_days: param("replication", gt=0, unit="days") = Field(  # type: ignore[valid-type]
        90, description="How far ahead Minsk weighs what holding brings against its costs."
    )


class Release(Section):
    """The terms of the general release: the fee rule, and the owners' pickup."""

    fee_rule: Literal["accrued", "flat"] = Field(
        "accrued",
        description="`accrued`: pay the accrued storage fee less `fee_discount`; "
        "`flat`: pay `flat_fee_eur` whatever accrued.",
    )
    fee_discount: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 0.0, "high": 0.5},
        description="Share of the accrued fee waived under the `accrued` rule.",
    )
    flat_fee_eur: param("replication", ge=0, unit="EUR") = Field(  # type: ignore[valid-type]
        0, description="Exit fee per truck under the `flat` rule."
    )
    pickup_delay_days: param("truck", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 1, "high": 14},
        description="From the release to the owner paying and a driver setting off.",
    )


class Government(Section):
    """Lithuania's bilateral channel: attempts whose offers rarely meet Minsk's price."""

    enabled: bool = True
    attempt_interval_days: param("event", gt=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "exponential", "mean": 30}, description="Between diplomatic attempts."
    )
    offer_eur: param("event", ge=0, unit="EUR") = Field(  # type: ignore[valid-type]
        {"dist": "exponential", "mean": 100_000},
        description="What one attempt offers Minsk for the release.",
    )


class Carriers(Section):
    """The carriers' direct talks with Minsk, opened when their patience runs out."""

    enabled: bool = True
    patience_days: param("replication", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "triangular", "low": 100, "mode": 127, "high": 150},
        description="Days after the hold order when carriers open talks.",
    )
    patience_loss_eur: param("replication", gt=0, unit="EUR") | None = Field(  # type: ignore[valid-type]
        None, description="Or when their net losses pass this (whichever comes first)."
    )
    check_interval_days: float = Field(
        7.0, gt=0, description="How often carriers reassess their losses."
    )
    opening_day: float | None = Field(
        None, ge=0, description="If set, talks open on this day (after a hold) regardless."
    )
    talks_duration_days: param("event", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "triangular", "low": 10, "mode": 30, "high": 60},
        description="From opening the talks to their outcome.",
    )
    offer_eur: param("event", ge=0, unit="EUR") = Field(  # type: ignore[valid-type]
        {"dist": "exponential", "mean": 500_000},
        description="What the carriers offer Minsk at the end of the talks; the talks free "
        "the trucks if it meets Minsk's price, and fail otherwise.",
    )
    us_offer_eur: param("replication", ge=0, unit="EUR") = Field(  # type: ignore[valid-type]
        2_000_000,
        description="Added to a US deal's offer for the trucks while the talks are open.",
    )
    retry_days: param("event", ge=0, unit="days") | None = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 14, "high": 45},
        description="After failed talks, carriers open new ones this many days later "
        "(None: they do not try again).",
    )


class SanctionsSector(Section):
    """A sector of US sanctions that a deal can lift."""

    value_eur_per_year: param("replication", ge=0, unit="EUR/year") = Field(  # type: ignore[valid-type]
        description="Yearly value to Belarus of lifting these sanctions."
    )
    lifted_at_start: bool = False


def _default_sanctions() -> dict[str, SanctionsSector]:
    return {
        "airline": SanctionsSector(value_eur_per_year=30_000_000, lifted_at_start=True),
        "potash": SanctionsSector(
            value_eur_per_year={"dist": "uniform", "low": 200_000_000, "high": 800_000_000}
        ),
        "finance": SanctionsSector(
            value_eur_per_year={"dist": "uniform", "low": 50_000_000, "high": 300_000_000}
        ),
    }


class UsMediation(Section):
    """US envoy visits; a visit may end in a deal: prisoners, sanctions relief, and trucks."""

    enabled: bool = True
    last_visit_day: float = Field(
        -24, description="Day of the last visit before the scenario starts (may be negative)."
    )
    visit_interval_days: param("event", gt=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "gamma", "mean": 92, "sd": 8}, description="Between envoy visits."
    )
    deal_probability: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.85, description="Chance that a visit ends in a deal."
    )
    prisoners_held: param("replication", ge=0, unit="people") = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 1000, "high": 1200},
        description="Political prisoners held at the start: bounds all releases.",
    )
    prisoners_per_deal: param("event", ge=0, unit="people") = Field(  # type: ignore[valid-type]
        {"dist": "lognormal", "mean": 150, "sd": 90}, description="Prisoners freed by one deal."
    )
    sectors_per_deal: WholeNumber = Field(
        1, ge=0, le=MAX_COUNT, description="Sanctions sectors one deal lifts."
    )
    sanctions: dict[str, SanctionsSector] = Field(
        default_factory=_default_sanctions, description="Sectors in the order deals lift them."
    )
    appraisal_years: float = Field(
        5.0, gt=0, le=100, description="Years over which sanctions relief is valued."
    )
    discount_rate: float = Field(
        0.08, ge=0, le=1, description="Yearly rate at which relief is discounted to day 0."
    )
    trucks_offer_eur: param("event", ge=0, unit="EUR") = Field(  # type: ignore[valid-type]
        {"dist": "lognormal", "mean": 5_000_000, "sd": 3_000_000},
        description="What a deal offers Minsk for the trucks (on top of prisoners-for-"
        "sanctions); the deal includes them if the offer meets Minsk's price.",
    )
    lithuania_request_days_after_hold: param("event", ge=0, unit="days") | None = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 30, "high": 120},
        description="When Lithuania asks the US to include the trucks (None: never; an "
        "`ask_us` policy can ask too).",
    )
    lithuania_request_offer_eur: param("replication", ge=0, unit="EUR") = Field(  # type: ignore[valid-type]
        3_000_000, description="Added to a deal's offer for the trucks once Lithuania has asked."
    )
    release_delay_days: param("event", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 3, "high": 7},
        description="From a deal that includes the trucks to the release decision.",
    )


# -- policies ----------------------------------------------------------------------------------
METRICS = ("days_since_hold", "trucks_on_lots", "carriers_net_loss_eur", "trucks_retrieved")


class Condition(Section):
    """A condition on the state, checked once a day: `metric` above and/or below a number."""

    metric: Literal[
        "days_since_hold", "trucks_on_lots", "carriers_net_loss_eur", "trucks_retrieved"
    ]
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _bound_given(self) -> Condition:
        if self.above is None and self.below is None:
            raise ValueError("give `above` or `below`")
        if self.above is not None and self.below is not None and self.above >= self.below:
            raise ValueError(
                f"above {self.above:g} and below {self.below:g}: no value is both, the "
                "condition could never hold"
            )
        return self


class PolicyBase(Section):
    """An action taken once: on `day`, or on the first day `when` holds (after a hold order)."""

    name: str = Field(min_length=1, description="Names the policy (entries merge by it).")
    day: float | None = Field(None, ge=0, description="Day the action is taken.")
    when: Condition | None = Field(None, description="Or: the first day this holds.")

    @model_validator(mode="after")
    def _one_trigger(self) -> PolicyBase:
        if (self.day is None) == (self.when is None):
            raise ValueError("give exactly one of `day` and `when`")
        return self


class SetFee(PolicyBase):
    """Belarus changes the storage fee from then on (the fee owed so far stays)."""

    action: Literal["set_fee"]
    eur_per_day: param("replication", ge=0, unit="EUR/day")  # type: ignore[valid-type]


class CompensationPolicy(PolicyBase, Compensation):
    """Lithuania starts (or changes, or stops with all amounts 0) a compensation scheme."""

    action: Literal["compensation"]


class AskUs(PolicyBase):
    """Lithuania asks the US to include the trucks in its next deal."""

    action: Literal["ask_us"]


class CheckpointPolicy(PolicyBase):
    """Lithuania opens, restricts or closes a checkpoint (a border closure still applies)."""

    action: Literal["checkpoint"]
    checkpoint: str = Field(description="A name under `checkpoints`.")
    capacity_fraction: float | None = Field(
        ge=0, description="Share of its lanes open from then on (None: back to normal)."
    )


class ConfiscationDeadline(PolicyBase):
    """Belarus announces that trucks still held in `days` will be confiscated."""

    action: Literal["confiscation_deadline"]
    days: float = Field(gt=0, description="From the announcement to the deadline.")
    probability: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        1.0, description="Chance Belarus enforces it."
    )


class EuCountermeasures(PolicyBase):
    """The EU imposes counter-measures that cost Minsk `eur_per_day` while trucks are held."""

    action: Literal["eu_countermeasures"]
    eur_per_day: param("replication", ge=0, unit="EUR/day")  # type: ignore[valid-type]


Policy = Annotated[
    SetFee
    | CompensationPolicy
    | AskUs
    | CheckpointPolicy
    | ConfiscationDeadline
    | EuCountermeasures,
    Field(discriminator="action"),
]


class Scenario(ScenarioBase):
    """A whole scenario of the border-standoff model."""

    #: Keys of the model's first version, and what replaced them (shown when a file uses one).
    REMOVED_KEYS: ClassVar[dict[str, str]] = {
        "hold.requires_border_closed": "removed in the model's second version; the hold after "
        "a reopening is now uncertain: hold.after_reopening_probability",
        "retrieval.decision_delay_days": "removed in the model's second version; owners now "
        "decide (owners.*) and Belarus processes retrievals (belarus.processing_per_day)",
        "government.success_probability": "removed in the model's second version; an attempt "
        "now offers government.offer_eur, weighed by Minsk (belarus.*)",
        "carriers.success_probability": "removed in the model's second version; the talks now "
        "offer carriers.offer_eur, weighed by Minsk (belarus.*)",
        "carriers.us_truck_boost": "removed in the model's second version; open talks now add "
        "carriers.us_offer_eur to a US deal's offer",
        "us.trucks_probability": "removed in the model's second version; a deal now offers "
        "us.trucks_offer_eur for the trucks, weighed by Minsk (belarus.*)",
        "us.lithuania_request_boost": "removed in the model's second version; Lithuania's "
        "request now adds us.lithuania_request_offer_eur to a deal's offer",
    }

    model: Literal["standoff"] = Field(
        "standoff", description="The built-in border-standoff model."
    )
    horizon_days: float = Field(
        365, gt=0, le=MAX_HORIZON_DAYS, description="Simulated days from day 0."
    )
    start_date: dt.date = Field(dt.date(2025, 10, 5), description="Calendar date of day 0.")
    incidents: Incidents = Field(default_factory=Incidents)
    closure: Closure = Field(default_factory=Closure)
    checkpoints: dict[str, Checkpoint] = Field(default_factory=_default_checkpoints)
    fleet: Fleet = Field(default_factory=Fleet)
    evacuation: Evacuation = Field(default_factory=Evacuation)
    hold: Hold = Field(default_factory=Hold)
    detention: Detention = Field(default_factory=Detention)
    compensation: Compensation = Field(default_factory=Compensation)
    retrieval: Retrieval = Field(default_factory=Retrieval)
    owners: Owners = Field(default_factory=Owners)
    belarus: Belarus = Field(default_factory=Belarus)
    release: Release = Field(default_factory=Release)
    government: Government = Field(default_factory=Government)
    carriers: Carriers = Field(default_factory=Carriers)
    us: UsMediation = Field(default_factory=UsMediation)
    policies: list[Policy] = Field(
        default_factory=list, description="Actions at a day or on a condition (see README)."
    )

    @field_validator("checkpoints")
    @classmethod
    def _some_lanes(cls, checkpoints: dict[str, Checkpoint]) -> dict[str, Checkpoint]:
        if not checkpoints:
            raise ValueError("needs at least one checkpoint")
        if sum(c.lanes for c in checkpoints.values()) == 0:
            raise ValueError("at least one checkpoint needs lanes > 0")
        return checkpoints

    @model_validator(mode="after")
    def _names_exist(self, info: ValidationInfo) -> Scenario:
        # Loaded from a file, the registry reports each problem at its key (``references``);
        # built in code, the first one is raised here.
        if info.context and info.context.get("located_checks"):
            return self
        for path, message in references(self):
            raise ValueError(f"{'.'.join(str(p) for p in path)}: {message}")
        return self


def references(scenario: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
    """Names a scenario uses that must exist elsewhere in it: owner groups of compensation
    schemes, checkpoints of checkpoint policies, unique policy names. Each problem is (key
    path, message), with a hint when a name looks like a typo of an existing one."""
    problems: list[tuple[tuple[str | int, ...], str]] = []

    def unknown(name: str, kind: str, known: list[str]) -> str:
        hint = did_you_mean(name, known)
        return f"{name!r} is not one of the {kind} ({', '.join(known)}){hint}"

    groups = list(scenario.fleet.groups)
    schemes: list[tuple[tuple[str | int, ...], Compensation]] = [
        (("compensation",), scenario.compensation)
    ]
    schemes += [
        (("policies", i), p) for i, p in enumerate(scenario.policies) if p.action == "compensation"
    ]
    for where, scheme in schemes:
        for j, group in enumerate(scheme.groups or ()):
            if group not in groups:
                problems.append(((*where, "groups", j), unknown(group, "owner groups", groups)))
    seen: dict[str, int] = {}
    checkpoints = list(scenario.checkpoints)
    for i, policy in enumerate(scenario.policies):
        if policy.name in seen:
            problems.append(
                (("policies", i, "name"), f"{policy.name!r} names policy {seen[policy.name]} too")
            )
        seen.setdefault(policy.name, i)
        if policy.action == "checkpoint" and policy.checkpoint not in checkpoints:
            problems.append(
                (
                    ("policies", i, "checkpoint"),
                    unknown(policy.checkpoint, "checkpoints", checkpoints),
                )
            )
    return problems
