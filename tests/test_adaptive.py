"""Tests of adaptive precision: ``sim run SCENARIO --precision REL [--max-replications N]``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import Cli

from sim.model import build_model, load_scenario
from sim.runner.adaptive import (
    DEFAULT_MAX_FACTOR,
    MAX_GROWTH,
    MIN_GROWTH,
    OutcomePrecision,
    assess,
    main_outcomes,
    next_total,
    parse_precision,
    run_to_precision,
)

ROOT = Path(__file__).resolve().parents[1]
#: What --precision judges by default for the standoff model (declared by its presentation).
STANDOFF_MAIN_OUTCOMES = (
    "carrier_cost_eur",
    "release_day",
    "trucks_held",
    "trucks_retrieved",
    "detention_days_mean",
    "fees_paid_eur",
    "belarus_gain_eur",
)
BASELINE = ROOT / "scenarios" / "baseline.yaml"
TINY = ROOT / "tests" / "models" / "tiny.yaml"


def read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


@pytest.mark.slow
def test_converged_run_equals_the_fixed_run_bit_for_bit(cli: Cli, tmp_path: Path) -> None:
    status, _, err = cli(
        "run", BASELINE, "-n", 40, "--precision", "8%", "--workers", 2,
        "--out", tmp_path / "adaptive", "--quiet",
    )  # fmt: skip
    assert status == 0, err
    adaptive = tmp_path / "adaptive" / "baseline"
    precision = read_json(adaptive / "manifest.json")["precision"]
    n = precision["replications"]
    assert precision["reached"] is True
    assert precision["target"] == 0.08
    assert precision["batches"][0] == 40 and precision["batches"][-1] == n
    assert len(precision["batches"]) >= 2  # 40 replications are not enough for 8%
    assert precision["batches"] == sorted(set(precision["batches"]))
    assert set(precision["outcomes"]) == set(STANDOFF_MAIN_OUTCOMES)
    assert f"precision 8% reached after {n:,} replications (batches: " in err

    status, _, err = cli(
        "run", BASELINE, "-n", n, "--workers", 1, "--out", tmp_path / "fixed", "--quiet"
    )
    assert status == 0, err
    fixed = tmp_path / "fixed" / "baseline"
    for name in ("runs.parquet", "timeseries.parquet", "summary.json", "scenario.resolved.yaml"):
        assert (adaptive / name).read_bytes() == (fixed / name).read_bytes(), name
    resolved = yaml.safe_load((adaptive / "scenario.resolved.yaml").read_text())
    assert resolved["replications"] == n  # re-running the resolved file reproduces the folder
    assert "precision" not in read_json(fixed / "manifest.json")


def test_large_target_converges_at_the_first_batch(cli: Cli, tmp_path: Path) -> None:
    status, _, err = cli(
        "run", BASELINE, "-n", 30, "--precision", 0.9, "--out", tmp_path, "--quiet"
    )
    assert status == 0, err
    precision = read_json(tmp_path / "baseline" / "manifest.json")["precision"]
    assert precision["reached"] is True
    assert precision["batches"] == [30] and precision["replications"] == 30
    assert precision["max_replications"] == DEFAULT_MAX_FACTOR * 30
    assert "precision 90% reached after 30 replications (batches: 30)" in err
    assert read_json(tmp_path / "baseline" / "summary.json")["replications"] == 30


def test_tiny_target_stops_at_the_maximum_and_says_so(cli: Cli, tmp_path: Path) -> None:
    status, _, err = cli(
        "run", BASELINE, "-n", 20, "--precision", "0.01%", "--max-replications", 70,
        "--out", tmp_path, "--quiet",
    )  # fmt: skip
    assert status == 0, err
    folder = tmp_path / "baseline"
    precision = read_json(folder / "manifest.json")["precision"]
    assert precision["reached"] is False
    assert precision["replications"] == 70 and precision["batches"][-1] == 70
    assert precision["max_replications"] == 70
    assert "precision 0.01% not reached after 70 replications: worst outcome " in err
    worst = max(
        (v["relative_half_width"], name)
        for name, v in precision["outcomes"].items()
        if v["relative_half_width"] is not None
    )
    assert f"worst outcome {worst[1]} at " in err
    assert read_json(folder / "summary.json")["replications"] == 70

    # The reported relative half-widths are those of summary.json's ci95.
    metrics = read_json(folder / "summary.json")["metrics"]
    for name, entry in precision["outcomes"].items():
        low, high = metrics[name]["ci95"]
        mean = metrics[name]["mean"]
        assert entry["mean"] == mean
        assert entry["n"] == metrics[name]["n"]
        assert entry["half_width"] == pytest.approx((high - low) / 2, rel=1e-12)
        assert entry["relative_half_width"] == pytest.approx((high - low) / 2 / abs(mean))
        assert entry["converged"] is False


def test_user_model_judges_all_outputs_and_chosen_outcomes(cli: Cli, tmp_path: Path) -> None:
    status, _, err = cli(
        "run", TINY, "-n", 10, "--precision", 0.2, "--max-replications", 2000,
        "--workers", 1, "--out", tmp_path, "--quiet",
    )  # fmt: skip
    assert status == 0, err
    precision = read_json(tmp_path / "tiny" / "manifest.json")["precision"]
    assert set(precision["outcomes"]) == {"total", "noisy"}
    assert precision["reached"] is True

    status, _, err = cli(
        "run", TINY, "-n", 10, "--precision", 0.2, "--precision-outcomes", "total",
        "--workers", 1, "--out", tmp_path / "one", "--quiet",
    )  # fmt: skip
    assert status == 0, err
    only_total = read_json(tmp_path / "one" / "tiny" / "manifest.json")["precision"]
    assert set(only_total["outcomes"]) == {"total"}
    # total = a + 2 with a ~ U(0, 1) needs fewer replications than a*b + noise.
    assert only_total["replications"] < precision["replications"]


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["--precision", "0"], "--precision"),
        (["--precision", "abc"], "--precision"),
        (["--precision", "1.5"], "--precision"),
        (["--precision", "200%"], "--precision"),
        (["--max-replications", "50"], "--max-replications"),
        (["--precision-outcomes", "carrier_cost_eur"], "--precision-outcomes"),
        (["--precision", "0.1", "--precision-outcomes", "nope"], "--precision-outcomes"),
        (["--precision", "0.1", "--precision-outcomes", "release_channel"], "--precision-outcomes"),
        (["--precision", "0.1", "--max-replications", "0"], "--max-replications"),
    ],
)
def test_bad_precision_arguments_are_bad_input(
    cli: Cli, tmp_path: Path, argv: list[str], flag: str
) -> None:
    status, out, err = cli("run", BASELINE, "-n", 5, "--out", tmp_path, "--quiet", *argv)
    assert status == 2
    assert f"<command line>:1:1: {flag}: " in err
    assert "Traceback" not in err
    assert not (tmp_path / "baseline").exists()


def test_parse_precision() -> None:
    assert parse_precision("0.02") == 0.02
    assert parse_precision("2%") == pytest.approx(0.02)
    assert parse_precision(" 0.5 % ") == pytest.approx(0.005)
    assert parse_precision("1") == 1.0


def test_main_outcomes() -> None:
    scenario, _ = load_scenario(BASELINE, [])
    model = build_model(scenario, BASELINE.parent)
    assert main_outcomes(model) == list(STANDOFF_MAIN_OUTCOMES)
    assert main_outcomes(model, "release_day, trucks_held,release_day") == [
        "release_day",
        "trucks_held",
    ]


def test_assess_rules() -> None:
    # Zero spread converges whatever the mean, 0 included.
    assert assess(np.zeros(5), "zero", 0.01).converged
    assert assess(np.full(5, 3.0), "three", 0.01).relative_half_width == 0
    # A mean of 0 with a spread never reaches a relative target.
    zero_mean = assess(np.array([-1.0, 1.0, -1.0, 1.0]), "z", 0.5)
    assert not zero_mean.converged and zero_mean.relative_half_width is None
    assert zero_mean.ratio(0.5) == math.inf
    # Nulls (NaN) are left out; no value at all counts as converged, a single one does not.
    assert assess(np.full(4, np.nan), "none", 0.01).converged
    single = assess(np.array([np.nan, 2.0, np.nan]), "one", 0.01)
    assert single.n == 1 and not single.converged
    values = np.array([1.0, 2.0, np.nan, 3.0, 4.0])
    result = assess(values, "v", 0.5)
    kept = values[~np.isnan(values)]
    half = 3.182446305284263 * kept.std(ddof=1) / 2  # t(0.975, 3) * s / sqrt(4)
    assert result.n == 4 and result.half_width == pytest.approx(half)
    assert result.relative_half_width == pytest.approx(half / 2.5)
    assert not result.converged  # 82% > 50%
    assert assess(values, "v", 0.9).converged


def test_next_total_grows_geometrically_within_bounds() -> None:
    def precision(relative: float | None, converged: bool = False) -> OutcomePrecision:
        return OutcomePrecision("x", 100, 1.0, relative, relative, converged)

    # Needs (4%/2%)^2 = 4x, with a 10% margin: capped at MAX_GROWTH.
    assert next_total(100, [precision(0.04)], 0.02, 10_000) == 100 * MAX_GROWTH
    # Nearly there: at least MIN_GROWTH.
    assert next_total(100, [precision(0.021)], 0.02, 10_000) == 100 * MIN_GROWTH
    # In between: n x 1.1 x ratio^2; the worst outcome decides.
    expected = math.ceil(100 * 1.1 * (0.03 / 0.02) ** 2)
    assert next_total(100, [precision(0.01, True), precision(0.03)], 0.02, 10_000) == expected
    # Unknown precision: the largest step; never beyond the cap.
    assert next_total(100, [precision(None)], 0.02, 10_000) == 100 * MAX_GROWTH
    assert next_total(100, [precision(0.04)], 0.02, 150) == 150
    assert next_total(1, [precision(None)], 0.02, 10) == 4


def test_run_to_precision_api_reuses_the_runner(tmp_path: Path) -> None:
    scenario, _ = load_scenario(TINY, [])
    model = build_model(scenario, TINY.parent)
    result = run_to_precision(model, seed=3, precision=0.001, first=8, workers=1, progress=False)
    assert result.max_replications == DEFAULT_MAX_FACTOR * 8
    assert not result.reached and result.replications == 160
    table = result.output.table
    assert table.column("replication").to_pylist() == list(range(160))
    assert result.batches[0] == 8 and result.batches[-1] == 160
