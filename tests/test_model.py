"""The standoff model against exact traces, closed forms and its own invariants.

Every scenario here is deterministic (constants only, one owner group, one checkpoint, certain
or impossible events), so each figure can be worked out by hand; the hand calculation is in the
test.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from sim.model.standoff import StandoffModel
from sim.model.standoff.schema import Scenario
from sim.seeding import Streams

NEVER = 10_000.0  # a delay longer than any horizon here


def deterministic(**changes: Any) -> dict[str, Any]:
    """A small deterministic scenario: 4 trucks, one checkpoint, closure on day 10."""
    data: dict[str, Any] = {
        "name": "deterministic",
        "horizon_days": 100,
        "incidents": {"schedule": [{"from_day": 0, "rate_per_day": 0}]},
        "closure": {"rule": "fixed_day", "fixed_day": 10, "planned_duration_days": 20},
        "checkpoints": {
            "gate": {"lanes": 1, "service_days": 0.5, "closure_capacity_fraction": 1.0}
        },
        "fleet": {
            "trucks_in_belarus": 4,
            "groups": {
                "lt": {
                    "share": 1.0,
                    "value_eur": 20_000,
                    "idle_cost_eur_per_day": 200,
                    "owner_value_factor": 1.0,
                }
            },
        },
        "evacuation": {"share": 1.0, "decision_delay_days": 0, "travel_days": 1},
        "hold": {"probability": 1.0, "reaction_delay_days": 2},
        "detention": {"storage_fee_eur_per_day": 120, "storage_period_days": 120},
        "retrieval": {"decision_delay_days": 5, "cost_eur": 100, "driver_travel_days": 1},
        "release": {"pickup_delay_days": 2},
        "government": {"enabled": False},
        "carriers": {"enabled": False},
        "us": {"enabled": False},
    }
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return data


def run(data: dict[str, Any], seed: int = 0, replication: int = 0):
    model = StandoffModel(Scenario.model_validate(copy.deepcopy(data)))
    return model.trace_replication(Streams(seed, replication))


def test_exact_trace_of_evacuation_hold_and_retrieval() -> None:
    # Day 10: closure; all 4 trucks set off and reach the one-lane gate on day 11; service
    # 0.5 day each: starts 11.0, 11.5, 12.0, 12.5. Hold order on day 12 (10 + 2): trucks
    # that have started by then got out (2); a truck due to start at exactly 12 has not.
    # Each held owner decides on day 17 (12 + 5): fee 5 * 120 = 600, plus 100 <= 20,000:
    # retrieve; the driver brings it to the gate on day 18; the gate is open (closure
    # capacity 1.0), so they pass at 18.0 and 18.5 and are home at 18.5 and 19.0.
    result, events = run(deterministic())
    assert events == [
        (10.0, "closure starts"),
        (12.0, "hold order: 2 held, 2 got out"),
        (30.0, "closure ends"),
    ]
    out = result.outcomes
    assert out["closure_day"] == 10.0
    assert out["hold_day"] == 12.0
    assert out["trucks_evacuated"] == 2
    assert out["trucks_held"] == 2
    assert out["trucks_retrieved"] == 2
    assert out["trucks_released"] == 0
    assert out["release_day"] is None
    assert out["release_channel"] == "none"
    assert out["last_truck_home_day"] == 19.0
    assert out["border_closed_days"] == 20.0
    assert out["detention_days_mean"] == 6.0  # on the lot from 12 until the driver, day 18
    assert out["detention_days_max"] == 6.0
    assert out["fees_paid_eur"] == 2 * 600
    assert out["retrieval_cost_eur"] == 2 * 100
    # Idle: evacuees queue from 11 to home at 11.5 and 12.0 (0.5 + 1.0 days); held trucks
    # from their arrival at 11 to home at 18.5 and 19.0 (7.5 + 8.0 days).
    assert out["idle_cost_eur"] == pytest.approx(200 * (0.5 + 1.0 + 7.5 + 8.0))
    assert out["carrier_cost_eur"] == pytest.approx(1200 + 200 + 200 * 17.0)
    # Two trucks wait while the first is served at 11.0 (arrivals at 11, all four): peak 3.
    assert out["peak_checkpoint_queue"] == 3


def test_closed_form_costs_of_a_general_release() -> None:
    # 10 trucks, none leaves before the hold on day 12; nobody retrieves individually; the
    # government's first attempt (after 50 days: day 62) succeeds. Fee rule: accrued less
    # 40%: 0.6 * 120 * 50 = 3,600 per truck. Pickup 2 days, driver 1 day: at the gate on
    # day 65; 20 lanes, service 0.25 day: home on 65.25.
    data = deterministic(
        fleet__trucks_in_belarus=10,
        evacuation__share=0.0,
        retrieval__decision_delay_days=NEVER,
        release__fee_discount=0.4,
        government={"enabled": True, "attempt_interval_days": 50, "success_probability": 1.0},
        checkpoints={"gate": {"lanes": 20, "service_days": 0.25}},
    )
    result, events = run(data)
    assert events[-1] == (
        62.0,
        "general release (government): fee 3600.00 EUR, 10 paid, 0 abandoned",
    )
    out = result.outcomes
    assert out["release_day"] == 62.0
    assert out["release_channel"] == "government"
    assert out["trucks_released"] == 10
    assert out["fees_paid_eur"] == pytest.approx(10 * 3600)
    assert out["storage_fee_per_truck_at_release_eur"] == pytest.approx(120 * 50)
    assert out["idle_cost_eur"] == pytest.approx(10 * 200 * (65.25 - 12))
    assert out["detention_days_mean"] == pytest.approx(65 - 12)
    assert out["last_truck_home_day"] == pytest.approx(65.25)
    assert out["carrier_cost_eur"] == pytest.approx(10 * (3600 + 100 + 200 * 53.25))
    assert out["belarus_gain_eur"] == pytest.approx(10 * 3600)
    assert out["hold_to_release_days"] == pytest.approx(50.0)


def test_abandonment_and_compensation_closed_form() -> None:
    # As above, but the full accrued fee (120 * 50 = 6,000) plus 100 exceeds the worth of
    # trucks valued 5,000: all abandon at the release, their value lost. Compensation of
    # EUR 50/day from 10 days after the hold: 50 * (50 - 10) per truck.
    data = deterministic(
        fleet__trucks_in_belarus=10,
        fleet__groups__lt__value_eur=5_000,
        evacuation__share=0.0,
        retrieval__decision_delay_days=NEVER,
        government={"enabled": True, "attempt_interval_days": 50, "success_probability": 1.0},
        compensation={"eur_per_truck_per_day": 50, "starts_days_after_hold": 10},
    )
    out = run(data)[0].outcomes
    assert out["trucks_abandoned"] == 10
    assert out["trucks_released"] == 0
    assert out["fees_paid_eur"] == 0
    assert out["assets_lost_eur"] == pytest.approx(10 * 5_000)
    assert out["idle_cost_eur"] == pytest.approx(10 * 200 * 50)
    assert out["compensation_paid_eur"] == pytest.approx(10 * 50 * 40)
    assert out["carrier_net_cost_eur"] == pytest.approx(10 * (5_000 + 200 * 50 - 50 * 40))
    assert out["belarus_gain_eur"] == pytest.approx(10 * 5_000)
    assert out["last_truck_home_day"] is None  # nobody got home


def test_retrieval_refused_when_fees_exceed_worth_then_confiscation() -> None:
    # Worth 500: 600 of fees + 100 > 500, so owners wait; the storage period (30 days) ends on
    # day 42 and Belarus confiscates both held trucks.
    data = deterministic(
        fleet__groups__lt__value_eur=500,
        detention={
            "storage_fee_eur_per_day": 120,
            "storage_period_days": 30,
            "confiscation_probability": 1.0,
        },
    )
    result, events = run(data)
    assert (42.0, "confiscation: 2 trucks") in events
    out = result.outcomes
    assert out["trucks_retrieved"] == 0
    assert out["trucks_confiscated"] == 2
    assert out["assets_lost_eur"] == pytest.approx(2 * 500)
    assert out["detention_days_mean"] == pytest.approx(30.0)


def test_no_hold_when_the_border_reopens_before_belarus_reacts() -> None:
    out = run(deterministic(closure__planned_duration_days=1))[0].outcomes
    assert out["hold_day"] is None
    assert out["trucks_held"] == 0
    assert out["trucks_evacuated"] == 4
    assert out["carrier_cost_eur"] == pytest.approx(200 * (0.5 + 1.0 + 1.5 + 2.0))


def test_us_deal_package_and_release() -> None:
    # Visits every 30 days from day 0: days 30, 60, 90. Every visit is a deal of 400
    # prisoners out of 1,000 held (so 400, 400, 200), lifting one sector each; trucks are
    # included from the first deal after the hold, released 4 days later (day 34).
    data = deterministic(
        retrieval__decision_delay_days=NEVER,
        us={
            "enabled": True,
            "last_visit_day": 0,
            "visit_interval_days": 30,
            "deal_probability": 1.0,
            "prisoners_held": 1000,
            "prisoners_per_deal": 400,
            "trucks_probability": 1.0,
            "release_delay_days": 4,
            "sanctions": {
                "potash": {"value_eur_per_year": 365_000},
                "finance": {"value_eur_per_year": 730_000},
            },
        },
    )
    result, events = run(data)
    assert [e for e in events if "US" in e[1] or "release" in e[1]] == [
        (30.0, "US deal: 400 prisoners, sanctions lifted: potash, trucks: yes"),
        (34.0, "general release (us): fee 2640.00 EUR, 2 paid, 0 abandoned"),
        (60.0, "US deal: 400 prisoners, sanctions lifted: finance, trucks: no"),
        (90.0, "US deal: 200 prisoners, sanctions lifted: none, trucks: no"),
    ]
    out = result.outcomes
    assert out["prisoners_released"] == 1000
    assert out["us_deals"] == 3
    assert out["release_channel"] == "us"
    # Relief to the horizon (day 100): potash 1,000/day for 70 days, finance 2,000/day for 40.
    assert out["sanctions_relief_eur"] == pytest.approx(70_000 + 80_000)


def test_carriers_talks_raise_the_us_truck_chance() -> None:
    # Without talks the US never includes the trucks (probability 0); talks open 20 days
    # after the hold (day 32) and add 1.0: the visit on day 60 frees them.
    data = deterministic(
        retrieval__decision_delay_days=NEVER,
        carriers={
            "enabled": True,
            "patience_days": 20,
            "success_probability": 0.0,
            "us_truck_boost": 1.0,
        },
        us={
            "enabled": True,
            "last_visit_day": 0,
            "visit_interval_days": 30,
            "trucks_probability": 0.0,
            "deal_probability": 1.0,
            "release_delay_days": 0,
        },
    )
    result, events = run(data)
    assert (32.0, "carriers open talks") in events
    assert result.outcomes["release_day"] == 60.0
    assert result.outcomes["release_channel"] == "us"
    assert result.outcomes["carriers_talks_day"] == 32.0


def test_carriers_patience_on_losses() -> None:
    # 4 trucks, 2 held from day 12 at 200/day idle (queue from day 11): carriers' losses
    # reach 10,000 when idle cost does; checked weekly from the hold: days 19, 26, 33, ...
    # Losses on day 33: evacuees 300; held trucks 2 * 200 * 22 = 8,800 -> 9,100; on day 40:
    # 300 + 2 * 200 * 29 = 11,900 >= 10,000: talks open on day 40.
    data = deterministic(
        retrieval__decision_delay_days=NEVER,
        carriers={
            "enabled": True,
            "patience_days": 500,
            "patience_loss_eur": 10_000,
            "success_probability": 0.0,
        },
    )
    result, _ = run(data)
    assert result.outcomes["carriers_talks_day"] == 40.0


def test_series_are_consistent_with_outcomes() -> None:
    result, _ = run(deterministic())
    held = result.series["held"]
    assert held.shape == (101,)
    assert held[11] == 0 and held[12] == 2 and held[17] == 2 and held[18] == 0
    queueing = result.series["queueing"]
    assert queueing[11] == 3  # four arrived at 11, one in service
    cost = result.series["carrier_cost_eur"]
    assert np.all(np.diff(cost) >= -1e-9)
    assert cost[-1] == pytest.approx(result.outcomes["carrier_cost_eur"])


def test_second_closure_from_renewed_incidents() -> None:
    # Incidents every day from day 40 at a rate so high that 3 fall within a day at once.
    data = deterministic(
        incidents={
            "schedule": [
                {"from_day": 0, "rate_per_day": 0},
                {"from_day": 40, "rate_per_day": 200},
                {"from_day": 41, "rate_per_day": 0},
            ]
        },
        closure={
            "rule": "incidents",
            "incidents_threshold": 3,
            "window_days": 1,
            "planned_duration_days": 5,
            "min_days_between_closures": 0,
        },
    )
    out, events = run(data)
    starts = [t for t, e in events if e == "closure starts"]
    assert len(starts) == 1 and 40.0 <= starts[0] < 40.1
    assert out.outcomes["border_closed_days"] == pytest.approx(5.0)


def test_same_seed_same_result_and_streams_are_independent_of_other_mechanisms() -> None:
    base = deterministic(
        fleet__trucks_in_belarus={"dist": "uniform", "low": 50, "high": 100},
        evacuation__share=0.5,
        us={"enabled": True, "deal_probability": 0.5, "trucks_probability": 0.5},
        retrieval__decision_delay_days={"dist": "exponential", "mean": 30},
    )
    first = run(base, seed=7, replication=3)[0]
    again = run(base, seed=7, replication=3)[0]
    assert first.outcomes == again.outcomes
    other = run(base, seed=7, replication=4)[0]
    assert other.outcomes != first.outcomes
    # Common random numbers: switching US mediation off leaves the closure, the fleet and
    # the hold untouched, replication by replication.
    no_us = copy.deepcopy(base)
    no_us["us"]["enabled"] = False
    for replication in range(5):
        a = run(base, seed=7, replication=replication)[0].outcomes
        b = run(no_us, seed=7, replication=replication)[0].outcomes
        for key in ("trucks_in_belarus", "trucks_evacuated", "trucks_held", "hold_day"):
            assert a[key] == b[key]


def test_channels_see_trucks_retrieved_since_the_last_event() -> None:
    # Both held trucks are retrieved on day 17 (decisions are applied lazily, and nothing
    # else happens until the closure ends on day 50); the carriers' patience runs out on day
    # 32 with the lots empty, so they open no talks, and the US deal on day 40 carries no
    # trucks.
    data = deterministic(
        closure__planned_duration_days=40,
        carriers={"enabled": True, "patience_days": 20, "success_probability": 1.0},
        us={
            "enabled": True,
            "last_visit_day": 0,
            "visit_interval_days": 40,
            "prisoners_per_deal": 150,
            "trucks_probability": 1.0,
            "deal_probability": 1.0,
        },
    )
    result, events = run(data)
    assert result.outcomes["carriers_talks_day"] is None
    assert result.outcomes["release_day"] is None
    assert (40.0, "US deal: 150 prisoners, sanctions lifted: none, trucks: no") in events


def test_common_random_numbers_survive_a_longer_incident_schedule() -> None:
    """second-closure.yaml adds incident periods (so more per-replication parameters): every
    other per-replication draw is keyed by its key path, so the fleet, the first closure and
    the hold order stay the same replication by replication."""
    from pathlib import Path

    from sim.model import load_scenario

    scenarios = Path(__file__).resolve().parents[1] / "scenarios"
    base = StandoffModel(load_scenario(scenarios / "baseline.yaml")[0])
    second = StandoffModel(load_scenario(scenarios / "second-closure.yaml")[0])
    differs = 0
    for replication in range(20):
        a = base.run_replication(Streams(1, replication)).outcomes
        b = second.run_replication(Streams(1, replication)).outcomes
        for key in ("trucks_in_belarus", "trucks_evacuated", "closure_day"):
            assert a[key] == b[key], (replication, key)
        if a["hold_day"] is not None:  # else the second closure may provoke one
            assert (a["hold_day"], a["trucks_held"]) == (b["hold_day"], b["trucks_held"])
        differs += a["closures"] != b["closures"]
    assert differs > 10  # and the second wave does close the border again


def test_resolution_agrees_with_the_other_outcomes() -> None:
    """Each run's resolution follows from its hold, release and confiscations, and an
    enforced confiscation makes "confiscated" more common (same seed, paired)."""
    from pathlib import Path

    import pandas as pd

    import sim

    root = Path(__file__).resolve().parents[1] / "scenarios"
    base = sim.run(root / "baseline.yaml", replications=200, seed=3, workers=1).to_pandas()
    for row in base.itertuples():
        if row.resolution == "no_hold":
            assert pd.isna(row.hold_day)
        elif row.resolution.startswith("released_"):
            assert row.release_channel == row.resolution.removeprefix("released_")
        elif row.resolution == "confiscated":
            assert row.release_channel == "none" and row.trucks_confiscated > 0
        else:
            assert row.resolution == "unresolved"
            assert row.release_channel == "none" and row.trucks_confiscated == 0
            assert not pd.isna(row.hold_day)
    assert set(base.resolution) <= {
        "no_hold", "released_government", "released_carriers", "released_us", "confiscated",
        "unresolved",
    }  # fmt: skip
    enforced = sim.run(root / "confiscation.yaml", replications=200, seed=3, workers=1)
    shares = enforced.to_pandas().resolution.value_counts(normalize=True)
    base_shares = base.resolution.value_counts(normalize=True)
    # 200 paired runs: the confiscated share rises by far more than its binomial noise (~3%).
    assert shares.get("confiscated", 0) - base_shares.get("confiscated", 0) > 0.3
    assert shares.get("no_hold", 0) == base_shares.get("no_hold", 0)  # the hold is unchanged
