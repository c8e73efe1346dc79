"""Design points of a sweep: grid, list, Latin hypercube, Saltelli (Sobol) and Morris.

Latin hypercubes come from ``scipy.stats.qmc``; Saltelli and Morris samples from SALib. Every
design is drawn from a generator spawned from the sweep's seed (never SALib's or numpy's global
state), so the same sweep file always gives the same points.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.seeding import stream_key
from sim.sweeps.spec import Range, SweepSpec, Values


def design_rng(seed: int, purpose: str) -> np.random.Generator:
    """A generator for one purpose (``design``, ``analysis``) spawned from the sweep's seed."""
    sequence = np.random.SeedSequence(seed, spawn_key=(2**32 + stream_key(purpose),))
    return np.random.Generator(np.random.PCG64(sequence))


@dataclass
class Design:
    """The points of a sweep: ``columns[key][point]`` is the value of ``key`` at ``point``."""

    keys: list[str]
    columns: dict[str, list[Any]]
    problem: dict[str, Any] | None = None  # SALib's problem (sobol, morris)
    unit_matrix: np.ndarray | None = field(default=None, repr=False)  # SALib's X (morris)

    @property
    def points(self) -> int:
        return len(self.columns[self.keys[0]]) if self.keys else 0

    def values(self, point: int) -> dict[str, Any]:
        """The key -> value mapping of one point."""
        return {key: self.columns[key][point] for key in self.keys}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _scaled(unit: np.ndarray, ranges: list[Range]) -> dict[int, list[Any]]:
    """Map a matrix of uniforms in [0, 1) to the ranges (integers evenly over [low, high])."""
    out: dict[int, list[Any]] = {}
    for j, r in enumerate(ranges):
        u = unit[:, j]
        if r.integer:
            low, high = int(np.ceil(r.low)), int(np.floor(r.high))
            values = np.minimum(low + np.floor(u * (high - low + 1)), high).astype(np.int64)
        else:
            values = r.low + u * (r.high - r.low)
        out[j] = [_plain(v) for v in values]
    return out


def build_design(spec: SweepSpec) -> Design:
    """All design points of ``spec``, in a fixed order."""
    keys = list(spec.parameters)
    params = list(spec.parameters.values())
    if spec.method in ("grid", "list"):
        lists = [p.values for p in params if isinstance(p, Values)]
        rows = itertools.product(*lists) if spec.method == "grid" else zip(*lists, strict=True)
        table = list(rows)
        return Design(keys, {k: [row[j] for row in table] for j, k in enumerate(keys)})

    ranges = [p for p in params if isinstance(p, Range)]
    rng = design_rng(spec.seed, "design")
    samples = spec.samples or 1
    if spec.method == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(keys), rng=rng).random(samples)
        scaled = _scaled(unit, ranges)
        return Design(keys, {k: scaled[j] for j, k in enumerate(keys)})

    # SALib works on [0, 1] bounds here; we scale (and round integers) ourselves.
    problem = {"num_vars": len(keys), "names": keys, "bounds": [[0.0, 1.0]] * len(keys)}
    if spec.method == "sobol":
        from SALib.sample import sobol

        unit = sobol.sample(problem, samples, calc_second_order=spec.second_order, seed=rng)
    else:
        from SALib.sample import morris

        unit = morris.sample(problem, samples, num_levels=spec.levels, seed=rng)
    # Morris's grid reaches 1.0 exactly; keep integers inside [low, high].
    scaled = _scaled(np.clip(unit, 0.0, np.nextafter(1.0, 0.0)), ranges)
    return Design(keys, {k: scaled[j] for j, k in enumerate(keys)}, problem, unit)
