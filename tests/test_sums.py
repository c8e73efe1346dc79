"""Sums over trucks at given days (sim/model/standoff/sums.py): the compiled daily-grid path
against the sorted path and against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model.standoff import sums
from sim.model.standoff.sums import count_between, grid_last_day, ramp_sum, step_sum

INF = math.inf


def test_a_grid_is_recognised_only_when_it_is_0_to_d() -> None:
    assert grid_last_day(np.arange(0.0, 366.0)) == 365
    assert grid_last_day(np.array([0.0])) == 0
    assert grid_last_day(np.array([0.0, 0.5, 2.0])) is None
    assert grid_last_day(np.array([1.0, 2.0, 3.0])) is None
    assert grid_last_day(np.array([0.0, 2.0, 1.0, 3.0])) is None
    assert grid_last_day(np.empty(0)) is None


def test_by_hand_on_the_grid() -> None:
    days = np.arange(0.0, 6.0)
    # A cost of 10 a day from day 1.5, one of 2 a day from day 3 (exactly), one never.
    times = np.array([1.5, 3.0, INF])
    rates = np.array([10.0, 2.0, 7.0])
    assert ramp_sum(times, rates, days).tolist() == [0, 0, 5, 15, 27, 39]
    # Amounts counted from their day: on the day itself, not before; negative times count
    # from day 0; times after the last day never.
    assert step_sum(
        np.array([2.0, 2.5, -1.0, 9.0]), np.array([1.0, 4.0, 8.0, 16.0]), days
    ).tolist() == [
        8,
        8,
        9,
        13,
        13,
        13,
    ]
    # [start, end): in on its start day, out on its end day.
    assert count_between(np.array([1.0, 0.5]), np.array([3.0, INF]), days).tolist() == [
        0,
        2,
        2,
        1,
        1,
        1,
    ]


@pytest.mark.parametrize("seed", range(5))
def test_the_grid_path_agrees_with_the_sorted_path(seed: int) -> None:
    rng = np.random.default_rng(seed)
    size = 3_000
    times = rng.uniform(-5.0, 420.0, size)
    times[rng.random(size) < 0.3] = INF
    whole = rng.random(size) < 0.1  # times on a day exactly, and ties
    times[whole] = rng.integers(0, 365, int(whole.sum()))
    rates = rng.uniform(50.0, 400.0, size)
    ends = times + rng.exponential(40.0, size)
    # A few -inf and NaN times: never counted in sums; before every day in intervals.
    odd = rng.choice(size, 20, replace=False)
    times[odd[:10]] = -INF
    times[odd[10:]] = np.nan
    grid = np.arange(0.0, 366.0)
    # The same days, not recognised as a grid (one day repeated), take the sorted path.
    sorted_days = np.concatenate(([0.0], grid))
    assert grid_last_day(sorted_days) is None
    ramps = ramp_sum(times, rates, grid)
    np.testing.assert_allclose(ramps, ramp_sum(times, rates, sorted_days)[1:], rtol=1e-12)
    assert ramps.max() > 1e6
    steps = step_sum(times, rates, grid)
    np.testing.assert_allclose(steps, step_sum(times, rates, sorted_days)[1:], rtol=1e-12)
    # Counts are exact.
    counts = count_between(times, ends, grid)
    assert np.array_equal(counts, count_between(times, ends, sorted_days)[1:])
    assert counts.max() > 100


def test_the_compiled_loops_are_their_python_source() -> None:
    rng = np.random.default_rng(3)
    times = rng.uniform(-3.0, 60.0, 500)
    odd = rng.random(500) < 0.2
    times[odd] = rng.choice([INF, -INF, np.nan], int(odd.sum()))
    assert np.isnan(times).any() and np.isneginf(times).any() and np.isposinf(times).any()
    rates = rng.uniform(1.0, 9.0, 500)
    for kernel in (sums._ramps_on_grid, sums._steps_on_grid):
        assert np.array_equal(kernel(times, rates, 50), kernel.py_func(times, rates, 50))
    assert np.array_equal(sums._counts_on_grid(times, 50), sums._counts_on_grid.py_func(times, 50))
    days = np.arange(0.0, 51.0)
    assert sums._grid_last_day(days) == sums._grid_last_day.py_func(days) == 50
