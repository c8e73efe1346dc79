"""The engine's results for a given seed are pinned: a structural change must not move them.

A digest of a small baseline run's ``runs.parquet`` (column names, types and every value) and of
its daily series is stored here, so a refactoring of the runner, the results or the model's
layout that changes any number fails here. A deliberate change of the model updates the
digests, saying why in the commit. History: taken with the model's first version before issue
7's restructuring (which moved no number); retaken with the second version (issue 8: owners and
Belarus decide, trips, traffic, policies, new outcomes), which changes every number by design;
retaken when each held truck came to draw its checkpoint pick and service times at the hold
(so that Belarus's processing can reach the checkpoints in fewer batches without moving any
number): the same model, different draws from the checkpoints' stream. The series digest alone
was retaken when the daily sums came to be binned by day instead of summed in sorted order
(the carriers' cost series moved by under 1e-12 relatively; every other series and every
outcome is unchanged).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"

#: sha256 of the table's names, types and values (200 replications, seed 7), model version 2
#: (exit draws per held truck).
RUNS_DIGEST = "383c19cd3028fe7c99b9ccd2a51b497b6949c78503666701ef8ffe85fa29f7b1"
#: sha256 of the daily quantile bands (timeseries.parquet) of the same run (daily sums binned
#: by day).
SERIES_DIGEST = "cbcdeaa939346f0d6a83253f31b6c454d6e6f370c4b199bc5ce56c5a3d07e546"


def table_digest(table: pa.Table) -> str:
    """A digest of a table's column names, types and values (not its metadata)."""
    digest = hashlib.sha256()
    for name in table.column_names:
        column = table.column(name)
        digest.update(f"{name}:{column.type}\n".encode())
        for value in column.to_pylist():
            digest.update(repr(value).encode() + b"\n")
    return digest.hexdigest()


def test_baseline_runs_are_pinned(tmp_path: Path) -> None:
    status = main(
        [
            "run",
            str(BASELINE),
            "-n",
            "200",
            "--seed",
            "7",
            "--workers",
            "1",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    assert status == 0
    folder = tmp_path / "baseline"
    runs = pq.read_table(folder / "runs.parquet")
    assert runs.num_rows == 200
    assert np.array_equal(runs.column("replication").to_numpy(), np.arange(200))
    assert table_digest(runs) == RUNS_DIGEST
    assert table_digest(pq.read_table(folder / "timeseries.parquet")) == SERIES_DIGEST
