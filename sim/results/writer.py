"""Writing a run folder atomically, and the run manifest.

:func:`write_run_folder` builds the whole folder next to its final place and renames it in, so a
reader (or a user after Ctrl-C) sees the old complete folder, the new complete folder, or none,
never a half-written one.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import shutil
import socket
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

#: Parquet compression of every table written.
PARQUET_COMPRESSION = "zstd"

#: What a run folder file can be given as (a Path: a finished file moved in, e.g. a large
#: Parquet file streamed to disk beforehand on the same file system).
FileContent: TypeAlias = bytes | str | pa.Table | dict[str, Any] | Path


def _json_default(value: object) -> object:
    """JSON for the numpy scalars and arrays and the paths that end up in dicts."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(data: Mapping[str, Any]) -> str:
    """Pretty JSON (2-space indent, UTF-8, trailing newline); NaN and infinity are errors."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=_json_default)


def _relative_path(name: str) -> PurePosixPath:
    """Check that a file name stays inside the folder (sub-folders allowed)."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or path.parts[:1] == (".",):
        raise ValueError(f"file name {name!r} must be a relative path inside the run folder")
    return path


def _write_file(path: Path, content: FileContent) -> None:
    """Write one file: a Table as Parquet, a dict as JSON, str as UTF-8 text, bytes as is, a
    Path moved in (renamed: it must be on the same file system)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, Path):
        os.replace(content, path)
    elif isinstance(content, pa.Table):
        pq.write_table(content, path, compression=PARQUET_COMPRESSION)
    elif isinstance(content, dict):
        path.write_text(to_json(content) + "\n", encoding="utf-8")
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes | bytearray | memoryview):
        path.write_bytes(bytes(content))
    else:
        raise TypeError(
            f"cannot write {path.name}: {type(content).__name__} is not bytes, str, "
            "a pyarrow Table or a dict"
        )


def _remove(path: Path) -> None:
    """Delete a file or a folder tree, if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def write_run_folder(final_dir: Path, files: Mapping[str, FileContent]) -> Path:
    """Write ``files`` (name -> content) as the folder ``final_dir``, atomically.

    Everything goes into a temporary sibling ``.NAME.tmp-<token>`` first; then an existing
    ``final_dir`` is renamed aside, the new folder renamed in and the old one deleted. On any
    exception, KeyboardInterrupt included, the temporary folder is removed (and an existing
    ``final_dir`` left as it was) and the exception re-raised. Returns ``final_dir``.
    """
    final_dir = Path(final_dir)
    names = {name: _relative_path(name) for name in files}
    parent = final_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(4)
    temporary = parent / f".{final_dir.name}.tmp-{token}"
    aside = parent / f".{final_dir.name}.old-{token}"
    moved_aside = False
    try:
        temporary.mkdir()
        for name, content in files.items():
            _write_file(temporary.joinpath(*names[name].parts), content)
        if final_dir.exists() or final_dir.is_symlink():
            os.rename(final_dir, aside)
            moved_aside = True
        os.rename(temporary, final_dir)
    except BaseException:
        _remove(temporary)
        if moved_aside and not final_dir.exists():
            os.rename(aside, final_dir)
        raise
    if moved_aside:
        _remove(aside)
    return final_dir


def make_manifest(
    command: list[str],
    elapsed_seconds: float,
    workers: int,
    executor: str,
    *,
    finished: datetime | None = None,
) -> dict[str, Any]:
    """``manifest.json``: what the seed does not determine (versions, host, times, workers).

    The start time is ``finished`` (default: now, UTC) minus ``elapsed_seconds``.
    """
    from sim import __version__

    end = (finished or datetime.now(UTC)).astimezone(UTC)
    start = end - timedelta(seconds=elapsed_seconds)

    def stamp(moment: datetime) -> str:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    import scipy

    return {
        "engine_version": __version__,
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "command": list(command),
        "started_utc": stamp(start),
        "finished_utc": stamp(end),
        "elapsed_seconds": round(float(elapsed_seconds), 3),
        "workers": workers,
        "executor": executor,
        "packages": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "pyarrow": pa.__version__,
        },
    }
