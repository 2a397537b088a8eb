"""Property-based fuzzing of the expression compiler and the catalogue loader.

Random expression strings and random YAML trees must never raise anything but prismcat's own
error types, and must never open a file, import a module or start a process: an audit hook
(sys.addaudithook) records such events while the fuzzed code runs.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prismcat.catalog.loader import entry_from_doc
from prismcat.catalog.source import parse_yaml
from prismcat.errors import CatalogError, EvaluationError, ExpressionError
from prismcat.formulas.expr import Scope

from .test_corpus import CORPUS

_WATCH: dict = {"on": False, "events": []}
_FORBIDDEN = (
    "open",
    "import",
    "exec",
    "compile_unsafe",
    "os.",
    "subprocess.",
    "socket.",
    "shutil.",
    "ctypes.",
    "urllib.",
    "pty.",
)


def _hook(event: str, args: tuple) -> None:
    if _WATCH["on"] and (event in ("open", "import", "exec") or event.startswith(_FORBIDDEN)):
        _WATCH["events"].append((event, repr(args)[:120]))


sys.addaudithook(_hook)  # cannot be removed; inert unless a test switches it on


@contextlib.contextmanager
def no_side_effects():
    _WATCH["events"].clear()
    _WATCH["on"] = True
    try:
        yield
    finally:
        _WATCH["on"] = False
    assert not _WATCH["events"], f"side effects: {_WATCH['events'][:5]}"


SCOPE_NAMES = ["t", "u", "lam"]
ENV = {"t": np.linspace(0, 2, 5), "u": np.float64(0.3), "lam": np.linspace(0.1, 3, 5)}
FUNCS = [
    "exp",
    "log",
    "sqrt",
    "where",
    "minimum",
    "mp_quantile",
    "mp_stieltjes",
    "mp_cdf",
    "clip",
    "pos",
    "eval",
    "exec",
    "open",
    "__import__",
    "getattr",
    "print",
    "sum",
    "max",
]
NAMES = [*SCOPE_NAMES, "pi", "x", "__class__", "__builtins__", "_private", "os", "self", "True", "None"]
ATOMS = st.one_of(
    st.sampled_from(NAMES),
    st.integers(-(10**6), 10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.sampled_from(["'s'", '"s"', "1j", "...", "[]", "{}", "()", "b''", "1e999"]),
)


def _combine(children):
    two = st.tuples(children, children)
    return st.one_of(
        st.tuples(
            children,
            st.sampled_from(
                ["+", "-", "*", "/", "**", "//", "%", "@", "<", ">=", "==", " and ", " or ", " if 1 else "]
            ),
            children,
        ).map("".join),
        children.map(lambda c: f"-{c}"),
        children.map(lambda c: f"({c})"),
        children.map(lambda c: f"not {c}"),
        st.tuples(st.sampled_from(FUNCS), st.lists(children, max_size=3)).map(
            lambda p: f"{p[0]}({', '.join(p[1])})"
        ),
        two.map(lambda p: f"{p[0]}.{p[1].split('(')[0] or 'x'}"),
        two.map(lambda p: f"{p[0]}[{p[1]}]"),
        children.map(lambda c: f"lambda: {c}"),
        children.map(lambda c: f"[x for x in {c}]"),
        children.map(lambda c: f"exp(x={c})"),
        children.map(lambda c: f"(v := {c})"),
    )


EXPRESSIONS = st.recursive(ATOMS, _combine, max_leaves=12)

# Only allowed constructs, with the right arities: exercises evaluation (overflow, nan, complex
# values, broadcasting) rather than rejection.
_ARITY = {
    "exp": 1,
    "expm1": 1,
    "log": 1,
    "log1p": 1,
    "sqrt": 1,
    "tanh": 1,
    "arccos": 1,
    "abs": 1,
    "pos": 1,
    "real": 1,
    "minimum": 2,
    "maximum": 2,
    "mp_cdf": 2,
    "mp_quantile": 2,
    "mp_stieltjes": 2,
    "mp_moment": 2,
    "mp_upper": 1,
    "mp_atom": 1,
    "where": 3,
    "clip": 3,
}
VALID_EXPRESSIONS = st.recursive(
    st.one_of(st.sampled_from([*SCOPE_NAMES, "pi"]), st.floats(-1e6, 1e6, allow_nan=False).map(repr)),
    lambda c: st.one_of(
        st.tuples(c, st.sampled_from(["+", "-", "*", "/", "**"]), c).map(lambda p: f"({p[0]} {p[1]} {p[2]})"),
        c.map(lambda x: f"-{x}"),
        st.sampled_from(sorted(_ARITY)).flatmap(
            lambda f: st.lists(c, min_size=_ARITY[f], max_size=_ARITY[f]).map(
                lambda a, f=f: f"{f}({', '.join(a)})"
            )
        ),
        st.tuples(c, c, c, c).map(lambda p: f"where({p[0]} < {p[1]}, {p[2]}, {p[3]})"),
    ),
    max_leaves=10,
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _compile_and_run(text: str) -> None:
    try:
        compiled = Scope(SCOPE_NAMES).compile(text)
        compiled(ENV)
    except (ExpressionError, EvaluationError):
        pass


def _warm_up() -> None:
    _compile_and_run("exp(t) + mp_quantile(u, 0.5) + mp_stieltjes(u, lam + 10) + clip(t, u, lam)")
    doc = parse_yaml((CORPUS / "_base.txt").read_text(), "base.yaml")
    entry_from_doc(doc, check_values=True)


_warm_up()


@FUZZ
@given(EXPRESSIONS)
def test_random_expressions_only_raise_project_errors(text):
    with no_side_effects():
        _compile_and_run(text)


@FUZZ
@given(VALID_EXPRESSIONS)
def test_random_valid_expressions_evaluate_or_raise_project_errors(text):
    with no_side_effects():
        _compile_and_run(text)


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80))
def test_random_text_as_expression(text):
    with no_side_effects():
        _compile_and_run(text)


YAML_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**40), 10**40),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(
        ["t", "k / d", "lam", "exp(t)", "1 / alpha", "marchenko_pastur", "closed_form", "ode", "none"]
    ),
)
YAML_TREES = st.recursive(
    YAML_SCALARS,
    lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.text(max_size=12), c, max_size=4)),
    max_leaves=25,
)


def _load(text: str) -> None:
    with contextlib.suppress(CatalogError):
        entry_from_doc(parse_yaml(text, "fuzz.yaml"), check_values=True)


@FUZZ
@given(YAML_TREES)
def test_random_yaml_trees_only_raise_catalog_errors(tree):
    with no_side_effects():
        _load(yaml.safe_dump(tree))


BASE = yaml.safe_load((CORPUS / "_base.txt").read_text())


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(BASE) if p]


@FUZZ
@given(st.sampled_from(PATHS), YAML_TREES, st.booleans())
def test_mutated_valid_entries_only_raise_catalog_errors(path, value, delete):
    import copy

    data = copy.deepcopy(BASE)
    node = data
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    with no_side_effects():
        _load(yaml.safe_dump(data))


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_catalog_errors(raw):
    with no_side_effects(), contextlib.suppress(CatalogError):
        entry_from_doc(parse_yaml(raw, "fuzz.yaml"))


def test_the_hook_does_catch_side_effects():
    """The guard itself works: opening a file while watched is reported."""
    try:
        with no_side_effects():
            open(__file__).close()
    except AssertionError as exc:
        assert "open" in str(exc)
    else:
        raise AssertionError("the audit hook did not see the open()")
