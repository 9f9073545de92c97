#!/usr/bin/env bash
# The GPU checks and tables, in one run of under 8 minutes on one GPU; each table is written as
# soon as it is measured, so a run cut short keeps the finished ones.
#   1. tests/test_cuda.py: every operator and model on CUDA against CPU, training on CUDA;
#   2. the models at the sizes people train with (NTU-25 two persons B=16 T=100 and B=64 T=300,
#      64 samples at MSR Action3D lengths, ViG-Ti 224x224 B=64 as whole models), sparse against
#      the dense references (padded to the batch maximum, and to 300 frames for the real
#      lengths), inference and forward+backward, fp32 and bf16 autocast;
#   3. the share of wall time the GPU is busy during `pyg-action train` (MSR Action3D config);
#   4. Shift-GCN against ST-GCN on one input, eager and traced.
# Run from the repository root on a machine where torch sees a CUDA device:
#   MSR_ROOT=/path/to/msr_action3d bash scripts/gpu_benchmarks.sh            # everything
#   MSR_ROOT=/path/to/msr_action3d bash scripts/gpu_benchmarks.sh --no-tests # the tables only
# MSR_ROOT (default data/msr_action3d) holds the aXX_sYY_eZZ_skeleton3D.txt files: their lengths
# drive the real-length rows, and the busy measurement trains on them.
# Without an installed toolkit (a checkout beside a PyTorch that already has torch-geometric),
# the package is taken from the checkout and `pyg-action` is `python3 -m pyg_action`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pyg-action > /dev/null; then
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
  pyg-action() { python3 -m pyg_action "$@"; }
fi
msr_root="${MSR_ROOT:-data/msr_action3d}"
python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'torch sees no CUDA device')"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
failed=()
step() {  # step NAME COMMAND...: run it, and remember NAME if it fails
  local name=$1
  shift
  "$@" || failed+=("$name")
}
if [[ "${1:-}" != "--no-tests" ]]; then  # a failure is reported at the end; the tables still run
  step tests/test_cuda.py python3 -m pytest -q -rs -x tests/test_cuda.py
fi
mkdir -p benchmarks docs/img
step "models float32" pyg-action benchmark --device cuda --operators none \
  --models stgcn,shiftgcn --shape ntu25-B16-T100 --shape ntu25-B64-T300 --shape msr20-real-B64 \
  --msr-root "$msr_root" --dtype float32 --repeats 10 --out benchmarks/cuda_models_float32.json \
  --plot docs/img/bench_cuda_models_float32.png
step "models bfloat16" pyg-action benchmark --device cuda --operators none \
  --models stgcn,shiftgcn --shape ntu25-B16-T100 --shape ntu25-B64-T300 --shape msr20-real-B64 \
  --msr-root "$msr_root" --dtype bfloat16 --repeats 10 --out benchmarks/cuda_models_bfloat16.json \
  --plot docs/img/bench_cuda_models_bfloat16.png
step "vig" python3 -m pyg_action.bench.vig --model ti --img-size 224 --batch-size 64 \
  --device cuda --dtype float32 --dtype bfloat16 --repeats 20 --out benchmarks/cuda_vig.json
step "busy stgcn" python3 -m pyg_action.bench.busy --config configs/msr_stgcn.yaml \
  --data "$msr_root" --epochs 2 --out benchmarks/cuda_busy_msr_stgcn.json
step "busy shiftgcn" python3 -m pyg_action.bench.busy --config configs/msr_shiftgcn.yaml \
  --data "$msr_root" --epochs 2 --out benchmarks/cuda_busy_msr_shiftgcn.json
step "shift" python3 -m pyg_action.bench.shift --device cuda --traced --repeats 20 \
  > benchmarks/cuda_shift.json
echo "wrote benchmarks/cuda_*.json and docs/img/bench_cuda_*.png"
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]} (output above)" >&2
  exit 1
fi
