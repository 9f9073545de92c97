"""ST-GCN: the sparse model against the dense (official) one, forward + backward.

Two comparisons, each measured in one process with interleaved repeats:

* **fixed length**: a batch whose samples all have ``T`` frames and ``M`` persons; the sparse
  model and the dense reference do the same arithmetic, so this measures operator overhead.
* **variable length** (real MSR Action3D lengths, 13-936 frames, capped at 300 as the official
  pipeline crops): padding-free sparse batches against the dense model on the same samples
  zero-padded to 300 frames (the official pipeline) and padded to each batch's longest sample.
  Reported as samples per second.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch_geometric.loader import DataLoader

from ..graph import SkeletonGraphBuilder
from ..models.dense_stgcn import DenseSTGCN
from ..models.stgcn import STGCN
from .timing import interleaved_times, medians, peak_memory


def _step(model: nn.Module, inputs: Any) -> Callable[[], None]:
    def run() -> None:
        model.zero_grad(set_to_none=True)
        model(inputs).sum().backward()

    return run


def _pair(layout: str, in_channels: int, options: dict[str, Any], device: torch.device):
    torch.manual_seed(0)
    sparse = STGCN(10, in_channels, layout, **options).to(device).train()
    dense = DenseSTGCN(10, in_channels, layout, **options).to(device).train()
    return sparse, dense


def fixed_length(
    layout: str = "ntu25",
    frames: int = 100,
    persons: int = 2,
    batch_size: int = 4,
    options: dict[str, Any] | None = None,
    device: str = "cpu",
    warmup: int = 1,
    repeats: int = 5,
) -> dict[str, Any]:
    """Median seconds of sparse and dense forward+backward on one fixed-shape batch."""
    dev = torch.device(device)
    options = dict(options or {})
    sparse, dense = _pair(layout, 3, options, dev)
    builder = SkeletonGraphBuilder(layout)
    x = torch.randn(batch_size, 3, frames, builder.layout.num_joints, persons)
    batch = next(iter(DataLoader([builder(s) for s in x], batch_size=batch_size))).to(dev)
    x = x.to(dev)
    runs = {"sparse": _step(sparse, batch), "dense": _step(dense, x)}
    times = medians(interleaved_times(runs, warmup, repeats, dev))
    return {
        "case": f"{layout} T={frames} M={persons} B={batch_size}",
        "sparse_s": times["sparse"],
        "dense_s": times["dense"],
        "ratio_sparse_over_dense": times["sparse"] / times["dense"],
        "sparse_peak_bytes": peak_memory(runs["sparse"], dev),
        "dense_peak_bytes": peak_memory(runs["dense"], dev),
    }


def _padded(samples: Sequence[np.ndarray], length: int) -> torch.Tensor:
    c, _, v, m = samples[0].shape
    out = torch.zeros(len(samples), c, length, v, m)
    for i, s in enumerate(samples):
        out[i, :, : s.shape[1]] = torch.from_numpy(s)
    return out


def variable_length(
    samples: Sequence[np.ndarray],
    layout: str = "msr20",
    batch_size: int = 16,
    num_batches: int = 4,
    cap: int = 300,
    options: dict[str, Any] | None = None,
    device: str = "cpu",
    warmup: int = 1,
    repeats: int = 3,
    seed: int = 0,
) -> dict[str, Any]:
    """Samples/s of padding-free sparse batches vs dense padded to ``cap`` and to batch max.

    Args:
        samples: ``(C, T, V, M)`` arrays at their recorded lengths.
    """
    dev = torch.device(device)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(samples))[: batch_size * num_batches]
    chosen = [np.ascontiguousarray(samples[i][:, :cap], dtype=np.float32) for i in order]
    groups = [chosen[i : i + batch_size] for i in range(0, len(chosen), batch_size)]
    sparse, dense = _pair(layout, chosen[0].shape[0], dict(options or {}), dev)
    builder = SkeletonGraphBuilder(layout)
    sparse_batches = [
        next(iter(DataLoader([builder(s) for s in g], batch_size=len(g)))).to(dev) for g in groups
    ]
    padded_cap = [_padded(g, cap).to(dev) for g in groups]
    padded_max = [_padded(g, max(s.shape[1] for s in g)).to(dev) for g in groups]

    def over(model: nn.Module, inputs: list) -> Callable[[], None]:
        steps = [_step(model, item) for item in inputs]

        def run() -> None:
            for step in steps:
                step()

        return run

    runs = {
        "sparse": over(sparse, sparse_batches),
        f"dense_pad{cap}": over(dense, padded_cap),
        "dense_pad_batch_max": over(dense, padded_max),
    }
    times = medians(interleaved_times(runs, warmup, repeats, dev))
    count = len(chosen)
    rates = {name: count / seconds for name, seconds in times.items()}
    lengths = np.array([s.shape[1] for s in chosen])
    summary = f"mean {lengths.mean():.0f}, max {lengths.max()}"
    return {
        "case": f"{layout} real lengths ({summary}) B={batch_size}",
        "samples_per_s": rates,
        f"speedup_vs_dense_pad{cap}": rates["sparse"] / rates[f"dense_pad{cap}"],
        "speedup_vs_dense_pad_batch_max": rates["sparse"] / rates["dense_pad_batch_max"],
    }
