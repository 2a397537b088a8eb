"""Optional libraries, imported when a feature needs them, with the extra that installs each.

prismcat's base install is small; pandas (``to_frame``), torch and jax (their backends), mkdocs
(the site) come with extras. :func:`require` imports one or raises an ImportError that says how to
install it; :func:`missing` says, without importing anything, why a feature cannot run here.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

EXTRAS = {  # module -> the extra that installs it
    "pandas": "notebook",
    "torch": "torch",
    "torchdiffeq": "torch",
    "jax": "jax",
    "diffrax": "jax",
    "mkdocs": "docs",
    "distributed": "dask",
}


def install_hint(module: str) -> str:
    extra = EXTRAS.get(module)
    return f"pip install 'prismcat-regimes[{extra}]'" if extra else f"pip install {module}"


def missing(modules: tuple[str, ...]) -> str | None:
    """Why a feature needing ``modules`` cannot run here (None if they are all installed)."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed: {install_hint(module)}"
    return None


def require(module: str, feature: str) -> ModuleType:
    """``module``, imported, or an ImportError saying that ``feature`` needs it and how to get it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{feature} needs {module}: {install_hint(module)}") from None


def pandas() -> ModuleType:
    """pandas, for the ``to_frame()`` of results."""
    return require("pandas", "to_frame()")
