"""Results: summary statistics, daily bands, the terminal table and the atomic run folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

import sim
from sim import files as files_module
from sim.model.interface import OutcomeSpec
from sim.results import (
    format_summary_table,
    make_manifest,
    series_bands,
    summarize,
    write_run_folder,
)

SPECS = [
    OutcomeSpec("cost_eur", "float", "carrier cost", unit="EUR"),
    OutcomeSpec("held", "int", "trucks held", unit="trucks"),
    OutcomeSpec("channel", "category", "release channel", categories=("gov", "us", "none")),
    OutcomeSpec("release_day", "float", "release day", unit="days", nullable=True),
    OutcomeSpec("only_one", "int", "one value", nullable=True),
    OutcomeSpec("never", "float", "never set", nullable=True),
]

COST = [1_250_000.5, 2_000_000.0, 3_250_000.25, 10_000_000.0, 400_000.0]
HELD = [1, 2, 2, 3, 7]
CHANNEL = ["gov", "gov", "us", "gov", "us"]
RELEASE = [None, 10.0, None, 20.5, 40.0]
ONLY_ONE = [None, None, 5, None, None]


def _table() -> pa.Table:
    return pa.table(
        {
            "replication": pa.array(range(5), pa.int64()),
            "seed": pa.array([42] * 5, pa.int64()),
            "cost_eur": pa.array(COST, pa.float64()),
            "held": pa.array(HELD, pa.int64()),
            "channel": pa.array(CHANNEL, pa.string()),
            "release_day": pa.array(RELEASE, pa.float64()),
            "only_one": pa.array(ONLY_ONE, pa.int64()),
            "never": pa.array([None] * 5, pa.float64()),
        }
    )


def _expected(values: list[float]) -> dict[str, float]:
    data = np.array(values, dtype=np.float64)
    n = data.size
    mean = np.mean(data)
    std = np.std(data, ddof=1)
    lo, hi = stats.t.interval(0.95, n - 1, loc=mean, scale=std / math.sqrt(n))
    p05, p25, p50, p75, p95 = np.quantile(data, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "mean": mean, "std": std, "lo": lo, "hi": hi, "p05": p05, "p25": p25, "p50": p50,
        "p75": p75, "p95": p95, "min": data.min(), "max": data.max(), "n": n,
    }  # fmt: skip


@pytest.fixture(scope="module")
def summary() -> dict:
    return summarize(_table(), SPECS, scenario="baseline", seed=42)


def test_summary_shape(summary: dict) -> None:
    assert summary["scenario"] == "baseline"
    assert summary["replications"] == 5
    assert summary["seed"] == 42
    assert list(summary["metrics"]) == ["cost_eur", "held", "release_day", "only_one", "never"]
    assert list(summary["categories"]) == ["channel"]
    json.dumps(summary, allow_nan=False)  # plain JSON: no NaN, no numpy types


@pytest.mark.parametrize(
    ("name", "values"),
    [("cost_eur", COST), ("held", HELD), ("release_day", [10.0, 20.5, 40.0])],
)
def test_numeric_metrics_match_numpy_and_scipy(summary: dict, name: str, values: list) -> None:
    metric = summary["metrics"][name]
    expected = _expected(values)
    for key in ("mean", "std", "p05", "p25", "p50", "p75", "p95", "min", "max", "n"):
        assert metric[key] == expected[key], key
    assert metric["ci95"] == [
        pytest.approx(expected["lo"], rel=1e-12),
        pytest.approx(expected["hi"], rel=1e-12),
    ]


def test_int_outcome_min_max_are_ints(summary: dict) -> None:
    assert summary["metrics"]["held"]["min"] == 1 and isinstance(
        summary["metrics"]["held"]["min"], int
    )
    assert summary["metrics"]["held"]["max"] == 7


def test_nullable_outcomes(summary: dict) -> None:
    release = summary["metrics"]["release_day"]
    assert release["n"] == 3 and release["null_share"] == 0.4
    assert "null_share" not in summary["metrics"]["cost_eur"]
    one = summary["metrics"]["only_one"]
    assert one["n"] == 1 and one["mean"] == 5.0 and one["p95"] == 5.0 and one["min"] == 5
    assert one["std"] is None and one["ci95"] == [None, None]
    assert one["null_share"] == 0.8
    never = summary["metrics"]["never"]
    assert never["n"] == 0 and never["null_share"] == 1.0 and never["ci95"] == [None, None]
    assert all(never[key] is None for key in ("mean", "std", "p05", "p50", "min", "max"))


def test_category_shares(summary: dict) -> None:
    assert summary["categories"]["channel"] == {"gov": 0.6, "us": 0.4, "none": 0.0}
    assert sum(summary["categories"]["channel"].values()) == pytest.approx(1.0)


def test_constant_values_give_a_zero_width_interval() -> None:
    table = pa.table({"v": pa.array([3.0, 3.0, 3.0])})
    metric = summarize(table, [OutcomeSpec("v", "float", "v")], scenario="s", seed=1)
    assert metric["metrics"]["v"]["std"] == 0.0
    assert metric["metrics"]["v"]["ci95"] == [3.0, 3.0]


def test_series_bands_match_numpy_quantile() -> None:
    rng = np.random.default_rng(5)
    series = {"queue": rng.normal(size=(40, 11)), "held": rng.poisson(3.0, size=(40, 6))}
    bands = series_bands(series)
    assert bands.column_names == ["day", "series", "mean", "p05", "p25", "p50", "p75", "p95"]
    assert bands.schema.field("day").type == pa.int64()
    assert bands.schema.field("series").type == pa.string()
    assert all(bands.schema.field(c).type == pa.float64() for c in bands.column_names[2:])
    assert bands.num_rows == 11 + 6
    frame = bands.to_pandas()
    for name, data in series.items():
        part = frame[frame["series"] == name]
        assert part["day"].tolist() == list(range(data.shape[1]))
        np.testing.assert_array_equal(part["mean"], data.mean(axis=0))
        for key, q in (("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95)):
            np.testing.assert_array_equal(part[key], np.quantile(data, q, axis=0))


def test_series_bands_without_series() -> None:
    bands = series_bands({})
    assert bands.num_rows == 0 and bands.column_names[:2] == ["day", "series"]


def test_format_summary_table(summary: dict) -> None:
    text = format_summary_table(summary, SPECS)
    assert "baseline" in text and "5 replications" in text and "seed 42" in text
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("outcome"))
    for column in ("mean", "95% CI", "p05", "p50", "p95", "unit"):
        assert column in header
    cost = next(line for line in lines if line.startswith("cost_eur"))
    assert "3,380,000" in cost and "EUR" in cost  # mean 3,380,000.15 with separators
    release = next(line for line in lines if line.startswith("release_day"))
    assert "(40% null)" in release and "23.5" in release and "days" in release
    assert "gov" in text and "60.0%" in text and "0.0%" in text
    never = next(line for line in lines if line.startswith("never"))
    assert never.split()[1] == "(100%"  # label, then "-" for every number
    end = header.index("mean") + len("mean")  # numbers are right-aligned under their header
    for line in (cost, release, never):
        assert line[end - 1] != " " and line[end] == " "


def _files() -> dict:
    return {
        "runs.parquet": _table(),
        "summary.json": {"scenario": "baseline", "value": np.float64(1.5), "n": np.int64(3)},
        "scenario.resolved.yaml": "name: baseline\n",
        "raw.bin": b"\x00\x01",
        "plots/one.txt": "nested",
    }


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_write_run_folder(tmp_path: Path) -> None:
    final = tmp_path / "results" / "baseline"
    assert write_run_folder(final, _files()) == final
    assert sorted(p.name for p in final.iterdir()) == [
        "plots", "raw.bin", "runs.parquet", "scenario.resolved.yaml", "summary.json",
    ]  # fmt: skip
    frame = pd.read_parquet(final / "runs.parquet")
    assert len(frame) == 5 and frame["held"].tolist() == HELD
    assert pq.read_metadata(final / "runs.parquet").row_group(0).column(0).compression in (
        "ZSTD",
        "SNAPPY",
    )
    assert json.loads((final / "summary.json").read_text()) == {
        "scenario": "baseline",
        "value": 1.5,
        "n": 3,
    }
    assert (final / "summary.json").read_text().startswith("{\n  ")
    assert (final / "scenario.resolved.yaml").read_text() == "name: baseline\n"
    assert (final / "raw.bin").read_bytes() == b"\x00\x01"
    assert (final / "plots" / "one.txt").read_text() == "nested"
    assert _leftovers(final.parent) == []


def test_write_run_folder_replaces_an_existing_folder(tmp_path: Path) -> None:
    final = tmp_path / "baseline"
    final.mkdir()
    (final / "manifest.json").write_text("old")  # sim's own file (a user's would be refused)
    write_run_folder(final, {"summary.json": "new"})
    assert [p.name for p in final.iterdir()] == ["summary.json"]
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("existing", [False, True])
def test_failure_midway_leaves_nothing_behind(tmp_path: Path, existing: bool) -> None:
    final = tmp_path / "baseline"
    if existing:
        final.mkdir()
        (final / "summary.json").write_text("complete")
    files = {"a.txt": "written first", "bad.json": {"value": object()}, "c.txt": "never"}
    with pytest.raises(TypeError):
        write_run_folder(final, files)
    assert _leftovers(tmp_path) == []
    if existing:
        assert [p.name for p in final.iterdir()] == ["summary.json"]
    else:
        assert not final.exists()


def test_unsupported_value_and_nan_are_errors(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="not bytes, str"):
        write_run_folder(tmp_path / "x", {"a.txt": "ok", "b": 3})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        write_run_folder(tmp_path / "x", {"s.json": {"v": float("nan")}})
    with pytest.raises(ValueError, match="relative path"):
        write_run_folder(tmp_path / "x", {"../escape.txt": "no"})
    assert list(tmp_path.iterdir()) == []


def test_keyboard_interrupt_midway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    final = tmp_path / "baseline"
    final.mkdir()
    (final / "summary.json").write_text("complete")

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files_module.pq, "write_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_run_folder(final, {"summary.json": {"a": 1}, "runs.parquet": _table()})
    assert _leftovers(tmp_path) == []
    assert [p.name for p in final.iterdir()] == ["summary.json"]


def test_make_manifest() -> None:
    manifest = make_manifest(["sim", "run", "baseline.yaml"], 12.5, 4, "local")
    assert manifest["engine_version"] == sim.__version__
    assert manifest["command"] == ["sim", "run", "baseline.yaml"]
    assert manifest["workers"] == 4 and manifest["executor"] == "local"
    assert manifest["elapsed_seconds"] == 12.5
    assert manifest["python_version"].count(".") == 2 and manifest["host"]
    start = pd.Timestamp(manifest["started_utc"])
    end = pd.Timestamp(manifest["finished_utc"])
    assert manifest["finished_utc"].endswith("Z")
    assert (end - start).total_seconds() == pytest.approx(12.5)
    json.dumps(manifest, allow_nan=False)
