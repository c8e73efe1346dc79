"""Sweeps: designs, outputs, worker invariance, resume after Ctrl-C and kill -9, bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import Interrupt

from sim.cli import main
from sim.sweeps import load_sweep, run_sweep
from sim.sweeps.design import build_design
from sim.sweeps.store import WorkFolder

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def write_sweep(folder: Path, body: str, name: str = "sweep.yaml") -> Path:
    """A small base (200 trucks: fast) extending the baseline, and a sweep over it."""
    (folder / "base.yaml").write_text(
        f"extends: {BASELINE}\nname: small\nfleet:\n  trucks_in_belarus: 200\n"
    )
    path = folder / name
    path.write_text(body)
    return path


LHS = """\
name: lhs-test
base: base.yaml
method: lhs
samples: 6
replications: 4
seed: 3
chunk_runs: 5
parameters:
  detention.storage_fee_eur_per_day: {low: 60, high: 180}
  hold.probability: {low: 0.5, high: 1.0}
  closure.max_closures: {low: 1, high: 3, integer: true}
"""


def test_grid_and_list_designs(tmp_path: Path) -> None:
    grid = write_sweep(
        tmp_path,
        "name: g\nbase: base.yaml\nmethod: grid\nparameters:\n"
        "  hold.probability: {values: [0.5, 1.0]}\n"
        "  release.fee_rule: {values: [accrued, flat, accrued]}\n",
    )
    design = build_design(load_sweep(grid).spec)
    assert design.points == 6
    assert design.columns["hold.probability"] == [0.5, 0.5, 0.5, 1.0, 1.0, 1.0]
    assert design.columns["release.fee_rule"] == ["accrued", "flat", "accrued"] * 2
    listed = write_sweep(
        tmp_path,
        "name: l\nbase: base.yaml\nmethod: list\nparameters:\n"
        "  hold.probability: {values: [0.5, 1.0]}\n"
        "  detention.storage_fee_eur_per_day: {values: [60, 120]}\n",
        "list.yaml",
    )
    design = build_design(load_sweep(listed).spec)
    assert [design.values(p) for p in range(2)] == [
        {"hold.probability": 0.5, "detention.storage_fee_eur_per_day": 60},
        {"hold.probability": 1.0, "detention.storage_fee_eur_per_day": 120},
    ]


def test_latin_hypercube_is_stratified(tmp_path: Path) -> None:
    body = LHS.replace("samples: 6", "samples: 50")
    design = build_design(load_sweep(write_sweep(tmp_path, body)).spec)
    fee = np.array(design.columns["detention.storage_fee_eur_per_day"])
    # One point in each of the 50 equal strata of the range.
    strata = np.floor((fee - 60) / (120 / 50)).astype(int)
    assert sorted(strata.tolist()) == list(range(50))
    closures = design.columns["closure.max_closures"]
    assert set(closures) == {1, 2, 3} and all(isinstance(v, int) for v in closures)
    assert build_design(load_sweep(write_sweep(tmp_path, body)).spec).columns == design.columns


def start_sweep_process(
    sweep: Path, out: Path, work: WorkFolder, chunks: int, stderr: int | None = subprocess.DEVNULL
) -> subprocess.Popen[str]:
    """Start ``sim sweep`` on 2 workers in its own process group; return once ``chunks`` chunk
    files are saved (or it ended)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "sweep",
            str(sweep),
            "--out",
            str(out),
            "--workers",
            "2",
            "--quiet",
        ],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if work.path.exists() and len(work.done_chunks()) >= chunks:
            break
        time.sleep(0.002)
    return process


def assert_same_rows_as_one_uninterrupted_run(sweep: Path, out: Path, tmp_path: Path) -> None:
    assert (
        main(["sweep", str(sweep), "--out", str(tmp_path / "once"), "--workers", "1", "--quiet"])
        == 0
    )
    assert pq.read_table(out / "lhs-test" / "runs.parquet").equals(
        pq.read_table(tmp_path / "once" / "lhs-test" / "runs.parquet")
    )


LONG_LHS = LHS.replace("replications: 4", "replications: 40").replace(
    "chunk_runs: 5", "chunk_runs: 2"
)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The LHS sweep run at once on one worker."""
    folder = tmp_path_factory.mktemp("reference")
    sweep = write_sweep(folder, LHS)
    assert (
        main(["sweep", str(sweep), "--out", str(folder / "out"), "--workers", "1", "--quiet"]) == 0
    )
    return folder / "out" / "lhs-test"


def test_sweep_folder(reference: Path) -> None:
    assert sorted(p.name for p in reference.iterdir()) == [
        "base.resolved.yaml",
        "design.parquet",
        "manifest.json",
        "points.parquet",
        "runs.parquet",
        "summary.json",
        "sweep.yaml",
    ]
    design = pd.read_parquet(reference / "design.parquet")
    runs = pd.read_parquet(reference / "runs.parquet")
    assert list(design.columns) == [
        "point",
        "detention.storage_fee_eur_per_day",
        "hold.probability",
        "closure.max_closures",
    ]
    assert len(runs) == 6 * 4
    assert runs["point"].tolist() == [p for p in range(6) for _ in range(4)]
    assert runs["replication"].tolist() == [0, 1, 2, 3] * 6
    assert (runs["seed"] == 3).all() and runs["error"].isna().all()
    # Each run carries its point's parameters.
    merged = runs.merge(design, on="point", suffixes=("", "_design"))
    assert (merged["hold.probability"] == merged["hold.probability_design"]).all()
    # Common random numbers: replication r of every point shares its streams, so the fleet
    # (drawn before any varied parameter acts) is the same at every point.
    fleet = runs.pivot(index="replication", columns="point", values="trucks_in_belarus")
    assert (fleet.nunique(axis=1) == 1).all()
    # points.parquet agrees with the runs.
    points = pd.read_parquet(reference / "points.parquet")
    cost = points[points["outcome"] == "carrier_cost_eur"].set_index("point")
    by_point = runs.groupby("point")["carrier_cost_eur"]
    np.testing.assert_allclose(cost["mean"], by_point.mean(), rtol=1e-12)
    np.testing.assert_allclose(cost["std"], by_point.std(ddof=1), rtol=1e-12)
    np.testing.assert_allclose(cost["p50"], by_point.median(), rtol=1e-12)
    assert (cost["n"] == 4).all()


def test_results_identical_for_any_worker_count(tmp_path: Path, reference: Path) -> None:
    sweep = write_sweep(tmp_path, LHS.replace("chunk_runs: 5", "chunk_runs: 7"))
    assert (
        main(["sweep", str(sweep), "--out", str(tmp_path / "out"), "--workers", "2", "--quiet"])
        == 0
    )
    for name in ("runs.parquet", "design.parquet", "points.parquet"):
        assert pq.read_table(tmp_path / "out" / "lhs-test" / name).equals(
            pq.read_table(reference / name)
        ), name


def test_resume_after_ctrl_c_gives_the_same_rows(tmp_path: Path, reference: Path) -> None:
    sweep = write_sweep(tmp_path, LHS)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(load_sweep(sweep), out=out, workers=1, progress=Interrupt(2))
    work = WorkFolder.for_output(out / "lhs-test")
    assert work.done_chunks() == {0, 1}
    assert not (out / "lhs-test").exists()
    # Without --resume the interrupted run is not overwritten.
    assert main(["sweep", str(sweep), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    assert (
        main(["sweep", str(sweep), "--out", str(out), "--workers", "1", "--quiet", "--resume"]) == 0
    )
    assert not work.path.exists()
    assert pq.read_table(out / "lhs-test" / "runs.parquet").equals(
        pq.read_table(reference / "runs.parquet")
    )


def test_resume_refuses_a_changed_sweep(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sweep = write_sweep(tmp_path, LHS)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(load_sweep(sweep), out=out, workers=1, progress=Interrupt(1))
    sweep.write_text(LHS.replace("seed: 3", "seed: 4"))
    capsys.readouterr()
    assert main(["sweep", str(sweep), "--out", str(out), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "sweep.yaml changed" in err


def test_resume_after_kill_9(tmp_path: Path) -> None:
    """A sweep killed with SIGKILL mid-way resumes to exactly the uninterrupted rows."""
    sweep = write_sweep(tmp_path, LONG_LHS)
    out = tmp_path / "out"
    work = WorkFolder.for_output(out / "lhs-test")
    process = start_sweep_process(sweep, out, work, chunks=10)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert 10 <= len(work.done_chunks()) < 120, "the sweep was not caught mid-way"
    assert main(["sweep", str(sweep), "--out", str(out), "--resume", "--quiet"]) == 0
    assert_same_rows_as_one_uninterrupted_run(sweep, out, tmp_path)


def test_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sweep = write_sweep(tmp_path, LHS)
    assert main(["sweep", str(sweep), "--dry-run", "--workers", "2"]) == 0
    out = capsys.readouterr().out
    assert "6 points x 4 replications = 24 runs" in out
    assert "ms/run" in out and "on 2 worker(s)" in out
    assert not (Path("results") / "lhs-test").exists()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "  hold.probabilty: {low: 0.5, high: 1.0}",
            "sweep.yaml:10:3: parameters.hold.probabilty: 'hold.probabilty' is not a key of the "
            "base scenario base.yaml; did you mean 'hold.probability'?",
        ),
        (
            "  hold.probability: {low: 0.5, high: 1.5}",
            "sweep.yaml:10:3: parameters.hold.probability: high 1.5 is invalid here: must lie in "
            "[0, 1] (a probability), but 1.5 is not",
        ),
        (
            "  closure.incidents_threshold: {low: 2, high: 9}",
            "sweep.yaml:11:3: parameters.closure.incidents_threshold: low 2 is invalid here: "
            "expected a whole number, got 2.0 (a decimal number: write 2) (a whole-number key: "
            "add `integer: true` to the range)",
        ),
        (
            "  hold.probability: {low: 0.9, high: 0.5}",
            "sweep.yaml:10:3: parameters.hold.probability: needs low < high (got low=0.9, "
            "high=0.5)",
        ),
    ],
)
def test_bad_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture, line: str, expected: str
) -> None:
    replaced = "  hold.probability: {low: 0.5, high: 1.0}"
    if not line.startswith("  hold."):
        replaced = "  closure.max_closures: {low: 1, high: 3, integer: true}"
    body = LHS.replace(replaced, line)
    sweep = write_sweep(tmp_path, body)
    capsys.readouterr()
    for command in (["validate", str(sweep)], ["sweep", str(sweep), "--out", str(tmp_path)]):
        assert main(command) == 2
        err = capsys.readouterr().err.strip()
        assert err == f"{sweep.parent}/{expected}"
    assert not (tmp_path / "lhs-test").exists()


def test_bad_output_and_method(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sweep = write_sweep(tmp_path, LHS + "outputs: [carrier_cost]\n")
    assert main(["validate", str(sweep)]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "outputs.0: 'carrier_cost' is not a numeric outcome; did you mean 'carrier_cost_eur'?"
        )
    )
    sweep = write_sweep(tmp_path, LHS.replace("method: lhs", "method: grid"))
    assert main(["validate", str(sweep)]) == 2
    assert "method grid takes `values:` lists" in capsys.readouterr().err


def test_a_lost_local_worker_stops_the_sweep_and_resume_finishes_it(tmp_path: Path) -> None:
    """kill -9 of one worker process: the sweep stops (exit 1) saying how to resume, keeps
    what finished, and --resume completes it with exactly the uninterrupted rows."""
    import psutil

    sweep = write_sweep(tmp_path, LONG_LHS)
    out = tmp_path / "out"
    work = WorkFolder.for_output(out / "lhs-test")
    process = start_sweep_process(sweep, out, work, chunks=10, stderr=subprocess.PIPE)
    # The pool's workers are children of the fork server: kill the busiest one.
    servers = [
        p for p in psutil.Process(process.pid).children() if "forkserver" in " ".join(p.cmdline())
    ]
    workers = [w for server in servers for w in server.children()]
    assert workers, "no worker process found"
    max(workers, key=lambda p: p.cpu_times().user).kill()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "--resume" in err and "Traceback" not in err
    assert 10 <= len(work.done_chunks()) < 120
    assert main(["sweep", str(sweep), "--out", str(out), "--resume", "--quiet"]) == 0
    assert_same_rows_as_one_uninterrupted_run(sweep, out, tmp_path)


def test_sweep_runs_carry_the_outcome_specs_and_presentation(reference: Path) -> None:
    """A sweep's runs.parquet has the same outcome metadata as a run's (one schema function)."""
    from sim.model import build_model, load_scenario
    from sim.model.interface import Presentation, presentation_of
    from sim.results.metadata import PRESENTATION_KEY, field_metadata

    schema = pq.read_schema(reference / "runs.parquet")
    scenario, _ = load_scenario(reference / "base.resolved.yaml")
    model = build_model(scenario)
    for spec in model.outcome_specs():
        field = schema.field(spec.name)
        assert {k.decode(): v.decode() for k, v in field.metadata.items()} == field_metadata(spec)
        assert field.nullable  # a failed run has no outcomes
    assert schema.field("error").nullable
    assert Presentation.from_json(schema.metadata[PRESENTATION_KEY.encode()]) == presentation_of(
        model
    )


def test_points_statistics_match_the_reference_per_point() -> None:
    """The batched statistics of the assembly equal point_statistics, point by point, with
    nulls, NaN, failed runs, a point with one value and one with none."""
    from sim.sweeps.assemble import points_statistics
    from sim.sweeps.store import POINTS_SCHEMA, pc_is_ok, point_statistics

    rng = np.random.default_rng(5)
    replications, points = 4, 7
    values = rng.normal(size=points * replications).tolist()
    errors: list[str | None] = [None] * (points * replications)
    values[1] = None  # point 0: a null
    values[5] = float("nan")  # point 1: a NaN
    errors[8] = "boom"  # point 2: a failed run
    values[8] = None
    for run in range(12, 15):  # point 3: one value left
        values[run] = None
    for run in range(16, 20):  # point 4: none
        values[run] = None
    counts = rng.integers(0, 9, size=points * replications).tolist()
    table = pa.table(
        {
            "point": np.repeat(np.arange(points), replications),
            "error": pa.array(errors, type=pa.string()),
            "x": pa.array(values, type=pa.float64()),
            "k": pa.array(counts, type=pa.int64()),
        }
    )
    ok = pc_is_ok(table).reshape(-1, replications)
    batched = points_statistics(np.arange(points), table, ["x", "k"], replications, ok)
    expected = []
    for point in range(points):
        piece = table.slice(point * replications, replications)
        expected.extend(point_statistics(point, piece, ["x", "k"]))
    assert batched.equals(pa.Table.from_pylist(expected, schema=POINTS_SCHEMA))


def test_dry_run_counts_the_assembly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """--dry-run times the assembly of the final folder too, and adds it to the estimate."""
    from sim.sweeps.run import describe_plan, prepare

    sweep = write_sweep(tmp_path, LHS)
    prepared = prepare(load_sweep(sweep))
    per_run = prepared.assembly_seconds_per_run()
    assert 0 < per_run < 0.01
    text = describe_plan(prepared, 2, 5)
    assert f"assembly {per_run * 1000:.3f} ms/run" in text
    assert "(runs " in text and ", assembly " in text
