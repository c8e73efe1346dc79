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
from typing import Literal

from pydantic import Field, field_validator, model_validator

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
        description="Market value of the vehicle (tractor with trailer)."
    )
    idle_cost_eur_per_day: param("truck", ge=0, unit="EUR/day") = Field(  # type: ignore[valid-type]
        description="The carrier's own cost of the vehicle standing idle."
    )
    owner_value_factor: param("truck", gt=0) = Field(  # type: ignore[valid-type]
        1.5,
        description="Worth of the vehicle to its owner as a multiple of its market value "
        "(replacement lead time, contracts): the owner abandons a truck whose fee and retrieval "
        "cost exceed value * factor.",
    )


def _default_groups() -> dict[str, OwnerGroup]:
    return {
        "lithuanian": OwnerGroup(
            share=0.68,
            value_eur={"dist": "lognormal", "mean": 14900, "sd": 7000},
            idle_cost_eur_per_day={"dist": "lognormal", "mean": 200, "sd": 60},
        ),
        "polish": OwnerGroup(
            share=0.32,
            value_eur={"dist": "lognormal", "mean": 14900, "sd": 7000},
            idle_cost_eur_per_day={"dist": "lognormal", "mean": 200, "sd": 60},
        ),
    }


class Fleet(Section):
    """Lithuanian-registered vehicles in Belarus at the start."""

    trucks_in_belarus: param(  # type: ignore[valid-type]
        "replication", ge=0, le=MAX_TRUCKS, unit="trucks"
    ) = Field(2300, description="Vehicles in Belarus on day 0 (rounded to a whole number).")
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
    """Trucks that head home once the border closes, before any hold order."""

    share: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.25, description="Share of trucks that try to leave when the first closure starts."
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
        12, description="From the closure's start to the hold order."
    )
    requires_border_closed: bool = Field(
        True, description="The order is issued only if the border is still closed by then."
    )


class Detention(Section):
    """Storage fees on the guarded lots and the storage period that ends in confiscation."""

    storage_fee_eur_per_day: param("replication", ge=0, unit="EUR/day") = Field(  # type: ignore[valid-type]
        120, description="Fee owed to Belarus per held vehicle per day."
    )
    storage_period_days: param("replication", gt=0, unit="days") = Field(  # type: ignore[valid-type]
        120, description="After this long on the lots, unclaimed trucks may be confiscated."
    )
    confiscation_probability: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.0, description="Chance Belarus confiscates the trucks still held when the period ends."
    )


class Compensation(Section):
    """A Lithuanian compensation scheme for carriers (none in the case)."""

    eur_per_truck_per_day: param("replication", ge=0, unit="EUR/day") = Field(  # type: ignore[valid-type]
        0, description="Paid by Lithuania per held truck per day."
    )
    starts_days_after_hold: float = Field(0, ge=0)


class Retrieval(Section):
    """Individual retrieval: an owner pays one truck's accrued fees and sends a driver."""

    decision_delay_days: param("truck", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "exponential", "mean": 180},
        description="From the hold order to the owner's attempt to retrieve the truck.",
    )
    cost_eur: param("truck", ge=0, unit="EUR") = Field(  # type: ignore[valid-type]
        1000, description="Driver travel, paperwork: paid on retrieval or release."
    )
    driver_travel_days: param("truck", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 1, "high": 3},
        description="From paying to the truck reaching the checkpoint queue.",
    )


class Release(Section):
    """The general release decision and its fee rule."""

    fee_rule: Literal["accrued", "flat"] = Field(
        "accrued",
        description="`accrued`: pay the accrued storage fee less `fee_discount`; "
        "`flat`: pay `flat_fee_eur` whatever accrued.",
    )
    fee_discount: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.0, description="Share of the accrued fee waived under the `accrued` rule."
    )
    flat_fee_eur: param("replication", ge=0, unit="EUR") = Field(  # type: ignore[valid-type]
        0, description="Exit fee per truck under the `flat` rule."
    )
    pickup_delay_days: param("truck", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "uniform", "low": 1, "high": 10},
        description="From the release to the owner paying and a driver setting off.",
    )


class Government(Section):
    """Lithuania's bilateral channel: attempts that rarely succeed."""

    enabled: bool = True
    attempt_interval_days: param("event", gt=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "exponential", "mean": 30}, description="Between diplomatic attempts."
    )
    success_probability: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.02, description="Chance that one attempt produces the general release."
    )


class Carriers(Section):
    """The carriers' direct talks with Minsk, opened when their patience runs out."""

    enabled: bool = True
    patience_days: param("replication", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        125, description="Days after the hold order when carriers open talks."
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
    success_probability: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.1, description="Chance that the talks alone produce the general release."
    )
    talks_duration_days: param("event", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "triangular", "low": 10, "mode": 30, "high": 60},
        description="From opening talks to the release they produce (if they do).",
    )
    us_truck_boost: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.5, description="Added to the chance a US deal includes the trucks once talks are open."
    )


class SanctionsSector(Section):
    """A sector of US sanctions that a deal can lift."""

    value_eur_per_year: param("replication", ge=0, unit="EUR/year") = Field(  # type: ignore[valid-type]
        description="Yearly value to Belarus of lifting these sanctions."
    )
    lifted_at_start: bool = False


class UsMediation(Section):
    """US envoy visits; a visit may end in a deal: prisoners, sanctions relief, and trucks."""

    enabled: bool = True
    last_visit_day: float = Field(
        -24, description="Day of the last visit before the scenario starts (may be negative)."
    )
    visit_interval_days: param("event", gt=0, unit="days") = Field(  # type: ignore[valid-type]
        {"dist": "gamma", "mean": 92, "sd": 10}, description="Between envoy visits."
    )
    deal_probability: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.85, description="Chance that a visit ends in a deal."
    )
    prisoners_held: param("replication", ge=0, unit="people") = Field(  # type: ignore[valid-type]
        1100, description="Political prisoners held at the start: bounds all releases."
    )
    prisoners_per_deal: param("event", ge=0, unit="people") = Field(  # type: ignore[valid-type]
        {"dist": "lognormal", "mean": 150, "sd": 80}, description="Prisoners freed by one deal."
    )
    sectors_per_deal: WholeNumber = Field(
        1, ge=0, le=MAX_COUNT, description="Sanctions sectors one deal lifts."
    )
    sanctions: dict[str, SanctionsSector] = Field(
        default_factory=dict, description="Sectors in the order deals lift them."
    )
    trucks_probability: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.1, description="Chance a deal includes the trucks, before any boost."
    )
    lithuania_request_days_after_hold: param("event", ge=0, unit="days") | None = Field(  # type: ignore[valid-type]
        None, description="When Lithuania asks the US to include the trucks (None: never)."
    )
    lithuania_request_boost: param("replication", ge=0, le=1) = Field(  # type: ignore[valid-type]
        0.2, description="Added to the truck chance once Lithuania has asked."
    )
    release_delay_days: param("event", ge=0, unit="days") = Field(  # type: ignore[valid-type]
        4, description="From a deal that includes the trucks to the release decision."
    )


class Scenario(ScenarioBase):
    """A whole scenario of the border-standoff model."""

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
    release: Release = Field(default_factory=Release)
    government: Government = Field(default_factory=Government)
    carriers: Carriers = Field(default_factory=Carriers)
    us: UsMediation = Field(default_factory=UsMediation)

    @field_validator("checkpoints")
    @classmethod
    def _some_lanes(cls, checkpoints: dict[str, Checkpoint]) -> dict[str, Checkpoint]:
        if not checkpoints:
            raise ValueError("needs at least one checkpoint")
        if sum(c.lanes for c in checkpoints.values()) == 0:
            raise ValueError("at least one checkpoint needs lanes > 0")
        return checkpoints
