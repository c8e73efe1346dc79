"""A border with traffic: exact partial capacity, the background fluid queue, and its read-outs.

Closed forms for the deterministic fluid, exact traces of small deterministic cases, queueing
theory (M/M/c) for the standoff's trucks next to a stationary background, and a paired
directional test through the whole model.
"""

from __future__ import annotations

import heapq
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.model.registry import load_scenario
from sim.model.standoff import checkpoint as checkpoint_module
from sim.model.standoff.border import Border
from sim.model.standoff.checkpoint import MAX_BACKGROUND_SHARE, open_lanes_for
from sim.model.standoff.model import Replication, StandoffModel
from sim.model.standoff.schema import CapacityChange, Checkpoint, Scenario
from sim.scenario.distributions import Constant
from sim.seeding import Streams

ROOT = Path(__file__).resolve().parent.parent


def erlang_c(lanes: int, offered_load: float) -> float:
    """Probability an arrival waits in an M/M/c queue (Erlang C), a = lambda / mu."""
    c, a = lanes, offered_load
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def one_gate(**keys: object) -> Border:
    """A border with one checkpoint ``gate`` built from ``keys``."""
    return Border.from_specs({"gate": Checkpoint(**keys)})  # type: ignore[arg-type]


def batch_ci(values: np.ndarray, batches: int = 40, level: float = 0.99) -> tuple[float, float]:
    """(mean, half-width of its ``level`` confidence interval) from batch means."""
    means = np.array([b.mean() for b in np.array_split(values, batches)])
    half = stats.t.ppf(0.5 + level / 2, batches - 1) * means.std(ddof=1) / math.sqrt(batches)
    return float(means.mean()), float(half)


# -- the background fluid: closed forms --------------------------------------------------------
# A closure of D days at a checkpoint of full capacity mu, with background demand L, a share q
# of it still queueing while closed and a capacity m left during the closure: the backlog grows
# at Lq - m for D days, so it is (Lq - m) D at the reopening; it then falls at mu - L and is
# gone (Lq - m) D / (mu - L) days later; the vehicle arriving at the reopening waits for that
# backlog at rate mu: (Lq - m) D / mu days.
@pytest.mark.parametrize(
    ("lanes", "mean_service", "closure_fraction", "demand", "share", "start", "days"),
    [
        (10, 0.02, 0.1, 300.0, 0.5, 5.0, 10.0),  # mu 500, m 50, Lq 150: backlog 1000
        (4, 0.02, 0.0, 120.0, 0.75, 24.0, 22.0),  # fully closed: backlog 90 * 22 = 1980
        (6, 0.05, 0.25, 90.0, 1.0, 3.5, 7.25),  # mu 120, m 30, Lq 90: backlog 435
    ],
)
def test_reopening_backlog_clearing_and_wait_have_their_closed_forms(
    lanes: int,
    mean_service: float,
    closure_fraction: float,
    demand: float,
    share: float,
    start: float,
    days: float,
) -> None:
    border = one_gate(
        lanes=lanes,
        service_days=mean_service,
        closure_capacity_fraction=closure_fraction,
        background_trucks_per_day=demand,
        background_queue_share_when_closed=share,
    )
    mu = lanes / mean_service
    m = closure_fraction * mu
    reopening = start + days
    border.set_closed(start, True)
    border.set_closed(reopening, False)
    horizon = reopening + 60.0
    border.advance(horizon)
    queue = border.checkpoints[0]

    backlog = (demand * share - m) * days
    cleared = backlog / (mu - demand)
    arrived, queued = queue.fluid(
        np.array([start, start + days / 2, reopening, reopening + cleared / 2, reopening + cleared])
    )
    assert queued == pytest.approx([0.0, backlog / 2, backlog, backlog / 2, 0.0], abs=1e-9)
    # Demand arrives at L while open, Lq while closed.
    assert arrived[2] - arrived[0] == pytest.approx(demand * share * days, rel=1e-12)
    assert queue.backlog_at(reopening + cleared + 1.0) == 0.0

    out = border.traffic_outcomes(horizon)
    assert out["reopening_peak_queue"] == pytest.approx(backlog, rel=1e-12)
    # The longest wait in the 30 days after the reopening is that of the vehicle arriving at it.
    assert out["reopening_wait_hours"] == pytest.approx(24.0 * backlog / mu, rel=1e-9)
    # Clearing the backlog runs the checkpoint at capacity for whole days.
    assert cleared > 2
    assert border.peak_daily_throughput(horizon) == pytest.approx(mu, rel=1e-9)
    # The daily series is the backlog (no standoff trucks here).
    days_grid = np.arange(0.0, horizon + 1.0)
    series = border.queueing_series(days_grid)
    expected = np.clip(
        np.where(
            days_grid <= reopening,
            (demand * share - m) * (days_grid - start),
            backlog - (mu - demand) * (days_grid - reopening),
        ),
        0.0,
        None,
    )
    assert series == pytest.approx(expected, abs=1e-9)


def test_background_arriving_during_a_full_closure_waits_for_the_reopening() -> None:
    """Closed (m = 0) from day 10 to 20, L = 40/day, q = 0.5: a vehicle arriving on day 10 + x
    has 20x vehicles of background ahead of it, served from day 20 at mu = 100/day."""
    border = one_gate(
        lanes=1,
        service_days=0.01,
        background_trucks_per_day=40.0,
        background_queue_share_when_closed=0.5,
    )
    border.set_closed(10.0, True)
    border.set_closed(20.0, False)
    queue = border.checkpoints[0]
    x = np.array([0.5, 2.0, 9.0])
    ahead = queue.fluid(10.0 + x)[0]
    ready = queue.background_ready_at(ahead, 400.0)
    assert ready == pytest.approx(20.0 + 20.0 * x / 100.0, abs=1e-12)
    # Less background than the closure's capacity never queues.
    light = one_gate(
        lanes=10,
        service_days=0.02,
        closure_capacity_fraction=0.1,
        background_trucks_per_day=80.0,
        background_queue_share_when_closed=0.5,
    )
    light.set_closed(10.0, True)
    light.set_closed(30.0, False)
    assert light.queueing_series(np.arange(0.0, 40.0)).max() == 0.0
    assert light.traffic_outcomes(60.0)["reopening_peak_queue"] == 0.0


def test_a_standoff_truck_waits_behind_the_backlog_exact_trace() -> None:
    """One lane, service 0.01 days (mu = 100/day), background 50/day that all keeps queueing
    while closed, closed with no capacity over [10, 12): a backlog of 100 at the reopening,
    cleared at 12 + 100 / (100 - 50) = 14.

    - the truck arriving on day 11 has 50 background vehicles ahead of it: it starts at
      12 + 50/100 = 12.5 and, the backlog still there, is served in 0.01;
    - the truck arriving at the reopening has 100 ahead: starts at 13, served in 0.01;
    - the truck arriving on day 15 finds no backlog: it starts at once, and the background's
      share rho = 50/100 of the lane stretches its service to 0.01 / (1 - 0.5) = 0.02.
    """
    border = one_gate(
        lanes=1,
        service_days=0.01,
        background_trucks_per_day=50.0,
        background_queue_share_when_closed=1.0,
    )
    border.submit(np.random.default_rng(0), 0.0, np.arange(3), np.array([11.0, 12.0, 15.0]))
    border.set_closed(10.0, True)
    border.set_closed(12.0, False)
    border.advance(30.0)
    queue = border.checkpoints[0]
    ids, start, end = queue.started()
    assert ids.tolist() == [0, 1, 2]
    assert start.tolist() == pytest.approx([12.5, 13.0, 15.0], abs=1e-12)
    assert (end - start).tolist() == pytest.approx([0.01, 0.01, 0.02], abs=1e-12)
    out = border.traffic_outcomes(30.0)
    # At the reopening: 100 background vehicles, the truck of day 11 and the one arriving.
    assert out["reopening_peak_queue"] == pytest.approx(102.0, abs=1e-9)
    # The truck and the background vehicle arriving at the reopening both wait one day.
    assert out["reopening_wait_hours"] == pytest.approx(24.0, abs=1e-6)
    # Day 12 (and 13): 100 background vehicles through at capacity, plus one truck.
    assert border.peak_daily_throughput(30.0) == pytest.approx(101.0, abs=1e-9)
    # Daily series: the backlog plus the trucks waiting at each day.
    series = border.queueing_series(np.array([9.0, 11.0, 12.0, 13.0, 14.0]))
    assert series.tolist() == pytest.approx([0.0, 51.0, 102.0, 50.0, 0.0], abs=1e-9)


def test_no_reopening_no_reopening_outcomes() -> None:
    border = one_gate(lanes=2, service_days=0.1, background_trucks_per_day=5.0)
    border.set_closed(3.0, True)
    out = border.traffic_outcomes(50.0)
    assert out["reopening_peak_queue"] is None
    assert out["reopening_wait_hours"] is None
    assert border.peak_daily_throughput(50.0) == pytest.approx(5.0)


# -- exact partial capacity --------------------------------------------------------------------
def test_partial_capacity_opens_ceil_lanes_and_stretches_service_exact_trace() -> None:
    """Half a lane's worth (5% of 10 lanes) is one lane at half speed: constant service 1 day
    becomes 2 days; a truck already in service when the capacity changes finishes as started."""
    border = one_gate(lanes=10, service_days=1.0)
    border.set_checkpoint_fraction(0.0, "gate", 0.05)
    queue = border.checkpoints[0]
    assert (queue.open_lanes, queue.capacity_lanes) == (1, pytest.approx(0.5))
    border.submit(np.random.default_rng(0), 0.0, np.arange(3), np.array([0.0, 0.0, 0.0]))
    border.set_checkpoint_fraction(3.0, "gate", None)  # back to 10 whole lanes: no stretch
    border.advance(10.0)
    _, start, end = queue.started()
    assert start.tolist() == [0.0, 2.0, 3.0]
    assert end.tolist() == [2.0, 4.0, 4.0]


def test_open_lanes_for_rounds_up_exactly() -> None:
    assert [open_lanes_for(x) for x in (0.0, 0.5, 1.0, 10 * 0.1, 6 * 0.1, 3.5, 15.0)] == [
        0,
        1,
        1,
        1,
        1,
        4,
        15,
    ]


@pytest.mark.parametrize(
    ("lanes", "fraction", "worth"),
    [(10, 0.05, 0.5), (10, 0.35, 3.5), (4, 1.25, 5.0), (6, 0.1, 0.6)],
)
def test_partial_capacity_serves_exactly_its_share(
    lanes: int, fraction: float, worth: float
) -> None:
    """A saturated checkpoint at ``fraction`` of ``lanes`` serves ``worth / mean service``
    trucks a day. Exponential service of mean 0.02: over 400 days the count of completions of a
    busy c-lane station is Poisson with mean 400 * worth * 50 when every lane stays busy, so a
    99% interval is +-2.58 sqrt(mean) (2.6% at 0.5 lane's worth, 1.1% at 3.5). Rounding to
    whole lanes (1, 4, 5 and 1 lanes) would be 100%, 14%, 0% and 67% off; the 5-lane case checks
    a fraction above 1."""
    border = one_gate(
        lanes=lanes,
        service_days={"dist": "exponential", "mean": 0.02},
        schedule=[CapacityChange(from_day=0.0, to_day=1000.0, capacity_fraction=fraction)],
    )
    border.refresh_capacity(0.0)
    queue = border.checkpoints[0]
    assert queue.capacity_lanes == pytest.approx(worth)
    rng = np.random.default_rng(8)
    days = 400.0
    expected = days * worth / 0.02
    n = int(expected * 1.5)
    border.submit(rng, 0.0, np.arange(n), np.zeros(n))  # everyone there at day 0
    border.advance(days)
    finished = int(np.count_nonzero(queue.started()[2] < days))
    assert abs(finished - expected) < 2.58 * math.sqrt(expected), (finished, expected)


def test_policy_fraction_overrides_the_schedule_and_the_closure_multiplies_it() -> None:
    border = Border.from_specs(
        {
            "a": Checkpoint(
                lanes=10,
                service_days=0.02,
                closure_capacity_fraction=0.1,
                schedule=[CapacityChange(from_day=5.0, to_day=15.0, capacity_fraction=0.5)],
            ),
            "b": Checkpoint(lanes=4, service_days=0.02),
        }
    )
    a, b = border.checkpoints
    border.refresh_capacity(5.0)
    assert (a.capacity_lanes, b.capacity_lanes) == (5.0, 4.0)
    border.set_checkpoint_fraction(6.0, "a", 1.5)  # a policy: 15 lanes' worth
    assert (a.capacity_lanes, a.open_lanes) == (15.0, 15)
    border.set_closed(7.0, True)
    assert a.capacity_lanes == pytest.approx(1.5)
    assert b.capacity_lanes == 0.0
    border.set_checkpoint_fraction(8.0, "a", None)  # back to the schedule window (0.5), closed
    assert a.capacity_lanes == pytest.approx(0.5)
    border.set_closed(9.0, False)
    border.set_checkpoint_fraction(10.0, "b", 0.0)  # a policy closes b with the border open
    assert b.capacity_lanes == 0.0
    # The checkpoint choice weighs exact capacities: 5 and 0 lanes' worth now.
    assert border.lane_counts[-1] == (5.0, 0.0)
    with pytest.raises(KeyError):
        border.set_checkpoint_fraction(11.0, "c", 1.0)


# -- queueing theory next to a stationary background ------------------------------------------
@pytest.mark.parametrize(("lanes", "background_share"), [(1, 0.0), (3, 0.0), (3, 0.4), (2, 0.7)])
def test_trucks_next_to_a_stationary_background_are_mmc_at_the_reduced_capacity(
    lanes: int, background_share: float
) -> None:
    """Background at a share rho of the capacity (below the cap): the standoff's trucks see an
    M/M/c queue with per-lane service rate mu (1 - rho); their mean wait matches Erlang C
    there. rho = 0 is the plain M/M/c queue (fraction 1, no background). Trucks' load on the
    reduced capacity is 0.8. Tolerance: 99% batch-means interval (40 batches of 5,000 after
    2% warm-up), about +-5% of W_q at these loads; a model ignoring the background (rho = 0.4
    or 0.7) is off by far more. The seed is fixed."""
    assert background_share < MAX_BACKGROUND_SHARE
    mean_service = 0.02
    mu = 1 / mean_service
    border = one_gate(
        lanes=lanes,
        service_days={"dist": "exponential", "mean": mean_service},
        background_trucks_per_day=background_share * lanes * mu,
    )
    reduced = mu * (1 - background_share)
    rate = 0.8 * lanes * reduced
    rng = np.random.default_rng(20251204)
    n = 200_000
    arrival = np.cumsum(rng.exponential(1 / rate, n))
    border.submit(rng, 0.0, np.arange(n), arrival)
    border.advance(float(arrival[-1]) + 1e6)
    ids, start, _ = border.checkpoints[0].started()
    assert ids.size == n
    wait = (start - arrival[ids])[np.argsort(ids)]
    theory = erlang_c(lanes, rate / reduced) / (lanes * reduced - rate)
    mean, half = batch_ci(wait[n // 50 :])
    assert abs(mean - theory) < half, (mean, theory, half)
    # The background never queued: it is stationary below capacity.
    assert border.checkpoints[0].backlog_at(float(arrival[-1])) == 0.0


# -- through the model: a paired directional test ---------------------------------------------
def _reopening_queues(background: float, replications: int) -> list[float | None]:
    scenario, _ = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    assert isinstance(scenario, Scenario)
    checkpoints = {
        name: spec.model_copy(
            update={
                "background_trucks_per_day": Constant(value=background * spec.lanes / 10),
                "background_queue_share_when_closed": 0.5,
            }
        )
        for name, spec in scenario.checkpoints.items()
    }
    model = StandoffModel(scenario.model_copy(update={"checkpoints": checkpoints}))
    peaks: list[float | None] = []
    for index in range(replications):
        replication = Replication(model, Streams(scenario.seed, index))
        replication.run()
        peak = replication.border.traffic_outcomes(model.horizon)["reopening_peak_queue"]
        peaks.append(None if peak is None else float(peak))
    return peaks


def test_more_background_traffic_lengthens_the_reopening_queue() -> None:
    """Baseline with background 150 vs 300 trucks/day at Medininkai (pro rata at the other
    crossing), half of it queueing while closed: paired replications (same streams). The
    closure's remaining capacity (50/day at Medininkai) takes 75 vs 150 a day of queueing
    background, so over a closure of 15 days or more the reopening queue is longer by at
    least 75 * 15 = 1,125 vehicles, more than the few hundred standoff trucks that could
    differ: it must be longer in every paired run that reopened."""
    light = _reopening_queues(150.0, 30)
    heavy = _reopening_queues(300.0, 30)
    pairs = [(a, b) for a, b in zip(light, heavy, strict=True) if a is not None]
    assert len(pairs) >= 20
    assert all(b is not None for _, b in pairs)
    assert all(b - a > 1_000 for a, b in pairs if b is not None), pairs


# -- the compiled lanes are the plain heap rule ---------------------------------------------------
def _busy_border_trace(seed: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Two checkpoints with background, two closures, a policy window and batches of trucks
    submitted along the way; returns every checkpoint's (ids, start, end)."""
    rng = np.random.default_rng(seed)
    border = Border.from_specs(
        {
            "a": Checkpoint(
                lanes=10,
                service_days={"dist": "exponential", "mean": 0.02},
                closure_capacity_fraction=0.15,
                background_trucks_per_day=350.0,
                background_queue_share_when_closed=0.4,
                schedule=[CapacityChange(from_day=40.0, to_day=50.0, capacity_fraction=0.55)],
            ),
            "b": Checkpoint(
                lanes=3,
                service_days={"dist": "exponential", "mean": 0.02},
                background_trucks_per_day=60.0,
                background_queue_share_when_closed=0.8,
            ),
        }
    )
    next_id = 0
    for now in np.arange(0.0, 120.0, 2.5):
        if now in (10.0, 60.0):
            border.set_closed(now, True)
        if now in (30.0, 70.0):
            border.set_closed(now, False)
        if now in (40.0, 50.0):
            border.refresh_capacity(now)
        count = int(rng.integers(0, 400))
        arrival = now + rng.uniform(0.0, 6.0, count)
        border.submit(rng, now, np.arange(next_id, next_id + count), arrival)
        next_id += count
        border.advance(now + 1.25)
    border.advance(400.0)
    return [queue.started() for queue in border.checkpoints]


def _heap_serve(
    free_at: np.ndarray, ready: np.ndarray, service: np.ndarray, until: float
) -> np.ndarray:
    """``checkpoint.serve`` as the plain rule: each truck takes the lane free first (heapq)."""
    lanes = free_at.tolist()
    heapq.heapify(lanes)
    starts = []
    for a, s in zip(ready.tolist(), service.tolist(), strict=True):
        begin = max(a, lanes[0])
        if begin >= until:
            break
        heapq.heapreplace(lanes, begin + s)
        starts.append(begin)
    free_at[:] = sorted(lanes)
    return np.asarray(starts, dtype=float)


def test_compiled_lanes_match_the_plain_heap_rule_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checkpoint lanes are served by a compiled loop (numba); the starts must be bit-identical
    to the plain heapq rule, with background, closures and partial capacity."""
    compiled = _busy_border_trace(5)
    monkeypatch.setattr(checkpoint_module, "serve", _heap_serve)
    plain = _busy_border_trace(5)
    for (ids_c, start_c, end_c), (ids_p, start_p, end_p) in zip(compiled, plain, strict=True):
        assert ids_c.size > 1000
        assert np.array_equal(ids_c, ids_p)
        assert np.array_equal(start_c, start_p)
        assert np.array_equal(end_c, end_p)


def test_a_second_closure_in_the_reopening_window_counts_from_its_first_instant() -> None:
    """mu = 100/day, background 50/day all queueing while closed (m = 0). Closed over [10, 12)
    (backlog 100, gone by 14) and again over [20, 25). A vehicle arriving at 20 + x waits
    5 - x + 50 x / 100 days: the supremum, just after day 20, is 5 days (120 h); at day 25 the
    backlog is 250 vehicles, the window's peak."""
    border = one_gate(
        lanes=1,
        service_days=0.01,
        background_trucks_per_day=50.0,
        background_queue_share_when_closed=1.0,
    )
    for start, stop in ((10.0, 12.0), (20.0, 25.0)):
        border.set_closed(start, True)
        border.set_closed(stop, False)
    border.advance(60.0)
    out = border.traffic_outcomes(60.0)
    assert out["reopening_wait_hours"] == pytest.approx(120.0, abs=1e-6)
    assert out["reopening_peak_queue"] == pytest.approx(250.0, abs=1e-9)


def test_checkpoint_picks_follow_the_capacity_when_each_truck_set_off() -> None:
    """The compiled pick against the rule in numpy: the period of min(departure, now) (before
    the first: the last row, as numpy's index -1), then the first cumulative weight above the
    uniform times the total; no departures: the latest period."""
    from sim.model.standoff.border import _pick_checkpoints

    rng = np.random.default_rng(4)
    for _ in range(300):
        periods, count = int(rng.integers(1, 5)), int(rng.integers(2, 5))
        days = np.sort(rng.integers(0, 30, periods).astype(float))
        cumulative = np.cumsum(rng.integers(0, 4, (periods, count)).astype(float), axis=1)
        cumulative[cumulative[:, -1] == 0] = np.arange(1.0, count + 1.0)
        size = int(rng.integers(0, 40))
        uniform = rng.random(size)
        uniform[: size // 4] = 0.0
        departure = rng.integers(-3, 35, size).astype(float)
        now = float(rng.integers(0, 35))
        period = np.searchsorted(days, np.minimum(departure, now), side="right") - 1
        rows = cumulative[period]
        expected = np.minimum((uniform[:, None] * rows[:, -1:] >= rows).sum(axis=1), count - 1)
        got = _pick_checkpoints(days, cumulative, departure, now, uniform)
        assert got.tolist() == expected.tolist()
        latest = cumulative[-1]
        expected = np.minimum(
            np.searchsorted(latest, uniform * latest[-1], side="right"), count - 1
        )
        assert _pick_checkpoints(days, cumulative, np.empty(0), now, uniform).tolist() == (
            expected.tolist()
        )
