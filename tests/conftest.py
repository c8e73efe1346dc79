"""Fixtures shared by the tests: the command line in-process and as a real process, and the
project's paths.

- ``cli("run", path, "-n", 5)`` runs ``sim`` in this process and returns ``(status, stdout,
  stderr)`` (stdout and stderr captured by pytest's ``capsys``);
- ``sim_process("run", path, cwd=..., timeout=...)`` runs ``python -m sim`` as a real process
  (for what only a process shows: exit status, no traceback, signals), with the project on
  ``PYTHONPATH``;
- ``root``, ``scenarios`` and ``baseline`` are the project's folder, ``scenarios/`` and
  ``scenarios/baseline.yaml``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]

#: ``cli(*argv) -> (exit status, stdout, stderr)``.
Cli = Callable[..., tuple[int, str, str]]
#: ``sim_process(*argv, cwd=None, timeout=120) -> CompletedProcess``.
SimProcess = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """``sim ARGV...`` in this process: (exit status, stdout, stderr)."""

    def run(*argv: object) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def run_sim_process(
    *argv: object, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m sim ARGV...`` as a real process; PYTHONPATH has the project only."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture
def sim_process() -> SimProcess:
    """``python -m sim ARGV...`` as a real process (see :func:`run_sim_process`)."""
    return run_sim_process


class Interrupt:
    """A progress bar (for ``run_sweep(progress=...)``) that presses Ctrl-C after ``after``
    chunks: an interruption at a known point, for resume tests."""

    def __init__(self, after: int) -> None:
        self.after = after

    def __call__(self, total: int, initial: int) -> Interrupt:
        return self

    def update(self, runs: int) -> None:
        self.after -= 1
        if self.after == 0:
            raise KeyboardInterrupt

    def close(self) -> None:
        pass


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def scenarios() -> Path:
    return ROOT / "scenarios"


@pytest.fixture(scope="session")
def baseline() -> Path:
    return ROOT / "scenarios" / "baseline.yaml"


#: Modules left out of ``make test-fast`` whole: clusters, sweeps (resume, kill -9), reports.
SLOW_MODULES = {
    "test_dask",
    "test_sweep",
    "test_sweep_user_models",
    "test_report",
    "test_baseline",
    "test_shutdown",
    "test_resume",
}
#: Words in a test's name that mean it starts processes or clusters.
SLOW_WORDS = ("dask", "real_process", "fresh_process", "ctrl_c", "kill", "sigterm")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark as ``slow`` (left out of ``make test-fast``; ``make test`` runs everything) the tests
    of :data:`SLOW_MODULES`, every test that starts a real ``sim`` process, and those named for
    clusters, processes or signals (:data:`SLOW_WORDS`)."""
    for item in items:
        module = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
        uses_process = "sim_process" in getattr(item, "fixturenames", ())
        named = any(word in item.name for word in SLOW_WORDS)
        if module in SLOW_MODULES or uses_process or named:
            item.add_marker(pytest.mark.slow)
