"""Sums over trucks at given days, the building blocks of the daily series.

- ``ramp_sum``: a cost accruing at ``rate`` a day from ``time``: sum_i rate_i (d - time_i)^+;
- ``step_sum``: an amount counted from ``time``: sum_i amount_i [time_i <= d];
- ``count_between``: intervals [start, end) containing d.

Infinite and NaN times never count in the sums; in ``count_between`` a start or end at -inf is
before every day. On the daily grid ``0, 1, ..., D`` (what every run's series use)
each truck is put in the bin of the first day on or after its time and the bins are summed
cumulatively, in a loop compiled with numba: no sorting. Other days (sorted) use sorted
cumulative sums and ``searchsorted``. The two agree to rounding (counts exactly).

``numpy_sum`` is numpy's own float64 sum (its pairwise summation, in the same order), for
compiled code that must give the same totals as numpy to the last bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def nan_max(a: float, b: float) -> float:  # pragma: no cover - np.maximum of two floats
    if a != a or b != b:  # NaN propagates
        return math.nan
    return a if a >= b else b


@njit(cache=True, error_model="numpy")
def nan_min(a: float, b: float) -> float:  # pragma: no cover - np.minimum of two floats
    if a != a or b != b:
        return math.nan
    return a if a <= b else b


@njit(cache=True)
def _block_sum(values: np.ndarray, first: int, count: int) -> float:  # pragma: no cover
    """numpy's sum of a block of at most 128 terms (``pairwise_sum`` in numpy's
    ``loops_utils.h``): below 8 terms one by one; else in eight interleaved partial sums."""
    if count < 8:
        total = -0.0
        for i in range(first, first + count):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[first], values[first + 1], values[first + 2], values[first + 3]
    r4, r5, r6, r7 = values[first + 4], values[first + 5], values[first + 6], values[first + 7]
    i = first + 8
    stop = first + count - count % 8
    while i < stop:
        r0 += values[i]
        r1 += values[i + 1]
        r2 += values[i + 2]
        r3 += values[i + 3]
        r4 += values[i + 4]
        r5 += values[i + 5]
        r6 += values[i + 6]
        r7 += values[i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < first + count:
        total += values[i]
        i += 1
    return total


@njit(cache=True)
def numpy_sum(values: np.ndarray, count: int) -> float:  # pragma: no cover - compiled
    """``float(values[:count].sum())`` for a contiguous float64 array, the same to the last bit:
    numpy adds to 0.0 the pairwise sum, which splits a range of over 128 terms in two (the
    first part a multiple of 8 terms) and sums blocks of at most 128 with ``_block_sum``. The
    recursion is written as a loop over a stack of (first, count, partial sums) (numba's
    cache does not keep recursive functions safely)."""
    # Each frame: a range, and whether its left half is done (then its sum is kept).
    firsts = np.empty(64, np.int64)
    counts = np.empty(64, np.int64)
    stage = np.zeros(64, np.int64)
    lefts = np.empty(64)
    depth = 0
    firsts[0] = 0
    counts[0] = count
    result = 0.0
    while depth >= 0:
        first, size = firsts[depth], counts[depth]
        if size <= 128:
            result = _block_sum(values, first, size)
            depth -= 1
        else:
            half = size // 2
            half -= half % 8
            if stage[depth] == 0:  # do the left half first
                stage[depth] = 1
                firsts[depth + 1], counts[depth + 1], stage[depth + 1] = first, half, 0
                depth += 1
                continue
            if stage[depth] == 1:  # the left half's sum is in result: now the right half
                stage[depth] = 2
                lefts[depth] = result
                firsts[depth + 1], counts[depth + 1] = first + half, size - half
                stage[depth + 1] = 0
                depth += 1
                continue
            result = lefts[depth] + result  # both halves done
            depth -= 1
    return 0.0 + result


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
