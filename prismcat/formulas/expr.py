"""The safe expression language.

Expressions are written in Python syntax but only a tiny, audited subset is accepted: numbers,
names, ``+ - * / **``, unary minus, one-step comparisons (for ``where``) and calls to a fixed
table of vectorised numpy functions. The text is parsed with :mod:`ast` and every node is
checked; accepted trees become a small tree of :class:`Node` objects (helpers inlined), which is
compiled into closures over numpy operations. Nothing is ever passed to ``eval``/``exec`` and no
attribute of any object is reachable from an expression.

The node tree gives every compiled expression a canonical text (:attr:`Compiled.key`, what caches
key on) and lets a solver fold the parts that do not change during a solve
(:meth:`Compiled.bind`).
"""

from __future__ import annotations

import ast
import difflib
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from prismcat.errors import EvaluationError, ExpressionError

MAX_EXPRESSION_LENGTH = 2000
MAX_DEPTH = 100
MAX_EXPANDED_DEPTH = 400
MAX_OPERATIONS = 20_000  # distinct operations of one compiled expression, helpers inlined
MAX_HELPERS = 64  # helpers of one where: block (a scope holds an entry's and a formula's)

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


_BINARY: dict[type, str] = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_COMPARE: dict[type, str] = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge"}
_OPS: dict[str, Callable[..., Any]] = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.divide,
    "pow": np.power,
    "neg": np.negative,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}
# The same operations as Python operators: identical on numpy scalars and arrays, a few times
# faster on scalars, but Python floats would divide by zero into an exception and take
# fractional powers of negative numbers into complex values. Only for bound expressions, whose
# callers pass numpy values (pow keeps np.power: ndarray ** 0.5 would take a square root).
_NUMPY_ONLY_OPS: dict[str, Callable[..., Any]] = {
    **_OPS,
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "neg": operator.neg,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
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


@dataclass(frozen=True, eq=False)
class Node:
    """One operation of a compiled expression: ``op`` applied to ``args``.

    ``op`` is ``const`` (``value``: the number), ``var`` (``value``: the name), ``call``
    (``value``: the function name, ``impl`` its implementation) or a key of ``_OPS``.
    Helpers are inlined as shared sub-trees, so a tree is a DAG.
    """

    op: str
    args: tuple[Node, ...] = ()
    value: Any = None
    impl: Callable[..., Any] | None = field(default=None, repr=False)

    def apply(self, values: Sequence[Any]) -> Any:
        """This operation on already evaluated operands (as its closure computes it)."""
        return _operation(self, _OPS)(*values)


def _postorder(roots: Sequence[Node], done: Mapping[int, Any] | None = None) -> list[Node]:
    """Distinct nodes below ``roots`` (not in ``done``), operands first; iterative, since an
    expression with helpers inlined can be deeper than Python's recursion limit allows."""
    seen: set[int] = set(done or ())
    order: list[Node] = []
    stack: list[tuple[Node, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        node, ready = stack.pop()
        if id(node) in seen:
            continue
        if ready:
            seen.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((a, False) for a in reversed(node.args))
    return order


def canonical(roots: Sequence[Node]) -> str:
    """A text that equals another's exactly when the (unbound) trees compute the same operations.

    Distinct sub-trees are numbered in post-order and listed once, so a shared helper costs its
    size once, never its expanded size."""
    lines: list[str] = []
    numbers: dict[tuple, int] = {}
    number: dict[int, int] = {}
    for node in _postorder(roots):
        value = repr(float(node.value)) if node.op == "const" else node.value
        signature = (node.op, value, tuple(number[id(a)] for a in node.args))
        if signature not in numbers:
            numbers[signature] = len(lines)
            label = node.op if value is None else f"{node.op}:{value}"
            lines.append(f"{label}({','.join(map(str, signature[2]))})")
        number[id(node)] = numbers[signature]
    return ";".join(lines) + " -> " + ",".join(str(number[id(r)]) for r in roots)


class _Builder:
    """Turns nodes into closures and variable sets.

    A helper used in several places is one shared node of the DAG; it is evaluated once per call
    (bound to a slot of the environment before the nodes that read it), never once per path, so
    the work of an evaluation is the number of distinct operations (at most
    ``MAX_OPERATIONS``), however the helpers nest. Expressions without shared operations are
    plain nested closures, memoised per node across the builds of one scope (the memo holds each
    node, so an ``id`` is never reused while it is a key)."""

    def __init__(self, ops: Mapping[str, Callable[..., Any]] = _OPS) -> None:
        self._memo: dict[int, tuple[Node, Evaluator, frozenset[str]]] = {}
        self._ops = ops

    def build(self, root: Node) -> tuple[Evaluator, frozenset[str]]:
        order = _postorder([root])
        if len(order) > MAX_OPERATIONS:
            raise ExpressionError(
                f"expression has {len(order)} distinct operations once its helpers are inlined "
                f"(limit {MAX_OPERATIONS})"
            )
        uses: dict[int, int] = {}
        for node in order:
            for a in node.args:
                uses[id(a)] = uses.get(id(a), 0) + 1
        shared = [n for n in order if uses.get(id(n), 0) > 1 and n.op not in ("const", "var")]
        if not shared:
            return self._tree(root)
        return self._dag(order, shared, root)

    def _tree(self, root: Node) -> tuple[Evaluator, frozenset[str]]:
        memo = self._memo
        for node in _postorder([root], memo):
            parts = [memo[id(a)] for a in node.args]
            names = frozenset({node.value}) if node.op == "var" else frozenset().union(*(p[2] for p in parts))
            memo[id(node)] = (node, _closure(node, [p[1] for p in parts], self._ops), names)
        return memo[id(root)][1:]

    def _dag(self, order: list[Node], shared: list[Node], root: Node) -> tuple[Evaluator, frozenset[str]]:
        """Shared operations computed once per call, in dependency order, into slots ("\x00i":
        no expression can name them) that the operations above them read."""
        slots = {id(n): f"\x00{i}" for i, n in enumerate(shared)}
        own: dict[int, Evaluator] = {}  # what computes each node
        ref: dict[int, Evaluator] = {}  # what a parent calls to get its value
        names: dict[int, frozenset[str]] = {}
        for node in order:
            own[id(node)] = _closure(node, [ref[id(a)] for a in node.args], self._ops)
            names[id(node)] = (
                frozenset({node.value})
                if node.op == "var"
                else frozenset().union(*(names[id(a)] for a in node.args))
            )
            slot = slots.get(id(node))
            ref[id(node)] = own[id(node)] if slot is None else _slot_reader(slot)
        steps = [(slots[id(n)], own[id(n)]) for n in shared]
        top = own[id(root)]

        def evaluate(env: Env) -> Any:
            local = dict(env)
            for slot, fn in steps:
                local[slot] = fn(local)
            return top(local)

        return evaluate, names[id(root)]


def _slot_reader(slot: str) -> Evaluator:
    return lambda env: env[slot]


def _is_two(node: Node) -> bool:
    return node.op == "const" and np.ndim(node.value) == 0 and node.value == 2


def _operation(node: Node, ops: Mapping[str, Callable[..., Any]]) -> Callable[..., Any]:
    """The function an operation node applies to its operands' values."""
    if node.op == "call":
        assert node.impl is not None
        return node.impl
    if node.op == "pow" and _is_two(node.args[1]):
        return lambda x, _: np.square(x)  # exact, and ten times faster than power for complex
    return ops[node.op]


def _closure(node: Node, args: list[Evaluator], ops: Mapping[str, Callable[..., Any]]) -> Evaluator:
    """numpy closure evaluating ``node`` from the closures of its operands."""
    if node.op == "const":
        const = node.value
        return lambda env: const
    if node.op == "var":
        name = node.value
        return lambda env: env[name]
    fn = _operation(node, ops)
    if len(args) == 1:
        (arg,) = args
        return lambda env: fn(arg(env))
    if len(args) == 2:
        left, right = args
        return lambda env: fn(left(env), right(env))
    return lambda env: fn(*[a(env) for a in args])


def _fold(root: Node, values: Mapping[str, Any]) -> Node:
    """``root`` with the variables in ``values`` replaced and constant sub-trees evaluated."""
    new: dict[int, Node] = {}
    for node in _postorder([root]):
        if node.op == "var":
            new[id(node)] = Node("const", value=values[node.value]) if node.value in values else node
            continue
        args = tuple(new[id(a)] for a in node.args)
        out = Node(node.op, args, node.value, node.impl) if args else node
        if args and all(a.op == "const" for a in args):
            try:
                with np.errstate(all="ignore"):
                    out = Node("const", value=out.apply([a.value for a in args]))
            except (ValueError, TypeError, ArithmeticError, IndexError):
                pass  # left to fail, with its message, when evaluated
        new[id(node)] = out
    return new[id(root)]


# Operations f with f(conj z) = conj f(z) (numpy's complex functions follow C99, branch cuts
# included); abs and real give real values, which are their own conjugates.
_CONJUGATION_SAFE = frozenset(
    {"const", "var", "add", "sub", "mul", "div", "pow", "neg", "abs", "real"}
    | {"exp", "expm1", "log", "log1p", "sqrt", "tanh", "sinh", "cosh", "sin", "cos", "arccos", "arctan"}
)


def commutes_with_conjugation(compiled: Compiled, complex_names: frozenset[str]) -> bool:
    """Whether conjugating the variables ``complex_names`` conjugates the value (all others being
    real): every operation on a complex operand is in a conjugation-safe table. Orderings
    (comparisons, minimum, maximum, clip, pos), imag and sign are not, nor is a real base to a
    complex power (a negative base sits on the cut of log with +0j, its conjugate would not)."""
    complex_ids: set[int] = set()
    for node in _postorder([compiled.tree]):
        operands = [id(a) in complex_ids for a in node.args]
        if not (any(operands) or (node.op == "var" and node.value in complex_names)):
            continue
        complex_ids.add(id(node))
        name = node.value if node.op == "call" else node.op
        safe = name in _CONJUGATION_SAFE and not (name == "pow" and not operands[0])
        if not (safe or (name == "mp_stieltjes" and not operands[0])):  # a real ratio, a complex point
            return False
    return True


@dataclass(frozen=True, eq=False)
class Compiled:
    """A checked, compiled expression. Call it with an environment of numpy arrays."""

    text: str
    tree: Node
    depth: int
    fn: Evaluator = field(repr=False)
    variables: frozenset[str]

    @classmethod
    def build(cls, text: str, tree: Node, depth: int, builder: _Builder | None = None) -> Compiled:
        fn, names = (builder or _Builder()).build(tree)
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
        return Compiled.build(self.text, _fold(self.tree, values), self.depth, _Builder(_NUMPY_ONLY_OPS))


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
        from prismcat.formulas.functions import STANDARD_FUNCTIONS

        self.variables = list(dict.fromkeys(variables))
        self.helpers = dict(helpers or {})
        self.functions = dict(STANDARD_FUNCTIONS if functions is None else functions)
        self._compiled: dict[str, Compiled] = {}
        self._mentions: dict[str, list[str]] = {}
        self._failed: dict[str, HelperError] = {}
        self._builder = _Builder()
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
