"""Executors run tasks (simulation tasks; any picklable item, e.g. a chunk of report figures): on a
pool of local processes (the default), in this process, or on a Dask cluster.

An executor's ``map(fn, tasks)`` yields ``(task, value, exception)`` as tasks finish, in any order;
the runner caches every value as it arrives, so an interrupted or re-submitted sweep recomputes
nothing it already has. Both executors run the very same tasks (the split of seeds into batches is
decided by the runner, not the executor), so they give identical results.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from prismcat.errors import PrismcatError
from prismcat.settings import default_jobs


class TaskTimeout(BaseException):
    """A task or checker ran past its time limit (a BaseException, so that a plugin's own
    ``except Exception`` cannot swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float | None, what: str):
    """Interrupt the block after ``seconds`` (SIGALRM; main thread of a POSIX process only).

    Python-level loops are interrupted at once; a long call into compiled code is interrupted
    when it returns to Python.
    """
    usable = (
        seconds and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise TaskTimeout(f"{what} did not finish within {seconds:g} s (task timeout)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


Outcome = tuple[Any, Any, BaseException | None]  # (the item, its value, or the exception it raised)


def _run_limited(fn: Callable[[Any], Any], task: Any, timeout: float | None) -> Any:
    """``fn(task)`` within the task time limit (in this process, or inside a pool worker)."""
    backend = getattr(task, "backend", None)
    with time_limit(timeout, f"simulator backend '{backend}'" if backend else "a task"):
        return fn(task)


class InProcessExecutor:
    """Runs tasks one after the other in this process (the default; no extra dependency).

    ``timeout`` (seconds) bounds each task: a simulator plugin that hangs fails its task only.
    """

    name = "in-process"

    def __init__(self, timeout: float | None = None):
        self.timeout = timeout

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterable[Outcome]:
        for task in tasks:
            try:
                value = _run_limited(fn, task, self.timeout)
            except (Exception, TaskTimeout) as exc:
                yield task, None, exc
            else:
                yield task, value, None

    def close(self, cancel: bool = False) -> None:
        pass


def _worker_init(parent: int) -> None:
    """Workers leave Ctrl-C to the parent, which stops the pool and keeps what has finished, and
    exit by themselves if the parent dies (a kill -9 leaves no orphan computing for nobody)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except OSError:
                pass

    threading.Thread(target=watch, name="prismcat-parent-watch", daemon=True).start()


@contextlib.contextmanager
def _main_hidden():
    """Workers need nothing from ``__main__`` (tasks hold prismcat objects only), so it is hidden
    while they start: otherwise each worker would re-run the user's script (or, from stdin, fail)."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


class LocalExecutor:
    """Runs tasks on ``jobs`` worker processes of this machine (the default executor).

    The standard library's process pool needs no extra dependency and starts in well under a
    second: workers are forked from a clean, pre-loaded ``forkserver`` process (never from this
    one, whose threads a fork could deadlock). Each task pins its BLAS threads as in every other
    executor, so results are byte-identical to :class:`InProcessExecutor`'s. Tasks are submitted
    in the order given (the runner puts the longest first) and yielded as they finish. With
    ``jobs == 1``, or a single task, nothing is started and tasks run in this process.
    """

    name = "local"
    PRELOAD = ("prismcat.validation.tasks", "scipy.integrate", "scipy.linalg")

    def __init__(self, jobs: int | None = None, timeout: float | None = None):
        self.jobs = default_jobs() if jobs is None else jobs
        if isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 1:
            raise PrismcatError(f"--jobs must be at least 1, got {self.jobs!r}")
        self.timeout = timeout
        self.pool = None

    def _pool(self):
        if self.pool is None:
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload(list(self.PRELOAD))
            self.pool = ProcessPoolExecutor(
                self.jobs, mp_context=ctx, initializer=_worker_init, initargs=(os.getpid(),)
            )
        return self.pool

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterable[Outcome]:
        if self.jobs == 1 or len(tasks) < 2:
            yield from InProcessExecutor(self.timeout).map(fn, tasks)
            return
        pool = self._pool()
        with _main_hidden():  # workers start as tasks are submitted
            futures = {pool.submit(_run_limited, fn, t, self.timeout): t for t in tasks}
        try:
            for future in as_completed(futures):
                task = futures.pop(future)
                try:
                    value = future.result()
                except BrokenProcessPool as exc:
                    yield task, None, PrismcatError(f"a worker process died ({exc}); rerun to retry")
                except (Exception, TaskTimeout) as exc:
                    yield task, None, exc
                else:
                    yield task, value, None
        finally:
            if futures:  # interrupted: stop at once, dropping the queue and the running tasks
                self.close(cancel=True)

    def close(self, cancel: bool = False) -> None:
        if self.pool is None:
            return
        pool, self.pool = self.pool, None
        if cancel:
            processes = list((getattr(pool, "_processes", None) or {}).values())
            manager = getattr(pool, "_executor_manager_thread", None)  # shutdown forgets it
            pool.shutdown(wait=False, cancel_futures=True)
            for p in processes:
                with contextlib.suppress(Exception):
                    p.terminate()
            for p in processes:
                with contextlib.suppress(Exception):
                    p.join(5)
            # Let the pool's manager thread see its workers gone and close its wake-up pipe now:
            # left running, it races the interpreter's exit hook, which then writes to a closed
            # pipe and prints a traceback after the clean "interrupted" message.
            if manager is not None:
                manager.join(5)
        else:
            pool.shutdown(wait=True)


class DaskExecutor:
    """Submits tasks to a Dask distributed cluster: an existing scheduler (``scheduler`` address)
    or a local cluster of ``workers`` processes. A task whose worker dies is re-run elsewhere
    (Dask's allowed failures); one that raises is retried ``retries`` times before it fails its
    entry. Workers need prismcat and the backend's plugin installed; the catalogue and the cache
    stay with the client, which writes every result to the cache as it arrives.
    """

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int | None = None,
        retries: int = 2,
        timeout: float | None = None,
    ):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise PrismcatError(
                "the Dask executor needs dask.distributed: pip install 'prismcat-regimes[dask]'"
            ) from None
        self.retries = retries
        self.timeout = timeout
        self.cluster = None
        if scheduler:
            self.client = Client(scheduler, timeout="30s")
        else:
            self.cluster = LocalCluster(
                n_workers=workers or max(1, (os.cpu_count() or 2) // 2),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self.client = Client(self.cluster)

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterable[Outcome]:
        from distributed import as_completed  # dask's own, for its futures

        futures = {
            self.client.submit(fn, t, key=f"prismcat-{t.key}-{t.part}", retries=self.retries, pure=False): t
            for t in tasks
        }
        for future in as_completed(futures):
            task = futures[future]
            try:
                value = future.result(timeout=self.timeout)
            except Exception as exc:
                yield task, None, exc
            else:
                yield task, value, None
            future.release()

    def close(self, cancel: bool = False) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


EXECUTORS = ("local", "in-process", "dask")


def check_executor(name: str, workers: int | None = None) -> None:
    """Refuse an executor's settings before anything starts."""
    if name not in EXECUTORS:
        raise PrismcatError(f"unknown executor '{name}' ({', '.join(EXECUTORS)})")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise PrismcatError(f"--workers must be at least 1, got {workers!r}")


def make_executor(
    name: str = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    timeout: float | None = None,
    jobs: int | None = None,
):
    """An executor by name: ``local`` (a pool of ``jobs`` processes), ``in-process`` or ``dask``
    (``workers`` local workers, or the cluster at ``scheduler``)."""
    check_executor(name, workers)
    if name == "local":
        return LocalExecutor(jobs, timeout)
    if name == "in-process":
        return InProcessExecutor(timeout)
    if name == "dask":
        return DaskExecutor(scheduler, workers or jobs, timeout=timeout)
    raise AssertionError(name)  # check_executor knows every name
