"""Where a sweep keeps its work: streamed chunk files, the fingerprint that guards resuming,
and the assembly of the final folder.

While a sweep runs, its results live in a hidden work folder beside the final one,
``OUT/.NAME.sweep/``: ``fingerprint.json`` (what the sweep is: its file, its base scenarios,
the engine version, the chunking), and one Parquet file per finished chunk under ``parts/``,
each written to a temporary name and renamed, so a chunk file is whole or absent even after
``kill -9``. Memory stays flat: a chunk's rows go to disk as soon as the chunk is done.

When every chunk is there, the final folder is assembled from the chunk files in chunk order
(so rows are in (point, replication) order whether the sweep ran at once or was resumed) into
a temporary folder, which is then renamed into place; the work folder is removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import InputError, Problem

PARTS = "parts"
FINGERPRINT = "fingerprint.json"


def fingerprint(files: Sequence[Path], extra: dict[str, Any]) -> dict[str, Any]:
    """What identifies a sweep: a hash of each input file's bytes, plus ``extra`` settings."""
    digests = {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in files}
    return {"files": digests, **extra}


@dataclass
class WorkFolder:
    """The hidden folder of a sweep in progress."""

    path: Path

    @classmethod
    def for_output(cls, final_dir: Path) -> WorkFolder:
        return cls(final_dir.parent / f".{final_dir.name}.sweep")

    @property
    def parts(self) -> Path:
        return self.path / PARTS

    def exists(self) -> bool:
        return (self.path / FINGERPRINT).is_file()

    def start(self, print_: dict[str, Any], *, resume: bool, sweep_file: str) -> set[int]:
        """Create the folder, or reopen it with ``resume``; returns the chunks already done.

        An existing folder without ``resume``, or a resumed one whose fingerprint differs (the
        sweep file, a base scenario, the engine or the chunking changed), is refused.
        """
        if self.exists():
            if not resume:
                raise self._refusal(
                    sweep_file,
                    f"an interrupted run of this sweep is in {self.path}: continue it with "
                    "--resume, or delete that folder to start again",
                )
            previous = json.loads((self.path / FINGERPRINT).read_text())
            if previous != print_:
                files = set(previous["files"]) | set(print_["files"])
                changed = sorted(
                    k for k in files if previous["files"].get(k) != print_["files"].get(k)
                )
                what = ", ".join(changed) if changed else "the engine version or chunking"
                raise self._refusal(
                    sweep_file,
                    f"cannot resume: {what} changed since the interrupted run in "
                    f"{self.path}; its results would not match. Restore the file, or delete "
                    "that folder to start again",
                )
            return self.done_chunks()
        if self.path.exists():  # a folder without a fingerprint: a start that never got going
            shutil.rmtree(self.path)
        self.parts.mkdir(parents=True)
        temporary = self.path / f".{FINGERPRINT}.tmp"
        temporary.write_text(json.dumps(print_, indent=2, sort_keys=True))
        os.replace(temporary, self.path / FINGERPRINT)
        return set()

    @staticmethod
    def _refusal(sweep_file: str, message: str) -> InputError:
        return InputError([Problem(sweep_file, 1, 1, "", message)])

    def done_chunks(self) -> set[int]:
        """Chunks whose file is complete (temporary files of a killed run are ignored)."""
        done = set()
        for path in self.parts.glob("chunk-*.parquet"):
            done.add(int(path.stem.split("-")[1]))
        return done

    def chunk_path(self, index: int) -> Path:
        return self.parts / f"chunk-{index:07d}.parquet"

    def write_chunk(self, index: int, table: pa.Table) -> None:
        """Write one chunk's rows, atomically."""
        final = self.chunk_path(index)
        temporary = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        pq.write_table(table, temporary, compression="zstd")
        os.replace(temporary, final)

    def read_chunks(self, count: int) -> Iterator[pa.Table]:
        """Every chunk's rows, in chunk order."""
        for index in range(count):
            yield pq.read_table(self.chunk_path(index), use_threads=False)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


QUANTILES = (("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95))


def point_statistics(point: int, table: pa.Table, outputs: Sequence[str]) -> list[dict[str, Any]]:
    """Rows of points.parquet for one point: per outcome, n, mean, std, CI95 and quantiles.

    The reference definition: the assembly computes the same figures for many points at once
    (:func:`sim.sweeps.assemble.points_statistics`).
    """
    from scipy import stats

    rows = []
    failed = table.num_rows - int(pc_is_ok(table).sum())
    for name in outputs:
        column = table.column(name)
        values = column.drop_null().to_numpy(zero_copy_only=False).astype(float)
        values = values[~np.isnan(values)]
        n = values.size
        row: dict[str, Any] = {"point": point, "outcome": name, "n": n, "failed": failed}
        if n:
            mean = float(values.mean())
            std = float(values.std(ddof=1)) if n > 1 else None
            if std is not None:
                half = float(stats.t.ppf(0.975, n - 1)) * std / np.sqrt(n)
                row.update(ci95_lo=mean - half, ci95_hi=mean + half)
            else:
                row.update(ci95_lo=None, ci95_hi=None)
            row.update(mean=mean, std=std)
            qs = np.quantile(values, [q for _, q in QUANTILES])
            row.update({label: float(v) for (label, _), v in zip(QUANTILES, qs, strict=True)})
        else:
            row.update(mean=None, std=None, ci95_lo=None, ci95_hi=None)
            row.update({label: None for label, _ in QUANTILES})
        rows.append(row)
    return rows


POINTS_SCHEMA = pa.schema(
    [
        pa.field("point", pa.int64()),
        pa.field("outcome", pa.string()),
        pa.field("n", pa.int64()),
        pa.field("failed", pa.int64()),
        pa.field("mean", pa.float64()),
        pa.field("std", pa.float64()),
        pa.field("ci95_lo", pa.float64()),
        pa.field("ci95_hi", pa.float64()),
        *(pa.field(label, pa.float64()) for label, _ in QUANTILES),
    ]
)


def pc_is_ok(table: pa.Table) -> np.ndarray:
    """Which rows of a runs table succeeded (no error)."""
    return ~np.asarray(table.column("error").is_valid())
