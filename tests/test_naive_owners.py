"""The naive benchmark's owners decide exactly as the engine's rule (``owners.decide``).

``benchmarks/naive_standoff.py`` has each owner price its options alone and Belarus's office
take a decision point's applications most tolerant first. Given the same owners and the same
terms (fee owed, backlog, compensation, a believed deadline), the owners it queues (in queue
order) and those who write off must be exactly those ``owners.decide`` picks, and the owners
who replace their truck on joining the queue exactly those ``owners.replaces`` picks against
their own processing time (``release.Detention.review``), or the speed benchmark would compare
two different models.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from naive_standoff import HELD, NaiveReplication, Truck  # noqa: E402

from sim.model.standoff.owners import Terms, decide, replaces  # noqa: E402
from sim.model.standoff.schema import Compensation, Scenario  # noqa: E402
from sim.seeding import Streams  # noqa: E402

NOW = 40.0
HOLD = 10.0


def one_decision_point(
    seed: int, backlog: float, deadline: float | None, per_day: float, share: float
) -> tuple[list[int], set[int], set[int], list[int], set[int], set[int]]:
    """(queued, written off, replaced on queueing) by the naive owners, then by the engine's
    rules (``owners.decide``, ``owners.replaces``), as indices."""
    rng = np.random.default_rng(seed)
    size = 300
    run = NaiveReplication(Scenario(name="owners"), Streams(seed, 0))
    run.env.run(until=NOW)
    run.hold_day = HOLD
    run.office_free_at = NOW + backlog
    run.review_backlog = backlog
    if deadline is not None:
        run.announced_deadlines.append(deadline)
    run.start_compensation(
        Compensation(eur_per_truck_per_day=per_day, fee_share_reimbursed=share), HOLD
    )
    trucks = []
    for _ in range(size):
        truck = Truck()
        truck.group = 0
        truck.value = float(rng.uniform(10_000, 50_000))
        truck.worth = truck.value * float(rng.uniform(1.0, 1.6))
        truck.idle_rate = float(rng.uniform(50, 300))
        truck.retrieval_draw = float(rng.uniform(500, 1500))
        truck.expected_release = float(rng.lognormal(3.5, 1.0))
        truck.replacement_cost = float(rng.uniform(2000, 8000))
        truck.replacement_rate = float(rng.uniform(40, 90))
        truck.replaced_at = 20.0 if rng.random() < 0.3 else np.inf
        truck.status = HELD
        truck.held_from = HOLD
        trucks.append(truck)
    run.on_lots = size
    replaced = np.array([t.replaced_at < np.inf for t in trucks])  # before this decision point
    expected = [run.expected_days(t, NOW) for t in trucks]
    for truck, days in zip(trucks, expected, strict=True):
        applies = run.owner_choice(truck, days)
        if applies is not None:
            truck.reply = run.env.event()
            run.applications.append((applies[0], applies[1], truck))
    run.env.process(run.take_applications())
    run.env.run(until=NOW + 1e-9)
    index = {id(t): i for i, t in enumerate(trucks)}
    naive_queue = [index[id(t)] for t in run.office.items]
    naive_off = {
        i for i, t in enumerate(trucks) if t.reply is not None and t.reply.value == "write_off"
    }
    naive_swap = {i for i, t in enumerate(trucks) if t.replaced_at == NOW}

    owners = run.sc.owners
    terms = Terms(
        now=NOW,
        fee_owed=run.fee_owed(NOW),
        fee_per_day=run.fees.rate(NOW),
        backlog_days=backlog,
        processing_per_day=run.world(run.sc.belarus.processing_per_day),
        expected_discount=run.world(owners.expected_fee_discount),
        deadline=np.inf if deadline is None else deadline,
        credibility=run.world(owners.deadline_credibility),
    )
    choice = decide(
        terms,
        worth=np.array([t.worth for t in trucks]),
        daily_cost=np.where(
            replaced,
            [t.replacement_rate for t in trucks],
            [t.idle_rate for t in trucks],
        ),
        retrieval_cost=np.array([t.retrieval_draw for t in trucks]),
        expected_days=np.array(expected),
        compensation_per_day=np.full(size, per_day),
        fee_refund_share=np.full(size, share),
    )
    queue = choice.retrieve
    processed_in = backlog + (np.arange(queue.size) + 1.0) / terms.processing_per_day
    swap = ~replaced[queue] & replaces(
        np.array([trucks[i].idle_rate for i in queue]),
        np.array([trucks[i].replacement_rate for i in queue]),
        np.array([trucks[i].replacement_cost for i in queue]),
        processed_in,
    )
    return (
        naive_queue,
        naive_off,
        naive_swap,
        queue.tolist(),
        set(choice.write_off.tolist()),
        set(queue[swap].tolist()),
    )


@pytest.mark.parametrize(
    ("seed", "backlog", "deadline", "per_day", "share"),
    [
        (1, 0.0, None, 0.0, 0.0),
        (2, 12.0, None, 0.0, 0.0),
        (3, 5.0, NOW + 20.0, 0.0, 0.0),
        (4, 30.0, NOW + 10.0, 60.0, 0.5),
        (5, 0.0, None, 150.0, 0.0),
    ],
)
def test_naive_owners_queue_and_write_off_as_the_engine_rule(
    seed: int, backlog: float, deadline: float | None, per_day: float, share: float
) -> None:
    naive_queue, naive_off, naive_swap, engine_queue, engine_off, engine_swap = one_decision_point(
        seed, backlog, deadline, per_day, share
    )
    assert naive_queue == engine_queue
    assert naive_off == engine_off
    assert naive_swap == engine_swap


def test_the_cases_exercise_every_choice() -> None:
    """Some owners queue, some do not fit, some write off, some replace on joining the queue
    and some do not: the equalities above are not empty."""
    queued, off, swap, _, _, _ = one_decision_point(3, 5.0, NOW + 20.0, 0.0, 0.0)
    assert 0 < len(queued) < 300
    assert len(off) > 0
    assert 0 < len(swap) < len(queued)
