"""Executors: where the chunks of a run are computed.

An executor has one job: given a picklable function and a list of chunks (for the runner, ranges of
consecutive replications), call the function on every chunk and yield ``(chunk_index, result)``
pairs as they complete, in whatever order they complete. The runner puts results back in order,
so an executor never affects what a run produces, only how fast it is produced.

Two executors exist: :class:`InProcessExecutor` (one worker, no pool) and
:class:`LocalProcessExecutor` (a ``concurrent.futures.ProcessPoolExecutor``). A Dask executor can
be added as another subclass of :class:`Executor` with the same three methods.

Worker processes are started with the ``forkserver`` method where the platform has it, else
``spawn``. ``fork`` is cheaper to start but copies a parent that may run threads (tqdm's monitor,
Arrow's and BLAS's thread pools, a Dask client), which can deadlock the child; the fork server is
a clean single-threaded process that preloads numpy and the runner once, so every pool after the
first one of a process starts in tens of milliseconds.
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from types import TracebackType
from typing import Any, TypeVar

C = TypeVar("C")
R = TypeVar("R")

#: Modules the fork server imports once, so that forked workers start with them loaded.
FORKSERVER_PRELOAD: tuple[str, ...] = ("numpy", "sim.seeding", "sim.runner.replications")


class Executor(ABC):
    """Runs a function over chunks of work; the small interface every executor implements."""

    #: The name ``--executor`` uses for this executor.
    name: str = ""

    @property
    @abstractmethod
    def workers(self) -> int:
        """How many chunks can run at the same time."""

    @abstractmethod
    def map_chunks(
        self, fn: Callable[[C], R], chunks: Sequence[C]
    ) -> Generator[tuple[int, R], None, None]:
        """Call ``fn`` on every chunk; yield ``(index into chunks, result)`` as results arrive.

        An exception raised by ``fn`` is raised from the iterator. Closing the iterator early
        (or an exception inside it) cancels the chunks that have not started.
        """

    def close(self, *, abort: bool = False) -> None:  # noqa: B027 - optional hook
        """Release the executor's resources; ``abort`` stops running work instead of waiting."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(abort=exc is not None)


class InProcessExecutor(Executor):
    """Runs every chunk in the calling process, one after the other (``workers == 1``)."""

    name = "inprocess"

    @property
    def workers(self) -> int:
        """Always 1."""
        return 1

    def map_chunks(
        self, fn: Callable[[C], R], chunks: Sequence[C]
    ) -> Generator[tuple[int, R], None, None]:
        """Call ``fn`` on each chunk in order."""
        for index, chunk in enumerate(chunks):
            yield index, fn(chunk)


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C is the parent's to handle (it then terminates the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_start_method() -> str:
    """``forkserver`` where available (POSIX), else ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


class LocalProcessExecutor(Executor):
    """A pool of local worker processes (``concurrent.futures.ProcessPoolExecutor``).

    The pool starts on the first :meth:`map_chunks` call and is reused by later calls until
    :meth:`close`, so one executor can serve many runs (a sweep) without restarting workers.
    ``fn`` and the chunks are pickled to the workers; ``fn`` once per chunk.

    ``start_method`` defaults to :func:`default_start_method`. ``preload`` names modules (a
    model's module, say) the fork server imports before forking workers, in addition to
    :data:`FORKSERVER_PRELOAD`; it only counts if this is the process's first fork server.
    """

    name = "local"

    def __init__(
        self, workers: int, *, start_method: str | None = None, preload: Sequence[str] = ()
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self._workers = workers
        self._start_method = start_method or default_start_method()
        self._preload = [*FORKSERVER_PRELOAD, *(name for name in preload if name != "__main__")]
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        """The number of worker processes."""
        return self._workers

    @property
    def start_method(self) -> str:
        """The multiprocessing start method of the workers."""
        return self._start_method

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context(self._start_method)
            if self._start_method == "forkserver":
                # Only takes effect if this process has not started its fork server yet.
                context.set_forkserver_preload(self._preload)
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers, mp_context=context, initializer=_ignore_sigint
            )
        return self._pool

    def map_chunks(
        self, fn: Callable[[C], R], chunks: Sequence[C]
    ) -> Generator[tuple[int, R], None, None]:
        """Submit every chunk to the pool; yield results in completion order."""
        try:
            pickle.dumps(fn)
        except Exception as exc:
            raise TypeError(
                f"cannot send the work to worker processes, it does not pickle: {exc}"
            ) from exc
        pool = self._ensure_pool()
        pending: dict[Future[R], int] = {}
        try:
            for index, chunk in enumerate(chunks):
                pending[pool.submit(fn, chunk)] = index
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                # Yield in chunk order among those done at once: deterministic and harmless.
                for future in sorted(done, key=pending.__getitem__):
                    index = pending.pop(future)
                    yield index, future.result()
        finally:
            for future in pending:
                future.cancel()

    def close(self, *, abort: bool = False) -> None:
        """Shut the pool down; with ``abort``, cancel queued chunks and terminate the workers."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if not abort:
            pool.shutdown(wait=True)
            return
        # Grab the processes before shutdown() forgets them; terminate, then reap.
        processes: list[Any] = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():  # pragma: no cover - a worker ignoring SIGTERM
                process.kill()
                process.join(timeout=5)
        pool.shutdown(wait=True)


def make_executor(name: str, workers: int, *, preload: Sequence[str] = ()) -> Executor:
    """The executor called ``name`` (only ``local`` so far) with ``workers`` workers.

    ``local`` with one worker runs in this process, without a pool. ``preload``: modules the
    workers will need (see :class:`LocalProcessExecutor`).
    """
    if name != "local":
        raise ValueError(f"unknown executor {name!r}: only 'local' is available")
    if workers == 1:
        return InProcessExecutor()
    return LocalProcessExecutor(workers, preload=preload)
