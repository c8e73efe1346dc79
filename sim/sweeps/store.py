"""Where a sweep keeps its work: streamed chunk files, each with a record of what it must hold,
the fingerprint that guards resuming, and the check that decides which chunks are done.

While a sweep runs, its results live in a hidden work folder beside the final one::

    OUT/.NAME.sweep/
      fingerprint.json             what the sweep is: a sha256 of its file, of each base
                                   scenario file and of a user model's Python file, the
                                   engine version, the chunking (chunk_runs)
      parts/chunk-0000005.parquet  the rows of chunk 5 (runs [start, stop), point-major)
      parts/chunk-0000005.json     its record: {"format", "chunk", "start", "stop", "rows",
                                   "replications", "first": [point, replication], "last": [...],
                                   "bytes", "sha256"} (sha256 of the Parquet file's bytes)

A chunk's Parquet file is written to a temporary name and renamed, then its record is written
the same way, so after ``kill -9`` at any moment a chunk file is whole or absent, and a chunk
with a record has its file. A chunk counts as done only if it passes :meth:`WorkFolder.verify`:

- its record exists, is JSON of the right shape, and names this chunk, its run range
  ``[start, stop)`` (hence its points and replications) and ``stop - start`` rows;
- its file has the recorded size and sha256;
- the file is Parquet with the sweep's columns and ``stop - start`` rows, and its ``point`` and
  ``replication`` columns are exactly the runs of its range.

Anything else in ``parts/`` is removed, and its chunk run again: a chunk without a record (the
run was killed between the two renames), a truncated file, garbage bytes, values edited inside
a chunk, another chunk's file copied over it (caught by the checksum, and by the run range even
if its record was rewritten to match), a record that names another chunk, a file name that is no
chunk of this sweep (``chunk-abc.parquet``), temporary files of a killed run. A resume checks
every chunk before running the rest, and the assembly checks every chunk again before reading
any, so a chunk damaged while the sweep ran is re-run too rather than failing the assembly.

What this guards against is accidents: killed processes, full or failing disks, files copied,
truncated or edited by hand or by a tool. The checksum is not a signature: someone who rewrites
a chunk's values and its record together, on purpose, is not detected (anyone who can write the
work folder can write the results too). An unreadable ``fingerprint.json`` (not JSON, not the
shape above) is bad input (exit 2) naming the file and saying to delete the work folder.

When every chunk is done, the final folder is assembled from the chunk files in chunk order
(so rows are in (point, replication) order whether the sweep ran at once or was resumed) into
a temporary folder, which is then renamed into place; the work folder is removed.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import InputError, Problem
from sim.files import remove
from sim.model.interface import Model

PARTS = "parts"
FINGERPRINT = "fingerprint.json"
#: The version of a chunk record's shape (a record of another shape is not trusted).
RECORD_FORMAT = 1
#: Largest fingerprint.json read (it holds a few file names and hashes).
MAX_FINGERPRINT_BYTES = 1024 * 1024
#: Largest chunk record read.
MAX_RECORD_BYTES = 64 * 1024

_CHUNK_NAME = re.compile(r"chunk-(\d{7,})\.(parquet|json)")


def fingerprint(files: Sequence[Path], extra: dict[str, Any]) -> dict[str, Any]:
    """What identifies a sweep: a hash of each input file's bytes, plus ``extra`` settings."""
    digests = {str(path): hashlib.sha256(path.read_bytes()).hexdigest() for path in files}
    return {"files": digests, **extra}


def model_sources(model: Model) -> list[Path]:
    """The file of a user model's function (its module; what it imports is not followed), so
    that editing it between an interrupted sweep and its resume is noticed."""
    function = getattr(model, "function", None)
    if not callable(function):
        return []
    try:
        source = inspect.getsourcefile(function())
    except TypeError:  # a builtin or a C extension
        return []
    return [Path(source).resolve()] if source and Path(source).is_file() else []


def read_fingerprint(folder: Path, kind: str) -> dict[str, Any]:
    """The fingerprint in the work folder of an interrupted ``kind`` (a sweep, a calibration);
    bad input (exit 2, naming the file and what to do) if it is not readable JSON of the right
    shape."""
    path = folder / FINGERPRINT

    def unreadable(what: str) -> InputError:
        return InputError(
            [
                Problem(
                    str(path),
                    1,
                    1,
                    "",
                    f"the record of an interrupted {kind} is unreadable ({what}), so it cannot "
                    f"be resumed: delete the folder {folder} to start again",
                )
            ]
        )

    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FINGERPRINT_BYTES + 1)
    except OSError as error:
        raise unreadable(f"cannot read: {error.strerror or error}") from None
    if len(data) > MAX_FINGERPRINT_BYTES:
        raise unreadable(f"larger than {MAX_FINGERPRINT_BYTES:,} bytes")
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise unreadable("not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise unreadable(f"invalid JSON at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise unreadable("nested too deeply") from None
    files = value.get("files") if isinstance(value, dict) else None
    if not (
        isinstance(files, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
        and isinstance(value.get("engine_version"), str)
        and _whole_number(value.get("chunk_runs"))
        and value["chunk_runs"] >= 1
    ):
        raise unreadable('not an object with "files", "engine_version" and a positive "chunk_runs"')
    return value


def resume_refusal(
    folder: Path, print_: dict[str, Any], *, resume: bool, source: str, kind: str
) -> InputError | None:
    """Why the interrupted ``kind`` (a sweep, a calibration) in ``folder``, run from the file
    ``source``, cannot be continued as ``print_``, or None if it can: it was not asked to (no
    ``--resume``), its fingerprint is unreadable, or an input changed (named)."""
    previous = read_fingerprint(folder, kind)
    if not resume:
        message = (
            f"an interrupted run of this {kind} is in {folder}: continue it with --resume, "
            "or delete that folder to start again"
        )
    elif previous != print_:
        files = set(previous["files"]) | set(print_["files"])
        changed = sorted(k for k in files if previous["files"].get(k) != print_["files"].get(k))
        what = ", ".join(changed) if changed else "the engine version or chunking"
        message = (
            f"cannot resume: {what} changed since the interrupted run in {folder}; its "
            "results would not match. Restore the file, or delete that folder to start again"
        )
    else:
        return None
    return InputError([Problem(source, 1, 1, "", message)])


@dataclass(frozen=True)
class ChunkLayout:
    """How a sweep's runs are cut into chunks: chunk ``i`` holds runs
    ``[i * chunk_runs, min((i + 1) * chunk_runs, total_runs))``, run ``point * replications +
    replication``."""

    total_runs: int
    chunk_runs: int
    replications: int

    @property
    def count(self) -> int:
        return -(-self.total_runs // self.chunk_runs)

    def range_of(self, index: int) -> tuple[int, int]:
        """``(start, stop)`` of chunk ``index``."""
        start = index * self.chunk_runs
        return start, min(start + self.chunk_runs, self.total_runs)


@dataclass
class Verification:
    """What :meth:`WorkFolder.verify` found: the chunks that are done, the reason each other
    saved chunk failed (it was removed), and the stray files removed."""

    done: set[int] = field(default_factory=set)
    failed: dict[int, str] = field(default_factory=dict)
    stray: list[str] = field(default_factory=list)

    def describe(self, count: int) -> str:
        """One line: how many chunks are run again and why (empty if none failed)."""
        if not self.failed and not self.stray:
            return ""
        parts = []
        if self.failed:
            by_reason: dict[str, list[int]] = {}
            for index, reason in sorted(self.failed.items()):
                by_reason.setdefault(reason, []).append(index)
            reasons = []
            for reason, indices in by_reason.items():
                shown = ", ".join(str(i) for i in indices[:5]) + (
                    ", ..." if len(indices) > 5 else ""
                )
                reasons.append(f"{len(indices)} {reason} (chunk {shown})")
            parts.append(
                f"{len(self.failed)} of {count:,} saved chunks failed verification and are "
                f"run again: {'; '.join(reasons)}"
            )
        if self.stray:
            shown = ", ".join(self.stray[:5]) + (", ..." if len(self.stray) > 5 else "")
            parts.append(f"removed {len(self.stray)} stray file(s) in parts/: {shown}")
        return "; ".join(parts)


class ChunkError(Exception):
    """A chunk file could not be read at assembly (it changed after it was verified)."""


def _file_digest(path: Path) -> tuple[int, str]:
    """Size and sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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

    def read_fingerprint(self) -> dict[str, Any]:
        """The fingerprint of the interrupted sweep (:func:`read_fingerprint`)."""
        return read_fingerprint(self.path, "sweep")

    def start(self, print_: dict[str, Any], *, resume: bool, sweep_file: str) -> bool:
        """Create the folder, or reopen it with ``resume``; returns whether it was reopened
        (then :meth:`verify` says which chunks are done).

        An existing folder without ``resume``, or a resumed one whose fingerprint differs (the
        sweep file, a base scenario, the engine or the chunking changed), is refused; so is
        one whose fingerprint is unreadable (delete it to start again).
        """
        if self.exists():
            refusal = resume_refusal(
                self.path, print_, resume=resume, source=sweep_file, kind="sweep"
            )
            if refusal is not None:
                raise refusal
            self.parts.mkdir(exist_ok=True)
            return True
        if self.path.exists():  # a folder without a fingerprint: a start that never got going
            shutil.rmtree(self.path)
        self.parts.mkdir(parents=True)
        temporary = self.path / f".{FINGERPRINT}.tmp"
        temporary.write_text(json.dumps(print_, indent=2, sort_keys=True))
        os.replace(temporary, self.path / FINGERPRINT)
        return False

    def done_chunks(self) -> set[int]:
        """Chunks with a file and a record (a cheap count, for messages and tests; what is
        really done is what :meth:`verify` says). Never raises."""
        files: dict[int, set[str]] = {}
        try:
            names = [entry.name for entry in os.scandir(self.parts)]
        except OSError:
            return set()
        for name in names:
            match = _CHUNK_NAME.fullmatch(name)
            if match:
                files.setdefault(int(match.group(1)), set()).add(match.group(2))
        return {index for index, kinds in files.items() if kinds == {"parquet", "json"}}

    def chunk_path(self, index: int) -> Path:
        return self.parts / f"chunk-{index:07d}.parquet"

    def record_path(self, index: int) -> Path:
        return self.parts / f"chunk-{index:07d}.json"

    def write_chunk(self, index: int, layout: ChunkLayout, table: pa.Table) -> None:
        """Write chunk ``index``'s rows (:meth:`ChunkLayout.range_of`), then its record, each
        atomically."""
        expected = self._expected_record(index, layout)
        if table.num_rows != expected["rows"]:
            raise ValueError(f"chunk {index} has {table.num_rows} rows, not {expected['rows']}")
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        data = sink.getvalue()
        final = self.chunk_path(index)
        temporary = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        with temporary.open("wb") as handle:
            handle.write(data)
        os.replace(temporary, final)
        record = {**expected, "bytes": data.size, "sha256": hashlib.sha256(data).hexdigest()}
        final = self.record_path(index)
        temporary = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        temporary.write_text(json.dumps(record, sort_keys=True))
        os.replace(temporary, final)

    def _expected_record(self, index: int, layout: ChunkLayout) -> dict[str, Any]:
        start, stop = layout.range_of(index)
        return {
            "format": RECORD_FORMAT,
            "chunk": index,
            "start": start,
            "stop": stop,
            "rows": stop - start,
            "replications": layout.replications,
            "first": list(divmod(start, layout.replications)),
            "last": list(divmod(stop - 1, layout.replications)),
        }

    def check_chunk(self, index: int, layout: ChunkLayout, schema: pa.Schema) -> str | None:
        """Why chunk ``index`` is not done (None if it is): see the module's docstring."""
        record_path = self.record_path(index)
        if not record_path.is_file():
            return "without a record" if self.chunk_path(index).exists() else "not written"
        try:
            with record_path.open("rb") as handle:
                record = json.loads(handle.read(MAX_RECORD_BYTES + 1).decode("utf-8"))
        except (OSError, ValueError, RecursionError):
            return "with an unreadable record"
        expected = self._expected_record(index, layout)
        if not isinstance(record, dict) or any(
            record.get(key) != value for key, value in expected.items()
        ):
            return "with a record of another chunk or range"
        path = self.chunk_path(index)
        try:
            size, digest = _file_digest(path)
        except OSError:
            return "with a missing or unreadable file"
        if size != record.get("bytes"):
            return "with a file of another size (truncated or replaced)"
        if digest != record.get("sha256"):
            return "with a checksum mismatch (edited or replaced)"
        try:
            parquet = pq.ParquetFile(path)
            if not parquet.schema_arrow.equals(schema, check_metadata=False):
                return "with other columns than this sweep's"
            if parquet.metadata.num_rows != expected["rows"]:
                return "with a wrong row count"
            keys = parquet.read(columns=["point", "replication"], use_threads=False)
        except (OSError, pa.ArrowException, ValueError):
            return "that is not a readable Parquet file"
        start, stop = layout.range_of(index)
        point, replication = np.divmod(np.arange(start, stop, dtype=np.int64), layout.replications)
        if not (
            np.array_equal(keys.column("point").to_numpy(zero_copy_only=False), point)
            and np.array_equal(
                keys.column("replication").to_numpy(zero_copy_only=False), replication
            )
        ):
            return "holding the runs of another range"
        return None

    def verify(self, layout: ChunkLayout, schema: pa.Schema) -> Verification:
        """Check every saved chunk (see the module's docstring): remove each one that fails
        (file and record), and every file in ``parts/`` that is no chunk of this sweep."""
        found: Verification = Verification()
        indices: set[int] = set()
        self.parts.mkdir(parents=True, exist_ok=True)
        for entry in os.scandir(self.parts):
            match = _CHUNK_NAME.fullmatch(entry.name)
            if match and int(match.group(1)) < layout.count and entry.is_file():
                indices.add(int(match.group(1)))
            elif entry.name.startswith(".chunk-") and ".tmp-" in entry.name:
                remove(Path(entry.path))  # a temporary file of a killed run
            else:
                found.stray.append(entry.name)
                remove(Path(entry.path))
        found.stray.sort()
        for index in sorted(indices):
            reason = self.check_chunk(index, layout, schema)
            if reason is None:
                found.done.add(index)
            else:
                found.failed[index] = reason
                remove(self.chunk_path(index))
                remove(self.record_path(index))
        return found

    def read_chunks(self, layout: ChunkLayout, schema: pa.Schema) -> Iterator[pa.Table]:
        """Every chunk's rows, in chunk order (:class:`ChunkError` if one is unreadable or
        does not hold its runs: it changed after it was verified)."""
        for index in range(layout.count):
            path = self.chunk_path(index)
            start, stop = layout.range_of(index)
            try:
                table = pq.read_table(path, use_threads=False)
            except (OSError, pa.ArrowException, ValueError) as error:
                raise ChunkError(
                    f"chunk file {path} became unreadable after it was verified ({error})"
                ) from None
            first = table.column("point")[0].as_py() if table.num_rows else None
            if (
                table.num_rows != stop - start
                or not table.schema.equals(schema, check_metadata=False)
                or first != start // layout.replications
            ):
                raise ChunkError(f"chunk file {path} changed after it was verified")
            yield table

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
