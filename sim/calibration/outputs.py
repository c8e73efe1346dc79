"""The calibration folder: the posterior, the populations, the fit's figures and a scenario
that runs from the posterior.

- ``posterior.parquet``: one row per particle of every population (``population``,
  ``particle``, ``weight``, a column per key path);
- ``populations.parquet``: per population its tolerance (the multiple of the observation
  errors' sd of its acceptance kernel; inf for the prior), acceptance rate, effective sample
  size, proposals, runs and failed runs;
- ``predictive.parquet``: the model's value of each target in a fresh run at each particle of
  the last population (with its weight): the posterior-predictive distribution;
- ``calibration.json``: per parameter the prior and the posterior mean, sd and 5/50/95%
  quantiles; per target the posterior-predictive mean and 90% interval (the model's value at a
  posterior particle plus the observation's Gaussian error) and whether the observation lies in
  it, and the observation's quantile in it (held-out targets marked);
- ``posterior.yaml``: a scenario that extends the base and draws the calibrated parameters
  jointly from ``posterior.parquet`` (``parameters_from``);
- ``calibration.yaml``, ``base.resolved.yaml``, ``manifest.json``: provenance.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sim.calibration.abc_smc import effective_sample_size, weighted_quantile
from sim.calibration.run import PROPOSAL_KEY, Calibration

#: Posterior-predictive draws of the observation error per particle.
ERROR_DRAWS = 20


def posterior_table(result: Calibration) -> pa.Table:
    keys = list(result.loaded.spec.priors())
    columns: dict[str, list[Any]] = {"population": [], "particle": [], "weight": []}
    columns.update({key: [] for key in keys})
    for population in result.populations:
        n = len(population.theta)
        columns["population"].extend([population.index] * n)
        columns["particle"].extend(range(n))
        columns["weight"].extend(population.weights.tolist())
        for column, key in enumerate(keys):
            columns[key].extend(population.theta[:, column].tolist())
    types = {"population": pa.int64(), "particle": pa.int64()}
    return pa.table(
        {
            name: pa.array(values, type=types.get(name, pa.float64()))
            for name, values in columns.items()
        }
    )


def predictive_table(result: Calibration) -> pa.Table:
    """``predictive.parquet``: each particle of the last population, its weight and the
    model's value of each target in a fresh run at it (NaN where the run gave none)."""
    final = result.populations[-1]
    columns: dict[str, pa.Array] = {
        "particle": pa.array(range(len(final.theta)), type=pa.int64()),
        "weight": pa.array(final.weights, type=pa.float64()),
    }
    for column, name in enumerate(result.loaded.spec.targets):
        columns[name] = pa.array(result.predictive[:, column], type=pa.float64())
    return pa.table(columns)


def populations_table(result: Calibration) -> pa.Table:
    rows = result.populations
    return pa.table(
        {
            "population": pa.array([p.index for p in rows], type=pa.int64()),
            "tolerance": pa.array([p.tolerance for p in rows], type=pa.float64()),
            "acceptance_rate": pa.array([p.acceptance_rate for p in rows], type=pa.float64()),
            "ess": pa.array([effective_sample_size(p.weights) for p in rows], type=pa.float64()),
            "proposals": pa.array([p.proposals for p in rows], type=pa.int64()),
            "runs": pa.array([p.runs for p in rows], type=pa.int64()),
            "failed": pa.array([p.failed for p in rows], type=pa.int64()),
        }
    )


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _stats(values: np.ndarray, weights: np.ndarray) -> dict[str, float | None]:
    mean = float(weights @ values)
    sd = math.sqrt(max(0.0, float(weights @ (values - mean) ** 2)))
    q05, q50, q95 = weighted_quantile(values, weights, np.array([0.05, 0.5, 0.95]))
    return {"mean": mean, "sd": sd, "p05": float(q05), "p50": float(q50), "p95": float(q95)}


def calibration_summary(result: Calibration) -> dict[str, Any]:
    """The figures of ``calibration.json``."""
    spec = result.loaded.spec
    final = result.populations[-1]
    weights = final.weights / final.weights.sum()
    parameters = {}
    for column, (key, prior) in enumerate(spec.priors().items()):
        entry: dict[str, Any] = {"prior": prior.to_data()}
        q05, q50, q95 = (float(prior.ppf(q)) for q in (0.05, 0.5, 0.95))
        entry["prior_summary"] = {
            "mean": _number(prior.mean()),
            "sd": _number(prior.std()),
            "p05": q05,
            "p50": q50,
            "p95": q95,
        }
        entry.update(_stats(final.theta[:, column], weights))
        prior_width, post_width = q95 - q05, entry["p95"] - entry["p05"]
        entry["width_ratio"] = post_width / prior_width if prior_width > 0 else None
        parameters[key] = entry
    rng = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(spec.seed, spawn_key=(PROPOSAL_KEY, 1 << 20)))
    )
    targets = {}
    for column, (name, target) in enumerate(spec.targets.items()):
        simulated = result.predictive[:, column]
        ok = np.isfinite(simulated)
        entry = {
            "observed": target.observed,
            "sd": target.sd,
            "holdout": name in spec.holdout,
            "runs": int(ok.sum()),
        }
        if target.series is not None:
            entry.update(series=target.series, day=target.day)
        else:
            entry["outcome"] = target.outcome or name
        if ok.any():
            w = weights[ok] / weights[ok].sum()
            model = _stats(simulated[ok], w)
            noisy = (
                simulated[ok][:, None]
                + target.sd * rng.standard_normal((int(ok.sum()), ERROR_DRAWS))
            ).ravel()
            noisy_w = np.repeat(w / ERROR_DRAWS, ERROR_DRAWS)
            lo, hi = weighted_quantile(noisy, noisy_w, np.array([0.05, 0.95]))
            below = float(noisy_w[noisy <= target.observed].sum())
            entry.update(
                predictive_mean=model["mean"],
                observed_quantile=below,
                predictive_p05=float(lo),
                predictive_p95=float(hi),
                model_p05=model["p05"],
                model_p95=model["p95"],
                inside_90=bool(lo <= target.observed <= hi),
            )
        else:
            entry.update(predictive_mean=None, predictive_p05=None, predictive_p95=None)
            entry["inside_90"] = None
        targets[name] = entry
    return {
        "calibration": spec.name,
        "method": "abc-smc (Toni et al. 2009; stochastic Gaussian kernel, Wilkinson 2013)",
        "base": spec.base,
        "seed": spec.seed,
        "particles": spec.particles,
        "populations": len(result.populations),
        "final_tolerance": _number(final.tolerance),
        "reached_target": result.reached_target,
        "stopped_because": result.stopped_because,
        "effective_sample_size": effective_sample_size(weights),
        "runs": result.runs,
        "failed_runs": result.failed,
        "parameters": parameters,
        "targets": targets,
        "holdout": list(spec.holdout),
    }


def posterior_scenario(result: Calibration, final_dir: Path) -> str:
    """``posterior.yaml``: the base, extended, with its calibrated keys from the posterior."""
    spec = result.loaded.spec
    # The base by its absolute path (as model_dir): the folder can be moved or copied anywhere
    # on this machine and posterior.yaml still finds its base.
    extends = str(Path(result.loaded.base_path).resolve())
    model_dir = getattr(result.loaded.base_scenario, "model_dir", None)
    # A user model's module is found next to the file that names it, not next to this one.
    model_line = f"model_dir: {model_dir}\n" if model_dir else ""
    keys = "\n".join(f"#   {key}" for key in spec.priors())
    return (
        f"# The scenario {spec.base} with the parameters calibrated by {spec.name} drawn jointly\n"
        "# from its posterior: each replication runs one particle of the last population,\n"
        "# picked by weight, so the parameters' correlations are kept. Calibrated keys:\n"
        f"{keys}\n"
        f"name: {spec.name}-posterior\n"
        f"extends: {extends}\n"
        f"{model_line}"
        "parameters_from: {file: posterior.parquet, weights: weight, population: last}\n"
    )


def write_calibration_folder(result: Calibration, final_dir: Path, command: list[str]) -> Path:
    """Write ``final_dir`` atomically with every file of a calibration folder."""
    from sim.files import write_folder
    from sim.results import make_manifest
    from sim.scenario import dump_yaml

    loaded = result.loaded
    files: dict[str, Any] = {
        "posterior.parquet": posterior_table(result),
        "populations.parquet": populations_table(result),
        "predictive.parquet": predictive_table(result),
        "calibration.json": calibration_summary(result),
        "posterior.yaml": posterior_scenario(result, final_dir),
        "calibration.yaml": Path(loaded.document.path).read_text(encoding="utf-8"),
        "base.resolved.yaml": dump_yaml(
            loaded.base_scenario.model_dump(mode="json", by_alias=True),
            header=f"The base scenario of calibration {loaded.spec.name}, every default filled in.",
        ),
        "manifest.json": make_manifest(
            command, result.elapsed_seconds, result.workers, result.executor
        ),
    }
    return write_folder(final_dir, files)


def format_calibration(summary: dict[str, Any]) -> str:
    """The terminal summary: each parameter's posterior against its prior, each target's check."""
    lines = [
        f"Calibration {summary['calibration']}: {summary['populations']} populations, "
        f"{summary['runs']:,} runs ({summary['failed_runs']:,} failed); "
        f"{summary['stopped_because']}"
    ]
    lines.append("  parameter: posterior mean [5%, 95%] (prior [5%, 95%])")
    for key, entry in summary["parameters"].items():
        prior = entry["prior_summary"]
        lines.append(
            f"  {key}: {entry['mean']:.4g} [{entry['p05']:.4g}, {entry['p95']:.4g}] "
            f"(prior [{prior['p05']:.4g}, {prior['p95']:.4g}])"
        )
    lines.append("  target: observed, posterior-predictive 90% interval")
    for name, entry in summary["targets"].items():
        mark = " (held out)" if entry["holdout"] else ""
        if entry["predictive_p05"] is None:
            lines.append(f"  {name}{mark}: {entry['observed']:g}, no successful run")
            continue
        verdict = "inside" if entry["inside_90"] else "OUTSIDE"
        lines.append(
            f"  {name}{mark}: {entry['observed']:g}, [{entry['predictive_p05']:.4g}, "
            f"{entry['predictive_p95']:.4g}] {verdict}"
        )
    return "\n".join(lines)
