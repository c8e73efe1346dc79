"""The report page of a calibration folder.

Its provenance; per parameter the prior and the posterior (table and marginal densities); a
pair plot of the posterior; each target's posterior-predictive distribution with the
observation (held-out targets marked); the tolerance, acceptance rate and effective sample
size per population.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from sim.fmt import DASH
from sim.reporting import plots
from sim.reporting.data import command, when
from sim.reporting.page import Page, code, details, join, meta, note, table

#: Parameters shown in the pair plot (the first ones of the calibration).
MAX_PAIR_PARAMETERS = 6


def _read(folder: Path) -> dict[str, Any]:
    from sim.files import read_json, read_table

    data: dict[str, Any] = {
        "summary": read_json(folder / "calibration.json"),
        "posterior": read_table(folder / "posterior.parquet").to_pydict(),
        "populations": read_table(folder / "populations.parquet").to_pydict(),
    }
    predictive = folder / "predictive.parquet"
    data["predictive"] = read_table(predictive).to_pydict() if predictive.is_file() else None
    manifest = folder / "manifest.json"
    data["manifest"] = read_json(manifest) if manifest.is_file() else {}
    for name in ("calibration.yaml", "posterior.yaml"):
        path = folder / name
        data[name] = path.read_text(encoding="utf-8") if path.is_file() else ""
    return data


def _number(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    return f"{value:.{digits}g}"


def calibration_page(folder: Path) -> Page:
    """The page of the calibration folder ``folder``."""
    data = _read(folder)
    summary = data["summary"]
    page = Page(
        f"Calibration {summary.get('calibration', folder.name)}",
        str(summary.get("stopped_because", "")),
        "sim report \u00b7 abc-smc",
    )
    page.section("provenance", "Calibration and provenance", provenance(folder, data))
    page.section("parameters", "Parameters: prior and posterior", parameters(page, data))
    page.section("pairs", "The posterior, in pairs", pairs(page, data))
    page.section("targets", "Targets: posterior-predictive checks", targets(page, data))
    page.section("populations", "Populations", populations(page, data))
    return page


def provenance(folder: Path, data: dict[str, Any]) -> Markup:
    summary, manifest = data["summary"], data["manifest"]
    rows: list[tuple[str, Any]] = [
        ("Calibration", code(summary.get("calibration", folder.name))),
        ("Method", str(summary.get("method", DASH))),
        ("Base scenario", code(summary.get("base", "?"))),
        ("Seed", str(summary.get("seed", DASH))),
        (
            "Particles",
            f"{summary.get('particles')} per population, {summary.get('populations')} "
            f"populations, {summary.get('runs', 0):,} runs ({summary.get('failed_runs', 0):,} "
            "failed)",
        ),
        ("Reached the observation error", "yes" if summary.get("reached_target") else "no"),
        ("Engine version", f"sim {manifest.get('engine_version') or DASH}"),
        ("Date", when(manifest.get("finished_utc"))),
        ("Command", code(command(manifest))),
        ("Folder", code(folder.resolve())),
    ]
    return (
        meta(rows)
        + details("calibration.yaml", data["calibration.yaml"])
        + details("posterior.yaml", data["posterior.yaml"])
    )


def _last(data: dict[str, Any]) -> tuple[list[str], np.ndarray, np.ndarray]:
    posterior = data["posterior"]
    population = np.asarray(posterior["population"])
    last = population == population.max()
    keys = [k for k in posterior if k not in ("population", "particle", "weight")]
    theta = np.column_stack([np.asarray(posterior[k], dtype=float)[last] for k in keys])
    weights = np.asarray(posterior["weight"], dtype=float)[last]
    return keys, theta, weights / weights.sum()


@plots.styled
def marginals_chart(
    keys: list[str], theta: np.ndarray, weights: np.ndarray, priors: list[Any]
) -> bytes:
    """Per parameter: the prior density (line) and the posterior's weighted histogram."""
    columns = min(3, len(keys))
    rows = math.ceil(len(keys) / columns)
    figure = plots.new_figure(3.2 * columns, 2.4 * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for index, key in enumerate(keys):
        ax = axes[index]
        values = theta[:, index]
        prior = priors[index]
        lo, hi = float(prior.ppf(0.005)), float(prior.ppf(0.995))
        lo, hi = min(lo, values.min()), max(hi, values.max())
        ax.hist(
            values,
            bins=30,
            range=(lo, hi),
            weights=weights,
            density=True,
            alpha=0.6,
            color=plots.BLUE,
            label="posterior",
        )
        grid = np.linspace(lo, hi, 200)
        ax.plot(grid, prior.frozen().pdf(grid), color=plots.ORANGE, label="prior")
        ax.set_title(plots.key_label(key, 36), fontsize=9)
        ax.yaxis.set_visible(False)
        if index == 0:
            ax.legend(loc="upper right")
    for ax in axes[len(keys) :]:
        ax.set_visible(False)
    return plots.to_png(figure)


@plots.styled
def pairs_chart(keys: list[str], theta: np.ndarray, weights: np.ndarray) -> bytes:
    """The last population's particles, pair by pair (marker area by weight)."""
    k = len(keys)
    figure = plots.new_figure(2.2 * k, 2.2 * k)
    axes = figure.subplots(k, k, squeeze=False)
    size = 4 + 60 * weights / weights.max()
    for row in range(k):
        for column in range(k):
            ax = axes[row, column]
            if row == column:
                ax.hist(theta[:, row], bins=25, weights=weights, color=plots.BLUE, alpha=0.7)
                ax.yaxis.set_visible(False)
            elif row > column:
                ax.scatter(
                    theta[:, column],
                    theta[:, row],
                    s=size,
                    alpha=0.3,
                    color=plots.BLUE,
                    linewidths=0,
                )
            else:
                ax.set_visible(False)
                continue
            if row == k - 1:
                ax.set_xlabel(plots.key_label(keys[column], 28), fontsize=7)
            if column == 0 and row > 0:
                ax.set_ylabel(plots.key_label(keys[row], 28), fontsize=7)
    return plots.to_png(figure)


@plots.styled
def predictive_chart(
    names: list[str], values: dict[str, np.ndarray], weights: np.ndarray, entries: dict[str, Any]
) -> bytes:
    """Per target: the model's values at the posterior particles (weighted histogram), the
    observation (line) and its ±sd band; held-out targets marked in their title."""
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure = plots.new_figure(3.2 * columns, 2.4 * rows)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for index, name in enumerate(names):
        ax = axes[index]
        entry = entries[name]
        v = values[name]
        ok = np.isfinite(v)
        if ok.any():
            ax.hist(v[ok], bins=30, weights=weights[ok], color=plots.GREY, alpha=0.7)
        observed, sd = entry["observed"], entry["sd"]
        colour = plots.RED if entry.get("holdout") else plots.GREEN
        ax.axvspan(observed - sd, observed + sd, color=colour, alpha=0.15)
        ax.axvline(observed, color=colour, linewidth=1.5)
        ax.set_title(name + (" (held out)" if entry.get("holdout") else ""), fontsize=9)
        ax.yaxis.set_visible(False)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    return plots.to_png(figure)


@plots.styled
def tolerance_chart(populations: dict[str, list[Any]]) -> bytes:
    """Tolerance (log scale) and acceptance rate per population."""
    figure = plots.new_figure(6.4, 2.4)
    left, right = figure.subplots(1, 2)
    index = np.asarray(populations["population"])
    tolerance = np.asarray(populations["tolerance"], dtype=float)
    finite = np.isfinite(tolerance)
    left.plot(index[finite], tolerance[finite], marker="o", color=plots.BLUE)
    left.set_yscale("log")
    left.axhline(1.0, color=plots.GREY, linestyle="--", linewidth=1)
    left.set_title("Tolerance (x observation sd)")
    left.set_xlabel("population")
    right.plot(index, populations["acceptance_rate"], marker="o", color=plots.ORANGE)
    right.set_title("Acceptance rate")
    right.set_xlabel("population")
    return plots.to_png(figure)


def parameters(page: Page, data: dict[str, Any]) -> Markup:
    from sim.scenario.distributions import to_dist

    summary = data["summary"]
    keys, theta, weights = _last(data)
    entries = summary["parameters"]
    rows = []
    for key in keys:
        e = entries[key]
        p = e["prior_summary"]
        rows.append(
            [
                code(key),
                to_dist(e["prior"]).describe(),
                f"{_number(p['p05'])} \u2013 {_number(p['p95'])}",
                _number(e["mean"]),
                _number(e["sd"]),
                f"{_number(e['p05'])} \u2013 {_number(e['p95'])}",
                _number(e.get("width_ratio"), 2),
            ]
        )
    header = [
        "key path",
        "prior",
        "prior 90%",
        "posterior mean",
        "sd",
        "posterior 90%",
        "width ratio",
    ]
    priors = [to_dist(entries[key]["prior"]) for key in keys]
    figure = page.figure(
        "marginals.png",
        marginals_chart(keys, theta, weights, priors),
        "Prior densities and posterior histograms of each parameter",
        "Prior (line) and posterior (bars, the last population weighted).",
    )
    return join(
        [
            table(header, rows, numeric=[2, 3, 4, 5, 6]),
            note(
                "Width ratio: the posterior's 90% interval over the prior's. Near 1: the "
                "data say little about the parameter; well below 1: they pin it down."
            ),
            figure,
        ]
    )


def pairs(page: Page, data: dict[str, Any]) -> Markup:
    keys, theta, weights = _last(data)
    shown = keys[:MAX_PAIR_PARAMETERS]
    return page.figure(
        "pairs.png",
        pairs_chart(shown, theta[:, : len(shown)], weights),
        "Pair plot of the posterior particles",
        "The last population: marginals on the diagonal, particles (area by weight) below it.",
    )


def targets(page: Page, data: dict[str, Any]) -> Markup:
    summary = data["summary"]
    entries = summary["targets"]
    rows = []
    for name, e in entries.items():
        inside = e.get("inside_90")
        rows.append(
            [
                name + (" (held out)" if e.get("holdout") else ""),
                _number(e["observed"]),
                _number(e["sd"]),
                _number(e.get("predictive_mean")),
                f"{_number(e.get('predictive_p05'))} \u2013 {_number(e.get('predictive_p95'))}",
                DASH if inside is None else ("yes" if inside else "no"),
                _number(e.get("observed_quantile"), 2),
            ]
        )
    header = [
        "target",
        "observed",
        "sd",
        "predictive mean",
        "predictive 90%",
        "inside",
        "quantile of observation",
    ]
    parts = [table(header, rows, numeric=[1, 2, 3, 4, 6])]
    predictive = data["predictive"]
    if predictive is not None:
        names = list(entries)
        weights = np.asarray(predictive["weight"], dtype=float)
        values = {n: np.asarray(predictive[n], dtype=float) for n in names}
        parts.append(
            page.figure(
                "predictive.png",
                predictive_chart(names, values, weights / weights.sum(), entries),
                "Posterior-predictive distribution of each target with its observation",
                "The model's value in a fresh run at each posterior particle (bars); the "
                "observation and its \u00b1sd (green; red: held out of the fit).",
            )
        )
    return join(parts)


def populations(page: Page, data: dict[str, Any]) -> Markup:
    pops = data["populations"]
    rows = []
    for i in range(len(pops["population"])):
        rows.append(
            [
                str(pops["population"][i]),
                _number(pops["tolerance"][i]),
                _number(pops["acceptance_rate"][i], 3),
                _number(pops["ess"][i], 4),
                f"{pops['proposals'][i]:,}",
                f"{pops['runs'][i]:,}",
                f"{pops['failed'][i]:,}",
            ]
        )
    header = ["population", "tolerance", "acceptance rate", "ESS", "proposals", "runs", "failed"]
    return join(
        [
            table(header, rows, numeric=[0, 1, 2, 3, 4, 5, 6]),
            page.figure(
                "tolerance.png",
                tolerance_chart(pops),
                "Tolerance and acceptance rate per population",
            ),
        ]
    )
