"""A run's daily series on disk: appended chunk by chunk, read back day block by day block.

``sim run`` does not hold every replication's daily series as ``(N, days)`` arrays in memory:
each finished chunk's series go to a temporary file (one per series, in a temporary folder
named ``sim-series-*``), stored day-major within the chunk, so that the days ``a..b-1`` of all
replications are one contiguous read per chunk. :func:`sim.results.series_bands` computes the
daily bands from it a block of days at a time (the same numbers, bit for bit, as from the whole
array), so the memory the series need is one block, not ``N x days``.

The folder is removed by :meth:`SeriesStore.close`, when the store is garbage-collected, or at
interpreter exit (Ctrl-C included); only a process killed outright (``kill -9``) leaves it.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

#: Bytes of one float64 value.
ITEM = 8


#: Temporary folders of series stores: ``sim-series-PID-RANDOM`` in the temporary directory.
PREFIX = "sim-series-"


def remove_stale_stores(folder: Path | None = None) -> list[Path]:
    """Remove the series stores left in ``folder`` (default: the temporary directory) by
    processes that are no longer running (a ``kill -9``); returns what was removed."""
    from sim.files import process_running, remove

    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        pid = path.name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not process_running(int(pid)):
            remove(path)
            removed.append(path)
    return removed


class SeriesStore(Mapping[str, np.ndarray]):
    """The daily series of a run's replications, kept in a temporary folder.

    A read-only mapping from series name to its ``(N, days)`` float64 array, loaded from disk
    on each access (``store["held"]``); :meth:`read_days` loads only some days. Chunks are
    added in any order with :meth:`add` and must in the end cover replications ``0..N-1``.
    """

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._files: dict[str, io.BufferedRandom] = {}
        self._ends: dict[str, int] = {name: 0 for name in self.names}
        self._days: dict[str, int] = {}
        self._nan: dict[str, bool] = {name: False for name in self.names}
        #: (start, stop) -> byte offset of the chunk, per series.
        self._chunks: dict[str, dict[tuple[int, int], int]] = {name: {} for name in self.names}
        self.closed = False

    # -- writing -------------------------------------------------------------------------------

    def _file(self, name: str) -> io.BufferedRandom:
        if self.closed:
            raise ValueError("the series store is closed")
        if self._folder is None:
            remove_stale_stores()
            self._folder = tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-")
        if name not in self._files:
            path = Path(self._folder.name) / f"{len(self._files)}.f64"
            self._files[name] = open(path, "w+b")  # noqa: SIM115 - closed in close()
        return self._files[name]

    def add(self, start: int, stop: int, series: Mapping[str, np.ndarray]) -> None:
        """Store the series of replications ``start..stop-1`` (``(stop - start, days)`` each)."""
        for name in self.names:
            data = np.asarray(series[name], dtype=np.float64)
            if data.ndim != 2 or data.shape[0] != stop - start:
                raise ValueError(
                    f"series {name!r} of replications {start}..{stop - 1} has shape {data.shape}"
                )
            days = self._days.setdefault(name, data.shape[1])
            if data.shape[1] != days:
                lengths = sorted({days, data.shape[1]})
                raise ValueError(f"series {name!r} has different lengths: {lengths} steps")
            handle = self._file(name)
            handle.seek(self._ends[name])
            np.ascontiguousarray(data.T).tofile(handle)
            self._chunks[name][(start, stop)] = self._ends[name]
            self._ends[name] += data.size * ITEM
            self._nan[name] = self._nan[name] or bool(np.isnan(data).any())

    # -- reading -------------------------------------------------------------------------------

    def rows(self) -> int:
        """Replications stored (those of the first series; 0 without series)."""
        if not self.names:
            return 0
        return sum(stop - start for start, stop in self._chunks[self.names[0]])

    def shape(self, name: str) -> tuple[int, int]:
        """``(replications, days)`` of series ``name``."""
        return self.rows(), self._days.get(name, 0)

    def has_nan(self, name: str) -> bool:
        """Whether any value of series ``name`` is NaN."""
        return self._nan[name]

    def nbytes(self) -> int:
        """Bytes on disk."""
        return sum(self._ends.values())

    def read_days(self, name: str, first: int, stop: int) -> np.ndarray:
        """Days ``first..stop-1`` of every replication: a C-contiguous ``(N, stop - first)``
        float64 array."""
        if self.closed:
            raise ValueError("the series store is closed")
        rows, days = self.shape(name)
        if not 0 <= first <= stop <= days:
            raise ValueError(f"days {first}..{stop} outside 0..{days} of series {name!r}")
        width = stop - first
        out = np.empty((rows, width), dtype=np.float64)
        if rows == 0 or width == 0:
            return out
        handle = self._files[name]
        handle.flush()
        for (start, end), offset in sorted(self._chunks[name].items()):
            if end > rows:
                raise ValueError(f"series {name!r}: replications {start}..{end - 1} past {rows}")
            count = end - start
            if count == 0:
                continue
            block = np.empty((width, count), dtype=np.float64)
            handle.seek(offset + first * count * ITEM)
            if handle.readinto(block.data.cast("B")) != block.nbytes:
                raise OSError(f"series {name!r}: the temporary file is short")
            out[start:end] = block.T
        return out

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._chunks:
            raise KeyError(name)
        return self.read_days(name, 0, self.shape(name)[1])

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name!r}: {self.shape(name)}" for name in self.names)
        return f"SeriesStore({{{shapes}}}, on disk)"

    # -- life ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Remove the temporary folder (idempotent); the store can no longer be read."""
        self.closed = True
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def __enter__(self) -> SeriesStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
