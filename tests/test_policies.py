"""Each policy action (scenario ``policies:``) against an exact trace worked out by hand.

Scenarios are tests/standoff_cases.py's deterministic one with ten trucks, none evacuating,
all held on day 12 (fee 120, idle 200, worth 20,000, driver 100, one truck processed a day,
Minsk's price 10 * (120 + 100) * 10 = 22,000 while all ten are held). ``PAID_TO_WAIT``
(EUR 400 a day > idle 200 + fee 120) keeps owners from retrieving unless a policy changes
their terms; ``SLOW`` processing keeps any request from being served within the horizon (see
tests/test_model.py).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from standoff_cases import deterministic, lines, run

from sim.model.standoff import StandoffModel
from sim.model.standoff.model import Replication
from sim.model.standoff.schema import Scenario
from sim.seeding import Streams

SLOW = 1e-4
PAID_TO_WAIT = {"eur_per_truck_per_day": 400}
TEN = {"fleet__trucks_in_belarus": 10, "evacuation__share": 0.0}
RELEASE_ON_42 = {"enabled": True, "attempt_interval_days": 30, "offer_eur": 1e9}


def replication(data: dict) -> tuple[Replication, dict]:
    model = StandoffModel(Scenario.model_validate(copy.deepcopy(data)))
    rep = Replication(model, Streams(0, 0), [])
    return rep, rep.run().outcomes


def policy(name: str, action: str, day: float | None = None, **fields: object) -> dict:
    entry: dict = {"name": name, "action": action, **fields}
    if day is not None:
        entry["day"] = day
    return entry


def test_set_fee_changes_the_fee_owed_from_its_day_and_owners_react() -> None:
    # Belarus doubles the fee on day 20. Fee owed then: 120 * 8 = 960, then +240 a day.
    # Owners paid 400 a day reconsider: retrieving now costs 960 + 100 + (240 + 200 - 400) q,
    # waiting 30 days 960 + 7,200 + 100 - 6,000 = 2,260: q* = (2,260 - 1,060) / 40 = 30, so
    # all ten ask and are processed on days 21..30, each paying 960 + 240 k.
    data = deterministic(
        **TEN,
        compensation=PAID_TO_WAIT,
        policies=[policy("double", "set_fee", 20, eur_per_day=240)],
    )
    rep, out = replication(data)
    assert (20.0, "policy double: set_fee") in rep.events
    assert rep.fleet.requested_at.tolist() == [20.0] * 10
    assert rep.fleet.paid_at.tolist() == [21.0 + k for k in range(10)]
    assert rep.fleet.fee_paid_eur.tolist() == [960.0 + 240 * (k + 1) for k in range(10)]
    assert out["fees_paid_eur"] == pytest.approx(10 * 960 + 240 * 55)
    # Without the policy nobody retrieves.
    rep, out = replication(deterministic(**TEN, compensation=PAID_TO_WAIT))
    assert out["trucks_retrieved"] == 0


def test_set_fee_to_zero_stops_the_fees_owed() -> None:
    # Nothing is processed; the fee stops on day 50: owed 120 * 38 per truck at the horizon.
    # A fee set before the hold (day 5) is the fee from the hold on: 60 * 88.
    later = deterministic(
        **TEN,
        belarus__processing_per_day=SLOW,
        policies=[policy("waive", "set_fee", 50, eur_per_day=0)],
    )
    assert run(later)[0].outcomes["fees_owed_eur"] == pytest.approx(10 * 120 * 38)
    early = deterministic(
        **TEN,
        belarus__processing_per_day=SLOW,
        policies=[policy("half", "set_fee", 5, eur_per_day=60)],
    )
    assert run(early)[0].outcomes["fees_owed_eur"] == pytest.approx(10 * 60 * 88)


def two_groups(**changes: object) -> dict:
    data = deterministic(**TEN, government=RELEASE_ON_42, **changes)
    data["fleet"]["groups"] = {
        "a": {
            "share": 0.5,
            "value_eur": 20_000,
            "idle_cost_eur_per_day": 200,
            "owner_value_factor": 1,
        },
        "b": {
            "share": 0.5,
            "value_eur": 20_000,
            "idle_cost_eur_per_day": 200,
            "owner_value_factor": 1,
        },
    }
    return data


def test_compensation_forms_for_one_group() -> None:
    # Group a only: 400 a day, a lump sum of 1,000, half of the fees refunded. Owners in a
    # wait (paid more than idle + their half of the fee); owners in b are not covered, queue
    # at once (q* = 30) and are processed one a day from day 13, long before the release.
    # Released on day 42 (fee 3,600, paid at pickup on day 44, at the gate on day 45): each
    # a-truck gets 400 * (45 - 12) + 1,000 + 1,800 = 16,000; b-trucks nothing.
    scheme = {
        "eur_per_truck_per_day": 400,
        "lump_sum_eur_per_truck": 1_000,
        "fee_share_reimbursed": 0.5,
        "groups": ["a"],
    }
    rep, out = replication(two_groups(compensation=scheme))
    a = rep.fleet.group == 0
    assert 0 < a.sum() < 10  # both groups drawn
    assert np.all(rep.fleet.paid_at[a] == 44.0)  # released
    assert rep.fleet.paid_at[~a].tolist() == [13.0 + k for k in range((~a).sum())]  # retrieved
    assert out["compensation_paid_eur"] == pytest.approx(16_000 * a.sum())
    assert out["lithuania_fiscal_cost_eur"] == out["compensation_paid_eur"]
    assert out["carrier_net_cost_eur"] == pytest.approx(
        out["carrier_cost_eur"] - out["compensation_paid_eur"]
    )
    # A budget of 20,000 caps the payments.
    rep, out = replication(two_groups(compensation={**scheme, "budget_eur": 20_000}))
    assert out["compensation_paid_eur"] == pytest.approx(min(20_000, 16_000 * a.sum()))
    # Not entering decisions: a-owners decide as b-owners do (all retrieve on day 12, one a
    # day), and the scheme still pays: per day until each is at the gate, the lump sum, and
    # half of each fee paid.
    books = {**scheme, "enters_decisions": False}
    rep, out = replication(two_groups(compensation=books))
    paid = 13.0 + np.arange(10)
    assert rep.fleet.paid_at.tolist() == paid.tolist()
    at_gate = paid[a] + 1
    fees = 120 * (paid[a] - 12)
    expected = 400 * (at_gate - 12).sum() + 1_000 * a.sum() + 0.5 * fees.sum()
    assert out["compensation_paid_eur"] == pytest.approx(expected)


def test_compensation_policy_starts_and_stops_a_scheme() -> None:
    # Started on day 30 at 100 a day for ten trucks that stay held (nothing processed):
    # 100 * (100 - 30) * 10. Started before the hold (day 5): from the hold, 100 * 88 * 10.
    for day, days in ((30, 70), (5, 88)):
        data = deterministic(
            **TEN,
            belarus__processing_per_day=SLOW,
            policies=[policy("help", "compensation", day, eur_per_truck_per_day=100)],
        )
        assert run(data)[0].outcomes["compensation_paid_eur"] == pytest.approx(100 * days * 10)
    # Stopped on day 40 (all amounts 0): owners of trucks worth 3,000 now face a fee owed of
    # 120 * 28 = 3,360 + 100 > 3,000 and idle cost again: all write off on day 40.
    data = deterministic(
        **TEN,
        compensation=PAID_TO_WAIT,
        fleet__groups__lt__value_eur=3_000,
        policies=[policy("stop", "compensation", 40)],
    )
    result, events = run(data)
    assert lines(events, "policy stop", "written off") == [
        (40.0, "policy stop: compensation"),
        (40.0, "10 trucks written off"),
    ]
    out = result.outcomes
    assert out["trucks_abandoned"] == 10 and out["resolution"] == "emptied"
    assert out["compensation_paid_eur"] == pytest.approx(10 * 400 * 28)
    assert out["assets_lost_eur"] == pytest.approx(10 * 3_000)


def test_ask_us_policy() -> None:
    # As tests/test_model.py's US deal, but Lithuania asks through a policy on day 40: the
    # deal on day 30 leaves the trucks out (21,000 < 22,000), the one on day 60 includes them.
    us = {
        "enabled": True,
        "last_visit_day": 0,
        "visit_interval_days": 30,
        "deal_probability": 1.0,
        "trucks_offer_eur": 21_000,
        "lithuania_request_days_after_hold": None,
        "lithuania_request_offer_eur": 1_000,
        "release_delay_days": 4,
    }
    data = deterministic(
        **TEN, belarus__processing_per_day=SLOW, us=us, policies=[policy("ask", "ask_us", 40)]
    )
    result, events = run(data)
    assert (40.0, "Lithuania asks the US to include the trucks") in events
    assert result.outcomes["release_day"] == 64.0
    assert result.outcomes["resolution"] == "released_us"
    data["policies"] = []
    assert run(data)[0].outcomes["release_day"] is None


def test_confiscation_deadline_policy() -> None:
    # Announced on day 20 for day 50, enforced (probability 1): owners do not believe it
    # (credibility 0) and are paid to wait: Belarus takes all ten on day 50.
    data = deterministic(
        **TEN,
        compensation=PAID_TO_WAIT,
        policies=[policy("threat", "confiscation_deadline", 20, days=30)],
    )
    result, events = run(data)
    assert lines(events, "deadline announced", "confiscation:") == [
        (20.0, "confiscation deadline announced for day 50"),
        (50.0, "confiscation: 10 trucks"),
    ]
    assert result.outcomes["trucks_confiscated"] == 10
    assert result.outcomes["detention_days_mean"] == pytest.approx(38.0)
    # Not enforced (probability 0): announced, nothing taken.
    data["policies"][0]["probability"] = 0.0
    result, events = run(data)
    assert (20.0, "confiscation deadline announced for day 50") in events
    assert result.outcomes["trucks_confiscated"] == 0


def test_eu_countermeasures_lower_minsks_price() -> None:
    # From day 20 the EU's measures cost Minsk 1,000 a day: price (2,200 - 1,000) * 10 =
    # 12,000, so the government's offer of 15,000 on day 32 frees the trucks; without them the
    # price stays 22,000 and every offer is refused.
    gov = {"enabled": True, "attempt_interval_days": 20, "offer_eur": 15_000}
    eu = policy("eu", "eu_countermeasures", 20, eur_per_day=1_000)
    data = deterministic(**TEN, belarus__processing_per_day=SLOW, government=gov, policies=[eu])
    result, events = run(data)
    assert (32.0, "government offer 0.01M EUR against Minsk's price 0.01M EUR: accepted") in events
    assert result.outcomes["release_day"] == 32.0
    data["policies"] = []
    assert run(data)[0].outcomes["release_day"] is None


@pytest.mark.parametrize(
    ("metric", "bound", "processing", "day"),
    [
        # days since the hold (12) > 20: first on day 33 (21), not 32 (20); nothing processed.
        ("days_since_hold", {"above": 20}, SLOW, 33.0),
        # two a day processed from day 12 (12.5, 13, ...): on day 15 six are out, 4 < 5 left.
        ("trucks_on_lots", {"below": 5}, 2, 15.0),
        # ... and on day 14 four are out, > 3.
        ("trucks_retrieved", {"above": 3}, 2, 14.0),
        # Checked only while the hold is in force: with two a day the lots are empty on day 17
        # (the last one processed at 17.0), so "21 days since the hold" never comes.
        ("days_since_hold", {"above": 20}, 2, None),
    ],
)
def test_a_when_condition_fires_on_the_first_day_it_holds(
    metric: str, bound: dict, processing: float, day: float | None
) -> None:
    when = {"metric": metric, **bound}
    data = deterministic(
        **TEN,
        belarus__processing_per_day=processing,
        policies=[policy("p", "ask_us", when=when)],
    )
    expected = [] if day is None else [(day, "policy p: ask_us")]
    assert lines(run(data)[1], "policy p") == expected


def test_a_condition_on_losses_and_none_before_a_hold() -> None:
    # Nothing processed: losses 10 * 200 * (t - 12); above 30,000 first on day 28 (32,000;
    # day 27 gives exactly 30,000).
    when = {"metric": "carriers_net_loss_eur", "above": 30_000}
    data = deterministic(
        **TEN, belarus__processing_per_day=SLOW, policies=[policy("p", "ask_us", when=when)]
    )
    assert lines(run(data)[1], "policy p") == [(28.0, "policy p: ask_us")]
    # No hold at all: no metric is defined, the policy never fires.
    data["hold"]["probability"] = 0.0
    assert lines(run(data)[1], "policy p") == []


def test_checkpoint_policy_closes_a_checkpoint() -> None:
    # The gate is shut from day 10.5 (before the evacuees arrive on day 11): nobody gets out
    # before the hold on day 12, so all four are held.
    data = deterministic(
        policies=[policy("shut", "checkpoint", 10.5, checkpoint="gate", capacity_fraction=0)]
    )
    result, events = run(data)
    assert (12.0, "hold order: 4 held, 0 got out") in events


def test_a_deadline_announced_before_the_hold_is_known_to_owners() -> None:
    # Announced on day 5 for day 50; owners believe it (credibility 1) and are paid to wait.
    # Once the release they expect (now + 30) falls after day 50, i.e. at the review on day
    # 26, waiting means losing the truck: all ask, are processed on days 27..36, and nothing
    # is left to confiscate on day 50 (as when the same deadline is announced after the hold).
    data = deterministic(
        **TEN,
        compensation=PAID_TO_WAIT,
        owners__deadline_credibility=1.0,
        policies=[policy("threat", "confiscation_deadline", 5, days=45)],
    )
    assert run(data)[0].outcomes["trucks_confiscated"] == 0
