"""Clean shutdown: SIGTERM stops a run like Ctrl-C (exit 143, nothing half-written), worker
processes do not outlive a parent killed with kill -9, and a user model that tries to end the
process (``sys.exit``, ``os._exit``) fails its replication instead of ending ``sim`` silently.

The tests that signal or kill ``sim`` start ``python -m sim`` as a real process in a session of
its own, and list its descendants with psutil to check that none is left.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from sim.cli import main
from sim.sweeps.store import WorkFolder

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def start(*argv: object) -> subprocess.Popen[bytes]:
    """``python -m sim ARGV...`` in a session of its own, stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *map(str, argv)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
        start_new_session=True,
    )


def wait_for_stderr(process: subprocess.Popen[bytes], text: bytes, seconds: float) -> bytes:
    """Read the process's stderr until ``text`` shows (or ``seconds`` pass, or it ends)."""
    assert process.stderr is not None
    fd, seen = process.stderr.fileno(), b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and text not in seen:
        if select.select([fd], [], [], 0.1)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            seen += chunk
    return seen


def wait_for_workers(process: subprocess.Popen[bytes], count: int, seconds: float) -> list:
    """The process's descendants once there are ``count`` of them (a fork server's workers)."""
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + seconds
    children: list[psutil.Process] = []
    while time.monotonic() < deadline and process.poll() is None:
        children = parent.children(recursive=True)
        if len(children) >= count:
            break
        time.sleep(0.1)
    return children


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still running (a zombie waiting for its parent to reap it counts as ended)."""
    running = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
        except psutil.NoSuchProcess:
            pass
    return running


def gone_within(processes: list[psutil.Process], seconds: float) -> list[psutil.Process]:
    """Wait up to ``seconds`` for every process to end; return those still running."""
    deadline = time.monotonic() + seconds
    while alive(processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(processes)


def kill_all(process: subprocess.Popen[bytes], others: list[psutil.Process]) -> None:
    """Clean-up after a failed test: nothing of it stays running."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    for other in alive(others):
        other.kill()


# --------------------------------------------------------------------------------------------
# SIGTERM
# --------------------------------------------------------------------------------------------


def test_sigterm_stops_a_run_like_ctrl_c(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    process = start("run", BASELINE, "-n", "100000", "--workers", "2", "--out", out)
    children: list[psutil.Process] = []
    try:
        seen = wait_for_stderr(process, b"rep/s", 30)
        assert b"rep/s" in seen, seen.decode(errors="replace")
        children = wait_for_workers(process, 4, 10)  # resource tracker, fork server, 2 workers
        assert len(children) >= 4, children
        process.send_signal(signal.SIGTERM)
        rest_out, rest_err = process.communicate(timeout=20)
        stderr = (seen + rest_err).decode(errors="replace")
        assert process.returncode == 143, stderr
        assert "terminated (SIGTERM)" in stderr and "no results were written" in stderr
        assert "Traceback" not in stderr
        assert rest_out == b""
        assert os.listdir(out) == []  # no result folder, no hidden temporary folder
        assert gone_within(children, 10) == []
    finally:
        kill_all(process, children)


LHS = """\
name: lhs-test
base: base.yaml
method: lhs
samples: 6
replications: 40
seed: 3
chunk_runs: 2
parameters:
  detention.storage_fee_eur_per_day: {low: 60, high: 180}
  hold.probability: {low: 0.5, high: 1.0}
"""


def test_sigterm_stops_a_sweep_keeping_its_finished_chunks(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(
        f"extends: {BASELINE}\nname: small\nfleet:\n  trucks_in_belarus: 200\n"
    )
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(LHS)
    out = tmp_path / "out"
    work = WorkFolder.for_output(out / "lhs-test")
    process = start("sweep", sweep, "--out", out, "--workers", "2", "--quiet")
    children: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if work.path.exists() and len(work.done_chunks()) >= 5:
                break
            time.sleep(0.002)
        children = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
        stderr = err.decode(errors="replace")
        assert process.returncode == 143, stderr
        assert "--resume" in stderr and "Traceback" not in stderr
        assert len(stderr.strip().splitlines()) == 1, stderr
        assert 5 <= len(work.done_chunks()) < 120, "the sweep was not caught mid-way"
        assert not (out / "lhs-test").exists()
        assert gone_within(children, 10) == []
    finally:
        kill_all(process, children)


def test_sigterm_handler_is_restored(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    before = signal.getsignal(signal.SIGTERM)
    assert main(["validate", str(BASELINE)]) == 0
    assert signal.getsignal(signal.SIGTERM) is before


# --------------------------------------------------------------------------------------------
# A parent killed with kill -9
# --------------------------------------------------------------------------------------------


def test_workers_exit_when_the_parent_is_killed(tmp_path: Path) -> None:
    process = start("run", BASELINE, "-n", "100000", "--workers", "2", "--out", tmp_path)
    children: list[psutil.Process] = []
    try:
        children = wait_for_workers(process, 4, 30)  # resource tracker, fork server, 2 workers
        assert len(children) >= 4, children
        time.sleep(0.5)  # the workers are at work
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        left = gone_within(children, 10)
        assert left == [], [p.cmdline()[-1][:80] for p in left]
    finally:
        kill_all(process, children)


# --------------------------------------------------------------------------------------------
# A user model that tries to end the process
# --------------------------------------------------------------------------------------------

EXITING = """\
import multiprocessing
import os
import sys
from os import _exit as bound_exit  # bound before the run starts: cannot be intercepted


def sys_exit(parameters, rng):
    raise SystemExit(int(parameters["code"]))


def sys_exit_none(parameters, rng):
    sys.exit()


def os_exit(parameters, rng):
    os._exit(int(parameters["code"]))


def later_os_exit(parameters, rng):
    if parameters["u"] > 0.5:
        os._exit(0)
    return {"y": parameters["u"]}


def unstoppable_exit(parameters, rng):
    if multiprocessing.parent_process() is not None:  # in a worker, not in sim itself
        bound_exit(0)
    return {"y": 1.0}
"""


def exiting_scenario(folder: Path, function: str, code: int = 0) -> Path:
    """A scenario of the model ``exiting:FUNCTION`` (above), written into ``folder``."""
    (folder / "exiting.py").write_text(EXITING)
    path = folder / f"{function}.yaml"
    path.write_text(
        textwrap.dedent(f"""\
            name: {function.replace("_", "-")}
            model: exiting:{function}
            seed: 1
            replications: 40
            outputs: [y]
            parameters:
              code: {code}
              u: {{dist: uniform, low: 0, high: 1}}
            """)
    )
    return path


def run_process(*argv: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
    )


@pytest.mark.parametrize(("function", "code"), [("sys_exit", 0), ("sys_exit", 3),
                                                ("sys_exit_none", 0)])  # fmt: skip
def test_sys_exit_in_a_model_fails_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture, function: str, code: int
) -> None:
    scenario = exiting_scenario(tmp_path, function, code)
    capsys.readouterr()
    status = main(["run", str(scenario), "--workers", "1", "--quiet", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert status == 1, err
    shown = "None" if function == "sys_exit_none" else str(code)
    assert f"the model called sys.exit({shown})" in err
    assert not (tmp_path / "o").exists() or os.listdir(tmp_path / "o") == []


@pytest.mark.parametrize("workers", [1, 2])
def test_os_exit_in_a_model_fails_the_run(tmp_path: Path, workers: int) -> None:
    for function in ("os_exit", "later_os_exit"):
        scenario = exiting_scenario(tmp_path, function)
        out = tmp_path / "o"
        done = run_process("run", scenario, "--workers", workers, "--quiet", "--out", out)
        assert done.returncode == 1, done.stderr
        assert "the model called os._exit(0)" in done.stderr
        assert "Traceback" not in done.stderr
        assert not (tmp_path / "o").exists() or os.listdir(tmp_path / "o") == []


def test_an_unstoppable_exit_in_a_worker_is_reported(tmp_path: Path) -> None:
    """``from os import _exit`` escapes the guard: the worker dies, and the run says so."""
    scenario = exiting_scenario(tmp_path, "unstoppable_exit")
    done = run_process("run", scenario, "--workers", "2", "--quiet", "--out", tmp_path / "o")
    assert done.returncode == 1, done.stderr
    assert "a worker process died" in done.stderr and "os._exit" in done.stderr
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------------------------
# The same with a local Dask cluster
# --------------------------------------------------------------------------------------------


def test_sigterm_while_a_dask_cluster_starts(tmp_path: Path) -> None:
    """SIGTERM as soon as the run shows progress, while its local cluster is likely still
    starting: held back until the cluster is up, then the run stops cleanly (no traceback)."""
    out = tmp_path / "out"
    out.mkdir()
    argv = ("run", BASELINE, "-n", "100000", "--workers", "2", "--executor", "dask", "--out", out)
    process = start(*argv)
    children: list[psutil.Process] = []
    try:
        seen = wait_for_stderr(process, b"rep/s", 30)
        assert b"rep/s" in seen, seen.decode(errors="replace")
        time.sleep(1.0)  # the cluster's workers are starting (about 2 s)
        children = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        stderr = (seen + err).decode(errors="replace")
        assert process.returncode == 143, stderr
        assert "Traceback" not in stderr and "terminated (SIGTERM)" in stderr
        assert os.listdir(out) == []
        assert gone_within(children, 10) == []
    finally:
        kill_all(process, children)


def test_dask_workers_exit_when_the_parent_is_killed(tmp_path: Path) -> None:
    argv = ("run", BASELINE, "-n", "100000", "--workers", "2", "--executor", "dask")
    process = start(*argv, "--out", tmp_path)
    children: list[psutil.Process] = []
    try:
        children = wait_for_workers(process, 3, 30)  # resource tracker, 2 workers
        assert len(children) >= 3, children
        time.sleep(1)
        children = psutil.Process(process.pid).children(recursive=True)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        left = gone_within(children, 10)
        assert left == [], [p.cmdline()[-1][:80] for p in left]
    finally:
        kill_all(process, children)
