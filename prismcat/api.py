"""The Python API: the calls the command line makes, returning typed results.

``prismcat.validate``, ``prismcat.where``, ``prismcat.simulate``, ``prismcat.power`` and
``prismcat.load_catalog``; each result has ``to_json()`` (what the CLI's ``--json`` or
``results.json`` holds), ``to_frame()`` and notebook displays. Long calls show a progress bar
(the notebook one inside Jupyter) and can be interrupted (Ctrl-C or the kernel's stop button):
what was simulated stays in the cache, so running the call again resumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from prismcat.catalog import load_catalog
from prismcat.errors import PrismcatError
from prismcat.families.autoencoder import AUTOENCODER
from prismcat.placement import FamilyPoint, Point, candidates, compare, family_candidates, family_compare
from prismcat.registry import backend as backend_of
from prismcat.registry import registry, with_options
from prismcat.results import Placement, ValidationResult
from prismcat.settings import DEFAULT_CACHE_DIR, RunOptions, positive, whole
from prismcat.simulation import Integrator
from prismcat.simulation.api import SimResult, simulate
from prismcat.validation.cache import DiskCache
from prismcat.validation.power import DEFAULT_DELTA
from prismcat.validation.power import power as run_power
from prismcat.validation.preview import preview
from prismcat.validation.records import to_records
from prismcat.validation.runner import validate as run_validation

__all__ = ["SimResult", "plan", "power", "simulate", "validate", "where"]

DEFAULT_CACHE = DEFAULT_CACHE_DIR


def _cache(cache: str | Path | Any | None):
    if isinstance(cache, DiskCache):
        return cache
    return DiskCache(None if cache is None else Path(cache))


def _selection(catalog: Any, ids: str | Sequence[str] | None) -> tuple[Any, list[str] | None]:
    """The catalogue (default: the packaged one) and the chosen ids (one id, a list, or None for
    all); an unknown id raises with a suggestion."""
    cat = catalog if catalog is not None else load_catalog()
    chosen = [ids] if isinstance(ids, str) else (list(ids) if ids else None)
    for i in chosen or []:
        cat.get(i)
    return cat, chosen


def validate(
    ids: str | Sequence[str] | None = None,
    *,
    catalog: Any = None,
    cache: str | Path | Any | None = DEFAULT_CACHE,
    executor: Any = None,
    **settings: Any,
) -> ValidationResult:
    """Validate entries ``ids`` (one id, a list, or all) against the finite-size model.

    ``cache``: a folder (default ``.prismcat-cache``), a :class:`~prismcat.validation.cache.DiskCache`,
    or None for none. ``settings`` are the fields of :class:`~prismcat.settings.RunOptions`
    (``backend``, ``options`` (the backend's), ``profile``, ``dtype``, ``seed_offset``,
    ``seeds_per_task``, ``jobs``, ``timeout``, ``max_memory``, ``progress``), every default there,
    every value checked before anything runs (a bad one raises
    :class:`~prismcat.settings.OptionError`). The result holds exactly what ``results.json`` would.
    """

    run_options = RunOptions(**settings)
    cat, chosen = _selection(catalog, ids)
    check_backend(cat, chosen, run_options)
    v = run_validation(cat, chosen, options=run_options, cache=_cache(cache), executor=executor)
    return ValidationResult(to_records(v), v)


def check_backend(catalog: Any, ids: Sequence[str] | None, options: RunOptions) -> None:
    """Refuse, before any work, a backend (with its options) that cannot run the chosen entries:
    unknown, not usable here, or given options it does not take."""
    spec = with_options(options.backend, options.options)
    entries = [catalog.get(i) for i in ids] if ids else list(catalog)
    for family in {id(e.family): e.family for e in entries}.values():
        backend_of(family.backend_for(spec))


def where(
    d: int,
    k: int,
    n: int,
    sigma2: float,
    *,
    catalog: Any = None,
    t_max: float = 5.0,
    points: int = 51,
    top: int = 5,
    simulate_run: bool = False,
    backend: str = "numpy",
    seed: int = 0,
) -> Placement:
    """Place the run (d, k, n, sigma2) on the prism and rank the limits that may describe it;
    with ``simulate_run`` also simulate it and measure each candidate's distance to it."""
    _check_placement(t_max, points, top)
    point = Point(d, k, n, sigma2)
    t = np.linspace(0.0, t_max, points)
    cat = catalog if catalog is not None else load_catalog()
    observed, sim = None, None
    if simulate_run:
        problems = AUTOENCODER.problems(point.sizes, None, t, Integrator(), "float64", [seed], None)
        arrays = AUTOENCODER.run(problems, backend)
        env = AUTOENCODER.environment(arrays, point.sizes)  # the run's losses, not per dimension
        observed = {name: float(np.ravel(env[name])[0]) for name in ("L_train0", "L_pop0", "trS")}
        sim = {"train": arrays["train"][0], "population": arrays["population"][0]}
    cands = candidates(cat, point, t, top=top, observed=observed)
    if sim is not None:
        compare(cands, sim["train"], sim["population"])
    return Placement(point, point.extremeness(), t, cands, sim)


def where_family(
    model: str,
    sizes: dict[str, float],
    structure: dict[str, Any] | None = None,
    *,
    catalog: Any = None,
    t_max: float = 1.0,
    points: int = 51,
    top: int = 5,
    simulate_run: bool = False,
    backend: str | None = None,
    seed: int = 0,
) -> Placement:
    """Place a run of another model family (``model``, its ``sizes`` and ``structure``) on its
    geometry (e.g. the CP family's Pareto polygon) and rank the entries of that geometry; with
    ``simulate_run`` also simulate it and measure each candidate's distance, in the candidate's own
    quantity (e.g. L / L0)."""
    _check_placement(t_max, points, top)
    family = registry().family(model)
    try:
        struct = family.structure_of(structure or {})
    except ValueError as exc:
        raise PrismcatError(f"{model} structure: {exc}") from None
    point = FamilyPoint(family, struct, {k: float(v) for k, v in sizes.items()})
    t = np.linspace(0.0, t_max, points)
    cat = catalog if catalog is not None else load_catalog()
    cands = family_candidates(cat, point, t, top=top)
    shown = None
    if simulate_run:
        rung = {s: float(round(v)) if s in family.integer_sizes else v for s, v in point.sizes.items()}
        problems = family.problems(rung, struct, t, Integrator(), "float64", [seed], None)
        sim = family.run(problems, family.backend_for(backend or family.default_backend))
        shown = family_compare(cands, point, sim)
    return Placement(point, point.extremeness(), t, cands, shown)


def _check_placement(t_max: float, points: int, top: int) -> None:
    positive("--t-max (t_max)", t_max)
    whole("--points (points)", points, 2, 100_000)
    whole("--top (top)", top, 1)


def power(
    ids: str | Sequence[str] | None = None,
    *,
    catalog: Any = None,
    delta: float = DEFAULT_DELTA,
    cache: str | Path | Any | None = DEFAULT_CACHE,
    executor: Any = None,
    **settings: Any,
):
    """Which formula errors of relative size ``delta`` the checks catch (a
    :class:`~prismcat.validation.power.PowerReport`); ``cache``, ``executor`` and ``settings`` as
    for :func:`validate`."""
    run_options = RunOptions(**settings)
    cat, chosen = _selection(catalog, ids)
    check_backend(cat, chosen, run_options)
    return run_power(cat, chosen, delta=delta, options=run_options, cache=_cache(cache), executor=executor)


def plan(
    ids: str | Sequence[str] | None = None,
    *,
    catalog: Any = None,
    cache: str | Path | Any | None = DEFAULT_CACHE,
    **settings: Any,
):
    """The experiment :func:`validate` would run, designed but not simulated (a
    :class:`~prismcat.validation.preview.Preview`): each entry's parameter points, windows,
    ladders and seeds, the estimated cost of what the cache lacks and, where the cache holds a
    point's simulations, the resolution they reach. ``settings`` as for :func:`validate`
    (``resolution`` and ``budget`` shape the design)."""
    run_options = RunOptions(**settings)
    cat, chosen = _selection(catalog, ids)
    check_backend(cat, chosen, run_options)
    return preview(cat, chosen, options=run_options, cache=_cache(cache))
