"""Small deterministic scenarios of the standoff model, shared by its trace tests.

``deterministic()`` is a scenario whose every number is a constant and every chance 0 or 1:
4 trucks that never travel on their own (``stay_days`` so long that no trip ends and no truck
enters within the horizon: the Poisson mean of entries is below 1e-6), one owner group, one
checkpoint, a closure on day 10, a hold two days later, every channel off, owners who never
replace a truck and believe no deadline. Tests change it with ``section__key=value`` arguments
and work out each figure by hand (tests/test_model.py, tests/test_policies.py).
"""

from __future__ import annotations

import copy
from typing import Any

from sim.model.interface import ReplicationResult
from sim.model.standoff import StandoffModel
from sim.model.standoff.schema import Scenario
from sim.seeding import Streams

NEVER = 10_000.0  # a delay longer than any horizon here
Event = tuple[float, str]


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
            "stay_days": 1e9,
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
        "hold": {"probability": 1.0, "reaction_delay_days": 2, "after_reopening_probability": 0},
        "detention": {
            "storage_fee_eur_per_day": 120,
            "storage_period_days": 120,
            "confiscation_probability": 0,
            "deadline_announced_days_after_hold": None,
        },
        "retrieval": {"cost_eur": 100, "driver_travel_days": 1},
        "owners": {
            "review_interval_days": 7,
            "expected_release_days": 30,
            "belief_pessimism": 0,
            "expected_fee_discount": 0,
            "us_visit_without_trucks_days": 0,
            "talks_open_expected_days": 30,
            "deadline_credibility": 0,
            "replacement_cost_eur": 1e9,
            "replacement_eur_per_day": 0,
        },
        "belarus": {
            "processing_per_day": 1,
            "leverage_eur_per_truck_per_day": 100,
            "pressure_eur_per_day": 0,
            "planning_days": 10,
        },
        "release": {"fee_rule": "accrued", "fee_discount": 0, "pickup_delay_days": 2},
        "government": {"enabled": False},
        "carriers": {"enabled": False, "retry_days": None},
        "us": {"enabled": False, "lithuania_request_days_after_hold": None},
    }
    for path, value in changes.items():
        node = data
        *parents, last = path.split("__")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return data


def run(
    data: dict[str, Any], seed: int = 0, replication: int = 0
) -> tuple[ReplicationResult, list[Event]]:
    """One traced replication of the scenario ``data``."""
    model = StandoffModel(Scenario.model_validate(copy.deepcopy(data)))
    return model.trace_replication(Streams(seed, replication))


def lines(events: list[Event], *words: str) -> list[Event]:
    """The events whose text contains any of ``words``."""
    return [e for e in events if any(w in e[1] for w in words)]
