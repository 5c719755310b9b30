#!/usr/bin/env bash
# The device checks for a GPU machine, in one go: the CUDA tests, then `altsim bench --device cuda`.
# On the GPU machine, in the repository root:  OUT=gpu-out bash benchmarks/gpu_check.sh
# Logs and the bench's JSON (written after every measurement, so a cut-off run keeps what it measured)
# land in $OUT; benchmarks/RESULTS.md records them.
set -uo pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
# altsim.* from this checkout without installing, where it is not installed (GPU images hold the dependencies)
if ! python3 -c "import altsim.theory" 2>/dev/null; then
    for d in theory synthetic rates figures; do [ -e "altsim/$d" ] || ln -s "../$d" "altsim/$d"; done
fi
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c "import sys, torch, numpy; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'numpy', numpy.__version__)"
  nproc; } > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"
python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_devices.py tests/test_synthetic.py -k cuda \
    2>&1 | tee "$OUT/cuda_tests.log"
timeout "${BENCH_TIMEOUT:-420}" python3 -m altsim bench --device cuda --out "$OUT/results-cuda.json" 2>&1 | tee "$OUT/bench.log"
