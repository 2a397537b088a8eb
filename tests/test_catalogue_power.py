"""The packaged catalogue's validation has the power it claims (quick profile, numpy backend).

One quick validation of the whole catalogue (about two minutes on two cores, simulated once for
the module and cached) serves every test here:

- every entry passes, and the extrapolation states a resolution for every loss with a formula;
- at delta = 5% every perturbation of every entry (each loss's amplitude +-5%, its clock
  stretched +-5%) is caught by the experiment checks alone, unless the entry declares in its YAML
  that it cannot resolve 5% (and then the run honours the declaration);
- at delta = 2% the same holds for every face;
- gross errors fail: a formula 10% off, a declared rate twice the true one.

The thorough profile (about ten minutes on two cores) runs with PRISMCAT_THOROUGH=1: there every
entry must resolve 2% or declare what it can resolve, and its open findings must still show.
"""

from __future__ import annotations

import dataclasses
import os

import pytest

from prismcat.validation import policy
from prismcat.validation.cache import DiskCache
from prismcat.validation.check import checkers, run_checkers
from prismcat.validation.power import power
from prismcat.validation.runner import validate

# one worker runs the module, so its session-scoped validation is simulated once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("packaged-catalogue")]

THOROUGH = os.environ.get("PRISMCAT_THOROUGH") == "1"


# session-scoped: a worker may interleave another group's tests with these, which would tear a
# module-scoped fixture down and simulate the catalogue again
@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("catalogue-cache")


@pytest.fixture(scope="session")
def quick(catalog, cache_dir):
    return validate(catalog, cache=DiskCache(cache_dir), progress=False)


@pytest.mark.slow
def test_the_packaged_catalogue_passes_and_states_its_resolution(quick):
    bad = [(r.entry.id, r.message) for r in quick.runs if r.status != "pass"]
    assert not bad, bad
    for run in quick.runs:
        if not run.entry.has_limit or not run.settings.achievable["extrapolate"]:
            continue
        ex = next(c for c in run.checks if c.checker == "extrapolation")
        for loss in run.measurements[0].losses:
            assert "resolution" in ex.headline[loss], (run.entry.id, loss)


def _power(catalog, cache_dir, delta, ids=None, profile="quick"):
    return power(catalog, ids, delta=delta, profile=profile, cache=DiskCache(cache_dir), progress=False)


@pytest.mark.slow
def test_every_five_percent_perturbation_is_caught_or_declared_out_of_reach(quick, catalog, cache_dir):
    report = _power(catalog, cache_dir, 0.05)
    assert report.ok, report.table()
    assert report.outcomes and all("consistency" not in o.caught_by for o in report.outcomes)
    caught = sum(o.caught for o in report.outcomes)
    assert caught >= len(report.outcomes) // 2, report.table()  # the declarations are the exception


@pytest.mark.slow
def test_every_face_resolves_two_percent_or_declares_why_not(quick, catalog, cache_dir):
    faces = [e.id for e in catalog if e.cell.kind == "face" and e.has_limit]
    report = _power(catalog, cache_dir, 0.02, faces)
    assert report.ok, report.table()


@pytest.mark.slow
def test_gross_errors_fail(quick, catalog, cache_dir):
    report = _power(catalog, cache_dir, 0.10)
    assert report.ok, report.table()
    # a declared rate twice the true one fails the rate test wherever it can resolve a rate error of 1
    registry = {"convergence": checkers()["convergence"]}
    for run in quick.runs:
        st = run.settings
        if not run.entry.has_limit or not st.achievable["extrapolate"]:
            continue
        if (st.achievable["rate"] or policy.TARGET_RATE_RESOLUTION) > 1.0:
            continue
        doubled = (2 * st.rate_terms[0], *st.rate_terms[1:])
        wrong = dataclasses.replace(run, settings=dataclasses.replace(st, rate_terms=doubled))
        (result,) = run_checkers(registry, run.entry, catalog, wrong)
        assert result.status == "fail", (run.entry.id, result.message)


# What the thorough profile finds and nobody has explained yet (see the entry's convergence note):
# asserted to fail, so that a fix shows up here instead of passing unnoticed.
THOROUGH_FINDINGS = {
    "large-data+narrow-latent+free": "the time constant looks",
    # on its pinned ladder N = 2 .. 16 with 64 seeds the train loss's rate is 0.65 +- 0.04 (declared
    # 1) at both designed points; the same before and after design rule 4 weighed seeds against
    # height (the ladder is the entry's): an effective rate of tiny sizes, not yet explained
    "small-data+mean-field": "from the declared rate",
}


@pytest.mark.skipif(not THOROUGH, reason="the thorough profile takes ~10 minutes: set PRISMCAT_THOROUGH=1")
def test_the_thorough_profile_resolves_two_percent_or_declares_why_not(catalog, cache_dir):
    v = validate(catalog, profile="thorough", cache=DiskCache(cache_dir), progress=False)
    bad = {r.entry.id: r.message for r in v.runs if r.status != "pass"}
    assert set(bad) == set(THOROUGH_FINDINGS), bad
    for entry_id, words in THOROUGH_FINDINGS.items():
        assert words in bad[entry_id], bad[entry_id]
    ids = [e.id for e in catalog if e.has_limit and e.id not in THOROUGH_FINDINGS]
    report = _power(catalog, cache_dir, 0.02, ids, profile="thorough")
    assert report.ok, report.table()
