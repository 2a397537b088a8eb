"""The weight-tied linear autoencoder f(x) = W W^T x (arXiv:2606.05335): the first model family.

Sizes d, k, n, sigma2; canonical ratios gamma, alpha, a, u; the prism's fan
(:mod:`prismcat.prism`); problems :class:`prismcat.simulation.Problem` run by the W-flow backends
(:mod:`prismcat.simulators`); the entries in ``catalog/``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from prismcat import hookimpl, prism
from prismcat.budget import Estimate, fmt_bytes
from prismcat.families.base import ModelFamily
from prismcat.paths import default_catalog_dir
from prismcat.prism_drawing import draw as draw_prism
from prismcat.simulation import Problem, simulate
from prismcat.simulation.plan import memory, resolve, resolved_json

ARRAYS = ("train", "population", "train0", "population0", "trS")


class PrismGeometry:
    """The prism's fan as a family geometry."""

    key = "prism"
    title = "the prism"
    cell_word = "prism"

    def cells(self) -> list[prism.Cell]:
        return prism.all_cells()

    def parse(self, cell_id: str) -> prism.Cell:
        return prism.parse_cell(cell_id)

    def cell_of(self, exponents: Mapping[str, Fraction]) -> prism.Cell:
        return prism.cell_of(*(exponents[s] for s in AutoencoderFamily.sizes))

    def adjacent(self, cell: prism.Cell) -> list[prism.Cell]:
        return prism.adjacent_cells(cell)

    def representative(self, cell: prism.Cell) -> dict[str, Fraction]:
        return dict(
            zip(AutoencoderFamily.sizes, map(Fraction, prism.representative_exponents(cell)), strict=True)
        )

    def extremeness(self, sizes: Mapping[str, float]) -> dict[str, float]:
        return prism.extremeness(sizes["d"], sizes["k"], sizes["n"], sizes["sigma2"])

    def primary_id(self, cell: prism.Cell) -> str:
        return cell.id

    def coordinates(self, exponents: Mapping[str, Fraction]) -> str:
        return str(prism.ratio_exponents(*(exponents[s] for s in AutoencoderFamily.sizes)))

    def draw(self, ax: Any, marks: Mapping[str, str]) -> None:
        draw_prism(ax, marks, legend="here" not in marks.values())


class AutoencoderFamily(ModelFamily):
    name = "autoencoder"
    title = "weight-tied linear autoencoder"
    description = "f(x) = W W^T x on Gaussian data, W in R^{d x k}, gradient flow (arXiv:2606.05335)"
    sizes = ("d", "k", "n", "sigma2")
    integer_sizes = ("d", "k", "n")
    observables = ("L_train", "L_pop", "L_train0", "L_pop0", "trS")
    ratios: ClassVar[dict[str, str]] = {
        "gamma": "k / d",
        "alpha": "n / d",
        "a": "sigma2 * d",
        "u": "sigma2 * k",
    }
    probe: ClassVar[dict[str, float]] = {"d": 101.0, "k": 37.0, "n": 53.0, "sigma2": 0.013}
    symbols: ClassVar[dict[str, str]] = {
        "sigma2": r"\sigma^{2}",
        "trS": r"\operatorname{Tr}(S)",
        "L_train0": r"L_{\mathrm{train}}(0)",
        "L_pop0": r"L_{\mathrm{pop}}(0)",
    }
    default_backend = "numpy"

    def geometry(self, structure: Any = None) -> PrismGeometry:
        return PrismGeometry()

    def catalog_dirs(self):
        return [default_catalog_dir()]

    def backend_for(self, requested: str) -> str:
        return requested  # every backend not declaring another family runs the autoencoder

    def problems(self, sizes, structure, times, integrator, dtype, seeds, nest) -> list[Any]:
        base = Problem(
            d=int(sizes["d"]),
            k=int(sizes["k"]),
            n=int(sizes["n"]),
            sigma2=float(sizes["sigma2"]),
            times=tuple(times),
            integrator=integrator,
            dtype=dtype,
        )
        if nest is not None:
            base = dataclasses.replace(base, nest=(nest["d"], nest["n"], nest["k"]))
        return [base.with_seed(s) for s in seeds]

    def arrays(self, batch: int, points: int) -> dict[str, tuple[int, ...]]:
        return {"train": (batch, points), "population": (batch, points), "train0": (batch,),
                "population0": (batch,), "trS": (batch,)}  # fmt: skip

    def run(self, problems: list[Any], backend: str) -> dict[str, np.ndarray]:
        results = simulate(problems, backend)
        return {
            "train": np.stack([r.train for r in results]),
            "population": np.stack([r.population for r in results]),
            "train0": np.array([r.train0 for r in results]),
            "population0": np.array([r.population0 for r in results]),
            "trS": np.array([r.trS for r in results]),
        }

    def loss_scale(self, sizes: Mapping[str, float]) -> float:
        """The simulated losses are per dimension: the arrays hold L / d."""
        return float(sizes["d"])

    def environment(self, sim, sizes) -> dict[str, Any]:
        d = self.loss_scale(sizes)
        return {
            "L_train": sim["train"] * d,
            "L_pop": sim["population"] * d,
            "L_train0": (sim["train0"] * d)[:, None],
            "L_pop0": (sim["population0"] * d)[:, None],
            "trS": sim["trS"][:, None],
        }

    def key_of(self, problem, offer) -> dict[str, Any]:
        return resolved_json(problem, offer)

    def cost(self, problems: Sequence[Any], offer) -> float:
        r = resolve(problems[0], offer)
        return len(problems) * r.costs[r.formulation]["total"]

    def estimate(self, problems: Sequence[Any], offer) -> Estimate:
        p = problems[0]
        r = resolve(p, offer)
        big = max((p.d * p.n, "X"), (p.d * p.k, "W0"))
        return Estimate(
            memory(p, r.formulation, len(problems), r.integrator.method),
            len(problems) * r.costs[r.formulation]["total"],
            f"{big[1]} alone {fmt_bytes(8.0 * big[0])}" if 8.0 * big[0] > 1e8 else "",
        )

    def record_sizes(self, sizes) -> dict[str, Any]:
        return {s: (float(sizes[s]) if s == "sigma2" else int(sizes[s])) for s in self.sizes}

    def label(self, sizes) -> str:
        s = sizes
        return f"d={s['d']:.0f}, k={s['k']:.0f}, n={s['n']:.0f}, sigma2={s['sigma2']:.4g}"


AUTOENCODER = AutoencoderFamily()


@hookimpl
def register_families(register):
    register(AUTOENCODER)
