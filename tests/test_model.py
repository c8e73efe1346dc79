"""The standoff model (v2) against exact traces, closed forms and its own invariants.

Every scenario here is deterministic (constants only, one owner group, one checkpoint, certain
or impossible events; tests/standoff_cases.py), so each figure can be worked out by hand; the
hand calculation is in the test. Notation of owners.py: F fee owed, f fee per day, c daily
cost, r driver, w worth, D expected days to a release, d expected discount, q* the longest
processing wait an owner tolerates.

Rewritten for model v2 (issue 8): the first version's retrieval timer
(retrieval.decision_delay_days), success probabilities and truck probabilities are gone; owners
decide by comparing costs, Belarus processes retrievals at ``processing_per_day`` and weighs
offers against its reservation price, so every trace here was worked out anew.

Two devices keep the traces independent of how the owners' queue is ranked (see
tests/test_owners.py on the place of the first owner in the queue): ``SLOW`` processing, so a
truck asked for is never processed within the horizon, and ``PAID_TO_WAIT`` compensation
(EUR 400 a day > idle 200 + fee 120), under which no owner wants to retrieve.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
from standoff_cases import deterministic, lines, run

from sim.model import load_scenario
from sim.model.standoff import StandoffModel
from sim.model.standoff.fleet import GONE, LEAVING
from sim.model.standoff.model import Replication
from sim.model.standoff.release import Detention
from sim.model.standoff.schema import Scenario
from sim.seeding import Streams

SLOW = 1e-4  # trucks/day Belarus processes: a request made on day 12 is due on day 10,012
PAID_TO_WAIT = {"eur_per_truck_per_day": 400}
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
# Ten trucks, none evacuates: all ten held on day 12.
TEN = {"fleet__trucks_in_belarus": 10, "evacuation__share": 0.0}


def replication(data: dict) -> tuple[Replication, dict]:
    """Run one replication and keep it, to read the fleet's records after the run."""
    model = StandoffModel(Scenario.model_validate(copy.deepcopy(data)))
    rep = Replication(model, Streams(0, 0), [])
    return rep, rep.run().outcomes


def test_exact_trace_of_evacuation_hold_and_retrieval() -> None:
    # Day 10: closure; all 4 trucks set off and reach the one-lane gate on day 11; service
    # 0.5 day each: starts 11.0, 11.5, 12.0, 12.5. Hold order on day 12 (10 + 2): trucks
    # that have started by then got out (2); a truck due to start at exactly 12 has not.
    # At the hold F = 0, f = 120, c = 200, r = 100, D = 30, d = 0: waiting costs
    # 120*30 + 100 + 200*30 = 9,700 < w = 20,000; retrieving after q days costs 100 + 320 q,
    # so q* = (9,700 - 100) / 320 = 30: both owners ask. Belarus processes one a day: days 13
    # and 14, fees 120 and 240; drivers reach the gate a day later (14, 15) and are through
    # at 14.5 and 15.5.
    rep, out = replication(deterministic())
    assert rep.events == [
        (10.0, "closure starts"),
        (12.0, "hold order: 2 held, 2 got out"),
        (30.0, "closure ends"),
    ]
    assert out["closure_day"] == 10.0
    assert out["hold_day"] == 12.0
    assert (out["trucks_evacuated"], out["trucks_held"], out["trucks_retrieved"]) == (2, 2, 2)
    assert out["trucks_released"] == 0 and out["release_day"] is None
    assert out["release_channel"] == "none"
    assert out["resolution"] == "emptied"  # the lots emptied without a release
    held = np.isfinite(rep.fleet.held_from)
    assert rep.fleet.paid_at[held].tolist() == [13.0, 14.0]
    assert rep.fleet.fee_paid_eur[held].tolist() == [120.0, 240.0]
    assert out["retrieval_backlog_peak"] == 2
    assert out["last_truck_home_day"] == 15.5
    assert out["border_closed_days"] == 20.0
    assert out["detention_days_mean"] == 2.5  # on the lot from 12 to the gate on 14 and 15
    assert out["detention_days_max"] == 3.0
    assert out["fees_paid_eur"] == 360.0
    assert out["retrieval_cost_eur"] == 200.0
    # Idle: evacuees from the gate on 11 to 11.5 and 12.0 (0.5 + 1.0 days); held trucks from
    # 11 to 14.5 and 15.5 (3.5 + 4.5 days).
    assert out["idle_cost_eur"] == pytest.approx(200 * (0.5 + 1.0 + 3.5 + 4.5))
    assert out["carrier_cost_eur"] == pytest.approx(360 + 200 + 1900)
    assert out["belarus_standoff_gain_eur"] == 360.0
    # Two trucks wait while the first is served at 11.0 (arrivals at 11, all four): peak 3.
    assert out["peak_checkpoint_queue"] == 3


def test_processing_queue_fee_paid_is_fee_owed_at_processing() -> None:
    # Ten held trucks, Belarus processes 2 a day. Each owner's q* is 30 days (as above), and
    # the k-th in the queue waits k/2 <= 5 days: all ask on day 12 and are processed at
    # 12 + k/2 (k = 1..10), each paying the fee owed then, 120 * k / 2.
    rep, out = replication(deterministic(**TEN, belarus__processing_per_day=2))
    k = np.arange(1, 11)
    assert rep.fleet.requested_at.tolist() == [12.0] * 10
    assert rep.fleet.paid_at.tolist() == (12 + k / 2).tolist()
    assert rep.fleet.fee_paid_eur.tolist() == pytest.approx((60 * k).tolist())
    assert out["fees_paid_eur"] == pytest.approx(60 * 55)
    assert out["retrieval_backlog_peak"] == 10
    assert out["trucks_retrieved"] == 10


@pytest.mark.parametrize("rate", [2.0, 1e14, 1e15])
def test_the_backlog_counts_every_request_made_at_once_whatever_the_rate(rate: float) -> None:
    """All ten ask at the hold, on day 302: the backlog is ten even when Belarus processes so
    fast that the first request's day rounds to the day it was made (302 + 1e-14 is 302)."""
    case = deterministic(
        **TEN, belarus__processing_per_day=rate, closure__fixed_day=300, horizon_days=400
    )
    _, out = replication(case)
    assert out["hold_day"] == 302.0
    assert out["retrieval_backlog_peak"] == 10
    assert out["trucks_retrieved"] == 10


def test_partial_queue_only_owners_whose_wait_is_tolerable_join() -> None:
    # D = 5: waiting costs 120*5 + 100 + 200*5 = 1,700, so q* = (1,700 - 100) / 320 = 5 days.
    # Processing one a day from day 12, the k-th request (k = 1, 2, ...) is processed on day
    # 12 + k: only k <= 5 wait no more than q*. The other five wait; at the review on day 19
    # (F = 840, q* = (840 + 600 + 100 + 1000 - 940) / 320 = 5 again, empty queue) five more
    # ask and are processed on days 20..24.
    rep, _ = replication(deterministic(**TEN, owners__expected_release_days=5))
    assert rep.fleet.paid_at.tolist() == [13.0, 14, 15, 16, 17, 20, 21, 22, 23, 24]


def test_general_release_closed_form() -> None:
    # Ten trucks held on day 12; processing is so slow that no request is served. The
    # government's first attempt, after 30 days (day 42), offers EUR 1bn: Minsk's price is
    # 10 trucks * (fee 120 + leverage 100) * 10 planning days = 22,000, so it accepts. Fee
    # rule: accrued less 40%: 0.6 * 120 * 30 = 2,160 per truck; 2,160 + 100 <= 20,000: all
    # pay. Pickup 2 days, driver 1: at the gate on day 45; one lane, 0.5 day each: through at
    # 45.5, 46, ..., 50.
    data = deterministic(
        **TEN,
        belarus__processing_per_day=SLOW,
        release__fee_discount=0.4,
        government={"enabled": True, "attempt_interval_days": 30, "offer_eur": 1e9},
    )
    result, events = run(data)
    assert lines(events, "government") == [
        (42.0, "government offer 1000.00M EUR against Minsk's price 0.02M EUR: accepted"),
        (42.0, "general release (government): fee 2160.00 EUR, 10 paid, 0 abandoned"),
    ]
    out = result.outcomes
    assert out["release_day"] == 42.0
    assert out["release_channel"] == "government"
    assert out["resolution"] == "released_government"
    assert out["trucks_released"] == 10 and out["trucks_retrieved"] == 0
    assert out["fees_paid_eur"] == pytest.approx(10 * 2160)
    assert out["storage_fee_per_truck_at_release_eur"] == pytest.approx(120 * 30)
    homes = 45.5 + 0.5 * np.arange(10)
    assert out["idle_cost_eur"] == pytest.approx(200 * float((homes - 12).sum()))
    assert out["detention_days_mean"] == pytest.approx(45 - 12)
    assert out["last_truck_home_day"] == pytest.approx(50.0)
    assert out["carrier_cost_eur"] == pytest.approx(
        10 * (2160 + 100) + 200 * float((homes - 12).sum())
    )
    assert out["belarus_standoff_gain_eur"] == pytest.approx(10 * 2160)
    assert out["hold_to_release_days"] == pytest.approx(30.0)
    assert out["closure_to_release_days"] == pytest.approx(32.0)


def test_release_abandoned_when_the_fee_exceeds_the_trucks_worth() -> None:
    # As above with the full accrued fee (120 * 30 = 3,600) and trucks worth 3,000. Owners
    # expect a release within 5 days that waives the whole fee (d = 1): waiting costs
    # 100 + 200 * 5 = 1,100 < 3,000, so they wait rather than write off. At the release,
    # paying 3,600 + 100 > 3,000: every owner abandons; Belarus gains their value.
    data = deterministic(
        **TEN,
        belarus__processing_per_day=SLOW,
        fleet__groups__lt__value_eur=3_000,
        owners__expected_release_days=5,
        owners__expected_fee_discount=1.0,
        government={"enabled": True, "attempt_interval_days": 30, "offer_eur": 1e9},
    )
    result, events = run(data)
    assert (42.0, "general release (government): fee 3600.00 EUR, 0 paid, 10 abandoned") in events
    out = result.outcomes
    assert out["trucks_abandoned"] == 10 and out["trucks_released"] == 0
    assert out["fees_paid_eur"] == 0
    assert out["assets_lost_eur"] == pytest.approx(10 * 3_000)
    assert out["idle_cost_eur"] == pytest.approx(10 * 200 * 30)  # idle ends when lost
    assert out["belarus_standoff_gain_eur"] == pytest.approx(10 * 3_000)
    assert out["last_truck_home_day"] is None  # nobody got home


def test_minsk_price_refuses_an_offer_one_euro_short() -> None:
    # Price 22,000 (above); an offer of 21,999 is refused at every attempt (days 32, 52, 72,
    # 92), an offer of 22,000 accepted at the first.
    gov = {"enabled": True, "attempt_interval_days": 20}
    slow = {**TEN, "belarus__processing_per_day": SLOW}
    refused, events = run(deterministic(**slow, government={**gov, "offer_eur": 21_999}))
    assert [t for t, e in lines(events, "refused")] == [32.0, 52.0, 72.0, 92.0]
    assert refused.outcomes["resolution"] == "unresolved"
    assert refused.outcomes["trucks_still_held"] == 10
    # The fee owed on the ten trucks still held at the horizon: 120 * 88 each.
    assert refused.outcomes["fees_owed_eur"] == pytest.approx(10 * 120 * 88)
    accepted = run(deterministic(**slow, government={**gov, "offer_eur": 22_000}))[0]
    assert accepted.outcomes["release_day"] == 32.0
    # The price itself: what ten held trucks bring over the planning days, less pressure.
    rep, _ = replication(deterministic(**slow))
    assert rep.minsk.price(50.0) == pytest.approx(10 * (120 + 100) * 10)
    rep.minsk.pressure = 1_000.0
    assert rep.minsk.price(50.0) == pytest.approx((2_200 - 1_000) * 10)
    rep.minsk.pressure = 5_000.0
    assert rep.minsk.price(50.0) == 0.0  # never below zero


def test_leverage_falls_as_trucks_leave() -> None:
    # Ten trucks asked for on day 12 at 2 a day (as in the queue test): by day 14 four are
    # processed, so six remain and Minsk's price is 6 * 220 * 10 = 13,200; by day 18, none.
    rep, _ = replication(deterministic(**TEN, belarus__processing_per_day=2, horizon_days=13))
    assert rep.minsk.price(13.0) == pytest.approx(8 * 220 * 10)
    assert rep.minsk.price(14.0) == pytest.approx(6 * 220 * 10)
    assert rep.minsk.price(18.0) == 0.0


def test_carriers_talks_accepted_and_retried() -> None:
    # Talks open 20 days after the hold (day 32) and last 10 days. An offer of 22,000 meets
    # Minsk's price on day 42: release with the fee 120 * 30.
    carriers = {"enabled": True, "patience_days": 20, "talks_duration_days": 10}
    slow = {**TEN, "belarus__processing_per_day": SLOW}
    result, events = run(
        deterministic(**slow, carriers={**carriers, "offer_eur": 22_000, "retry_days": None})
    )
    assert lines(events, "carriers") == [
        (32.0, "carriers open talks"),
        (42.0, "carriers offer 0.02M EUR against Minsk's price 0.02M EUR: accepted"),
        (42.0, "general release (carriers): fee 3600.00 EUR, 10 paid, 0 abandoned"),
    ]
    assert result.outcomes["carriers_talks_day"] == 32.0
    assert result.outcomes["resolution"] == "released_carriers"
    # One euro short: the talks fail and open again 5 days later, every 15 days, until the
    # next round would end after the horizon is reached.
    result, events = run(
        deterministic(**slow, carriers={**carriers, "offer_eur": 21_999, "retry_days": 5})
    )
    assert [t for t, e in events if e == "carriers open talks"] == [32.0, 47.0, 62.0, 77.0, 92.0]
    assert [t for t, e in events if e == "carriers' talks fail"] == [42.0, 57.0, 72.0, 87.0]
    assert result.outcomes["carriers_talks_day"] == 32.0  # the first opening
    assert result.outcomes["release_day"] is None
    # No retry: one round only.
    result, events = run(
        deterministic(**slow, carriers={**carriers, "offer_eur": 21_999, "retry_days": None})
    )
    assert [t for t, e in events if e == "carriers open talks"] == [32.0]


def test_carriers_patience_on_losses() -> None:
    # Ten trucks held from day 12 at 200/day idle, nothing paid: losses 2,000 (t - 12).
    # Checked weekly from the hold: day 26: 28,000; day 33: 42,000 >= 30,000: talks open.
    data = deterministic(
        **TEN,
        belarus__processing_per_day=SLOW,
        carriers={
            "enabled": True,
            "patience_days": 500,
            "patience_loss_eur": 30_000,
            "offer_eur": 0,
            "retry_days": None,
        },
    )
    assert run(data)[0].outcomes["carriers_talks_day"] == 33.0


def test_us_deal_needs_lithuanias_request_and_values_relief() -> None:
    # Visits every 30 days from day 0: 30, 60, 90, each a deal of 400 prisoners of 1,000
    # (400, 400, 200), lifting one sector each. The deal's offer for the trucks is 21,000,
    # short of Minsk's 22,000 on day 30; Lithuania asks on day 52 (40 after the hold), adding
    # 1,000: the deal on day 60 includes the trucks, released 4 days later (fee 120 * 52).
    # Relief valued over one year, undiscounted: 365,000 + 730,000.
    data = deterministic(
        **TEN,
        belarus__processing_per_day=SLOW,
        us={
            "enabled": True,
            "last_visit_day": 0,
            "visit_interval_days": 30,
            "deal_probability": 1.0,
            "prisoners_held": 1000,
            "prisoners_per_deal": 400,
            "trucks_offer_eur": 21_000,
            "lithuania_request_days_after_hold": 40,
            "lithuania_request_offer_eur": 1_000,
            "release_delay_days": 4,
            "appraisal_years": 1,
            "discount_rate": 0,
            "sanctions": {
                "potash": {"value_eur_per_year": 365_000},
                "finance": {"value_eur_per_year": 730_000},
            },
        },
    )
    result, events = run(data)
    assert lines(events, "US", "us ", "Lithuania", "release") == [
        (30.0, "US deal: 400 prisoners, sanctions lifted: potash"),
        (30.0, "us offer 0.02M EUR against Minsk's price 0.02M EUR: refused"),
        (52.0, "Lithuania asks the US to include the trucks"),
        (60.0, "US deal: 400 prisoners, sanctions lifted: finance"),
        (60.0, "us offer 0.02M EUR against Minsk's price 0.02M EUR: accepted"),
        (64.0, "general release (us): fee 6240.00 EUR, 10 paid, 0 abandoned"),
        (90.0, "US deal: 200 prisoners, sanctions lifted: none"),
    ]
    out = result.outcomes
    assert out["prisoners_released"] == 1000
    assert out["us_deals"] == 3
    assert out["resolution"] == "released_us"
    assert out["sanctions_relief_eur"] == pytest.approx(365_000 + 730_000)
    assert out["belarus_gain_eur"] == pytest.approx(
        out["belarus_standoff_gain_eur"] + 365_000 + 730_000
    )
    # Discounted at 8% a year over 5 years: each sector's value * annuity * e^(-rho t/365).
    data["us"].update(appraisal_years=5, discount_rate=0.08)
    rho = np.log(1.08)
    annuity = (1 - np.exp(-rho * 5)) / rho
    relief = annuity * (365_000 * np.exp(-rho * 30 / 365) + 730_000 * np.exp(-rho * 60 / 365))
    assert run(data)[0].outcomes["sanctions_relief_eur"] == pytest.approx(relief)
    # Independent of the horizon, beyond the deals' days.
    data["horizon_days"] = 300
    data["us"]["sanctions"].pop("finance")
    longer = run(data)[0].outcomes["sanctions_relief_eur"]
    assert longer == pytest.approx(annuity * 365_000 * np.exp(-rho * 30 / 365))


def test_replacement_stops_idle_cost() -> None:
    # Owners expect 30 days without the truck: replacing saves (200 - 50) * 30 = 4,500 of
    # idle cost against a one-off 4,000: all ten replace on day 12. Released on day 42 as in
    # the general release test (full fee): the substitutes cost 4,000 + 50/day until each
    # truck is home (45.5 ... 50); no idle cost after day 12. (Owners are paid to wait, so
    # none is in Belarus's queue, where the days without the truck are the queue's.)
    gov = {"enabled": True, "attempt_interval_days": 30, "offer_eur": 1e9}
    data = deterministic(
        **TEN,
        compensation=PAID_TO_WAIT,
        government=gov,
        owners__replacement_cost_eur=4_000,
        owners__replacement_eur_per_day=50,
    )
    out = run(data)[0].outcomes
    homes = 45.5 + 0.5 * np.arange(10)
    assert out["trucks_replaced"] == 10
    assert out["idle_cost_eur"] == 0.0
    assert out["replacement_cost_eur"] == pytest.approx(10 * 4_000 + 50 * (homes - 12).sum())
    # A saving of exactly the replacement cost does not pay for it.
    data["owners"]["replacement_cost_eur"] = 4_500
    out = run(data)[0].outcomes
    assert out["trucks_replaced"] == 0
    assert out["idle_cost_eur"] == pytest.approx(200 * (homes - 12).sum())


def test_confiscation_at_an_announced_deadline() -> None:
    # Storage period 50 days from the hold: deadline day 62, announced 10 days after the
    # hold (day 22), enforced. Owners are paid to wait (400 > 200 + 120), so without belief
    # in the deadline nobody retrieves and Belarus takes all ten on day 62.
    detention = {
        "storage_fee_eur_per_day": 120,
        "storage_period_days": 50,
        "confiscation_probability": 1.0,
        "deadline_announced_days_after_hold": 10,
    }
    data = deterministic(**TEN, compensation=PAID_TO_WAIT, detention=detention)
    result, events = run(data)
    assert lines(events, "confiscation") == [
        (22.0, "confiscation deadline announced for day 62"),
        (62.0, "confiscation: 10 trucks"),
    ]
    out = result.outcomes
    assert out["trucks_confiscated"] == 10 and out["resolution"] == "confiscated"
    assert out["assets_lost_eur"] == pytest.approx(10 * 20_000)
    assert out["belarus_standoff_gain_eur"] == pytest.approx(10 * 20_000)
    # Owners who believe it (credibility 1): at the review on day 33 their expected release
    # (33 + 30) falls after the deadline, so waiting means losing the truck (20,000 + the
    # days to it); retrieving costs F + r = 2,620 and falls with time (-80 a day): all ask on
    # day 33, are processed on days 34..43, and nothing is left to confiscate. (On days 22 and
    # 26 the release they expect, 52 and 56, comes before the deadline.)
    data["owners"]["deadline_credibility"] = 1.0
    rep, out = replication(data)
    assert rep.fleet.requested_at.tolist() == [33.0] * 10
    assert rep.fleet.paid_at.tolist() == [34.0 + k for k in range(10)]
    assert rep.fleet.fee_paid_eur.tolist() == pytest.approx([120.0 * (22 + k) for k in range(10)])
    assert out["trucks_confiscated"] == 0 and out["trucks_retrieved"] == 10


def test_hold_after_the_border_reopened_is_a_parameter() -> None:
    # A one-day closure (10 to 11); Belarus's order comes on day 12 with the border open.
    # With after_reopening_probability 0 no hold; with 1 the same two trucks as in the first
    # test are held (the gate still serves the evacuees at 11.0 and 11.5).
    result, events = run(deterministic(closure__planned_duration_days=1))
    assert (12.0, "no hold order: the border has reopened") in events
    assert result.outcomes["resolution"] == "no_hold"
    assert result.outcomes["trucks_evacuated"] == 4
    # Idle from the gate (11) to home at 11.5, 12, 12.5, 13.
    assert result.outcomes["carrier_cost_eur"] == pytest.approx(200 * (0.5 + 1 + 1.5 + 2))
    result, events = run(
        deterministic(closure__planned_duration_days=1, hold__after_reopening_probability=1.0)
    )
    assert (12.0, "hold order: 2 held, 2 got out") in events
    assert result.outcomes["trucks_held"] == 2


def trips_scenario(**changes: object) -> dict:
    """1,000 trucks on trips of 10 days on average; closures of 5 days on days ~10 and ~40
    (incidents at 200 a day within one day; three trigger a closure); no hold."""
    data = deterministic(
        horizon_days=60,
        fleet__trucks_in_belarus=1000,
        fleet__stay_days=10,
        hold__probability=0.0,
        checkpoints={"gate": {"lanes": 100, "service_days": 0.001}},
        incidents={
            "schedule": [
                {"from_day": 0, "rate_per_day": 0},
                {"from_day": 10, "rate_per_day": 200},
                {"from_day": 11, "rate_per_day": 0},
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
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    return data


def test_trips_a_closure_strands_trucks_and_a_later_one_traps_new_entries() -> None:
    # Everyone in Belarus at a closure evacuates (share 1). Trips are stationary: about 1,000
    # trucks are inside at any time (1,000 initial stays of mean 10 days, entries at 100 a
    # day). The first closure (c1 ~ day 10, reopening r1 = c1 + 5) empties Belarus; entries
    # resume at r1 and by the second closure c2 the trucks inside are a Poisson number of mean
    # 1,000 (1 - exp(-(c2 - r1) / 10)), all of them entered after the first closure.
    # 20 replications: the mean of the ratio (inside at c2 / its expected number) is 1 with a
    # standard error of about 1/sqrt(20 * 900) < 0.01; tolerance 0.04 (4 standard errors).
    ratios = []
    for index in range(20):
        model = StandoffModel(Scenario.model_validate(trips_scenario(evacuation__share=1.0)))
        rep = Replication(model, Streams(5, index), [])
        rep.run()
        starts = [t for t, e in rep.events if e == "closure starts"]
        ends = [t for t, e in rep.events if e == "closure ends"]
        assert len(starts) == 2 and 40 <= starts[1] < 41
        fleet = rep.fleet
        evacuated = fleet.queue_arrival < np.inf
        second = evacuated & (fleet.queue_arrival >= starts[1])
        assert np.all(fleet.entered_at[second] > starts[0])  # entered after the first closure
        expected = 1000 * (1 - np.exp(-(starts[1] - ends[0]) / 10))
        ratios.append(second.sum() / expected)
    assert abs(np.mean(ratios) - 1.0) < 0.04

    # Nobody evacuates: the trucks inside at the first closure are stranded until it ends (no
    # trip ends during a closure), then resume trips and some leave.
    model = StandoffModel(Scenario.model_validate(trips_scenario(evacuation__share=0.0)))
    rep = Replication(model, Streams(5, 0), [])
    rep.run()
    fleet = rep.fleet
    starts = [t for t, e in rep.events if e == "closure starts"]
    ends = [t for t, e in rep.events if e == "closure ends"]
    inside_at_c1 = (fleet.entered_at <= starts[0]) & (fleet.departs_at > starts[0])
    gone = fleet.status == GONE
    assert not np.any(fleet.status == LEAVING)
    assert not np.any((fleet.departs_at > starts[0]) & (fleet.departs_at < ends[0]) & gone)
    assert np.count_nonzero(inside_at_c1 & gone) > 500  # most left once it reopened


def test_series_are_consistent_with_outcomes() -> None:
    result, _ = run(deterministic())
    held = result.series["held"]
    assert held.shape == (101,)
    # On the lots from 12 until the drivers reach the gate on days 14 and 15.
    assert held[11] == 0 and held[12] == 2 and held[14] == 1 and held[15] == 0
    assert result.series["queueing"][11] == 3  # four arrived at 11, one in service
    retrieved = result.series["retrieved"]
    assert retrieved[12] == 0 and retrieved[13] == 1 and retrieved[14] == 2 and retrieved[-1] == 2
    cost = result.series["carrier_cost_eur"]
    assert np.all(np.diff(cost) >= -1e-9)
    assert cost[-1] == pytest.approx(result.outcomes["carrier_cost_eur"])


def test_cost_series_counts_fees_owed_as_they_accrue() -> None:
    # Ten trucks held from day 12 and never released: on day t the series holds idle cost
    # 10 * 200 * (t - 12) plus fees owed 10 * 120 * (t - 12); the outcome counts only what
    # was paid, and the owed fees apart.
    result, _ = run(deterministic(**TEN, belarus__processing_per_day=SLOW))
    cost = result.series["carrier_cost_eur"]
    assert cost[50] == pytest.approx(10 * 320 * 38)
    assert cost[100] == pytest.approx(10 * 320 * 88)
    out = result.outcomes
    assert out["carrier_cost_eur"] == pytest.approx(10 * 200 * 88)
    assert out["fees_owed_eur"] == pytest.approx(10 * 120 * 88)


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
        fleet__stay_days=10,
        evacuation__share=0.5,
        owners__expected_release_days={"dist": "exponential", "mean": 30},
        us={"enabled": True, "deal_probability": 0.5},
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
    for index in range(5):
        a = run(base, seed=7, replication=index)[0].outcomes
        b = run(no_us, seed=7, replication=index)[0].outcomes
        for key in ("trucks_in_belarus", "trucks_evacuated", "trucks_held", "hold_day"):
            assert a[key] == b[key]


def test_results_do_not_depend_on_when_belarus_s_processing_is_applied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Belarus's processing is applied lazily: only when the border or the fleet's records are
    read, so retrievals reach the checkpoints in a few batches. Each held truck drew its
    checkpoint pick and service times at the hold, so applying the processing at every review
    as well, and moving the border and the fleet's exits up to it, must leave every outcome
    and series of the baseline (three checkpoints, background traffic, a policy window) equal
    to the last bit."""
    model = StandoffModel(load_scenario(SCENARIOS / "baseline.yaml")[0])
    lazy = [model.run_replication(Streams(11, index)) for index in range(6)]
    review = Detention.review

    def eager(self: Detention, now: float) -> bool:
        self.apply_processing(now)
        self.border.advance(now)
        self.sync_exits()
        return review(self, now)

    monkeypatch.setattr(Detention, "review", eager)
    for index, first in enumerate(lazy):
        again = model.run_replication(Streams(11, index))
        assert again.outcomes == first.outcomes
        assert first.outcomes["trucks_retrieved"] > 0 or first.outcomes["trucks_held"] == 0
        for name, values in first.series.items():
            assert np.array_equal(again.series[name], values), name
    assert sum(run.outcomes["trucks_retrieved"] for run in lazy) > 1000


def test_common_random_numbers_survive_a_longer_incident_schedule() -> None:
    """second-closure.yaml adds incident periods (so more per-replication parameters): every
    other per-replication draw is keyed by its key path, so the fleet, the first closure and
    the hold order stay the same replication by replication."""

    base = StandoffModel(load_scenario(SCENARIOS / "baseline.yaml")[0])
    second = StandoffModel(load_scenario(SCENARIOS / "second-closure.yaml")[0])
    differs = 0
    for index in range(20):
        a = base.run_replication(Streams(1, index)).outcomes
        b = second.run_replication(Streams(1, index)).outcomes
        for key in ("trucks_in_belarus", "closure_day"):
            assert a[key] == b[key], (index, key)
        # Without a hold after the first closure, the second closure strands and evacuates
        # trucks of its own (v2: every closure evacuates), so only runs with a hold compare.
        if a["hold_day"] is not None:
            for key in ("hold_day", "trucks_held", "trucks_evacuated"):
                assert a[key] == b[key], (index, key)
        differs += a["closures"] != b["closures"]
    assert differs > 10  # and the second wave does close the border again


def test_resolution_agrees_with_the_other_outcomes() -> None:
    """Each run's resolution follows from its hold, release, confiscations and what is left
    on the lots; an enforced confiscation makes "confiscated" more common (same seed)."""
    import pandas as pd

    import sim

    base = sim.run(SCENARIOS / "baseline.yaml", replications=200, seed=3, workers=1).to_pandas()
    for row in base.itertuples():
        if row.resolution == "no_hold":
            assert pd.isna(row.hold_day) and row.trucks_held == 0
        elif row.resolution.startswith("released_"):
            assert row.release_channel == row.resolution.removeprefix("released_")
            assert not pd.isna(row.release_day)
        elif row.resolution == "confiscated":
            assert row.release_channel == "none" and row.trucks_confiscated > 0
        elif row.resolution == "emptied":
            assert row.release_channel == "none" and row.trucks_confiscated == 0
            assert row.trucks_still_held == 0 and not pd.isna(row.hold_day)
        else:
            assert row.resolution == "unresolved"
            assert row.release_channel == "none" and row.trucks_confiscated == 0
            assert row.trucks_still_held > 0
        # Every held truck ends in exactly one way.
        assert row.trucks_held == (
            row.trucks_retrieved
            + row.trucks_released
            + row.trucks_abandoned
            + row.trucks_confiscated
            + row.trucks_still_held
        )
    enforced = sim.run(SCENARIOS / "confiscation.yaml", replications=200, seed=3, workers=1)
    shares = enforced.to_pandas().resolution.value_counts(normalize=True)
    base_shares = base.resolution.value_counts(normalize=True)
    # 200 paired runs: the confiscated share rises (by ~0.15) by more than twice its binomial
    # noise (~3%). Not by more: owners who believe the deadline and cannot be processed before
    # it write their trucks off, and with the lots drained Minsk often releases the rest first.
    assert shares.get("confiscated", 0) - base_shares.get("confiscated", 0) > 0.08
    assert shares.get("no_hold", 0) == base_shares.get("no_hold", 0)  # the hold is unchanged


def test_cost_series_never_falls_after_a_discounted_release() -> None:
    # Released on day 42 with 40% of the fee waived (2,160 due per truck), paid on day 44:
    # each truck's 2,160 accrues evenly from the hold (day 12) to the release (day 42), so
    # the series rises and then stays; it never counts the 3,600 that was waived.
    data = deterministic(
        **TEN,
        belarus__processing_per_day=SLOW,
        release__fee_discount=0.4,
        government={"enabled": True, "attempt_interval_days": 30, "offer_eur": 1e9},
    )
    cost = run(data)[0].series["carrier_cost_eur"]
    assert np.all(np.diff(cost) >= -1e-9), np.diff(cost)[40:46]


def test_cost_series_never_falls_when_trucks_are_abandoned() -> None:
    # As test_release_abandoned_when_the_fee_exceeds_the_trucks_worth: the fee of a truck
    # that is abandoned is never paid and never counted; the truck (3,000) counts when lost.
    data = deterministic(
        **TEN,
        belarus__processing_per_day=SLOW,
        fleet__groups__lt__value_eur=3_000,
        owners__expected_release_days=5,
        owners__expected_fee_discount=1.0,
        government={"enabled": True, "attempt_interval_days": 30, "offer_eur": 1e9},
    )
    cost = run(data)[0].series["carrier_cost_eur"]
    assert np.all(np.diff(cost) >= -1e-9), np.diff(cost)[38:44]


def replaced_on(**changes: object) -> list[float]:
    """Days each of ten held owners, paid to wait, replaced their truck (inf: never).
    Replacing costs 5,000 and saves 200 - 50 = 150 a day: it pays once an owner expects
    more than 33.3 days without the truck."""
    data = deterministic(
        **TEN,
        compensation=PAID_TO_WAIT,
        owners__replacement_cost_eur=5_000,
        owners__replacement_eur_per_day=50,
        **changes,
    )
    rep, _ = replication(data)
    return rep.fleet.replaced_at.tolist()


def test_news_moves_the_owners_expected_wait() -> None:
    # At the hold owners expect 30 days: no replacement, and none later without news.
    assert replaced_on() == [math.inf] * 10
    # Pessimism 1: each day waited adds a day; at the review on day 19 they expect 37 days.
    assert replaced_on(owners__belief_pessimism=1) == [19.0] * 10
    # A US deal on day 30 that leaves the trucks out (offer 0 < Minsk's price) adds
    # us_visit_without_trucks_days = 30 to every owner's expectation: 60 days, replace.
    us = {
        "enabled": True,
        "last_visit_day": 0,
        "visit_interval_days": 30,
        "deal_probability": 1.0,
        "trucks_offer_eur": 0,
        "lithuania_request_days_after_hold": None,
    }
    assert replaced_on(us=us, owners__us_visit_without_trucks_days=30) == [30.0] * 10
    assert replaced_on(us=us) == [math.inf] * 10  # news that adds nothing
    # The carriers' talks, open from day 15 to 25, make owners expect the release by day 45
    # (talks_open_expected_days 30): with pessimism 1 the review on day 19 expects
    # min(37, 45 - 19) = 26 days, no replacement; when the talks fail on day 25 that
    # expectation goes and they expect 30 + 13 = 43 days: all replace on day 25.
    talks = {
        "enabled": True,
        "opening_day": 15,
        "talks_duration_days": 10,
        "offer_eur": 0,
        "retry_days": None,
    }
    assert replaced_on(carriers=talks, owners__belief_pessimism=1) == [25.0] * 10


def test_a_second_closure_traps_trucks_that_entered_after_the_first() -> None:
    # Closure 1 on day ~10 for 5 days; Belarus's order comes 8 days later (day ~18), when
    # the border has reopened, so alone it would not be issued (after_reopening 0). Incidents
    # close the border again from day ~15.5: the order then finds it closed and holds every
    # truck still in Belarus. Everyone inside at closure 1 set off home (share 1) and passed
    # the gate at the reopening (it is shut during closures); those held are the trucks that
    # entered between the reopening and closure 2 and have not got through (the gate is shut).
    data = trips_scenario(
        evacuation__share=1.0,
        hold__probability=1.0,
        hold__reaction_delay_days=8,
        checkpoints={"gate": {"lanes": 100, "service_days": 0.001, "closure_capacity_fraction": 0}},
    )
    data["incidents"]["schedule"][3:] = [
        {"from_day": 15.5, "rate_per_day": 200},
        {"from_day": 16.5, "rate_per_day": 0},
    ]
    model = StandoffModel(Scenario.model_validate(data))
    rep = Replication(model, Streams(5, 0), [])
    out = rep.run().outcomes
    starts = [t for t, e in rep.events if e == "closure starts"]
    ends = [t for t, e in rep.events if e == "closure ends"]
    assert len(starts) == 2 and ends[0] <= starts[1] < 16.5
    assert out["hold_day"] == pytest.approx(starts[0] + 8)
    fleet = rep.fleet
    held = np.isfinite(fleet.held_from)
    assert out["trucks_held"] == held.sum() > 0
    assert np.all(fleet.entered_at[held] >= ends[0])  # entered after the first closure
    # ... and they are exactly the trucks that entered since (none of them has left).
    assert held.sum() == np.count_nonzero(fleet.entered_at >= ends[0])
    # Without the second closure there is no hold.
    data["incidents"]["schedule"][3]["rate_per_day"] = 0
    rep = Replication(StandoffModel(Scenario.model_validate(data)), Streams(5, 0), [])
    assert rep.run().outcomes["resolution"] == "no_hold"


def test_the_carriers_raise_a_us_offer_only_while_their_talks_are_open() -> None:
    # US visits on days 20, 40, 60, 80, each a deal offering 20,000 for the trucks, short of
    # Minsk's 22,000; open carriers' talks add 2,000. Talks open on day 15 for 10 days: the
    # visit on day 20 falls within them and frees the trucks (released on day 20 + 0).
    us = {
        "enabled": True,
        "last_visit_day": 0,
        "visit_interval_days": 20,
        "deal_probability": 1.0,
        "trucks_offer_eur": 20_000,
        "lithuania_request_days_after_hold": None,
        "release_delay_days": 0,
    }
    talks = {
        "enabled": True,
        "opening_day": 15,
        "talks_duration_days": 10,
        "offer_eur": 0,
        "us_offer_eur": 2_000,
        "retry_days": None,
    }
    slow = {**TEN, "belarus__processing_per_day": SLOW}
    result, events = run(deterministic(**slow, us=us, carriers=talks))
    assert (20.0, "us offer 0.02M EUR against Minsk's price 0.02M EUR: accepted") in events
    assert result.outcomes["release_day"] == 20.0
    assert result.outcomes["resolution"] == "released_us"
    # Talks from day 12 (the hold) to 17 that fail: no boost at any visit, no release.
    result, events = run(
        deterministic(**slow, us=us, carriers={**talks, "opening_day": 0, "talks_duration_days": 5})
    )
    assert (17.0, "carriers' talks fail") in events
    assert [e for _, e in lines(events, "us offer")] == [
        "us offer 0.02M EUR against Minsk's price 0.02M EUR: refused"
    ] * 4
    assert result.outcomes["release_day"] is None
