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


class Terms(NamedTuple):
    """What every owner knows at a decision point (the same for all). (A named tuple: made at
    every decision point, and cheaper to make than a frozen dataclass.)"""

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
    """Each candidate owner's choice (arrays have one entry per candidate).

    (Written for speed, called at every decision point for every waiting owner: scalars are
    combined before they meet the arrays, and a believed deadline or an owner who pays nothing
    to wait in the queue takes its branch only when it occurs.)"""
    f = terms.fee_per_day
    paid = 1.0 - fee_refund_share  # the share of fees the owner bears
    if isinstance(compensation_per_day, float) and compensation_per_day == 0.0:
        net_daily = daily_cost
    else:
        net_daily = daily_cost - compensation_per_day
    discounted = paid * (1.0 - terms.expected_discount)
    horizon = np.maximum(expected_days, 0.0)
    wait = horizon * (discounted * f + net_daily)
    wait += retrieval_cost + discounted * terms.fee_owed
    believed = terms.credibility > 0 and math.isfinite(terms.deadline)
    if believed:
        p = terms.credibility
        until_deadline = max(0.0, terms.deadline - terms.now)
        lose = worth + net_daily * until_deadline
        at_risk = terms.now + horizon > terms.deadline
        if at_risk.any():
            wait[at_risk] = (1.0 - p) * wait[at_risk] + p * lose[at_risk]
    alternative = np.minimum(wait, worth)
    # Retrieving costs a + b q for a processing wait of q days.
    a = retrieval_cost + paid * terms.fee_owed
    b = net_daily + paid * f
    costly = float(b.min()) > 0
    if costly:  # the usual case: waiting in the queue costs something every day
        tolerable = (alternative - a) / b
    else:
        positive = b > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            tolerable = np.where(
                positive, (alternative - a) / b, np.where(a <= alternative, np.inf, -np.inf)
            )
    if believed:
        # A place in Belarus's queue after a deadline the owner believes is worth less: with
        # probability p the truck is confiscated first. Beyond the deadline retrieving costs
        # (1 - p)(a + b q) + p * lose, tolerable up to ``late``; before it, up to ``tolerable``.
        beyond = tolerable > until_deadline
        if beyond.any():
            if p < 1.0 and costly:  # (no division by zero)
                late = (alternative - p * lose - (1.0 - p) * a) / ((1.0 - p) * b)
            elif p < 1.0:
                with np.errstate(divide="ignore", invalid="ignore"):
                    late = (alternative - p * lose - (1.0 - p) * a) / ((1.0 - p) * b)
            else:
                late = np.full(tolerable.size, -np.inf)
            tolerable[beyond] = np.maximum(
                until_deadline, np.minimum(tolerable[beyond], late[beyond])
            )
    # Only owners who would wait at least for the first place in the queue are ranked.
    rate = terms.processing_per_day
    first = terms.backlog_days + 1.0 / rate
    keen = (tolerable >= first).nonzero()[0]
    if keen.size:
        order = keen[np.argsort(-tolerable[keen], kind="stable")]
        place = terms.backlog_days + np.arange(1.0, order.size + 1.0) / rate
        # The queue is a prefix: the first owner whose tolerance does not cover their place
        # stops it.
        short = (tolerable[order] < place).nonzero()[0]
        retrieve = order[: short[0]] if short.size else order
    else:
        retrieve = keen
    rest = worth < wait
    if retrieve.size:
        rest[retrieve] = False
    write_off = rest.nonzero()[0]
    return Choice(retrieve=retrieve, write_off=write_off)


def replaces(
    idle_per_day: np.ndarray,
    substitute_per_day: np.ndarray,
    replacement_cost: np.ndarray,
    days_without: np.ndarray,
) -> np.ndarray:
    """Which owners replace their truck, given the days they expect to be without it."""
    return replaces_now(idle_per_day - substitute_per_day, replacement_cost, days_without)


def replaces_now(
    saving_per_day: np.ndarray, replacement_cost: np.ndarray, days_without: np.ndarray
) -> np.ndarray:
    """:func:`replaces` with the daily saving (idle - substitute) already computed; an owner
    who has replaced has a cost of +inf."""
    return saving_per_day * np.maximum(days_without, 0.0) > replacement_cost
