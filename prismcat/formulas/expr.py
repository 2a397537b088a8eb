"""The safe expression language.

Expressions are written in Python syntax but only a tiny, audited subset is accepted: numbers,
names, ``+ - * / **``, unary minus, one-step comparisons (for ``where``) and calls to a fixed
table of vectorised numpy functions. The text is parsed with :mod:`ast` and every node is
checked; accepted trees become a DAG of operations (:mod:`prismcat.formulas.dag`; helpers are
shared nodes), which is compiled into closures over numpy operations. Nothing is ever passed to
``eval``/``exec`` and no attribute of any object is reachable from an expression.

The DAG gives every compiled expression a canonical text (:attr:`Compiled.key`, what caches key
on) and lets a solver fold the parts that do not change during a solve (:meth:`Compiled.bind`).
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from prismcat.errors import EvaluationError, ExpressionError
from prismcat.formulas.dag import (
    SCALAR_OPS,
    Builder,
    Env,
    Evaluator,
    Node,
    canonical,
    fold,
)
from prismcat.formulas.functions import STANDARD_FUNCTIONS, Function

MAX_EXPRESSION_LENGTH = 2000
MAX_DEPTH = 100
MAX_EXPANDED_DEPTH = 400
MAX_HELPERS = 64  # helpers of one where: block (a scope holds an entry's and a formula's)


CONSTANTS: dict[str, float] = {"pi": float(np.pi)}


_BINARY: dict[type, str] = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_COMPARE: dict[type, str] = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge"}
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


@dataclass(frozen=True, eq=False)
class Compiled:
    """A checked, compiled expression. Call it with an environment of numpy arrays."""

    text: str
    tree: Node
    depth: int
    fn: Evaluator = field(repr=False)
    variables: frozenset[str]

    @classmethod
    def build(cls, text: str, tree: Node, depth: int, builder: Builder | None = None) -> Compiled:
        fn, names = (builder or Builder()).build(tree)
        return cls(text, tree, depth, fn, names)

    def __call__(self, env: Env) -> np.ndarray:
        """Evaluate; numeric misuse (shapes that do not broadcast, a complex value where a real
        one is needed, ...) becomes an :class:`EvaluationError` naming the expression."""
        try:
            with np.errstate(all="ignore"):
                return np.asarray(self.fn(env))
        except (ValueError, TypeError, ArithmeticError, IndexError) as exc:
            raise EvaluationError(f"cannot evaluate '{self.text}': {type(exc).__name__}: {exc}") from None

    @cached_property
    def key(self) -> str:
        """Canonical text of the operations (helpers inlined): equal keys, equal numbers."""
        return canonical([self.tree])

    def bind(self, values: Mapping[str, Any]) -> Compiled:
        """The expression with ``values`` fixed and every sub-expression of them computed once.

        For solver loops: the values, and the variables it is called with, must be numpy scalars
        or arrays (Python floats would change division by zero and negative powers)."""
        values = {
            k: v if isinstance(v, np.ndarray | np.generic) else np.asarray(v)[()] for k, v in values.items()
        }
        return Compiled.build(self.text, fold(self.tree, values), self.depth, Builder(SCALAR_OPS))


def _numpy(value: Any) -> Any:
    """``value`` as numpy: arrays and numpy scalars as they are, Python numbers as float64/complex128."""
    if isinstance(value, np.ndarray | np.generic):
        return value
    return np.complex128(value) if isinstance(value, complex) else np.float64(value)


@contextmanager
def evaluating(what: str) -> Iterator[None]:
    """What :meth:`Compiled.__call__` does around one call, around a whole computation that calls
    ``Compiled.fn`` directly (a solver's inner loop): numpy warnings off, numeric misuse raised as
    an :class:`EvaluationError` naming ``what``."""
    try:
        with np.errstate(all="ignore"):
            yield
    except (ValueError, TypeError, ArithmeticError, IndexError) as exc:
        raise EvaluationError(f"cannot evaluate {what}: {type(exc).__name__}: {exc}") from None


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
        self.variables = list(dict.fromkeys(variables))
        self.helpers = dict(helpers or {})
        self.functions = dict(STANDARD_FUNCTIONS if functions is None else functions)
        self._compiled: dict[str, Compiled] = {}
        self._mentions: dict[str, list[str]] = {}
        self._failed: dict[str, HelperError] = {}
        self._builder = Builder()
        if len(self.helpers) > 2 * MAX_HELPERS:
            name = list(self.helpers)[2 * MAX_HELPERS]
            raise HelperError(name, f"more than {2 * MAX_HELPERS} helpers in one scope")
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
        node, depth = self._node(parse(text), text)
        return Compiled.build(text, node, depth, self._builder)

    def helper(self, name: str) -> Compiled:
        """The compiled helper ``name``. The helpers it uses are compiled before it, each once, in
        dependency order, so a chain of helpers costs its length, never a recursion as deep."""
        if name not in self._compiled:
            for dep in self._dependency_order(name):
                self._compile_helper(dep)
        return self._compiled[name]

    def _uses(self, name: str) -> list[str]:
        """The helpers that helper ``name``'s text mentions (parsed once)."""
        if name not in self._mentions:
            try:
                tree = parse(self.helpers[name])
            except ExpressionError as exc:
                raise HelperError(name, exc.message, exc.text, exc.offset) from None
            found = (n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
            self._mentions[name] = list(dict.fromkeys(h for h in found if h in self.helpers))
        return self._mentions[name]

    def _dependency_order(self, name: str) -> list[str]:
        """``name`` and the uncompiled helpers it depends on, dependencies first (an iterative
        depth-first search); a cycle is a :class:`HelperError` that names it."""
        order: list[str] = []
        done: set[str] = set()
        path = [name]
        stack = [iter(self._uses(name))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                done.add(path[-1])
                order.append(path.pop())
            elif nxt in path:
                cycle = " -> ".join([*path[path.index(nxt) :], nxt])
                raise HelperError(nxt, f"helpers refer to each other in a cycle: {cycle}")
            elif nxt not in done and nxt not in self._compiled:
                path.append(nxt)
                stack.append(iter(self._uses(nxt)))
        return order

    def _compile_helper(self, name: str) -> None:
        if name in self._compiled:
            return
        if name in self._failed:
            raise self._failed[name]
        try:
            compiled = self.compile(self.helpers[name])
            if compiled.depth > MAX_EXPANDED_DEPTH:
                raise ExpressionError(
                    f"helpers nest too deeply (depth {compiled.depth}, limit {MAX_EXPANDED_DEPTH})"
                )
        except HelperError as exc:
            self._failed[name] = exc
            raise
        except ExpressionError as exc:
            self._failed[name] = HelperError(name, exc.message, exc.text, exc.offset)
            raise self._failed[name] from None
        self._compiled[name] = compiled

    # -- compilation of single nodes -------------------------------------------------------
    def _node(self, node: ast.AST, text: str) -> tuple[Node, int]:
        off = getattr(node, "col_offset", None)
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                kind = type(value).__name__
                raise ExpressionError(f"only numbers are allowed as constants, not {kind}", text, off)
            return Node("const", value=np.float64(value) if abs(value) < 1e308 else np.float64(np.inf)), 1
        if isinstance(node, ast.Name):
            return self._name(node.id, text, off)
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            if op is None:
                sym = type(node.op).__name__
                raise ExpressionError(f"operator {sym} is not allowed (use + - * / **)", text, off)
            (left, ld), (right, rd) = self._node(node.left, text), self._node(node.right, text)
            return Node(op, (left, right)), 1 + max(ld, rd)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                operand, d = self._node(node.operand, text)
                return Node("neg", (operand,)), d + 1
            if isinstance(node.op, ast.UAdd):
                return self._node(node.operand, text)
            raise ExpressionError("only unary minus and plus are allowed", text, off)
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise ExpressionError("chained comparisons are not allowed", text, off)
            cmp = _COMPARE.get(type(node.ops[0]))
            if cmp is None:
                raise ExpressionError("only <, <=, > and >= comparisons are allowed", text, off)
            (left, ld), (right, rd) = self._node(node.left, text), self._node(node.comparators[0], text)
            return Node(cmp, (left, right)), 1 + max(ld, rd)
        if isinstance(node, ast.Call):
            return self._call(node, text)
        what = _FORBIDDEN.get(type(node), type(node).__name__)
        raise ExpressionError(f"{what} not allowed in expressions", text, off)

    def _name(self, name: str, text: str, off: int | None) -> tuple[Node, int]:
        _check_identifier(name, text, off)
        if name in self.variables:
            return Node("var", value=name), 1
        if name in self.helpers:
            h = self.helper(name)
            return h.tree, h.depth
        if name in CONSTANTS:
            return Node("const", value=np.float64(CONSTANTS[name])), 1
        if name in self.functions:
            raise ExpressionError(f"'{name}' is a function; call it as {name}(...)", text, off)
        raise ExpressionError(unknown_name_message(name, self.known()), text, off)

    def _call(self, node: ast.Call, text: str) -> tuple[Node, int]:
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
        args, depth = [], 0
        for a in node.args:
            arg, d = self._node(a, text)
            args.append(arg)
            depth = max(depth, d)
        return Node("call", tuple(args), func.name, func.impl), depth + 1


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
