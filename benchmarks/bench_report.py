"""Report-writing speed: python benchmarks/bench_report.py [RESULTS_JSON] [--before REF] [--repeat N].

Times, from a saved ``results.json`` (no simulation), what ``prismcat validate --report`` spends
after validating: the prism figure, the entry figures (one per entry with simulations), and the
whole write of report.html + report.md + results.json, in one process and with the default
number of drawing processes. Every measurement runs in a fresh interpreter, as the report is
written by a fresh ``prismcat validate`` (matplotlib imported on first use, empty caches); the
best of ``--repeat`` runs is shown. ``--before REF`` times the report code of that git revision
(e.g. the commit before the report was made cheap) on the same input, for a before/after table.

RESULTS_JSON defaults to report/results.json (``prismcat validate --report report``); without
one, the two-entry test catalogue is validated (seconds) and its entries repeated to a
catalogue-sized report. Target: the whole catalogue's report (21 entries) written in <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "tests" / "data" / "small_catalog"

_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
mode, results, catalog_dir, out, workers = sys.argv[1:6]
sys.path[:0] = sys.argv[6:]
import prismcat
records = json.loads(open(results).read())
catalog = prismcat.load_catalog(catalog_dir or None)
if mode.startswith("before"):
    from oldreport import figures, write
else:
    from prismcat import figures
    from prismcat.report import write
res = {"setup_s": time.perf_counter() - t0}
if mode.endswith("figures"):
    t = time.perf_counter(); figures.prism_png({}); res["prism_cold_s"] = time.perf_counter() - t
    t = time.perf_counter(); figures.prism_png({}); res["prism_s"] = time.perf_counter() - t
    drawer = getattr(figures, "EntryFigures", lambda: None)()
    times = []
    for rec in records["entries"]:
        entry = catalog.entries.get(rec["id"])
        clock = entry.clock_name if entry else "t"
        q = {loss: entry.spec_quantity(loss) for loss in ("train", "population")} if entry else {}
        t = time.perf_counter()
        data = drawer.png(rec, clock, q) if drawer is not None else figures.entry_png(rec, clock, q)
        if data is not None:
            times.append(time.perf_counter() - t)
    res["entry_s"] = times
else:
    t = time.perf_counter()
    if mode == "before-write":
        from prismcat.files import write_atomic
        write_atomic(out + "/results.json", write.results_json(records))
        write_atomic(out + "/report.md", write.markdown(records))
        write_atomic(out + "/report.html", write.html_report(records, catalog))
    else:
        write.write_records(records, catalog, out, workers=int(workers) if workers else None)
    res["write_s"] = time.perf_counter() - t
    if mode == "after-write":
        res["procs"] = figures._workers(int(workers) if workers else None, len(records["entries"]))
print("RESULT " + json.dumps(res))
"""


def child(mode: str, results: Path, catalog: str, workers: str = "", path: str = "") -> dict:
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-c", _CHILD, mode, str(results), catalog, out, workers]
        cmd += [path] if path else []
        env = {k: v for k, v in os.environ.items() if k != "PRISMCAT_REPORT_WORKERS"}
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def best(mode: str, repeat: int, *args: str) -> dict:
    runs = [child(mode, *args) for _ in range(repeat)]
    keys = set().union(*runs)
    out = {}
    for k in keys:
        values = [r[k] for r in runs]
        if isinstance(values[0], list):  # per-entry times: best run by total
            out[k] = min(values, key=sum)
        else:
            out[k] = min(values)
    return out


def old_package(ref: str, into: Path) -> Path:
    """The report code of git revision ``ref`` as an importable package ``oldreport``."""
    pkg = into / "oldreport"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name in ("figures", "prism_figure", "write"):
        src = subprocess.run(
            ["git", "show", f"{ref}:prismcat/report/{name}.py"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (pkg / f"{name}.py").write_text(
            src.replace("prismcat.report.", "oldreport.").replace(
                "from prismcat.report import figures", "from oldreport import figures"
            )
        )
    return into


def small_results(entries: int, into: Path) -> Path:
    """Validate the two-entry test catalogue; repeat its entries ``entries`` times over."""
    from prismcat.catalog import load_catalog
    from prismcat.validation.cache import DiskCache
    from prismcat.validation.records import to_records
    from prismcat.validation.runner import validate

    v = validate(load_catalog(SMALL), backend="numpy", cache=DiskCache(into / "cache"), progress=False)
    records = to_records(v)
    base = records["entries"]
    records["entries"] = [base[i % len(base)] for i in range(entries)]
    path = into / "results.json"
    path.write_text(json.dumps(records))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="?", type=Path, help="a results.json (default: report/results.json)")
    ap.add_argument("--catalog", default="", help="the catalogue of those results (default: packaged)")
    ap.add_argument("--before", metavar="REF", help="also time the report code of this git revision")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each measurement; the best is shown")
    ap.add_argument("--entries", type=int, default=21, help="entries of the generated results (no file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, tmp: Path) -> None:
    results, catalog = args.results, args.catalog
    if results is None:
        results = REPO / "report" / "results.json"
        if not results.exists():
            print(f"no {results}: validating {SMALL.relative_to(REPO)}, entries repeated to {args.entries}")
            results, catalog = small_results(args.entries, tmp), str(SMALL)
    records = json.loads(results.read_text())
    n_entries = len(records["entries"])
    n_figures = sum(bool(e["sizes"]) for e in records["entries"])
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    t0 = time.perf_counter()
    after = best("after-figures", args.repeat, results, catalog)
    after.update(best("after-write", args.repeat, results, catalog, "1"))
    auto = best("after-write", args.repeat, results, catalog, "")
    after["write_auto_s"], procs = auto["write_s"], auto["procs"]
    before = None
    if args.before:
        path = str(old_package(args.before, tmp))
        before = best("before-figures", args.repeat, results, catalog, "", path)
        before.update(best("before-write", args.repeat, results, catalog, "", path))

    def row(label: str, key: str, fn=lambda v: v) -> None:
        a = f"{fn(after[key]):9.3f}" if key in after else f"{'-':>9}"
        b = f"{fn(before[key]):9.3f}" if before and key in before else f"{'-':>9}"
        ratio = (
            f"{fn(before[key]) / fn(after[key]):7.1f}x" if before and key in before and key in after else ""
        )
        print(f"{label:48s}{a}{b}{ratio}")

    print(
        f"\n{results} ({n_entries} entries): {n_figures} entry figures + the prism = "
        f"{n_figures + 1} figures; {cpus} CPUs; best of {args.repeat}"
    )
    print(f"{'seconds':48s}{'after':>9}{'before' if before else '':>9}")
    row("prism figure (first, with matplotlib import)", "prism_cold_s")
    row("prism figure", "prism_s")
    row("entry figure, mean", "entry_s", statistics.fmean)
    row("entry figure, slowest", "entry_s", max)
    row("entry figures, all", "entry_s", sum)
    if before:
        before["write_one_s"] = before["write_s"]
    after["write_one_s"] = after["write_s"]
    row("whole HTML+MD+JSON write, 1 process", "write_one_s")
    row(f"whole HTML+MD+JSON write, default ({procs} processes)", "write_auto_s")
    if before:
        ratio = before["write_s"] / after["write_auto_s"]
        print(f"{'whole write, before / after (default)':48s}{'':9s}{'':9s}{ratio:7.1f}x")
    took = time.perf_counter() - t0
    print(f"(load and catalogue setup per process: {after['setup_s']:.2f} s; benchmark {took:.0f} s)")


if __name__ == "__main__":
    main()
