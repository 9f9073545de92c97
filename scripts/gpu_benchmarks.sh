#!/usr/bin/env bash
# The GPU checks and tables: the CUDA tests (every operator and model on CUDA against CPU,
# training and the benchmark commands on CUDA), then BENCHMARKS.md's commands with
# --device cuda, writing benchmarks/cuda_*.json and docs/img/bench_cuda_*.png.
# Run from the repository root on a machine where torch sees a CUDA device:
#   bash scripts/gpu_benchmarks.sh            # everything
#   bash scripts/gpu_benchmarks.sh --no-tests # the tables only
# Without an installed toolkit (a checkout beside a PyTorch that already has torch-geometric),
# the package is taken from the checkout and `pyg-action` is `python3 -m pyg_action`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pyg-action > /dev/null; then
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
  pyg-action() { python3 -m pyg_action "$@"; }
fi
python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'torch sees no CUDA device')"
tests_failed=0
if [[ "${1:-}" != "--no-tests" ]]; then  # a failure is reported at the end; the tables still run
  python3 -m pytest -q -rs tests/test_cuda.py || tests_failed=1
fi
mkdir -p benchmarks docs/img
python3 -m pyg_action.bench.shift --device cuda --traced --repeats 20 > benchmarks/cuda_shift.json
pyg-action benchmark --device cuda --operators all --models none --shape ntu25-T100 \
  --shape ntu25-T300 --shape openpose18-T150 --shape msr20-real --shape vig-14x14 --repeats 10 \
  --out benchmarks/cuda_operators.json --plot docs/img/bench_cuda_operators.png
pyg-action benchmark --device cuda --operators none --models all --shape ntu25-T300 \
  --shape ntu25-T100 --shape openpose18-T150 --shape msr20-real --shape vig-14x14 --repeats 10 \
  --out benchmarks/cuda_models.json --plot docs/img/bench_cuda_models.png
pyg-action benchmark --device cuda --sweep batch --repeats 5 \
  --out benchmarks/cuda_sweep_batch.json --plot docs/img/bench_cuda_sweep_batch.png
pyg-action benchmark --device cuda --sweep graph --repeats 5 \
  --out benchmarks/cuda_sweep_graph.json --plot docs/img/bench_cuda_sweep_graph.png
echo "wrote benchmarks/cuda_*.json and docs/img/bench_cuda_*.png"
if ((tests_failed)); then
  echo "tests/test_cuda.py FAILED (output above): check the tables against it" >&2
  exit 1
fi
