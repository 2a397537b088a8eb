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

from prismcat.errors import PrismcatError
from prismcat.results import Placement, ValidationResult
from prismcat.simulation.api import SimResult, simulate

__all__ = ["SimResult", "power", "simulate", "validate", "where"]

DEFAULT_CACHE = Path(".prismcat-cache")


def _cache(cache: str | Path | Any | None):
    from prismcat.validation.cache import DiskCache

    if isinstance(cache, DiskCache):
        return cache
    return DiskCache(None if cache is None else Path(cache))


def _selection(catalog: Any, ids: str | Sequence[str] | None) -> tuple[Any, list[str] | None]:
    """The catalogue (default: the packaged one) and the chosen ids (one id, a list, or None for
    all); an unknown id raises with a suggestion."""
    from prismcat.catalog import load_catalog

    cat = catalog if catalog is not None else load_catalog()
    chosen = [ids] if isinstance(ids, str) else (list(ids) if ids else None)
    for i in chosen or []:
        cat.get(i)
    return cat, chosen


def validate(
    ids: str | Sequence[str] | None = None,
    *,
    catalog: Any = None,
    backend: str = "numpy",
    options: dict[str, Any] | None = None,
    profile: str = "quick",
    cache: str | Path | Any | None = DEFAULT_CACHE,
    executor: Any = None,
    progress: bool = True,
    seed_offset: int = 0,
    timeout: float | None = None,
    seeds_per_task: int | None = None,
    dtype: str = "float64",
    jobs: int | None = None,
) -> ValidationResult:
    """Validate entries ``ids`` (one id, a list, or all) against the finite-size model.

    ``cache``: a folder (default ``.prismcat-cache``), a :class:`~prismcat.validation.cache.DiskCache`,
    or None for none. The result holds exactly what ``results.json`` would.
    """
    from prismcat.simulation.api import with_options
    from prismcat.validation.runner import to_records
    from prismcat.validation.runner import validate as run

    cat, chosen = _selection(catalog, ids)
    v = run(
        cat,
        chosen,
        backend=with_options(backend, options),
        profile=profile,
        cache=_cache(cache),
        executor=executor,
        progress=progress,
        seed_offset=seed_offset,
        timeout=timeout,
        seeds_per_task=seeds_per_task,
        dtype=dtype,
        jobs=jobs,
    )
    return ValidationResult(to_records(v), v)


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
    from prismcat.catalog import load_catalog
    from prismcat.placement import Point, candidates, compare
    from prismcat.simulation import Problem

    point = Point(d, k, n, sigma2)
    t = np.linspace(0.0, t_max, points)
    cat = catalog if catalog is not None else load_catalog()
    observed, sim = None, None
    if simulate_run:
        res = simulate(Problem(d=d, k=k, n=n, sigma2=sigma2, times=tuple(t), seed=seed), backend)[0]
        observed = {"L_train0": res.train0 * d, "L_pop0": res.population0 * d, "trS": res.trS}
        sim = {"train": res.train, "population": res.population}
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
    from prismcat.catalog import load_catalog
    from prismcat.families import get_family
    from prismcat.placement import FamilyPoint, family_candidates, family_compare
    from prismcat.simulation import Integrator

    family = get_family(model)
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


def power(
    ids: str | Sequence[str] | None = None,
    *,
    catalog: Any = None,
    delta: float = 0.05,
    backend: str = "numpy",
    profile: str = "quick",
    cache: str | Path | Any | None = DEFAULT_CACHE,
    executor: Any = None,
    progress: bool = True,
    seed_offset: int = 0,
    timeout: float | None = None,
):
    """Which formula errors of relative size ``delta`` the checks catch (a
    :class:`~prismcat.validation.power.PowerReport`)."""
    from prismcat.validation.power import power as run

    cat, chosen = _selection(catalog, ids)
    return run(
        cat,
        chosen,
        delta=delta,
        backend=backend,
        profile=profile,
        cache=_cache(cache),
        executor=executor,
        progress=progress,
        seed_offset=seed_offset,
        timeout=timeout,
    )
