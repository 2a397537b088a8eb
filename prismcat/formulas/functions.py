"""The fixed table of functions an expression may call.

All are vectorised (numpy broadcasting). The ``mp_*`` functions expose the Marchenko-Pastur
measure (edges, atom, cdf, quantile, Stieltjes transform, moments) so formulas can use them in
expressions and as integration limits; their ratio argument comes first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from prismcat.formulas.measures import marchenko_pastur, mp_moment


@dataclass(frozen=True)
class Function:
    """One entry of the function table: a vectorised implementation and its arity."""

    name: str
    impl: Callable[..., Any]
    min_args: int
    max_args: int
    doc: str


def _ratio_map(fn: Callable[..., float]) -> Callable[..., np.ndarray]:
    """Vectorise a scalar function of (ratio, x) over broadcast arrays."""

    def wrapped(c: Any, *rest: Any) -> np.ndarray:
        arrays = np.broadcast_arrays(np.asarray(c, dtype=float), *(np.asarray(r, dtype=float) for r in rest))
        out = np.empty(arrays[0].shape)
        for idx in np.ndindex(out.shape):
            vals = [float(a[idx]) for a in arrays]
            out[idx] = fn(*vals) if vals[0] > 0 and np.isfinite(vals[0]) else np.nan
        return out

    return wrapped


def _mp_stieltjes(c: Any, z: Any) -> np.ndarray:
    c_arr = np.asarray(c, dtype=float)
    if c_arr.size != 1:
        raise ValueError("mp_stieltjes needs a scalar ratio")
    cval = float(c_arr.reshape(-1)[0])
    if not (np.isfinite(cval) and cval > 0):
        return np.full(np.shape(z), np.nan + 0j)
    return marchenko_pastur(cval).stieltjes(z)


def _pos(x: Any) -> Any:
    return np.maximum(x, 0.0)


_NUMPY: list[tuple[str, Callable[..., Any], int, int, str]] = [
    ("exp", np.exp, 1, 1, "e**x"),
    ("expm1", np.expm1, 1, 1, "e**x - 1, accurate near 0"),
    ("log", np.log, 1, 1, "natural logarithm"),
    ("log1p", np.log1p, 1, 1, "log(1 + x), accurate near 0"),
    ("sqrt", np.sqrt, 1, 1, "square root"),
    ("tanh", np.tanh, 1, 1, "hyperbolic tangent"),
    ("sinh", np.sinh, 1, 1, "hyperbolic sine"),
    ("cosh", np.cosh, 1, 1, "hyperbolic cosine"),
    ("sin", np.sin, 1, 1, "sine"),
    ("cos", np.cos, 1, 1, "cosine"),
    ("arccos", np.arccos, 1, 1, "inverse cosine"),
    ("arctan", np.arctan, 1, 1, "inverse tangent"),
    ("abs", np.abs, 1, 1, "absolute value"),
    ("sign", np.sign, 1, 1, "sign"),
    ("real", np.real, 1, 1, "real part"),
    ("imag", np.imag, 1, 1, "imaginary part"),
    ("pos", _pos, 1, 1, "positive part max(x, 0)"),
    ("minimum", np.minimum, 2, 2, "elementwise minimum"),
    ("maximum", np.maximum, 2, 2, "elementwise maximum"),
    ("where", np.where, 3, 3, "where(cond, a, b)"),
    ("clip", np.clip, 3, 3, "clip(x, lo, hi)"),
]

_MEASURE: list[tuple[str, Callable[..., Any], int, int, str]] = [
    (
        "mp_lower",
        _ratio_map(lambda c: marchenko_pastur(c).lower_edge),
        1,
        1,
        "lower edge (1-sqrt c)^2 of MP(c)",
    ),
    (
        "mp_upper",
        _ratio_map(lambda c: marchenko_pastur(c).upper_edge),
        1,
        1,
        "upper edge (1+sqrt c)^2 of MP(c)",
    ),
    (
        "mp_atom",
        _ratio_map(lambda c: marchenko_pastur(c).atom),
        1,
        1,
        "mass of the atom at 0 of MP(c)",
    ),
    (
        "mp_cdf",
        _ratio_map(lambda c, x: marchenko_pastur(c).cdf(x)),
        2,
        2,
        "mp_cdf(c, x), atom included",
    ),
    (
        "mp_quantile",
        _ratio_map(lambda c, p: marchenko_pastur(c).quantile(p)),
        2,
        2,
        "mp_quantile(c, p)",
    ),
    ("mp_moment", _ratio_map(lambda c, j: mp_moment(c, int(j))), 2, 2, "mp_moment(c, j), Narayana"),
    ("mp_stieltjes", _mp_stieltjes, 2, 2, "mp_stieltjes(c, z) = Int dMP_c(x)/(z - x)"),
]

STANDARD_FUNCTIONS: dict[str, Function] = {
    name: Function(name, impl, lo, hi, doc) for name, impl, lo, hi, doc in _NUMPY + _MEASURE
}
