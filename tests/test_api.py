"""The Python API (``import sim``): the same results as the command line, in memory or on disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import sim
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
BASELINE = SCENARIOS / "baseline.yaml"
TINY = ROOT / "tests" / "models" / "tiny.yaml"


def test_the_api_is_exported() -> None:
    for name in ("load", "run", "sweep", "compare", "report", "discover", "RunResult"):
        assert name in sim.__all__ and getattr(sim, name) is not None
    with pytest.raises(AttributeError):
        sim.nothing_of_that_name  # noqa: B018


def test_load_applies_overrides_and_reports_problems(tmp_path: Path) -> None:
    scenario = sim.load(BASELINE, overrides=["replications=7", "seed=3"])
    assert scenario.replications == 7 and scenario.seed == 3
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nextends: baseline.yaml\nhorizon_dayz: 3\n")
    (tmp_path / "baseline.yaml").write_text(BASELINE.read_text())
    with pytest.raises(sim.InputError) as info:
        sim.load(bad)
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.path) == (str(bad), 3, "horizon_dayz")
    assert "horizon_days" in problem.message  # the did-you-mean hint


def test_run_equals_the_folder_sim_run_writes(tmp_path: Path) -> None:
    """Table for table: runs.parquet (metadata included), summary.json, timeseries.parquet."""
    result = sim.run(BASELINE, replications=60, seed=5, workers=1)
    status = main(
        [
            "run",
            str(BASELINE),
            "-n",
            "60",
            "--seed",
            "5",
            "--workers",
            "2",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    assert status == 0
    folder = tmp_path / "baseline"
    written = pq.read_table(folder / "runs.parquet")
    assert result.runs.equals(written, check_metadata=True)
    assert result.series.equals(pq.read_table(folder / "timeseries.parquet"))
    assert result.summary == json.loads((folder / "summary.json").read_text())
    assert result.replications == 60 and result.name == "baseline"
    assert result.to_pandas()["replication"].tolist() == list(range(60))
    assert set(result.series_values) == {"held", "queueing", "carrier_cost_eur", "retrieved"}
    assert result.series_values["held"].shape[0] == 60


def test_save_and_open_round_trip(tmp_path: Path) -> None:
    result = sim.run(BASELINE, replications=20, seed=2, workers=1)
    folder = result.save(tmp_path / "saved")
    assert result.folder == folder
    opened = sim.RunResult.open(folder)
    assert opened.runs.equals(result.runs, check_metadata=True)
    assert opened.series.equals(result.series)
    assert opened.summary == result.summary
    assert [s.name for s in opened.specs] == [s.name for s in result.specs]
    assert opened.specs == result.specs  # kinds, units, nullability, categories survive
    assert opened.presentation == result.presentation
    assert opened.scenario is not None and opened.scenario.seed == 2
    # The resolved scenario reproduces the folder.
    again = sim.run(folder / "scenario.resolved.yaml", workers=1)
    assert again.runs.equals(result.runs)
    with pytest.raises(sim.InputError, match="no such folder"):
        sim.RunResult.open(tmp_path / "nowhere")


@pytest.mark.slow
def test_compare_in_memory_equals_compare_of_folders(tmp_path: Path) -> None:
    a = sim.run(BASELINE, replications=40, seed=4, workers=1)
    b = sim.run(SCENARIOS / "no-us-mediation.yaml", replications=40, seed=4, workers=1)
    in_memory = sim.compare(a, b)
    assert in_memory.paired
    on_disk = sim.compare(a.save(tmp_path / "a"), b.save(tmp_path / "b"))
    assert in_memory.metrics == on_disk.metrics
    assert in_memory.categories == on_disk.categories
    unpaired = sim.compare(a, b, paired=False)
    assert not unpaired.paired
    assert "carrier_cost_eur" in str(in_memory)
    other_seed = sim.run(BASELINE, replications=40, seed=9, workers=1)
    with pytest.raises(sim.InputError, match="cannot be paired"):
        sim.compare(a, other_seed, paired=True)


def test_precision_run_through_the_api() -> None:
    result = sim.run(TINY, replications=50, workers=1, precision="1%", precision_outcomes="total")
    assert result.precision is not None and result.precision.reached
    assert result.replications == result.precision.replications >= 50
    fixed = sim.run(TINY, replications=result.replications, workers=1)
    assert fixed.runs.equals(result.runs)
    with pytest.raises(sim.InputError, match="only applies with --precision"):
        sim.run(TINY, replications=5, workers=1, max_replications=10)
    # A bad cap is the command line's bad input, from run and plan_run alike.
    for call in (sim.run, sim.plan_run):
        with pytest.raises(sim.InputError, match="max_replications"):
            call(TINY, replications=5, workers=1, precision="1%", max_replications=0)
    # Without one, both cap the run at 20 times the first batch, within the limit.
    plan = sim.plan_run(TINY, replications=5, workers=1, precision="1%")
    assert plan.replications == 100


def test_report_needs_a_saved_result(tmp_path: Path) -> None:
    result = sim.run(TINY, replications=30, workers=1)
    with pytest.raises(ValueError, match="save it first"):
        sim.report(result)
    result.save(tmp_path / "tiny")
    page = sim.report(result)
    assert page == tmp_path / "tiny" / "report.html" and page.is_file()


def test_sweep_and_discover(tmp_path: Path) -> None:
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(
        f"name: tiny-sweep\nbase: {TINY}\nmethod: lhs\nsamples: 40\nreplications: 2\nseed: 1\n"
        "parameters:\n  parameters.a: {low: 0, high: 1}\n  parameters.b: {low: 0, high: 1}\n"
    )
    result = sim.sweep(sweep_file, out=tmp_path, workers=1)
    assert result.folder == tmp_path / "tiny-sweep"
    assert result.runs_count == 80 and result.failed == 0
    assert result.runs().num_rows == 80 and result.design().num_rows == 40
    opened = sim.SweepResult.open(result.folder)
    assert opened.summary == result.summary
    box = sim.discover(result, "total", above=1.2)
    assert box["outcome"] == "total" and 0 < box["coverage"] <= 1
    assert json.loads((result.folder / "discovery.json").read_text())[0]["threshold"] == 1.2
    # total = a + b (b is the sweep's parameter now): cases lie where a and b are high.
    low_a, _ = box["limits"]["parameters.a"]
    assert low_a > 0.0
    assert np.isfinite(box["density"])
