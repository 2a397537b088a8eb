"""The one place that sequences entry -> problems -> simulate -> normalised curves -> checkers.

Work is split into tasks (entry, rung of the ladder) whose simulated curves are cached on disk by
content hash, so a re-run, or a run killed half-way, recomputes nothing it already has. A failure
(formula, simulator, checker) fails only the entry it touched.
"""

from __future__ import annotations

import datetime as dt
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import prismcat
from prismcat.budget import Limits
from prismcat.catalog.entry import Entry
from prismcat.catalog.loader import Catalog
from prismcat.errors import EvaluationError, Interrupted, PluginError, PrismcatError
from prismcat.plugins import collect
from prismcat.settings import RunOptions
from prismcat.simulation import SimulationError
from prismcat.simulation.api import parse_spec, with_options
from prismcat.simulation.plan import Offer
from prismcat.validation.cache import DiskCache, content_key
from prismcat.validation.checks import CheckContext, Checker, CheckResult, LossData, Measurement
from prismcat.validation.design import Settings, SizePoint, ladder, settings_for
from prismcat.validation.executors import InProcessExecutor, TaskTimeout, time_limit
from prismcat.validation.tasks import Task, assemble

LOSSES = ("train", "population")


def checkers() -> dict[str, Checker]:
    """Installed checkers by name."""
    return collect("register_checkers")


@dataclass
class EntryRun:
    """Everything validation found out about one entry."""

    entry: Entry
    settings: Settings | None
    measurements: list[Measurement] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    backend: str = ""  # the backend that ran it (another family's entries run on their own)

    @property
    def status(self) -> str:
        if self.error or any(c.status == "error" for c in self.checks):
            return "error"
        if any(c.status == "fail" for c in self.checks):
            return "fail"
        return "pass"

    @property
    def message(self) -> str:
        if self.error:
            return self.error
        bad = [f"{c.checker}: {c.message}" for c in self.checks if c.status in ("fail", "error")]
        return "; ".join(bad)


def simulation_fingerprint(backend: str) -> dict[str, Any]:
    """The code-and-machine half of every cache key for ``backend`` (see
    :mod:`prismcat.simulation.fingerprint`); raises PluginError if the backend is not usable."""
    from prismcat.simulation import get_simulator
    from prismcat.simulation.fingerprint import fingerprint

    return fingerprint(get_simulator(backend))


def backend_offer(backend: str) -> Offer:
    """What ``backend`` runs (its formulations and methods), for the negotiation of each problem."""
    from prismcat.simulation import get_simulator
    from prismcat.simulation.api import offer_of

    return offer_of(get_simulator(backend))


def plan_tasks(
    entry: Entry,
    settings: Settings,
    backend: str,
    seeds_per_task: int | None = None,
    fingerprint: dict[str, Any] | None = None,
    offer: Offer | None = None,
) -> list[Task]:
    """One task per rung and batch of seeds (all seeds of a rung in one batch by default).

    The cache key is the resolved problems of the batch (a different split recomputes rather than
    mixes) and ``fingerprint``; nothing else of the entry (tolerances, declared resolutions,
    formulas) is in it.
    """
    tasks = []
    for i, p in enumerate(ladder(entry, settings)):
        size = seeds_per_task or len(p.problems)
        for part, start in enumerate(range(0, len(p.problems), size)):
            batch = p.problems[start : start + size]
            problems = [entry.family.key_of(q, offer) for q in batch]
            key = content_key("curves", problems, fingerprint or {"backend": backend})
            digests = [content_key(q) for q in problems]
            tasks.append(Task(entry.id, i, part, p, batch, backend, key, digests, offer))
    return tasks


def normalise(entry: Entry, point: SizePoint, sim: dict[str, np.ndarray]) -> dict[str, LossData]:
    """The entry's normalised quantities from the simulated arrays (the family's observables),
    plus its limit."""
    env: dict[str, Any] = {k: np.float64(v) for k, v in {**point.sizes, **point.parameters}.items()}
    env.update(entry.family.environment(sim, point.sizes))
    shape = (len(next(iter(sim.values()))), len(point.clock))  # seeds x times
    limit = None
    if entry.has_limit:
        limit = entry.predict(point.clock, point.parameters, check_range=False)
    out = {}
    for loss in LOSSES:
        q = entry.quantities.get(loss)
        if q is None:
            continue
        curves = np.broadcast_to(q(env), shape).astype(float)
        if not np.all(np.isfinite(curves)):
            raise EvaluationError(
                f"{entry.id}: the {loss} quantity '{q.text}' is not finite at {point.label()}"
            )
        lim = None if limit is None else getattr(limit, loss)
        out[loss] = LossData(curves, None if lim is None else np.asarray(lim))
    return out


@dataclass
class Validation:
    """The outcome of a validation run (see :func:`validate`)."""

    runs: list[EntryRun]
    backend: str
    profile: str
    started: str
    seconds: float
    cache: dict[str, Any]
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.status == "pass" for r in self.runs)


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
    run_options = _options(options, settings)
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    t_start = time.perf_counter()
    cache = cache or DiskCache(None)
    entries = [catalog.get(i) for i in ids] if ids else list(catalog)
    registry = checkers()
    phases: dict[str, float] = {}
    runs, tasks, sims = simulate(entries, run_options, cache, executor, phases)
    checks_s: dict[str, float] = {}
    timeout = run_options.timeout
    for entry in _bar(entries, run_options.progress, "checking"):
        run = runs[entry.id]
        t0 = time.perf_counter()
        if not run.error and run.settings is not None:
            measure(run, [t for t in tasks if t.entry_id == entry.id], sims)
        phases["measure"] = phases.get("measure", 0.0) + time.perf_counter() - t0
        if run.settings is not None:
            run.checks = run_checkers(registry, entry, catalog, run, timeout, checks_s)
        run.seconds = run.seconds + time.perf_counter() - t0
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


def _options(options: RunOptions | None, settings: dict[str, Any]) -> RunOptions:
    """``options`` with ``settings`` (keyword fields of RunOptions) applied, checked."""
    base = options or RunOptions()
    return base.replace(**settings) if settings else base


def simulate(
    entries: Sequence[Entry],
    options: RunOptions | None = None,
    cache: DiskCache | None = None,
    executor: Any = None,
    phases: dict[str, float] | None = None,
) -> tuple[dict[str, EntryRun], list[Task], dict]:
    """Plan and simulate every entry's ladder (cached values first): the runs by entry id (with
    settings, an error where planning or simulating failed, and simulation seconds), the tasks,
    and the simulated arrays by (entry, rung, part); :func:`measure` turns them into curves."""
    options = options or RunOptions()
    phases = {} if phases is None else phases
    cache = cache or DiskCache(None)
    t0 = time.perf_counter()
    runs: dict[str, EntryRun] = {e.id: EntryRun(e, None) for e in entries}
    tasks = _plan(runs, options)
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


def _plan(runs: dict[str, EntryRun], options: RunOptions) -> list[Task]:
    """Each entry's tasks on the backend that runs its family (``backend`` for the autoencoder,
    the family's counterpart or default for another). A task whose estimated memory or time is
    over the limits fails its entry here, before anything is allocated."""
    backend = with_options(options.backend, options.options)
    limits = Limits(options.memory_limit(), options.timeout)
    described: dict[str, tuple[dict | None, Offer | None, str]] = {}
    tasks: list[Task] = []
    for run in runs.values():
        try:
            run.settings = settings_for(run.entry, options.profile, options.seed_offset, options.dtype)
            mine = run.entry.family.backend_for(backend)
            run.backend = mine
            if mine not in described:
                try:
                    described[mine] = (simulation_fingerprint(mine), backend_offer(mine), "")
                except PrismcatError as exc:
                    described[mine] = (None, None, f"simulating: {exc}")
            fp, offer, problem = described[mine]
            if problem:
                run.error = problem
                continue
            planned = plan_tasks(run.entry, run.settings, mine, options.seeds_per_task, fp, offer)
            refused = next(filter(None, (_refusal(t, limits) for t in planned)), None)
            if refused:
                run.error = refused
                continue
            tasks.extend(planned)
        except PrismcatError as exc:
            run.error = str(exc)
    return tasks


def _refusal(task: Task, limits: Limits) -> str | None:
    estimate = task.family.estimate(task.problems, task.offer)
    if estimate is None:
        return None
    return limits.refusal(estimate, f"simulating {task.point.label()} ({len(task.problems)} seeds)")


def _default_executor(backends: set[str], jobs: int | None, timeout: float | None):
    """A local process pool, unless a backend (or the family it runs) comes from a plugin
    registered at run time in this process (not installed with an entry point): worker processes
    could not load it."""
    from prismcat.plugins import origin
    from prismcat.validation.executors import LocalExecutor

    for backend in backends:
        name = parse_spec(backend)[0]
        info = origin("register_simulators", name)
        if info is not None and info.source == "runtime":
            return InProcessExecutor(timeout)
    from prismcat.families import families

    for name in families():
        info = origin("register_families", name)
        if info is not None and info.source == "runtime":
            return InProcessExecutor(timeout)
    return LocalExecutor(jobs, timeout)


def _simulate(tasks, runs, cache, executor, progress):
    """Cached values, then the missing tasks (longest first) on ``executor``, each cached as it
    arrives; returns the arrays by (entry, rung, part) and simulation seconds by entry."""
    sims: dict[tuple[str, int, int], dict[str, np.ndarray]] = {}
    todo = []
    for task in tasks:
        hit = cache.get(task.key, task.expected())
        if hit is not None:
            sims[(task.entry_id, task.index, task.part)] = hit
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
                    run.error = _describe(exc, f"simulating {task.point.label()}")
                continue
            seconds[task.entry_id] = seconds.get(task.entry_id, 0.0) + float(value.pop("seconds"))
            cache.put(task.key, value, task.expected())
            sims[(task.entry_id, task.index, task.part)] = value
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


def measure(run: EntryRun, mine: list[Task], sims) -> None:
    """Fill ``run.measurements`` from the simulated arrays of its tasks ``mine`` (the entry's
    quantities and limits at each rung), or set ``run.error``. Every rung of the ladder must be
    there with every seed: an entry is never judged on less than its design."""
    rungs = {t.index: t.point for t in mine}
    settings = run.settings
    try:
        if settings is None or len(rungs) != len(settings.ladder):
            raise PrismcatError(
                f"{run.entry.id}: {len(rungs)} of {len(settings.ladder) if settings else '?'} rungs were "
                "planned: nothing is judged on part of its ladder"
            )
        measurements = []
        for i, point in sorted(rungs.items()):
            arrays = assemble([sims[(run.entry.id, i, t.part)] for t in mine if t.index == i])
            seeds = len(next(iter(arrays.values())))
            if seeds != settings.seeds:
                raise PrismcatError(
                    f"{run.entry.id}: {seeds} of {settings.seeds} seeds were simulated at {point.label()}"
                )
            measurements.append(Measurement(point, normalise(run.entry, point, arrays)))
        run.measurements = measurements
    except PrismcatError as exc:
        run.error = str(exc)
    except Exception as exc:
        run.error = _describe(exc, "measuring the curves")


def run_checkers(
    registry: dict[str, Checker],
    entry: Entry,
    catalog: Catalog,
    run: EntryRun,
    timeout: float | None = None,
    seconds: dict[str, float] | None = None,
) -> list[CheckResult]:
    """Every applicable checker, each isolated: an exception, a wrong answer or a hang (past
    ``timeout`` seconds) fails only that check, with the checker's name in the message.
    ``seconds`` accumulates each checker's wall time."""
    out = []
    for name, checker in registry.items():
        t0 = time.perf_counter()
        try:
            if not checker.applies(entry, catalog):
                continue
            if checker.needs_simulation and (run.error or not run.measurements):
                continue
            ctx = CheckContext(
                entry, catalog, run.settings, run.measurements if checker.needs_simulation else None
            )
            with time_limit(timeout, f"checker '{name}'"):
                result = checker.check(ctx)
            if not isinstance(result, CheckResult):
                raise PluginError(f"returned {type(result).__name__}, not a CheckResult")
            if result.status not in ("pass", "fail", "error", "skip"):
                raise PluginError(f"returned the status {result.status!r}")
        except TaskTimeout as exc:
            result = CheckResult(name, "error", str(exc))
        except Exception as exc:
            result = CheckResult(name, "error", f"checker '{name}' failed: {type(exc).__name__}: {exc}")
        finally:
            if seconds is not None:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t0
        out.append(result)
    if not any(r.status != "skip" for r in out):
        names = ", ".join(registry) or "none installed"
        out.append(
            CheckResult(
                "validation",
                "error",
                f"no checker applies to {entry.id} (checkers: {names}): nothing would confirm it",
            )
        )
    return out


def _describe(exc: BaseException, doing: str) -> str:
    if isinstance(exc, SimulationError | PluginError | PrismcatError | TaskTimeout):
        return f"{doing}: {exc}"
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" ({where.filename.rsplit('/', 1)[-1]}:{where.lineno})" if where else ""
    return f"{doing}: {type(exc).__name__}: {exc}{at}"


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


# -- results.json -------------------------------------------------------------------------------
def to_records(v: Validation) -> dict[str, Any]:
    """The documented ``results.json`` content (see :mod:`prismcat.validation.records`)."""
    from prismcat.validation.records import Results

    entries = [_entry_record(r) for r in v.runs]
    counts = {s: sum(e["status"] == s for e in entries) for s in ("pass", "fail", "error")}
    data = {
        "prismcat_version": prismcat.__version__,
        "backend": v.backend,
        "profile": v.profile,
        "status": "pass" if v.ok else "fail",
        "summary": {
            "total": len(entries),
            "passed": counts["pass"],
            "failed": counts["fail"],
            "errors": counts["error"],
        },
        "entries": entries,
        "timing": {
            "started": v.started,
            "total_s": round(v.seconds, 3),
            "entries_s": {r.entry.id: round(r.seconds, 3) for r in v.runs},
            "cache": v.cache,
            "phases_s": v.phases,
        },
    }
    return Results.model_validate(data).model_dump(mode="json")


def _entry_record(run: EntryRun) -> dict[str, Any]:
    e = run.entry
    sizes = []
    for m in run.measurements:
        s = m.point.sizes
        errors, curves = {}, {}
        for loss, data in m.losses.items():
            if data.limit is not None:
                errors[loss] = data.errors()
            curves[loss] = {
                "mean": data.mean.tolist(),
                "low": data.curves.min(axis=0).tolist(),
                "high": data.curves.max(axis=0).tolist(),
                "limit": None if data.limit is None else data.limit.tolist(),
            }
        aeq = {k: (int(s[k]) if k != "sigma2" else s[k]) for k in ("d", "k", "n", "sigma2") if k in s}
        sizes.append(
            {
                "N": m.point.N,
                "sizes": dict(s),
                **(aeq if e.family.name == "autoencoder" else {}),
                "parameters": m.point.parameters,
                "eps": m.point.eps,
                "errors": errors,
                "curves": curves,
            }
        )
    clock = run.measurements[0].point.clock.tolist() if run.measurements else []
    return {
        "id": e.id,
        "title": e.spec.title,
        "model": e.family.name,
        "geometry": e.geometry.key,
        "backend": run.backend,
        "cell": e.cell.id,
        "cell_kind": e.cell.kind,
        "file": e.file,
        "status": run.status,
        "message": run.message,
        "clock": clock,
        "settings": run.settings.to_json() if run.settings else {},
        "checks": [_jsonable(c.to_json()) for c in run.checks],
        "sizes": sizes,
        "headline": headlines(run),
    }


def headlines(run: EntryRun) -> dict[str, str]:
    """By loss, the sentences the checkers lead with (e.g. the formula against the infinite-size
    extrapolation, with the resolution), joined in checker order."""
    out: dict[str, list[str]] = {}
    for c in run.checks:
        for loss, line in c.headline.items():
            out.setdefault(loss, []).append(line)
    return {loss: "; ".join(lines) for loss, lines in out.items()}


def _jsonable(value: Any) -> Any:
    """Plain JSON types (numpy scalars and arrays converted; NaN/inf become null)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
