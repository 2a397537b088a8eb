"""prismcat-descent: the checker 'descent', registered through prismcat's register_checkers hook."""

from prismcat import hookimpl


@hookimpl
def register_checkers(register):
    from prismcat_descent.checker import DescentChecker

    register(DescentChecker())
