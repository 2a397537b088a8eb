"""Running the checkers on one entry, each isolated: an exception, a wrong answer or a hang fails
only that check, with the checker's name in the message."""

from __future__ import annotations

import time

from prismcat.catalog.catalogue import Catalog
from prismcat.catalog.entry import Entry
from prismcat.errors import PluginError
from prismcat.registry import registry
from prismcat.validation.checks import CheckContext, Checker, CheckResult
from prismcat.validation.executors import TaskTimeout, time_limit
from prismcat.validation.outcome import EntryRun


def checkers() -> dict[str, Checker]:
    """Installed checkers by name."""
    return dict(registry().checkers)


def run_checkers(
    registry: dict[str, Checker],
    entry: Entry,
    catalog: Catalog,
    run: EntryRun,
    timeout: float | None = None,
    seconds: dict[str, float] | None = None,
) -> list[CheckResult]:
    """Every applicable checker, each isolated: an exception, a wrong answer or a hang (past
    ``timeout`` seconds) fails only that check, with the checker's name in the message.
    ``seconds`` accumulates each checker's wall time."""
    out = []
    for name, checker in registry.items():
        t0 = time.perf_counter()
        try:
            if not checker.applies(entry, catalog):
                continue
            if checker.needs_simulation and (run.error or not run.measurements):
                continue
            ctx = CheckContext(
                entry, catalog, run.settings, run.measurements if checker.needs_simulation else None
            )
            with time_limit(timeout, f"checker '{name}'"):
                result = checker.check(ctx)
            if not isinstance(result, CheckResult):
                raise PluginError(f"returned {type(result).__name__}, not a CheckResult")
            if result.status not in ("pass", "fail", "error", "skip"):
                raise PluginError(f"returned the status {result.status!r}")
        except TaskTimeout as exc:
            result = CheckResult(name, "error", str(exc))
        except Exception as exc:
            result = CheckResult(name, "error", f"checker '{name}' failed: {type(exc).__name__}: {exc}")
        finally:
            if seconds is not None:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t0
        out.append(result)
    if not any(r.status != "skip" for r in out):
        names = ", ".join(registry) or "none installed"
        out.append(
            CheckResult(
                "validation",
                "error",
                f"no checker applies to {entry.id} (checkers: {names}): nothing would confirm it",
            )
        )
    return out
