"""Model families through the hook: the autoencoder is the first, a plugin adds another with its
own sizes, geometry, simulator and entries, and the loader, the runner and the checkers serve it
unchanged. The toy family here is the smallest complete one (see docs/writing-a-family.md)."""

from __future__ import annotations

import math
from contextlib import contextmanager
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

import prismcat
from prismcat import hookimpl
from prismcat.catalog import load_catalog
from prismcat.families import families, get_family
from prismcat.families.base import ModelFamily
from prismcat.families.polygon import PolygonGeometry
from prismcat.plugins import plugin_manager
from prismcat.simulation import SimulationError, Simulator

F = Fraction


# -- a toy family: L(t) = (1 + 1/n) chi2_n / n * exp(-s t), whose n -> infinity limit is exp(-s t) --
class ToyProblem(SimpleNamespace):
    def to_json(self):
        return dict(self.__dict__)


class ToyFamily(ModelFamily):
    name = "toy"
    title = "toy decay"
    sizes = ("n", "s")
    integer_sizes = ("n",)
    observables = ("L",)
    losses = ("train",)
    probe = {"n": 17.0, "s": 0.3}  # noqa: RUF012
    default_backend = "toy-numpy"

    def geometry(self, structure=None):
        rays = {"X-Y": (1, 0), "Y-Z": (-1, 1), "Z-X": (-1, -1)}
        return PolygonGeometry(
            "toy", "toy triangle", rays, {"n": F(1)}, {"s": F(1)}, ("n", "s"), {"n": F(0), "s": F(0)}
        )

    def problems(self, sizes, structure, times, integrator, dtype, seeds, nest):
        return [ToyProblem(n=int(sizes["n"]), s=sizes["s"], times=list(times), seed=s) for s in seeds]

    def arrays(self, batch, points):
        return {"loss": (batch, points)}

    def run(self, problems, backend):
        from prismcat.simulation import get_simulator

        return {"loss": np.stack([get_simulator(backend).curve(p) for p in problems])}

    def environment(self, sim, sizes):
        return {"L": sim["loss"]}


class ToySimulator(Simulator):
    name = "toy-numpy"
    family = "toy"

    def integrate(self, prepared):  # pragma: no cover - the autoencoder contract
        raise NotImplementedError

    def curve(self, p):
        x = np.random.default_rng(p.seed).standard_normal(p.n)
        if p.n > 10**6:
            raise SimulationError("too large")
        return (1 + 1 / p.n) * np.mean(x**2) * np.exp(-p.s * np.asarray(p.times))


class ToyPlugin:
    @hookimpl
    def register_families(self, register):
        register(ToyFamily())

    @hookimpl
    def register_simulators(self, register):
        register(ToySimulator())


@contextmanager
def toy_plugin():
    pm = plugin_manager()
    pm.register(ToyPlugin(), name="test-toy-family")
    try:
        yield
    finally:
        pm.unregister(name="test-toy-family")


TOY = """\
id: toy-x-y
model: toy
title: Toy decay along the X-Y edge
summary: chi2 mean times exp(-s t); n grows, s fixed
cell: X-Y
scaling: {n: 1, s: 0}
parameters:
  s0: {definition: s, default: 1.0, range: [0.1, 10]}
losses:
  train:
    quantity: L
    formula: {kind: closed_form, expression: exp(-s0 * t)}
convergence: {rate: 0.5, in: 1 / n, mean: {in: 1 / n, rate: 1}}
validation:
  ladder: [200, 400, 800, 1600, 3200]
  parameters: {s0: 1.0}
  seeds: 64
  horizon: 1
  tolerance: {train: 0.05}
"""


def test_the_autoencoder_is_the_first_family_and_entries_default_to_it(catalog):
    assert next(iter(families())) == "autoencoder"
    e = catalog.get("large-data")
    assert e.family is get_family("autoencoder") and e.spec.model == "autoencoder"
    assert e.geometry.key == "prism" and e.cell.id == "large-data"


def test_an_unknown_family_or_a_wrong_size_is_a_located_error(tmp_path):
    bad = TOY.replace("model: toy", "model: nonesuch")
    (tmp_path / "e.yaml").write_text(bad)
    (problem,) = load_catalog(tmp_path).problems
    assert problem.location.line == 2 and problem.location.column == 8  # the value of model:
    assert problem.message.startswith("unknown model family 'nonesuch' (installed: autoencoder")
    with toy_plugin():
        (tmp_path / "e.yaml").write_text(TOY.replace("scaling: {n: 1, s: 0}", "scaling: {n: 1, d: 0}"))
        msgs = [str(p) for p in load_catalog(tmp_path).problems]
        assert any("scaling.d: unknown size 'd' (the toy family's sizes: n, s)" in m for m in msgs), msgs
        assert any("missing exponent(s) for s" in m for m in msgs), msgs
        (tmp_path / "e.yaml").write_text(TOY.replace("cell: X-Y", "cell: Y"))
        msgs = [str(p) for p in load_catalog(tmp_path).problems]
        assert any("declares cell 'Y' but its exponents (n, s) = (1, 0) place it in 'X-Y'" in m for m in msgs)


def test_a_plugin_family_validates_end_to_end_and_a_wrong_formula_fails(tmp_path):
    with toy_plugin():
        (tmp_path / "good.yaml").write_text(TOY)
        wrong = TOY.replace("id: toy-x-y", "id: toy-wrong").replace("exp(-s0 * t)", "exp(-1.05 * s0 * t)")
        (tmp_path / "wrong.yaml").write_text(wrong)
        cat = load_catalog(tmp_path)
        assert not cat.problems, cat.problems
        result = prismcat.validate(catalog=cat, cache=None, progress=False)
        status = {e.id: e.status for e in result.entries}
        assert status == {"toy-x-y": "pass", "toy-wrong": "fail"}, [e.message for e in result.entries]
        rec = result.to_json()
        assert rec["entries"][0]["model"] == "toy" and rec["entries"][0]["sizes"][0]["sizes"]["n"] == 200


def test_a_polygon_fan_puts_every_direction_in_exactly_one_cell():
    g = ToyFamily().geometry()
    assert sorted(c.id for c in g.cells()) == ["X", "X-Y", "Y", "Y-Z", "Z", "Z-X", "interior"]
    rng = np.random.default_rng(0)
    for _ in range(200):
        v = {"n": F(int(rng.integers(-9, 10))), "s": F(int(rng.integers(-9, 10)))}
        cell = g.cell_of(v)
        assert cell.id in {c.id for c in g.cells()}
    for c in g.cells():
        assert g.cell_of(g.representative(c)).id == c.id
    assert g.cell_of({"n": 0, "s": 0}).id == "interior"
    assert {c.id for c in g.adjacent(g.parse("X"))} == {"X-Y", "Z-X"}
    s = g.extremeness({"n": math.e**2, "s": 1.0})
    assert s["X-Y"] == pytest.approx(2.0) and s["Y-Z"] == 0.0


def test_rays_half_a_turn_apart_are_not_a_polygons_fan():
    rays = {"X-Y": (1, 0), "Y-Z": (-1, 0), "Z-X": (0, -1)}  # X-Y to Y-Z: exactly half a turn
    with pytest.raises(ValueError, match="rays X-Y and Y-Z are half a turn or more apart"):
        PolygonGeometry("bad", "bad", rays, {"n": F(1)}, {"s": F(1)}, ("n", "s"), {"n": F(0), "s": F(0)})
