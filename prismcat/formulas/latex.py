"""LaTeX for the catalogue's formulas, printed from the safe expression language's parse tree.

An expression is parsed and checked by :mod:`prismcat.formulas.expr` exactly as for compiling it
(a malformed or hostile text raises the same located :class:`~prismcat.errors.ExpressionError`;
nothing is ever evaluated), turned into a small term tree (helpers stay names, ``expm1``/``log1p``
/``pos`` become the operations they stand for) and printed with the fewest parentheses that keep
the reading unambiguous: ``a / b`` as ``\\frac{a}{b}``, ``x**0.5`` as ``\\sqrt{x}``,
``where(c, a, b)`` as a ``cases`` block, products by juxtaposition (``\\cdot`` before a number).

:func:`to_latex` prints one expression; :func:`entry_latex` prints everything a reader of a
catalogue entry needs: its clock, parameters, helpers, and each loss's quantity and limit in the
way the loss's formula kind defines it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from prismcat.errors import ExpressionError
from prismcat.formulas.expr import CONSTANTS, Scope, parse
from prismcat.formulas.functions import STANDARD_FUNCTIONS

__all__ = [
    "DEFAULT_SYMBOLS",
    "GREEK",
    "NOTATION",
    "Term",
    "entry_latex",
    "latex_symbol",
    "parse_term",
    "text_latex",
    "to_latex",
]

GREEK: frozenset[str] = frozenset(
    {
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "varepsilon",
        "zeta",
        "eta",
        "theta",
        "vartheta",
        "iota",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "pi",
        "varpi",
        "rho",
        "varrho",
        "sigma",
        "varsigma",
        "tau",
        "upsilon",
        "phi",
        "varphi",
        "chi",
        "psi",
        "omega",
        "Gamma",
        "Delta",
        "Theta",
        "Lambda",
        "Xi",
        "Pi",
        "Sigma",
        "Upsilon",
        "Phi",
        "Psi",
        "Omega",
    }
)
_GREEK_ALIASES: dict[str, str] = {"lam": "lambda", "lamda": "lambda", "eps": "varepsilon"}

# Names with a fixed meaning in the catalogue (sizes and observables, see catalog.schema).
DEFAULT_SYMBOLS: dict[str, str] = {
    "sigma2": r"\sigma^{2}",
    "trS": r"\operatorname{Tr}(S)",
    "L_train0": r"L_{\mathrm{train}}(0)",
    "L_pop0": r"L_{\mathrm{pop}}(0)",
    "pi": r"\pi",
}

_CMP = {ast.Lt: "<", ast.LtE: r"\le", ast.Gt: ">", ast.GtE: r"\ge"}
_BIN = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}

# Precedence of a printed fragment: what it may stand next to without parentheses.
CMP, ADD, NEG, MUL, POW, ATOM = range(6)


# -- the term tree --------------------------------------------------------------------------
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


# -- names ----------------------------------------------------------------------------------
def _word(part: str) -> str:
    """One component of a name: a Greek letter, a single letter or digits, or an upright word."""
    part = _GREEK_ALIASES.get(part, part)
    if part in GREEK:
        return "\\" + part
    if len(part) == 1 or part.isdigit():
        return part
    return r"\mathrm{" + part + "}"


def latex_symbol(name: str, symbols: Mapping[str, str] | None = None) -> str:
    """LaTeX for a variable name: ``symbols`` and :data:`DEFAULT_SYMBOLS` first, then Greek
    letters (``gamma``, ``lam``), ``_`` and trailing digits as subscripts (``L_train`` ->
    ``L_{\\mathrm{train}}``, ``t0`` -> ``t_{0}``), ``xmax`` -> ``x_{\\max}``."""
    if symbols and name in symbols:
        return symbols[name]
    if name in DEFAULT_SYMBOLS:
        return DEFAULT_SYMBOLS[name]
    head, *rest = name.split("_")
    subs: list[str] = []
    match = re.fullmatch(r"([A-Za-z]+?)(\d+)", head)
    if match:
        head, digits = match.groups()
        subs.append(digits)
    ext = re.fullmatch(r"(.+?)(max|min)", head)
    if ext and (len(ext[1]) == 1 or _GREEK_ALIASES.get(ext[1], ext[1]) in GREEK):
        head = ext[1]
        subs.insert(0, "\\" + ext[2])
    for part in filter(None, rest):
        tail = re.fullmatch(r"(.*?[A-Za-z])(\d+)", part)
        subs.extend([_word(tail[1]), tail[2]] if tail else [_word(part)])
    base = _word(head) if head else ""
    return base + ("_{" + ",".join(subs) + "}" if subs else "")


# -- printing -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Frag:
    """Printed LaTeX with what its neighbours need to know."""

    text: str
    prec: int
    base_ok: bool = False  # may carry a superscript as it is
    open_right: bool = False  # ends in an undelimited block (cases): nothing may follow it
    minus: bool = False  # starts with a unary minus
    wordy: bool = False  # an upright word, set off by a thin space in products
    slash: bool = False  # an inline a/b


def _paren(frag: _Frag) -> _Frag:
    return _Frag(r"\left(" + frag.text + r"\right)", ATOM, base_ok=True)


def _digit_first(text: str) -> bool:
    """Whether juxtaposing ``text`` after a factor would run digits together or read as a
    mixed fraction (``2 \\frac{1}{3}``)."""
    return text[:1].isdigit() or (text.startswith(r"\frac{") and text[6:7].isdigit())


def _visible_width(text: str) -> int:
    """Rough printed width: commands count one character, delimiters and grouping none."""
    text = re.sub(r"\\(left|right|mathrm|operatorname)\b", "", text)
    text = re.sub(r"\\[A-Za-z]+", "x", text)
    return len(re.sub(r"[\s{}]", "", text))


def _format_number(value: float) -> _Frag:
    """Compact: ``0.5``, ``2``, ``10^{-3}``, ``2.5 \\cdot 10^{-3}``."""
    if value != value:
        return _Frag(r"\mathrm{NaN}", ATOM)
    if value in (float("inf"), float("-inf")):
        return _Frag(r"\infty", ATOM)
    dec = Decimal(repr(value))
    if value != 0 and (abs(value) < 0.01 or abs(value) >= 1e6):
        exponent = dec.adjusted()
        mantissa = format(dec.scaleb(-exponent).normalize(), "f")
        if mantissa == "1":
            return _Frag(f"10^{{{exponent}}}", POW)
        return _Frag(f"{mantissa} \\cdot 10^{{{exponent}}}", MUL)
    text = format(dec.normalize(), "f")
    return _Frag(text, ATOM, base_ok=True)


_NAMED_FUNCTIONS = {
    "exp": r"\exp",
    "log": r"\ln",
    "tanh": r"\tanh",
    "sinh": r"\sinh",
    "cosh": r"\cosh",
    "sin": r"\sin",
    "cos": r"\cos",
    "arccos": r"\arccos",
    "arctan": r"\arctan",
    "minimum": r"\min",
    "maximum": r"\max",
    "sign": r"\operatorname{sgn}",
    "real": r"\operatorname{Re}",
    "imag": r"\operatorname{Im}",
}

# What the printed special functions mean, for a reader (see :func:`entry_latex`'s notation).
_MP = r"\mu_{\mathrm{MP}(c)}"
_EDGES = r"\lambda_{\pm}(c) = \left(1 \pm \sqrt{c}\right)^{2}:\ \text{the edges of } " + _MP
NOTATION: dict[str, str] = {
    "mp": _MP + r":\ \text{Marchenko-Pastur law of ratio } c \text{ (mean 1, atom at 0 if } c > 1)",
    "mp_lower": _EDGES,
    "mp_upper": _EDGES,
    "mp_atom": _MP + r"(\{0\}):\ \text{the mass of the atom at } 0",
    "mp_cdf": r"F_{\mathrm{MP}(c)}(x) = " + _MP + r"\left((-\infty, x]\right)",
    "mp_quantile": r"F_{\mathrm{MP}(c)}^{-1}(p):\ \text{the } p \text{-quantile of } " + _MP,
    "mp_moment": r"\mathbb{E}_{\mathrm{MP}(c)}\left[\lambda^{j}\right] = \int \lambda^{j} \, d"
    + _MP
    + r"(\lambda)",
    "mp_stieltjes": r"m_{\mathrm{MP}(c)}(z) = \int \frac{d" + _MP + r"(x)}{z - x}",
    "point_mass": r"\delta_{x}:\ \text{the unit mass at } x",
}


class _Printer:
    """Prints terms; records the special functions it printed (``used``)."""

    def __init__(self, symbols: Mapping[str, str] | None = None):
        self.symbols = dict(symbols or {})
        self.used: set[str] = set()

    def latex(self, term: Term, inline: bool = False) -> str:
        return self.frag(term, inline).text

    def frag(self, term: Term, inline: bool = False) -> _Frag:
        op, args = term.op, term.args
        if op == "num":
            return _format_number(term.value)
        if op == "sym":
            text = latex_symbol(term.value, self.symbols)
            plain = not re.search(r"[\^( ]", text)
            return _Frag(text, ATOM, base_ok=plain, wordy=text.startswith(r"\mathrm"))
        if op == "call":
            return self.call(term.value, args, inline)
        parts = [self.frag(a, inline) for a in args]
        if op == "neg":
            (x,) = parts
            x = _paren(x) if x.prec <= NEG or x.minus else x
            return _Frag("-" + x.text, NEG, minus=True, open_right=x.open_right)
        if op in ("add", "sub"):
            return self.additive(op, *parts)
        if op == "mul":
            return self.product(*parts)
        if op == "div":
            return self.fraction(*parts, inline=inline)
        if op == "pow":
            return self.power(args[0], args[1], parts[0], parts[1], inline)
        left, right = parts
        left = _paren(left) if left.prec == CMP or left.open_right else left
        right = _paren(right) if right.prec == CMP else right
        return _Frag(f"{left.text} {op} {right.text}", CMP, open_right=right.open_right)

    @staticmethod
    def additive(op: str, left: _Frag, right: _Frag) -> _Frag:
        if left.prec < ADD or left.open_right:
            left = _paren(left)
        if right.minus or right.prec == CMP or right.prec == NEG or (op == "sub" and right.prec == ADD):
            right = _paren(right)
        sign = "+" if op == "add" else "-"
        return _Frag(f"{left.text} {sign} {right.text}", ADD, minus=left.minus, open_right=right.open_right)

    @staticmethod
    def product(left: _Frag, right: _Frag) -> _Frag:
        if left.prec <= ADD or left.open_right or left.slash:
            left = _paren(left)
        if right.prec < MUL or right.minus:
            right = _paren(right)
        if _digit_first(right.text):
            sep = r" \cdot "
        elif left.wordy or right.wordy:
            sep = r" \, "
        else:
            sep = " "
        prec = NEG if left.minus else MUL
        return _Frag(left.text + sep + right.text, prec, minus=left.minus, open_right=right.open_right)

    @staticmethod
    def fraction(num: _Frag, den: _Frag, inline: bool) -> _Frag:
        if not inline:
            return _Frag(r"\frac{" + num.text + "}{" + den.text + "}", ATOM)
        if num.prec < MUL or num.open_right or num.slash:
            num = _paren(num)
        if den.prec <= MUL or den.minus or den.open_right or den.slash:
            den = _paren(den)
        return _Frag(f"{num.text}/{den.text}", MUL, minus=num.minus, slash=True)

    def power(self, base_term: Term, exp_term: Term, base: _Frag, exp: _Frag, inline: bool) -> _Frag:
        value = _constant(exp_term)
        if value == 0.5:
            return _Frag(r"\sqrt{" + base.text + "}", ATOM)
        if value == -0.5:
            return self.fraction(_Frag("1", ATOM), _Frag(r"\sqrt{" + base.text + "}", ATOM), inline)
        if exp_term.op == "div" and value is not None and exp_term.args[0].value == 1.0:
            root = exp_term.args[1].value
            if root in (3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0):
                return _Frag(rf"\sqrt[{int(root)}]{{{base.text}}}", ATOM)
        if not base.base_ok:
            base = _paren(base)
        return _Frag(base.text + "^{" + exp.text + "}", POW)

    def call(self, name: str, args: tuple[Term, ...], inline: bool) -> _Frag:
        if name.startswith("mp_"):
            self.used.update({name, "mp"})
        if name == "where":
            return self.cases(args, inline)
        texts = [self.latex(a, inline) for a in args]
        joined = ", ".join(texts)
        if name == "sqrt":
            return _Frag(r"\sqrt{" + texts[0] + "}", ATOM)
        if name == "abs":
            return _Frag(r"\left|" + texts[0] + r"\right|", ATOM, base_ok=True)
        if name == "exp":
            if _visible_width(texts[0]) <= 16 and not re.search(r"\\(frac|begin|exp)\b|e\^", texts[0]):
                return _Frag("e^{" + texts[0] + "}", POW)
            return _Frag(r"\exp\left(" + texts[0] + r"\right)", ATOM)
        if name in ("mp_lower", "mp_upper", "mp_cdf", "mp_quantile", "mp_moment", "mp_stieltjes", "mp_atom"):
            return self.measure_function(name, args)
        command = _NAMED_FUNCTIONS.get(name, r"\operatorname{" + name.replace("_", r"\_") + "}")
        return _Frag(command + r"\left(" + joined + r"\right)", ATOM)

    def measure_function(self, name: str, args: tuple[Term, ...]) -> _Frag:
        law = r"\mathrm{MP}(" + self.latex(args[0], inline=True) + ")"
        rest = [self.latex(a) for a in args[1:]]
        text = {
            "mp_lower": lambda: r"\lambda_{-}\left(" + self.latex(args[0]) + r"\right)",
            "mp_upper": lambda: r"\lambda_{+}\left(" + self.latex(args[0]) + r"\right)",
            "mp_atom": lambda: r"\mu_{" + law + r"}(\{0\})",
            "mp_cdf": lambda: "F_{" + law + r"}\left(" + rest[0] + r"\right)",
            "mp_quantile": lambda: "F_{" + law + r"}^{-1}\left(" + rest[0] + r"\right)",
            "mp_moment": lambda: r"\mathbb{E}_{" + law + r"}\left[\lambda^{" + rest[0] + r"}\right]",
            "mp_stieltjes": lambda: "m_{" + law + r"}\left(" + rest[0] + r"\right)",
        }[name]()
        return _Frag(text, ATOM)

    def cases(self, args: tuple[Term, ...], inline: bool) -> _Frag:
        rows: list[str] = []
        while True:
            cond, then, other = args
            then, other = _assume(then, cond, True), _assume(other, cond, False)
            rows.append(self.latex(then, inline) + r" & \text{if } " + self.condition(cond, inline))
            if other.op == "call" and other.value == "where":
                args = other.args
                continue
            rows.append(self.latex(other, inline) + r" & \text{otherwise}")
            break
        body = r" \\ ".join(rows)
        return _Frag(r"\begin{cases} " + body + r" \end{cases}", ATOM, open_right=True)

    def condition(self, cond: Term, inline: bool) -> str:
        frag = self.frag(cond, inline)
        if frag.prec == CMP:
            return frag.text
        if frag.prec <= ADD or frag.open_right:
            frag = _paren(frag)
        return frag.text + r" \neq 0"


def to_latex(
    expression: str, symbols: Mapping[str, str] | None = None, *, variables: Sequence[str] | None = None
) -> str:
    """LaTeX for one expression of the safe expression language.

    ``symbols`` maps names to LaTeX that replaces the default rendering (:func:`latex_symbol`);
    ``variables``, when given, are the only names the expression may read (as when compiling it).
    A malformed or unsafe expression raises the parser's located
    :class:`~prismcat.errors.ExpressionError`.
    """
    return _Printer(symbols).latex(parse_term(expression, variables))


# -- catalogue entries ----------------------------------------------------------------------
@dataclass(frozen=True)
class _Eq:
    lhs: str
    rhs: str
    rel: str = "="

    def line(self) -> str:
        return f"{self.lhs} {self.rel} {self.rhs}" if self.rhs else self.lhs

    def aligned(self) -> str:
        return f"{self.lhs} &{self.rel} {self.rhs}" if self.rhs else "& " + self.lhs


def text_latex(text: str) -> str:
    """``text`` escaped for ``\\text{...}``."""
    special = {
        "\\": r"\textbackslash{}",
        "{": r"\{",
        "}": r"\}",
        "_": r"\_",
        "%": r"\%",
        "&": r"\&",
        "#": r"\#",
        "$": r"\$",
        "^": r"\^{}",
        "~": r"\~{}",
    }
    return "".join(special.get(c, c) for c in text)


class _EntryPrinter:
    """Prints one entry's expressions with one :class:`_Printer` (so notation accumulates)."""

    def __init__(self, entry: Any, symbols: Mapping[str, str] | None):
        self.entry = entry
        self.printer = _Printer(symbols)
        self.clock = entry.spec.clock.name

    def tex(self, expression: str, inline: bool = False) -> str:
        return self.printer.latex(parse_term(expression), inline)

    def frag(self, expression: str) -> _Frag:
        return self.printer.frag(parse_term(expression))

    def sym(self, name: str) -> str:
        return latex_symbol(name, self.printer.symbols)

    def helpers(self, where: Mapping[str, str]) -> list[_Eq]:
        return [_Eq(self.sym(name), self.tex(text)) for name, text in where.items()]

    def integrand(self, expression: str) -> str:
        frag = self.frag(expression)
        return _paren(frag).text if frag.prec <= ADD or frag.open_right else frag.text

    def measure(self, measure: Mapping[str, Mapping[str, str]], over: str) -> tuple[str, str]:
        """``d\\mu(x)`` for a measure reference, and the name of its law (for atoms)."""
        ((name, args),) = measure.items()
        var = self.sym(over)
        if name == "marchenko_pastur" and set(args) == {"ratio"}:
            self.printer.used.add("mp")
            return r"d\mu_{\mathrm{MP}(" + self.tex(args["ratio"], inline=True) + ")}(" + var + ")", name
        if name == "point_mass" and set(args) == {"at"}:
            self.printer.used.add("point_mass")
            return r"d\delta_{" + self.tex(args["at"], inline=True) + "}(" + var + ")", name
        inner = ", ".join(f"{text_latex(k)} = {self.tex(v, inline=True)}" for k, v in args.items())
        return r"d\mu_{\text{" + text_latex(name) + "}(" + inner + ")}(" + var + ")", name

    def integral(self, spec: Any) -> str:
        """``\\int_{lower}^{upper} f \\, d\\mu(x)`` for an :class:`~prismcat.formulas.base.IntegralSpec`."""
        dmu, law = self.measure(spec.measure, spec.over)
        var = self.sym(spec.over)
        lower = None if spec.lower is None else self.tex(spec.lower)
        upper = None if spec.upper is None else self.tex(spec.upper)
        exclude = getattr(spec, "atom", "include") == "exclude"
        if lower is not None and upper is not None and not exclude:
            limits = "_{" + lower + "}^{" + upper + "}"
        else:
            conditions = [f"{var} \\ge {lower}"] if lower is not None else []
            conditions += [f"{var} \\le {upper}"] if upper is not None else []
            if exclude:
                conditions.append(f"{var} \\neq 0" if law == "marchenko_pastur" else r"\text{no atoms}")
            limits = "_{" + r",\, ".join(conditions) + "}" if conditions else ""
        return r"\int" + limits + " " + self.integrand(spec.integrand) + r" \, " + dmu

    # -- the formula kinds ------------------------------------------------------------------
    def closed_form(self, spec: Any) -> tuple[str, list[_Eq]]:
        return self.tex(spec.expression), []

    def spectral_integral(self, spec: Any) -> tuple[str, list[_Eq]]:
        return self.integral(spec), []

    def ode(self, spec: Any) -> tuple[str, list[_Eq]]:
        clock = self.sym(self.clock)
        start = self.tex(spec.start)
        eqs = [_Eq(r"\frac{d" + self.sym(n) + "}{d" + clock + "}", self.tex(spec.rhs[n])) for n in spec.state]
        eqs += [_Eq(f"{self.sym(n)}({start})", self.tex(v)) for n, v in spec.state.items()]
        eqs += [_Eq(self.sym(name), self.integral(i)) for name, i in spec.integrals.items()]
        return self.tex(spec.expression), eqs

    def ode_family(self, spec: Any) -> tuple[str, list[_Eq]]:
        clock, over, member = self.sym(self.clock), self.sym(spec.over), self.sym(spec.member)
        eqs = [
            _Eq(r"\frac{\partial " + member + r"}{\partial " + clock + "}", self.tex(spec.rhs)),
            _Eq(f"{member}({over}, 0)", self.tex(spec.initial)),
        ]
        contour = spec.domain.contour
        for name, f in spec.couplings.items():
            if contour is not None:
                value = (
                    r"\operatorname{Re} \frac{1}{2 \pi i} \oint_{\Gamma} "
                    + self.integrand(f)
                    + r" \, d"
                    + over
                )
            else:
                dmu, _ = self.measure(spec.domain.measure, spec.over)
                value = r"\int " + self.integrand(f) + r" \, " + dmu
            eqs.append(_Eq(self.sym(name), value))
        for name, scalar in spec.scalars.items():
            eqs.append(_Eq(r"\frac{d" + self.sym(name) + "}{d" + clock + "}", self.tex(scalar.rhs)))
            eqs.append(_Eq(f"{self.sym(name)}(0)", self.tex(scalar.initial)))
        if contour is not None:
            lo, hi = contour.around
            through = self.tex(f"({lo}) - ({contour.margin})")
            eqs.append(
                _Eq(
                    r"\Gamma",
                    rf"\text{{ellipse with foci }} {self.tex(lo)} \text{{ and }} {self.tex(hi)}"
                    rf"\text{{, through }} {through}",
                    ":",
                )
            )
        return self.tex(spec.expression), eqs

    def no_closed_form(self, spec: Any) -> tuple[str, list[_Eq]]:
        return r"\text{no closed form}", []

    def formula(self, spec: Any) -> tuple[str, list[_Eq]]:
        renderers: dict[str, Callable[[Any], tuple[str, list[_Eq]]]] = {
            "closed_form": self.closed_form,
            "spectral_integral": self.spectral_integral,
            "ode": self.ode,
            "ode_family": self.ode_family,
            "none": self.no_closed_form,
        }
        render = renderers.get(spec.kind)
        if render is not None:
            return render(spec)
        if isinstance(getattr(spec, "expression", None), str):  # a plugin kind with an output
            return self.tex(spec.expression), []
        return r"\text{formula of kind " + text_latex(spec.kind) + "}", []

    def convergence(self, loss: str) -> str:
        conv = self.entry.spec.convergence
        small = conv.in_ if isinstance(conv.in_, str) else getattr(conv.in_, loss)
        power = "" if conv.rate == 1 else "^{" + _format_number(float(conv.rate)).text + "}"
        text = r"O\left(\varepsilon" + power + r"\right)"
        if conv.next is not None:
            text += r" + O\left(\varepsilon^{" + _format_number(float(conv.next)).text + r"}\right)"
        return text + r",\quad \varepsilon = " + self.tex(small)

    def loss(self, loss: str, top: list[_Eq]) -> dict[str, Any]:
        spec = getattr(self.entry.spec.losses, loss)
        if not hasattr(spec, "formula"):
            return {
                "quantity": None,
                "kind": None,
                "limit": r"\text{no limit on this clock}",
                "equations": [],
                "statement": r"\text{no limit on this clock}",
                "display": r"\text{no limit on this clock}",
                "convergence": None,
                "note": spec.absent,
            }
        quantity = self.tex(spec.quantity)
        limit, system = self.formula(spec.formula)
        system = system + self.helpers(spec.formula.where) + top
        statement = _Eq(quantity, limit, r"\to")
        lines = [statement, *system]
        out: dict[str, Any] = {
            "quantity": quantity,
            "kind": spec.formula.kind,
            "limit": limit,
            "equations": [e.line() for e in system],
            "statement": statement.line(),
            "display": r"\begin{aligned} " + r" \\ ".join(e.aligned() for e in lines) + r" \end{aligned}",
            "convergence": self.convergence(loss),
        }
        reason = getattr(spec.formula, "reason", None)
        if reason:
            out["note"] = reason
        return out


def entry_latex(entry: Any, symbols: Mapping[str, str] | None = None) -> dict[str, Any]:
    """LaTeX for everything a reader of a loaded catalogue entry needs.

    Returns ``id``, ``title``; ``clock`` (``\\tau = \\frac{t d}{n}``, or ``t`` for model time);
    ``parameters`` and ``where`` (name -> ``name = definition``); ``losses``: per loss its
    ``quantity``, formula ``kind``, ``limit`` (the expression, integral or output of the system),
    ``equations`` (the ODE system, initial values, integrals, contour and helpers the limit
    refers to), ``statement`` (``quantity \\to limit``), ``display`` (all of it as one
    ``aligned`` block), ``convergence`` and, for a loss without a formula, a plain-text ``note``;
    ``notation``: what the special symbols used mean. ``symbols`` overrides names' LaTeX.
    """
    spec = entry.spec
    p = _EntryPrinter(entry, symbols)
    clock = p.sym(spec.clock.name)
    definition = p.tex(spec.clock.definition)
    params = {name: _Eq(p.sym(name), p.tex(par.definition)) for name, par in spec.parameters.items()}
    where = {name: _Eq(p.sym(name), p.tex(text)) for name, text in spec.where.items()}
    top = list(where.values())
    losses = {loss: p.loss(loss, top) for loss in ("train", "population")}
    return {
        "id": spec.id,
        "title": spec.title,
        "clock": clock if definition == clock else f"{clock} = {definition}",
        "parameters": {k: e.line() for k, e in params.items()},
        "where": {k: e.line() for k, e in where.items()},
        "losses": losses,
        "notation": list(dict.fromkeys(NOTATION[k] for k in sorted(p.printer.used) if k in NOTATION)),
    }


def latex_document(entry: Any, symbols: Mapping[str, str] | None = None) -> str:
    """The entry's formulas as a LaTeX fragment to paste into a paper (``prismcat show --latex``):
    a comment naming the entry, cell and clock, its parameters, and one ``align`` environment per
    loss (the limit, then its helper equations)."""
    tex = entry_latex(entry, symbols)
    lines = [
        f"% prismcat entry '{entry.id}' ({entry.spec.title}); cell {entry.cell.id}; clock ${tex['clock']}$",
        "% needs amsmath; \\mathrm{MP}(c) is the Marchenko-Pastur law of ratio c",
    ]
    if tex["parameters"]:
        lines.append("% parameters: " + ", ".join(f"${v}$" for v in tex["parameters"].values()))
    for loss, item in tex["losses"].items():
        lines.append(f"% {loss} loss ({item.get('kind') or 'no formula'})")
        if "statement" in item and item.get("kind"):
            body = [item["statement"], *item.get("equations", [])]
            rows = [
                row.replace(r"\to", r"&\to", 1) if i == 0 else _align_row(row) for i, row in enumerate(body)
            ]
            lines += ["\\begin{align}", " \\\\\n".join(rows), "\\end{align}"]
        if item.get("note"):
            lines.append(f"% {item['note']}")
    return "\n".join(lines)


def _align_row(row: str) -> str:
    """An equation row aligned at its first relation."""
    for rel in (" = ", " &= ", ": "):
        if rel in row:
            head, tail = row.split(rel, 1)
            return f"{head} &{rel.strip('& ')} {tail}" if rel != ": " else f"{head} &: {tail}"
    return row
