"""Memory of ``sim run`` flat in N beyond the table: the daily series go to a temporary store
on disk, the bands are computed from it day block by day block (bit-identical), the store is
removed on close and on an exception; and ``sim run --dry-run`` (``sim.plan_run``)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.errors import InputError
from sim.model.interface import OutcomeSpec, ReplicationResult
from sim.results import series_bands
from sim.runner import run_replications
from sim.runner.replications import Session
from sim.runner.series import SeriesStore
from sim.seeding import Streams

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


class LongSeries:
    """A cheap model with two long daily series (one with NaNs) and one outcome."""

    name = "long"

    def __init__(self, days: int = 2000) -> None:
        self.days = days

    def outcome_specs(self) -> list[OutcomeSpec]:
        return [OutcomeSpec("x", "float", "a draw")]

    def series_names(self) -> list[str]:
        return ["walk", "gappy"]

    def run_replication(self, streams: Streams) -> ReplicationResult:
        draws = streams["a"].normal(size=self.days)
        gappy = draws.copy()
        gappy[:: 7 + streams.replication % 5] = np.nan
        return ReplicationResult(
            outcomes={"x": float(draws[0])},
            series={"walk": np.cumsum(draws), "gappy": gappy},
        )


def _arrays(rng: np.random.Generator, rows: int, days: int) -> dict[str, np.ndarray]:
    walk = np.cumsum(rng.normal(size=(rows, days)), axis=1)
    gappy = rng.normal(size=(rows, days))
    gappy[rng.random(size=gappy.shape) < 0.2] = np.nan
    gappy[:, 3] = np.nan  # a day with no value at all
    return {"walk": walk, "gappy": gappy}


def _same(a: object, b: object) -> bool:
    """Two bands tables equal bit for bit (NaNs included)."""
    import pyarrow as pa

    assert isinstance(a, pa.Table) and isinstance(b, pa.Table)
    if a.schema != b.schema or a.num_rows != b.num_rows:
        return False
    for name in a.column_names:
        x, y = (
            a.column(name).to_numpy(zero_copy_only=False),
            b.column(name).to_numpy(zero_copy_only=False),
        )
        if x.dtype.kind == "f":
            if x.tobytes() != y.tobytes():
                return False
        elif list(x) != list(y):
            return False
    return True


def test_store_gives_back_the_arrays_and_day_blocks() -> None:
    """Chunks added out of order read back as the concatenated arrays; any day range too."""
    rng = np.random.default_rng(1)
    whole = _arrays(rng, 23, 17)
    with SeriesStore(["walk", "gappy"]) as store:
        for start, stop in [(10, 23), (0, 4), (4, 10)]:
            store.add(start, stop, {name: array[start:stop] for name, array in whole.items()})
        assert store.shape("walk") == (23, 17)
        assert store.has_nan("gappy") and not store.has_nan("walk")
        assert set(store) == {"walk", "gappy"}
        for name, array in whole.items():
            assert store[name].tobytes() == array.tobytes()
            block = store.read_days(name, 5, 9)
            assert block.flags.c_contiguous
            assert block.tobytes() == np.ascontiguousarray(array[:, 5:9]).tobytes()
        folder = Path(store._folder.name)  # type: ignore[union-attr]
        assert folder.is_dir() and folder.name.startswith("sim-series-")
    assert not folder.exists()
    with pytest.raises(ValueError, match="closed"):
        store.read_days("walk", 0, 1)


def test_store_refuses_series_of_different_lengths() -> None:
    with SeriesStore(["walk"]) as store:
        store.add(0, 2, {"walk": np.zeros((2, 5))})
        with pytest.raises(ValueError, match=r"different lengths: \[5, 6\] steps"):
            store.add(2, 3, {"walk": np.zeros((1, 6))})


@pytest.mark.parametrize("rows", [1, 23, 4001])
@pytest.mark.parametrize("block_bytes", [1, 8 * 23 * 3, 8 * 23 * 16, 8 * 4001 * 5, 1 << 30])
def test_bands_from_day_blocks_are_bit_identical(block_bytes: int, rows: int) -> None:
    """Two days at a time, a few days, or all at once: the same bands, bit for bit, as from
    the whole arrays (one-day series too)."""
    rng = np.random.default_rng(2)
    for days in (17, 1, 366):
        whole = _arrays(rng, rows, days) if days > 3 else {"one": rng.normal(size=(rows, days))}
        with SeriesStore(list(whole)) as store:
            middle = rows // 2
            store.add(middle, rows, {name: array[middle:] for name, array in whole.items()})
            store.add(0, middle, {name: array[:middle] for name, array in whole.items()})
            assert _same(series_bands(store, block_bytes=block_bytes), series_bands(whole))


def test_a_run_keeps_no_series_in_its_chunks_and_removes_the_store() -> None:
    """The chunks a session keeps hold the outcomes only; the series are in the store, which an
    exception (Ctrl-C alike) removes, and close() too."""
    model = LongSeries(days=50)
    with pytest.raises(KeyboardInterrupt):
        with Session(
            model, seed=3, total=40, workers=1, progress=False, executor="local", scheduler=None
        ) as session:
            session.run(0, 40)
            assert session.done and all(chunk.series == {} for chunk in session.done)
            folder = Path(session.series._folder.name)  # type: ignore[union-attr]
            assert folder.is_dir()
            raise KeyboardInterrupt
    assert not folder.exists()
    output = run_replications(model, seed=3, replications=40, workers=1, progress=False)
    assert isinstance(output.series, SeriesStore)
    assert output.series["walk"].shape == (40, 50)
    folder = Path(output.series._folder.name)  # type: ignore[union-attr]
    output.series.close()
    assert not folder.exists()


def _peak_bytes(replications: int) -> int:
    model = LongSeries(days=2000)
    tracemalloc.start()
    try:
        output = run_replications(
            model, seed=4, replications=replications, workers=1, progress=False
        )
        series_bands(output.series, block_bytes=64 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    output.series.close()
    return peak


def test_peak_memory_does_not_grow_with_the_series() -> None:
    """Two 2,000-day series are 32 KB per replication: 400 more replications would add 12.8
    MB if they were held; the traced peak grows by far less (the table's 8 bytes per
    replication and the bands' block, here 64 KiB)."""
    small, large = _peak_bytes(100), _peak_bytes(500)
    assert large - small < 3_000_000, (small, large)


def test_dry_run_prints_the_estimates_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    code = main(["run", str(BASELINE), "--dry-run", "-n", "20000", "--workers", "2", "--out", "o"])
    elapsed = time.perf_counter() - started
    out = capsys.readouterr().out
    assert code == 0
    assert list(tmp_path.iterdir()) == []
    assert "20,000 replications on 2 worker(s)" in out
    assert "estimated time: about" in out
    assert "estimated peak memory of this process: about" in out
    assert "temporary disk for the daily series" in out
    assert elapsed < 15


def test_dry_run_with_precision_plans_the_maximum(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["run", str(BASELINE), "--dry-run", "-n", "30", "--precision", "2%", "--workers", "1"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "at most 600 replications on 1 worker(s)" in out


def test_dry_run_of_a_bad_scenario_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("extends: " + str(BASELINE) + "\nreplications: true\n")
    assert main(["run", str(bad), "--dry-run"]) == 2
    assert "replications" in capsys.readouterr().err


def test_plan_run_from_python() -> None:
    plan = sim.plan_run(BASELINE, replications=1000, workers=1)
    assert isinstance(plan, sim.RunPlan)
    assert plan.replications == 1000 and plan.workers == 1
    assert 1 <= plan.probe_replications <= 1000
    assert plan.seconds > 0 and plan.seconds_per_replication > 0
    # about 0.4 KB of table and 11.7 KB of daily series (4 x 366 days) per replication
    assert 100_000 < plan.table_bytes < 1_000_000
    assert 10_500_000 < plan.disk_bytes < 13_000_000
    assert plan.peak_bytes > plan.base_bytes + plan.table_bytes
    assert str(plan) == plan.text


@pytest.mark.parametrize("workers", [0, 10**6, 2.5])
def test_plan_run_refuses_bad_workers_as_run_does(workers: object) -> None:
    """The same InputError as sim.run (exit 2 on the command line), before any work."""
    with pytest.raises(InputError, match="workers"):
        sim.plan_run(BASELINE, replications=10, workers=workers)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="workers"):
        sim.run(BASELINE, replications=10, workers=workers)  # type: ignore[arg-type]


def test_dry_run_in_a_fresh_process_is_fast(tmp_path: Path) -> None:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(BASELINE), "--dry-run", "--out", "o"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "dry run: nothing was written" in done.stdout
    assert list(tmp_path.iterdir()) == []
    assert time.perf_counter() - started < 30
    json.dumps(done.stdout)  # plain text


@pytest.mark.parametrize("name", ["baseline", "policies"])
def test_a_replication_is_freed_without_the_cycle_collector(name: str) -> None:
    """Nothing of a finished replication is left in a reference cycle (only SimPy's own
    environment, which binds its methods to itself), so its fleet, queues and processes are
    freed as soon as the run is done: the cyclic collector's passes over them cost about 5% of
    a replication's time when they were."""
    import gc

    from sim.model import build_model, load_scenario

    root = Path(__file__).resolve().parents[1]
    path = root / ("benchmarks/policies.yaml" if name == "policies" else "scenarios/baseline.yaml")
    model = build_model(load_scenario(path)[0])
    model.run_replication(Streams(1, 0))
    gc.collect()
    flags = gc.get_debug()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for index in range(3):
            model.run_replication(Streams(1, index))
        gc.collect()
        kinds = {type(o).__module__.split(".")[0] for o in gc.garbage}
        left = [type(o).__name__ for o in gc.garbage if type(o).__module__.startswith("sim.")]
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()
    assert left == []
    assert kinds <= {"builtins", "simpy", "itertools"}
