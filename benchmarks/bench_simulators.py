"""Simulator speed, measured in one run (python benchmarks/bench_simulators.py [--quick]).

(a) One evaluation of the flow's right-hand side per backend, against the GEMM bound: the
    evaluation's flop count divided by the rate this backend reaches on a same-size matmul.
    Target: <= 1.5x.
(b) Time to a loss curve on t in [0, 5] accurate to 1e-6 (max over both losses and 51 times,
    against a converged adaptive reference): our adaptive integrator against the code a
    researcher would write (torch autograd + full-batch SGD). SGD's per-step time is measured on
    that plain loop; its error-vs-learning-rate is measured with prismcat's Euler integrator,
    which *is* full-batch gradient descent (tests/test_simulation.py checks it against the
    literal model to 1e-12; here one learning rate is also checked against the torch loop
    itself). The SGD time is extrapolated from the fitted error ~ C lr^p. Target: >= 100x.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from prismcat.simulation import Integrator, Problem, backends, draw, prepare, simulate
from prismcat.simulation import kernels as K

CASES = [(512, 512, 2048), (256, 1024, 1024)]


def best_time(fn, repeat: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def make_ops(backend: str, prepared):
    """(to_array, sync, rhs, matmul-of-the-dominant-shape, flops) for a backend; the rhs is the
    one the backend's integrators call."""
    d, k = prepared.d, min(prepared.problem.k, prepared.d)
    if backend == "numpy":
        to, sync = np.asarray, lambda x: x
        wrap = lambda f: f  # noqa: E731
    elif backend == "torch":
        import torch

        def to(a):
            return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64)

        def sync(x):
            return x

        wrap = lambda f: f  # noqa: E731
    else:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        to = lambda a: jnp.asarray(a, dtype=jnp.float64)  # noqa: E731

        def sync(x):
            return x.block_until_ready()

        wrap = jax.jit
    lam = to(prepared.lam)
    if prepared.formulation == "eigen-p":
        rhs = backend_p_rhs(backend, prepared, to, wrap)
        flops = 2.0 * d**3 + 10.0 * d * d
        A, B = to(np.random.rand(1, d, d)), to(np.random.rand(1, d, d))
        gemm_flops = 2.0 * d**3
    else:
        apply = K.apply_eigen(lam)
        rhs = wrap(lambda W: K.w_rhs(W, apply(W)))
        flops = 8.0 * d * k * k + 6.0 * d * k
        A, B = to(np.random.rand(1, d, k)), to(np.random.rand(1, k, k))
        gemm_flops = 2.0 * d * k * k
    mm = wrap(lambda a, b: a @ b)
    return to, sync, rhs, (mm, A, B, gemm_flops), flops


def backend_p_rhs(backend: str, prepared, to, wrap):
    """The P-flow right-hand side exactly as each backend's integrators call it."""
    if backend == "numpy":
        from prismcat.simulators.numpy_backend import PFlow

        return PFlow(prepared.lam)
    if backend == "torch":
        from prismcat.simulators.torch_backend import TorchSimulator

        return TorchSimulator().p_rhs(to(prepared.lam), prepared.problem.dtype)
    import jax.numpy as jnp

    L, D = K.p_constants(to(prepared.lam), jnp.eye(prepared.d))
    return wrap(lambda P: K.p_rhs(P, L, D))


def part_a(names: list[str]) -> list[list[str]]:
    rows = []
    for d, k, n in CASES:
        p = Problem(d=d, k=k, n=n, sigma2=1.0 / d, times=(1.0,), seed=0)
        for form in ("eigen-p", "eigen-w"):
            prepared = prepare([dataclasses.replace(p, formulation=form)])
            for name in names:
                to, sync, rhs, (mm, A, B, gf), flops = make_ops(name, prepared)
                y = to(prepared.state0)
                t_eval = best_time(lambda: sync(rhs(y)))  # noqa: B023
                t_mm = best_time(lambda: sync(mm(A, B)))  # noqa: B023
                rate = gf / t_mm
                bound = flops / rate
                rows.append(
                    [
                        f"({d},{k},{n})",
                        form,
                        name,
                        f"{t_eval * 1e3:.2f} ms",
                        f"{bound * 1e3:.2f} ms",
                        f"{rate / 1e9:.0f}",
                        f"{t_eval / bound:.2f}x",
                    ]
                )
                print("  (a)", *rows[-1], flush=True)
    return rows


def curves(res) -> np.ndarray:
    return np.concatenate([res.train, res.population])


def sgd_torch(X: np.ndarray, W0: np.ndarray, lr: float, steps: int, record_every: int):
    """The plain loop: autograd on the train loss, full-batch SGD step."""
    import torch

    Xt = torch.as_tensor(X, dtype=torch.float64)
    W = torch.as_tensor(W0.copy(), dtype=torch.float64).requires_grad_(True)
    n, d = X.shape[1], X.shape[0]
    out = []
    for step in range(steps + 1):
        loss = ((Xt - W @ (W.T @ Xt)) ** 2).sum() / (2 * n)
        if step % record_every == 0:
            out.append(loss.item() / d)
        if step == steps:
            break
        loss.backward()
        with torch.no_grad():
            W -= lr * W.grad
            W.grad.zero_()
    return np.array(out)


def part_b(quick: bool) -> list[list[str]]:
    rows = []
    times = tuple(np.linspace(0.0, 5.0, 51))
    for d, k, n in CASES[:1] if quick else CASES:
        p = Problem(d=d, k=k, n=n, sigma2=1.0 / d, times=times, seed=0)
        ref = curves(simulate(dataclasses.replace(p, integrator=Integrator(rtol=1e-13, atol=1e-15)))[0])
        ours = None
        for rtol in (1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10):
            prob = dataclasses.replace(p, integrator=Integrator(rtol=rtol, atol=rtol * 1e-2))
            t0 = time.perf_counter()
            res = simulate(prob)[0]
            wall = time.perf_counter() - t0
            err = np.abs(curves(res) - ref).max()
            if err <= 1e-6:
                ours = (rtol, wall, err, res.info["evals"], res.info["formulation"])
                break
        assert ours is not None
        # error of gradient descent vs learning rate, via the exact Euler integrator
        lrs = np.array([0.01, 0.005, 0.0025, 0.00125])
        errs = []
        for lr in lrs:
            res = simulate(dataclasses.replace(p, integrator=Integrator(method="euler", dt=float(lr))))[0]
            errs.append(np.abs(curves(res) - ref).max())
        slope, logc = np.polyfit(np.log(lrs), np.log(errs), 1)
        lr_needed = float(np.exp((np.log(1e-6) - logc) / slope))
        steps_needed = 5.0 / lr_needed
        # the plain torch loop: per-step time, and one learning rate checked against our Euler
        X, W0 = draw(p)
        check_lr, check_steps = 0.01, 100
        t0 = time.perf_counter()
        naive = sgd_torch(X, W0, check_lr, check_steps, record_every=10)
        per_step = (time.perf_counter() - t0) / (check_steps + 1)
        euler = simulate(
            dataclasses.replace(
                p,
                times=tuple(np.linspace(0, 1.0, 11)),
                integrator=Integrator(method="euler", dt=check_lr),
            )
        )[0]
        same = np.abs(naive - np.concatenate([[euler.train0], euler.train[1:]])).max()
        naive_time = steps_needed * per_step
        rows.append(
            [
                f"({d},{k},{n})",
                f"{ours[1]:.3f} s (rtol {ours[0]:g}, {ours[3]} evals, {ours[4]}, err {ours[2]:.1e})",
                f"{per_step * 1e3:.1f} ms/step, err ~ {np.exp(logc):.2g} lr^{slope:.2f}, "
                f"lr {lr_needed:.2g}, "
                f"{steps_needed:.3g} steps",
                f"{naive_time:.3g} s",
                f"{naive_time / ours[1]:.0f}x",
                f"{same:.1e}",
            ]
        )
        print("  (b)", *rows[-1], flush=True)
    return rows


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), "-+-".join("-" * w for w in widths), *map(line, rows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="part (b) on the first case only")
    args = parser.parse_args()
    names = [b["name"] for b in backends() if b["available"]]
    print(f"backends: {', '.join(names)}")
    a = part_a(names)
    b = part_b(args.quick)
    print("\n(a) one right-hand-side evaluation vs the GEMM bound (target <= 1.5x)")
    print(table(a, ["(d,k,n)", "flow", "backend", "evaluation", "GEMM bound", "GF/s", "ratio"]))
    print("\n(b) time to a curve on [0, 5] accurate to 1e-6 (target >= 100x)")
    print(
        table(
            b,
            [
                "(d,k,n)",
                "prismcat adaptive",
                "torch autograd + SGD",
                "SGD time",
                "speed-up",
                "SGD loop vs Euler",
            ],
        )
    )


if __name__ == "__main__":
    main()
