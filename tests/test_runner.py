"""The runner: reproducibility across worker counts, table layout, errors and Ctrl-C."""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import time

import numpy as np
import pyarrow as pa
import pytest

from sim.model.interface import OutcomeSpec, ReplicationResult
from sim.runner import (
    LocalProcessExecutor,
    ReplicationError,
    RunOutput,
    chunk_ranges,
    run_replications,
)
from sim.runner.engine import Chunk
from sim.seeding import Streams

DAYS = 11
SEED = 20250917
N = 50


class ToyModel:
    """A small picklable model: a float, an int, a category, a nullable float and a series."""

    name = "toy"

    def __init__(self, fail_on: int | None = None, interrupt_pid: int | None = None) -> None:
        self.fail_on = fail_on
        self.interrupt_pid = interrupt_pid

    def outcome_specs(self) -> list[OutcomeSpec]:
        return [
            OutcomeSpec("x", "float", "a normal draw", unit="EUR"),
            OutcomeSpec("k", "int", "a Poisson count", unit="trucks"),
            OutcomeSpec("label", "category", "a label", categories=("a", "b", "c")),
            OutcomeSpec("maybe", "float", "sometimes missing", unit="days", nullable=True),
        ]

    def series_names(self) -> list[str]:
        return ["level"]

    def run_replication(self, streams: Streams) -> ReplicationResult:
        if streams.replication == self.fail_on:
            raise RuntimeError("the toy model broke")
        if self.interrupt_pid is not None:
            if streams.replication == 2:
                os.kill(self.interrupt_pid, signal.SIGINT)
            time.sleep(0.1)
        a = streams["a"]
        x = float(a.normal(10.0, 2.0))
        label = ("a", "b", "c")[int(a.integers(3))]
        u = float(a.random())
        maybe = None if u < 0.2 else math.nan if u < 0.3 else float(a.exponential(5.0))
        k = int(streams["b"].poisson(4.0))
        level = np.cumsum(streams["c"].normal(size=DAYS))
        return ReplicationResult(
            outcomes={"x": x, "k": k, "label": label, "maybe": maybe}, series={"level": level}
        )


class NanModel:
    """A model returning NaN for a non-nullable float, and numpy scalars."""

    name = "nan"

    def outcome_specs(self) -> list[OutcomeSpec]:
        return [OutcomeSpec("y", "float", "y"), OutcomeSpec("n", "int", "n", nullable=True)]

    def series_names(self) -> list[str]:
        return []

    def run_replication(self, streams: Streams) -> ReplicationResult:
        odd = streams.replication % 2 == 1
        return ReplicationResult(
            {"y": math.nan if odd else np.float32(1.5), "n": None if odd else np.int16(3)}
        )


class BadModel:
    """A model whose replication 3 returns an undeclared category."""

    name = "bad"

    def outcome_specs(self) -> list[OutcomeSpec]:
        return [OutcomeSpec("c", "category", "c", categories=("yes", "no"))]

    def series_names(self) -> list[str]:
        return []

    def run_replication(self, streams: Streams) -> ReplicationResult:
        return ReplicationResult({"c": "maybe" if streams.replication == 3 else "yes"})


@pytest.fixture(scope="module")
def runs() -> dict[int, RunOutput]:
    """The same run with 1, 2 and 3 workers (the 2-worker pool is reused for a second run)."""
    model = ToyModel()
    outputs = {
        workers: run_replications(model, seed=SEED, replications=N, workers=workers, progress=False)
        for workers in (1, 3)
    }
    with LocalProcessExecutor(2) as executor:
        outputs[2] = run_replications(
            model, seed=SEED, replications=N, progress=False, executor=executor
        )
        outputs[-2] = run_replications(
            model, seed=SEED + 1, replications=N, progress=False, executor=executor
        )
    return outputs


def test_identical_whatever_the_workers(runs: dict[int, RunOutput]) -> None:
    reference = runs[1]
    for workers in (2, 3):
        other = runs[workers]
        assert other.workers == workers
        assert other.table.equals(reference.table, check_metadata=True)
        assert other.series.keys() == reference.series.keys()
        for name, array in reference.series.items():
            assert other.series[name].tobytes() == array.tobytes()
    assert reference.workers == 1
    assert reference.elapsed_seconds > 0


def test_another_seed_differs(runs: dict[int, RunOutput]) -> None:
    assert not runs[-2].table.equals(runs[1].table)
    assert set(runs[-2].table.column("seed").to_pylist()) == {SEED + 1}


def test_table_layout(runs: dict[int, RunOutput]) -> None:
    table = runs[1].table
    assert table.num_rows == N
    assert table.column_names == ["replication", "seed", "x", "k", "label", "maybe"]
    assert [field.type for field in table.schema] == [
        pa.int64(),
        pa.int64(),
        pa.float64(),
        pa.int64(),
        pa.string(),
        pa.float64(),
    ]
    assert table.column("replication").to_pylist() == list(range(N))
    assert table.column("seed").to_pylist() == [SEED] * N
    assert table.schema.field("x").metadata[b"unit"] == b"EUR"
    assert runs[1].series["level"].shape == (N, DAYS)
    assert runs[1].series["level"].dtype == np.float64


def test_rows_are_in_replication_order(runs: dict[int, RunOutput]) -> None:
    model = ToyModel()
    rows = runs[3].table.to_pylist()
    for replication in (0, 1, 17, N - 1):
        expected = model.run_replication(Streams(SEED, replication))
        row = rows[replication]
        assert row["replication"] == replication
        assert row["x"] == expected.outcomes["x"]
        assert row["k"] == expected.outcomes["k"]
        assert row["label"] == expected.outcomes["label"]
        assert np.array_equal(runs[3].series["level"][replication], expected.series["level"])


def test_nullable_float_stores_none_and_nan_as_null(runs: dict[int, RunOutput]) -> None:
    model = ToyModel()
    column = runs[1].table.column("maybe")
    expected = [model.run_replication(Streams(SEED, i)).outcomes["maybe"] for i in range(N)]
    missing = [value is None or math.isnan(value) for value in expected]
    assert any(missing) and not all(missing)
    assert [value is None for value in column.to_pylist()] == missing
    assert not np.isnan(column.drop_null().to_numpy()).any()
    assert runs[1].table.schema.field("maybe").nullable
    assert not runs[1].table.schema.field("x").nullable


def test_nan_kept_in_non_nullable_float() -> None:
    table = run_replications(NanModel(), seed=1, replications=4, workers=1, progress=False).table
    y = table.column("y").to_pylist()
    assert y[0] == 1.5 and math.isnan(y[1]) and table.column("y").null_count == 0
    assert table.column("n").to_pylist() == [3, None, 3, None]


def test_model_error_names_the_replication_in_process() -> None:
    with pytest.raises(ReplicationError, match="replication 7 failed: RuntimeError") as info:
        run_replications(ToyModel(fail_on=7), seed=1, replications=20, workers=1, progress=False)
    assert info.value.replication == 7
    assert "the toy model broke" in str(info.value)
    assert "Traceback" in info.value.details


def test_model_error_names_the_replication_in_a_pool() -> None:
    with pytest.raises(ReplicationError, match="replication 7 failed") as info:
        run_replications(ToyModel(fail_on=7), seed=1, replications=40, workers=2, progress=False)
    assert info.value.replication == 7
    assert "the toy model broke" in info.value.message
    assert multiprocessing.active_children() == []


def test_bad_outcome_value_is_a_replication_error() -> None:
    with pytest.raises(ReplicationError, match="replication 3 failed: .*'maybe'"):
        run_replications(BadModel(), seed=1, replications=6, workers=1, progress=False)


@pytest.mark.slow
def test_ctrl_c_stops_the_pool() -> None:
    """SIGINT to this process mid-run: KeyboardInterrupt, quickly, and no workers left."""
    model = ToyModel(interrupt_pid=os.getpid())
    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        # Each replication sleeps 0.1 s: finishing would take 3 s on 2 workers.
        run_replications(model, seed=1, replications=60, workers=2, progress=False)
    assert time.perf_counter() - started < 2.5
    assert multiprocessing.active_children() == []


def test_argument_checks() -> None:
    with pytest.raises(ValueError, match="unknown executor 'nope'"):
        run_replications(ToyModel(), seed=1, replications=2, executor="nope", progress=False)
    with pytest.raises(ValueError, match="replications"):
        run_replications(ToyModel(), seed=1, replications=0, progress=False)
    with pytest.raises(ValueError, match="seed"):
        run_replications(ToyModel(), seed=-1, replications=2, progress=False)
    with pytest.raises(ValueError, match="workers"):
        run_replications(ToyModel(), seed=1, replications=2, workers=0, progress=False)


def test_progress_bar_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    run_replications(ToyModel(), seed=1, replications=5, workers=1, progress=True)
    captured = capsys.readouterr()
    assert "5/5" in captured.err and "rep" in captured.err and captured.out == ""
    run_replications(ToyModel(), seed=1, replications=5, workers=1, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("replications", "workers"), [(1, 1), (7, 1), (1000, 1), (10, 3), (1000, 4), (100000, 8)]
)
def test_chunk_ranges_cover_everything(replications: int, workers: int) -> None:
    chunks = chunk_ranges(replications, workers)
    assert chunks[0][0] == 0 and chunks[-1][1] == replications
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:], strict=False))
    assert all(1 <= stop - start <= 250 for start, stop in chunks)
    if workers > 1 and replications >= 8 * workers:
        assert 4 * workers <= len(chunks) or max(b - a for a, b in chunks) == 250


def test_the_record_policy_keeps_failures_and_goes_on(runs: dict[int, RunOutput]) -> None:
    """With the failure policy "record" (sweeps), a failing replication or a result that does
    not fit the specs becomes that run's error, its outcomes null; the others are unchanged."""
    from sim.runner.engine import ChunkRunner, outcome_array

    model = ToyModel(fail_on=7)
    specs = model.outcome_specs()

    class Points:
        def model_for(self, point: int, values: dict[str, object]) -> ToyModel | str:
            return model if point == 0 else "invalid scenario at this point: no"

    runner = ChunkRunner(
        None, SEED, specs, None, points=Points(), replications=N, failures="record"
    )
    result = runner(Chunk(0, 0, N + 2, {0: {}, 1: {}}))
    assert result.errors[7] == "RuntimeError: the toy model broke"
    assert result.errors[N:] == ["invalid scenario at this point: no"] * 2
    assert [e for i, e in enumerate(result.errors) if i != 7 and i < N] == [None] * (N - 1)
    reference = runs[1].table
    for spec in specs:
        column = outcome_array(spec, [result])
        assert column[7].as_py() is None and column[N].as_py() is None
        kept = [i for i in range(N) if i != 7]
        assert column.take(kept).equals(reference.column(spec.name).combine_chunks().take(kept))
    with pytest.raises(ReplicationError, match="replication 3 failed: outcome 'c' is 'maybe'"):
        ChunkRunner(BadModel(), SEED, BadModel().outcome_specs(), [])((0, 5))
    recorded = ChunkRunner(
        None,
        SEED,
        BadModel().outcome_specs(),
        None,
        points=type("One", (), {"model_for": lambda self, p, v: BadModel()})(),
        replications=5,
        failures="record",
    )((0, 5))
    assert recorded.errors == [None, None, None, "outcome 'c' is 'maybe', not one of yes, no", None]
