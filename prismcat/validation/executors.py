"""Executors run simulation tasks: in this process (default) or on a Dask cluster.

An executor's ``map(fn, tasks)`` yields ``(task, value, exception)`` as tasks finish, in any order;
the runner caches every value as it arrives, so an interrupted or re-submitted sweep recomputes
nothing it already has. Both executors run the very same tasks (the split of seeds into batches is
decided by the runner, not the executor), so they give identical results.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prismcat.errors import PrismcatError
from prismcat.validation.tasks import Task


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


Outcome = tuple[Task, Any, BaseException | None]


class InProcessExecutor:
    """Runs tasks one after the other in this process (the default; no extra dependency).

    ``timeout`` (seconds) bounds each task: a simulator plugin that hangs fails its task only.
    """

    name = "in-process"

    def __init__(self, timeout: float | None = None):
        self.timeout = timeout

    def map(self, fn: Callable[[Task], Any], tasks: Sequence[Task]) -> Iterable[Outcome]:
        for task in tasks:
            try:
                with time_limit(self.timeout, f"simulator backend '{task.backend}'"):
                    value = fn(task)
            except (Exception, TaskTimeout) as exc:
                yield task, None, exc
            else:
                yield task, value, None

    def close(self) -> None:
        pass


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
                "the Dask executor needs dask.distributed: pip install 'prismcat[dask]'"
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

    def map(self, fn: Callable[[Task], Any], tasks: Sequence[Task]) -> Iterable[Outcome]:
        from distributed import as_completed

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

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(
    name: str, scheduler: str | None = None, workers: int | None = None, timeout: float | None = None
):
    if name == "in-process":
        return InProcessExecutor(timeout)
    if name == "dask":
        return DaskExecutor(scheduler, workers, timeout=timeout)
    raise PrismcatError(f"unknown executor '{name}' (in-process, dask)")
