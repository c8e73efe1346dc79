"""Sensitivity indices of a sweep (SALib), and how much replication noise is in them.

Indices are computed from the mean over replications of each design point. That mean is the
model's expected output plus Monte Carlo noise whose variance is (within-point variance) /
replications. The noise adds variance that no parameter explains, so it inflates total-order
indices, shrinks first-order ones and widens their confidence intervals. ``replication_noise``
reports, per output, the share of the variance of the point means that noise accounts for:
below a few percent the indices can be read as they are; above ~10% add replications.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.sweeps.design import Design, design_rng
from sim.sweeps.spec import SweepSpec


def replication_noise(
    means: np.ndarray, within_variance: np.ndarray, replications: int
) -> dict[str, float | None]:
    """Noise variance of a point mean against the variance of the point means."""
    ok = ~np.isnan(means) & ~np.isnan(within_variance)
    if ok.sum() < 2:
        return {"noise_variance": None, "variance_of_means": None, "noise_share": None}
    noise = float(np.mean(within_variance[ok])) / replications
    total = float(np.var(means[ok], ddof=1))
    share = min(1.0, noise / total) if total > 0 else (None if noise == 0 else 1.0)
    return {"noise_variance": noise, "variance_of_means": total, "noise_share": share}


def _named(keys: list[str], values: Any) -> dict[str, float | None]:
    out = {}
    for key, value in zip(keys, np.asarray(values, dtype=float), strict=True):
        out[key] = None if np.isnan(value) else float(value)
    return out


def analyze(
    spec: SweepSpec,
    design: Design,
    means: dict[str, np.ndarray],
    within_variance: dict[str, np.ndarray],
) -> dict[str, Any]:
    """sensitivity.json: Sobol (S1, ST with CIs) or Morris (mu_star with CI, sigma) per output."""
    keys = design.keys
    result: dict[str, Any] = {}
    for output, y in means.items():
        noise = replication_noise(y, within_variance[output], spec.replications)
        if np.isnan(y).any():
            missing = int(np.isnan(y).sum())
            result[output] = {
                "error": f"{missing} design point(s) have no successful run: no indices",
                "replication_noise": noise,
            }
            continue
        if float(np.ptp(y)) == 0.0:
            result[output] = {
                "error": "the output does not vary across the design: no indices",
                "replication_noise": noise,
            }
            continue
        rng = design_rng(spec.seed, f"analysis/{output}")
        if spec.method == "sobol":
            from SALib.analyze import sobol

            si = sobol.analyze(
                design.problem,
                y,
                calc_second_order=spec.second_order,
                num_resamples=spec.resamples,
                conf_level=spec.confidence,
                seed=rng,
            )
            entry: dict[str, Any] = {
                "S1": _named(keys, si["S1"]),
                "S1_conf": _named(keys, si["S1_conf"]),
                "ST": _named(keys, si["ST"]),
                "ST_conf": _named(keys, si["ST_conf"]),
            }
            if spec.second_order:
                entry["S2"] = {
                    f"{a} x {b}": float(si["S2"][i, j])
                    for i, a in enumerate(keys)
                    for j, b in enumerate(keys)
                    if j > i
                }
        else:
            from SALib.analyze import morris

            si = morris.analyze(
                design.problem,
                design.unit_matrix,
                y,
                num_resamples=spec.resamples,
                conf_level=spec.confidence,
                num_levels=spec.levels,
                seed=rng,
            )
            entry = {
                "mu_star": _named(keys, si["mu_star"]),
                "mu_star_conf": _named(keys, si["mu_star_conf"]),
                "sigma": _named(keys, si["sigma"]),
                "mu": _named(keys, si["mu"]),
            }
        entry["replication_noise"] = noise
        result[output] = entry
    return result
