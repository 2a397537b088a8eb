"""How an unexpected failure reads in a record: what was being done, the exception, where."""

from __future__ import annotations

import traceback

from prismcat.errors import PluginError, PrismcatError
from prismcat.simulation import SimulationError
from prismcat.validation.executors import TaskTimeout


def describe(exc: BaseException, doing: str) -> str:
    if isinstance(exc, SimulationError | PluginError | PrismcatError | TaskTimeout):
        return f"{doing}: {exc}"
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" ({where.filename.rsplit('/', 1)[-1]}:{where.lineno})" if where else ""
    return f"{doing}: {type(exc).__name__}: {exc}{at}"
