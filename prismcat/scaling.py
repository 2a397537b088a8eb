"""Sizes and their scaling: monomials in a family's sizes (the autoencoder's d, k, n, sigma2 by
default), how they grow with N, and concrete sizes for a given N that hold an entry's fixed ratios
at prescribed values."""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from prismcat.errors import ExpressionError
from prismcat.formulas.expr import parse

Number = int | float | Fraction


def exact(x: Number) -> Fraction:
    """An exact fraction for an exponent written in YAML (0.5 -> 1/2, not 0.5000000001; a float
    within 1e-12 of a fraction with denominator <= 1000 is that fraction: -0.6666666666666666 is
    -2/3)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError(f"exponent must be finite, got {x}")
        written = Fraction(repr(x))
        simple = written.limit_denominator(1000)  # -0.6666666666666666 is -2/3, as meant
        return simple if abs(simple - written) < 1e-12 else written
    return Fraction(x)


@dataclass(frozen=True)
class Monomial:
    """coefficient * prod size**power."""

    coefficient: float
    powers: dict[str, Fraction]

    def exponents(self) -> dict[str, Fraction]:
        return {s: p for s, p in self.powers.items() if p != 0}

    def value(self, sizes: Mapping[str, float]) -> float:
        """The ratio at concrete sizes (e.g. the realised gamma of a run with integer d, k)."""
        out = self.coefficient
        for s, p in self.powers.items():
            out *= sizes[s] ** float(p)
        return float(out)

    def growth(self, scaling: Mapping[str, Fraction]) -> Fraction:
        """The exponent of N of this monomial when each size grows like N**scaling[size]."""
        return sum((p * scaling[s] for s, p in self.powers.items()), Fraction(0))


def monomial(text: str, sizes: tuple[str, ...]) -> Monomial:
    """Read ``text`` (``k / d``, ``sigma2 * d``, ``sqrt(n / d)``) as a monomial in ``sizes``
    (default: the autoencoder's)."""
    return _mono(parse(text), text, sizes)


def _mono(node: ast.AST, text: str, sizes: tuple[str, ...]) -> Monomial:
    off = getattr(node, "col_offset", None)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return Monomial(float(node.value), {})
    if isinstance(node, ast.Name):
        if node.id not in sizes:
            raise ExpressionError(f"'{node.id}' is not a size (use {', '.join(sizes)})", text, off)
        return Monomial(1.0, {node.id: Fraction(1)})
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        m = _mono(node.operand, text, sizes)
        return Monomial(-m.coefficient, m.powers)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div):
        left, right = _mono(node.left, text, sizes), _mono(node.right, text, sizes)
        sign = 1 if isinstance(node.op, ast.Mult) else -1
        powers = dict(left.powers)
        for s, p in right.powers.items():
            powers[s] = powers.get(s, Fraction(0)) + sign * p
        coef = left.coefficient * right.coefficient if sign > 0 else left.coefficient / right.coefficient
        return Monomial(coef, powers)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        base = _mono(node.left, text, sizes)
        expo = _mono(node.right, text, sizes)
        if expo.powers and any(expo.powers.values()):
            raise ExpressionError("exponents must be numbers", text, off)
        e = exact(expo.coefficient)
        return Monomial(base.coefficient**expo.coefficient, {s: p * e for s, p in base.powers.items()})
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "sqrt"
        and len(node.args) == 1
    ):
        m = _mono(node.args[0], text, sizes)
        return Monomial(math.sqrt(m.coefficient), {s: p / 2 for s, p in m.powers.items()})
    raise ExpressionError(
        f"a ratio must be a monomial in {', '.join(sizes)} (products, quotients, powers)", text, off
    )


def canonical_mismatch(name: str, mono: Monomial, ratios: Mapping[str, str], family: str) -> str | None:
    """If ``name`` is one of the family's canonical ratios (``ratios``: name -> its one allowed
    definition, e.g. the autoencoder's gamma = k / d), say how ``mono`` differs from it."""
    canon = ratios.get(name)
    if canon is None:
        return None
    sizes = tuple(mono.powers)
    want = monomial(canon, tuple(dict.fromkeys((*sizes, *_names(canon)))))
    if mono.exponents() != want.exponents() or mono.coefficient != want.coefficient:
        return f"'{name}' is a canonical ratio and must be defined as {canon} (the {family} family)"
    return None


def _names(text: str) -> list[str]:
    return [n.id for n in ast.walk(parse(text)) if isinstance(n, ast.Name) and n.id != "sqrt"]


def solve_sizes(
    N: float,
    scaling: Mapping[str, Fraction],
    fixed: Mapping[str, tuple[Monomial, float]],
    base: Mapping[str, float] | None,
    sizes: tuple[str, ...],
) -> dict[str, float]:
    """Real-valued sizes at ``N``: size = b * N**exponent, the prefactors b chosen so that every
    fixed ratio takes its value; sizes not pinned down that way use ``base`` (default 1).

    Works in log space: each fixed ratio gives one linear equation in the log-prefactors.
    """
    base = dict(base or {})
    rows, rhs = [], []
    for mono, value in fixed.values():
        if not value > 0:
            raise ValueError("fixed ratios must be positive to place a problem")
        rows.append([float(mono.powers.get(s, 0)) for s in sizes])
        rhs.append(math.log(value / mono.coefficient))
    order = [s for s in sizes if s in base] + [s for s in sizes if s not in base]
    for s in order:
        rank = np.linalg.matrix_rank(np.array(rows)) if rows else 0
        if rank == len(sizes):
            break
        trial = [*rows, [1.0 if x == s else 0.0 for x in sizes]]
        if np.linalg.matrix_rank(np.array(trial)) > rank:
            rows.append(trial[-1])
            rhs.append(math.log(base.get(s, 1.0)))
    a, b = np.array(rows), np.array(rhs)
    logs = np.linalg.lstsq(a, b, rcond=None)[0]
    if np.max(np.abs(a @ logs - b)) > 1e-9:
        raise ValueError("the fixed ratios' values contradict each other")
    return {s: float(np.exp(logs[i]) * N ** float(scaling[s])) for i, s in enumerate(sizes)}
