"""The CP backends conform; each broken backend fails exactly the check for its defect."""

import numpy as np
import pytest
from prismcat_cp import gram
from prismcat_cp.conformance import check_cp_simulator
from prismcat_cp.simulator import CPNumpySimulator, CPTorchSimulator

from prismcat.simulation import SimulationError


def test_numpy_backend_conforms():
    assert check_cp_simulator(CPNumpySimulator()) == {}


def test_torch_backend_conforms():
    pytest.importorskip("torch")
    assert check_cp_simulator(CPTorchSimulator()) == {}


class HalfGradient(CPNumpySimulator):
    """Forgets the factor nu of the SYM gradient."""

    def grad(self, U, nu, form="gram"):
        g = super().grad(U, nu, form)
        return g / nu if U.shape[1] == 1 else g


class Float64Always(CPNumpySimulator):
    def asarray(self, a, dtype):
        return np.asarray(a, dtype="float64")


class SharedSeed(CPNumpySimulator):
    """Runs every seed of a batch from the first seed's draw."""

    def _batch(self, batch):
        from dataclasses import replace

        return super()._batch([replace(p, seed=batch[0].seed) for p in batch])


class NoDivergenceCheck(CPNumpySimulator):
    def _check(self, U, t, limit, p0, dt):
        with np.errstate(all="ignore"):
            return np.nan_to_num(
                np.asarray(self.loss(U, p0.nu, p0.formulation), dtype=float), nan=0.0, posinf=0.0
            )


class OneTimeMissing(CPNumpySimulator):
    def _batch(self, batch):
        out = super()._batch(batch)
        for r in out:
            r.loss = r.loss[:-1]
        return out


@pytest.mark.parametrize(
    ("broken", "fails"),
    [
        (HalfGradient, "dense"),
        (Float64Always, "float32"),
        (SharedSeed, "batched_seeds"),
        (NoDivergenceCheck, "divergence"),
        (OneTimeMissing, "shapes"),
    ],
)
def test_a_broken_backend_fails_its_check(broken, fails):
    failures = check_cp_simulator(broken())
    assert fails in failures, failures


def test_gram_and_tensor_forms_equal_the_dense_loss():
    for nu, sym in [(2, True), (3, False), (4, True), (3, True), (2, False)]:
        U = np.stack([gram.draw(4, 5, 0.5, nu, sym, s) for s in range(2)])
        dense = gram.dense_loss(U, nu)
        assert np.allclose(gram.loss(U, nu), dense, rtol=1e-12, atol=1e-12)
        assert np.allclose(gram.tensor_loss(U, nu), dense, rtol=1e-12, atol=1e-12)
        assert np.allclose(gram.grad(U, nu), gram.tensor_grad(U, nu), rtol=1e-10, atol=1e-12)


def test_the_cheaper_form_is_chosen_and_the_tensor_never_outgrows_the_factors():
    assert gram.formulation(32, 100, 3) == "gram"  # p^3 = 32768 > H p = 3200
    assert gram.formulation(5, 3125, 3) == "tensor"  # p^3 = 125 < H p
    assert gram.formulation(8, 128, 3) == "gram"  # H = 2 p^2: the Gram form is still faster
    for p, H, nu in [(4, 100, 3), (6, 7776, 3), (3, 27, 4)]:
        if gram.formulation(p, H, nu) == "tensor":
            assert p**nu < H * p


def test_initial_loss_mean_is_the_expectation():
    for nu, sym, p, H, s in [(4, True, 5, 4, 0.45), (3, False, 5, 4, 0.5)]:
        U = np.stack([gram.draw(p, H, s, nu, sym, k) for k in range(4000)])
        L = gram.loss(U, nu)
        assert abs(L.mean() - gram.initial_loss_mean(p, H, s, nu, sym)) < 4 * L.std() / np.sqrt(len(L))


def test_euler_is_gradient_descent_and_a_huge_step_diverges():
    from prismcat_cp.problem import CPProblem, draw

    from prismcat.simulation import Integrator

    p = CPProblem(
        p=4, H=3, sigma=0.5, nu=3, symmetric=False, times=(0.0, 0.02), integrator=Integrator("euler", dt=0.01)
    )
    U = draw(p)[None]
    for _ in range(2):
        U = U - 0.01 * gram.grad(U, 3)
    assert CPNumpySimulator().run([p])[0].loss[-1] == pytest.approx(gram.loss(U, 3)[0], rel=1e-13)
    with pytest.raises(SimulationError, match="diverged"):
        CPNumpySimulator().run([CPProblem(p=4, H=3, sigma=3.0, nu=3, symmetric=False, times=(0.0, 50.0),
                                          integrator=Integrator("euler", dt=5.0))])  # fmt: skip
