r"""Scaling sweeps of ``pyg-action benchmark --sweep``: time and peak memory against size.

* ``batch``: ST-GCN spatial convolution (block fast path and message passing) against the dense
  one on NTU-25 batches of growing size ``B`` (``T = 100``, ``M = 2``, ``C = 64``).
* ``graph``: random generic graphs of ``N`` nodes and ``E = 10 N`` edges (10 random in-edges
  per node, sorted by target, as a kNN graph), up to 1M nodes / 10M edges:

  - :class:`~pyg_action.nn.PartitionedGraphConv` (message passing, 3 random edge types,
    random weights, ``C = 8``) against :class:`~pyg_action.nn.dense.DenseGraphConv` on the
    ``(K, N, N)`` adjacency;
  - the max-relative convolution (``C = 8``) against the official dense ViG form (neighbour
    features gathered into ``(1, C, N, k)``).

  The dense adjacency needs :math:`2 K N^2` floats (the adjacency and the copy ``einsum``
  makes); it runs only while that fits the memory budget, otherwise the point records "does
  not fit: needs X GiB". Before each point the sparse side's memory is estimated as well and
  the point is skipped when it would not fit.

Every point runs in a fresh subprocess (``python -m pyg_action.bench.sweep``), so memory
left by one size cannot blur the next; inside it sparse and dense are timed interleaved
(forward+backward, medians) and each side's peak memory is the resident-set high-water mark
of one call (:func:`~pyg_action.bench.timing.cpu_peak_rss`; CUDA max allocated on GPU). The
subprocess's ``ru_maxrss`` is recorded too.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .compare import Comparison, measure
from .run import DTYPES

#: Largest memory a point may use; the sweep runs beside other jobs.
MEMORY_BUDGET = 8 << 30
DEGREE = 10
NUM_TYPES = 3
GRAPH_SIZES = (1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000)
QUICK_GRAPH_SIZES = (1_000, 3_000)
BATCH_SIZES = (1, 2, 4, 8, 16, 32)
QUICK_BATCH_SIZES = (1, 2)


def _gib(size: float) -> str:
    return f"{size / 2**30:.1f} GiB"


def dense_adjacency_bytes(nodes: int, itemsize: int) -> int:
    """The dense graph convolution's ``(K, N, N)`` adjacency and the copy ``einsum`` makes."""
    return 2 * NUM_TYPES * nodes * nodes * itemsize


def sparse_graph_bytes(nodes: int, channels: int, itemsize: int) -> int:
    """Upper estimate for the sparse layers' forward+backward on ``10 N`` edges.

    Edge index and typed index (three ``E`` int64 rows), about six ``(E, C)`` message-sized
    tensors (messages, their gradient, the max-relative gathers) and ten ``(N, K C)`` node
    tensors.
    """
    edges = DEGREE * nodes
    return 3 * 8 * edges + 6 * edges * channels * itemsize + 10 * nodes * NUM_TYPES * channels * 8


def graph_storage_bytes(operator: str, nodes: int, itemsize: int = 4) -> tuple[int, int]:
    """Bytes each side holds to describe the graph, outside any call: ``(sparse, dense)``.

    ``partitioned_conv``: the edge index, type and weight (``E (2 * 8 + 8 + itemsize)``)
    against the ``(K, N, N)`` adjacency; ``mr_conv``: the same ``(2, E)`` int64 neighbour
    index on both sides. Peak memory of a call (:func:`~pyg_action.bench.timing.cpu_peak_rss`)
    does not count these inputs, so the sweep's memory figures add them.
    """
    edges = DEGREE * nodes
    if operator == "partitioned_conv":
        return edges * (2 * 8 + 8 + itemsize), NUM_TYPES * nodes * nodes * itemsize
    return 2 * 8 * edges, 2 * 8 * edges


def _memory_with_graph(row: dict[str, Any], nodes: int, side: str) -> int | None:
    """A side's peak memory of one call plus its graph storage (``None`` if it did not run)."""
    peak = row[f"{side}_peak_bytes"]
    if peak is None or row["forward_backward"][f"{side}_s"] is None:
        return None
    itemsize = 8 if row.get("dtype") == "float64" else 4
    sparse, dense = graph_storage_bytes(row["operator"], nodes, itemsize)
    return peak + (sparse if side == "sparse" else dense)


def random_graph(nodes: int, seed: int = 0) -> Tensor:
    """``(2, 10 N)`` edges: 10 random sources into every node, sorted by target."""
    generator = torch.Generator().manual_seed(seed)
    source = torch.randint(0, nodes, (nodes * DEGREE,), generator=generator)
    target = torch.arange(nodes).repeat_interleave(DEGREE)
    return torch.stack([source, target])


def _graph_comparisons(
    nodes: int, channels: int, dtype: torch.dtype, device: str, dense: bool
) -> list[Comparison]:
    from ..nn import PartitionedGraphConv
    from ..nn.dense import DenseGraphConv
    from ..nn.dense.vig import DenseMRConv, dense_pointwise
    from ..nn.vig_conv import MaxRelativeConv, pointwise

    generator = torch.Generator().manual_seed(1)
    edge_index = random_graph(nodes).to(device)
    edge_type = torch.randint(0, NUM_TYPES, (edge_index.shape[1],), generator=generator)
    edge_weight = torch.rand(edge_index.shape[1], generator=generator, dtype=dtype)
    edge_type, edge_weight = edge_type.to(device), edge_weight.to(device)
    x = torch.randn(nodes, channels, generator=generator, dtype=dtype).to(device)
    x.requires_grad_()
    conv = PartitionedGraphConv(channels, channels, NUM_TYPES).to(device, dtype)
    mr = MaxRelativeConv(pointwise(2 * channels, channels, 1)).to(device, dtype)
    mr_dense = DenseMRConv(dense_pointwise(2 * channels, channels, 1)).to(device, dtype)
    xd = x.detach().t().reshape(1, channels, nodes, 1).clone().requires_grad_()
    neighbours = edge_index[0].view(1, nodes, DEGREE)
    centres = edge_index[1].view(1, nodes, DEGREE)
    dense_index = torch.stack([neighbours, centres])
    references: dict[str, Callable[[], Any]] = {}
    modules: list[torch.nn.Module] = [conv]
    if dense:
        dense_conv = DenseGraphConv(channels, channels, NUM_TYPES).to(device, dtype)
        adjacency = torch.zeros(NUM_TYPES, nodes, nodes, dtype=dtype, device=device)
        adjacency.index_put_((edge_type, edge_index[0], edge_index[1]), edge_weight, True)
        xg = x.detach().t().reshape(1, channels, 1, nodes).clone().requires_grad_()
        references["dense"] = lambda: dense_conv(xg, adjacency)
        modules.append(dense_conv)
    partitioned = Comparison(
        "partitioned_conv",
        {"message": lambda: conv(x, edge_index, edge_type, edge_weight)},
        references,
        modules,
        [x, *([xg] if dense else [])],
    )
    max_relative = Comparison(
        "mr_conv",
        {"message": lambda: mr(x, edge_index)},
        {"dense_gather": lambda: mr_dense(xd, dense_index)},
        [mr, mr_dense],
        [x, xd],
    )
    return [partitioned, max_relative]


def _measure_sparse_only(
    comparison: Comparison, repeats: int, device: torch.device
) -> dict[str, Any]:
    """Rows of a comparison without a dense reference: time the sparse side alone."""
    from .timing import interleaved_times, medians, peak_memory

    forward = next(iter(comparison.sparse.values()))
    step = comparison.step(forward)
    seconds = medians(interleaved_times({"sparse": step}, 1, repeats, device))["sparse"]
    return {
        "operator": comparison.name,
        "variant": next(iter(comparison.sparse)),
        "forward_backward": {"sparse_s": seconds, "dense_s": None, "ratio": None},
        "sparse_peak_bytes": peak_memory(step, device),
        "dense_peak_bytes": None,
    }


def graph_point(
    nodes: int, channels: int, dtype: str, device: str, repeats: int, budget: int
) -> dict[str, Any]:
    """One size of the graph sweep (run inside the point's subprocess)."""
    torch_dtype = DTYPES[dtype]
    itemsize = torch.empty((), dtype=torch_dtype).element_size()
    need_sparse = sparse_graph_bytes(nodes, channels, itemsize)
    need_dense = dense_adjacency_bytes(nodes, itemsize)
    point: dict[str, Any] = {
        "nodes": nodes,
        "edges": DEGREE * nodes,
        "channels": channels,
        "sparse_estimate_bytes": need_sparse,
        "dense_estimate_bytes": need_dense,
    }
    if need_sparse > budget:
        point["skipped"] = f"sparse does not fit: needs {_gib(need_sparse)}"
        return point
    fits = need_dense <= budget
    if not fits:
        point["dense"] = f"does not fit: needs {_gib(need_dense)}"
    dev = torch.device(device)
    rows = []
    for comparison in _graph_comparisons(nodes, channels, torch_dtype, device, fits):
        if comparison.dense:
            rows += measure(comparison, 1, repeats, dev)
        else:
            rows.append(_measure_sparse_only(comparison, repeats, dev))
    point["rows"] = rows
    return point


def batch_point(
    batch_size: int, channels: int, frames: int, dtype: str, device: str, repeats: int
) -> dict[str, Any]:
    """One size of the batch sweep: ST-GCN spatial convolution on NTU-25 (subprocess side)."""
    from .operators import partitioned_conv
    from .shapes import PRESETS, skeleton_inputs

    shape = PRESETS["ntu25-T100"]
    inputs = skeleton_inputs(shape, channels, [frames] * batch_size, DTYPES[dtype], device)
    rows = measure(partitioned_conv(inputs, channels), 1, repeats, torch.device(device))
    return {"batch_size": batch_size, "nodes": int(inputs.nodes.shape[0]), "rows": rows}


def _in_subprocess(arguments: Sequence[str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "pyg_action.bench.sweep", *arguments]
    command += ["--threads", str(torch.get_num_threads())]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def graph_sweep(
    quick: bool, device: str, dtype: str, repeats: int, max_nodes: int = 1_000_000
) -> list[dict[str, Any]]:
    """Points of the generic graph sweep, smallest first, each in its own subprocess."""
    sizes = QUICK_GRAPH_SIZES if quick else [n for n in GRAPH_SIZES if n <= max_nodes]
    channels = 4 if quick else 8
    points = []
    for nodes in sizes:
        args = ["graph", str(nodes), "--channels", str(channels), "--dtype", dtype]
        point = _in_subprocess([*args, "--device", device, "--repeats", str(repeats)])
        points.append({"nodes": nodes, **point})
    return points


def batch_sweep(
    quick: bool, device: str, dtype: str, repeats: int, max_nodes: int = 1_000_000
) -> list[dict[str, Any]]:
    """Points of the batch-size sweep, each in its own subprocess (``max_nodes`` unused)."""
    sizes = QUICK_BATCH_SIZES if quick else BATCH_SIZES
    size_args = ["--channels", "16", "--frames", "32"] if quick else ["--channels", "64"]
    points = []
    for batch_size in sizes:
        args = ["batch", str(batch_size), *size_args, "--dtype", dtype, "--device", device]
        point = _in_subprocess([*args, "--repeats", str(repeats)])
        points.append({"batch_size": batch_size, **point})
    return points


SWEEPS: dict[str, Callable[..., list[dict[str, Any]]]] = {
    "batch": batch_sweep,
    "graph": graph_sweep,
}


def _series(
    points: Sequence[dict[str, Any]],
) -> dict[str, list[tuple[dict[str, Any], dict[str, Any]]]]:
    """``operator [variant]`` -> [(point, row)] over the points that ran."""
    series: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for point in points:
        for row in point.get("rows", []):
            series.setdefault(f"{row['operator']} [{row['variant']}]", []).append((point, row))
    return series


def sweep_table(points: Sequence[dict[str, Any]]) -> str:
    """Text table: one line per point and operator, forward+backward ms and peak MiB.

    In the graph sweep the MiB columns are a call's peak plus the side's graph storage
    (:func:`graph_storage_bytes`); in the batch sweep both sides hold the same inputs.
    """
    lines = ["size  nodes  operator  sparse ms  dense ms  ratio  sparse MiB  dense MiB"]
    for point in points:
        size = point.get("batch_size", point["nodes"])
        for note in ("error", "skipped", "dense"):
            if note in point:
                lines.append(f"{size}  {point['nodes']}  {note}: {point[note]}")
        for row in point.get("rows", []):
            both = row["forward_backward"]
            dense = "-" if both["dense_s"] is None else f"{1e3 * both['dense_s']:.1f}"
            ratio = "-" if both["ratio"] is None else f"{both['ratio']:.2f}"
            memory = [_row_memory(point, row, side) for side in ("sparse", "dense")]
            mib = ["-" if m is None else f"{m / 2**20:.1f}" for m in memory]
            lines.append(
                f"{size}  {point['nodes']}  {row['operator']} [{row['variant']}]  "
                f"{1e3 * both['sparse_s']:.1f}  {dense}  {ratio}  {mib[0]}  {mib[1]}"
            )
    return "\n".join(lines)


def _row_memory(point: dict[str, Any], row: dict[str, Any], side: str) -> int | None:
    if "batch_size" in point:
        return row[f"{side}_peak_bytes"]
    return _memory_with_graph(row, point["nodes"], side)


def plot_sweep(points: Sequence[dict[str, Any]], path: str | Path, title: str) -> None:
    """Log-log forward+backward time and peak memory against the number of nodes.

    Memory is a call's peak plus the graph storage (:func:`sweep_table`); the graph sweep
    also draws the dense ``(K, N, N)`` adjacency alone at every size, where it could not run.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(10, 4))
    for name, entries in _series(points).items():
        sizes = [point["nodes"] for point, _ in entries]
        for side, style in (("sparse", "-o"), ("dense", "--s")):
            times = [r["forward_backward"][f"{side}_s"] for _, r in entries]
            memory = [_row_memory(point, r, side) for point, r in entries]
            kept = [(n, t, m) for n, t, m in zip(sizes, times, memory, strict=True) if t and m]
            if not kept:
                continue
            label = name if side == "sparse" else f"{name} dense ({entries[0][1]['reference']})"
            ax_time.plot([k[0] for k in kept], [k[1] for k in kept], style, label=label)
            ax_mem.plot(
                [k[0] for k in kept], [max(k[2], 1) / 2**20 for k in kept], style, label=label
            )
    graph_points = [p for p in points if "batch_size" not in p and "rows" in p]
    if graph_points:
        nodes = [p["nodes"] for p in graph_points]
        adjacency = [graph_storage_bytes("partitioned_conv", n)[1] / 2**20 for n in nodes]
        ax_mem.plot(nodes, adjacency, ":", color="grey", label="dense (K, N, N) adjacency alone")
        ax_mem.legend(fontsize=6)
    for ax, label in ((ax_time, "forward+backward s"), (ax_mem, "peak MiB (with graph)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("nodes")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    ax_time.legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Entry point of one sweep point; prints its JSON on the last line."""
    parser = argparse.ArgumentParser(description="One point of a benchmark sweep.")
    parser.add_argument("kind", choices=list(SWEEPS))
    parser.add_argument("size", type=int, help="nodes (graph) or batch size (batch)")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--dtype", default="float32", choices=list(DTYPES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--budget-gib", type=float, default=MEMORY_BUDGET / 2**30)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.kind == "graph":
        budget = int(args.budget_gib * 2**30)
        point = graph_point(args.size, args.channels, args.dtype, args.device, args.repeats, budget)
    else:
        point = batch_point(
            args.size, args.channels, args.frames, args.dtype, args.device, args.repeats
        )
    point["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10
    print(json.dumps(point, default=float))


if __name__ == "__main__":
    main()
