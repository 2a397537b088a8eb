"""The CP loss and its gradient for a batch of seeds, in the cheaper of two exact forms.

``gram``: through the H x H Gram matrices, never forming the p^nu tensor: O(nu H^2 p) per
gradient and O(H^2) memory. ``tensor``: through the residual tensor f - F itself, O(nu H p^nu)
and O(p^nu) memory. :func:`formulation` picks ``tensor`` only where the tensor is much smaller than the
factors (H > 8 p^{nu-1}, deep on the overparameterised side of the polygon), which is where it is
faster: there the Gram matrices would be the larger object.

Factors are stored as an array ``U`` of shape (B, M, H, p): B seeds, M factor matrices (M = 1 for
SYM, where every mode shares one matrix; M = nu for ASYM), H components, dimension p. With the
Gram matrices G_m = U_m U_m^T (H x H),

    L = 1/2 sum_{k,k'} prod_m G_m[k,k'] - sum_{k,i} prod_m U_m[k,i] + p/2,

and dL/dU_m = (Hadamard product of the other G's) U_m - (Hadamard product of the other U's):
O(nu H^2 p) per evaluation. For SYM the nu modes coincide, so both terms gain a factor nu.
"""

from __future__ import annotations

import math

import numpy as np


def factors(nu: int, symmetric: bool) -> int:
    """How many factor matrices the model has (1 for SYM, nu for ASYM)."""
    return 1 if symmetric else nu


TENSOR_CROSSOVER = 8  # measured (benchmarks/bench_cp.py): the tensor form wins beyond H ~ 8 p^{nu-1}


def formulation(p: int, H: int, nu: int) -> str:
    """'tensor' where H > 8 p^{nu-1}: the residual tensor is then smaller than an eighth of the
    factors and the faster form (at H = 2 p^{nu-1} the Gram form is still twice as fast); else
    'gram'."""
    return "tensor" if TENSOR_CROSSOVER * p ** (nu - 1) < H else "gram"


def draw(p: int, H: int, sigma: float, nu: int, symmetric: bool, seed: int) -> np.ndarray:
    """Initial factors (M, H, p), iid N(0, sigma^2), from numpy's Generator with ``seed``."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((factors(nu, symmetric), H, p)) * sigma


def _modes(U: np.ndarray, nu: int) -> list[np.ndarray]:
    """The nu factor matrices of each seed (SYM: the same one nu times)."""
    return [U[:, 0]] * nu if U.shape[1] == 1 else [U[:, m] for m in range(nu)]


def loss(U: np.ndarray, nu: int) -> np.ndarray:
    """L for each seed of a batch U (B, M, H, p); returns (B,)."""
    modes = _modes(U, nu)
    p = U.shape[-1]
    if U.shape[1] == 1:
        G = modes[0] @ modes[0].swapaxes(-1, -2)
        quad = _power(G, nu).sum(axis=(-1, -2))
        lin = _power(modes[0], nu).sum(axis=(-1, -2))
    else:
        prod_G = None
        prod_U = None
        for Um in modes:
            G = Um @ Um.swapaxes(-1, -2)
            prod_G = G if prod_G is None else prod_G * G
            prod_U = Um if prod_U is None else prod_U * Um
        quad = prod_G.sum(axis=(-1, -2))
        lin = prod_U.sum(axis=(-1, -2))
    return 0.5 * quad - lin + 0.5 * p


def grad(U: np.ndarray, nu: int) -> np.ndarray:
    """dL/dU for each seed of a batch U (B, M, H, p), same shape."""
    xp = _namespace(U)
    if U.shape[1] == 1:
        V = U[:, 0]
        G = V @ V.swapaxes(-1, -2)
        g = nu * (_power(G, nu - 1) @ V - _power(V, nu - 1))
        return g[:, None]
    modes = _modes(U, nu)
    grams = [Um @ Um.swapaxes(-1, -2) for Um in modes]
    out = []
    for m in range(nu):
        A = None
        P = None
        for j in range(nu):
            if j == m:
                continue
            A = grams[j] if A is None else A * grams[j]
            P = modes[j] if P is None else P * modes[j]
        out.append(A @ modes[m] - P)
    return xp.stack(out, axis=1)


def _power(x, n: int):
    """x**n by repeated products (a general pow is ~15x slower for these small integer powers)."""
    out = x
    for _ in range(n - 1):
        out = out * x
    return out


LETTERS = "ijlmnoqr"


def _outer(nu: int) -> str:
    """einsum subscripts building f_{b i j ...} from nu factor batches (b, k, index)."""
    return ",".join(f"bk{LETTERS[m]}" for m in range(nu)) + "->b" + LETTERS[:nu]


def residual(U: np.ndarray, nu: int) -> np.ndarray:
    """The tensor f - F of each seed, (B, p, ..., p)."""
    xp = _namespace(U)
    f = _einsum(xp, _outer(nu), *_modes(U, nu))
    idx = np.arange(U.shape[-1]) if xp is np else xp.arange(U.shape[-1], device=U.device)
    f[(slice(None), *([idx] * nu))] -= 1.0
    return f


def tensor_loss(U: np.ndarray, nu: int) -> np.ndarray:
    """L through the residual tensor (equal to :func:`loss`)."""
    R = residual(U, nu)
    return 0.5 * (R.reshape(R.shape[0], -1) ** 2).sum(axis=1)


def tensor_grad(U: np.ndarray, nu: int) -> np.ndarray:
    """dL/dU through the residual tensor (equal to :func:`grad`)."""
    xp = _namespace(U)
    R = residual(U, nu)
    modes = _modes(U, nu)
    full = "b" + LETTERS[:nu]
    out = []
    for m in range(U.shape[1]):
        if U.shape[1] == 1:  # SYM: the nu modes contribute equally (f is symmetric)
            others = [modes[j] for j in range(1, nu)]
            subs = ",".join(f"bk{LETTERS[j]}" for j in range(1, nu))
            g = nu * _einsum(xp, f"{full},{subs}->bk{LETTERS[0]}", R, *others)
        else:
            others = [modes[j] for j in range(nu) if j != m]
            subs = ",".join(f"bk{LETTERS[j]}" for j in range(nu) if j != m)
            g = _einsum(xp, f"{full},{subs}->bk{LETTERS[m]}", R, *others)
        out.append(g)
    return xp.stack(out, axis=1)


def initial_loss_mean(p: int, H: int, sigma: float, nu: int, symmetric: bool) -> float:
    """E L(0) over the initialisation (exact): p/2 + E ||f||^2 / 2 - 0 (E <f, F> = 0 for ASYM;
    for SYM E <f, F> = H p E u^nu = H p sigma^nu (nu-1)!!).

    E ||f||^2: ASYM H (p sigma^2)^nu; SYM sum over k, k' of E (u_k . u_k')^nu, i.e.
    H E |u|^{2 nu} + H (H-1) E (u . v)^nu, with |u|^2 ~ sigma^2 chi^2_p and u . v the inner product
    of independent Gaussian vectors."""
    if not symmetric:
        return 0.5 * p + 0.5 * H * (p * sigma**2) ** nu
    s2 = sigma**2
    chi = math.prod(p + 2 * j for j in range(nu)) * s2**nu  # E |u|^{2 nu}
    # E (u . v)^nu = E[(|u|^2)^{nu/2}] s2^{nu/2} (nu-1)!! for even nu, 0 for odd nu
    if nu % 2:
        cross = 0.0
        lin = 0.0
    else:
        half = nu // 2
        dfact = math.prod(range(nu - 1, 0, -2))
        cross = math.prod(p + 2 * j for j in range(half)) * s2**half * s2**half * dfact
        lin = H * p * sigma**nu * dfact
    return 0.5 * p + 0.5 * (H * chi + H * (H - 1) * cross) - lin


def dense_loss(U: np.ndarray, nu: int) -> np.ndarray:
    """L built from the p^nu tensor itself (a reference for tests, small p only)."""
    out = []
    for b in range(U.shape[0]):
        modes = _modes(U[b : b + 1], nu)
        p = U.shape[-1]
        f = np.zeros((p,) * nu)
        for k in range(U.shape[2]):
            t = modes[0][0, k]
            for Um in modes[1:]:
                t = np.multiply.outer(t, Um[0, k])
            f = f + t
        F = np.zeros((p,) * nu)
        idx = np.arange(p)
        F[(idx,) * nu] = 1.0
        out.append(0.5 * np.sum((f - F) ** 2))
    return np.array(out)


def _namespace(U):
    """numpy, or torch for a torch tensor (both spell these operations the same way)."""
    if type(U).__module__.startswith("torch"):
        import torch

        return torch
    return np


def _einsum(xp, subscripts: str, *operands):
    if xp is np:
        return np.einsum(subscripts, *operands, optimize=True)
    return xp.einsum(subscripts, *operands)
