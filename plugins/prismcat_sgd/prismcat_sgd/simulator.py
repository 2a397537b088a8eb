"""Minibatch SGD on the autoencoder's train loss, as a prismcat backend.

One step on a batch B of the n samples is W <- W + lr * F(W, S_B) with S_B = X_B X_B^T / |B| and
F the W-flow's vector field: the gradient step of the loss on that batch, in the flow's time
normalisation, so t = (steps taken) * lr. With the full batch it is gradient descent, i.e.
prismcat's Euler integrator, to the last bit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from prismcat.simulation import kernels as K
from prismcat.simulation.arrays import ArraySimulator


class Options(BaseModel):
    """The backend's options: ``--backend sgd:batch_size=8,lr=0.01`` or ``--option batch_size=8``."""

    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(
        32, ge=1, description="samples per step; >= n is the full batch (gradient descent)"
    )
    lr: float | None = Field(None, gt=0, description="learning rate; default: the integrator's step dt")
    replacement: bool = Field(False, description="draw every batch anew; default: reshuffle once per epoch")
    seed: int = Field(0, ge=0, description="seed of the batch order (combined with the problem's seed)")


class Batches:
    """Batch indices for one seed: a fresh permutation each epoch cut into batches of ``size``
    (the last one smaller if ``size`` does not divide n), or iid draws with ``replacement``."""

    def __init__(self, n: int, size: int, replacement: bool, seed: tuple[int, ...]):
        self.n, self.size, self.replacement = n, size, replacement
        self.rng = np.random.default_rng(seed)
        self.order, self.at = np.empty(0, dtype=np.int64), n  # the first call starts an epoch

    def next(self) -> np.ndarray:
        if self.replacement:
            return self.rng.integers(0, self.n, size=self.size)
        if self.at >= self.n:
            self.order, self.at = self.rng.permutation(self.n), 0
        batch = self.order[self.at : self.at + self.size]
        self.at += self.size
        return batch


class SGDSimulator(ArraySimulator):
    name = "sgd"
    description = "minibatch SGD on the train loss (numpy); full batch = gradient descent"
    methods = ("euler",)  # a step is what SGD has; other integrators are negotiated to it
    Options = Options

    def offer(self):
        return replace(super().offer(), dt=self.options.lr)  # lr, when given, is the step

    def fingerprint(self) -> dict[str, str]:
        return {"numpy": np.__version__}

    def asarray(self, a: np.ndarray, dtype: str) -> np.ndarray:
        return np.asarray(a, dtype=dtype)

    def to_numpy(self, x: np.ndarray) -> np.ndarray:
        return x

    def stepper(self, prepared, flow):
        opts, n = self.options, prepared.problem.n
        if opts.batch_size >= n and not opts.replacement:
            return super().stepper(prepared, flow)  # the full batch: gradient descent itself
        X = self.asarray(prepared.X, prepared.problem.dtype)
        batches = [
            Batches(n, opts.batch_size, opts.replacement, (opts.seed, p.seed)) for p in prepared.problems
        ]

        def step(W: np.ndarray, h: float) -> np.ndarray:
            idx = np.stack([b.next() for b in batches])  # (B, m): the same m for every seed
            Xb = np.take_along_axis(X, idx[:, None, :], axis=2)
            SW = Xb @ (Xb.mT @ W) / idx.shape[1]
            return W + h * K.w_rhs(W, SW)

        return step

    def integrate(self, prepared):
        out = super().integrate(prepared)
        size = min(self.options.batch_size, prepared.problem.n)
        out.details = {"batch_size": size, "epochs": out.steps * size / prepared.problem.n}
        return out
