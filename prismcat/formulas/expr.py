"""The safe expression language.

Expressions are written in Python syntax but only a tiny, audited subset is accepted: numbers,
names, ``+ - * / **``, unary minus, one-step comparisons (for ``where``) and calls to a fixed
table of vectorised numpy functions. The text is parsed with :mod:`ast` and every node is
checked; accepted trees are compiled into closures over numpy operations. Nothing is ever
passed to ``eval``/``exec`` and no attribute of any object is reachable from an expression.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from prismcat.errors import EvaluationError, ExpressionError

MAX_EXPRESSION_LENGTH = 2000
MAX_DEPTH = 100
MAX_EXPANDED_DEPTH = 400

Env = Mapping[str, Any]
Evaluator = Callable[[Env], Any]

CONSTANTS: dict[str, float] = {"pi": float(np.pi)}


@dataclass(frozen=True)
class Function:
    """One entry of the function table: a vectorised implementation and its arity."""

    name: str
    impl: Callable[..., Any]
    min_args: int
    max_args: int
    doc: str


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
}
_FORBIDDEN: dict[type, str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscripts",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.IfExp: "conditional expressions (use where(cond, a, b))",
    ast.BoolOp: "'and'/'or' (use where and comparisons)",
    ast.NamedExpr: "assignment expressions",
    ast.Starred: "starred arguments",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.JoinedStr: "f-strings",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.Slice: "slices",
}


@dataclass(frozen=True)
class Compiled:
    """A checked, compiled expression. Call it with an environment of numpy arrays."""

    text: str
    fn: Evaluator
    variables: frozenset[str]
    depth: int

    def __call__(self, env: Env) -> np.ndarray:
        """Evaluate; numeric misuse (shapes that do not broadcast, a complex value where a real
        one is needed, ...) becomes an :class:`EvaluationError` naming the expression."""
        try:
            with np.errstate(all="ignore"):
                return np.asarray(self.fn(env))
        except (ValueError, TypeError, ArithmeticError, IndexError) as exc:
            raise EvaluationError(f"cannot evaluate '{self.text}': {type(exc).__name__}: {exc}") from None


def _depth(node: ast.AST) -> int:
    """AST depth, computed iteratively (a hostile input must not exhaust the C stack)."""
    best = 0
    stack: list[tuple[ast.AST, int]] = [(node, 1)]
    while stack:
        cur, d = stack.pop()
        best = max(best, d)
        stack.extend((child, d + 1) for child in ast.iter_child_nodes(cur))
    return best


def parse(text: str) -> ast.expr:
    """Parse ``text`` into an expression tree, or raise a located :class:`ExpressionError`."""
    if not isinstance(text, str):
        raise ExpressionError(f"expected an expression string, got {type(text).__name__}", "")
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"expression is {len(text)} characters long (limit {MAX_EXPRESSION_LENGTH})", text, 0
        )
    if not text.strip():
        raise ExpressionError("empty expression", text, 0)
    if "\x00" in text:
        raise ExpressionError("expression contains a NUL character", text, text.index("\x00"))
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        offset = (exc.offset - 1) if exc.offset else None
        raise ExpressionError(f"syntax error: {exc.msg}", text, offset) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ExpressionError(f"expression cannot be parsed ({type(exc).__name__})", text, 0) from None
    lead = len(text) - len(text.lstrip())
    if lead:
        for node in ast.walk(tree):
            if hasattr(node, "col_offset"):
                node.col_offset += lead  # type: ignore[attr-defined]
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise ExpressionError(f"expression nested too deeply (depth {depth}, limit {MAX_DEPTH})", text, 0)
    return tree.body


class Scope:
    """The names an expression may use.

    ``variables`` are read from the evaluation environment (in this order in messages);
    ``helpers`` are named sub-expressions (a formula's ``where:``) compiled on first use in
    this same scope, so a helper that mentions ``lam`` is valid inside an integrand only.
    """

    def __init__(
        self,
        variables: Sequence[str],
        helpers: Mapping[str, str] | None = None,
        functions: Mapping[str, Function] | None = None,
    ):
        from prismcat.formulas.functions import STANDARD_FUNCTIONS

        self.variables = list(dict.fromkeys(variables))
        self.helpers = dict(helpers or {})
        self.functions = dict(STANDARD_FUNCTIONS if functions is None else functions)
        self._compiled: dict[str, Compiled] = {}
        self._compiling: list[str] = []
        for name in self.helpers:
            if name in self.variables or name in CONSTANTS or name in self.functions:
                raise HelperError(name, f"helper '{name}' shadows a name that is already defined")
            if name.startswith("_") or not name.isidentifier():
                raise HelperError(name, f"'{name}' is not a valid helper name")

    def extend(self, variables: Sequence[str]) -> Scope:
        """A scope with extra variables (e.g. the integration variable), same helpers."""
        return Scope([*variables, *self.variables], self.helpers, self.functions)

    def known(self) -> list[str]:
        return [*self.variables, *self.helpers, *CONSTANTS]

    def compile(self, text: str) -> Compiled:
        tree = parse(text)
        fn, names, depth = self._node(tree, text)
        return Compiled(text, fn, frozenset(names), depth)

    def helper(self, name: str) -> Compiled:
        if name in self._compiled:
            return self._compiled[name]
        if name in self._compiling:
            cycle = " -> ".join([*self._compiling[self._compiling.index(name) :], name])
            raise HelperError(name, f"helpers refer to each other in a cycle: {cycle}")
        self._compiling.append(name)
        try:
            compiled = self.compile(self.helpers[name])
        except HelperError:
            raise
        except ExpressionError as exc:
            raise HelperError(name, exc.message, exc.text, exc.offset) from None
        finally:
            self._compiling.pop()
        if compiled.depth > MAX_EXPANDED_DEPTH:
            raise HelperError(name, "helpers nest too deeply")
        self._compiled[name] = compiled
        return compiled

    # -- compilation of single nodes -------------------------------------------------------
    def _node(self, node: ast.AST, text: str) -> tuple[Evaluator, set[str], int]:
        off = getattr(node, "col_offset", None)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                kind = type(value).__name__
                raise ExpressionError(f"only numbers are allowed as constants, not {kind}", text, off)
            const = np.float64(value) if abs(value) < 1e308 else np.float64(np.inf)
            return (lambda env: const), set(), 1
        if isinstance(node, ast.Name):
            return self._name(node.id, text, off)
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            if op is None:
                sym = type(node.op).__name__
                raise ExpressionError(f"operator {sym} is not allowed (use + - * / **)", text, off)
            lf, ln, ld = self._node(node.left, text)
            rf, rn, rd = self._node(node.right, text)
            return (lambda env: op(lf(env), rf(env))), ln | rn, 1 + max(ld, rd)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                f, n, d = self._node(node.operand, text)
                return (lambda env: np.negative(f(env))), n, d + 1
            if isinstance(node.op, ast.UAdd):
                return self._node(node.operand, text)
            raise ExpressionError("only unary minus and plus are allowed", text, off)
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise ExpressionError("chained comparisons are not allowed", text, off)
            cmp = _COMPARE.get(type(node.ops[0]))
            if cmp is None:
                raise ExpressionError("only <, <=, > and >= comparisons are allowed", text, off)
            lf, ln, ld = self._node(node.left, text)
            rf, rn, rd = self._node(node.comparators[0], text)
            return (lambda env: cmp(lf(env), rf(env))), ln | rn, 1 + max(ld, rd)
        if isinstance(node, ast.Call):
            return self._call(node, text)
        what = _FORBIDDEN.get(type(node), type(node).__name__)
        raise ExpressionError(f"{what} not allowed in expressions", text, off)

    def _name(self, name: str, text: str, off: int | None) -> tuple[Evaluator, set[str], int]:
        _check_identifier(name, text, off)
        if name in self.variables:
            return (lambda env: env[name]), {name}, 1
        if name in self.helpers:
            h = self.helper(name)
            return h.fn, set(h.variables), h.depth
        if name in CONSTANTS:
            const = np.float64(CONSTANTS[name])
            return (lambda env: const), set(), 1
        if name in self.functions:
            raise ExpressionError(f"'{name}' is a function; call it as {name}(...)", text, off)
        raise ExpressionError(unknown_name_message(name, self.known()), text, off)

    def _call(self, node: ast.Call, text: str) -> tuple[Evaluator, set[str], int]:
        off = node.col_offset
        if not isinstance(node.func, ast.Name):
            self._node(node.func, text)  # a forbidden callee (lambda, attribute, ...) names itself
            raise ExpressionError("only calls of functions from the table are allowed", text, off)
        name = node.func.id
        _check_identifier(name, text, off)
        func = self.functions.get(name)
        if func is None:
            known = ", ".join(sorted(self.functions))
            close = difflib.get_close_matches(name, list(self.functions), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ExpressionError(f"unknown function '{name}'{hint}; allowed: {known}", text, off)
        if node.keywords:
            raise ExpressionError(f"{name}(): keyword arguments are not allowed", text, off)
        n = len(node.args)
        if not func.min_args <= n <= func.max_args:
            want = (
                str(func.min_args)
                if func.min_args == func.max_args
                else f"{func.min_args} to {func.max_args}"
            )
            raise ExpressionError(f"{name}() takes {want} argument(s), got {n}", text, off)
        parts = [self._node(a, text) for a in node.args]
        fns = [p[0] for p in parts]
        names = set().union(*(p[1] for p in parts)) if parts else set()
        depth = 1 + max((p[2] for p in parts), default=0)
        impl = func.impl
        return (lambda env: impl(*[f(env) for f in fns])), names, depth


class HelperError(ExpressionError):
    """An error inside the ``where:`` helper ``helper``."""

    def __init__(self, helper: str, message: str, text: str = "", offset: int | None = None):
        super().__init__(message, text, offset)
        self.helper = helper


def _check_identifier(name: str, text: str = "", offset: int | None = 0) -> None:
    if name.startswith("_"):
        raise ExpressionError(f"names starting with '_' are not allowed ('{name}')", text or name, offset)


def unknown_name_message(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown name '{name}' (known: {', '.join(known)}){hint}"


def compile_expression(
    text: str, variables: Sequence[str], helpers: Mapping[str, str] | None = None
) -> Compiled:
    """Compile ``text`` with the given variable names and helpers (convenience wrapper)."""
    return Scope(variables, helpers).compile(text)


def evaluate(text: str, **values: Any) -> np.ndarray:
    """Compile and evaluate ``text`` at once with keyword values (for quick use and tests)."""
    env = {
        k: np.asarray(v, dtype=float) if not np.iscomplexobj(v) else np.asarray(v) for k, v in values.items()
    }
    return compile_expression(text, list(env))(env)
