"""Sweeps through user models (``model: module:attribute``): analytic sensitivity indices,
failure isolation, and the replication-noise report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main

MODELS = Path(__file__).resolve().parent / "models"
PI = math.pi


def sweep(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(body)
    return path


def run(tmp_path: Path, body: str, name: str) -> Path:
    assert (
        main(["sweep", str(sweep(tmp_path, body)), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    )
    return tmp_path / "out" / name


def test_sobol_indices_of_the_ishigami_function(tmp_path: Path) -> None:
    """Saltelli sampling with N = 1024 (5,120 points) recovers the analytic indices within
    SALib's own regression tolerances (atol 0.05, rtol 0.1); the CIs cover them."""
    folder = run(
        tmp_path,
        f"""\
name: ishigami-sobol
base: {MODELS / "ishigami.yaml"}
method: sobol
samples: 1024
replications: 1
seed: 11
parameters:
  parameters.x1: {{low: {-PI}, high: {PI}}}
  parameters.x2: {{low: {-PI}, high: {PI}}}
  parameters.x3: {{low: {-PI}, high: {PI}}}
""",
        "ishigami-sobol",
    )
    indices = json.loads((folder / "sensitivity.json").read_text())["y"]
    keys = ["parameters.x1", "parameters.x2", "parameters.x3"]
    # Analytic values for a = 7, b = 0.1 (Ishigami & Homma 1990; Saltelli et al. 2008).
    s1 = [0.3139, 0.4424, 0.0]
    st = [0.5576, 0.4424, 0.2437]
    np.testing.assert_allclose([indices["S1"][k] for k in keys], s1, atol=0.05, rtol=0.1)
    np.testing.assert_allclose([indices["ST"][k] for k in keys], st, atol=0.05, rtol=0.1)
    for key, expected in zip(keys, st, strict=True):
        half = indices["ST_conf"][key]
        assert 0 < half < 0.1 and abs(indices["ST"][key] - expected) < 2 * half + 0.02
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["points"] == 1024 * 5 and summary["failed_runs"] == 0


def test_morris_elementary_effects_of_a_linear_model(tmp_path: Path) -> None:
    """total = a + b: every elementary effect of a over its range [0, 4] is exactly 4 and of
    b over [1, 2] exactly 1 (effects are per whole range), so mu_star = 4 and 1, sigma = 0."""
    folder = run(
        tmp_path,
        f"""\
name: tiny-morris
base: {MODELS / "tiny.yaml"}
method: morris
samples: 20
replications: 2
outputs: [total]
parameters:
  parameters.a: {{low: 0, high: 4}}
  parameters.b: {{low: 1, high: 2}}
""",
        "tiny-morris",
    )
    indices = json.loads((folder / "sensitivity.json").read_text())["total"]
    assert indices["mu_star"]["parameters.a"] == pytest.approx(4.0)
    assert indices["mu_star"]["parameters.b"] == pytest.approx(1.0)
    assert indices["sigma"]["parameters.a"] == pytest.approx(0.0, abs=1e-9)
    assert indices["replication_noise"]["noise_share"] == 0.0


def test_failed_runs_are_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    (tmp_path / "fragile.yaml").write_text(
        f"name: fragile\nmodel: tiny:fails_when_high\nmodel_dir: {MODELS}\n"
        "parameters: {u: 0.1, threshold: 0.5}\noutputs: [y]\n"
    )
    folder = run(
        tmp_path,
        """\
name: failing
base: fragile.yaml
method: grid
replications: 3
parameters:
  parameters.u: {values: [0.1, 0.5, 0.9]}
  parameters.threshold: {values: [0.3, 0.7]}
""",
        "failing",
    )
    runs = pd.read_parquet(folder / "runs.parquet")
    summary = json.loads((folder / "summary.json").read_text())
    failing = runs["parameters.u"] > runs["parameters.threshold"]
    # u > threshold at (0.5, 0.3), (0.9, 0.3), (0.9, 0.7): 3 points x 3 replications.
    assert failing.sum() == 9 and summary["failed_runs"] == 9
    assert (runs.loc[failing, "error"].str.startswith("ValueError: u = ")).all()
    assert runs.loc[failing, "y"].isna().all()
    assert runs.loc[~failing, "error"].isna().all()
    np.testing.assert_allclose(runs.loc[~failing, "y"], runs.loc[~failing, "parameters.u"])
    points = pd.read_parquet(folder / "points.parquet")
    assert points.set_index("point")["failed"].tolist() == [0, 0, 3, 0, 3, 3]


def test_replication_noise_report(tmp_path: Path) -> None:
    """The report is the mean within-point variance over replications, against the variance
    of the point means, recomputed here from runs.parquet."""
    folder = run(
        tmp_path,
        f"""\
name: noisy
base: {MODELS / "noisy-ishigami.yaml"}
method: lhs
samples: 40
replications: 5
parameters:
  parameters.x1: {{low: {-PI}, high: {PI}}}
  parameters.x2: {{low: {-PI}, high: {PI}}}
""",
        "noisy",
    )
    runs = pd.read_parquet(folder / "runs.parquet")
    noise = json.loads((folder / "summary.json").read_text())["replication_noise"]["y"]
    grouped = runs.groupby("point")["y"]
    assert noise["noise_variance"] == pytest.approx(grouped.var(ddof=1).mean() / 5)
    assert noise["variance_of_means"] == pytest.approx(grouped.mean().var(ddof=1))
    assert noise["noise_share"] == pytest.approx(
        noise["noise_variance"] / noise["variance_of_means"]
    )
