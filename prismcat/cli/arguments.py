"""The command line's argument types and the option groups several commands share (the backend,
the run settings of ``validate`` and ``power``, the limits of a task), each checked as it is parsed:
a bad value is one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np

from prismcat.errors import PrismcatError
from prismcat.registry import parse_spec, with_options
from prismcat.settings import (
    DEFAULT_CACHE_DIR,
    DEFAULT_TASK_TIMEOUT,
    DTYPES,
    PROFILES,
    RunOptions,
    parse_size,
)
from prismcat.validation.executors import EXECUTORS


# -- argument types ------------------------------------------------------------------------
def parse_times(text: str) -> np.ndarray:
    """``T0:T1:COUNT`` (inclusive linspace) or a comma-separated list of times."""
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError
            t0, t1, count = float(parts[0]), float(parts[1]), int(parts[2])
            if not 1 <= count <= 100_000 or not (np.isfinite(t0) and np.isfinite(t1)) or t1 < t0:
                raise ValueError
            return np.linspace(t0, t1, count)
        values = np.array([float(x) for x in text.split(",") if x.strip()])
        if values.size == 0 or not np.all(np.isfinite(values)):
            raise ValueError
        return values
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad times '{text}': use T0:T1:COUNT (T0 <= T1, 1 <= COUNT <= 100000) or a list like 0,0.5,1"
        ) from None


def parse_assignment(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        number = float(value)
        if not np.isfinite(number):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad --set '{text}': use NAME=VALUE with a finite number") from None
    return name.strip(), number


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argument type: a whole number in [low, high] (one clear line otherwise)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"at least {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return parse


SIZE = whole_number(1)  # d, k, n


def parse_variance(text: str) -> float:
    """An argument type: a finite number >= 0 (an initialisation variance)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (np.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def positive_number(text: str) -> float:
    """An argument type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive, finite number, got {text}")
    return value


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``30m``, ``12h`` or ``7d`` as seconds."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    body, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        value = float(body)
        if not (np.isfinite(value) and value >= 0):
            raise ValueError
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad age '{text}': use e.g. 90s, 30m, 12h or 7d") from None
    return value * units[unit]


def fraction(text: str) -> float:
    """``1%`` or ``0.01`` as a fraction."""
    body, scale = (text[:-1], 0.01) if text.endswith("%") else (text, 1.0)
    try:
        value = float(body) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad fraction '{text}': use e.g. 1% or 0.01") from None
    return value


def duration(text: str) -> float:
    """``90s``, ``10m``, ``2h`` (or plain seconds) as seconds."""
    try:
        return parse_duration(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"bad duration '{text}': use e.g. 90s, 10m or 2h") from None


def memory_size(text: str) -> int:
    try:
        return parse_size(text)
    except PrismcatError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# -- option groups -------------------------------------------------------------------------
def backend_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend", default="numpy", help="simulator backend: NAME or NAME:KEY=VALUE,... (prismcat backends)"
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a backend option (repeatable), e.g. --backend sgd --option batch_size=8",
    )


def backend_options(args: argparse.Namespace) -> dict[str, str]:
    """The ``--option KEY=VALUE`` values."""
    return parse_spec("x:" + ",".join(args.option))[1] if args.option else {}


def backend_spec(args: argparse.Namespace) -> str:
    """The backend spec of ``--backend`` with the ``--option`` values."""
    return with_options(args.backend, backend_options(args))


def limit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-memory",
        type=memory_size,
        default=None,
        metavar="SIZE",
        help="memory one simulation task may use, e.g. 4G (default: $PRISMCAT_MAX_MEMORY, else half "
        "of this machine's); a task estimated above it is refused before it starts",
    )


def run_arguments(p: argparse.ArgumentParser) -> None:
    """What ``validate`` and ``power`` share: the backend, the profile, the cache, the seeds, the
    executor and the limits of a task (their defaults are :class:`~prismcat.settings.RunOptions`')."""
    backend_arguments(p)
    p.add_argument("--profile", choices=PROFILES, default="quick")
    p.add_argument("--no-cache", action="store_true", help="recompute everything")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, metavar="DIR")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--seed-offset", type=int, default=0, help="shift all seeds (robustness check)")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="worker processes for the local executor (default: all cores, or $PRISMCAT_JOBS)",
    )
    p.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local: a pool of --jobs processes (default); in-process: one after another; dask: a cluster",
    )
    p.add_argument("--dtype", choices=DTYPES, default="float64", help="simulation precision")
    p.add_argument(
        "--seeds-per-task", type=int, default=None, help="split each size's seeds into tasks of this many"
    )
    p.add_argument(
        "--task-timeout",
        type=float,
        default=DEFAULT_TASK_TIMEOUT,
        metavar="SECONDS",
        help=f"fail a simulation task or a checker that runs longer (default {DEFAULT_TASK_TIMEOUT:g})",
    )
    design_arguments(p)
    limit_arguments(p)


def design_arguments(p: argparse.ArgumentParser) -> None:
    """What the design of the experiment aims for (validate, power, plan)."""
    p.add_argument(
        "--resolution",
        type=fraction,
        default=None,
        metavar="R",
        help="the relative formula error every check must resolve, e.g. 1%% (default: the profile's targets)",
    )
    p.add_argument(
        "--budget",
        type=duration,
        default=None,
        metavar="TIME",
        help="wall-clock budget of the simulations, e.g. 10m (default: the profile's per-point budget)",
    )


def run_options(args: argparse.Namespace):
    """The run's settings from the command line, checked before anything else happens."""
    return RunOptions(
        backend=args.backend,
        options=backend_options(args),
        profile=args.profile,
        dtype=getattr(args, "dtype", "float64"),
        seed_offset=args.seed_offset,
        seeds_per_task=getattr(args, "seeds_per_task", None),
        jobs=args.jobs,
        timeout=args.task_timeout,
        max_memory=args.max_memory,
        progress=not args.no_progress,
        resolution=getattr(args, "resolution", None),
        budget=getattr(args, "budget", None),
    )


def common_options(suppress: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after its name. The subcommands' copies default
    to SUPPRESS, so ``prismcat --catalog DIR list`` is not undone by ``list``'s own default."""
    common = argparse.ArgumentParser(add_help=False)
    default = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    common.add_argument(
        "--catalog",
        type=Path,
        default=default(None),
        metavar="DIR",
        help="catalogue directory (default: the packaged catalog/)",
    )
    common.add_argument(
        "--debug", action="store_true", default=default(False), help="show tracebacks of unexpected errors"
    )
    return common
