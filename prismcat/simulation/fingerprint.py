"""What, besides the problem, determines a simulation's numbers: the code and the machine.

A simulated curve is a function of the problem (sizes, seed, data, times, the resolved integrator
and formulation, dtype) and of the code that computed it: prismcat's simulation package, the
backend plugin's package, the numerical libraries and their versions, the BLAS library and its
thread count, the device. :func:`fingerprint` gathers the second half, so that a cache keyed on
both misses after any of them changes (an edited kernel, an upgraded numpy, a CUDA run after a
CPU one) and hits otherwise.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import platform
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info

import prismcat
from prismcat.errors import PluginError
from prismcat.settings import blas_threads
from prismcat.simulation.base import Simulator

_SIMULATION = Path(__file__).resolve().parent
_TASKS = _SIMULATION.parent / "validation" / "tasks.py"


@lru_cache(maxsize=32)
def source_digest(*roots: Path) -> str:
    """sha256 over the Python sources under ``roots`` (relative path and bytes of each file)."""
    h = hashlib.sha256()
    for root in roots:
        files = [root] if root.is_file() else sorted(root.rglob("*.py"))
        for f in files:
            h.update(f.name.encode() if root.is_file() else str(f.relative_to(root)).encode())
            h.update(b"\0")
            h.update(f.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def _package_root(sim: Simulator) -> Path:
    """The backend's own source: its module for a built-in one, its top package for a plugin."""
    name = type(sim).__module__
    top = name.split(".")[0]
    module = importlib.import_module(name if top == "prismcat" else top)
    path = Path(module.__file__).resolve()
    return path if top == "prismcat" else path.parent


@lru_cache(maxsize=1)
def _blas() -> list[dict[str, str]]:
    """The BLAS libraries numpy and scipy compute with (others that happen to be loaded, e.g.
    torch's, are left out so that the key does not depend on what was imported before)."""
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS, so it is always listed)

    keep = ("internal_api", "version", "architecture", "threading_layer")
    libs = [
        {k: str(lib.get(k)) for k in keep}
        for lib in threadpool_info()
        if lib.get("user_api") == "blas" and any(p in str(lib.get("filepath")) for p in ("numpy", "scipy"))
    ]
    return sorted(libs, key=lambda lib: json.dumps(lib, sort_keys=True))


def environment() -> dict[str, Any]:
    """The host-side numerical environment every backend shares (X and W0 are drawn with numpy)."""
    import scipy  # deferred, as in _blas above: scipy is loaded only when a simulation runs

    return {
        "prismcat": prismcat.__version__,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "machine": platform.machine(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "blas": _blas(),
        "blas_threads": str(blas_threads()),
        "simulation_source": source_digest(_SIMULATION, _TASKS),
    }


def fingerprint(sim: Simulator) -> dict[str, Any]:
    """Everything outside the problem that determines ``sim``'s numbers (see the module doc)."""
    try:
        own = sim.fingerprint()
    except Exception as exc:
        raise PluginError(f"simulator backend '{sim.name}' failed to describe itself: {exc}") from exc
    if not isinstance(own, dict):
        raise PluginError(f"simulator backend '{sim.name}': fingerprint() returned {type(own).__name__}")
    options = sim.options.model_dump(mode="json") if sim.options is not None else {}
    return {
        "backend": sim.name,
        "backend_options": options,
        "backend_details": {str(k): str(v) for k, v in own.items()},
        "backend_source": source_digest(_package_root(sim)),
        **environment(),
    }
