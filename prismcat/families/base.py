"""What a model family provides to prismcat: its sizes and ratios, the geometry that maps scaling
exponents to its cells, how a ladder rung becomes finite-size problems, how a backend runs them,
and which observables the catalogue's quantities may use.

The weight-tied autoencoder (:mod:`prismcat.families.autoencoder`) is the first family; a plugin
adds another through the ``register_families`` hook (walk-through: ``docs/writing-a-family.md``).
An entry names its family with ``model:`` (default ``autoencoder``) and, where the family has
structural choices (the CP order nu, SYM or ASYM), gives them under ``structure:``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import pydantic

from prismcat.budget import Estimate
from prismcat.registry import parse_spec, registry
from prismcat.settings import DEFAULT_FAMILY


class FamilyCell(Protocol):
    """A cell of a family's geometry: the set of faces that contain it."""

    faces: frozenset[str]

    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...  # "interior", "face"/"edge", "vertex": the policy's kinds of cell


class Geometry(Protocol):
    """The cells of one structure of a family and the map from scaling exponents to them."""

    key: str  # "prism"; "asym3", "sym4" for the CP polygons
    title: str
    cell_word: str  # what the figure shows: "prism", "Pareto polygon"

    def cells(self) -> list[Any]: ...
    def parse(self, cell_id: str) -> Any: ...  # ValueError with a message
    def cell_of(self, exponents: Mapping[str, Fraction]) -> Any: ...
    def adjacent(self, cell: Any) -> list[Any]: ...
    def representative(self, cell: Any) -> dict[str, Fraction]: ...
    def extremeness(self, sizes: Mapping[str, float]) -> dict[str, float]: ...
    def primary_id(self, cell: Any) -> str: ...
    def coordinates(self, exponents: Mapping[str, Fraction]) -> str: ...
    def draw(self, ax: Any, marks: Mapping[str, str]) -> None: ...


class ModelFamily:
    """A model family. Subclasses set the class attributes and implement the methods that raise
    ``NotImplementedError``; everything else has a working default."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    sizes: ClassVar[tuple[str, ...]]  # the size variables an entry's scaling gives exponents for
    integer_sizes: ClassVar[tuple[str, ...]] = ()  # rounded to integers on a ladder
    observables: ClassVar[tuple[str, ...]]  # names an entry's quantities may use, besides sizes
    losses: ClassVar[tuple[str, ...]] = ("train", "population")  # a family without data has only train
    ratios: ClassVar[dict[str, str]] = {}  # canonical ratios: name -> the one definition allowed
    probe: ClassVar[dict[str, float]]  # arbitrary sizes at which a clock is checked to be affine
    default_backend: ClassVar[str]
    # a generic backend name (what --backend says for the whole catalogue) -> this family's backend
    backend_names: ClassVar[dict[str, str]] = {}
    Structure: ClassVar[type[pydantic.BaseModel] | None] = None  # the entry's `structure:` fields
    # LaTeX of the names with a fixed meaning in its entries (sizes, observables), e.g. sigma2
    symbols: ClassVar[dict[str, str]] = {}

    # -- geometry -----------------------------------------------------------------------------
    def geometry(self, structure: Any = None) -> Geometry:
        raise NotImplementedError

    def structures(self) -> list[Any]:
        """Every structure the family classifies (what ``prismcat cells`` lists)."""
        return [None]

    def structure_of(self, data: Mapping[str, Any]) -> Any:
        """The validated structure (pydantic raises for bad input); None if the family has none."""
        if self.Structure is None:
            if data:
                raise ValueError(f"the {self.name} family takes no structure")
            return None
        return self.Structure.model_validate(dict(data))

    # -- catalogue ----------------------------------------------------------------------------
    def catalog_dirs(self) -> list[Path]:
        """Folders holding this family's packaged entries."""
        return []

    # -- simulation -----------------------------------------------------------------------------
    def backend_for(self, requested: str) -> str:
        """The backend that runs this family's entries when the user asked for ``requested``."""
        name, _ = parse_spec(requested)
        sim = registry().simulators.get(name)
        if sim is not None and getattr(sim, "family", DEFAULT_FAMILY) == self.name:
            return requested
        mapped = self.backend_names.get(name)
        return mapped if mapped is not None else self.default_backend

    def problems(
        self,
        sizes: Mapping[str, float],
        structure: Any,
        times: np.ndarray,
        integrator: Any,
        dtype: str,
        seeds: Sequence[int],
        nest: Mapping[str, int] | None,
    ) -> list[Any]:
        """The finite-size problems of one rung, one per seed."""
        raise NotImplementedError

    def arrays(self, batch: int, points: int) -> dict[str, tuple[int, ...]]:
        """The arrays a task of ``batch`` seeds returns, with their shapes (the cache checks them)."""
        raise NotImplementedError

    def run(self, problems: list[Any], backend: str) -> dict[str, np.ndarray]:
        """Simulate one batch of ``problems`` on ``backend``: the arrays of :meth:`arrays`."""
        raise NotImplementedError

    def environment(self, sim: Mapping[str, np.ndarray], sizes: Mapping[str, float]) -> dict[str, Any]:
        """The observables (by name) of simulated arrays ``sim`` at ``sizes`` (seeds x times)."""
        raise NotImplementedError

    def key_of(self, problem: Any, offer: Any) -> dict[str, Any]:
        """What a problem's numbers depend on, as JSON (the cache key hashes it)."""
        return problem.to_json()

    def cost(self, problems: list[Any], offer: Any) -> float:
        """A relative cost estimate of a batch, to start the longest tasks first."""
        return float(len(problems))

    def estimate(self, problems: list[Any], offer: Any) -> Estimate | None:
        """Peak memory and operations of a batch, checked against the limits before it runs
        (None: the family cannot say, and its tasks are not checked)."""
        return None

    def record_sizes(self, sizes: Mapping[str, float]) -> dict[str, Any]:
        """Sizes a rung's record repeats at its top level (the autoencoder's d, k, n, sigma2, which
        results.json has always had there); none by default."""
        return {}

    def label(self, sizes: Mapping[str, float]) -> str:
        """A rung's sizes for messages."""
        return ", ".join(
            f"{s}={sizes[s]:.0f}" if s in self.integer_sizes else f"{s}={sizes[s]:.4g}" for s in self.sizes
        )
