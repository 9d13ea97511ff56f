#!/usr/bin/env bash
# One script for the GPU checks (docs/benchmarks.md, "GPU"): run it from the repository root on
# a machine with one GPU and the workflow's environment (.venv with a CUDA build of TensorFlow,
# or envs/train-gpu.yaml). It needs about 8 minutes on one GPU:
#   1. samples/s of deepsea, basset and danq at published sizes: float32, mixed float16 and
#      mixed bfloat16, each with XLA off and on; the HDF5 loader alone against the train step
#      (bench/bench_device.py);
#   2. a short training of the chrX real-data config's published-size models
#      (config/encode_dream_chrX/gpu.yaml, 1 epoch each), time per epoch from history.tsv.
# Without a GPU it says so and exits 0, skipping everything (its CPU fallback, tested in
# tests/test_bench.py). Writes results under ${OUT:-gpu_check}/.
#   bash bench/gpu_check.sh            # all checks
#   bash bench/gpu_check.sh --no-chrx  # throughput only (no shared data needed)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
OUT=${OUT:-gpu_check}
CHRX=1
[[ "${1:-}" == "--no-chrx" ]] && CHRX=0

if ! "$PY" -c 'import os; os.environ["TF_CPP_MIN_LOG_LEVEL"]="3"; import sys, tensorflow as tf; sys.exit(0 if tf.config.list_physical_devices("GPU") else 1)' 2>/dev/null; then
  echo "no GPU found (TensorFlow sees none): skipping the GPU checks; GPU rows in docs/benchmarks.md stay 'not yet measured'"
  exit 0
fi
mkdir -p "$OUT"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.csv"

echo "== 1. train-step throughput, precisions x XLA, loader vs step"
"$PY" bench/bench_device.py --batches 30 --json "$OUT/throughput.json" | tee "$OUT/throughput.txt"

if [[ $CHRX == 1 ]]; then
  echo "== 2. chrX real-data config, published sizes, 1 epoch per model"
  CFG=config/encode_dream_chrX/gpu.yaml
  if [[ ! -f $CFG ]]; then
    echo "missing $CFG: skipping the chrX training check" >&2
  else
    start=$(date +%s)
    .venv/bin/snakemake --cores "$(nproc)" --configfile "$CFG" --config train='{epochs: 1}' \
      --until train_model > "$OUT/chrx.log" 2>&1 || { tail -40 "$OUT/chrx.log"; exit 1; }
    echo "chrX prepare+encode+train (1 epoch): $(( $(date +%s) - start )) s"
    for history in results/models/*/history.tsv; do
      echo "$history"; cat "$history"
    done | tee "$OUT/chrx_history.txt"
    tail -n +1 benchmarks/train/train_model.*.tsv | tee "$OUT/chrx_benchmarks.txt"
  fi
fi
echo "done: results in $OUT/"
