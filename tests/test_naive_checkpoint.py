"""The naive benchmark's checkpoints serve trucks exactly as the engine's (``checkpoint.py``).

``benchmarks/naive_standoff.py`` models a checkpoint as lanes in a ``simpy.Store`` that each
truck's process takes, with the background traffic as the same deterministic fluid as the
engine's (computed segment by segment, trucks waiting on it in their own processes). Given the
same trucks (arrival and drawn service times), capacity changes (a closure with a partial
capacity, a policy window, a `checkpoint` fraction) and background demand, every truck must
start and finish its service at the same time in both, and the reopening read-outs and the
peak queue must agree, or the speed benchmark would compare two different border models.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from naive_standoff import NaiveReplication, Process, Truck  # noqa: E402

from sim.model.standoff.border import Border  # noqa: E402
from sim.model.standoff.checkpoint import peak_queue  # noqa: E402
from sim.model.standoff.schema import Scenario  # noqa: E402
from sim.seeding import Streams  # noqa: E402

HORIZON = 30.0
TOLERANCE = 1e-9  # days: the two compute the same times in a different order


class Sequence:
    """A service-time 'distribution' handing out fixed values in order (one per truck for the
    naive, all at once for the engine), so both see the same draws."""

    def __init__(self, values: np.ndarray, mean: float) -> None:
        self.values = values
        self.mean_value = mean
        self.used = 0

    def mean(self) -> float:
        return self.mean_value

    def sample(self, rng: Any, size: int | None = None) -> Any:
        count = 1 if size is None else size
        out = self.values[self.used : self.used + count]
        self.used += count
        return float(out[0]) if size is None else out


def scenario(lanes: int, closed: float, background: float, share: float, window: float) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "checkpoint",
            "checkpoints": {
                "a": {
                    "lanes": lanes,
                    "service_days": {"dist": "exponential", "mean": 0.05},
                    "closure_capacity_fraction": closed,
                    "background_trucks_per_day": background,
                    "background_queue_share_when_closed": share,
                    "schedule": [{"from_day": 12, "to_day": 15, "capacity_fraction": window}],
                }
            },
        }
    )


def run_both(
    sc: Scenario, arrivals: np.ndarray, service: np.ndarray, closure: tuple[float, float]
) -> dict[str, Any]:
    """Feed the same trucks through the engine's border and the naive checkpoint."""
    mean = 0.05
    # Capacity changes: (day, closed?) for the closure, (day, None) for the policy window
    # and a `checkpoint` policy that cuts the checkpoint to 0.35 of its lanes on day 17 and
    # goes back to the schedule on day 19.
    changes: list[tuple[float, bool | None, float | None | str]] = [
        (closure[0], True, "keep"),
        (closure[1], False, "keep"),
        (12.0, None, "keep"),
        (15.0, None, "keep"),
        (17.0, None, 0.35),
        (19.0, None, None),
    ]
    changes.sort(key=lambda c: c[0])

    border = Border.from_specs(sc.checkpoints)
    queue = border.checkpoints[0]
    queue.service_days = Sequence(service, mean)  # type: ignore[assignment]
    ids = np.arange(arrivals.size)
    border.submit(np.random.default_rng(0), 0.0, ids, arrivals)
    for day, closed, fraction in changes:
        if closed is not None:
            border.set_closed(day, closed)
        elif fraction != "keep":
            border.set_checkpoint_fraction(day, "a", fraction)  # type: ignore[arg-type]
        else:
            border.refresh_capacity(day)
    border.advance(HORIZON)
    started, start, end = queue.started()
    engine_start = np.full(arrivals.size, np.inf)
    engine_end = np.full(arrivals.size, np.inf)
    engine_start[started] = start
    engine_end[started] = end

    run = NaiveReplication(sc, Streams(1, 0))
    env = run.env
    checkpoint = run.checkpoints[0]
    spec = checkpoint.spec
    checkpoint.spec = SimpleNamespace(  # type: ignore[assignment]
        **{name: getattr(spec, name) for name in type(spec).model_fields},
    )
    checkpoint.spec.service_days = Sequence(service, mean)
    naive_end = np.full(arrivals.size, np.inf)

    def truck(index: int, arrival: float) -> Process:
        yield env.timeout(arrival)
        yield from run.cross(Truck(), checkpoint)
        naive_end[index] = env.now

    def capacity() -> Process:
        for day, closed, fraction in changes:
            yield env.timeout(day - env.now)
            if closed is not None:
                run.closed = closed
                if not closed:
                    run.closure_spans.append((closure[0], day))
            elif fraction != "keep":
                checkpoint.override = fraction  # type: ignore[assignment]
            run.refresh_capacity()

    for index, arrival in enumerate(arrivals.tolist()):
        env.process(truck(index, arrival))
    run.refresh_capacity()
    env.process(capacity())
    env.run(until=HORIZON)
    order = np.argsort(np.asarray(checkpoint.arrived), kind="stable")
    naive_start = np.asarray(checkpoint.left)[order]
    arrival_records, left_records = queue.waiting_records()
    return {
        "engine_start": engine_start,
        "engine_end": engine_end,
        "naive_start": naive_start,
        "naive_end": naive_end,
        "engine_traffic": border.traffic_outcomes(HORIZON),
        "engine_peak": peak_queue(arrival_records, left_records),
        "engine_exits": int(np.bincount(end[end < HORIZON].astype(np.int64)).max()),
        "naive": checkpoint,
        "begin": closure[1],
    }


CASES = [
    # lanes, closure fraction, background/day, queue share when closed, window fraction
    (3, 0.5, 40.0, 0.8, 2.0),  # 1.5 lanes while closed, saturated background then
    (10, 0.2, 150.0, 0.7, 5.0),  # the baseline's Medininkai
    (4, 0.0, 50.0, 0.0, 1.0),  # the baseline's Salcininkai: closed, its traffic goes elsewhere
    (2, 0.25, 0.0, 0.0, 0.5),  # no background: only partial capacity (half a lane)
]


@pytest.mark.parametrize(("lanes", "closed", "background", "share", "window"), CASES)
def test_naive_checkpoint_serves_as_the_engine(
    lanes: int, closed: float, background: float, share: float, window: float
) -> None:
    rng = np.random.default_rng(lanes)
    count = 1500
    # Bursts (an evacuation at the closure, releases after it) and a steady stream.
    arrivals = np.sort(
        np.concatenate(
            (
                rng.uniform(0.0, 25.0, count // 3),
                3.0 + rng.exponential(1.0, count // 3),
                8.0 + rng.exponential(2.0, count - 2 * (count // 3)),
            )
        )
    )
    service = rng.exponential(0.05, count)
    out = run_both(
        scenario(lanes, closed, background, share, window), arrivals, service, (3.0, 8.0)
    )
    engine_start, naive_start = out["engine_start"], out["naive_start"]
    # The same trucks are served by the horizon, each starting and ending at the same time.
    assert np.array_equal(np.isfinite(engine_start), np.isfinite(naive_start))
    served = np.isfinite(engine_start)
    assert served.sum() > count // 2
    assert np.max(np.abs(engine_start[served] - naive_start[served])) < TOLERANCE
    ended = np.isfinite(out["naive_end"])
    assert np.max(np.abs(out["engine_end"][ended] - out["naive_end"][ended])) < TOLERANCE

    naive = out["naive"]
    begin = out["begin"]
    end = min(begin + 30.0, HORIZON)
    traffic = out["engine_traffic"]
    assert naive.peak_queue() == out["engine_peak"]
    assert naive.peak_daily_exits(HORIZON) == out["engine_exits"]
    assert naive.peak_vehicles(begin, end) == pytest.approx(traffic["reopening_peak_queue"], 1e-9)
    assert 24.0 * naive.longest_wait(begin, end, HORIZON) == pytest.approx(
        traffic["reopening_wait_hours"], 1e-9
    )


def test_the_cases_exercise_the_background_and_partial_lanes() -> None:
    """The background queues (trucks wait for it) and stretches services (no queue): the
    equalities above are not about an empty checkpoint."""
    rng = np.random.default_rng(10)
    arrivals = np.sort(rng.uniform(0.0, 25.0, 600))
    service = rng.exponential(0.05, 600)
    out = run_both(scenario(10, 0.2, 150.0, 0.7, 5.0), arrivals, service, (3.0, 8.0))
    start = out["naive_start"]
    # Some trucks wait far longer than any lane would make them: behind the background.
    assert np.max(start - arrivals) > 1.0
    # Where the background does not queue, services are stretched by 1 / (1 - rho), rho =
    # 150 / (10 lanes / 0.05 days) = 0.75; while it queues, they are not. The backlog of 160
    # at day 19 clears at 19 + 160 / (200 - 150) = 22.2.
    ended = np.isfinite(out["naive_end"])
    ratio = (out["naive_end"] - start) / service
    late = (start > 22.2) & ended
    queued = (start > 19.0) & (start < 22.1) & ended
    assert late.sum() > 10 and queued.sum() > 10
    assert ratio[late] == pytest.approx(np.full(int(late.sum()), 4.0), rel=1e-9)
    assert ratio[queued] == pytest.approx(np.ones(int(queued.sum())), rel=1e-9)
    assert out["engine_traffic"]["reopening_peak_queue"] > 100
