"""Loading entries: every bad input gives one exact, located message; good files still load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from prismcat.catalog import entry_from_data, entry_json_schema, load_catalog, load_entry
from prismcat.errors import CatalogError

# A small valid entry (the large-data + mean-field edge). Line numbers below refer to it.
GOOD = """\
id: ld-mf
title: Large data and mean-field
summary: One logistic curve.
cell: large-data+mean-field
scaling: {d: 1, k: 2, n: 2, sigma2: -2}
parameters:
  u: {definition: sigma2 * k, default: 0.5, range: [0.01, 10]}
clock: {name: t, definition: t}
losses:
  train:
    quantity: L_train / d
    formula:
      kind: closed_form
      expression: 0.5 * (1 - u)**2 / D**2
      where: {D: 1 + u * expm1(4 * t)}
  population:
    quantity: L_pop / d
    formula: {kind: closed_form, expression: 0.5 * (1 - u)**2 / (1 + u * expm1(4 * t))**2}
convergence: {rate: 1, in: d / k + d / n}
references: ["arXiv:2606.05335"]
validation:
  ladder: [8, 16]
  seeds: 2
  horizon: 3
  tolerance: {train: 0.01, population: 0.01}
"""


def load_text(tmp_path, text: str, name: str = "entry.yaml", check_values: bool = True):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return load_entry(path, name, check_values=check_values)


def errors_of(tmp_path, text) -> list[str]:
    with pytest.raises(CatalogError) as info:
        load_text(tmp_path, text)
    return [str(p) for p in info.value.problems]


def test_good_entry_loads_and_predicts(tmp_path):
    entry = load_text(tmp_path, GOOD)
    assert entry.cell.id == "large-data+mean-field"
    pred = entry.predict(np.array([0.0, 1.0]), {"u": 0.2})
    assert pred.train[0] == pytest.approx(0.5 * 0.8**2)


# (replace this, with that) in GOOD -> the exact message(s).
MUTATIONS = [
    (
        "expression: 0.5 * (1 - u)**2 / D**2",
        "expression: 0.5 * (1 - uu)**2 / D**2",
        "entry.yaml:14:30: losses.train.formula.expression: unknown name 'uu' (known: t, u, D, pi); did you mean 'u'?",
    ),
    (
        "where: {D: 1 + u * expm1(4 * t)}",
        "where: {D: 1 + u * expm1(4 * t).real}",
        "entry.yaml:15:26: losses.train.formula.where.D: attribute access not allowed in expressions",
    ),
    (
        "where: {D: 1 + u * expm1(4 * t)}",
        "where: {D: 1 + u * open(4 * t)}",
        "entry.yaml:15:26: losses.train.formula.where.D: unknown function 'open'",
    ),
    (
        "title: Large data and mean-field\n",
        "title: Large data and mean-field\ncolour: red\n",
        "entry.yaml:3:1: colour: unknown key 'colour' (allowed: id, model, structure, title, summary, cell, scaling, parameters, where, clock, losses, convergence, references, notes, validation, consistency, consistency_exemptions)",
    ),
    (
        "  seeds: 2\n",
        "  seeds: two\n",
        "entry.yaml:23:10: validation.seeds: Input should be a valid integer, unable to parse string as an integer (got 'two')",
    ),
    (
        "summary: One logistic curve.\n",
        "",
        "entry.yaml:1:1: summary: missing required field 'summary'",
    ),
    (
        "cell: large-data+mean-field",
        "cell: large-data",
        "entry.yaml:4:7: cell: declares cell 'large-data' but its exponents (d, k, n, sigma2) = (1, 2, 2, -2) place it in 'large-data+mean-field'",
    ),
    (
        "cell: large-data+mean-field",
        "cell: mean-field+large-data",
        "entry.yaml:4:7: cell: 'mean-field+large-data' is not canonical; write 'large-data+mean-field'",
    ),
    (
        "definition: sigma2 * k,",
        "definition: sigma2 * d,",
        "entry.yaml:7:19: parameters.u.definition: 'u' is a canonical ratio and must be defined as sigma2 * k (the autoencoder family)",
    ),
    (
        "  u: {definition: sigma2 * k, default: 0.5, range: [0.01, 10]}",
        "  u: {definition: sigma2 * k, default: 0.5, range: [0.01, 10]}\n  g: {definition: k / d, default: 1, range: [0.1, 10]}",
        "entry.yaml:8:19: parameters.g.definition: 'g' = k / d is not fixed under the scaling exponents: it grows like N^1",
    ),
    (
        "default: 0.5, range",
        "default: 50, range",
        "entry.yaml:7:6: parameters.u: default 50.0 lies outside range [0.01, 10.0]",
    ),
    (
        "default: 0.5, range",
        "default: .nan, range",
        "entry.yaml:7:40: parameters.u.default: non-finite number nan is not allowed",
    ),
    (
        "      kind: closed_form\n",
        "      kind: closed_forms\n",
        "entry.yaml:13:13: losses.train.formula.kind: unknown formula kind 'closed_forms'; 'kind' must be one of: closed_form, spectral_integral, ode, ode_family, none",
    ),
    (
        "      kind: closed_form\n",
        "",
        "entry.yaml:13:7: losses.train.formula: missing 'kind' (one of: closed_form, spectral_integral, ode, ode_family, none)",
    ),
    (
        "clock: {name: t, definition: t}",
        "clock: {name: t, definition: t**2}",
        "entry.yaml:8:30: clock.definition: the clock must be an increasing affine function of t (e.g. t / alpha)",
    ),
    (
        "in: d / k + d / n}",
        "in: d / k + d / q}",
        "entry.yaml:19:40: convergence.in: unknown name 'q' (known: d, k, n, sigma2, u, pi)",
    ),
    (
        "expression: 0.5 * (1 - u)**2 / D**2",
        "expression: log(-u) + 0 * D",
        "entry.yaml:13:7: losses.train.formula: evaluates to nan at t = 0.01 with u=0.5",
    ),
    (
        "  ladder: [8, 16]",
        "  ladder: [16, 8]",
        "entry.yaml:22:11: validation.ladder: ladder must be strictly increasing",
    ),
    (
        "id: ld-mf",
        "id: LD MF",
        "entry.yaml:1:5: id: String should match pattern '^[a-z0-9][a-z0-9+\\-]*$'",
    ),
    (
        "    quantity: L_train / d",
        "    quantity: L_train / dd",
        "entry.yaml:11:25: losses.train.quantity: unknown name 'dd'",
    ),
    (
        "  seeds: 2\n",
        "  seeds: 2\n  seeds: 3\n",
        "entry.yaml:24:3: validation.seeds: duplicate key 'seeds' (first defined on line 23)",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), MUTATIONS)
def test_bad_entries_give_one_located_message(tmp_path, old, new, message):
    assert old in GOOD
    errors = errors_of(tmp_path, GOOD.replace(old, new, 1))
    assert any(e.startswith(message) for e in errors), errors


RAW = [
    (b"", "entry.yaml:1:1: empty file"),
    (b"\xff\xfe\x00", "entry.yaml:1:1: not valid UTF-8"),
    (
        b"id: x\nfoo: !!python/object/apply:os.system ['true']\n",
        "entry.yaml:2:6: foo: YAML tag tag:yaml.org,2002:python/object/apply:os.system is not allowed",
    ),
    (
        b"x: !!binary aGVsbG8=\n",
        "entry.yaml:1:4: x: YAML tag tag:yaml.org,2002:binary is not allowed",
    ),
    (b"a: &a [1, 2]\nb:\n  <<: *a\n", "entry.yaml:3:3: b: merge keys (<<) are not supported"),
    (b"- 1\n- 2\n", "entry.yaml:1:1: expected a mapping"),
    (b"id: x\n---\nid: y\n", "entry.yaml:3:1: one entry per file"),
    (b"id: [unclosed\n", "entry.yaml:2:1: invalid YAML"),
    (b"a: " + b"[" * 100 + b"]" * 100 + b"\n", "document nested too deeply"),
    (b"a: 1.0e+999\n", "entry.yaml:1:4: a: non-finite number inf is not allowed"),
    (b"a: " + b"9" * 400 + b"\n", "entry.yaml:1:4: a: number too large"),
    (b"id: x\n" + b"k: " + b"x" * 300_000 + b"\n", "larger than"),
]


@pytest.mark.parametrize(("raw", "message"), RAW)
def test_broken_files_give_located_errors(tmp_path, raw, message):
    errors = errors_of(tmp_path, raw)
    assert any(message in e for e in errors), errors


def test_alias_bomb_is_bounded(tmp_path):
    lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i, name in enumerate("bcdefgh"):
        prev = "abcdefgh"[i]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    errors = errors_of(tmp_path, "\n".join(lines) + "\n")
    assert any("document too large after alias expansion" in e for e in errors)


def test_catalog_keeps_good_entries_and_reports_bad_and_duplicate_ones(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)  # duplicate id
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yaml").write_text("id: [")
    (tmp_path / "sub" / "d.yaml").write_text(GOOD.replace("id: ld-mf", "id: other"))
    cat = load_catalog(tmp_path)
    assert sorted(cat.entries) == ["ld-mf", "other"]
    messages = [str(p) for p in cat.problems]
    assert any("duplicate id 'ld-mf'" in m and "a.yaml:1:5" in m for m in messages), messages
    assert any("c.yaml" in m and "invalid YAML" in m for m in messages), messages


def test_python_api_from_data():
    import yaml

    data = yaml.safe_load(GOOD)
    entry = entry_from_data(data, "api")
    assert entry.id == "ld-mf"
    data["parameters"]["u"]["default"] = "lots"
    with pytest.raises(CatalogError, match=r"api:.*parameters\.u\.default: Input should be a valid number"):
        entry_from_data(data, "api")


def test_out_of_range_and_unknown_parameters_on_predict(tmp_path):
    from prismcat.errors import PrismcatError

    entry = load_text(tmp_path, GOOD)
    with pytest.raises(PrismcatError, match=r"u = 20 lies outside its range \[0.01, 10\]"):
        entry.predict(np.array([0.0]), {"u": 20})
    with pytest.raises(PrismcatError, match="unknown parameter 'alpha'"):
        entry.predict(np.array([0.0]), {"alpha": 1})


def test_json_schema_is_complete():
    schema = entry_json_schema()
    text = json.dumps(schema)
    for kind in ["closed_form", "spectral_integral", "ode", "ode_family", "none"]:
        assert kind in text
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) >= {
        "id",
        "title",
        "summary",
        "cell",
        "scaling",
        "losses",
        "convergence",
    }
    assert "validation" not in schema["required"]  # designed when left out; its fields are overrides
