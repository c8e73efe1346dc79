"""The engine's results for a given seed are pinned: a structural change must not move them.

A digest of a small baseline run's ``runs.parquet`` (column names, types and every value) and of
its daily series is stored here. It was taken before the structure of issue 7 was changed, so a
refactoring of the runner, the results or the model's layout that changes any number fails here.
A deliberate change of the model updates the digests, saying why in the commit.
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

#: Columns added to the model after the pin was taken: pinned apart, so the digest of every
#: other column still proves the old numbers unchanged.
ADDED_COLUMNS = ("resolution",)
#: sha256 of the table's names, types and values (200 replications, seed 7): model version 1,
#: without ADDED_COLUMNS.
RUNS_DIGEST = "f10868d8c0256ff55958634a344ed4ba01d009b01ce7b685a55a893dcaee28ac"
#: sha256 of ADDED_COLUMNS of the same run (resolution: added with the second model's outcomes).
ADDED_DIGEST = "d85cedf273d3af699623df1e04a03cb69aaae96cebfb70cd96799f575cea985e"
#: sha256 of the daily quantile bands (timeseries.parquet) of the same run.
SERIES_DIGEST = "3f10828f81cfa74a327ed4a79a608556a0ebddeaba45592ad39081af356ee7d9"


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
    assert table_digest(runs.drop_columns(list(ADDED_COLUMNS))) == RUNS_DIGEST
    assert table_digest(runs.select(list(ADDED_COLUMNS))) == ADDED_DIGEST
    assert table_digest(pq.read_table(folder / "timeseries.parquet")) == SERIES_DIGEST
