"""Time the sparse ViG Grapher (own kNN + PyG message passing) against the dense official one.

Both blocks get the same weights and the same ``B`` images of ``grid × grid`` patches; each
repeat runs forward and backward in training mode, sparse and dense interleaved so that
machine load hits both alike, after ``warmup`` untimed rounds. The kNN alone (on the
Grapher's ``fc1`` output, no gradient) is timed in the same rounds to give its share of the
sparse time. Medians are reported.

Command line::

    python -m pyg_action.bench.vig --batch-size 8 --channels 192 --grid 14 --repeats 30
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

import torch

from ..nn.dense.vig import DenseGrapher, load_sparse_state
from ..nn.vig_conv import Grapher
from .timing import interleaved_times


def benchmark_grapher(
    batch_size: int = 8,
    channels: int = 192,
    grid: int = 14,
    k: int = 9,
    dilation: int = 1,
    conv: str = "mr",
    warmup: int = 3,
    repeats: int = 20,
    seed: int = 0,
    threads: int | None = None,
) -> dict[str, Any]:
    """Median forward+backward times of the sparse and dense Grapher, and their ratio.

    Args:
        batch_size: Images per batch.
        channels: Node width.
        grid: Patches per image side (``grid ** 2`` nodes per image).
        k: Neighbours.
        dilation: kNN dilation.
        conv: Graph convolution (``mr``, ``edge``, ``gin``, ``sage``).
        warmup: Untimed rounds first.
        repeats: Timed rounds.
        seed: Seed of weights and inputs.
        threads: ``torch.set_num_threads`` for the run (``None``: leave as is).

    Returns:
        ``sparse_ms``, ``dense_ms``, ``ratio`` (sparse / dense), ``knn_ms``, ``knn_share``
        (kNN / sparse), ``max_abs_diff`` (outputs), the settings and the thread count.
    """
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(seed)
        options: dict[str, Any] = dict(k=k, dilation=dilation, conv=conv)
        sparse = Grapher(channels, **options).train()
        dense = DenseGrapher(channels, **options).train()
        load_sparse_state(dense, sparse)
        images = torch.randn(batch_size, channels, grid, grid)
        nodes = images.permute(0, 2, 3, 1).reshape(-1, channels).contiguous()
        batch = torch.arange(batch_size).repeat_interleave(grid * grid)
        x_sparse = nodes.clone().requires_grad_()
        x_dense = images.clone().requires_grad_()
        with torch.no_grad():
            features = sparse.fc1(nodes)
            out_s = sparse(nodes, batch)
            out_d = dense(images).permute(0, 2, 3, 1).reshape(-1, channels)
            max_abs_diff = float((out_s - out_d).abs().max())

        def run_sparse() -> None:
            sparse(x_sparse, batch).sum().backward()

        def run_dense() -> None:
            dense(x_dense).sum().backward()

        def run_knn() -> None:
            sparse.knn(features, batch)

        times = interleaved_times(
            {"sparse": run_sparse, "dense": run_dense, "knn": run_knn}, warmup, repeats
        )
    finally:
        torch.set_num_threads(previous_threads)
    sparse_ms, dense_ms, knn_ms = (
        1e3 * statistics.median(times[n]) for n in ("sparse", "dense", "knn")
    )
    return {
        "sparse_ms": sparse_ms,
        "dense_ms": dense_ms,
        "ratio": sparse_ms / dense_ms,
        "knn_ms": knn_ms,
        "knn_share": knn_ms / sparse_ms,
        "max_abs_diff": max_abs_diff,
        "batch_size": batch_size,
        "channels": channels,
        "nodes_per_image": grid * grid,
        "k": k,
        "dilation": dilation,
        "conv": conv,
        "repeats": repeats,
        "threads": torch.get_num_threads() if threads is None else threads,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--channels", type=int, default=192)
    parser.add_argument("--grid", type=int, default=14)
    parser.add_argument("--k", type=int, default=9)
    parser.add_argument("--dilation", type=int, default=1)
    parser.add_argument("--conv", default="mr")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    print(json.dumps(benchmark_grapher(**vars(args)), indent=2))


if __name__ == "__main__":
    main()
