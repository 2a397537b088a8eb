"""The CP family: rank-H CP decompositions of the order-nu identity tensor (arXiv:2602.04548).

Sizes p (dimension), H (rank, the width), sigma (the initialisation's standard deviation);
structure nu (order) and symmetry (sym: one shared factor; asym: nu independent ones). The cells
are those of the paper's Pareto polygon: A-B-C-D-E for ASYM, the triangle A-B-E for SYM with even
nu (SYM with odd nu is not classified there, so entries cannot claim it). Every run is at T = 1:
an entry's clock carries its regime's natural time scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pydantic

from prismcat.families.base import ModelFamily
from prismcat.families.polygon import PolygonGeometry


class Structure(pydantic.BaseModel):
    """An entry's ``structure:``: the order and the symmetry."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)
    nu: int = pydantic.Field(ge=2, le=8, description="order of the tensor")
    symmetry: Literal["sym", "asym"] = pydantic.Field(description="sym: one shared factor; asym: nu")

    @pydantic.model_validator(mode="after")
    def _classified(self) -> Structure:
        if self.symmetry == "sym" and self.nu % 2:
            raise ValueError(f"SYM with odd nu (here {self.nu}) is not classified by the paper's polygon")
        return self

    @property
    def key(self) -> str:
        return f"{self.symmetry}{self.nu}"


@cache
def polygon(structure: Structure) -> PolygonGeometry:
    """The Pareto polygon's fan for ``structure``, in r1 = log H/p^{nu-1} (ASYM) or log H^2/p^nu
    (SYM) and r2 = log p^{nu-1} sigma^nu."""
    nu = structure.nu
    F = Fraction
    r2 = {"p": F(nu - 1), "sigma": F(nu)}
    if structure.symmetry == "asym":
        rays = {"A-B": (0, 1), "E-A": (-1, 0), "D-E": (0, -1), "C-D": (1, -1), "B-C": (2, -1)}
        r1 = {"H": F(1), "p": F(-(nu - 1))}
        normal = {"p": F(1), "H": F(nu - 1), "sigma": F(1 - nu, nu)}
        title = f"ASYM nu = {nu} Pareto polygon"
    else:
        rays = {"A-B": (0, 1), "E-A": (-1, 0), "B-E": (2, -1)}
        r1 = {"H": F(2), "p": F(-nu)}
        normal = {"p": F(1), "H": F(nu, 2), "sigma": F(1 - nu, nu)}
        title = f"SYM nu = {nu} Pareto triangle"
    return PolygonGeometry(f"cp-{structure.key}", title, rays, r1, r2, ("H", "sigma"), normal)


class CPFamily(ModelFamily):
    name = "cp"
    title = "CP decomposition of the identity tensor"
    description = "f = sum_k u_k^(1) x ... x u_k^(nu), loss 1/2 |f - I|^2, gradient flow (arXiv:2602.04548)"
    sizes = ("p", "H", "sigma")
    integer_sizes = ("p", "H")
    observables = ("L", "L0")  # the run's loss curve and its value at t = 0
    losses = ("train",)  # no data: the one loss is the loss itself
    probe: ClassVar[dict[str, float]] = {"p": 37.0, "H": 101.0, "sigma": 0.13}
    default_backend = "cp-numpy"
    backend_names: ClassVar[dict[str, str]] = {"numpy": "cp-numpy", "torch": "cp-torch"}
    Structure = Structure

    def geometry(self, structure: Any = None) -> PolygonGeometry:
        if structure is None:
            raise ValueError("a CP entry gives its structure: {nu: ..., symmetry: sym or asym}")
        return polygon(structure)

    def structures(self) -> list[Structure]:
        return [
            Structure(nu=3, symmetry="asym"),
            Structure(nu=4, symmetry="sym"),
            Structure(nu=2, symmetry="sym"),
        ]

    def catalog_dirs(self) -> list[Path]:
        return [Path(__file__).resolve().parent / "catalog"]

    def problems(self, sizes, structure, times, integrator, dtype, seeds, nest) -> list[Any]:
        from prismcat_cp.problem import CPProblem

        base = CPProblem(
            p=int(sizes["p"]),
            H=int(sizes["H"]),
            sigma=float(sizes["sigma"]),
            nu=structure.nu,
            symmetric=structure.symmetry == "sym",
            times=tuple(float(t) for t in times),
            integrator=integrator,
            dtype=dtype,
            nest=None if nest is None else (nest["p"], nest["H"]),
        )
        return [base.with_seed(s) for s in seeds]

    def arrays(self, batch: int, points: int) -> dict[str, tuple[int, ...]]:
        return {"loss": (batch, points), "loss0": (batch,)}

    def run(self, problems: list[Any], backend: str) -> dict[str, np.ndarray]:
        from prismcat.simulation import get_simulator

        results = get_simulator(backend).run(problems)
        return {"loss": np.stack([r.loss for r in results]), "loss0": np.array([r.loss0 for r in results])}

    def environment(self, sim: Mapping[str, np.ndarray], sizes: Mapping[str, float]) -> dict[str, Any]:
        return {"L": sim["loss"], "L0": sim["loss0"][:, None]}

    def key_of(self, problem: Any, offer: Any) -> dict[str, Any]:
        from prismcat_cp.simulator import negotiated

        return negotiated(problem, offer).to_json()

    def cost(self, problems: Sequence[Any], offer: Any) -> float:
        p = problems[0]
        per_gradient = p.nu * p.H * p.p * min(p.H, p.p ** (p.nu - 1))  # the cheaper formulation
        return float(len(problems) * per_gradient * len(p.times))


CP = CPFamily()
