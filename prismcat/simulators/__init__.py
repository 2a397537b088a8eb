"""The simulator backends that ship with prismcat, a built-in plugin on ``register_simulators``
like any third-party one: numpy (the reference, always usable), torch and jax (usable once their
libraries are installed: ``pip install 'prismcat-regimes[torch]'`` or ``'prismcat-regimes[jax]'``)."""

from __future__ import annotations

from prismcat.hookspecs import hookimpl
from prismcat.simulators.jax_backend import JaxSimulator
from prismcat.simulators.numpy_backend import NumpySimulator
from prismcat.simulators.torch_backend import TorchSimulator


@hookimpl
def register_simulators(register):
    register(NumpySimulator())
    register(TorchSimulator())
    register(JaxSimulator())
