"""The one place that sequences entry -> problems -> simulate -> normalised curves -> checkers.

Work is split into tasks (entry, rung of the ladder) whose simulated curves are cached on disk by
content hash, so a re-run, or a run killed half-way, recomputes nothing it already has. A failure
(formula, simulator, checker) fails only the entry it touched. The steps live beside this module:
:mod:`~prismcat.validation.plan` (tasks), :mod:`~prismcat.validation.measure` (curves),
:mod:`~prismcat.validation.check` (checkers), :mod:`~prismcat.validation.records` (results.json).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from prismcat.catalog.catalogue import Catalog
from prismcat.catalog.entry import Entry
from prismcat.errors import Interrupted
from prismcat.registry import parse_spec, registry
from prismcat.settings import RunOptions
from prismcat.validation import design_rule as rule
from prismcat.validation import policy
from prismcat.validation.cache import DiskCache
from prismcat.validation.check import checkers, run_checkers
from prismcat.validation.design import with_next_order
from prismcat.validation.executors import InProcessExecutor, LocalExecutor
from prismcat.validation.measure import measure
from prismcat.validation.outcome import EntryRun, PointRun, Validation
from prismcat.validation.plan import plan, plan_point
from prismcat.validation.report_errors import describe
from prismcat.validation.tasks import Task


def validate(
    catalog: Catalog,
    ids: Sequence[str] | None = None,
    *,
    options: RunOptions | None = None,
    cache: DiskCache | None = None,
    executor: Any = None,
    **settings: Any,
) -> Validation:
    """Validate entries ``ids`` (default: all) of ``catalog``: simulate, measure, check.

    ``options`` (or the same fields as keywords, e.g. ``profile="thorough"``) say how; see
    :class:`~prismcat.settings.RunOptions`. Simulations run on ``executor``, by default a pool of
    ``options.jobs`` local processes. Seeds are ``seed_offset``, ``seed_offset + 1``, ... (0, 1, ...
    by default, so a given command is reproducible). Ctrl-C stops the run with
    :class:`Interrupted`; every task finished by then is in the cache.
    """
    run_options = RunOptions.of(options, **settings)
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    t_start = time.perf_counter()
    cache = cache or DiskCache(None)
    entries = [catalog.get(i) for i in ids] if ids else list(catalog)
    registry = checkers()
    phases: dict[str, float] = {}
    checks_s: dict[str, float] = {}

    def judge(run: EntryRun, mine: list[Task], sims: dict) -> None:
        check_run(run, mine, sims, registry, catalog, run_options.timeout, phases, checks_s)

    runs, _, _ = experiment(entries, run_options, cache, executor, phases, judge)
    phases.update({f"check:{name}": v for name, v in checks_s.items()})
    return Validation(
        runs=[runs[e.id] for e in entries],
        backend=run_options.backend,
        profile=run_options.profile,
        started=started,
        seconds=time.perf_counter() - t_start,
        cache=cache.stats(),
        phases={k: round(v, 3) for k, v in phases.items()},
    )


def check_run(run, mine, sims, registry, catalog, timeout=None, phases=None, checks_s=None) -> None:
    """Measure every parameter point of ``run`` and run the checkers on it: all of them at the
    first point, those that judge experiments at the others."""
    phases = {} if phases is None else phases
    t0 = time.perf_counter()
    if not run.error and run.settings is not None:
        measure(run, mine, sims)
    phases["measure"] = phases.get("measure", 0.0) + time.perf_counter() - t0
    if run.settings is not None:
        run.checks = run_checkers(registry, run.entry, catalog, run, timeout, checks_s)
        simulated = {n: c for n, c in registry.items() if c.needs_simulation}
        for point in run.points:
            if simulated and not run.error:
                point.checks = run_checkers(simulated, run.entry, catalog, point, timeout, checks_s)
    run.seconds = run.seconds + time.perf_counter() - t0


def experiment(
    entries: Sequence[Entry],
    options: RunOptions,
    cache: DiskCache,
    executor: Any,
    phases: dict[str, float],
    judge: Callable[[EntryRun, list[Task], dict], None],
) -> tuple[dict[str, EntryRun], list[Task], dict]:
    """The sequential experiment: plan and simulate every entry's design (a pilot where the seeds
    are designed), ``judge`` each run, then top up the seeds of every designed point whose checks
    resolve less than their target (their ``shortfall``: standard errors only, never a verdict),
    within the budget, and judge those runs again. Returns the runs, the tasks and the arrays."""
    runs, tasks, sims = simulate(entries, options, cache, executor, phases)
    for entry in _bar(entries, options.progress, "checking"):
        judge(runs[entry.id], [t for t in tasks if t.entry_id == entry.id], sims)
    for _ in range(policy.TOP_UP_ROUNDS):
        grown = top_up(runs.values())
        if not grown:
            break
        t0 = time.perf_counter()
        more = [t for run, at in grown for t in plan_point(run, at, options)]
        done = {(r.entry.id, at) for r, at in grown}
        tasks = [t for t in tasks if (t.entry_id, t.at) not in done] + more
        todo = [t for t in more if t.slot not in sims]
        pool = executor or _default_executor({t.backend for t in todo}, options.jobs, options.timeout)
        try:  # a local pool starts no process for fewer than two tasks
            new, seconds = _simulate(todo, runs, cache, pool, options.progress)
        finally:
            if executor is None:
                pool.close()
        sims.update(new)
        for entry_id, sec in seconds.items():
            runs[entry_id].seconds += sec
        phases["simulate"] = phases.get("simulate", 0.0) + time.perf_counter() - t0
        for entry_id in dict.fromkeys(r.entry.id for r, _ in grown):
            judge(runs[entry_id], [t for t in tasks if t.entry_id == entry_id], sims)
    return runs, tasks, sims


def top_up(runs) -> list[tuple[EntryRun, int]]:
    """Grow every designed point short of its target: fit the next order where the one-term
    correction misfits (design rule 6), else add seeds (rule 5); returns the (run, point) pairs
    whose settings changed. Both read the fit's misfit and the standard errors, never a verdict."""
    grown = []
    for run in runs:
        if run.error or run.settings is None:
            continue
        for at, point in enumerate(run.all_points()):
            st = point.settings
            if "seeds" not in st.designed or point.error:
                continue
            short = [(c.shortfall, c.checker) for c in point.checks if c.shortfall is not None]
            if not short:
                continue
            (resolved, target), checker = max(short, key=lambda s: s[0][0] / s[0][1])  # furthest off
            misfit = max((c.misfit for c in point.checks if c.misfit is not None), default=1.0)
            new = None
            if misfit > policy.MISFIT_SCALE and st.seeds >= policy.MISFIT_SEEDS:  # a biased model
                wanted = rule.seeds_for(st.seeds, resolved, target, policy.MAX_SEEDS)
                new = with_next_order(run.entry, st, misfit, wanted)
            if new is None:
                seeds = rule.seeds_for(st.seeds, resolved, target, st.max_seeds)
                if seeds <= st.seeds:
                    continue
                why = (
                    f"seeds {seeds}: with {st.seeds} the {checker} check resolved {resolved:.2g} at power "
                    f"{policy.REQUIRED_POWER:g} where it must resolve {target:.2g}"
                )
                new = dataclasses.replace(st, seeds=seeds, why=(*st.why, why))
            if at == 0:
                run.settings, run.measurements, run.checks = new, [], []
            else:
                run.points[at - 1] = PointRun(new)
            grown.append((run, at))
    return grown


def simulate(
    entries: Sequence[Entry],
    options: RunOptions | None = None,
    cache: DiskCache | None = None,
    executor: Any = None,
    phases: dict[str, float] | None = None,
) -> tuple[dict[str, EntryRun], list[Task], dict]:
    """Plan and simulate every entry's design (cached values first): the runs by entry id (with
    settings, an error where planning or simulating failed, and simulation seconds), the tasks,
    and the simulated arrays by (entry, point, rung, part); :func:`measure` turns them into curves."""
    options = options or RunOptions()
    phases = {} if phases is None else phases
    cache = cache or DiskCache(None)
    t0 = time.perf_counter()
    runs: dict[str, EntryRun] = {e.id: EntryRun(e, None) for e in entries}
    tasks = plan(runs, options)
    phases["plan"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    own = executor is None
    used = {t.backend for t in tasks} or {options.backend}
    executor = executor or _default_executor(used, options.jobs, options.timeout)
    try:
        sims, seconds = _simulate(tasks, runs, cache, executor, options.progress)
    finally:
        if own:
            executor.close()
    phases["simulate"] = time.perf_counter() - t0
    for entry_id, sec in seconds.items():
        runs[entry_id].seconds = sec
    return runs, tasks, sims


def _default_executor(backends: set[str], jobs: int | None, timeout: float | None):
    """A local process pool, unless a backend (or the family it runs) comes from a plugin
    registered at run time in this process (not installed with an entry point): worker processes
    could not load it."""
    found = registry()
    runtime = any(found.runtime("simulators", parse_spec(b)[0]) for b in backends)
    if runtime or any(found.runtime("families", name) for name in found.families):
        return InProcessExecutor(timeout)
    return LocalExecutor(jobs, timeout)


def _simulate(tasks, runs, cache, executor, progress):
    """Cached values, then the missing tasks (longest first) on ``executor``, each cached as it
    arrives; returns the arrays by (entry, rung, part) and simulation seconds by entry."""
    sims: dict[tuple[str, int, int, int], dict[str, np.ndarray]] = {}
    todo = []
    for task in tasks:
        hit = cache.get(task.key, task.expected())
        if hit is not None:
            sims[task.slot] = hit
        else:
            todo.append(task)
    todo.sort(key=lambda t: -t.cost())
    seconds: dict[str, float] = {}
    bar = _progress(len(tasks), len(tasks) - len(todo), progress)
    done = 0
    try:
        for task, value, exc in executor.map(Task.run, todo):
            bar.update(1)
            bar.set_postfix_str(f"{task.entry_id} N={task.point.N:g}")
            run = runs[task.entry_id]
            if exc is not None:
                if not run.error:
                    run.error = describe(exc, f"simulating {task.point.label()}")
                continue
            seconds[task.entry_id] = seconds.get(task.entry_id, 0.0) + float(value.pop("seconds"))
            cache.put(task.key, value, task.expected())
            sims[task.slot] = value
            done += 1
    except KeyboardInterrupt:
        executor.close(cancel=True)
        bar.close()
        kept = "kept in the cache" if cache.root is not None else "not cached (--no-cache)"
        raise Interrupted(
            f"interrupted: {done} of {len(todo)} simulation tasks finished and {kept}; "
            "rerun the same command to continue"
        ) from None
    bar.close()
    return sims, seconds


class _NoBar:
    def update(self, n: int) -> None: ...
    def set_postfix_str(self, s: str) -> None: ...
    def close(self) -> None: ...


def _progress(total: int, done: int, enabled: bool):
    if not enabled or total == 0:
        return _NoBar()
    from tqdm.auto import tqdm  # the notebook bar inside Jupyter

    return tqdm(total=total, initial=done, desc="simulating", unit="task", dynamic_ncols=True, leave=True)


def _bar(items: list, enabled: bool, desc: str):
    if not enabled or len(items) < 2:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="entry", dynamic_ncols=True, leave=False)
