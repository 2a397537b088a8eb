"""Consistency: an edge (vertex) entry is the limit of each adjacent face (edge) entry when that
neighbour's parameters are pushed to the extreme; and every pair of adjacent primary entries is
connected by such a relation. Formula-level: no simulation.

The relation is declared on the lower-dimensional entry (schema ``consistency``); this checker
runs it both for the entry that declares it and for the neighbour it points to ("a face entry
must reduce to its edges").
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

import numpy as np

from prismcat.validation import policy
from prismcat.validation.checks import CheckContext, Checker, CheckResult, fit_rate
from prismcat.validation.design import block_value, default_window


def relations_touching(entry, catalog):
    """(lower entry, relation) pairs declared by ``entry`` or pointing at it."""
    out = [(entry, r) for r in entry.relations]
    for other in catalog:
        out += [(other, r) for r in other.relations if r.spec.entry == entry.id and other.id != entry.id]
    return out


def missing_pairs(entry, catalog) -> list[str]:
    """Adjacent primary entries with no relation between them in either direction."""
    if not entry.primary:
        return []
    missing = []
    for cell in entry.geometry.adjacent(entry.cell):
        other = catalog.entries.get(entry.geometry.primary_id(cell))
        if other is None or not other.same_geometry(entry) or not (entry.has_limit and other.has_limit):
            continue
        lower, higher = (entry, other) if other.cell.faces < entry.cell.faces else (other, entry)
        if higher.id in lower.spec.consistency_exemptions:
            continue
        if not any(r.spec.entry == higher.id for r in lower.relations):
            missing.append(f"{lower.id} -> {higher.id}")
    return missing


_MEMO: OrderedDict = OrderedDict()


def evaluate(lower, rel, catalog):
    """Distances between the transformed neighbour and ``lower`` along the approach values.

    A relation is checked for both entries it joins; it is evaluated once. Entries are immutable
    (an edited file loads as a new object), so the memo keys on the objects themselves (kept alive
    in the memo, so their ids are not reused)."""
    higher = catalog.get(rel.spec.entry)
    key = (id(lower), id(higher), id(rel))
    if key in _MEMO:
        _MEMO.move_to_end(key)
        return _MEMO[key][-1]
    result = _evaluate(lower, rel, higher)
    _MEMO[key] = (lower, higher, rel, result)
    while len(_MEMO) > 512:
        _MEMO.popitem(last=False)
    return result


def _points(lower, rel, params):
    """(row label, env) of each evaluation: the approach values, or an exact relation's grid."""
    if rel.spec.approach is not None:
        name = rel.spec.approach.name
        for value in rel.spec.approach.values:
            yield {name: value}, {**params, name: value}
        return
    names = list(rel.spec.grid)
    for values in itertools.product(*(rel.spec.grid[n] for n in names)) if names else [()]:
        chosen = dict(zip(names, values, strict=True))
        yield chosen, {**params, **chosen}


def _evaluate(lower, rel, higher):
    # a relation between formulas needs a parameter point and a window, never a ladder: the
    # entry's pinned point (or its defaults) and its window there, whatever budget the run has
    clock = np.linspace(*default_window(lower), block_value(lower, "quick", "points"))
    params = lower.parameters(lower.spec.validation.parameters)
    rows = []
    for label, values in _points(lower, rel, params):
        target = lower.predict(clock, {k: values[k] for k in params}, check_range=False)
        env = {k: np.float64(v) for k, v in values.items()}
        hp = {k: float(c(env)) for k, c in rel.parameters.items()}
        hclock = (
            clock
            if rel.clock is None
            else np.broadcast_to(rel.clock({**env, lower.clock_name: clock}), clock.shape)
        )
        pred = higher.predict(np.asarray(hclock, dtype=float), hp, check_range=False)
        row = {**label, "small": 0.0 if rel.small is None else float(rel.small(env))}
        for loss, transform in rel.transforms.items():
            mine = getattr(target, loss)
            if transform is None or mine is None:
                continue
            F = getattr(pred, loss)
            if F is None:
                raise ValueError(f"{higher.id} has no {loss} limit")
            local = {**env, "F": F}
            if "F0" in transform.variables:
                zero = rel.clock({**env, lower.clock_name: np.array([0.0])}) if rel.clock else np.array([0.0])
                local["F0"] = getattr(
                    higher.predict(np.atleast_1d(zero).astype(float), hp, check_range=False), loss
                )[0]
            row[loss] = float(np.max(np.abs(np.broadcast_to(transform(local), mine.shape) - mine)))
        rows.append(row)
    return higher, rows


class ConsistencyChecker(Checker):
    name = "consistency"
    description = "an edge/vertex formula equals the limit of its neighbours' formulas"
    needs_simulation = False

    def applies(self, entry, catalog) -> bool:
        return entry.has_limit and bool(relations_touching(entry, catalog) or missing_pairs(entry, catalog))

    def check(self, ctx: CheckContext) -> CheckResult:
        entry, catalog = ctx.entry, ctx.catalog
        ok, parts, details, table = True, [], {}, []
        for lower, rel in relations_touching(entry, catalog):
            higher, rows = evaluate(lower, rel, catalog)
            name = f"{lower.id} <- {higher.id}"
            losses = [k for k in ("train", "population") if k in rows[-1]]
            if rel.spec.exact:  # the same curve everywhere on the grid, to the tolerance
                last = {k: max(r[k] for r in rows) for k in losses}
            else:
                last = {k: rows[-1][k] for k in losses}
            passed = all(v <= rel.spec.tolerance for v in last.values())
            rates = {}
            for k in [] if rel.spec.exact else losses:
                dist = [r[k] for r in rows]
                if all(x > 0 for x in dist):
                    rates[k] = fit_rate([r["small"] for r in rows], dist)[0]
                shrinking = dist[-1] <= dist[0] or dist[0] <= rel.spec.tolerance
                passed &= shrinking
                if rel.spec.rate is not None and k in rates and last[k] > 1e-12:
                    passed &= abs(rates[k] - rel.spec.rate) <= policy.RELATION_RATE_SLACK
            ok &= passed
            details[name] = {
                "distances": rows,
                "rates": rates,
                "tolerance": rel.spec.tolerance,
                "pass": passed,
            }
            table += [{"relation": name, **r} for r in rows]
            shown = ", ".join(f"{k} {v:.2g}" for k, v in last.items())
            if rel.spec.exact:
                shown = f"exact, max distance over {len(rows)} points: {shown}"
            rate_txt = ", ".join(f"{k} rate {v:.2f}" for k, v in rates.items())
            parts.append(
                f"{name}: {shown} (tol {rel.spec.tolerance:g}; {rate_txt}){'' if passed else ' FAILED'}"
            )
        missing = missing_pairs(entry, catalog)
        if missing:
            ok = False
            parts.append("no consistency relation declared for " + ", ".join(missing))
            details["missing"] = missing
        return CheckResult(self.name, "pass" if ok else "fail", "; ".join(parts), details, table)
