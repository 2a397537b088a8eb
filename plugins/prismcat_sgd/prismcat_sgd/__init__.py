"""prismcat-sgd: minibatch SGD on the train loss, registered as the simulator backend 'sgd'."""

from prismcat import hookimpl


@hookimpl
def register_simulators(register):
    from prismcat_sgd.simulator import SGDSimulator

    register(SGDSimulator())
