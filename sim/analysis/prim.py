"""PRIM, the Patient Rule Induction Method (Friedman and Fisher 1999), on numpy: the peeling and
pasting trajectory of one box, for scenario discovery (:mod:`sim.analysis.discover`).

**Data.** ``x`` maps each parameter to one value per observation (a dict of arrays, or anything
with ``keys()`` and ``[key]``, such as a pandas DataFrame); ``y`` says which observations are
cases of interest (booleans, or 0 and 1). A parameter is *numeric* when its values are integers
or floats, *categorical* when they are booleans or text.

**The box** holds, for a numeric parameter, a range ``[lo, hi]`` (bounds included) and, for a
categorical one, the values it keeps. It starts as the whole data: every observation's range
and every value seen. Its statistics: *coverage* (the share of all cases of interest in the
box), *density* (the share of the box's observations that are cases) and *mass* (the share of
all observations in the box).

**Peeling.** At each step, every parameter offers candidate boxes that remove about a share
``peel_alpha`` of the observations in the box: a numeric parameter from its high side and from
its low side (the values beyond the ``peel_alpha`` quantile of the values in the box, the one at
index ``(n - 1) * peel_alpha`` rounded down, so at least one; with tied values, every
observation at the cut goes), a categorical one by dropping one whole value (each value it keeps
is a candidate). Among the candidates that keep the mass at least ``min_support``, PRIM takes
the one whose density gains the most per observation removed (Friedman and Fisher's criterion
for peels of unequal size); when every candidate removes as many observations (numeric peels
without ties), that is simply the candidate of largest density. Ties go to the larger mass, then
to fewer restricted parameters, then to the first parameter (in the order of ``x``) and its high
side. Peeling stops when no such candidate raises the density.

**Pasting.** Then, for each restricted parameter, a candidate box adds back observations from
just outside one of its numeric bounds: of those outside that bound but inside the box on every
other parameter, the ``paste_alpha`` share nearest to it (at least one); or one of the values a
categorical parameter dropped. The candidate whose density gains the most per observation added
is taken (same ties) while it raises the density.

**Bounds.** A numeric bound moved by a peel or paste sits halfway between the last value kept
and the first value left out when the parameter holds floats (the best guess of the edge between
two observations), and on the last value kept when it holds integers (so integer bounds stay
integers). A bound pasted back past the last observation outside it returns to the data's range.

On parameters that hold floats this gives the same trajectory, step for step and bound for
bound, as the ``prim`` package (1.0.0) that :mod:`sim.analysis.discover` used before. It
differs where that package (a) chose the best candidate first and stopped if it fell below
``min_support`` (here such candidates are left out and peeling goes on with the others), (b)
peeled integers by a truncated quantile (fewer observations from the low side than the high
one), (c) put a bound pasted past the last observation on that observation rather than back on
the data's range, and (d) pasted integer bounds to half-integers.

Every step of the trajectory is a :class:`Step` (step 0 is the whole data). The computation is a
plain loop (no recursion) and deterministic: no random draw, ties broken as above, the criteria
compared as exact fractions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import numpy as np

#: How a parameter is peeled: by quantile ("integer" and "float", which differ only in where a
#: bound is placed) or by whole values ("categorical").
Kind = Literal["float", "integer", "categorical"]


@dataclass(frozen=True)
class Step:
    """One box of the trajectory and its statistics.

    ``limits`` maps every parameter to ``[lo, hi]`` (numeric) or the sorted list of the values
    kept (categorical); ``restricted`` names the parameters whose limits differ from step 0's,
    in the order of ``x``; ``phase`` is "start" for step 0, else "peel" or "paste".
    """

    step: int
    phase: Literal["start", "peel", "paste"]
    limits: dict[str, list[Any]]
    coverage: float
    density: float
    mass: float
    cases_in_box: int
    n_in_box: int
    restricted: tuple[str, ...]


@dataclass
class _Dimension:
    """One parameter: its values (numeric) or value codes (categorical), and its full range."""

    key: str
    kind: Kind
    values: np.ndarray  # numeric values, or int codes into `categories`
    categories: list[Any]  # the sorted values of a categorical parameter, else []
    full: tuple[Any, Any]  # (min, max) of a numeric parameter; unused for categorical ones


@dataclass
class _Box:
    """The box being peeled or pasted: numeric bounds or kept category codes, per parameter."""

    bounds: dict[str, tuple[Any, Any]]
    kept: dict[str, frozenset[int]]


@dataclass(frozen=True)
class _Candidate:
    box: _Box
    inside: np.ndarray  # bool mask of the observations in the candidate box


def _python(value: Any) -> Any:
    """A numpy scalar as the plain Python value (JSON-ready)."""
    return value.item() if isinstance(value, np.generic) else value


def _sort_key(value: Any) -> tuple[str, Any]:
    return (str(type(value)), value)


def _dimension(key: str, column: Any) -> _Dimension:
    values = np.asarray(column)
    if values.ndim != 1:
        raise ValueError(f"parameter {key!r}: expected one value per observation")
    if values.dtype.kind in "iu":
        return _Dimension(
            key, "integer", values, [], (_python(values.min()), _python(values.max()))
        )
    if values.dtype.kind == "f":
        if np.isnan(values).any():
            raise ValueError(f"parameter {key!r} has missing values (NaN)")
        return _Dimension(key, "float", values, [], (_python(values.min()), _python(values.max())))
    if values.dtype.kind in "bOUS":
        items = [_python(v) for v in values.tolist()]
        if any(v is None for v in items):
            raise ValueError(f"parameter {key!r} has missing values (None)")
        categories = sorted(set(items), key=_sort_key)
        index = {value: code for code, value in enumerate(categories)}
        codes = np.fromiter((index[v] for v in items), dtype=np.int64, count=len(items))
        return _Dimension(key, "categorical", codes, categories, (None, None))
    raise ValueError(f"parameter {key!r}: cannot use values of type {values.dtype}")


def _within(dimension: _Dimension, box: _Box) -> np.ndarray:
    """Which observations lie within the box on this one parameter."""
    if dimension.kind == "categorical":
        kept = np.fromiter(sorted(box.kept[dimension.key]), dtype=np.int64)
        return np.isin(dimension.values, kept)
    lo, hi = box.bounds[dimension.key]
    return (dimension.values >= lo) & (dimension.values <= hi)


def _between(kept: Any, left_out: Any, kind: Kind) -> Any:
    """A bound that keeps ``kept`` and leaves out ``left_out`` (a neighbouring value): halfway
    for floats (unless rounding puts the midpoint on one of them), the kept value for integers."""
    if kind == "integer":
        return _python(kept)
    middle = (float(kept) + float(left_out)) / 2
    low, high = sorted((float(kept), float(left_out)))
    return middle if low < middle < high else float(kept)


def _count(share: float, n: int) -> int:
    """How many of ``n`` sorted values lie up to their ``share`` quantile: those up to index
    ``(n - 1) * share`` rounded down (numpy's default quantile), so at least one. (A hair of
    tolerance keeps 0.29 * 100 at 29 in floating point.)"""
    return math.floor((n - 1) * share + 1e-9) + 1


def _peels(dimension: _Dimension, box: _Box, inside: np.ndarray, alpha: float) -> list[_Box]:
    """The boxes that peel one side (numeric) or one value (categorical) of this parameter."""
    key = dimension.key
    values = dimension.values[inside]
    boxes: list[_Box] = []
    if dimension.kind == "categorical":
        present = set(np.unique(values).tolist())
        if len(present) < 2:
            return []
        for code in sorted(box.kept[key]):
            if code in present:
                boxes.append(_Box(dict(box.bounds), {**box.kept, key: box.kept[key] - {code}}))
        return boxes
    k = _count(alpha, values.size)
    if values.size <= k:
        return []
    lo, hi = box.bounds[key]
    # High side: the k largest and every value tied with the k-th largest.
    cut = np.partition(values, values.size - k)[values.size - k]
    rest = values[values < cut]
    if rest.size:
        bound = _between(rest.max(), cut, dimension.kind)
        boxes.append(_Box({**box.bounds, key: (lo, bound)}, dict(box.kept)))
    # Low side: leave out the k smallest values and every value tied with the k-th.
    cut = np.partition(values, k - 1)[k - 1]
    rest = values[values > cut]
    if rest.size:
        bound = _between(rest.min(), cut, dimension.kind)
        boxes.append(_Box({**box.bounds, key: (bound, hi)}, dict(box.kept)))
    return boxes


def _pastes(dimension: _Dimension, box: _Box, others: np.ndarray, alpha: float) -> list[_Box]:
    """The boxes that paste back onto one side (numeric) or one value (categorical) of this
    parameter; ``others`` marks the observations inside the box on every other parameter."""
    key = dimension.key
    boxes: list[_Box] = []
    if dimension.kind == "categorical":
        dropped = set(range(len(dimension.categories))) - box.kept[key]
        for code in sorted(dropped):
            if np.any(others & (dimension.values == code)):
                boxes.append(_Box(dict(box.bounds), {**box.kept, key: box.kept[key] | {code}}))
        return boxes
    lo, hi = box.bounds[key]
    full_lo, full_hi = dimension.full
    below = dimension.values[others & (dimension.values < lo)]
    if below.size:
        k = _count(alpha, below.size)
        if below.size <= k:
            bound = full_lo
        else:
            cut = np.partition(below, below.size - k)[below.size - k]  # k-th nearest below
            further = below[below < cut]
            bound = _between(cut, further.max(), dimension.kind) if further.size else full_lo
        boxes.append(_Box({**box.bounds, key: (bound, hi)}, dict(box.kept)))
    above = dimension.values[others & (dimension.values > hi)]
    if above.size:
        k = _count(alpha, above.size)
        if above.size <= k:
            bound = full_hi
        else:
            cut = np.partition(above, k - 1)[k - 1]  # k-th nearest above
            further = above[above > cut]
            bound = _between(cut, further.min(), dimension.kind) if further.size else full_hi
        boxes.append(_Box({**box.bounds, key: (lo, bound)}, dict(box.kept)))
    return boxes


def _limits(dimensions: Sequence[_Dimension], box: _Box) -> dict[str, list[Any]]:
    limits: dict[str, list[Any]] = {}
    for dimension in dimensions:
        if dimension.kind == "categorical":
            limits[dimension.key] = [
                dimension.categories[c] for c in sorted(box.kept[dimension.key])
            ]
        else:
            lo, hi = box.bounds[dimension.key]
            limits[dimension.key] = [_python(lo), _python(hi)]
    return limits


def peel_and_paste(
    x: Mapping[str, Any],
    y: Any,
    *,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    min_support: float = 0.05,
) -> list[Step]:
    """PRIM's trajectory for one box (see the module's docstring): step 0 is the whole data,
    then one step per peel, then one per paste.

    Raises :class:`ValueError` for unusable input: no parameter or observation, columns of
    different lengths, missing parameter values, ``y`` not boolean, settings out of range.
    """
    if not 0 < peel_alpha < 1:
        raise ValueError(f"peel_alpha must lie in (0, 1), got {peel_alpha}")
    if not 0 < paste_alpha < 1:
        raise ValueError(f"paste_alpha must lie in (0, 1), got {paste_alpha}")
    if not 0 < min_support <= 1:
        raise ValueError(f"min_support must lie in (0, 1], got {min_support}")
    cases = np.asarray(y)
    if cases.ndim != 1 or cases.size == 0:
        raise ValueError("y must hold one value per observation, and at least one")
    if cases.dtype.kind != "b":
        if not np.isin(cases, (0, 1)).all():
            raise ValueError("y must be boolean (or 0 and 1): True for a case of interest")
        cases = cases.astype(bool)
    keys = [str(key) for key in x.keys()]
    if not keys:
        raise ValueError("x has no parameter")
    dimensions = [_dimension(key, x[key]) for key in keys]
    if any(d.values.size != cases.size for d in dimensions):
        raise ValueError(f"every parameter needs {cases.size} values, one per observation")

    n, total_cases = int(cases.size), int(cases.sum())
    start = _Box(
        {d.key: d.full for d in dimensions if d.kind != "categorical"},
        {d.key: frozenset(range(len(d.categories))) for d in dimensions if d.kind == "categorical"},
    )
    start_limits = _limits(dimensions, start)

    def step(
        index: int, phase: Literal["start", "peel", "paste"], box: _Box, inside: np.ndarray
    ) -> Step:
        n_in, hits = int(inside.sum()), int(cases[inside].sum())
        limits = _limits(dimensions, box)
        return Step(
            step=index,
            phase=phase,
            limits=limits,
            coverage=hits / total_cases if total_cases else 0.0,
            density=hits / n_in,
            mass=n_in / n,
            cases_in_box=hits,
            n_in_box=n_in,
            restricted=tuple(key for key in keys if limits[key] != start_limits[key]),
        )

    def rank(candidate: _Candidate, n_in: int, hits: int) -> tuple[Fraction, int, int]:
        """Density gained per observation removed or added, then mass, then fewer restrictions."""
        n_new = int(candidate.inside.sum())
        density_gain = Fraction(int(cases[candidate.inside].sum()), n_new) - Fraction(hits, n_in)
        restricted = sum(
            1
            for d in dimensions
            if (candidate.box.kept if d.kind == "categorical" else candidate.box.bounds)[d.key]
            != (start.kept if d.kind == "categorical" else start.bounds)[d.key]
        )
        return density_gain / abs(n_new - n_in), n_new, -restricted

    box = start
    within = {d.key: np.ones(n, dtype=bool) for d in dimensions}
    inside = np.ones(n, dtype=bool)
    trajectory = [step(0, "start", box, inside)]
    phases: tuple[Literal["peel"], Literal["paste"]] = ("peel", "paste")
    for phase in phases:
        while True:
            n_in, hits = int(inside.sum()), int(cases[inside].sum())
            candidates: list[_Candidate] = []
            for dimension in dimensions:
                others = np.ones(n, dtype=bool)
                for other in dimensions:
                    if other.key != dimension.key:
                        others &= within[other.key]
                if phase == "peel":
                    boxes = _peels(dimension, box, inside, peel_alpha)
                else:
                    boxes = _pastes(dimension, box, others, paste_alpha)
                for new in boxes:
                    mask = others & _within(dimension, new)
                    n_new = int(mask.sum())
                    if n_new == n_in or n_new == 0 or n_new < min_support * n - 1e-9:
                        continue
                    candidates.append(_Candidate(new, mask))
            best: _Candidate | None = None
            best_rank: tuple[Fraction, int, int] | None = None
            for candidate in candidates:
                candidate_rank = rank(candidate, n_in, hits)
                if best_rank is None or candidate_rank > best_rank:
                    best, best_rank = candidate, candidate_rank
            if best is None or best_rank is None or best_rank[0] <= 0:
                break
            box, inside = best.box, best.inside
            within = {d.key: _within(d, box) for d in dimensions}
            trajectory.append(step(len(trajectory), phase, box, inside))
    return trajectory
