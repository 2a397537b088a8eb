"""Repository-wide pytest configuration: how pytest-xdist shares the test modules out.

A few modules share one expensive session or module fixture (a whole catalogue validated once, a
site built once): their tests must run on one worker, or each worker would build it again. pytest-xdist's own
``xdist_group`` marks do that under ``--dist loadgroup``, but pytest-xdist 3.8 labels the grouped
tests by assigning ``item._nodeid``, which pytest 9.2 no longer reads, so the marks are silently
ignored there. The scheduler below groups by module for the modules that carry the mark (found
from the test ids, which every pytest version gives the controller); every other test is
scheduled one by one, as ``loadgroup`` does.
"""

from __future__ import annotations

import pytest

# modules whose tests share an expensive session or module fixture (the first two also carry
# pytestmark = xdist_group(...), for readers and for pytest-xdist versions that honour it)
SHARED_FIXTURE_MODULES = (
    "tests/test_catalogue_power.py",
    "plugins/prismcat_cp/tests/test_catalogue.py",
    # module-scoped fixtures (a site built, a catalogue validated): built once, not once per worker
    "tests/test_site.py",
    "tests/test_design.py",
    "tests/test_hostile.py",
    "tests/test_report_speed_and_content.py",
    "tests/test_cache_corpus.py",
    "tests/test_scale_out.py",
    "tests/test_plugin_tutorials.py",
    "tests/test_face_formulas.py",
)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling  # only with pytest-xdist installed

    class ModuleGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if module in SHARED_FIXTURE_MODULES:
                return module
            return nodeid.rsplit("@", 1)[-1] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid

    return ModuleGroups(config, log)
