"""What ``import prismcat`` costs, from one run: the median wall time of a fresh interpreter
importing prismcat (and a plugin's ``from prismcat import hookimpl``), minus that of a bare
interpreter, and which heavy libraries each import loads.

    python benchmarks/bench_import.py                    # this checkout
    python benchmarks/bench_import.py --baseline DIR     # and a checkout of an older version

The target (docs/architecture.md) is under 0.1 s, loading neither pydantic nor scipy.
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
NEUTRAL = tempfile.gettempdir()  # run from outside any checkout, so "-c" finds the one asked for
TARGET_S = 0.1
HEAVY = ("pydantic", "scipy", "numpy", "yaml", "matplotlib")
STATEMENTS = {
    "import prismcat": "import prismcat",
    "from prismcat import hookimpl": "from prismcat import hookimpl",
    "prismcat.load_catalog (first use)": "import prismcat; prismcat.load_catalog",
}


def env_for(root: Path) -> dict[str, str]:
    return dict(os.environ) if root == REPO else {**os.environ, "PYTHONPATH": str(root)}


def seconds(code: str, env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=NEUTRAL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def loaded(code: str, env: dict[str, str]) -> list[str]:
    probe = (
        f"{code}\nimport sys, json, prismcat; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules] + [prismcat.__file__]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, check=True, capture_output=True, text=True, cwd=NEUTRAL
    )
    assert out.stdout.strip()
    *mods, where = json.loads(out.stdout.strip().splitlines()[-1])
    assert where.startswith(str(REPO if env is None else env.get("PYTHONPATH") or REPO)), where
    return mods


def measure(root: Path, repeat: int) -> dict[str, tuple[float, list[str]]]:
    env = env_for(root)
    bare = seconds("pass", env, repeat)
    return {name: (seconds(code, env, repeat) - bare, loaded(code, env)) for name, code in STATEMENTS.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="a checkout of an older prismcat to compare with")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    now = measure(REPO, args.repeat)
    before = measure(args.baseline.resolve(), args.repeat) if args.baseline else None
    print(
        f"{'statement':36} {'this (s)':>9} {'loads':28}"
        + (f" {'baseline (s)':>12} {'loads':28} ratio" if before else "")
    )
    for name, (s, mods) in now.items():
        line = f"{name:36} {s:9.3f} {', '.join(mods) or '-':28}"
        if before:
            b, bmods = before[name]
            line += f" {b:12.3f} {', '.join(bmods) or '-':28} {b / max(s, 1e-4):5.1f}x"
        print(line)
    s, mods = now["import prismcat"]
    ok = s < TARGET_S and not {"pydantic", "scipy"} & set(mods)
    print(
        f"target: import prismcat under {TARGET_S} s without pydantic or scipy: {'met' if ok else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
