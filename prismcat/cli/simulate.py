"""The finite-size model's commands: simulate, backends, where."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from prismcat.api import where, where_family
from prismcat.cli.arguments import (
    SIZE,
    backend_arguments,
    backend_spec,
    limit_arguments,
    parse_assignment,
    parse_times,
    parse_variance,
    positive_number,
    whole_number,
)
from prismcat.cli.output import EXIT_OK, catalog, print_json, table
from prismcat.errors import PrismcatError
from prismcat.files import write_atomic
from prismcat.settings import DEFAULT_FAMILY
from prismcat.simulation import Integrator, Problem, backends, load_problem_npz, simulate


def cmd_simulate(args: argparse.Namespace) -> int:
    integ = Integrator(method=args.integrator, dt=args.dt, rtol=args.rtol, atol=args.atol, clock=args.clock)
    settings = dict(
        seed=args.seed,
        integrator=integ,
        dtype=args.dtype,
        formulation=args.formulation,
        spectrum=args.spectrum,
    )
    if args.problem is not None:
        given = [f"--{s}" for s in ("d", "k", "n", "sigma2") if getattr(args, s) is not None]
        if given:
            raise PrismcatError(f"{', '.join(given)}: the sizes come from the arrays in {args.problem}")
        problem = load_problem_npz(args.problem, args.times, **settings)
    else:
        missing = [f"--{s}" for s in ("d", "k", "n", "sigma2") if getattr(args, s) is None]
        if missing:
            raise PrismcatError(f"missing {', '.join(missing)} (or give --problem FILE.npz)")
        problem = Problem(
            d=args.d, k=args.k, n=args.n, sigma2=args.sigma2, times=tuple(args.times), **settings
        )
    result = simulate(problem, backend=backend_spec(args), max_memory=args.max_memory)[0]
    if args.json:
        print_json(result.to_json())
        return EXIT_OK
    info = result.info
    print(
        f"d={problem.d} k={problem.k} n={problem.n} sigma2={problem.sigma2:g} seed={problem.seed}: "
        f"{info['backend']}, {info['integrator']}, {info['formulation']}, "
        f"{info['evals']} evaluations"
    )
    rows = [
        [f"{t:.6g}", f"{a:.10g}", f"{b:.10g}"]
        for t, a, b in zip(result.t, result.train, result.population, strict=True)
    ]
    print(table(rows, ["t", "L_train/d", "L_pop/d"]))
    if result.spectrum is not None:
        print("spectrum of W^T W at the end:", np.array2string(result.spectrum, precision=6))
    return EXIT_OK


def cmd_where(args: argparse.Namespace) -> int:
    if args.model != DEFAULT_FAMILY:
        return _where_family(args, where_family)
    missing = [f"--{s}" for s in ("d", "k", "n", "sigma2") if getattr(args, s) is None]
    if missing:
        raise PrismcatError(f"missing {', '.join(missing)} (the autoencoder's sizes)")
    placement = where(
        args.d,
        args.k,
        args.n,
        args.sigma2,
        catalog=catalog(args),
        t_max=args.t_max,
        points=args.points,
        top=args.top,
        simulate_run=args.simulate,
        backend=backend_spec(args),
        seed=args.seed,
    )
    point, cands, sim = placement.point, placement.candidates, placement.simulation
    best = placement.best
    if _figure_or_json(args, placement):
        return EXIT_OK
    r = point.ratios
    print(
        f"gamma = k/d = {r['gamma']:.4g}, alpha = n/d = {r['alpha']:.4g}, "
        f"a = sigma2 d = {r['a']:.4g}, u = sigma2 k = {r['u']:.4g}"
    )
    print(_toward(placement.strength))
    rows = []
    for c in cands:
        dist = " / ".join(f"{c.distance[x]:.3g}" for x in ("train", "population") if x in c.distance) or "-"
        warn = ("out of range: " + ", ".join(c.out_of_range) + ". ") if c.out_of_range else ""
        rows.append([c.entry.id, f"{c.score:.2f}", dist, (warn + c.note)[:70]])
    print(table(rows, ["candidate", "score", "distance to run" if sim else "distance", "note"]))
    if best is not None:
        print(f"best description of this run: {best.entry.id}")
    if args.figure:
        print(f"figure: {args.figure}")
    return EXIT_OK


def _figure_or_json(args: argparse.Namespace, placement: Any) -> bool:
    """Write ``--figure``; print ``--json`` and say so (the caller is then done)."""
    if args.figure:
        write_atomic(args.figure, placement.png())
    if args.json:
        print_json(placement.to_json())
    return bool(args.json)


def _toward(strength: dict[str, float]) -> str:
    far = ", ".join(f"{f} {v:.2f}" for f, v in strength.items() if v > 0) or "nothing extreme"
    return f"toward (nats): {far}"


def _where_family(args: argparse.Namespace, where_family) -> int:
    sizes = dict(args.size or [])
    structure = {}
    for text in args.structure or []:
        key, eq, value = text.partition("=")
        if not eq:
            raise PrismcatError(f"--structure {text!r} is not KEY=VALUE")
        structure[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value.strip()
    placement = where_family(
        args.model,
        sizes,
        structure,
        catalog=catalog(args),
        t_max=args.t_max,
        points=args.points,
        top=args.top,
        simulate_run=args.simulate,
        backend=None if args.backend == "numpy" else args.backend,
        seed=args.seed,
    )
    if _figure_or_json(args, placement):
        return EXIT_OK
    point = placement.point
    print(
        f"{point.family.name} {point.geometry.title}: "
        + ", ".join(f"{k} = {v:g}" for k, v in point.sizes.items())
    )
    print(_toward(placement.strength))
    rows = []
    for c in placement.candidates:
        dist = f"{c.distance['train']:.3g}" if "train" in c.distance else "-"
        rows.append([c.entry.id, c.entry.cell.id, f"{c.score:.2f}", dist, c.note[:60]])
    print(
        table(
            rows, ["candidate", "cell", "score", "distance to run" if args.simulate else "distance", "note"]
        )
    )
    best = placement.best
    if best is not None:
        print(f"best description of this run: {best.entry.id}")
    return EXIT_OK


def cmd_backends(args: argparse.Namespace) -> int:
    items = backends()
    if args.json:
        print_json(items)
        return EXIT_OK
    rows = [
        [
            b["name"],
            b["family"],
            "yes" if b["available"] else "no",
            b["reason"],
            b["runs"],
            b["options"] or "-",
            b["description"],
        ]
        for b in items
    ]
    print(table(rows, ["backend", "family", "usable", "detail", "runs", "options", "description"]))
    if not any(b["available"] for b in items):
        print(
            "\nno usable simulator backend: reinstall prismcat (numpy ships with it), or see "
            "'prismcat plugins' for one that failed to load",
            file=sys.stderr,
        )
    return EXIT_OK


def add_commands(add) -> None:
    """The finite-size model's subcommands, through ``add(name, function, help, json_flag=True)``."""
    p = add("simulate", cmd_simulate, "run the finite-size autoencoder and print its loss curves")
    for size, typ in (("d", SIZE), ("k", SIZE), ("n", SIZE), ("sigma2", parse_variance)):
        p.add_argument(f"--{size}", type=typ, default=None)
    p.add_argument(
        "--problem",
        type=Path,
        default=None,
        metavar="FILE.npz",
        help="arrays X (d x n) and W0 (d x k)",
    )
    p.add_argument("--seed", type=whole_number(0), default=0)
    backend_arguments(p)
    p.add_argument("--integrator", choices=["adaptive", "rk4", "euler"], default="adaptive")
    p.add_argument(
        "--dt", type=positive_number, default=None, help="step of euler/rk4 (euler: the learning rate)"
    )
    p.add_argument("--rtol", type=positive_number, default=None, help="default 1e-10 (float32: 1e-6)")
    p.add_argument("--atol", type=positive_number, default=None, help="default 1e-12 (float32: 1e-8)")
    p.add_argument(
        "--clock",
        choices=["auto", "linear", "log"],
        default="auto",
        help="adaptive: integrate in log(1 + c t)",
    )
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument(
        "--formulation",
        choices=["auto", "data-w", "covariance-w", "eigen-w", "eigen-p"],
        default="auto",
    )
    p.add_argument("--spectrum", action="store_true", help="also report the spectrum of W^T W at the end")
    limit_arguments(p)
    p.add_argument("--times", type=parse_times, default=parse_times("0:5:51"), metavar="T0:T1:COUNT")
    p = add(
        "where", cmd_where, "place a run on the prism (or its family's geometry) and predict its loss curves"
    )
    for size, typ in (("d", SIZE), ("k", SIZE), ("n", SIZE), ("sigma2", parse_variance)):
        p.add_argument(f"--{size}", type=typ, default=None, help="autoencoder size")
    p.add_argument("--model", default=DEFAULT_FAMILY, help=f"the model family (default: {DEFAULT_FAMILY})")
    p.add_argument(
        "--size",
        action="append",
        type=parse_assignment,
        metavar="NAME=VALUE",
        help="another family's size, e.g. --size p=32 --size H=1024 --size sigma=0.5",
    )
    p.add_argument(
        "--structure",
        action="append",
        metavar="KEY=VALUE",
        help="another family's structure, e.g. --structure nu=3 --structure symmetry=asym",
    )
    p.add_argument("--t-max", type=positive_number, default=5.0)
    p.add_argument("--points", type=whole_number(2, 100_000), default=51)
    p.add_argument("--top", type=whole_number(1), default=5, help="how many candidate entries")
    p.add_argument("--simulate", action="store_true", help="also run the finite-size model and compare")
    backend_arguments(p)
    p.add_argument("--seed", type=whole_number(0), default=0)
    p.add_argument("--figure", type=Path, default=None, metavar="FILE.png")
    add("backends", cmd_backends, "list the installed simulator backends and whether each is usable")
