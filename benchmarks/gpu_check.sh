#!/usr/bin/env bash
# Validate the catalogue at the `thorough` profile on a GPU machine with the torch and jax
# simulators, in float64 and float32, and print the throughput of each run.
#
#   bash benchmarks/gpu_check.sh [ENTRY ...]      # default: the whole catalogue
#
# Installs into .venv-gpu (CUDA builds of torch and jax from PyPI), then for each (backend, dtype)
# runs `prismcat validate --profile thorough` into gpu-report/<backend>-<dtype>/ and prints: wall
# time, simulated problems (seeds x sizes), problems per second, and the validation verdicts.
# float32 halves memory and doubles throughput, but entries whose normalised quantity divides a
# small loss change by a tiny scale (the linear-response edges and vertices, (L - L0)/(sigma2 d k))
# lose their digits there: their float32 verdicts are expected to fail and are reported, not hidden.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-report}
mkdir -p "$OUT"
if [ ! -x .venv-gpu/bin/python ]; then
    python3 -m venv .venv-gpu
    .venv-gpu/bin/pip install -q --upgrade pip
    .venv-gpu/bin/pip install -q torch torchdiffeq "jax[cuda12]" diffrax
    .venv-gpu/bin/pip install -q -e ".[dev]"   # numpy, torch and jax backends are built in
fi
. .venv-gpu/bin/activate
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
prismcat backends
export PRISMCAT_BLAS_THREADS=0   # host-side eigendecompositions may use every core here
printf "\n%-8s %-8s %10s %10s %12s %s\n" backend dtype wall_s problems problems/s verdicts
for backend in torch jax; do
    for dtype in float64 float32; do
        dir="$OUT/$backend-$dtype"
        start=$(date +%s.%N)
        prismcat validate "$@" --profile thorough --backend "$backend" --dtype "$dtype" \
            --report "$dir" --cache-dir "$OUT/cache" --no-progress > "$dir.log" 2>&1
        end=$(date +%s.%N)
        python3 - "$dir/results.json" "$start" "$end" "$backend" "$dtype" <<'PY'
import json, sys
path, start, end, backend, dtype = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
try:
    data = json.load(open(path))
except OSError:
    print(f"{backend:8s} {dtype:8s} {'-':>10s} {'-':>10s} {'-':>12s} no results (see the log)")
    sys.exit(0)
wall = end - start
problems = sum(e["settings"].get("seeds", 0) * len(e["sizes"]) for e in data["entries"])
s = data["summary"]
print(f"{backend:8s} {dtype:8s} {wall:10.1f} {problems:10d} {problems / wall:12.2f} "
      f"{s['passed']} pass, {s['failed']} fail, {s['errors']} error")
for e in data["entries"]:
    if e["status"] != "pass":
        print(f"    {e['id']}: {e['status']}: {e['message'][:140]}")
PY
    done
done
