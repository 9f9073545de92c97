"""What a step costs the host: the skeleton models where their arithmetic is negligible.

On a GPU, a training step of a skeleton model at the sizes of a small dataset is bound by the
host: every operator goes through Python, autograd and the dispatcher, and each kernel is
launched, while the device finishes it in microseconds (ST-GCN at MSR Action3D's size, eager
on an H200: 17 ms of wall time for 2.4 ms of GPU work). That cost hardly depends on the
tensors' sizes, so it can be measured on any machine by running the models with the papers'
block plan (ten blocks, the same strides and residual maps) at 16 channels in every block
(the narrowest width at which the spatial aggregation takes its full-width path; the point-wise
maps, which a CPU sends to oneDNN above a size, take torch's path here, as on a GPU) on two
short two-person samples: what is left of a step's time there is the dispatch of its operators,
autograd's bookkeeping and the Python of the layers, including their custom autograd
functions (each costs the host some 30 µs a call, as much as a dozen views).

``python -m pyg_action.bench.host`` times an inference forward and a training step (gradients
reset, forward, cross-entropy loss, backward; no optimiser) of each sparse model and its dense
reference so, fp32 and bf16 autocast, equal and mixed lengths, interleaved, and counts the
operators each dispatches, split into views (a new header for the same memory) and the rest,
which read or write memory (:class:`~.opcount.OpCount`). On a CPU it estimates the eager,
launch-bound regime of the GPU tables, up to the few operators whose arithmetic is not
negligible even here on a CPU (a ``(V V K, S)`` matrix-vector product per block is 13 µs in
fp32 and 40 µs in bf16 on one core); with ``--device cuda`` it measures that regime directly.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any

import torch

from ..nn.backend import DEVICE_PATH, use_backend
from .opcount import count_ops, skeleton_step, training_step
from .timing import interleaved_times, medians

#: Every model's block widths: the papers' ten blocks, 16 channels each.
NARROW_CHANNELS = (16,) * 10
#: The samples: two persons, NTU-25, a few frames each.
LENGTHS = {"equal": [4, 4], "mixed": [4, 3]}
MODELS = ("stgcn", "shiftgcn", "stgcnpp", "ctrgcn")
DTYPES = {"float32": None, "bfloat16": torch.bfloat16}
MODES = ("inference", "train")


def _step(
    model: torch.nn.Module,
    inputs: Any,
    labels: torch.Tensor,
    dtype: torch.dtype | None,
    mode: str,
) -> Callable[[], None]:
    """For ``mode="train"`` a :func:`~.opcount.training_step` (autocast to ``dtype`` when
    given); for ``"inference"`` the forward of the model in evaluation mode, without
    gradients."""
    device = labels.device.type

    @torch.no_grad()
    def infer() -> None:
        with torch.autocast(device, dtype=dtype, enabled=dtype is not None):
            model(inputs)

    model.train(mode == "train")
    return training_step(model, inputs, labels, dtype) if mode == "train" else infer


def host_row(
    name: str,
    lengths: Sequence[int],
    dtype: torch.dtype | None,
    mode: str,
    device: torch.device,
    repeats: int = 30,
) -> dict[str, Any]:
    """Median seconds of a training step (``mode="train"``) or an inference forward
    (``"inference"``) of model ``name`` and of its dense reference on the batch padded to its
    longest sample, and the operators each dispatches."""
    setup = skeleton_step(name, list(lengths), channels=NARROW_CHANNELS).to(device)
    forms = {"sparse": (setup.sparse, setup.batch), "dense": (setup.dense, setup.padded)}
    with use_backend(**DEVICE_PATH):  # the device path, as the GPU runs it
        runs = {
            form: _step(model, inputs, setup.labels, dtype, mode)
            for form, (model, inputs) in forms.items()
        }
        for run in runs.values():
            run()  # per-shape caches warm before counting
        counts = {form: count_ops(run) for form, run in runs.items()}
        seconds = medians(interleaved_times(runs, warmup=3, repeats=repeats, device=device))
    row: dict[str, Any] = {
        "model": name,
        "lengths": list(lengths),
        "dtype": "float32" if dtype is None else str(dtype).removeprefix("torch."),
        "mode": mode,
        "ratio": seconds["sparse"] / seconds["dense"],
    }
    for form in forms:
        row[f"{form}_ms"] = seconds[form] * 1e3
        row[f"{form}_ops"] = counts[form].total
        row[f"{form}_views"] = counts[form].total_views
    return row


def format_row(row: dict[str, Any]) -> str:
    """One line of the printed table."""
    batch = "equal" if len(set(row["lengths"])) == 1 else "mixed"
    return (
        f"{row['model']:9s} {row['mode']:9s} {row['dtype']:9s} {batch:6s} {row['sparse_ms']:8.2f} "
        f"{row['dense_ms']:8.2f} {row['ratio']:6.2f}   "
        f"{row['sparse_ops'] - row['sparse_views']:5d} / {row['sparse_views']:4d}   "
        f"{row['dense_ops'] - row['dense_views']:5d} / {row['dense_views']:4d}"
    )


HEADER = (
    "model     mode      dtype     batch  sparse ms dense ms  ratio   sparse work/views  "
    "dense work/views"
)


def main(argv: Sequence[str] | None = None) -> None:
    """Print (and with ``--out`` write) the host cost of every model's inference forward and
    training step, row by row as each is measured."""
    parser = argparse.ArgumentParser(prog="python -m pyg_action.bench.host", description=__doc__)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (torch)")
    parser.add_argument("--out", help="JSON file for the rows")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rows = []
    print(HEADER)
    for name in args.models.split(","):
        for mode in MODES:
            for dtype in DTYPES.values():
                for lengths in LENGTHS.values():
                    rows.append(host_row(name, lengths, dtype, mode, device, args.repeats))
                    print(format_row(rows[-1]), flush=True)
    if args.out:
        result = {
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "channels": list(NARROW_CHANNELS),
            "rows": rows,
        }
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
