"""The right-hand sides and losses of the gradient flow, written once for every array library.

Only ``@``, ``.mT``, elementwise arithmetic, slicing and ``.sum(axes)`` are used, which numpy,
torch and jax.numpy share, so every backend runs the very same arithmetic. Arrays carry a leading
batch axis (one slice per seed). In the eigenbasis of S the data enter through ``lam`` (B, d).

W-flow (MODEL.md):  dW/dt = 2 S W - W (W^T S W) - S W (W^T W)          8 d k^2 flops (4 GEMMs)
(A, K) flow for rank(S) = n < d: the W-flow on A = U_n^T W and K = B^T B  ~4 n k^2 flops
P-flow:             dP/dt = M P + P M,  M = 2 Lam - P Lam - Lam P          2 d^3 flops (1 GEMM)
In the eigenbasis M = (I - P) o L with L_ij = lam_i + lam_j (o: elementwise), so
M = D - P o L with D = diag(2 lam), and P M = (M P)^T because both are symmetric.
Losses: L_train = (Tr S - 2 Tr H + Tr HG)/2, L_pop = (d - 2 Tr G + Tr G^2)/2, with H = W^T S W
and G = W^T W.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Array = Any


def rk_step(rhs: Callable[[Array], Array], y: Array, h: float, euler: bool) -> Array:
    """One explicit Euler step (gradient descent with learning rate h) or one classical RK4 step."""
    if euler:
        return y + h * rhs(y)
    k1 = rhs(y)
    k2 = rhs(y + (0.5 * h) * k1)
    k3 = rhs(y + (0.5 * h) * k2)
    k4 = rhs(y + h * k3)
    return y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def apply_eigen(lam: Array) -> Callable[[Array], Array]:
    """S W for S = diag(lam) (the eigenbasis of S): a row scaling, O(d k)."""
    col = lam[..., :, None]
    return lambda W: col * W


def apply_covariance(S: Array) -> Callable[[Array], Array]:
    """S W with a precomputed S: O(d^2 k)."""
    return lambda W: S @ W


def apply_data(X: Array, n: int) -> Callable[[Array], Array]:
    """S W = X (X^T W) / n without forming S: O(d n k)."""
    return lambda W: (X @ (X.mT @ W)) / n


def w_rhs(W: Array, SW: Array) -> Array:
    H = W.mT @ SW
    G = W.mT @ W
    return 2.0 * SW - W @ H - SW @ G


def w_losses(W: Array, SW: Array, trS: Array, d: int) -> tuple[Array, Array]:
    """Per-dimension (L_train/d, L_pop/d) from W (traces only; H and G are symmetric)."""
    H = W.mT @ SW
    G = W.mT @ W
    tr_h = (W * SW).sum((-2, -1))
    tr_g = (W * W).sum((-2, -1))
    train = (trS - 2.0 * tr_h + (H * G).sum((-2, -1))) / (2.0 * d)
    pop = (d - 2.0 * tr_g + (G * G).sum((-2, -1))) / (2.0 * d)
    return train, pop


def w_size(W: Array) -> Array:
    """Tr W^T W per batch element (a cheap divergence monitor)."""
    return (W * W).sum((-2, -1))


def ak_split(Y: Array, n: int) -> tuple[Array, Array]:
    """The (A, K) state stacked as rows: A = range rows of W (n x k), K = B^T B (k x k)."""
    return Y[..., :n, :], Y[..., n:, :]


def ak_rhs(Y: Array, lam: Array, n: int, cat: Callable[[Array, Array], Array]) -> Array:
    """W-flow when S has rank n < d, on A = U_n^T W and K = B^T B (B = kernel rows of W):
    dA = 2 Lam A - A H - Lam A G,  dK = -(H K + K H),  H = A^T Lam A,  G = A^T A + K.
    H has rank n, so no k x k product is formed: with M = A A^T (n x n),
    A H = M Lam A, Lam A G = Lam M A + Lam (A K), H K = (Lam A)^T (A K).
    Cost ~4 n k^2 + 6 n^2 k instead of 8 d k^2."""
    A, Kb = ak_split(Y, n)
    col = lam[..., :, None]
    LA = col * A
    AK = A @ Kb
    M = A @ A.mT
    dA = 2.0 * LA - M @ LA - (col * M) @ A - col * AK
    HK = LA.mT @ AK
    return cat(dA, -(HK + HK.mT))


def ak_losses(
    Y: Array, lam: Array, n: int, trS: Array, d: int, diag: Callable[[Array], Array]
) -> tuple[Array, Array]:
    A, Kb = ak_split(Y, n)
    LA = lam[..., :, None] * A
    H = A.mT @ LA
    G = A.mT @ A + Kb
    train = (trS - 2.0 * (A * LA).sum((-2, -1)) + (H * G).sum((-2, -1))) / (2.0 * d)
    pop = (d - 2.0 * diag(G).sum(-1) + (G * G).sum((-2, -1))) / (2.0 * d)
    return train, pop


def ak_size(Y: Array, n: int, diag: Callable[[Array], Array]) -> Array:
    """Tr G = Tr A^T A + Tr K."""
    A, Kb = ak_split(Y, n)
    return (A * A).sum((-2, -1)) + diag(Kb).sum(-1)


def p_constants(lam: Array, eye: Array) -> tuple[Array, Array]:
    """L = lam_i + lam_j and D = diag(2 lam), computed once per problem (``eye``: identity)."""
    return lam[..., :, None] + lam[..., None, :], eye * (2.0 * lam)[..., None, :]


def p_rhs(P: Array, L: Array, D: Array) -> Array:
    """M P + P M in the eigenbasis of S with one GEMM: M = D - P o L, then M P + (M P)^T."""
    MP = (D - P * L) @ P
    return MP + MP.mT


def p_losses(P: Array, lam: Array, diag: Callable[[Array], Array], d: int) -> tuple[Array, Array]:
    """Per-dimension losses from P = W W^T: 1/2 Tr[(I-P)^2 Lam] and 1/2 Tr[(I-P)^2]."""
    pd = diag(P)
    trS = lam.sum(-1)
    train = ((P * P * lam[..., None, :]).sum((-2, -1)) - 2.0 * (pd * lam).sum(-1) + trS) / (2.0 * d)
    pop = ((P * P).sum((-2, -1)) - 2.0 * pd.sum(-1) + d) / (2.0 * d)
    return train, pop


def p_size(P: Array, diag: Callable[[Array], Array]) -> Array:
    """Tr P per batch element."""
    return diag(P).sum(-1)
