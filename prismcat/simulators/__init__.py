"""The simulator backends that ship with prismcat, a built-in plugin on ``register_simulators``
like any third-party one: numpy (the reference, always usable), torch and jax (usable once their
libraries are installed: ``pip install 'prismcat[torch]'`` or ``'prismcat[jax]'``)."""

from __future__ import annotations

from prismcat.hookspecs import hookimpl


@hookimpl
def register_simulators(register):
    from prismcat.simulators.jax_backend import JaxSimulator
    from prismcat.simulators.numpy_backend import NumpySimulator
    from prismcat.simulators.torch_backend import TorchSimulator

    register(NumpySimulator())
    register(TorchSimulator())
    register(JaxSimulator())
