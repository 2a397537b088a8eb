"""The term tree of an expression, for printing: parsed and checked exactly as for compiling it
(:mod:`prismcat.formulas.expr`; nothing is evaluated), with helpers kept as names and the
shorthand functions written out (``expm1(x)`` as ``exp(x) - 1``, ``log1p(x)`` as ``log(1 + x)``,
``pos(x)`` as ``max(x, 0)``)."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prismcat.errors import ExpressionError
from prismcat.formulas.expr import CONSTANTS, Scope, parse
from prismcat.formulas.functions import STANDARD_FUNCTIONS

_CMP = {ast.Lt: "<", ast.LtE: r"\le", ast.Gt: ">", ast.GtE: r"\ge"}
_BIN = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}


@dataclass(frozen=True)
class Term:
    """One operation: ``num`` (value), ``sym`` (name), ``call`` (function name), a comparison
    (``<``, ``\\le``, ...), or ``add sub mul div pow neg``."""

    op: str
    args: tuple[Term, ...] = ()
    value: Any = None


def _num(value: float) -> Term:
    return Term("num", value=float(value))


def _variables(tree: ast.AST) -> list[str]:
    """Names read as variables (not callees, constants or functions), in order of appearance."""
    callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = [
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and id(n) not in callees and n.id not in CONSTANTS
    ]
    return [n for n in dict.fromkeys(names) if n not in STANDARD_FUNCTIONS]


def parse_term(expression: str, variables: Sequence[str] | None = None) -> Term:
    """The checked term tree of ``expression``.

    It is validated by :class:`~prismcat.formulas.expr.Scope` as for compiling it, with
    ``variables`` (default: every name it reads), so errors are the compiler's located ones."""
    tree = parse(expression)
    Scope(_variables(tree) if variables is None else list(variables)).compile(expression)
    return _term(tree, expression)


def _term(node: ast.AST, text: str) -> Term:
    if isinstance(node, ast.Constant):
        value = node.value
        return _num(float(value) if abs(value) < 1e308 else float("inf"))
    if isinstance(node, ast.Name):
        return Term("sym", value=node.id)
    if isinstance(node, ast.BinOp):
        return Term(_BIN[type(node.op)], (_term(node.left, text), _term(node.right, text)))
    if isinstance(node, ast.UnaryOp):
        operand = _term(node.operand, text)
        return Term("neg", (operand,)) if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Compare):
        return Term(_CMP[type(node.ops[0])], (_term(node.left, text), _term(node.comparators[0], text)))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _call(node.func.id, tuple(_term(a, text) for a in node.args))
    # unreachable after validation; kept so a gap in it can never print something unchecked
    raise ExpressionError(f"{type(node).__name__} cannot be printed", text, getattr(node, "col_offset", 0))


def _call(name: str, args: tuple[Term, ...]) -> Term:
    """A call, with the functions that are shorthands written out."""
    if name == "expm1":
        return Term("sub", (Term("call", args, "exp"), _num(1)))
    if name == "log1p":
        return Term("call", (Term("add", (_num(1), args[0])),), "log")
    if name == "pos":
        return Term("call", (args[0], _num(0)), "maximum")
    return Term("call", args, name)


def _constant(term: Term) -> float | None:
    """The value of a sub-tree of numbers only (``1 / 2``), computed on floats; else None."""
    if term.op == "num":
        return term.value
    values = [_constant(a) for a in term.args]
    if not term.args or any(v is None for v in values):
        return None
    try:
        if term.op == "neg":
            return -values[0]
        if term.op == "div":
            return values[0] / values[1]
        if term.op == "mul":
            return values[0] * values[1]
    except (ArithmeticError, TypeError):
        return None
    return None


def _assume(term: Term, cond: Term, holds: bool) -> Term:
    """``term`` with each ``where(cond, a, b)`` of this same ``cond`` replaced by ``a`` (``holds``)
    or ``b``: exact inside a branch of ``where(cond, ...)``, and it drops guards like
    ``where(abs(r) > 1e-12, expm1(r * t) / where(abs(r) > 1e-12, r, 1), t)``."""
    if not term.args:
        return term
    if term.op == "call" and term.value == "where" and term.args[0] == cond:
        return _assume(term.args[1 if holds else 2], cond, holds)
    args = tuple(_assume(a, cond, holds) for a in term.args)
    return term if args == term.args else Term(term.op, args, term.value)
