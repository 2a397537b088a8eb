"""prismcat-cp: CP tensor decompositions (arXiv:2602.04548) as a second prismcat model family.

Registers the family (its Pareto polygons and catalogue) and two simulator backends, ``cp-numpy``
and ``cp-torch`` (when torch is installed), through prismcat's hooks.
"""

from prismcat import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_families(register):
    from prismcat_cp.family import CP

    register(CP)


@hookimpl
def register_simulators(register):
    from prismcat_cp.simulator import CPNumpySimulator, CPTorchSimulator

    register(CPNumpySimulator())
    register(CPTorchSimulator())
