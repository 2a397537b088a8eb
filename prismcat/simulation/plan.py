"""Host-side preparation of a batch: draw the data, choose the cheapest formulation, rotate.

The formulation is chosen by counting flops: forming S and rotating into its eigenbasis costs
~(d^2 n + 9 d^3 + 2 d^2 k) once and makes every later S W a row scaling; the P-flow costs one
d x d GEMM per evaluation instead of four d x k ones.

For k > d the W-flows run on V = W Q (d x d), where W0^T = Q R: W(t) = V(t) Q^T exactly, because
dW/dt = M(P) W with M depending on P = W W^T = V V^T only; every Runge-Kutta scheme (Euler =
gradient descent included) commutes with this reduction, and G = W^T W has the eigenvalues of
V^T V plus k - d zeros.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from prismcat.simulation.problem import Integrator, Problem, ProblemError, draw

STAGES = {"euler": 1, "rk4": 4, "adaptive": 12}
FORMULATIONS = ("data-w", "covariance-w", "eigen-w", "eigen-ak", "eigen-p")
METHODS = ("euler", "rk4", "adaptive")


@dataclass(frozen=True)
class Offer:
    """What a backend runs: its formulations (in order of preference), its integrators, whether
    prismcat's flop model picks among the formulations, and a fixed step it imposes (or None)."""

    formulations: tuple[str, ...] = FORMULATIONS
    methods: tuple[str, ...] = METHODS
    cost_model: bool = True
    dt: float | None = None
    backend: str = "any backend"

    def __post_init__(self) -> None:
        bad = [f for f in self.formulations if f not in FORMULATIONS]
        bad += [m for m in self.methods if m not in METHODS]
        if bad or not self.formulations or not self.methods:
            raise ProblemError(
                f"{self.backend} declares {', '.join(bad) or 'nothing it can run'}: formulations are "
                f"{', '.join(FORMULATIONS)}; methods {', '.join(METHODS)}"
            )


@dataclass
class Prepared:
    """Everything a backend needs to integrate a batch of problems that differ only by seed."""

    problems: list[Problem]
    formulation: str
    state0: np.ndarray  # (B, d, k) for *-w, (B, d, d) for eigen-p, (B, n + k, k) for eigen-ak
    lam: np.ndarray | None  # (B, d) eigenvalues of S (eigen-*); (B, n) nonzero ones (eigen-ak)
    S: np.ndarray | None  # (B, d, d) (covariance-w)
    X: np.ndarray | None  # (B, d, n) (data-w)
    trS: np.ndarray  # (B,)
    train0: np.ndarray  # (B,) exact L_train(0)/d
    population0: np.ndarray  # (B,) exact L_pop(0)/d
    times: np.ndarray
    integrator: Integrator
    log_clock: float | None  # c of s = log(1 + c t) for the adaptive method, or None
    rate: float  # initial rate scale 4 lam_max max(1, p_max)
    cost: dict = field(default_factory=dict)

    @property
    def problem(self) -> Problem:
        return self.problems[0]

    @property
    def d(self) -> int:
        return self.problem.d

    def intervals(self) -> tuple[np.ndarray, np.ndarray]:
        """For fixed-step methods: steps per output interval and the step in each (<= dt).

        Output times that are multiples of dt give exactly dt (gradient descent with that rate).
        """
        dt = self.integrator.dt
        assert dt is not None
        grid = np.concatenate([[0.0], self.times])
        gaps = np.diff(grid)
        wanted = np.where(gaps > 0, np.ceil(gaps / dt - 1e-9), 0.0)  # floats: no overflow
        check_steps(float(wanted.sum()), self.integrator)
        counts = wanted.astype(np.int64)
        steps = np.where(counts > 0, gaps / np.maximum(counts, 1), 0.0)
        return counts, steps


class StepBudgetError(ProblemError):
    """A run would need more steps than its integrator's budget (a window too long)."""


def check_steps(steps: float, integ: Integrator) -> None:
    """Refuse, before any work, a run whose step count exceeds the integrator's budget."""
    if not steps <= integ.max_steps:  # also catches inf and nan
        what = f"{integ.method} steps of dt = {integ.dt:g}" if integ.dt else f"{integ.method} steps"
        raise StepBudgetError(
            f"about {steps:.3g} {what} are needed to reach the last time, more than the budget of "
            f"{integ.max_steps} steps (Integrator.max_steps): shorten the window"
        )


def memory(problem: Problem, formulation: str, batch: int, method: str) -> float:
    """Bytes a batch of ``batch`` seeds of ``problem`` needs at its peak on the host, in float64
    (an estimate: the arrays kept for the whole run, the largest transient of the preparation,
    the integrator's stages and outputs, and the flow's temporaries)."""
    d, k, n, points = problem.d, problem.k, problem.n, len(problem.times)
    kk = min(k, d)
    rows, cols = (problem.nest[0], max(problem.nest[1], problem.nest[2])) if problem.nest else (d, max(n, k))
    draw = rows * cols + d * k + (d * k if k > d else 0)  # X and W0 (and W0's QR for k > d)
    losses0 = n * k + 2 * k * k if k <= d else 2 * d * d + d * n  # the exact t = 0 losses
    state = {"eigen-p": d * d, "eigen-ak": (min(n, d) + kk) * kk}.get(formulation, d * kk)
    kept = {"data-w": d * n, "covariance-w": d * d}.get(formulation, d)  # per seed, the whole run
    setup = {"eigen-w": 2 * d * d, "eigen-p": 3 * d * d, "eigen-ak": 2 * d * min(n, d)}.get(formulation, 0)
    stages = {"adaptive": 55, "rk4": 6, "euler": 2}[method]  # measured: scipy DOP853 holds ~55 states
    flow = (
        4 * state
        + (n * kk if formulation == "data-w" else 0)
        + (3 * d * d if formulation == "eigen-p" else 0)
    )
    transient = draw + max(losses0, setup)
    return 8.0 * (batch * (kept + (stages + points) * state + flow) + transient)


# drawing one standard normal costs about as much as this many flops (measured: 26 ns a number
# with one thread, where matrix products run at 1e10-2e10 flops a second)
DRAW_FLOPS = 250.0
# What small problems cost beyond their arithmetic, per seed of a batch of 8 (the validation's
# seed block), in the same flops: each evaluation of the batch's right-hand side and integrator
# step takes ~18 us of Python and call overhead, and each problem's set-up (drawing, spectrum,
# initial losses) ~0.25 ms. Measured with one thread at d = 4 .. 128: without them the estimate
# was 7-70 times short at d <= 16, where a design that prefers seeds to height now goes.
EVAL_OVERHEAD_FLOPS = 2.2e4
PROBLEM_OVERHEAD_FLOPS = 2.5e6


def flops(formulation: str, d: int, k: int, n: int, evals: float) -> dict[str, float]:
    """Setup and per-evaluation flop estimates of a formulation (k > d is reduced to d). Every
    setup includes drawing X and W0 and, for k > d, the QR that reduces W0 (2 k d^2): at d = 1024,
    k = 65536, n = 4 those take 8 s a seed, which the estimate once left out (it promised 14 s for
    a ladder that took 100 s)."""
    drawing = DRAW_FLOPS * d * (n + k) + (2.0 * k * d * d if k > d else 0.0)
    k = min(k, d)
    w_part = 8.0 * d * k * k
    if formulation == "data-w":
        setup, per = 0.0, w_part + 4.0 * d * n * k
    elif formulation == "covariance-w":
        setup, per = d * d * n, w_part + 2.0 * d * d * k
    elif formulation == "eigen-w":
        setup, per = d * d * n + 9.0 * d**3 + 2.0 * d * d * k, w_part + d * k
    elif formulation == "eigen-ak":
        setup = 4.0 * d * n * min(n, d) + 2.0 * d * n * k + 2.0 * d * k * k
        per = 4.0 * n * k * k + 6.0 * n * n * k + 2.0 * k * k
    elif formulation == "eigen-p":
        setup, per = d * d * n + 9.0 * d**3 + 4.0 * d * d * k, 2.0 * d**3 + 10.0 * d * d
    else:
        raise ProblemError(f"unknown formulation '{formulation}'")
    setup += drawing + PROBLEM_OVERHEAD_FLOPS
    per += EVAL_OVERHEAD_FLOPS
    return {"setup": setup, "per_eval": per, "total": setup + evals * per}


def allowed(problem: Problem, method: str) -> list[str]:
    """The formulations that compute this problem's flow. The P-flow needs k >= d: for k < d the
    null space of P is an unstable fixed point (p' = 4 lam p (1 - p) at p = 0): round-off there
    grows like e^{4 lam t}. Euler must stay gradient descent on W."""
    not_euler = method != "euler"
    p_ok = problem.k >= problem.d and not_euler
    ak_ok = problem.n < problem.d and not_euler
    return (
        ["data-w", "covariance-w", "eigen-w"]
        + (["eigen-ak"] if ak_ok else [])
        + (["eigen-p"] if p_ok else [])
    )


def choose(problem: Problem, evals: float, offer: Offer, method: str) -> tuple[str, dict]:
    """The formulation this backend runs for this problem: the one asked for, else the cheapest
    it offers (``cost_model``) or the first it offers that the problem allows."""
    names = allowed(problem, method)
    costs = {f: flops(f, problem.d, problem.k, problem.n, evals) for f in names}
    if problem.formulation != "auto":
        if problem.formulation not in costs:
            raise ProblemError(
                f"formulation {problem.formulation} is not available here: the P-flow (eigen-p) "
                "needs k >= d (for k < d round-off in the null space of P grows like exp(4 lam t)), "
                "the (A, K) flow (eigen-ak) needs n < d, and neither is gradient descent under euler"
            )
        if problem.formulation not in offer.formulations:
            raise ProblemError(
                f"{offer.backend} does not run the {problem.formulation} formulation "
                f"(it runs {', '.join(offer.formulations)})"
            )
        return problem.formulation, costs
    usable = [f for f in offer.formulations if f in costs]
    if not usable:
        raise ProblemError(
            f"{offer.backend} runs only {', '.join(offer.formulations)}, which cannot compute this "
            f"problem (d = {problem.d}, k = {problem.k}, n = {problem.n}, {method}); "
            "declare data-w, which computes every problem"
        )
    if offer.cost_model:
        return min(usable, key=lambda f: costs[f]["total"]), costs
    return usable[0], costs


def adaptive_steps(rate: float, lam_max: float, horizon: float, log_clock: bool = False) -> float:
    """Steps of the adaptive method to ``horizon``: the transient at the initial ``rate`` and, once
    the flow has settled, steps held at DOP853's stability limit (h rho about 6) by the settled
    flow's fastest decay rho = 4 lam_max (measured: 1.6 steps per unit time at lam_max = 2.9, where
    this gives 1.9). On the linear clock the transient costs about one step per unit of
    ``rate * t``; on the log clock (:func:`uses_log_clock`) about LOG_CLOCK_STEPS steps per e-fold
    of ``1 + rate * t`` (measured: 57-85 steps in all at rate * t = 2e4 .. 1e6, where this gives
    70-84; the linear form gave 2040)."""
    transient = rate * horizon
    if log_clock:
        transient = LOG_CLOCK_STEPS * math.log1p(transient)
    return 40.0 + min(transient, 2e3) + 4.0 * lam_max * horizon / 6.0


LOG_CLOCK_FROM = 500.0  # on clock "auto", the log clock is used where rate * horizon exceeds this
LOG_CLOCK_STEPS = 3.0  # adaptive steps per e-fold of 1 + rate * t on the log clock


def uses_log_clock(clock: str, rate: float, horizon: float) -> bool:
    """Whether the adaptive method integrates in log(1 + rate t): asked for, or, on "auto", where
    the initial transient spans more than LOG_CLOCK_FROM units of rate * t."""
    return clock == "log" or (clock == "auto" and rate * horizon > LOG_CLOCK_FROM)


def _rate(lam_max: float, problem: Problem) -> float:
    p_max = problem.sigma2 * (math.sqrt(problem.d) + math.sqrt(problem.k)) ** 2
    return 4.0 * lam_max * max(1.0, p_max)


@dataclass(frozen=True)
class Resolved:
    """What a problem's settings resolve to before any data is drawn: the integrator with its
    defaults filled in, the formulation the cost model picks, and the estimates behind them."""

    integrator: Integrator
    formulation: str
    evals: float
    rate: float
    costs: dict


def resolve(problem: Problem, offer: Offer | None = None) -> Resolved:
    """Negotiate the problem with the backend's ``offer`` (default: any formulation and method,
    by cost): its method (the one asked for, else the backend's first), its step (the backend's if
    it fixes one), the defaults (tolerances by dtype, a stable dt for fixed steps), and the
    formulation. A function of the settings and the offer alone, so cache keys can use it."""
    offer = offer or Offer()
    d, n = problem.d, problem.n
    times = np.asarray(problem.times)
    lam_max = (1.0 + math.sqrt(d / n)) ** 2  # the upper edge of the data's spectrum
    rate = _rate(lam_max, problem)
    integ = problem.integrator
    if integ.method not in offer.methods:
        integ = replace(integ, method=offer.methods[0], dt=None)
    if offer.dt is not None and integ.method != "adaptive":
        integ = replace(integ, dt=offer.dt)
    f32 = problem.dtype == "float32"
    integ = replace(
        integ,
        rtol=integ.rtol if integ.rtol is not None else (1e-6 if f32 else 1e-10),
        atol=integ.atol if integ.atol is not None else (1e-8 if f32 else 1e-12),
    )
    if integ.method != "adaptive" and integ.dt is None:
        default = min(0.02, 0.5 / rate) if integ.method == "rk4" else min(1e-3, 0.1 / rate)
        integ = replace(integ, dt=default)
    horizon = float(times[-1])
    if integ.method == "adaptive":
        steps = adaptive_steps(rate, lam_max, horizon, uses_log_clock(integ.clock, rate, horizon))
    else:
        steps = horizon / integ.dt
    check_steps(steps, integ)
    evals = STAGES[integ.method] * steps
    formulation, costs = choose(problem, evals, offer, integ.method)
    return Resolved(integ, formulation, float(evals), rate, costs)


def resolved_json(problem: Problem, offer: Offer | None = None) -> dict:
    """The problem's JSON with its integrator and formulation resolved (what the numbers depend on)."""
    r = resolve(problem, offer)
    return replace(problem, integrator=r.integrator, formulation=r.formulation).to_json()


def prepare(problems: list[Problem], offer: Offer | None = None) -> Prepared:
    """Negotiate with the backend's ``offer``, draw, and build the host arrays of one batch
    (float64)."""
    p0 = problems[0]
    if any(p.batch_key() != p0.batch_key() for p in problems):
        raise ProblemError("a batch must hold problems that differ only by seed")
    times = np.asarray(p0.times)
    res = resolve(p0, offer)
    integ, formulation, evals, costs, rate = res.integrator, res.formulation, res.evals, res.costs, res.rate
    parts = [_prepare_one(p, formulation) for p in problems]  # one seed's X in memory at a time
    state0 = np.stack([q["state0"] for q in parts])
    trS = np.array([q["trS"] for q in parts])
    lam = np.stack([q["lam"] for q in parts]) if "lam" in parts[0] else None
    S = np.stack([q["S"] for q in parts]) if "S" in parts[0] else None
    Xb = np.stack([q["X"] for q in parts]) if "X" in parts[0] else None
    train0 = np.array([q["train0"] for q in parts])
    pop0 = np.array([q["pop0"] for q in parts])
    if lam is not None:
        rate = _rate(float(lam.max()), p0)
    log_clock = None
    if integ.method == "adaptive" and uses_log_clock(integ.clock, rate, float(times[-1])):
        log_clock = rate
    return Prepared(
        problems=list(problems),
        formulation=formulation,
        state0=np.ascontiguousarray(state0),
        lam=lam,
        S=S,
        X=Xb,
        trS=trS,
        train0=train0,
        population0=pop0,
        times=times,
        integrator=integ,
        log_clock=log_clock,
        rate=rate,
        cost={
            "chosen": formulation,
            "estimated_evals": evals,
            **{f: c["total"] for f, c in costs.items()},
        },
    )


def _prepare_one(problem: Problem, formulation: str) -> dict[str, np.ndarray]:
    """Host arrays of one seed: its state in the chosen formulation and its exact t = 0 losses."""
    X, W0 = draw(problem)
    d, k, n = problem.d, problem.k, problem.n
    W = W0 if k <= d else np.linalg.qr(W0.T)[1].T  # k > d: V = W Q with W0^T = Q R
    out: dict[str, np.ndarray] = {}
    if formulation == "eigen-ak":
        U, sv, _ = np.linalg.svd(X, full_matrices=False)  # range of S from the thin SVD of X
        lam = sv**2 / n
        A0 = U.T @ W
        K0 = W.T @ W - A0.T @ A0
        out.update(lam=lam, trS=lam.sum(), state0=np.concatenate([A0, 0.5 * (K0 + K0.T)], axis=0))
    elif formulation in ("eigen-w", "eigen-p"):
        lam, U = np.linalg.eigh(X @ X.T / n)
        lam = np.maximum(lam, 0.0)
        Wr = U.T @ W
        out.update(lam=lam, trS=lam.sum(), state0=Wr if formulation == "eigen-w" else Wr @ Wr.T)
    elif formulation == "covariance-w":
        S = X @ X.T / n
        out.update(S=S, trS=np.trace(S), state0=W)
    else:
        out.update(X=X, trS=np.einsum("ij,ij->", X, X) / n, state0=W)
    train0, pop0 = initial_losses(X[None], W0[None])
    out.update(train0=train0[0], pop0=pop0[0])
    return out


def initial_losses(X: np.ndarray, W0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact per-dimension losses at t = 0 (float64), batched over the leading axis."""
    d, k, n = X.shape[1], W0.shape[2], X.shape[2]
    trS = np.einsum("bij,bij->b", X, X) / n
    if k <= d:
        G = W0.transpose(0, 2, 1) @ W0
        XtW = X.transpose(0, 2, 1) @ W0
        H = XtW.transpose(0, 2, 1) @ XtW / n
        train = (trS - 2 * np.trace(H, axis1=1, axis2=2) + np.einsum("bij,bij->b", H, G)) / (2 * d)
        pop = (d - 2 * np.trace(G, axis1=1, axis2=2) + np.einsum("bij,bij->b", G, G)) / (2 * d)
        return train, pop
    P = W0 @ W0.transpose(0, 2, 1)
    R = np.eye(d) - P
    RX = R @ X
    train = np.einsum("bij,bij->b", RX, RX) / (2 * n * d)
    pop = np.einsum("bij,bij->b", R, R) / (2 * d)
    return train, pop


def final_spectrum(prepared: Prepared, final: np.ndarray) -> np.ndarray:
    """Eigenvalues of G = W^T W at the end (ascending, k of them), from the final state."""
    k = prepared.problem.k
    if prepared.formulation == "eigen-p":
        ev = np.linalg.eigvalsh(0.5 * (final + final.transpose(0, 2, 1)))
    elif prepared.formulation == "eigen-ak":
        n = prepared.problem.n
        A, K = final[:, :n, :], final[:, n:, :]
        G = A.transpose(0, 2, 1) @ A + K
        ev = np.linalg.eigvalsh(0.5 * (G + G.transpose(0, 2, 1)))
    else:
        ev = np.linalg.eigvalsh(final.transpose(0, 2, 1) @ final)
    if k > ev.shape[1]:
        return np.concatenate([np.zeros((ev.shape[0], k - ev.shape[1])), ev], axis=1)
    return ev[:, ev.shape[1] - k :]
