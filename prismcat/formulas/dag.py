"""The compiled form of an expression: a DAG of operations (helpers are shared nodes, never
copies), its canonical text, and its evaluation by closures over numpy in which every shared node
is computed once per call.

The work of one evaluation is the number of distinct operations, bounded by ``MAX_OPERATIONS``;
a chain of helpers each used twice by the next costs its length, not two to its length.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prismcat.errors import ExpressionError

MAX_OPERATIONS = 20_000  # distinct operations of one compiled expression, helpers inlined

Env = Mapping[str, Any]
Evaluator = Callable[[Env], Any]

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
SCALAR_OPS: dict[str, Callable[..., Any]] = {
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


def postorder(roots: Sequence[Node], done: Mapping[int, Any] | None = None) -> list[Node]:
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
    for node in postorder(roots):
        value = repr(float(node.value)) if node.op == "const" else node.value
        signature = (node.op, value, tuple(number[id(a)] for a in node.args))
        if signature not in numbers:
            numbers[signature] = len(lines)
            label = node.op if value is None else f"{node.op}:{value}"
            lines.append(f"{label}({','.join(map(str, signature[2]))})")
        number[id(node)] = numbers[signature]
    return ";".join(lines) + " -> " + ",".join(str(number[id(r)]) for r in roots)


class Builder:
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
        order = postorder([root])
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
        for node in postorder([root], memo):
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


def fold(root: Node, values: Mapping[str, Any]) -> Node:
    """``root`` with the variables in ``values`` replaced and constant sub-trees evaluated."""
    new: dict[int, Node] = {}
    for node in postorder([root]):
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


def commutes_with_conjugation(compiled: Any, complex_names: frozenset[str]) -> bool:
    """Whether conjugating the variables ``complex_names`` conjugates the value (all others being
    real): every operation on a complex operand is in a conjugation-safe table. Orderings
    (comparisons, minimum, maximum, clip, pos), imag and sign are not, nor is a real base to a
    complex power (a negative base sits on the cut of log with +0j, its conjugate would not)."""
    complex_ids: set[int] = set()
    for node in postorder([compiled.tree]):
        operands = [id(a) in complex_ids for a in node.args]
        if not (any(operands) or (node.op == "var" and node.value in complex_names)):
            continue
        complex_ids.add(id(node))
        name = node.value if node.op == "call" else node.op
        safe = name in _CONJUGATION_SAFE and not (name == "pow" and not operands[0])
        if not (safe or (name == "mp_stieltjes" and not operands[0])):  # a real ratio, a complex point
            return False
    return True
