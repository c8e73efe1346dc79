"""Executors: where the chunks of a run are computed.

An executor has one job: given a picklable function and a list of chunks (for the runner, ranges of
consecutive replications), call the function on every chunk and yield ``(chunk_index, result)``
pairs as they complete, in whatever order they complete. The runner puts results back in order,
so an executor never affects what a run produces, only how fast it is produced.

Three executors exist: :class:`InProcessExecutor` (one worker, no pool),
:class:`LocalProcessExecutor` (a ``concurrent.futures.ProcessPoolExecutor``) and
:class:`DaskExecutor` (Dask tasks on a given cluster, or on a local one it starts);
:func:`make_executor` builds one by its ``--executor`` name. dask is imported only by the last.

Local worker processes are started with the ``forkserver`` method where the platform has it, else
``spawn``. ``fork`` is cheaper to start but copies a parent that may run threads (tqdm's monitor,
Arrow's and BLAS's thread pools, a Dask client), which can deadlock the child; the fork server is
a clean single-threaded process that preloads numpy and the runner once, so every pool after the
first one of a process starts in tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import pickle
import select
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from sim.errors import InputError, Problem

if TYPE_CHECKING:
    from distributed import Client, LocalCluster
    from distributed import Future as DaskFuture

C = TypeVar("C")
R = TypeVar("R")

#: The executors ``--executor`` accepts.
EXECUTORS: tuple[str, ...] = ("local", "dask")
#: Where argument problems are reported (as in :mod:`sim.cli`).
ARGUMENTS = "<command line>"

#: Modules the fork server imports once, so that forked workers start with them loaded.
FORKSERVER_PRELOAD: tuple[str, ...] = ("numpy", "sim.seeding", "sim.runner.engine")


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


def _check_picklable(fn: object, where: str) -> None:
    """Fail early, and clearly, if the work cannot travel to ``where``."""
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise TypeError(f"cannot send the work to {where}, it does not pickle: {exc}") from exc


#: Exit status of a worker that ends because the process that started its pool is gone.
ORPHAN_EXIT = 1
#: Seconds between checks that the pool's owner is alive, where it cannot be waited on.
ORPHAN_POLL = 0.5


def _wait_for_exit(pid: int) -> None:
    """Return once process ``pid`` has ended (at once if it is already gone).

    Linux: wait on a pidfd, which becomes readable when the process ends, even before it is
    reaped. Elsewhere: poll ``os.kill(pid, 0)`` (a reaped process; an unreaped one counts as
    alive until its parent reaps it).
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        try:
            select.select([fd], [], [])
        finally:
            os.close(fd)
        return
    while True:  # pragma: no cover - not Linux
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            pass
        time.sleep(ORPHAN_POLL)


def _exit_with(owner: int) -> None:
    """Watchdog thread of a worker: end the worker at once when ``owner`` (the process that
    started the pool) ends, however it ended (kill -9 included), instead of waiting for work
    that will never come, holding the fork server and the resource tracker alive with it."""
    _wait_for_exit(owner)
    os._exit(ORPHAN_EXIT)


def _init_worker(owner: int) -> None:
    """Worker initializer: Ctrl-C is the parent's to handle (it then terminates the workers),
    and the worker exits when ``owner``, the process that started the pool, is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(owner,), name="sim-orphan-watch", daemon=True).start()


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
                max_workers=self._workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(os.getpid(),),
            )
        return self._pool

    def map_chunks(
        self, fn: Callable[[C], R], chunks: Sequence[C]
    ) -> Generator[tuple[int, R], None, None]:
        """Submit every chunk to the pool; yield results in completion order."""
        _check_picklable(fn, "worker processes")
        pool = self._ensure_pool()
        pending: dict[Future[R], int] = {}
        try:
            # Submitting starts the workers: a Ctrl-C or SIGTERM then would leave a worker the
            # pool does not know yet, that fails (a traceback) once this process is gone.
            with _signals_held():
                for index, chunk in enumerate(chunks):
                    pending[pool.submit(fn, chunk)] = index
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                # Yield in chunk order among those done at once: deterministic and harmless.
                for future in sorted(done, key=pending.__getitem__):
                    index = pending.pop(future)
                    result = future.result()
                    yield index, result
        except BrokenProcessPool:
            # From a result, or from submitting once a worker already died (the pool is broken).
            raise RuntimeError(
                "a worker process died while running the model (did the model "
                "call os._exit, crash the interpreter, or run out of memory? "
                "was it killed? From a Python script: workers import the script "
                "again, so calls such as sim.run belong under "
                '`if __name__ == "__main__":`)'
            ) from None
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


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back meanwhile (if this is the main thread), then deliver them.

    SIGINT is blocked (where the platform can): the fork server, the resource tracker and the
    workers started meanwhile inherit the blocked SIGINT from their very start, so a Ctrl-C sent
    to the whole process group cannot interrupt them half-started (a traceback from the fork
    server's imports). They are never to handle it: the parent stops them. SIGTERM gets a
    handler that notes it (the workers must stay killable by it). At the end both handlers are
    restored, SIGINT unblocked (a pending Ctrl-C arrives then) and a noted SIGTERM re-sent.
    """
    held: list[int] = []
    try:
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: held.append(signum))
    except ValueError:  # not the main thread
        yield
        return
    can_block = hasattr(signal, "pthread_sigmask")
    if can_block:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        if can_block:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        if held:
            signal.raise_signal(signal.SIGTERM)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT meanwhile, and hold SIGTERM back until the end (if this is the main
    thread), then restore both handlers and deliver a SIGTERM that came meanwhile.

    Worker processes started meanwhile inherit the ignored SIGINT from their very start, so a
    Ctrl-C cannot kill them half-started (tracebacks, a cluster that fails to close); a Ctrl-C
    pressed meanwhile is lost (the cluster takes about 2 s to start). A SIGTERM is not lost: its
    handler (``sim``'s stops the run) runs once the cluster is up and can be closed properly.
    """
    held: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    previous_term = signal.signal(signal.SIGTERM, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)
        if held:
            signal.raise_signal(signal.SIGTERM)


def dask_setup(worker: object) -> None:
    """Dask preload hook of the local cluster's workers: leave Ctrl-C to the parent process.

    The terminal sends SIGINT to the workers too; the parent handles it (cancels the chunks and
    shuts the cluster down), so the workers ignore it rather than die printing tracebacks. The
    first workers already ignore it (:func:`_sigint_ignored`); this covers any Dask restarts.
    """
    with contextlib.suppress(ValueError):  # not the main thread: signals are not ours to set
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _call_chunk(fn: Callable[[C], R], chunk: C) -> R:
    """Dask task: apply the function scattered to every worker once to one chunk."""
    return fn(chunk)


#: Seconds :class:`DaskExecutor` waits to reach a scheduler before reporting it unreachable.
DASK_CONNECT_TIMEOUT = 5.0
#: Seconds :class:`DaskExecutor` waits for a scheduler without workers to get its first one.
DASK_WORKER_TIMEOUT = 60.0


class DaskExecutor(Executor):
    """Chunks as Dask tasks, on an existing cluster (``scheduler``) or on a local one.

    With ``scheduler`` (an address such as ``tcp://10.0.0.5:8786``, or the path of a scheduler
    file written by ``dask scheduler --scheduler-file``), a ``distributed.Client`` connects to
    that cluster; ``workers`` is then ignored and :attr:`workers` is the cluster's total number
    of worker threads. The cluster's workers need ``sim`` (and the model's module) importable.
    Closing the executor disconnects, leaving the cluster running. A scheduler that cannot be
    reached within ``connect_timeout`` seconds is an :class:`~sim.errors.InputError` about
    ``--scheduler``; one without workers gets ``worker_timeout`` seconds to acquire one.

    Without ``scheduler``, a ``LocalCluster`` is started on 127.0.0.1: ``workers`` single-threaded
    worker processes (default: the number of cores), no dashboard, only errors logged. Closing
    the executor shuts it down. Its workers ignore Ctrl-C, which the caller handles (the runner
    aborts: cancel, shut down, KeyboardInterrupt); a Ctrl-C during its ~1 s start is ignored.

    ``fn`` is scattered to every worker once per :meth:`map_chunks` call and each task refers to
    it, so a large model is not pickled into every task. Tasks are impure (``pure=False``): each
    chunk runs once per call. A worker lost mid-run has its chunks rescheduled on the others by
    Dask; since a chunk is a deterministic function of the seed, the results do not change.
    dask and distributed are imported only when this executor is created.
    """

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int | None = None,
        *,
        connect_timeout: float = DASK_CONNECT_TIMEOUT,
        worker_timeout: float = DASK_WORKER_TIMEOUT,
    ) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        import distributed

        self._cluster: LocalCluster | None = None
        self._futures: list[DaskFuture] = []
        if scheduler is None:
            client: Client | None = None
            try:
                with _sigint_ignored():
                    self._cluster = distributed.LocalCluster(
                        n_workers=workers or os.cpu_count() or 1,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=":0",  # HTTP routes on a free port: no clash on 8787
                        silence_logs=logging.ERROR,
                        preload=[__name__],  # runs dask_setup() below in each worker
                    )
                    client = distributed.Client(self._cluster, set_as_default=False)
            except BaseException:  # a SIGTERM held back during the start arrives here too
                if client is not None:
                    client.close()
                if self._cluster is not None:
                    self._cluster.close()
                raise
            self._client = client
        else:
            self._client = _connect(scheduler, connect_timeout)
            try:
                if not self._client.nthreads():
                    self._client.wait_for_workers(1, timeout=worker_timeout)
            except BaseException as exc:
                self._client.close()
                if isinstance(exc, TimeoutError):
                    raise RuntimeError(
                        f"the Dask scheduler at {scheduler} has no workers "
                        f"(waited {worker_timeout:g} s for one)"
                    ) from None
                raise
        # The client logs connection trouble as tracebacks; map_chunks reports it as an error.
        self._client_logger = logging.getLogger("distributed.client")
        self._client_log_level = self._client_logger.level
        self._client_logger.setLevel(logging.CRITICAL)
        self._workers = 1
        self._refresh_workers()

    @property
    def client(self) -> Client:
        """The ``distributed.Client`` (for callers that want to look at the cluster)."""
        return self._client

    @property
    def workers(self) -> int:
        """The cluster's total worker threads now (the last known value once closed), at least 1.

        Threads rather than worker processes, because a thread is what runs one chunk: a worker
        started with ``--nthreads 4`` takes four chunks at a time. (The built-in model holds the
        GIL, so a worker gains nothing from a second thread: start workers with ``--nthreads 1``
        and as many of them as cores.)
        """
        self._refresh_workers()
        return self._workers

    def _refresh_workers(self) -> None:
        if self._client.status != "running":
            return
        try:
            threads = sum(self._client.nthreads().values())
        except Exception:  # pragma: no cover - a scheduler gone away: keep the last value
            return
        self._workers = max(1, threads)

    def map_chunks(
        self, fn: Callable[[C], R], chunks: Sequence[C]
    ) -> Generator[tuple[int, R], None, None]:
        """Scatter ``fn`` to every worker, submit a task per chunk, yield results as they come."""
        from distributed import as_completed

        _check_picklable(fn, "Dask workers")
        client = self._client
        shared = client.scatter(fn, broadcast=True, hash=False)
        pending: dict[DaskFuture, int] = {}
        self._futures = [shared]
        try:
            for index, chunk in enumerate(chunks):
                future = client.submit(_call_chunk, shared, chunk, pure=False)
                pending[future] = index
                self._futures.append(future)
            for future in as_completed(list(pending), loop=client.loop):
                index = pending.pop(future)
                try:
                    result = future.result()
                except CancelledError as exc:  # not by us: the scheduler went away, say
                    reason = getattr(exc, "reason", "") or "unknown"
                    raise RuntimeError(
                        f"the Dask cluster dropped the work ({reason}): was the scheduler, "
                        "or the connection to it, lost?"
                    ) from None
                yield index, result
        finally:
            self._cancel()

    def _cancel(self) -> None:
        """Cancel (release) the futures of the current :meth:`map_chunks` call."""
        futures, self._futures = self._futures, []
        if futures and self._client.status == "running":
            with contextlib.suppress(Exception):
                self._client.cancel(futures)

    def close(self, *, abort: bool = False) -> None:
        """Disconnect; shut the local cluster down if this executor started it.

        ``abort`` first cancels the chunks still queued or running (a task already running on
        an external cluster finishes there, its result discarded).
        """
        if abort:
            self._cancel()
        with contextlib.suppress(Exception):
            self._client.close()
        cluster, self._cluster = self._cluster, None
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()
        self._client_logger.setLevel(self._client_log_level)


def _scheduler_problem(message: str) -> InputError:
    return InputError([Problem(ARGUMENTS, 1, 1, "--scheduler", message)])


def _connect(scheduler: str, timeout: float) -> Client:
    """A client of the scheduler at ``scheduler`` (an address, or a scheduler file's path).

    A malformed address, or one where no scheduler answers within ``timeout`` seconds, is an
    :class:`~sim.errors.InputError` about ``--scheduler``. The address is checked before the
    client is made: a client given a malformed one takes ~10 s to give up.
    """
    import distributed
    from distributed.comm.addressing import normalize_address, parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    address = scheduler
    if os.path.isfile(scheduler):
        try:
            with open(scheduler, encoding="utf-8") as file:
                address = json.load(file)["address"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            raise _scheduler_problem(f"cannot read the scheduler file: {reason}") from None
    try:
        if not isinstance(address, str) or not address.strip():
            raise ValueError(f"{address!r}")
        protocol, location = parse_address(normalize_address(address))
        get_backend(protocol)
        if protocol in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except ValueError as exc:
        raise _scheduler_problem(f"not a Dask scheduler address: {exc}") from None
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if "Timed out" in reason:
            reason = f"no scheduler answered within {timeout:g} s"
        message = f"cannot connect to the Dask scheduler at {address}: {reason}"
        raise _scheduler_problem(message) from None


def make_executor(
    name: str, workers: int, *, preload: Sequence[str] = (), scheduler: str | None = None
) -> Executor:
    """The executor called ``name`` (``local`` or ``dask``) with ``workers`` workers.

    ``local`` with one worker runs in this process, without a pool; ``preload``: modules the
    workers will need (see :class:`LocalProcessExecutor`). ``dask`` connects to ``scheduler``
    if given (``workers`` is then the cluster's), else starts a local cluster of ``workers``
    processes (see :class:`DaskExecutor`). ``scheduler`` with ``local`` is an
    :class:`~sim.errors.InputError` about ``--scheduler``, like an unreachable scheduler.
    """
    if name == "dask":
        return DaskExecutor(scheduler, workers)
    if name != "local":
        raise ValueError(f"unknown executor {name!r}: choose from {', '.join(EXECUTORS)}")
    if scheduler is not None:
        raise _scheduler_problem(
            "a scheduler address needs --executor dask (the local executor has none)"
        )
    if workers == 1:
        return InProcessExecutor()
    return LocalProcessExecutor(workers, preload=preload)
