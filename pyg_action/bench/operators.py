"""Every sparse operator next to its dense reference, on the inputs of one shape.

Each builder takes the inputs of a :class:`~pyg_action.bench.shapes.Shape` and returns a
:class:`~pyg_action.bench.compare.Comparison`: the sparse variants (fast path and message
passing where both exist; the spatial convolution's message path also on the optional
torch-scatter backend when that package is importable) and the dense official formulation,
with random weights (timing does not depend on them). Skeleton operators map ``C -> C``
channels except ``partitioned_conv_first`` (the first ST-GCN layer, ``3 -> C``); the image
operators are those of one ViG Grapher (``k = 9``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor, nn

from ..layouts import adjacency_tensor, get_layout, layout_graph
from ..nn import PartitionedGraphConv, TemporalGraphConv
from ..nn.backend import use_backend
from ..nn.dense import DenseGraphConv, DenseTemporalConv
from ..nn.dense.shift import DenseMotionExcitation, dense_graph_shift, dense_temporal_shift
from ..nn.dense.vig import DenseDilatedKnnGraph, DenseGrapher, dense_graph_conv, dense_knn
from ..nn.knn import DilatedKnnGraph, knn_graph
from ..nn.motion import MotionExcitation
from ..nn.shift import graph_shift, temporal_shift
from ..nn.vig_conv import Grapher, graph_conv
from .compare import Comparison
from .shapes import ImageInputs, SkeletonInputs

#: Neighbours of the ViG operators.
VIG_K = 9


def _leaf(tensor: Tensor) -> Tensor:
    return tensor.detach().clone().requires_grad_()


def _partitioned(s: SkeletonInputs, in_channels: int, out_channels: int, name: str) -> Comparison:
    layout = get_layout(s.layout)
    graph = layout_graph(layout)
    adjacency = torch.tensor(adjacency_tensor(layout), dtype=s.nodes.dtype, device=s.nodes.device)
    k = adjacency.shape[0]
    block = PartitionedGraphConv(in_channels, out_channels, k, graph.num_edges)
    message = PartitionedGraphConv(
        in_channels, out_channels, k, graph.num_edges, block_fast_path=False
    )
    message.load_state_dict(block.state_dict())
    dense = DenseGraphConv(in_channels, out_channels, k)
    modules = [m.to(s.nodes) for m in (block, message, dense)]
    importance = nn.Parameter(torch.ones_like(adjacency))
    x, xd = _leaf(s.nodes[:, :in_channels]), _leaf(s.dense[:, :in_channels])
    variants = {
        "block": lambda: block(x, **s.level.spatial),
        "message": lambda: message(x, **s.level.spatial),
    }
    if _has_torch_scatter():

        def scatter() -> Tensor:
            with use_backend(scatter="torch_scatter"):
                return message(x, **s.level.spatial)

        variants["message+torch_scatter"] = scatter
    return Comparison(
        name,
        variants,
        {"dense": lambda: dense(xd, adjacency * importance)},
        modules,
        [x, xd, importance],
    )


def _has_torch_scatter() -> bool:
    """Whether the optional torch-scatter backend can be timed beside torch's ``index_add_``."""
    try:
        import torch_scatter  # noqa: F401
    except ImportError:
        return False
    return True


def partitioned_conv(s: SkeletonInputs, channels: int) -> Comparison:
    """ST-GCN spatial convolution ``C -> C``: block fast path and message passing."""
    return _partitioned(s, channels, channels, "partitioned_conv")


def partitioned_conv_first(s: SkeletonInputs, channels: int) -> Comparison:
    """The first ST-GCN spatial convolution, ``3 -> C`` (aggregates the inputs first)."""
    return _partitioned(s, 3, channels, "partitioned_conv_first")


def temporal_conv(s: SkeletonInputs, channels: int) -> Comparison:
    """ST-GCN temporal convolution (window 9): ``forward_tracks`` and message passing."""
    sparse = TemporalGraphConv(channels, channels, 9).to(s.nodes)
    dense = DenseTemporalConv(channels, channels, 9).to(s.nodes)
    edge_index, edge_type = s.level.temporal(9)
    x, xd = _leaf(s.nodes), _leaf(s.dense)
    return Comparison(
        "temporal_conv",
        {
            "tracks": lambda: sparse.forward_tracks(x, s.level),
            "message": lambda: sparse(x, edge_index, edge_type),
        },
        {"dense": lambda: dense(xd)},
        [sparse, dense],
        [x, xd],
    )


def _graph_shift(kind: str) -> Callable[[SkeletonInputs, int], Comparison]:
    def build(s: SkeletonInputs, channels: int) -> Comparison:
        layout = s.layout
        ops = {
            impl: graph_shift(kind, channels, layout, impl=impl).to(s.nodes.device)
            for impl in ("gather", "message")
        }
        dense = dense_graph_shift(kind, channels, layout).to(s.nodes.device)
        x, xd = _leaf(s.nodes), _leaf(s.dense)
        return Comparison(
            f"graph_shift_{kind}",
            {impl: partial(op, x) for impl, op in ops.items()},
            {"dense": lambda: dense(xd)},
            [],
            [x, xd],
        )

    build.__doc__ = f"Shift-GCN {kind} graph shift: gather and message implementations."
    return build


def _temporal_shift(kind: str) -> Callable[[SkeletonInputs, int], Comparison]:
    def build(s: SkeletonInputs, channels: int) -> Comparison:
        ops = {
            impl: temporal_shift(kind, channels, impl=impl).to(s.nodes)
            for impl in ("gather", "message")
        }
        ops["message"].load_state_dict(ops["gather"].state_dict())
        dense = dense_temporal_shift(kind, channels, 1, 3).to(s.nodes)
        x, xd = _leaf(s.nodes), _leaf(s.dense)
        return Comparison(
            f"temporal_shift_{kind}",
            {impl: partial(op, x, s.level) for impl, op in ops.items()},
            {"dense": lambda: dense(xd)},
            [*ops.values(), dense],
            [x, xd],
        )

    build.__doc__ = f"Shift-GCN {kind} temporal shift: gather and message implementations."
    return build


def motion_excitation(s: SkeletonInputs, channels: int) -> Comparison:
    """Motion excitation: frame means differenced (default) and next-frame edge messages."""
    torch.manual_seed(0)
    ops = {
        impl: MotionExcitation(channels, impl=impl).to(s.nodes) for impl in ("frames", "message")
    }
    ops["message"].load_state_dict(ops["frames"].state_dict())
    dense = DenseMotionExcitation(channels).to(s.nodes)
    x, xd = _leaf(s.nodes), _leaf(s.dense)
    return Comparison(
        "motion_excitation",
        {impl: partial(op, x, s.level) for impl, op in ops.items()},
        {"dense": lambda: dense(xd)},
        [*ops.values(), dense],
        [x, xd],
    )


def mr_conv(i: ImageInputs, channels: int) -> Comparison:
    """Max-relative graph convolution ``C -> 2C`` on a fixed kNN graph (as in the Grapher)."""
    sparse = graph_conv("mr", channels, 2 * channels).to(i.nodes)
    dense = dense_graph_conv("mr", channels, 2 * channels).to(i.nodes)
    edge_index = knn_graph(i.nodes, VIG_K, i.batch)
    dense_index = dense_knn(i.images.flatten(2).unsqueeze(-1), VIG_K)
    x, xd = _leaf(i.nodes), _leaf(i.images.flatten(2).unsqueeze(-1))
    return Comparison(
        "mr_conv",
        {"message": lambda: sparse(x, edge_index)},
        {"dense": lambda: dense(xd, dense_index)},
        [sparse, dense],
        [x, xd],
    )


def grapher(i: ImageInputs, channels: int) -> Comparison:
    """A whole ViG Grapher: fc, kNN, max-relative convolution, fc, residual."""
    sparse = Grapher(channels, k=VIG_K).to(i.nodes)
    dense = DenseGrapher(channels, k=VIG_K).to(i.nodes)
    x, xd = _leaf(i.nodes), _leaf(i.images)
    grid = (i.grid, i.grid)
    return Comparison(
        "grapher",
        {"message": lambda: sparse(x, i.batch, grid=grid)},
        {"dense": lambda: dense(xd)},
        [sparse, dense],
        [x, xd],
    )


def knn(i: ImageInputs, channels: int) -> Comparison:
    """kNN graph of normalised features (no gradient): own chunked kNN against ``topk`` of
    the full pairwise distances."""
    sparse = DilatedKnnGraph(VIG_K)
    dense = DenseDilatedKnnGraph(VIG_K)
    x, xd = i.nodes, i.images.flatten(2).unsqueeze(-1)
    return Comparison(
        "knn",
        {"chunked": lambda: sparse(x, i.batch)},
        {"dense": lambda: dense(xd)},
        differentiable=False,
    )


SKELETON_OPERATORS: dict[str, Callable[[SkeletonInputs, int], Comparison]] = {
    "partitioned_conv": partitioned_conv,
    "partitioned_conv_first": partitioned_conv_first,
    "temporal_conv": temporal_conv,
    "graph_shift_nonlocal": _graph_shift("nonlocal"),
    "graph_shift_local": _graph_shift("local"),
    "temporal_shift_fixed": _temporal_shift("fixed"),
    "temporal_shift_adaptive": _temporal_shift("adaptive"),
    "motion_excitation": motion_excitation,
}
IMAGE_OPERATORS: dict[str, Callable[[ImageInputs, int], Comparison]] = {
    "mr_conv": mr_conv,
    "grapher": grapher,
    "knn": knn,
}
