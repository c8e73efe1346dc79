"""Sums over trucks at given days, the building blocks of the daily series.

- ``ramp_sum``: a cost accruing at ``rate`` a day from ``time``: sum_i rate_i (d - time_i)^+;
- ``step_sum``: an amount counted from ``time``: sum_i amount_i [time_i <= d];
- ``count_between``: intervals [start, end) containing d.

Infinite and NaN times never count in the sums; in ``count_between`` a start or end at -inf is
before every day. On the daily grid ``0, 1, ..., D`` (what every run's series use)
each truck is put in the bin of the first day on or after its time and the bins are summed
cumulatively, in a loop compiled with numba: no sorting. Other days (sorted) use sorted
cumulative sums and ``searchsorted``. The two agree to rounding (counts exactly).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


def grid_last_day(days: np.ndarray) -> int | None:
    """D if ``days`` is exactly 0, 1, ..., D (as floats), else None."""
    if days.dtype != np.float64 or days.ndim != 1:
        return None
    last = _grid_last_day(days)
    return None if last < 0 else last


@njit(cache=True)
def _grid_last_day(days: np.ndarray) -> int:  # pragma: no cover - compiled
    if days.size == 0:
        return -1
    for day in range(days.size):
        if days[day] != day:
            return -1
    return days.size - 1


@njit(cache=True)
def _ramps_on_grid(  # pragma: no cover - compiled; run as Python under NUMBA_DISABLE_JIT=1
    times: np.ndarray, rates: np.ndarray, last: int
) -> np.ndarray:
    started = np.zeros(last + 1)  # sum of the rates starting on each day
    weighted = np.zeros(last + 1)  # sum of rate * time of those
    for i in range(times.size):
        t = times[i]
        if -math.inf < t <= last:  # (not infinite, not NaN)
            day = max(0, math.ceil(t))
            started[day] += rates[i]
            weighted[day] += rates[i] * t
    out = np.empty(last + 1)
    rate = 0.0
    base = 0.0
    for day in range(last + 1):
        rate += started[day]
        base += weighted[day]
        out[day] = day * rate - base
    return out


@njit(cache=True)
def _steps_on_grid(  # pragma: no cover - compiled; run as Python under NUMBA_DISABLE_JIT=1
    times: np.ndarray, amounts: np.ndarray, last: int
) -> np.ndarray:
    counted = np.zeros(last + 1)
    for i in range(times.size):
        t = times[i]
        if -math.inf < t <= last:
            counted[max(0, math.ceil(t))] += amounts[i]
    return np.cumsum(counted)


@njit(cache=True)
def _counts_on_grid(  # pragma: no cover - compiled; run as Python under NUMBA_DISABLE_JIT=1
    times: np.ndarray, last: int
) -> np.ndarray:
    """How many of ``times`` are on or before each day (-inf: all of them, NaN: none)."""
    counted = np.zeros(last + 1)
    for i in range(times.size):
        t = times[i]
        if t <= last:
            counted[0 if t == -math.inf else max(0, math.ceil(t))] += 1.0
    return np.cumsum(counted)


def ramp_sum(times: np.ndarray, rates: np.ndarray, days: np.ndarray) -> np.ndarray:
    """sum_i rates_i * (d - times_i)^+ for each d in ``days`` (sorted); infinite times never
    start."""
    last = grid_last_day(days)
    if last is not None:
        return _ramps_on_grid(_floats(times), _floats(rates), last)
    finite = np.isfinite(times)
    t = times[finite]
    r = rates[finite]
    order = np.argsort(t)
    t = t[order]
    r = r[order]
    rate_sum = np.concatenate(([0.0], np.cumsum(r)))
    weighted = np.concatenate(([0.0], np.cumsum(r * t)))
    k = np.searchsorted(t, days, side="right")
    return days * rate_sum[k] - weighted[k]


def step_sum(times: np.ndarray, amounts: np.ndarray, days: np.ndarray) -> np.ndarray:
    """sum_i amounts_i [times_i <= d] for each d in ``days`` (sorted)."""
    last = grid_last_day(days)
    if last is not None:
        return _steps_on_grid(_floats(times), _floats(amounts), last)
    finite = np.isfinite(times)
    t = times[finite]
    order = np.argsort(t)
    total = np.concatenate(([0.0], np.cumsum(amounts[finite][order])))
    return total[np.searchsorted(t[order], days, side="right")]


def count_between(starts: np.ndarray, ends: np.ndarray, days: np.ndarray) -> np.ndarray:
    """For each day d, how many intervals [start, end) contain d."""
    last = grid_last_day(days)
    if last is not None:
        return _counts_on_grid(_floats(starts), last) - _counts_on_grid(_floats(ends), last)
    entered = np.searchsorted(np.sort(starts), days, side="right")
    left = np.searchsorted(np.sort(ends), days, side="right")
    return (entered - left).astype(float)


def _floats(values: np.ndarray) -> np.ndarray:
    """A contiguous float64 array (one compiled signature for every caller)."""
    return np.ascontiguousarray(values, dtype=np.float64)
