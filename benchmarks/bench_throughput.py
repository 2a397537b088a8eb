"""Throughput of the main job, from one run: cold and warm quick validation of the packaged
catalogue, CPU use, the slowest ``predict``, ``prismcat list`` and the per-phase breakdown.

    python benchmarks/bench_throughput.py                    # this checkout
    python benchmarks/bench_throughput.py --baseline DIR     # and a checkout of an older version

``--baseline`` runs the same commands with DIR's ``prismcat`` (and its plugins) first on the
Python path and prints the ratio of every figure. CPU use is measured by sampling every process
of the command's tree from /proc (Linux), so pool workers are counted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")

TARGETS = {
    "cold quick validation (s)": 75.0,
    "warm quick validation (s)": 8.0,
    "predict, slowest entry (ms)": 50.0,
    "prismcat list (s)": 0.5,
    "CPU use, cold run (cores)": 1.8,
}


def env_for(root: Path) -> dict[str, str]:
    if root == REPO:  # this checkout, as installed
        return dict(os.environ)
    paths = [root, *sorted((root / "plugins").glob("prismcat_*"))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths))}


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the whole process tree, stdout) of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    seen: dict[int, float] = {}
    while proc.poll() is None:
        stack = [proc.pid]
        while stack:
            pid = stack.pop()
            cpu = _cpu_seconds(pid)
            if cpu is not None:
                seen[pid] = max(seen.get(pid, 0.0), cpu)
            stack.extend(_children(pid))
        time.sleep(0.1)
    out = proc.stdout.read() if proc.stdout else ""
    return time.perf_counter() - start, sum(seen.values()), out


def predict_ms(env: dict[str, str], cwd: Path) -> tuple[float, str]:
    code = (
        "import time, numpy as np, prismcat\n"
        "from prismcat.validation.design import settings_for\n"
        "cat = prismcat.load_catalog()\n"
        "worst = (0.0, '')\n"
        "for e in (e for e in cat if e.has_limit):\n"
        "    w = settings_for(e)\n"
        "    t = np.linspace(w.start, w.horizon, w.points)  # the entry's own window\n"
        "    e.predict(t, {})\n"
        "    runs = []\n"
        "    for i in range(5):  # new times each call: no cached solution is timed\n"
        "        tt = t * (1 + 1e-4 * (i + 1))\n"
        "        s = time.perf_counter(); e.predict(tt, {}); runs.append(time.perf_counter() - s)\n"
        "    worst = max(worst, (sorted(runs)[2] * 1e3, e.id))\n"
        "print(worst[0], worst[1])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr)
    ms, entry = out.stdout.split()
    return float(ms), entry


def measure(root: Path, label: str) -> dict:
    env = env_for(root)
    cwd = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
    validate = [sys.executable, "-m", "prismcat.cli", "validate", "--no-progress", "--report", "report"]
    cold_wall, cold_cpu, cold_out = run(validate, env, cwd)
    cold = json.loads((cwd / "report" / "results.json").read_text())
    warm_wall, _, warm_out = run(validate, env, cwd)
    results = json.loads((cwd / "report" / "results.json").read_text())
    script = str(Path(sys.executable).with_name("prismcat"))  # the console script a user runs
    walls = [run([script, "list"], env, cwd)[0] for _ in range(5)]
    ms, slowest = predict_ms(env, cwd)
    return {
        "label": label,
        "cold quick validation (s)": cold_wall,
        "warm quick validation (s)": warm_wall,
        "predict, slowest entry (ms)": ms,
        "prismcat list (s)": sorted(walls)[2],
        "CPU use, cold run (cores)": cold_cpu / cold_wall,
        "slowest predict entry": slowest,
        "status": results["status"],
        "phases (cold run)": {**cold["timing"].get("phases_s", {}), "report": _report_s(cold_out)},
        "phases (warm run)": {**results["timing"].get("phases_s", {}), "report": _report_s(warm_out)},
    }


def _report_s(stdout: str) -> float:
    """The report-writing time the CLI prints ('written in X s'), NaN if absent (older versions)."""
    for line in stdout.splitlines():
        if "written in" in line:
            return float(line.rsplit("written in", 1)[1].split()[0])
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=None, help="a checkout of an older prismcat")
    args = parser.parse_args()
    rows = [measure(REPO, "this")]
    if args.baseline:
        rows.insert(0, measure(args.baseline.resolve(), "baseline"))
    print(
        f"\n{os.cpu_count()} cores; validation status: "
        + ", ".join(f"{r['label']} {r['status']}" for r in rows)
    )
    head = ["figure", *(r["label"] for r in rows), *(["ratio"] if len(rows) == 2 else []), "target"]
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for name, target in TARGETS.items():
        cells = [f"{r[name]:.3g}" for r in rows]
        if len(rows) == 2:
            cells.append(f"{rows[1][name] / rows[0][name]:.2f}x")
        bound = ">=" if name.startswith("CPU") else "<="
        print(f"| {name} | " + " | ".join(cells) + f" | {bound} {target:g} |")
    print(f"\nslowest predict: {', '.join(r['label'] + ' ' + r['slowest predict entry'] for r in rows)}")
    for r in rows:
        for run_name in ("cold run", "warm run"):
            phases = r[f"phases ({run_name})"]
            print(
                f"{r['label']}, {run_name} phases (s): "
                + ", ".join(f"{k} {v:.2f}" for k, v in phases.items())
            )


if __name__ == "__main__":
    main()
