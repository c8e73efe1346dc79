"""The Dask executor: the same runs.parquet as the local executor, on a real cluster.

A scheduler and two single-threaded workers run as subprocesses on 127.0.0.1 (each in its own
process group, killed at teardown); ``sim run --executor dask`` on them, and on a local cluster
it starts itself, must give the local executor's table. So must a run during which one worker
is killed. Errors: a failing replication surfaces as ReplicationError, a bad or unreachable
``--scheduler`` is a one-line argument error (exit 2), quickly.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.cli import main
from sim.model import build_model, load_scenario
from sim.model.interface import OutcomeSpec, ReplicationResult
from sim.runner import ReplicationError, run_replications
from sim.runner.executors import DaskExecutor
from sim.seeding import Streams

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
TESTS = Path(__file__).resolve().parent
#: Seconds to wait for the scheduler and the workers to come up.
START_TIMEOUT = 60.0

C = TypeVar("C")
R = TypeVar("R")


class SubprocessCluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, each its own process group.

    Workers get ``tests/`` on their PYTHONPATH, so they can unpickle this module's models.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[subprocess.Popen[bytes]] = []
        self.workers: dict[str, subprocess.Popen[bytes]] = {}  # worker name -> process
        self.address = ""
        self.scheduler_file = folder / "scheduler.json"

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)])}
        with open(self.folder / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.folder,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def start(self, workers: int) -> None:
        """Start the scheduler and ``workers`` workers; return once all are connected."""
        import distributed

        scheduler = self._spawn(
            "scheduler",
            [
                "distributed.cli.dask_scheduler",
                "--host=127.0.0.1",
                "--port=0",
                "--no-dashboard",
                f"--scheduler-file={self.scheduler_file}",
                "--idle-timeout=120s",  # no orphan if this test process is killed outright
            ],
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not self.scheduler_file.exists():
            assert scheduler.poll() is None, self.log("scheduler")
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.05)
        while not self.address:
            with open(self.scheduler_file, encoding="utf-8") as file:
                text = file.read()
            if text.strip().endswith("}"):  # written whole
                self.address = json.loads(text)["address"]
            else:  # pragma: no cover - caught mid-write
                time.sleep(0.05)
        for index in range(workers):
            name = f"w{index}"
            self.workers[name] = self._spawn(
                name,
                [
                    "distributed.cli.dask_worker",
                    self.address,
                    "--host=127.0.0.1",
                    "--nthreads=1",
                    "--nworkers=1",
                    "--no-nanny",
                    "--no-dashboard",
                    "--death-timeout=30s",
                    f"--local-directory={self.folder / name}",
                    f"--name={name}",
                ],
            )
        with distributed.Client(self.address, timeout=10, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=max(1.0, deadline - time.monotonic()))

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the process group of ``process`` (whatever is left of it) and reap it."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # the whole group is gone already
            pass
        process.wait(timeout=10)

    def stop(self) -> None:
        """SIGKILL every process group (nothing here has state worth a graceful shutdown)."""
        for process in self.processes:
            self.kill(process)


@pytest.fixture
def start_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """A factory of subprocess clusters, every one of them torn down after the test."""
    clusters: list[SubprocessCluster] = []

    def start(workers: int = 2) -> SubprocessCluster:
        cluster = SubprocessCluster(tmp_path_factory.mktemp("dask"))
        clusters.append(cluster)
        cluster.start(workers)
        return cluster

    try:
        yield start
    finally:
        for cluster in clusters:
            cluster.stop()


def _run(out: Path, *options: str, replications: int = 60) -> pa.Table:
    """``sim run`` of the baseline in-process; the runs.parquet table it wrote."""
    argv = ["run", str(BASELINE), "-n", str(replications), "--out", str(out), "--quiet"]
    assert main([*argv, *options]) == 0
    return pq.read_table(out / "baseline" / "runs.parquet")


@pytest.fixture(scope="module")
def local_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[int, pa.Table]:
    """The local executor's runs.parquet of 60 baseline replications, on 1 and on 2 workers."""
    out = tmp_path_factory.mktemp("local")
    tables = {workers: _run(out / str(workers), "--workers", str(workers)) for workers in (1, 2)}
    assert tables[1].equals(tables[2])
    return tables


def _children() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


@pytest.mark.slow
def test_subprocess_cluster_gives_the_local_table(
    start_cluster: Callable[..., SubprocessCluster],
    local_tables: dict[int, pa.Table],
    tmp_path: Path,
) -> None:
    cluster = start_cluster(2)
    table = _run(tmp_path / "a", "--executor", "dask", "--scheduler", cluster.address)
    assert table.equals(local_tables[1]) and table.equals(local_tables[2])
    manifest = json.loads((tmp_path / "a" / "baseline" / "manifest.json").read_text())
    assert manifest["executor"] == "dask" and manifest["workers"] == 2
    # A scheduler file works as the address too.
    by_file = _run(tmp_path / "b", "--executor", "dask", "--scheduler", str(cluster.scheduler_file))
    assert by_file.equals(local_tables[1])
    # The cluster outlives the runs: the executor only disconnects from it.
    assert all(process.poll() is None for process in cluster.processes)


@pytest.mark.slow
def test_local_cluster_gives_the_local_table(
    local_tables: dict[int, pa.Table], tmp_path: Path
) -> None:
    before = _children()
    table = _run(tmp_path, "--executor", "dask", "--workers", "2")
    assert table.equals(local_tables[1])
    manifest = json.loads((tmp_path / "baseline" / "manifest.json").read_text())
    assert manifest["executor"] == "dask" and manifest["workers"] == 2
    # The local cluster's worker processes are gone (the fork server of local runs may stay).
    deadline = time.monotonic() + 10
    while _children() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _children() - before == set()


class KillingExecutor(DaskExecutor):
    """Once the first chunk is in, kills a worker (once it is computing a chunk) or the scheduler.

    ``victim`` is a worker name, or None for the scheduler; each is killed by process group.
    """

    def __init__(self, cluster: SubprocessCluster, victim: str | None) -> None:
        super().__init__(cluster.address)
        self.cluster = cluster
        self.victim = victim
        self.lost: list[Any] = []  # the keys the victim worker was computing when killed

    def map_chunks(
        self, fn: Callable[[C], R], chunks: Sequence[C]
    ) -> Generator[tuple[int, R], None, None]:
        results = super().map_chunks(fn, chunks)
        try:
            first = next(results)
            if self.victim is None:
                self.cluster.kill(self.cluster.processes[0])
            else:
                workers = self.client.scheduler_info()["workers"]
                address = next(a for a, info in workers.items() if info["name"] == self.victim)
                deadline = time.monotonic() + 10
                while not self.lost:
                    assert time.monotonic() < deadline, "the victim never got a chunk"
                    self.lost = list(self.client.processing([address]).get(address, []))
                self.cluster.kill(self.cluster.workers[self.victim])
            yield first
            yield from results
        finally:
            results.close()


@pytest.mark.slow
def test_a_lost_worker_changes_nothing(
    start_cluster: Callable[..., SubprocessCluster], tmp_path: Path
) -> None:
    """Kill one of two workers mid-run: Dask reruns its chunks elsewhere; same table."""
    scenario, _ = load_scenario(BASELINE, ["replications=600"])
    model = build_model(scenario)
    expected = run_replications(
        model, seed=scenario.seed, replications=600, workers=2, progress=False
    ).table
    cluster = start_cluster(2)
    executor = KillingExecutor(cluster, victim="w1")
    with executor:
        output = run_replications(
            model, seed=scenario.seed, replications=600, progress=False, executor=executor
        )
        assert executor.lost  # a chunk was running on the victim: Dask had to rerun it
        assert cluster.workers["w1"].poll() is not None and executor.workers == 1
    assert output.table.equals(expected)


@pytest.mark.slow
def test_a_lost_scheduler_is_an_error_not_a_hang(
    start_cluster: Callable[..., SubprocessCluster],
) -> None:
    scenario, _ = load_scenario(BASELINE, [])
    started = time.monotonic()
    with (
        KillingExecutor(start_cluster(1), victim=None) as executor,
        pytest.raises(RuntimeError, match=r"the Dask cluster dropped the work .*scheduler"),
    ):
        run_replications(
            build_model(scenario), seed=1, replications=400, progress=False, executor=executor
        )
    assert time.monotonic() - started < 20


class FailingModel:
    """Replication 7 raises; the others return one float (unpickled by the workers from tests/)."""

    name = "failing"

    def outcome_specs(self) -> list[OutcomeSpec]:
        return [OutcomeSpec("x", "float", "a draw")]

    def series_names(self) -> list[str]:
        return []

    def run_replication(self, streams: Streams) -> ReplicationResult:
        if streams.replication == 7:
            raise RuntimeError("the model broke")
        return ReplicationResult({"x": float(streams["x"].random())})


@pytest.mark.slow
def test_a_failing_replication_is_a_replication_error(
    start_cluster: Callable[..., SubprocessCluster],
) -> None:
    cluster = start_cluster(1)
    with DaskExecutor(cluster.address) as executor:
        with pytest.raises(ReplicationError) as info:
            run_replications(FailingModel(), seed=1, replications=20, executor=executor)
        assert info.value.replication == 7
        assert info.value.message == "RuntimeError: the model broke"
        assert "run_replication" in info.value.details  # the worker's traceback
        # The executor is still usable after a failed run.
        output = run_replications(
            FailingModel(), seed=1, replications=7, executor=executor, progress=False
        )
        assert output.table.num_rows == 7 and not math.isnan(output.table["x"][0].as_py())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_unreachable_scheduler_is_a_clear_argument_error(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{_closed_port()}"
    command = [sys.executable, "-m", "sim", "run", str(BASELINE), "-n", "5", "--quiet"]
    command += ["--out", str(tmp_path), "--executor", "dask", "--scheduler", address]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert time.monotonic() - started < 15
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"<command line>:1:1: --scheduler: cannot connect to the Dask scheduler at {address}: "
        "no scheduler answered within 5 s"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            ["--scheduler", "tcp://127.0.0.1:8786"],
            "--scheduler: a scheduler address needs --executor dask",
        ),
        (
            ["--executor", "dask", "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"],
            "--workers: sizes a local cluster; with --scheduler the cluster's own workers run",
        ),
        (
            ["--executor", "dask", "--scheduler", "nowhere"],
            "--scheduler: not a Dask scheduler address: missing port number in address 'nowhere'",
        ),
        (
            ["--executor", "dask", "--scheduler", "udp://127.0.0.1:1"],
            "--scheduler: not a Dask scheduler address: unknown address scheme 'udp'",
        ),
    ],
)
def test_bad_executor_arguments(
    options: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", str(BASELINE), "-n", "5", "--out", str(tmp_path), "--quiet", *options]
    assert main(argv) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"<command line>:1:1: {expected}")


@pytest.mark.slow
def test_the_local_executor_does_not_import_dask(tmp_path: Path) -> None:
    code = (
        "import sys; from sim.cli import main; "
        f"assert main(['run', {str(BASELINE)!r}, '-n', '4', '--workers', '1', '--quiet', "
        f"'--out', {str(tmp_path)!r}]) == 0; "
        "assert not {'dask', 'distributed'} & set(sys.modules), 'dask was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.slow
def test_a_sweep_gives_the_same_rows_on_every_executor(
    start_cluster: Callable[..., SubprocessCluster], tmp_path: Path
) -> None:
    """The same sweep locally on 1 worker, on a subprocess cluster, and on a local cluster."""
    from test_sweep import LHS, write_sweep

    sweep = write_sweep(tmp_path, LHS)
    cluster = start_cluster(2)
    runs = {
        "local": ["--workers", "1"],
        "cluster": ["--executor", "dask", "--scheduler", cluster.address],
        "local-cluster": ["--executor", "dask", "--workers", "2"],
    }
    for name, options in runs.items():
        assert main(["sweep", str(sweep), "--out", str(tmp_path / name), "--quiet", *options]) == 0
    for file in ("runs.parquet", "points.parquet", "design.parquet"):
        expected = pq.read_table(tmp_path / "local" / "lhs-test" / file)
        for name in ("cluster", "local-cluster"):
            assert pq.read_table(tmp_path / name / "lhs-test" / file).equals(expected), (name, file)
