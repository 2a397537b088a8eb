"""Printing terms as LaTeX with the fewest parentheses that keep the reading unambiguous:
``a / b`` as ``\\frac{a}{b}``, ``x**0.5`` as ``\\sqrt{x}``, ``where(c, a, b)`` as a ``cases`` block
(implementation guards such as ``where(abs(r) > 1e-12, ...)`` dropped inside their own branch),
products by juxtaposition (``\\cdot`` before a number), names with Greek letters and subscripts."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from prismcat.formulas.latex.terms import Term, _assume, _constant, parse_term

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

# Names with a fixed meaning everywhere (a model family adds its own: ModelFamily.symbols).
DEFAULT_SYMBOLS: dict[str, str] = {"pi": r"\pi"}

# Precedence of a printed fragment: what it may stand next to without parentheses.
CMP, ADD, NEG, MUL, POW, ATOM = range(6)


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
