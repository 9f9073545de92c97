"""Whole models replayed as CUDA graphs, against the same work issued eagerly.

An eager step pays the host's cost of issuing every kernel, one by one; a CUDA graph captured
once replays the same kernels with none of that cost. The gap between the two is the overhead
an eager step carries, and the graphed time is what a model costs once the launch overhead is
gone (``torch.compile(mode="reduce-overhead")`` and hand-written graph capture both reach it).

Capture needs a step without host reads (no value-dependent shapes, no ``.item()``), which the
sparse models have (:mod:`.opcount` counts them, ``tests/models/test_device_path.py`` keeps them
at zero). The dense references of ST-GCN, ST-GCN++ and CTR-GCN qualify too; the dense Shift-GCN
reads its learned shifts back to size its padding, so for Shift-GCN the table compares the
sparse model with itself, eager and graphed.

Command line (needs a CUDA device)::

    python -m pyg_action.bench.graphs --shape ntu25-B16-T100 --shape msr20-real-B64 \\
        --dtype float32 --dtype bfloat16 --msr-root /path/to/msr_action3d --out graphs.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from .compare import Comparison
from .models import SKELETON_MODELS
from .shapes import PRESETS, sample_lengths, skeleton_inputs
from .timing import interleaved_times, medians

#: The callables of each model's comparison that capture (see the module docstring).
CAPTURABLE: dict[str, tuple[str, ...]] = {
    "stgcn": ("block", "dense", "dense_pad300"),
    "shiftgcn": ("gather",),
    "stgcnpp": ("block", "dense", "dense_pad300"),
    "ctrgcn": ("refined", "dense", "dense_pad300"),
}
AUTOCAST = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


def captured(run: Callable[[], None], warmup: int = 3) -> Callable[[], None]:
    """``run`` captured once as a CUDA graph; calling the result replays it.

    ``warmup`` eager calls on a side stream come first, as capture requires (lazy
    initialisation, cuBLAS workspaces, autograd's device threads); the graph keeps the memory
    of its tensors (gradients included) in a private pool, so replays allocate nothing.
    """
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(warmup):
            run()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        run()
    return graph.replay


def eager_and_graphed(
    comparison: Comparison, names: Sequence[str], warmup: int, repeats: int
) -> dict[str, dict[str, dict[str, float]]]:
    """Median seconds of every named callable, eager and graphed, per mode.

    Returns:
        ``{mode: {name: {"eager_s", "graph_s", "speedup"}}}`` for ``mode`` in ``forward``
        (no gradient) and ``forward_backward`` (gradients of every parameter).
    """
    for module in comparison.modules:
        module.train()
    forwards = {**comparison.sparse, **comparison.dense}
    device = torch.device("cuda")
    result: dict[str, dict[str, dict[str, float]]] = {}
    for mode, wrap in comparison.modes().items():
        runs: dict[str, Callable[[], None]] = {}
        for name in names:
            eager = wrap(forwards[name])
            runs[f"{name}:eager"] = eager
            runs[f"{name}:graph"] = captured(eager)
        times = medians(interleaved_times(runs, warmup, repeats, device))
        result[mode] = {
            name: {
                "eager_s": times[f"{name}:eager"],
                "graph_s": times[f"{name}:graph"],
                "speedup": times[f"{name}:eager"] / times[f"{name}:graph"],
            }
            for name in names
        }
    return result


def run(
    shapes: Sequence[str],
    dtypes: Sequence[str],
    models: Sequence[str],
    msr_root: str | Path,
    warmup: int = 2,
    repeats: int = 10,
) -> list[dict[str, Any]]:
    """One row per model, shape and dtype (see :func:`eager_and_graphed`)."""
    rows = []
    for shape_name in shapes:
        shape = PRESETS[shape_name]
        lengths = sample_lengths(shape, msr_root)
        inputs = skeleton_inputs(shape, 3, lengths, device="cuda")
        for dtype in dtypes:
            low = AUTOCAST[dtype]
            for model in models:
                comparison = SKELETON_MODELS[model](inputs, False, shape.real_lengths)
                names = [
                    n for n in CAPTURABLE[model] if n in comparison.sparse or n in comparison.dense
                ]
                # autocast's weight cache cannot live across a capture
                with torch.autocast(
                    "cuda", dtype=low or torch.float32, enabled=low is not None, cache_enabled=False
                ):
                    timed = eager_and_graphed(comparison, names, warmup, repeats)
                row = {"model": model, "shape": shape_name, "dtype": dtype, **timed}
                print(json.dumps(row), flush=True)
                rows.append(row)
                del comparison
                torch.cuda.empty_cache()
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", action="append", choices=list(PRESETS), required=True)
    parser.add_argument("--dtype", action="append", choices=list(AUTOCAST))
    parser.add_argument("--model", action="append", choices=list(CAPTURABLE))
    parser.add_argument(
        "--msr-root", default=None, help="MSR Action3D folder (lengths of the msr20-real shapes)"
    )
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None, help="write the JSON rows here")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        parser.error("CUDA graphs need a CUDA device; torch sees none")
    if args.msr_root is None and any(PRESETS[s].real_lengths for s in args.shape):
        parser.error("--msr-root is needed for the real-length shapes")
    rows = run(
        args.shape,
        args.dtype or ["float32"],
        args.model or list(CAPTURABLE),
        args.msr_root or "",
        args.warmup,
        args.repeats,
    )
    if args.out is not None:
        args.out.write_text(json.dumps({"device": torch.cuda.get_device_name(), "rows": rows}))


if __name__ == "__main__":
    main()
