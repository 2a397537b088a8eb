"""The safe expression language: what it computes and what it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from prismcat.errors import ExpressionError
from prismcat.formulas.expr import (
    MAX_EXPRESSION_LENGTH,
    HelperError,
    Scope,
    compile_expression,
    evaluate,
)


def test_arithmetic_is_vectorised_numpy():
    t = np.linspace(0, 2, 5)
    got = evaluate("0.5 * (1 - u)**2 / (1 + u * expm1(4 * t))**2 - -1", u=0.3, t=t)
    want = 0.5 * 0.7**2 / (1 + 0.3 * np.expm1(4 * t)) ** 2 + 1
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("where(x > 1, x, 0)", [0.0, 0.0, 2.0]),
        ("minimum(x, 1) + maximum(x, 1)", [1.0 + 0.0, 2.0, 3.0]),
        ("pos(x - 1)", [0.0, 0.0, 1.0]),
        ("sqrt(x) * sqrt(x)", [0.0, 1.0, 2.0]),
        ("2**3 + 1e0", [9.0, 9.0, 9.0]),
        ("pi", [np.pi] * 3),
        ("mp_upper(1) + 0 * x", [4.0] * 3),
        ("mp_quantile(2, 0.5) + 0 * x", [0.0] * 3),
    ],
)
def test_functions_and_constants(text, value):
    np.testing.assert_allclose(evaluate(text, x=np.array([0.0, 1.0, 2.0])) * np.ones(3), value, atol=1e-14)


def test_complex_arithmetic_for_contours():
    s = np.array([3.0 + 1j, -0.5 - 2j])
    got = evaluate("s * mp_stieltjes(0.5, s)", s=s)
    assert np.iscomplexobj(got)


def test_overflow_gives_inf_not_an_exception():
    assert np.isinf(evaluate("9.0**9**9**9 + x", x=1.0))
    assert np.isinf(evaluate("exp(x)", x=1e4))


# Each hostile or malformed input, the message it must give, and the character offset.
BAD = [
    ("x.__class__", "attribute access not allowed", 0),
    ("(1).real", "attribute access not allowed", 0),
    ("x[0]", "subscripts not allowed", 0),
    ("lambda: 1", "lambda not allowed", 0),
    ("[y for y in x]", "comprehensions not allowed", 0),
    ("(y for y in x)", "comprehensions not allowed", 0),
    ("{y: 1 for y in x}", "comprehensions not allowed", 0),
    ("1 if x else 2", "conditional expressions", 0),
    ("x and 1", "'and'/'or'", 0),
    ("__import__('os')", "names starting with '_'", 0),
    ("x + _secret", "names starting with '_' are not allowed ('_secret')", 4),
    ("open('f')", "unknown function 'open'", 0),
    ("eval('1')", "unknown function 'eval'", 0),
    ("exp(x=1)", "keyword arguments are not allowed", 0),
    ("exp(*x)", "starred arguments", 4),
    ("exp(1, 2)", "exp() takes 1 argument(s), got 2", 0),
    ("where(x, 1)", "where() takes 3 argument(s), got 2", 0),
    ("x + lamda", "unknown name 'lamda' (known: lam, t, x, pi); did you mean 'lam'?", 4),
    ("exp", "'exp' is a function", 0),
    ("'text'", "only numbers are allowed as constants, not str", 0),
    ("True + x", "only numbers are allowed as constants, not bool", 0),
    ("1j * x", "only numbers are allowed as constants, not complex", 0),
    ("x // 2", "operator FloorDiv is not allowed", 0),
    ("x % 2", "operator Mod is not allowed", 0),
    ("x @ x", "operator MatMult is not allowed", 0),
    ("~x", "only unary minus and plus", 0),
    ("not x", "only unary minus and plus", 0),
    ("0 < x < 1", "chained comparisons", 0),
    ("x == 1", "only <, <=, > and >= comparisons", 0),
    ("x is None", "only <, <=, > and >= comparisons", 0),
    ("(x := 1)", "assignment expressions", 1),
    ("f'{x}'", "f-strings", 0),
    ("[1, 2]", "lists not allowed", 0),
    ("x +", "syntax error", None),
    ("import os", "syntax error", None),
    ("x; y", "syntax error", None),
    ("", "empty expression", 0),
    ("   ", "empty expression", 0),
    ("x\x00", "NUL character", 1),
    ("(" * 300 + "1" + ")" * 300, "too many nested parentheses", None),
    ("+".join(["1"] * 400), "nested too deeply", 0),
    ("-" * 150 + "1", "nested too deeply", 0),
    ("x" * (MAX_EXPRESSION_LENGTH + 1), "characters long", 0),
]


@pytest.mark.parametrize(("text", "message", "offset"), BAD)
def test_hostile_and_malformed_expressions_are_located_errors(text, message, offset):
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, ["lam", "t", "x"])
    assert message in info.value.message
    if offset is not None:
        assert info.value.offset == offset


def test_non_string_is_rejected():
    with pytest.raises(ExpressionError, match="expected an expression string"):
        compile_expression(3, ["x"])  # type: ignore[arg-type]


def test_helpers_are_inlined_in_their_scope():
    scope = Scope(["t", "u"], {"D": "1 - u + u * exp(4 * lam * t)", "E": "D**2"})
    inner = scope.extend(["lam"])
    f = inner.compile("0.5 * lam / E")
    env = {"t": np.float64(0.5), "u": np.float64(0.25), "lam": np.float64(2.0)}
    d = 1 - 0.25 + 0.25 * np.exp(4 * 2.0 * 0.5)
    assert f(env) == pytest.approx(0.5 * 2.0 / d**2, rel=1e-15)
    assert f.variables == {"t", "u", "lam"}
    # the same helper outside the integrand: 'lam' is unknown there
    with pytest.raises(HelperError) as info:
        scope.compile("E + 1")
    assert info.value.helper == "D"
    assert "unknown name 'lam'" in info.value.message


def test_helper_cycles_and_shadowing_are_errors():
    with pytest.raises(HelperError, match="cycle: A -> B -> A"):
        Scope(["t"], {"A": "B + 1", "B": "A * 2"}).compile("A")
    with pytest.raises(HelperError, match="shadows"):
        Scope(["t"], {"t": "1"})
    with pytest.raises(HelperError, match="shadows"):
        Scope(["t"], {"exp": "1"})
    with pytest.raises(HelperError, match="not a valid helper name"):
        Scope(["t"], {"__x": "1"})


def test_deep_helper_chains_are_refused():
    helpers = {f"h{i}": "+".join([f"h{i + 1}"] * 2 + ["1"] * 40) for i in range(20)}
    helpers["h20"] = "t"
    with pytest.raises(HelperError, match="nest too deeply"):
        Scope(["t"], helpers).compile("h0")


def test_no_eval_or_exec_anywhere_in_the_package():
    """No module of prismcat calls eval/exec/compile or imports by name from data."""
    import ast
    from pathlib import Path

    import prismcat

    root = Path(prismcat.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            call = isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            if call and node.func.id in {"eval", "exec", "compile", "__import__"}:
                offenders.append(f"{path.name}:{node.lineno} {node.func.id}")
    assert not offenders
