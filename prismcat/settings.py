"""The settings of a run, with every default in one place and every value checked when it is set.

:class:`RunOptions` is what a validation (or a power study) is told: which backend, which profile,
the seeds, the executor's size, the limits of a task. It is built once, at the edge (the command
line or a call of the Python API), and refuses a bad value there with one clear sentence, before
any work starts; everything downstream takes it as given.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import re
import resource
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args

from prismcat.errors import PrismcatError

ProfileName = Literal["quick", "thorough"]  # the validation profiles, cheapest first
PROFILES: tuple[str, ...] = get_args(ProfileName)
DTYPES = ("float64", "float32")
DEFAULT_FAMILY = "autoencoder"  # the model family of an entry or a simulator that names none
DEFAULT_CACHE_DIR = Path(".prismcat-cache")
DEFAULT_TASK_TIMEOUT = 900.0  # seconds a simulation task or a checker may run (None: no limit)
MAX_SEED = 2**63 - 1  # numpy's generators take any non-negative integer; keys stay in int64


# the environment variables prismcat reads (each is checked where a run starts, like an option)
ENV_JOBS = "PRISMCAT_JOBS"  # worker processes of the local executor (default: every core)
ENV_BLAS_THREADS = "PRISMCAT_BLAS_THREADS"  # BLAS threads of a task (default 1; 0: the library's)
ENV_REPORT_WORKERS = "PRISMCAT_REPORT_WORKERS"  # processes drawing the report's figures
ENV_MAX_MEMORY = "PRISMCAT_MAX_MEMORY"  # memory of one simulation task, e.g. 4G
ENV_CATALOG = "PRISMCAT_CATALOG"  # a catalogue folder that replaces the packaged one
ENV_LOAD_PLUGINS = "PRISMCAT_LOAD_PLUGINS"  # entry-point plugins to load ('' none; unset: all)
ENV_TORCH_DEVICE = "PRISMCAT_TORCH_DEVICE"  # the torch backend's device (default: CUDA if present)


class OptionError(PrismcatError):
    """A run option with a value it cannot take. The message names the option as the command line
    spells it (``--jobs``; the Python keyword is the same without dashes) and the value."""


def whole(name: str, value: Any, low: int, high: int | None = None) -> int:
    """``value`` as a whole number in [low, high], else an :class:`OptionError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise OptionError(f"{name} must be a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"at least {low}" if high is None else f"between {low} and {high}"
        raise OptionError(f"{name} must be {bound}, got {value}")
    return int(value)


def positive(name: str, value: Any) -> float:
    """``value`` as a finite number > 0, else an :class:`OptionError` naming ``name``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise OptionError(f"{name} must be a positive, finite number, got {value!r}")
    return float(value)


def choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise OptionError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def env_whole(name: str, low: int) -> int | None:
    """The environment variable ``name`` as a whole number >= ``low`` (None when unset)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise OptionError(f"{name} must be a whole number, got {text!r}") from None
    if value < low:
        raise OptionError(f"{name} must be at least {low}, got {value}")
    return value


def cores() -> int:
    """The number of cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_jobs() -> int:
    """``$PRISMCAT_JOBS``, else the number of cores this process may use."""
    return env_whole(ENV_JOBS, 1) or cores()


def blas_threads() -> int:
    """BLAS threads of one task: ``$PRISMCAT_BLAS_THREADS`` (default 1; 0 leaves the library's)."""
    value = env_whole(ENV_BLAS_THREADS, 0)
    return 1 if value is None else value


def report_workers() -> int | None:
    """``$PRISMCAT_REPORT_WORKERS`` (None: decided by the number of figures and cores)."""
    return env_whole(ENV_REPORT_WORKERS, 1)


_UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtT]i?)?[bB]?\s*$")


def parse_size(text: str) -> int:
    """``4G``, ``512M``, ``1.5GiB`` or ``1000000`` (bytes) as a positive number of bytes."""
    m = _SIZE.match(str(text))
    if not m:
        raise PrismcatError(f"bad memory size {text!r}: use e.g. 4G, 512M, 1.5GiB or a number of bytes")
    value = float(m.group(1)) * _UNITS[(m.group(2) or "").lower()]
    if not (math.isfinite(value) and value >= 1):
        raise PrismcatError(f"bad memory size {text!r}: it must be at least one byte")
    return int(value)


def usable_memory() -> float:
    """The memory this process may use: the machine's, or a smaller cgroup or address-space limit."""
    limits = []
    with contextlib.suppress(ValueError, OSError, AttributeError):
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    for cgroup in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError):
            text = Path(cgroup).read_text().strip()
            if text.isdigit() and int(text) < 2**60:
                limits.append(int(text))
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(soft)
    return float(min(limits)) if limits else 8e9


def default_max_memory() -> float:
    """``$PRISMCAT_MAX_MEMORY``, else half of :func:`usable_memory`."""
    env = os.environ.get(ENV_MAX_MEMORY)
    if env:
        try:
            return float(parse_size(env))
        except PrismcatError as exc:
            raise OptionError(f"{ENV_MAX_MEMORY}: {exc}") from None
    return usable_memory() / 2


def check_environment() -> None:
    """Refuse a malformed environment variable now, before a run, not half-way through it."""
    default_jobs()
    blas_threads()
    report_workers()
    default_max_memory()


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How to run a validation. Every field is checked here; ``None`` means the default that
    depends on the machine (``jobs``: every core or ``$PRISMCAT_JOBS``; ``max_memory``:
    ``$PRISMCAT_MAX_MEMORY`` or half the usable memory; ``timeout=None``: no time limit)."""

    backend: str = "numpy"  # a backend's name, or NAME:KEY=VALUE,...
    options: Mapping[str, Any] = field(default_factory=dict)  # the backend's options
    profile: str = "quick"
    dtype: str = "float64"
    seed_offset: int = 0  # shifts every seed (seeds are offset, offset + 1, ...)
    seeds_per_task: int | None = None  # None: the design's seed blocks (policy.SEED_BLOCK)
    jobs: int | None = None  # worker processes of the local executor
    timeout: float | None = DEFAULT_TASK_TIMEOUT  # seconds a task or a checker may run (None: no limit)
    max_memory: float | None = None  # bytes one simulation task may use
    progress: bool = True
    resolution: float | None = None  # the relative error every check must resolve (None: the policy's)
    budget: float | None = None  # seconds of wall clock the simulations may take (None: the profile's)

    def __post_init__(self) -> None:
        if not isinstance(self.backend, str) or not self.backend.strip():
            raise OptionError(f"--backend must be a name, got {self.backend!r}")
        if not isinstance(self.options, Mapping):
            raise OptionError(f"backend options must be a mapping, got {type(self.options).__name__}")
        choice("--profile", self.profile, PROFILES)
        choice("--dtype", self.dtype, DTYPES)
        if whole("--seed-offset", self.seed_offset, 0) > MAX_SEED // 2:
            raise OptionError(f"--seed-offset {self.seed_offset} is too large (at most {MAX_SEED // 2})")
        if self.seeds_per_task is not None:
            whole("--seeds-per-task", self.seeds_per_task, 1)
        if self.jobs is not None:
            whole("--jobs", self.jobs, 1)
        if self.timeout is not None:
            positive("--task-timeout (timeout, in seconds)", self.timeout)
        if self.max_memory is not None:
            positive("--max-memory (max_memory, in bytes)", self.max_memory)
        if self.resolution is not None and not (positive("--resolution", self.resolution) < 1):
            raise OptionError(f"--resolution must lie in (0, 1) (e.g. 1%), got {self.resolution!r}")
        if self.budget is not None:
            positive("--budget (seconds)", self.budget)
        check_environment()

    @classmethod
    def of(cls, options: RunOptions | None = None, **settings: Any) -> RunOptions:
        """``options`` (default: the defaults) with ``settings`` applied, checked."""
        base = options or cls()
        return base.replace(**settings) if settings else base

    def replace(self, **changes: Any) -> RunOptions:
        """A copy with ``changes`` (checked like the original)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return RunOptions(**values)

    def memory_limit(self) -> float:
        """The memory limit per task in bytes (the default resolved)."""
        return self.max_memory if self.max_memory is not None else default_max_memory()

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "options"} | {
            "options": dict(self.options)
        }
