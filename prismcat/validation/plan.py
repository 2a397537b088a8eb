"""Planning a validation: each entry's ladder as tasks (a rung and a batch of seeds) on the
backend that runs its family, keyed for the cache, each checked against the limits of a task
before anything is allocated."""

from __future__ import annotations

from typing import Any

from prismcat.budget import Limits
from prismcat.catalog.entry import Entry
from prismcat.errors import PrismcatError
from prismcat.registry import backend as backend_of
from prismcat.registry import with_options
from prismcat.settings import RunOptions, default_jobs
from prismcat.simulation.api import offer_of
from prismcat.simulation.fingerprint import fingerprint
from prismcat.simulation.plan import Offer
from prismcat.validation import policy
from prismcat.validation.cache import content_key
from prismcat.validation.design import Settings, designs_for, ladder
from prismcat.validation.outcome import EntryRun, PointRun
from prismcat.validation.tasks import Task


def simulation_fingerprint(spec: str) -> dict[str, Any]:
    """The code-and-machine half of every cache key for ``backend`` (see
    :mod:`prismcat.simulation.fingerprint`); raises PluginError if the backend is not usable."""
    return fingerprint(backend_of(spec))


def backend_offer(spec: str) -> Offer:
    """What ``backend`` runs (its formulations and methods), for the negotiation of each problem."""
    return offer_of(backend_of(spec))


def plan_tasks(
    entry: Entry,
    settings: Settings,
    backend: str,
    seeds_per_task: int | None = None,
    fingerprint: dict[str, Any] | None = None,
    offer: Offer | None = None,
) -> list[Task]:
    """One task per rung and block of seeds (policy.SEED_BLOCK seeds unless ``seeds_per_task``).

    The cache key is the resolved problems of the block (a different split recomputes rather than
    mixes) and ``fingerprint``; nothing else of the entry (tolerances, declared resolutions,
    formulas) is in it. Blocks are fixed from seed 0, so a design that grows its seeds reuses every
    block it has already simulated.
    """
    tasks = []
    for i, p in enumerate(ladder(entry, settings)):
        size = seeds_per_task or policy.SEED_BLOCK
        for part, start in enumerate(range(0, len(p.problems), size)):
            batch = p.problems[start : start + size]
            problems = [entry.family.key_of(q, offer) for q in batch]
            key = content_key("curves", problems, fingerprint or {"backend": backend})
            digests = [content_key(q) for q in problems]
            tasks.append(Task(entry.id, i, part, p, batch, backend, key, digests, offer, settings.point))
    return tasks


def plan(runs: dict[str, EntryRun], options: RunOptions) -> list[Task]:
    """Each entry's tasks on the backend that runs its family (``backend`` for the autoencoder,
    the family's counterpart or default for another). A task whose estimated memory or time is
    over the limits fails its entry here, before anything is allocated."""
    backend = with_options(options.backend, options.options)
    limits = Limits(options.memory_limit(), options.timeout)
    described: dict[str, tuple[dict | None, Offer | None, str]] = {}
    tasks: list[Task] = []
    for run in runs.values():
        try:
            mine = run.entry.family.backend_for(backend)
            if mine not in described:
                try:
                    described[mine] = (simulation_fingerprint(mine), backend_offer(mine), "")
                except PrismcatError as exc:
                    described[mine] = (None, None, f"simulating: {exc}")
            fp, offer, problem = described[mine]
            designs = designs_for(
                run.entry,
                options.profile,
                options.seed_offset,
                options.dtype,
                options.resolution,
                point_budget(options, len(runs)),
                offer,  # priced as the backend that runs it will run it
            )
            run.settings, run.points = designs[0], [PointRun(d) for d in designs[1:]]
            run.backend = mine
            if problem:
                run.error = problem
                continue
            planned = [
                t
                for st in designs
                for t in plan_tasks(run.entry, st, mine, options.seeds_per_task, fp, offer)
            ]
            refused = next(filter(None, (_refusal(t, limits) for t in planned)), None)
            if refused:
                run.error = refused
                continue
            tasks.extend(planned)
        except PrismcatError as exc:
            run.error = str(exc)
    return tasks


def point_budget(options: RunOptions, entries: int) -> float | None:
    """Seconds (one core) each parameter point may simulate for under ``--budget`` (the run's wall
    clock over its cores, shared by two points per entry), or None for the profile's default."""
    if options.budget is None:
        return None
    cores = options.jobs or default_jobs()
    return options.budget * cores / max(1, 2 * entries)


def _refusal(task: Task, limits: Limits) -> str | None:
    estimate = task.family.estimate(task.problems, task.offer)
    if estimate is None:
        return None
    return limits.refusal(estimate, f"simulating {task.point.label()} ({len(task.problems)} seeds)")


def plan_point(run: EntryRun, at: int, options: RunOptions) -> list[Task]:
    """The tasks of one parameter point of a planned run (after its design changed its seeds)."""
    settings = run.all_points()[at].settings
    fp, offer = simulation_fingerprint(run.backend), backend_offer(run.backend)
    return plan_tasks(run.entry, settings, run.backend, options.seeds_per_task, fp, offer)
