"""The simulator backends that ship with prismcat, a built-in plugin on ``register_simulators``
like any third-party one: numpy (the reference, always usable), torch and jax (usable once their
libraries are installed: ``pip install 'prismcat[torch]'`` or ``'prismcat[jax]'``)."""

from __future__ import annotations

import importlib.util

from prismcat.hookspecs import hookimpl


def missing(modules: tuple[str, ...], extra: str) -> str | None:
    """Why a backend whose libraries are ``modules`` cannot run here (None if they are installed)."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed: pip install 'prismcat[{extra}]'"
    return None


@hookimpl
def register_simulators(register):
    from prismcat.simulators.jax_backend import JaxSimulator
    from prismcat.simulators.numpy_backend import NumpySimulator
    from prismcat.simulators.torch_backend import TorchSimulator

    register(NumpySimulator())
    register(TorchSimulator())
    register(JaxSimulator())
