#!/usr/bin/env bash
# The GPU check of benchmarks/bench_train.py in one command: real ViT-B/16 architecture (random
# weights), batch 128 (CoCoOp: 1), 50/500/1000 classes, fp16 and amp, ours vs naive side by side.
# Needs a CUDA device; finishes in under 5 minutes (hard limit below). Lines go to stdout and to
# $OUT_FILE (default output/benchmarks/bench_train_gpu.jsonl); extra arguments go to bench_train.py.
#   bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export MOPD_BACKEND="${MOPD_BACKEND:-builtin}"
PYTHON="${PYTHON:-python}"
OUT_FILE="${OUT_FILE:-output/benchmarks/bench_train_gpu.jsonl}"
"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible to torch')"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
timeout --signal=INT 295 "$PYTHON" -W ignore benchmarks/bench_train.py --preset gpu --out "$OUT_FILE" "$@"
