"""Result folders on disk: which kind a folder is, and writing files and folders atomically.

Every file ``sim`` writes goes through a temporary sibling renamed into place, so a reader (or a
user after Ctrl-C or ``kill -9``) sees the old complete file, the new complete file, or none,
never half of one. A folder is written whole the same way (:func:`write_folder`).

A temporary sibling is named ``.NAME.tmp-PID-TOKEN`` (or ``.old-``): one left behind by a
process that was killed (its PID is no longer running) is removed by the next write to the same
place. A folder is replaced only if everything in it is something ``sim`` writes
(:data:`SIM_WRITES`): files a user added make the write fail as bad input before anything
changes (:func:`check_replaceable`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import ARGUMENTS, InputError, Problem

FolderKind = Literal["run", "sweep", "calibration"]

#: The files that make a folder of each kind (checked in this order: a sweep folder also has
#: runs.parquet and summary.json).
FOLDER_FILES: dict[FolderKind, tuple[str, ...]] = {
    "calibration": ("posterior.parquet", "calibration.json"),
    "sweep": ("design.parquet", "summary.json"),
    "run": ("runs.parquet", "summary.json"),
}

#: Everything ``sim`` writes into a result folder: a folder holding only these (and the files
#: being written) may be replaced by a new run of the same name.
SIM_WRITES = frozenset(
    {
        "runs.parquet",
        "summary.json",
        "timeseries.parquet",
        "scenario.resolved.yaml",
        "manifest.json",
        "report.html",
        "plots",
        "design.parquet",
        "points.parquet",
        "sensitivity.json",
        "sweep.yaml",
        "base.resolved.yaml",
        "discovery.json",
        "posterior.parquet",
        "populations.parquet",
        "calibration.json",
        "posterior.yaml",
        "calibration.yaml",
        "predictive.parquet",
    }
)

#: Parquet compression of every table written.
PARQUET_COMPRESSION = "zstd"

#: What a file can be given as (a Path: a finished file moved in, e.g. a large Parquet file
#: streamed to disk beforehand on the same file system).
FileContent: TypeAlias = bytes | str | pa.Table | dict[str, Any] | list[Any] | Path


def _problem(path: Path, message: str) -> InputError:
    return InputError([Problem(str(path), 1, 1, "", message)])


def output_folder(value: str | os.PathLike[str], name: str = "--out") -> Path:
    """The parent folder results are written into (``--out``, the API's ``out``) as a Path.

    An empty or blank value is refused (an :class:`InputError` about the argument ``name``):
    ``Path("")`` is the current folder, which the user did not name.
    """
    text = os.fspath(value)
    if not text.strip():
        raise InputError(
            [
                Problem(
                    ARGUMENTS,
                    1,
                    1,
                    name,
                    f"expected the folder to write results into, got {text!r} (for the current "
                    "folder, write '.')",
                )
            ]
        )
    return Path(text)


def folder_kind(folder: Path, expected: tuple[FolderKind, ...] | None = None) -> FolderKind:
    """The kind of a result folder; bad input (exit 2) naming the folder if it is none of
    ``expected`` (default: any kind)."""
    folder = Path(folder)
    kinds = expected or tuple(FOLDER_FILES)
    if not folder.exists():
        raise _problem(folder, "no such folder")
    if not folder.is_dir():
        raise _problem(folder, f"is a file; expected {_kinds_text(kinds)}")
    for kind in FOLDER_FILES:
        if all((folder / name).is_file() for name in FOLDER_FILES[kind]):
            if kind in kinds:
                return kind
            break
    present = sorted(p.name for p in folder.iterdir() if p.is_file())
    found = ", ".join(present[:6]) if present else "no files"
    wanted = " nor ".join(f"a {kind} folder ({' and '.join(FOLDER_FILES[kind])})" for kind in kinds)
    raise _problem(folder, f"not {wanted}; it has {found}")


def _parquet(path: Path, read: Any) -> Any:
    path = Path(path)
    if not path.is_file():
        raise _problem(path, "missing" if not path.exists() else "not a regular file")
    try:
        return read(path)
    except (OSError, pa.ArrowException, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise _problem(
            path, f"cannot read it as Parquet ({reason}); run the command that made it again"
        ) from None


def read_table(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A Parquet file of a result folder; bad input (exit 2) naming the file if it is missing,
    truncated or not Parquet (never a raw Arrow error)."""
    return _parquet(path, lambda p: pq.read_table(p, columns=columns))


def read_schema(path: Path) -> pa.Schema:
    """The schema of a Parquet file of a result folder (errors as :func:`read_table`)."""
    return _parquet(path, pq.read_schema)


def read_json(path: Path, *, required: bool = True) -> Any:
    """A JSON file of a result folder (None if absent and not ``required``); bad input naming
    the file, line and column if it is not UTF-8 JSON (its content is never echoed)."""
    path = Path(path)
    if not path.is_file():
        if required:
            raise _problem(path, "missing")
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _problem(path, "is not UTF-8 text") from None
    except OSError as error:
        raise _problem(path, f"cannot read: {error.strerror or error}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(
            [Problem(str(path), error.lineno, error.colno, "", f"invalid JSON: {error.msg}")]
        ) from None


def _kinds_text(kinds: tuple[FolderKind, ...]) -> str:
    return " or ".join(f"a {kind} folder" for kind in kinds)


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


def to_json(data: Any) -> str:
    """Pretty JSON (2-space indent, UTF-8); NaN and infinity are errors."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False, default=_json_default)


def _write_content(path: Path, content: FileContent) -> None:
    """Write one file: a Table as Parquet, a dict or list as JSON, str as UTF-8 text, bytes as
    is, a Path moved in (renamed: it must be on the same file system)."""
    if isinstance(content, Path):
        os.replace(content, path)
    elif isinstance(content, pa.Table):
        pq.write_table(content, path, compression=PARQUET_COMPRESSION)
    elif isinstance(content, dict | list):
        path.write_text(to_json(content) + "\n", encoding="utf-8")
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes | bytearray | memoryview):
        path.write_bytes(bytes(content))
    else:
        raise TypeError(
            f"cannot write {path.name}: {type(content).__name__} is not bytes, str, "
            "a pyarrow Table, a dict or a list"
        )


def temporary_sibling(path: Path, tag: str = "tmp") -> Path:
    """A hidden, unique sibling of ``path`` to write before renaming into place, named with this
    process's PID (see :func:`remove_stale_siblings`)."""
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}")


def process_running(pid: int) -> bool:
    """Whether a process with this PID exists (ours or another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_siblings(path: Path) -> list[Path]:
    """Remove the temporary siblings of ``path`` (``.NAME.tmp-PID-TOKEN``, ``.NAME.old-...``)
    left by processes that are no longer running; returns what was removed. Siblings of a
    running process (a concurrent write) are left alone."""
    removed: list[Path] = []
    parent = path.parent
    if not parent.is_dir():
        return removed
    for tag in ("tmp", "old"):
        for sibling in parent.glob(f".{glob_escape(path.name)}.{tag}-*"):
            pid_text = sibling.name.rsplit(f".{tag}-", 1)[1].split("-", 1)[0]
            if pid_text.isdigit() and not process_running(int(pid_text)):
                remove(sibling)
                removed.append(sibling)
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters escaped."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in name)


def foreign_entries(folder: Path, writing: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The entries of ``folder`` that ``sim`` did not write (not in :data:`SIM_WRITES` nor
    ``writing``, hidden temporary siblings aside), sorted."""
    if not folder.is_dir() or folder.is_symlink():
        return []
    allowed = SIM_WRITES | set(writing)
    return sorted(entry.name for entry in folder.iterdir() if entry.name not in allowed)


#: What sim derives from a folder's results after the fact (it goes when the results are
#: replaced, being about the old ones).
DERIVED = ("report.html", "plots", "discovery.json")


def derived_entries(folder: Path) -> list[str]:
    """The derived files (:data:`DERIVED`) a result folder has, which replacing it removes."""
    return [name for name in DERIVED if (Path(folder) / name).exists()]


def check_replaceable(folder: Path, writing: set[str] | frozenset[str] = frozenset()) -> None:
    """Refuse (bad input, exit 2) to replace ``folder`` if it holds anything ``sim`` did not
    write, or is a file: a new run must never delete a user's files."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise _problem(folder, "exists and is not a folder; move it away or choose another --out")
    foreign = foreign_entries(folder, writing)
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise _problem(
            folder,
            f"holds files sim did not write ({shown}): replacing the folder would delete them; "
            "move them away or choose another --out (nothing was written)",
        )


def write_file(path: Path, content: FileContent) -> Path:
    """Write ``content`` to ``path`` atomically (see :func:`_write_content` for the forms)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_siblings(path)
    temporary = temporary_sibling(path)
    try:
        _write_content(temporary, content)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _relative_path(name: str) -> PurePosixPath:
    """Check that a file name stays inside the folder (sub-folders allowed)."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or path.parts[:1] == (".",):
        raise ValueError(f"file name {name!r} must be a relative path inside the folder")
    return path


def remove(path: Path) -> None:
    """Delete a file or a folder tree, if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def write_folder(
    final_dir: Path, files: Mapping[str, FileContent], *, replace_any: bool = False
) -> Path:
    """Write ``files`` (name -> content) as the folder ``final_dir``, atomically.

    Everything goes into a temporary sibling ``.NAME.tmp-PID-TOKEN`` first; then an existing
    ``final_dir`` is renamed aside, the new folder renamed in and the old one deleted. On any
    exception, KeyboardInterrupt included, the temporary folder is removed (and an existing
    ``final_dir`` left as it was) and the exception re-raised. Returns ``final_dir``.

    An existing ``final_dir`` holding entries ``sim`` does not write is refused
    (:func:`check_replaceable`) unless ``replace_any`` (a folder wholly ``sim``'s, such as a
    report's ``plots/``). Stale temporary siblings of killed writers are removed first.
    """
    final_dir = Path(final_dir)
    names = {name: _relative_path(name) for name in files}
    if not replace_any:
        check_replaceable(final_dir, {names[name].parts[0] for name in names})
    parent = final_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    remove_stale_siblings(final_dir)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    temporary = parent / f".{final_dir.name}.tmp-{token}"
    aside = parent / f".{final_dir.name}.old-{token}"
    moved_aside = False
    try:
        temporary.mkdir()
        for name, content in files.items():
            target = temporary.joinpath(*names[name].parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_content(target, content)
        if final_dir.exists() or final_dir.is_symlink():
            os.rename(final_dir, aside)
            moved_aside = True
        os.rename(temporary, final_dir)
    except BaseException:
        remove(temporary)
        if moved_aside and not final_dir.exists():
            os.rename(aside, final_dir)
        raise
    if moved_aside:
        remove(aside)
    return final_dir
