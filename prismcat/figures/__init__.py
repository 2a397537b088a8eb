"""Figures as PNG bytes, by subject: an entry's evidence (:mod:`~prismcat.figures.entry`), a
geometry coloured by status or one entry's cell on it (:mod:`~prismcat.figures.geometry`), and the
picture of ``prismcat where`` (:mod:`~prismcat.figures.where`), on one Agg canvas without pyplot
(:mod:`~prismcat.figures.canvas`).

:func:`entry_pngs` draws a report's entry figures on the executors' process pool
(``$PRISMCAT_REPORT_WORKERS`` processes; default: one per available CPU, and this process alone for
fewer than six figures); the bytes do not depend on how many.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from prismcat.figures.canvas import DPI, png
from prismcat.figures.entry import ENTRY_PANEL, EntryFigures, Job, entry_png
from prismcat.figures.geometry import cell_png, geometry_png, prism_png
from prismcat.figures.where import where_png
from prismcat.settings import cores, report_workers
from prismcat.validation.executors import LocalExecutor

MIN_PARALLEL = 6  # fewer figures than this are drawn in this process (a pool costs more)

__all__ = [
    "DPI",
    "ENTRY_PANEL",
    "EntryFigures",
    "Job",
    "cell_png",
    "entry_png",
    "entry_pngs",
    "geometry_png",
    "png",
    "prism_png",
    "where_png",
]


def entry_pngs(jobs: Sequence[Job], workers: int | None = None) -> list[bytes | None]:
    """The figure of each ``(record, clock name, quantities)``, in order, drawn by ``workers``
    processes (None: ``$PRISMCAT_REPORT_WORKERS`` or one per available CPU, and only this one for
    fewer than a handful of figures). The bytes do not depend on it."""
    n = _workers(workers, len(jobs))
    out: list[Any] = [_MISSING] * len(jobs)
    if n > 1:
        chunks = [list(range(i, len(jobs), n)) for i in range(n)]  # interleaved: mixed shapes
        try:
            _draw_parallel(jobs, chunks, out)
        except Exception as exc:  # no processes to be had (a sandbox, a daemon process, ...)
            logging.getLogger(__name__).warning("report figures drawn in one process: %r", exc)
    drawer = EntryFigures()
    for i, job in enumerate(jobs):
        if out[i] is _MISSING:
            out[i] = drawer.png(*job)
    return out


def _draw_parallel(jobs: Sequence[Job], chunks: list[list[int]], out: list[Any]) -> None:
    """Each chunk of job indices drawn in a process of the executors' pool, into ``out``."""
    pool = LocalExecutor(len(chunks))
    try:
        for (chunk, _), pngs, exc in pool.map(_draw_chunk, [(c, [jobs[i] for i in c]) for c in chunks]):
            if exc is not None:
                raise exc
            for i, data in zip(chunk, pngs, strict=True):
                out[i] = data
    finally:
        pool.close()


_MISSING = object()


def _workers(workers: int | None, count: int) -> int:
    if workers is None:
        workers = report_workers()
        if workers is None:
            if count < MIN_PARALLEL:
                return 1
            workers = cores()
    return max(1, min(workers, count))


def _draw_chunk(chunk: tuple[list[int], list[Job]]) -> list[bytes | None]:
    """The figures of one chunk ``(indices, jobs)``, drawn in a worker process."""
    drawer = EntryFigures()
    return [drawer.png(*job) for job in chunk[1]]
