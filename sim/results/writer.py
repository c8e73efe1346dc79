"""Writing a run folder atomically, and the run manifest.

:func:`write_run_folder` builds the whole folder next to its final place and renames it in, so a
reader (or a user after Ctrl-C) sees the old complete folder, the new complete folder, or none,
never a half-written one.
"""

from __future__ import annotations

import platform
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from sim.files import FileContent, to_json, write_folder

#: The run folder, written whole (kept under its old name for callers).
write_run_folder = write_folder

__all__ = ["FileContent", "make_manifest", "to_json", "write_run_folder"]


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
