"""Tests of ``sim compare DIR_A DIR_B``: paired (same seed) and unpaired comparisons.

Real runs of the baseline and of the no-US-mediation what-if show the gain from common random
numbers; small hand-made run folders check every number against scipy computed here.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import Cli
from scipy import stats

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
REPLICATIONS = 300
SEED = 20251029
INTERFACE_KEYS = {"mean_a", "mean_b", "diff", "ci95", "p_value"}


def strict_json(text: str) -> dict[str, Any]:
    """Parse JSON, refusing NaN and infinities."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the JSON")

    data = json.loads(text, parse_constant=refuse)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """baseline and no-us-mediation with the same seed, and no-us-mediation with another."""
    out = tmp_path_factory.mktemp("runs")
    folders = {}
    for key, scenario, seed in (
        ("baseline", "baseline.yaml", SEED),
        ("no_us", "no-us-mediation.yaml", SEED),
        ("no_us_other_seed", "no-us-mediation.yaml", 7),
    ):
        target = out / key
        status = main(
            [
                "run",
                str(SCENARIOS / scenario),
                "-n",
                str(REPLICATIONS),
                "--seed",
                str(seed),
                "--out",
                str(target),
                "--quiet",
            ]
        )
        assert status == 0
        (folder,) = [path for path in target.iterdir() if path.is_dir()]
        folders[key] = folder
    return folders


def compare_json(cli: Cli, *argv: object) -> dict[str, Any]:
    status, out, err = cli("compare", *argv, "--format", "json")
    assert status == 0, err
    return strict_json(out)


def width(entry: dict[str, Any]) -> float:
    low, high = entry["ci95"]
    return float(high - low)


def test_same_seed_is_paired_and_narrower_than_unpaired(cli: Cli, runs: dict[str, Path]) -> None:
    paired = compare_json(cli, runs["baseline"], runs["no_us"])
    unpaired = compare_json(cli, runs["baseline"], runs["no_us"], "--unpaired")
    assert paired["paired"] is True
    assert unpaired["paired"] is False
    assert paired["replications"]["compared"] == REPLICATIONS
    assert paired["seed_a"] == paired["seed_b"] == SEED

    cost_p, cost_u = paired["metrics"]["carrier_cost_eur"], unpaired["metrics"]["carrier_cost_eur"]
    assert cost_p["diff"] == pytest.approx(cost_u["diff"])  # same sample, no nulls
    assert cost_p["diff"] > 0  # without the US channel, the trucks stay longer
    assert width(cost_p) < 0.7 * width(cost_u)
    print(f"carrier_cost_eur CI width: paired {width(cost_p):,.0f}, unpaired {width(cost_u):,.0f}")

    # Most outcomes that differ are estimated more tightly when paired, and none is worse
    # (those that B sets to 0, e.g. us_deals, have the same width both ways: b - a = -a).
    ratios = []
    for name, entry in paired["metrics"].items():
        other = unpaired["metrics"][name]
        if not entry["diff"] or None in entry["ci95"] or None in other["ci95"]:
            continue
        if entry.get("null_share_a") or entry.get("null_share_b"):
            continue  # paired compares both-non-null pairs: another sample
        ratios.append(width(entry) / width(other))
    assert len(ratios) >= 8
    assert max(ratios) <= 1.05
    assert sum(ratio < 0.8 for ratio in ratios) >= len(ratios) / 2

    # Common random numbers: what the US channel cannot touch is identical replication by
    # replication, so the paired difference is exactly 0; unpaired it is only "not significant".
    for name in ("trucks_in_belarus", "trucks_evacuated", "trucks_held", "closure_day", "hold_day"):
        entry = paired["metrics"][name]
        assert entry["diff"] == 0 and entry["ci95"] == [0, 0] and entry["p_value"] == 1
        assert width(unpaired["metrics"][name]) > 0


def test_json_has_the_interface_shape(cli: Cli, runs: dict[str, Path]) -> None:
    data = compare_json(cli, runs["baseline"], runs["no_us"])
    assert {"paired", "metrics", "categories"} <= set(data)
    assert data["a"]["name"] == "baseline" and data["b"]["name"] == "no-us-mediation"
    for name in ("carrier_cost_eur", "release_day", "trucks_held", "belarus_gain_eur"):
        assert name in data["metrics"]
    for name, entry in data["metrics"].items():
        assert INTERFACE_KEYS <= set(entry), name
        assert len(entry["ci95"]) == 2
        assert entry["test"] == "paired t-test"
        if entry["diff"] is not None:
            assert entry["diff"] == pytest.approx(entry["mean_b"] - entry["mean_a"], abs=1e-9)
            low, high = entry["ci95"]
            assert low <= entry["diff"] + 1e-9 * abs(entry["diff"]) + 1e-12
            assert entry["diff"] <= high + 1e-9 * abs(entry["diff"]) + 1e-12
    assert "replication" not in data["metrics"] and "seed" not in data["metrics"]

    release = data["metrics"]["release_day"]
    # No US deal: the release waits until retrievals have drained Minsk's leverage, so it comes
    # later (restricted mean time to the horizon, over every pair).
    assert release["diff"] > 0 and release["ci95"][0] > 0
    # A time to an event: compared over every pair by its restricted mean time to the horizon;
    # the former comparison, over the pairs where both runs saw the release, is events_only.
    assert release["n"] == REPLICATIONS
    assert release["diff"] == release["rmst_diff"]
    assert release["events_only"]["n"] < REPLICATIONS
    assert release["wilcoxon_p_value"] is not None

    channel = data["categories"]["release_channel"]
    assert set(channel["values"]) >= {"government", "carriers", "us", "none"}
    assert channel["values"]["us"]["share_b"] == 0
    assert channel["values"]["us"]["diff"] == -channel["values"]["us"]["share_a"]
    assert channel["p_value"] < 1e-6
    assert sum(v["share_a"] for v in channel["values"].values()) == pytest.approx(1)


def test_table_says_paired_with_units(cli: Cli, runs: dict[str, Path]) -> None:
    status, out, err = cli("compare", runs["baseline"], runs["no_us"])
    assert status == 0, err
    assert (
        f"paired on {REPLICATIONS} common replications (same seed {SEED}: common random numbers)"
        in out
    )
    header = next(line for line in out.splitlines() if line.startswith("metric"))
    for column in ("A", "B", "diff", "95% CI", "p", "unit"):
        assert column in header
    cost = next(line for line in out.splitlines() if line.startswith("carrier_cost_eur"))
    assert cost.rstrip().endswith("EUR")
    assert "release_channel" in out and "release_day (null" in out

    status, out, _ = cli("compare", runs["baseline"], runs["no_us"], "--unpaired")
    assert status == 0 and "unpaired (forced by --unpaired" in out


def test_different_seeds_are_unpaired(cli: Cli, runs: dict[str, Path]) -> None:
    data = compare_json(cli, runs["baseline"], runs["no_us_other_seed"])
    assert data["paired"] is False
    assert data["seed_b"] == 7
    entry = data["metrics"]["carrier_cost_eur"]
    assert entry["test"] == "Welch t-test" and entry["ks_p_value"] is not None
    status, out, _ = cli("compare", runs["baseline"], runs["no_us_other_seed"])
    assert status == 0 and "unpaired (different seeds)" in out


def test_self_comparison_is_exactly_zero(cli: Cli, runs: dict[str, Path]) -> None:
    data = compare_json(cli, runs["baseline"], runs["baseline"])
    assert data["paired"] is True
    for name, entry in data["metrics"].items():
        if entry["diff"] is None:
            continue
        assert entry["diff"] == 0, name
        assert entry["ci95"] == [0, 0], name
        assert entry["p_value"] == 1, name
        assert entry.get("null_share_diff", 0) == 0
    for entry in data["categories"].values():
        assert all(value["diff"] == 0 for value in entry["values"].values())
        assert entry["changed_share"] == 0


# Hand-made run folders ------------------------------------------------------------------------


def write_run(
    folder: Path, seed: int, columns: dict[str, list[Any]], name: str | None = None
) -> Path:
    """A minimal run folder: runs.parquet (replication, seed, columns) and summary.json."""
    folder.mkdir(parents=True)
    n = len(next(iter(columns.values())))
    arrays = {"replication": pa.array(range(n), pa.int64()), "seed": pa.array([seed] * n)}
    arrays.update({key: pa.array(values) for key, values in columns.items()})
    pq.write_table(pa.table(arrays), folder / "runs.parquet")
    summary = {"scenario": name or folder.name, "replications": n, "seed": seed}
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


X_A = [1.0, 2.5, 3.0, 4.5, 2.0, 6.0]
X_B = [1.5, 2.0, 4.0, 5.5, 3.5, 6.25, 9.0, 0.5]  # two more replications than A
Y_A = [10.0, None, 12.0, 15.0, None, 11.0]
Y_B = [11.0, 13.0, None, 18.0, None, 14.5, 20.0, None]
K_A = [3, 1, 4, 1, 5, 9]
K_B = [2, 7, 1, 8, 2, 8, 1, 8]
C_A = ["u", "v", "u", "w", "u", "v"]
C_B = ["v", "v", "u", "w", "w", "w", "u", "v"]
SAME = [4.0] * 6, [4.0] * 8


@pytest.fixture
def small(tmp_path: Path) -> dict[str, Path]:
    common = {"x": X_A, "y": Y_A, "k": K_A, "c": C_A, "same": SAME[0]}
    other = {"x": X_B, "y": Y_B, "k": K_B, "c": C_B, "same": SAME[1]}
    return {
        "a": write_run(tmp_path / "a", 5, common),
        "b": write_run(tmp_path / "b", 5, other),
        "b_other_seed": write_run(tmp_path / "b2", 6, other),
    }


def t_interval(d: np.ndarray) -> tuple[float, float]:
    """95% t-interval of the mean of ``d``, computed from its definition."""
    half = stats.t.ppf(0.975, d.size - 1) * np.std(d, ddof=1) / math.sqrt(d.size)
    return float(d.mean() - half), float(d.mean() + half)


def welch_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """95% Welch interval of ``mean(b) - mean(a)``, from the Welch-Satterthwaite formula."""
    va, vb = np.var(a, ddof=1) / a.size, np.var(b, ddof=1) / b.size
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    diff = b.mean() - a.mean()
    return float(diff - half), float(diff + half)


def floats(values: list[Any]) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def test_small_paired_numbers_match_scipy(cli: Cli, small: dict[str, Path]) -> None:
    data = compare_json(cli, small["a"], small["b"])
    assert data["paired"] is True
    assert data["replications"] == {"a": 6, "b": 8, "common": 6, "compared": 6}
    n = 6
    for name, a_list, b_list in (("x", X_A, X_B), ("k", K_A, K_B)):
        a, b = np.array(a_list, float), np.array(b_list[:n], float)
        entry = data["metrics"][name]
        assert entry["n"] == n
        assert entry["mean_a"] == pytest.approx(a.mean(), rel=1e-12)
        assert entry["mean_b"] == pytest.approx(b.mean(), rel=1e-12)
        assert entry["diff"] == pytest.approx(b.mean() - a.mean(), rel=1e-12)
        assert entry["ci95"] == pytest.approx(t_interval(b - a), rel=1e-10)
        assert entry["p_value"] == pytest.approx(stats.ttest_rel(b, a).pvalue, rel=1e-10)
        assert entry["wilcoxon_p_value"] == pytest.approx(stats.wilcoxon(b - a).pvalue, rel=1e-10)
    assert data["metrics"]["k"]["kind"] == "int"

    # Nullable: the pairs where both are non-null (replications 0 and 3, 5).
    y_a, y_b = floats(Y_A), floats(Y_B[:n])
    both = ~np.isnan(y_a) & ~np.isnan(y_b)
    entry = data["metrics"]["y"]
    assert entry["n"] == 3
    assert entry["ci95"] == pytest.approx(t_interval(y_b[both] - y_a[both]), rel=1e-10)
    assert entry["p_value"] == pytest.approx(stats.ttest_rel(y_b[both], y_a[both]).pvalue)
    assert entry["null_share_a"] == pytest.approx(2 / 6)
    assert entry["null_share_b"] == pytest.approx(2 / 6)
    assert entry["null_share_diff"] == pytest.approx(0)
    # McNemar on the discordant replications: 1 (null in A only), 1 (null in B only).
    assert entry["null_share_p_value"] == pytest.approx(stats.binomtest(1, 2).pvalue)

    # Constant in both: diff 0, CI [0, 0], p 1, no Wilcoxon (every difference is 0).
    same = data["metrics"]["same"]
    assert same["diff"] == 0 and same["ci95"] == [0, 0] and same["p_value"] == 1
    assert same["wilcoxon_p_value"] is None

    category = data["categories"]["c"]
    counts = np.array([[3, 2, 1], [1, 2, 3]])  # u, v, w over the common replications
    assert category["p_value"] == pytest.approx(stats.chi2_contingency(counts).pvalue)
    assert category["values"]["u"] == {"share_a": 0.5, "share_b": 1 / 6, "diff": 1 / 6 - 0.5}
    assert category["changed_share"] == pytest.approx(3 / 6)


def test_small_unpaired_numbers_match_scipy(cli: Cli, small: dict[str, Path]) -> None:
    for data in (
        compare_json(cli, small["a"], small["b_other_seed"]),
        compare_json(cli, small["a"], small["b"], "--unpaired"),
    ):
        assert data["paired"] is False
        for name, a_list, b_list in (("x", X_A, X_B), ("k", K_A, K_B), ("y", Y_A, Y_B)):
            a, b = floats(a_list), floats(b_list)
            a, b = a[~np.isnan(a)], b[~np.isnan(b)]
            entry = data["metrics"][name]
            assert (entry["n_a"], entry["n_b"]) == (a.size, b.size)
            assert entry["diff"] == pytest.approx(b.mean() - a.mean(), rel=1e-12)
            assert entry["ci95"] == pytest.approx(welch_interval(a, b), rel=1e-10)
            welch = stats.ttest_ind(b, a, equal_var=False)
            assert entry["p_value"] == pytest.approx(welch.pvalue, rel=1e-10)
            assert entry["ks_p_value"] == pytest.approx(stats.ks_2samp(a, b).pvalue, rel=1e-10)
        y = data["metrics"]["y"]
        assert (y["null_share_a"], y["null_share_b"]) == (pytest.approx(2 / 6), 3 / 8)
        nulls = np.array([[2, 4], [3, 5]])
        assert y["null_share_p_value"] == pytest.approx(stats.chi2_contingency(nulls).pvalue)
        same = data["metrics"]["same"]
        assert same["diff"] == 0 and same["ci95"] == [0, 0] and same["p_value"] == 1
        counts = np.array([[3, 2, 1], [2, 3, 3]])
        assert data["categories"]["c"]["p_value"] == pytest.approx(
            stats.chi2_contingency(counts).pvalue
        )


def test_outcomes_in_one_run_only_are_listed(cli: Cli, tmp_path: Path) -> None:
    a = write_run(tmp_path / "a", 1, {"x": [1.0, 2.0, 3.0], "only_a": [1, 2, 3]})
    b = write_run(tmp_path / "b", 1, {"x": [1.0, 2.0, 4.0], "only_b": ["p", "q", "p"]})
    data = compare_json(cli, a, b)
    assert list(data["metrics"]) == ["x"]
    assert data["only_in_a"] == ["only_a"] and data["only_in_b"] == ["only_b"]


# Bad input -------------------------------------------------------------------------------------


def test_bad_folders_are_bad_input(cli: Cli, tmp_path: Path) -> None:
    good = write_run(tmp_path / "good", 1, {"x": [1.0, 2.0]})
    empty = tmp_path / "empty"
    empty.mkdir()
    a_file = tmp_path / "file.txt"
    a_file.write_text("hello")
    no_summary = tmp_path / "no_summary"
    no_summary.mkdir()
    pq.write_table(pa.table({"replication": [0], "x": [1.0]}), no_summary / "runs.parquet")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "runs.parquet").write_text("not parquet")
    (corrupt / "summary.json").write_text("{}")
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    pq.write_table(pa.table({"point": [0], "x": [1.0]}), sweep / "design.parquet")
    (sweep / "runs.parquet").write_bytes((good / "runs.parquet").read_bytes())
    (sweep / "summary.json").write_text("{}")

    cases = [
        (tmp_path / "missing", "no such run folder"),
        (empty, "runs.parquet is missing"),
        (a_file, "is a file"),
        (no_summary, "summary.json is missing"),
        (corrupt, "cannot read runs.parquet"),
        (sweep, "is a sweep folder"),
    ]
    for path, message in cases:
        for argv in (("compare", good, path), ("compare", path, good)):
            status, out, err = cli(*argv)
            assert status == 2, (path, err)
            assert out == ""
            assert "Traceback" not in err
            line = err.strip()
            assert message in line
            assert line.split(":1:1: ")[0] in (str(path), str(path / "runs.parquet"))
            label = "DIR_B" if argv[2] == path else "DIR_A"
            assert f":1:1: {label}: " in line

    # Both problems at once.
    status, _, err = cli("compare", tmp_path / "missing", empty)
    assert status == 2 and len(err.strip().splitlines()) == 2


def test_bad_input_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "sim", "compare", str(tmp_path / "nope"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 2
    assert "Traceback" not in process.stderr
    assert f"{tmp_path / 'nope'}:1:1: DIR_A: no such run folder" in process.stderr
