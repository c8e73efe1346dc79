"""Checkpoint queues against queueing theory (M/M/c, Erlang C, Little's law) and exact traces."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.model.standoff.border import Border
from sim.model.standoff.checkpoint import CheckpointQueue, peak_queue
from sim.model.standoff.schema import Checkpoint
from sim.model.standoff.sums import count_between


def erlang_c(lanes: int, offered_load: float) -> float:
    """Probability an arrival waits in an M/M/c queue (Erlang C), a = lambda / mu."""
    c, a = lanes, offered_load
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(
    ("lanes", "arrival_rate", "service_rate"), [(1, 0.7, 1.0), (3, 2.4, 1.0), (10, 400.0, 50.0)]
)
def test_open_checkpoint_is_an_mmc_queue(
    lanes: int, arrival_rate: float, service_rate: float
) -> None:
    """Mean wait matches Erlang C, and the time-average queue (sampled daily, as the model's
    series are) matches Little's law L_q = lambda * W_q.

    Tolerance: a 99% confidence interval from 40 batch means (batches of 25,000 customers
    are long enough to be nearly independent at these loads), after dropping the first 2% as
    warm-up: about +-3% of W_q, so a model 5% off fails. The seed is fixed.
    """
    rng = np.random.default_rng(20251029)
    border = Border.from_specs(
        {
            "gate": Checkpoint(
                lanes=lanes, service_days={"dist": "exponential", "mean": 1 / service_rate}
            )
        }
    )
    n = 1_000_000
    arrival = np.cumsum(rng.exponential(1 / arrival_rate, n))
    border.submit(rng, 0.0, np.arange(n), arrival)
    horizon = float(arrival[-1])
    border.advance(horizon + 1e9)
    queue = border.checkpoints[0]
    ids, start, _ = queue.started()
    assert ids.size == n
    wait = start - arrival[ids]
    assert np.all(wait >= 0)

    a = arrival_rate / service_rate
    wq_theory = erlang_c(lanes, a) / (lanes * service_rate - arrival_rate)

    warm = n // 50
    batches = np.array_split(wait[np.argsort(ids)][warm:], 40)
    means = np.array([b.mean() for b in batches])
    half_width = stats.t.ppf(0.995, len(means) - 1) * means.std(ddof=1) / math.sqrt(len(means))
    assert abs(means.mean() - wq_theory) < half_width, (means.mean(), wq_theory, half_width)

    # Little's law with the queue length observed at regular sampling times (as the daily
    # series are), over the stationary part of the run.
    arrivals, left = queue.waiting_records()
    step = 0.5 / arrival_rate
    times = np.arange(arrival[warm], horizon, step)
    sampled = count_between(arrivals, left, times)
    lq_theory = arrival_rate * wq_theory
    sample_batches = np.array([b.mean() for b in np.array_split(sampled, 40)])
    half_width = stats.t.ppf(0.995, 39) * sample_batches.std(ddof=1) / math.sqrt(40)
    assert abs(sample_batches.mean() - lq_theory) < half_width, (sample_batches.mean(), lq_theory)


def test_exact_trace_with_lanes_closing_and_reopening() -> None:
    queue = CheckpointQueue("gate", lanes=2, service_days=None)  # type: ignore[arg-type]
    ids = np.arange(6)
    arrival = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 5.0])
    service = np.array([2.0, 3.0, 1.0, 1.0, 1.0, 1.0])
    queue.submit(ids, arrival, service)
    # Two lanes: 0 starts at 0 (lane A free at 2), 1 at 0 (B free at 3), 2 at 2 (A free at 3),
    # 3 at 3 (free at 4), 4 at 3 on the other lane (free at 4).
    queue.set_open_lanes(3.5, 0)  # everything that starts before 3.5 has started
    # Closed from 3.5: truck 5, arriving on day 5, waits for the reopening on day 8.
    queue.set_open_lanes(8.0, 1)
    queue.advance(100.0)
    got_ids, start, end = queue.started()
    assert got_ids.tolist() == [0, 1, 2, 3, 4, 5]
    assert start.tolist() == [0.0, 0.0, 2.0, 3.0, 3.0, 8.0]
    assert end.tolist() == [2.0, 3.0, 3.0, 4.0, 4.0, 9.0]
    arrivals, left = queue.waiting_records()
    # Waiting: truck 2 over [0, 2), 3 and 4 over [1, 3), 5 over [5, 8).
    assert peak_queue(arrivals, left) == 3  # on [1, 2): trucks 2, 3 and 4
    assert count_between(arrivals, left, np.array([0.0, 1.0, 2.0, 5.0, 8.0, 9.0])).tolist() == [
        1,
        3,
        2,
        1,
        0,
        0,
    ]


def test_withdrawal_takes_queueing_and_travelling_trucks() -> None:
    queue = CheckpointQueue("gate", lanes=1, service_days=None)  # type: ignore[arg-type]
    queue.submit(np.arange(4), np.array([0.0, 0.0, 0.5, 9.0]), np.ones(4))
    taken = queue.withdraw_waiting(1.5)  # 0 started at 0, 1 at 1; 2 waits; 3 not yet there
    assert sorted(taken.tolist()) == [2, 3]
    assert queue.started()[0].tolist() == [0, 1]
    arrivals, left = queue.waiting_records()
    # Waiting records: 0 [0,0), 1 [0,1), 2 [0.5,1.5); truck 3 never reached the queue.
    assert sorted(zip(arrivals.tolist(), left.tolist(), strict=True)) == [
        (0.0, 0.0),
        (0.0, 1.0),
        (0.5, 1.5),
    ]


def test_peak_queue_is_the_largest_count_of_an_event_sweep() -> None:
    """peak_queue against the definition: sweep the events in time order, departures before
    arrivals at equal times, and take the largest running count; with ties, zero waits and
    trucks that never leave."""
    rng = np.random.default_rng(0)
    for _ in range(2_000):
        size = int(rng.integers(0, 40))
        digits = int(rng.integers(0, 2))  # rounded times: many ties
        arrivals = np.round(rng.uniform(0, 10, size), digits)
        waits = np.where(rng.random(size) < 0.3, 0.0, np.round(rng.exponential(2, size), digits))
        left = arrivals + waits
        left[rng.random(size) < 0.1] = np.inf
        events = sorted([(t, -1) for t in left] + [(t, +1) for t in arrivals])
        running = np.cumsum([step for _, step in events]) if events else np.zeros(1)
        assert peak_queue(arrivals, left) == max(0, int(running.max()))


def test_counts_at_is_the_count_by_binary_search() -> None:
    """The one-sweep count of trucks waiting just after and just before each time against
    the definition by binary search, with ties between arrivals, departures and times."""
    from sim.model.standoff.checkpoint import counts_at

    rng = np.random.default_rng(12)
    for _ in range(300):
        size = int(rng.integers(0, 60))
        arrival = np.sort(rng.integers(0, 20, size).astype(float))
        left = np.sort(arrival + rng.integers(0, 6, size))
        left[rng.random(size) < 0.1] = np.inf
        left.sort()
        begin = float(rng.integers(0, 10))
        times = np.sort(np.concatenate(([begin], rng.integers(0, 25, 15).astype(float))))
        after = np.searchsorted(arrival, times, "right") - np.searchsorted(left, times, "right")
        before = np.searchsorted(arrival, times, "left") - np.searchsorted(left, times, "left")
        before[times <= begin] = 0
        assert counts_at(arrival, left, times, begin).tolist() == np.maximum(after, before).tolist()
