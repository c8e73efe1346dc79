"""How owners of held trucks decide: retrieve now, wait for a general release, or write off;
and whether to replace the truck meanwhile.

Every owner looks forward with the same rule (``Owners`` in schema.py). With, for a truck,
``F`` the fee owed now, ``f`` the fee per day, ``s`` the share of fees a compensation scheme
refunds, ``k`` the compensation per day, ``c`` its daily cost (idle, or the substitute's once
replaced), ``r`` the driver and paperwork, ``w`` its worth to the owner, ``D`` the days until
the release the owner expects, ``d`` the fee discount they expect then, and ``q`` the days
until Belarus would process a retrieval asked for now:

- retrieve: ``(1 - s) (F + f q) + r + (c - k) q``
- wait: ``(1 - s) (1 - d) (F + f D) + r + (c - k) D``; if a confiscation deadline the owner
  believes (with probability ``p``) falls before ``now + D``, a share ``p`` of this is
  replaced by losing the truck at the deadline: ``w + (c - k) (T - now)``;
- write off: ``w``.

If a believed deadline ``T`` comes before an owner's place in Belarus's queue, retrieving
carries the same risk: ``(1 - p) (cost above) + p (w + (c - k) (T - now))``.

The owner takes the cheapest. Retrievals queue at Belarus's processing (``processing_per_day``
= P): the owners most willing to retrieve (highest tolerable wait ``q*``) ask first; the k-th
to ask (k = 1, 2, ...) behind a backlog of ``q0`` days is processed ``q0 + k / P`` days from
now, and asks only if that is within their ``q*``; the rest wait or write off, whichever is
cheaper.

An owner replaces a held truck when the saving over the expected time without it pays for
the substitute: ``(c_idle - c_sub) T > replacement_cost``, with ``T = q`` for a truck already
in the processing queue and ``D`` otherwise.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit


class Terms(NamedTuple):
    """What every owner knows at a decision point (the same for all), in the order ``review``
    takes them (the detention passes them one by one; ``decide`` takes them together)."""

    now: float
    fee_owed: float  # F: fee owed per truck so far
    fee_per_day: float  # f
    backlog_days: float  # q0: days until Belarus would process a request made now
    processing_per_day: float
    expected_discount: float  # d
    deadline: float  # T: day of a believed confiscation deadline (inf: none)
    credibility: float  # p


class Choice(NamedTuple):
    """Indices (into the candidates) of owners who retrieve (in queue order) and who write off."""

    retrieve: np.ndarray
    write_off: np.ndarray


def decide(
    terms: Terms,
    worth: np.ndarray,
    daily_cost: np.ndarray,
    retrieval_cost: np.ndarray,
    expected_days: np.ndarray,
    compensation_per_day: np.ndarray | float,
    fee_refund_share: np.ndarray | float,
) -> Choice:
    """Each candidate owner's choice (arrays have one entry per candidate)."""
    size = np.asarray(worth).size

    def column(values: np.ndarray | float) -> np.ndarray:
        return np.ascontiguousarray(np.broadcast_to(np.asarray(values, dtype=float), size))

    # Owners who cannot replace their truck (no saving, an infinite cost).
    wait = waiting_table(
        expected=column(expected_days),
        idle=column(daily_cost),
        substitute=column(daily_cost),
        replacement_cost=np.full(size, math.inf),
        worth=column(worth),
        retrieval=column(retrieval_cost),
    )
    _, retrieve, write_off, _ = review(
        *terms,
        wait,
        np.arange(size),
        np.zeros(size, dtype=np.int64),
        size,
        0.0,
        math.inf,
        column(compensation_per_day),
        column(fee_refund_share),
        terms.now + terms.backlog_days,
        np.empty(size),
    )
    return Choice(retrieve=retrieve, write_off=write_off)


# Rows of the table of waiting owners ``review`` reads (one column per owner): the release they
# expect (days from the hold), their daily cost (idle, or the substitute's once replaced), the
# substitute's daily cost, the saving a day of replacing (idle - substitute), the replacement's
# one-off cost (+inf once replaced: an owner replaces once), the truck's worth to them, and the
# driver and paperwork of a retrieval.
EXPECTED, DAILY, SUBSTITUTE, SAVING, SWAP_COST, WORTH, RETRIEVAL = range(7)


def waiting_table(
    expected: np.ndarray,
    idle: np.ndarray,
    substitute: np.ndarray,
    replacement_cost: np.ndarray,
    worth: np.ndarray,
    retrieval: np.ndarray,
) -> np.ndarray:
    """The table ``review`` reads for owners who have not replaced their truck yet."""
    table = np.empty((7, expected.size))
    table[EXPECTED] = expected
    table[DAILY] = idle
    table[SUBSTITUTE] = substitute
    table[SAVING] = idle - substitute
    table[SWAP_COST] = replacement_cost
    table[WORTH] = worth
    table[RETRIEVAL] = retrieval
    return table


@njit(cache=True, error_model="numpy")
def replaces_one(saving_per_day: float, replacement_cost: float, days_without: float) -> bool:
    """Whether an owner replaces the truck: the saving a day (idle cost - the substitute's)
    over the days they expect to be without it pays for the substitute's one-off cost (+inf
    once replaced: an owner replaces once)."""
    return saving_per_day * np.maximum(days_without, 0.0) > replacement_cost


@njit(cache=True, error_model="numpy")
def review(  # pragma: no cover - compiled; run as Python under NUMBA_DISABLE_JIT=1
    now: float,
    fee_owed: float,
    f: float,
    backlog: float,
    rate: float,
    expected_discount: float,
    deadline: float,
    p: float,
    wait: np.ndarray,
    trucks: np.ndarray,
    groups: np.ndarray,
    size: int,
    shift: float,
    cap: float,
    compensation_per_day: np.ndarray,
    fee_refund_share: np.ndarray,
    server_free: float,
    replaced_at: np.ndarray,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """A decision point for the waiting owners, the first ``size`` columns of ``wait`` (rows
    EXPECTED... above; ``trucks`` and ``groups`` hold each one's truck and owner group), on
    ``Terms`` (in its order; passed one by one: numba takes floats faster than a tuple).

    Each owner expects the release ``wait[EXPECTED] + shift`` days after the hold, at most
    ``cap`` days from now, and takes the cheapest choice (module docstring); Belarus's
    processing is free from ``server_free`` on. Compensation and the refunded fee share are one
    per owner, or empty arrays for none. An owner who replaces the truck has it recorded in
    ``wait`` (their daily cost becomes the substitute's, and they cannot replace again) and in
    ``replaced_at`` (by truck). Owners who ask for their truck or write it off leave the table:
    the owners still waiting are moved to its first columns, in their order.

    Returns (waiting, retrieve, write_off, processed_at): how many owners still wait, the
    trucks asked for, in queue order, and those written off, and the day Belarus will process
    each request.

    Compiled with numba: a loop per owner, in the same arithmetic as the formulas above (the
    results are the same to the last bit as numpy's array expressions of them).
    """
    paying = fee_refund_share.size > 0
    compensated = compensation_per_day.size > 0
    believed = p > 0 and math.isfinite(deadline)
    until_deadline = max(0.0, deadline - now)
    expected = np.empty(size)
    cost_of_waiting = np.empty(size)
    a = np.empty(size)
    b = np.empty(size)
    lose = np.empty(size)
    b_min = math.inf
    b_nan = False
    for i in range(size):
        paid = 1.0 - fee_refund_share[i] if paying else 1.0
        net_daily = wait[DAILY, i] - compensation_per_day[i] if compensated else wait[DAILY, i]
        discounted = paid * (1.0 - expected_discount)
        days = np.minimum(wait[EXPECTED, i] + shift, cap)
        expected[i] = days
        horizon = np.maximum(days, 0.0)
        cost = horizon * (discounted * f + net_daily)
        cost += wait[RETRIEVAL, i] + discounted * fee_owed
        if believed:
            lose[i] = wait[WORTH, i] + net_daily * until_deadline
            if now + horizon > deadline:
                cost = (1.0 - p) * cost + p * lose[i]
        cost_of_waiting[i] = cost
        # Retrieving costs a + b q for a processing wait of q days.
        a[i] = wait[RETRIEVAL, i] + paid * fee_owed
        b[i] = net_daily + paid * f
        if b[i] != b[i]:
            b_nan = True
        elif b[i] < b_min:
            b_min = b[i]
    # The usual case: waiting in the queue costs every owner something every day.
    costly = not b_nan and b_min > 0
    tolerable = np.empty(size)
    for i in range(size):
        alternative = np.minimum(cost_of_waiting[i], wait[WORTH, i])
        if costly or b[i] > 0:
            days = (alternative - a[i]) / b[i]
        else:
            days = math.inf if a[i] <= alternative else -math.inf
        if believed and days > until_deadline:
            # A place in Belarus's queue after a deadline the owner believes is worth less:
            # with probability p the truck is confiscated first. Beyond the deadline
            # retrieving costs (1 - p)(a + b q) + p * lose, tolerable up to ``late``.
            if p < 1.0:
                late = (alternative - p * lose[i] - (1.0 - p) * a[i]) / ((1.0 - p) * b[i])
            else:
                late = -math.inf
            days = np.maximum(until_deadline, np.minimum(days, late))
        tolerable[i] = days
    # The queue is a prefix of the owners ranked most tolerant first (ties in their order): the
    # first owner whose tolerance does not cover their place stops it. Its length is the
    # largest m such that at least m owners tolerate place m (true up to m, false after:
    # tolerances fall as places rise), found by bisection; only the owners who tolerate place
    # m are then ranked.
    keen = np.flatnonzero(tolerable >= backlog + 1.0 / rate)
    values = tolerable[keen]
    count, high = 0, keen.size
    while count < high:
        middle = (count + high + 1) // 2
        place = backlog + middle / rate
        tolerating = 0
        for value in values:
            tolerating += value >= place
        if tolerating >= middle:
            count = middle
        else:
            high = middle - 1
    keen = keen[values >= backlog + count / rate] if count else keen[:0]
    order = keen[np.argsort(-tolerable[keen], kind="mergesort")]
    retrieve = order[:count].copy()
    start = max(now, server_free)
    processed_at = np.empty(count)
    keep = np.ones(size, dtype=np.bool_)
    without = expected  # the days each owner expects to be without the truck
    for j in range(count):
        processed_at[j] = start + (j + 1.0) / rate
        keep[retrieve[j]] = False
        without[retrieve[j]] = processed_at[j] - now
    # Those who do not retrieve write off if that is cheaper than waiting; the others replace
    # their truck when the saving over the days without it pays for the substitute.
    lost = keep & (wait[WORTH, :size] < cost_of_waiting)
    for i in range(size):
        if lost[i]:
            keep[i] = False
        elif replaces_one(wait[SAVING, i], wait[SWAP_COST, i], without[i]):
            wait[DAILY, i] = wait[SUBSTITUTE, i]
            wait[SWAP_COST, i] = math.inf
            replaced_at[trucks[i]] = now
    asked = trucks[retrieve]
    written_off = trucks[np.flatnonzero(lost)]
    waiting = 0
    for i in range(size):
        if keep[i]:
            if waiting != i:
                for row in range(wait.shape[0]):
                    wait[row, waiting] = wait[row, i]
                trucks[waiting] = trucks[i]
                groups[waiting] = groups[i]
            waiting += 1
    return waiting, asked, written_off, processed_at


def replaces(
    idle_per_day: np.ndarray,
    substitute_per_day: np.ndarray,
    replacement_cost: np.ndarray,
    days_without: np.ndarray,
) -> np.ndarray:
    """Which owners replace their truck, given the days they expect to be without it
    (:func:`replaces_one` for each)."""
    saving = np.asarray(idle_per_day, dtype=float) - np.asarray(substitute_per_day, dtype=float)
    cost = np.broadcast_to(np.asarray(replacement_cost, dtype=float), saving.shape)
    days = np.broadcast_to(np.asarray(days_without, dtype=float), saving.shape)
    owners = zip(saving.tolist(), cost.tolist(), days.tolist(), strict=True)
    return np.array([replaces_one(*owner) for owner in owners], dtype=bool)
