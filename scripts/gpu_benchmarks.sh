#!/usr/bin/env bash
# The GPU checks and tables, in one run of under 8 minutes on one GPU; each table is written as
# soon as it is measured, so a run cut short keeps the finished ones. In order of importance:
#   1. the models at the sizes people train with (NTU-25 two persons B=16 T=100 and B=64 T=300,
#      64 samples at MSR Action3D lengths), sparse against the dense references (padded to the
#      batch maximum, and to 300 frames for the real lengths), inference and forward+backward,
#      fp32 and bf16 autocast: benchmarks/cuda_models_<dtype>_<shape>.json;
#   1b. the same models' block plans at 16 channels a block on two short samples, where a step
#      is all launches and dispatch: sparse against dense, eager, inference and training step,
#      fp32 and bf16, equal and mixed lengths (benchmarks/cuda_host_step.json; the CPU's
#      figures of the same command are in benchmarks/cpu_host_step.json);
#   2. batches made on the GPU (`train.device_data`) against the DataLoader's, per epoch, and the
#      share of wall time the GPU is busy in `pyg-action train` with them, CUDA graphs and a
#      checkpoint every 10 epochs (devicedata);
#   3. the same models replayed as CUDA graphs against eager (benchmarks/cuda_graphs.json);
#   4. the share of wall time the GPU is busy during `pyg-action train` (MSR Action3D configs),
#      eager, and with `train.cuda_graphs` (steps replayed as CUDA graphs; graphbusy);
#   5. tests/test_cuda.py: every operator and model on CUDA against CPU, training on CUDA;
#   6. ST-GCN++ and CTR-GCN against their dense references (B=16 T=100 and MSR lengths);
#   7. ViG-Ti 224x224 B=64 as whole models; Shift-GCN against ST-GCN on one input, eager and traced.
# Run from the repository root on a machine where torch sees a CUDA device:
#   MSR_ROOT=/path/to/msr_action3d bash scripts/gpu_benchmarks.sh            # everything
#   MSR_ROOT=/path/to/msr_action3d bash scripts/gpu_benchmarks.sh --no-tests # the tables only
#   ONLY=tests,graphbusy bash scripts/gpu_benchmarks.sh                       # some groups only
# The groups (ONLY, comma-separated), in the order they run: models, host, devicedata, graphs,
# busy, graphbusy, tests, newmodels, vig, shift.
# MSR_ROOT (default data/msr_action3d) holds the aXX_sYY_eZZ_skeleton3D.txt files: their lengths
# drive the real-length rows, and the busy measurement trains on them. BUDGET_S (default 470)
# bounds the whole run: each step gets at most its own limit and what is left of the budget, and
# a step that would start with under 20 s left is skipped (and reported).
# Without an installed toolkit (a checkout beside a PyTorch that already has torch-geometric),
# the package is taken from the checkout.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
python3 -c "import pyg_action" 2> /dev/null || export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
msr_root="${MSR_ROOT:-data/msr_action3d}"
deadline=$((SECONDS + ${BUDGET_S:-470}))
python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'torch sees no CUDA device')" || exit 1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
python3 -c "import torch, torch_geometric as g; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'pyg', g.__version__)"
groups=",${ONLY:-models,host,devicedata,graphs,busy,graphbusy,tests,newmodels,vig,shift},"
failed=()
want() { [[ $groups == *",$1,"* ]]; }
step() {  # step NAME LIMIT_S COMMAND...: run it within its limit, remember NAME if it fails
  local name=$1 limit=$2 left=$((deadline - SECONDS))
  shift 2
  if ((left < 20)); then
    echo "== $name: skipped (budget spent)"
    failed+=("$name (skipped)")
    return
  fi
  ((limit > left)) && limit=$left
  echo "== $name (at most ${limit} s)"
  local started=$SECONDS
  timeout --kill-after=5 "$limit" "$@" || failed+=("$name")
  echo "== $name: $((SECONDS - started)) s"
}
mkdir -p benchmarks docs/img
want models && for dtype in float32 bfloat16; do
  # the main forms only: the message forms of Shift-GCN take ~1 s a step at B=16 and need
  # over 100 GB at B=64, T=300 (their rows of 2026-12-04 are in benchmarks/)
  for shape in ntu25-B16-T100 msr20-real-B64; do
    step "models $dtype $shape" 100 python3 -m pyg_action benchmark --device cuda \
      --operators none --models stgcn,shiftgcn --shape "$shape" --msr-root "$msr_root" \
      --variant block --variant gather --dtype "$dtype" --repeats 10 \
      --out "benchmarks/cuda_models_${dtype}_${shape}.json"
  done
  step "models $dtype ntu25-B64-T300" 100 python3 -m pyg_action benchmark --device cuda \
    --operators none --models stgcn,shiftgcn --shape ntu25-B64-T300 --variant block \
    --variant gather --dtype "$dtype" --repeats 5 \
    --out "benchmarks/cuda_models_${dtype}_ntu25-B64-T300.json"
done
want host && step "host cost of a step" 90 python3 -m pyg_action.bench.host --device cuda \
  --repeats 20 --out benchmarks/cuda_host_step.json
if want devicedata; then
  step "data path stgcn" 40 python3 -m pyg_action.bench.data_path --config configs/msr_stgcn.yaml \
    --data "$msr_root" --device cuda --epochs 5 --out benchmarks/cuda_data_path_msr_stgcn.json
  for model in stgcn shiftgcn; do
    step "busy $model, device data, CUDA graphs" 60 python3 -m pyg_action.bench.busy \
      --config "configs/msr_$model.yaml" --data "$msr_root" --epochs 10 \
      --set train.device_data=true --set train.cuda_graphs=true --set train.checkpoint_every=10 \
      --out "benchmarks/cuda_busy_msr_${model}_graphs_device.json"
  done
fi
want graphs && step "cuda graphs" 90 python3 -m pyg_action.bench.graphs --shape ntu25-B16-T100 \
  --shape msr20-real-B64 --dtype float32 --dtype bfloat16 --msr-root "$msr_root" \
  --out benchmarks/cuda_graphs.json
if want busy; then
  step "busy stgcn" 90 python3 -m pyg_action.bench.busy --config configs/msr_stgcn.yaml \
    --data "$msr_root" --epochs 3 --out benchmarks/cuda_busy_msr_stgcn.json
  step "busy stgcn, 4 workers" 90 python3 -m pyg_action.bench.busy \
    --config configs/msr_stgcn.yaml --data "$msr_root" --epochs 3 --set train.num_workers=4 \
    --out benchmarks/cuda_busy_msr_stgcn_workers4.json
fi
want graphbusy && for run in stgcn:0 stgcn:4 shiftgcn:4; do
  model=${run%:*} workers=${run#*:}
  step "busy $model, CUDA graphs, $workers workers" 60 python3 -m pyg_action.bench.busy \
    --config "configs/msr_$model.yaml" --data "$msr_root" --epochs 3 \
    --set train.cuda_graphs=true --set train.num_workers="$workers" \
    --out "benchmarks/cuda_busy_msr_${model}_graphs_workers$workers.json"
done
if want tests && [[ "${1:-}" != "--no-tests" ]]; then
  step tests/test_cuda.py 150 python3 -m pytest -q -rs --durations=5 -p no:cacheprovider tests/test_cuda.py
fi
want newmodels && for dtype in float32 bfloat16; do
  step "models $dtype ST-GCN++ and CTR-GCN" 90 python3 -m pyg_action benchmark --device cuda \
    --operators none --models stgcnpp,ctrgcn --shape ntu25-B16-T100 --shape msr20-real-B64 \
    --msr-root "$msr_root" --dtype "$dtype" --repeats 10 \
    --out "benchmarks/cuda_models_${dtype}_stgcnpp_ctrgcn.json"
done
want vig && step "vig" 60 python3 -m pyg_action.bench.vig --model ti --img-size 224 --batch-size 64 \
  --device cuda --dtype float32 --dtype bfloat16 --repeats 20 --out benchmarks/cuda_vig.json
want busy && step "busy shiftgcn" 90 python3 -m pyg_action.bench.busy \
  --config configs/msr_shiftgcn.yaml --data "$msr_root" --epochs 3 \
  --out benchmarks/cuda_busy_msr_shiftgcn.json
want shift && step "shift" 60 sh -c 'python3 -m pyg_action.bench.shift --device cuda --traced --no-message --repeats 20 \
  > benchmarks/cuda_shift.json.part && mv benchmarks/cuda_shift.json.part benchmarks/cuda_shift.json'
echo "wrote benchmarks/cuda_*.json"
if ((${#failed[@]})); then
  printf 'FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
