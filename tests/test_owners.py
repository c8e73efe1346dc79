"""Owners' decision rule (sim/model/standoff/owners.py) against hand-computed costs.

Notation of owners.py: F fee owed, f fee per day, s fee share refunded, k compensation per
day, c daily cost, r driver, w worth, D expected days to a release, d expected discount, q0
the processing backlog in days, P processing per day. Retrieving after q days costs
a + b q with a = (1 - s) F + r and b = (1 - s) f + c - k; an owner tolerates q* = (min(wait,
w) - a) / b days in Belarus's queue.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.standoff import owners
from sim.model.standoff.owners import Terms, decide, replaces


def terms(**changes: float) -> Terms:
    values = {
        "now": 0.0,
        "fee_owed": 0.0,
        "fee_per_day": 120.0,
        "backlog_days": 0.0,
        "processing_per_day": 1.0,
        "expected_discount": 0.0,
        "deadline": math.inf,
        "credibility": 0.0,
    }
    values.update(changes)
    return Terms(**values)  # type: ignore[arg-type]


def choose(t: Terms, **owners: list[float]) -> tuple[list[int], list[int]]:
    """decide() for owners given as lists (defaults: w 20,000, c 200, r 100, D 30, k 0, s 0)."""
    size = max(len(v) for v in owners.values())

    def column(name: str, default: float) -> np.ndarray:
        return np.asarray(owners.get(name, [default] * size), dtype=float)

    choice = decide(
        t,
        worth=column("w", 20_000),
        daily_cost=column("c", 200),
        retrieval_cost=column("r", 100),
        expected_days=column("D", 30),
        compensation_per_day=column("k", 0),
        fee_refund_share=column("s", 0),
    )
    return choice.retrieve.tolist(), choice.write_off.tolist()


def test_retrieve_wait_or_write_off_by_hand() -> None:
    # Day 20 of a hold from day 12: F = 960, f = 120, d = 0.5.
    t = terms(now=20, fee_owed=960, expected_discount=0.5)
    # Owner 0: wait = 0.5 (960 + 120*30) + 100 + 200*30 = 8,380 < w; a = 1,060, b = 320:
    #   q* = (8,380 - 1,060) / 320 = 22.9 >= 0: retrieves.
    # Owner 1: w = 1,000 < 8,380, and a = 1,060 > 1,000: cannot retrieve cheaper than
    #   writing off: writes off.
    # Owner 2: D = 1: wait = 0.5 (960 + 120) + 100 + 200 = 840 < a = 1,060 and < w: waits.
    assert choose(t, w=[20_000, 1_000, 20_000], D=[30, 30, 1]) == ([0], [1])


def test_queue_ranks_owners_by_tolerance_and_stops_at_the_first_who_would_not_wait() -> None:
    # With F = 0, d = 0, c = 0 waiting costs 120 D + 100 and retrieving 100 + 120 q: q* = D.
    # D = 22, 35, 5, 12; Belarus processes one every 10 days (P = 0.1), places 0, 10, 20: the
    # owner with q* = 35 goes first (place 10: its own processing), 22 next (place 20);
    # 12 < 30 stops the queue, and 5 does not get a place either. Nobody writes off.
    t = terms(processing_per_day=0.1)
    assert choose(t, c=[0] * 4, D=[22, 35, 5, 12]) == ([1, 0], [])
    # Behind a backlog of 2 days only owners with q* >= 12 queue, at places 12, 22, 32.
    t = terms(processing_per_day=0.1, backlog_days=2)
    assert choose(t, c=[0] * 4, D=[22, 35, 5, 12]) == ([1, 0], [])
    # Behind a backlog of 40 days nobody queues.
    t = terms(processing_per_day=0.1, backlog_days=40)
    assert choose(t, c=[0] * 4, D=[22, 35, 5, 12]) == ([], [])


def test_a_believed_deadline_makes_waiting_dearer() -> None:
    # Deadline on day 20, believed with p = 0.5. An owner expecting the release in 30 days
    # (after the deadline): wait = 0.5 * 9,700 + 0.5 * (20,000 + 200 * 20) = 16,850, so
    # retrieving up to the deadline is tolerable ((16,850 - 100) / 320 = 52.3 > 20). Beyond
    # it a place carries the same risk: (1 - p)(100 + 320 q) + p * 24,000 <= 16,850 up to
    # q = (16,850 - 12,000 - 50) / 160 = 30. An owner expecting the release in 10 days (before
    # the deadline) is unaffected: q* = 10. One processed a day (P = 1):
    # - behind a 10-day backlog (place 11): the first owner queues, the second does not;
    # - behind 25 days (place 26, after the deadline but within 30): still the first;
    # - behind 40 days (place 41): nobody (without the deadline's risk on the place, 52.3
    #   would have covered 41: the owner would have queued to lose the truck).
    for backlog, queued in ((10, [0]), (25, [0]), (40, [])):
        t = terms(deadline=20, credibility=0.5, backlog_days=backlog, processing_per_day=1)
        assert choose(t, D=[30, 10]) == (queued, [])
    # Not believed (p = 0): q* = 30, so behind 25 days the first owner queues, behind 40 not.
    assert choose(terms(deadline=20, credibility=0.0, backlog_days=25), D=[30, 10]) == ([0], [])
    assert choose(terms(deadline=20, credibility=0.0, backlog_days=40), D=[30, 10]) == ([], [])


def test_compensation_changes_the_choice() -> None:
    # w = 3,000: without compensation wait = 9,700 > w, so q* = (3,000 - 100) / 320 = 9.1;
    # behind a 15-day backlog the owner writes off. With k = 150 and s = 0.5: wait =
    # 0.5 * 3,600 + 100 + 50 * 30 = 3,400 > w still, but b = 0.5 * 120 + 50 = 110, so
    # q* = 2,900 / 110 = 26.4 >= 15: the owner queues instead.
    t = terms(backlog_days=15)
    assert choose(t, w=[3_000]) == ([], [0])
    assert choose(t, w=[3_000], k=[150], s=[0.5]) == ([0], [])
    # Paid more a day than the truck costs idle plus the fee (k = 400 > 320): waiting earns,
    # so nobody retrieves (b < 0 and a > wait) or writes off.
    assert choose(terms(), k=[400]) == ([], [])


def test_replacement_pays_when_the_saving_exceeds_its_cost() -> None:
    # (idle - substitute) * days > cost: (200 - 50) * 30 = 4,500.
    idle = np.array([200.0, 200.0, 200.0, 200.0])
    sub = np.array([50.0, 50.0, 50.0, 250.0])
    cost = np.array([4_499.0, 4_500.0, 4_500.0, 0.0])
    days = np.array([30.0, 30.0, -5.0, 30.0])
    assert replaces(idle, sub, cost, days).tolist() == [True, False, False, False]


def test_the_first_owner_in_the_queue_counts_the_wait_for_processing() -> None:
    # w = 260, so the alternative is writing off (wait = 9,700). Belarus processes one a day
    # (P = 1): asked for now, the truck is processed in 1 day, costing 100 + 320 * 1 = 420 >
    # 260: q* = (260 - 100) / 320 = 0.5 < place 1, so the owner writes off.
    assert choose(terms(), w=[260]) == ([], [0])


def test_the_compiled_review_is_the_rule_as_written() -> None:
    """``owners.review`` runs compiled (numba); its Python source, run as Python, must give
    the same choices, processing days and replacements to the last bit, on owners drawn to
    cover every branch: some believe a deadline, some are paid more than waiting costs (b <=
    0), some retrieve, some write off, some replace."""
    rng = np.random.default_rng(7)
    seen = np.zeros(3, dtype=int)
    for case in range(40):
        size = int(rng.integers(1, 400))
        wait = owners.waiting_table(
            expected=rng.uniform(-20, 200, size),
            idle=rng.uniform(50, 400, size),
            substitute=rng.uniform(20, 300, size),
            replacement_cost=rng.uniform(0, 40_000, size),
            worth=rng.uniform(500, 90_000, size),
            retrieval=rng.uniform(50, 2_000, size),
        )
        compensated = case % 3 == 0
        per_day = rng.uniform(0, 500, size) if compensated else np.empty(0)
        share = rng.uniform(0, 1, size) if compensated else np.empty(0)
        believed = case % 2 == 0
        args = (
            float(rng.uniform(0, 100)),  # now
            float(rng.uniform(0, 5_000)),  # fee owed
            float(rng.uniform(0, 150)),  # fee a day
            float(rng.uniform(0, 30)),  # backlog
            float(rng.uniform(0.5, 40)),  # processing a day
            float(rng.uniform(0, 1)),  # expected discount
            float(rng.uniform(0, 200)) if believed else math.inf,  # deadline
            float(rng.choice([0.3, 1.0])) if believed else 0.0,  # credibility
        )
        tail = (float(rng.uniform(-10, 10)), float(rng.uniform(0, 300)), per_day, share, 5.0)
        # The table has spare columns beyond ``size`` (left alone), trucks numbered apart.
        spare = int(rng.integers(0, 5))
        wait = np.concatenate((wait, np.full((7, spare), -1.0)), axis=1)
        trucks = rng.permutation(size + spare) * 3
        groups = rng.integers(0, 3, size + spare)
        results = []
        for kernel in (owners.review, owners.review.py_func):
            table, ids, group, replaced_at = (
                wait.copy(),
                trucks.copy(),
                groups.copy(),
                np.full(3 * (size + spare), np.inf),
            )
            out = kernel(*args, table, ids, group, size, *tail, replaced_at)
            results.append((out, table, ids, group, replaced_at))
        (compiled, *state_c), (interpreted, *state_p) = results
        assert compiled[0] == interpreted[0], case
        for got, want in zip([*compiled[1:], *state_c], [*interpreted[1:], *state_p], strict=True):
            assert np.array_equal(got, want), case
        # Owners who acted left the table; the others kept their order; spares are untouched.
        waiting, asked, lost, _ = compiled
        assert waiting == size - asked.size - lost.size
        left = [t for t in trucks[:size] if t not in set(asked) | set(lost)]
        assert state_c[1][:waiting].tolist() == left
        group_of = dict(zip(trucks.tolist(), groups.tolist(), strict=True))
        assert state_c[2][:waiting].tolist() == [group_of[t] for t in left]
        assert np.array_equal(state_c[0][:, size:], wait[:, size:])
        replaced = int(np.isfinite(state_c[3]).sum())
        seen += np.array([asked.size, lost.size, replaced]) > 0
    assert seen.all(), "the cases must include retrievals, write-offs and replacements"


def numpy_decide(
    t: Terms, w: np.ndarray, c: np.ndarray, r: np.ndarray, days: np.ndarray, k: object, s: object
) -> tuple[np.ndarray, np.ndarray]:
    """The owners' rule as numpy array expressions (the engine's implementation before it was
    compiled): (retrieve in queue order, write off), indices of the owners."""
    paid = 1.0 - s  # type: ignore[operator]
    net = c - k  # type: ignore[operator]
    discounted = paid * (1.0 - t.expected_discount)
    horizon = np.maximum(days, 0.0)
    wait = horizon * (discounted * t.fee_per_day + net)
    wait += r + discounted * t.fee_owed
    believed = t.credibility > 0 and math.isfinite(t.deadline)
    p = t.credibility
    until = max(0.0, t.deadline - t.now)
    lose = w + net * until
    if believed:
        risk = t.now + horizon > t.deadline
        wait[risk] = (1.0 - p) * wait[risk] + p * lose[risk]
    alternative = np.minimum(wait, w)
    a = r + paid * t.fee_owed
    b = net + paid * t.fee_per_day
    tolerable = np.where(
        (b > 0) | (float(b.min()) > 0),
        (alternative - a) / b,
        np.where(a <= alternative, np.inf, -np.inf),
    )
    if believed:
        late = (
            (alternative - p * lose - (1.0 - p) * a) / ((1.0 - p) * b)
            if p < 1.0
            else np.full(w.size, -np.inf)
        )
        beyond = tolerable > until
        tolerable[beyond] = np.maximum(until, np.minimum(tolerable[beyond], late[beyond]))
    keen = np.flatnonzero(tolerable >= t.backlog_days + 1.0 / t.processing_per_day)
    order = keen[np.argsort(-tolerable[keen], kind="stable")]
    place = t.backlog_days + np.arange(1.0, order.size + 1.0) / t.processing_per_day
    short = np.flatnonzero(tolerable[order] < place)
    retrieve = order[: short[0]] if short.size else order
    rest = w < wait
    rest[retrieve] = False
    return retrieve, np.flatnonzero(rest)


def test_the_compiled_review_is_the_numpy_rule_it_replaced() -> None:
    """Bit for bit against the rule as numpy expressions (``numpy_decide``), then the
    replacement rule (``replaces``) and the table's compaction, on random owners with ties,
    zero and infinite values, believed deadlines (p up to 1), compensation above the daily
    cost and owners who already replaced."""
    rng = np.random.default_rng(11)

    def values(n: int, low: float, high: float, infinite: bool = True) -> np.ndarray:
        x = rng.uniform(low, high, n)
        special = rng.random(n) < 0.1
        choices = [0.0, low, high] + ([np.inf] if infinite else [])
        x[special] = rng.choice(choices, int(special.sum()))
        return np.round(x, int(rng.integers(0, 3)))  # ties

    checked = np.zeros(3, dtype=int)
    for case in range(600):
        n = int(rng.integers(1, 40))
        idle = values(n, 0, 500, infinite=False)
        table = owners.waiting_table(
            expected=values(n, -10, 200),
            idle=idle,
            substitute=np.where(rng.random(n) < 0.5, idle, values(n, 0, 300, infinite=False)),
            replacement_cost=np.where(rng.random(n) < 0.3, np.inf, values(n, 0, 20_000)),
            worth=values(n, 1, 50_000),
            retrieval=values(n, 0, 2_000),
        )
        replaced = rng.random(n) < 0.2
        table[owners.DAILY, replaced] = table[owners.SUBSTITUTE, replaced]
        table[owners.SWAP_COST, replaced] = np.inf
        now = float(rng.uniform(0, 100))
        server_free = now + float(rng.choice([0.0, -3.0, rng.uniform(0, 40)]))
        t = Terms(
            now=now,
            fee_owed=float(rng.uniform(0, 3_000)),
            fee_per_day=float(rng.choice([0.0, 60.0, 120.0])),
            backlog_days=max(0.0, server_free - now),
            processing_per_day=float(rng.choice([1.0, 10.0, 0.3, 100.0])),
            expected_discount=float(rng.choice([0.0, 0.5, 1.0])),
            deadline=float(rng.choice([math.inf, now + rng.uniform(-5, 60), now])),
            credibility=float(rng.choice([0.0, 0.3, 1.0])),
        )
        covered = rng.random(n) < 0.6
        compensated = case % 3 != 0
        k = covered * float(rng.choice([0.0, 50.0, 1_000.0])) if compensated else np.zeros(n)
        s = covered * float(rng.choice([0.0, 0.5, 1.0])) if compensated else np.zeros(n)
        shift, cap = float(rng.choice([0.0, 5.0, -3.0])), float(rng.choice([math.inf, 10.0]))
        # The rule as numpy expressions, then replacement and compaction.
        days = np.minimum(table[owners.EXPECTED] + shift, cap)
        with np.errstate(all="ignore"):
            retrieve, write_off = numpy_decide(
                t, table[owners.WORTH], table[owners.DAILY], table[owners.RETRIEVAL], days, k, s
            )
        start = max(now, server_free)
        at = start + (np.arange(retrieve.size) + 1.0) / t.processing_per_day
        days[retrieve] = at - now
        # (The table holds the saving, idle - substitute, already: a substitute of 0.)
        swap = replaces(table[owners.SAVING], np.zeros(n), table[owners.SWAP_COST], days)
        swap[write_off] = False
        keep = np.ones(n, dtype=bool)
        keep[retrieve] = keep[write_off] = False
        trucks = rng.permutation(10 * n)[:n]
        replaced_at = np.full(10 * n, np.inf)
        compiled_table = table.copy()
        with np.errstate(all="ignore"):
            waiting, asked, lost, processed = owners.review(
                *t, compiled_table, trucks.copy(), np.zeros(n, dtype=np.int64), n, shift, cap,
                k if compensated else np.empty(0), s if compensated else np.empty(0),
                server_free, replaced_at,
            )  # fmt: skip
        assert waiting == int(keep.sum()), case
        assert np.array_equal(asked, trucks[retrieve]), case
        assert np.array_equal(lost, trucks[write_off]), case
        assert np.array_equal(processed, at), case
        assert np.array_equal(np.flatnonzero(np.isfinite(replaced_at)), np.sort(trucks[swap]))
        expected_table = table.copy()
        expected_table[owners.DAILY, swap] = table[owners.SUBSTITUTE, swap]
        expected_table[owners.SWAP_COST, swap] = np.inf
        assert np.array_equal(compiled_table[:, :waiting], expected_table[:, keep], equal_nan=True)
        checked += np.array([retrieve.size, write_off.size, swap.sum()]) > 0
    assert (checked > 50).all(), checked
