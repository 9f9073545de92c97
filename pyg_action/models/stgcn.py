"""ST-GCN on sparse skeleton graphs.

From "Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action Recognition"
(Yan, Xiong, Lin; AAAI 2018). The block plan follows the paper and the official code; the
computation runs on the batch's explicit edges, so samples of any length and person count
share a batch without padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..graph.levels import SkeletonLevel
from ..layouts import LayoutLike, get_layout, layout_graph
from ..nn import PartitionedGraphConv, TemporalGraphConv
from ..nn.dropout import Dropout
from ..nn.motion import MotionExcitation
from .registry import register_model
from .skeleton_classifier import SkeletonClassifier, quick_skeleton_config, residual_branch

DEFAULT_CHANNELS = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)
DEFAULT_STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)


class STGCNBlock(nn.Module):
    """Spatial conv -> BN-ReLU -> temporal conv -> BN -> dropout, plus residual, then ReLU.

    Args:
        in_channels, out_channels: Widths.
        num_partitions: ``K``.
        num_edge_slots: Layout edges per frame when learning edge importance, else ``None``.
        kernel_size, stride: Temporal window and stride.
        dropout: Dropout after the temporal conv.
        residual: Add a residual branch (identity, or linear + BN when shape changes).
        motion_excitation: Add :class:`~pyg_action.nn.motion.MotionExcitation` of the
            spatial conv's output in parallel with the temporal conv.
        temporal_impl: ``"tracks"`` (fast path) or ``"edges"`` (message passing), see
            :class:`STGCN`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_partitions: int,
        num_edge_slots: int | None,
        kernel_size: int = 9,
        stride: int = 1,
        dropout: float = 0.0,
        residual: bool = True,
        motion_excitation: bool = False,
        temporal_impl: str = "tracks",
    ) -> None:
        super().__init__()
        if temporal_impl not in ("tracks", "edges"):
            raise ValueError(f"temporal_impl must be 'tracks' or 'edges', got {temporal_impl!r}")
        self.stride = stride
        self.temporal_impl = temporal_impl
        self.gcn = PartitionedGraphConv(in_channels, out_channels, num_partitions, num_edge_slots)
        self.norm_gcn = nn.BatchNorm1d(out_channels)
        self.tcn = TemporalGraphConv(out_channels, out_channels, kernel_size, stride)
        self.norm_tcn = nn.BatchNorm1d(out_channels)
        self.dropout = Dropout(dropout)
        self.motion = MotionExcitation(out_channels) if motion_excitation else None
        self.residual = residual_branch(in_channels, out_channels, stride, residual)

    def forward(self, x: Tensor, level: SkeletonLevel) -> tuple[Tensor, SkeletonLevel]:
        out_level = level.coarsen(self.stride)
        if level.block_plan is not None:
            g = self.gcn(x, blocks=level.block_plan)
        else:
            g = self.gcn(x, **level.spatial)
        g = torch.relu(self.norm_gcn(g))
        if self.temporal_impl == "tracks":
            h = self.tcn.forward_tracks(g, level)
        else:
            edge_index, edge_type = level.temporal(
                self.tcn.kernel_size, self.tcn.dilation, self.stride
            )
            h = self.tcn(g, edge_index, edge_type, out_level.num_nodes)
        h = self.dropout(self.norm_tcn(h))
        if self.motion is not None:
            h = h + level.select_kept(self.motion(g, level), self.stride)
        if self.residual is not None:
            h = h + self.residual(level.select_kept(x, self.stride))
        return torch.relu(h), out_level


class STGCN(SkeletonClassifier):
    """ST-GCN classifier over batched skeleton graphs.

    Args:
        num_classes: Output classes.
        in_channels: Node feature width (3 for xyz, or more with extra streams).
        layout: Skeleton layout (must match the data's).
        strategy, max_hop, dilation: Partitioning (must match the data's graph builder).
        channels: Output width of each block.
        strides: Temporal stride of each block.
        kernel_size: Temporal window.
        dropout: Dropout inside the blocks.
        edge_importance: Learn ``M`` (one scalar per layout edge) in every block.
        data_norm: Batch-norm the input over (joint, channel).
        temporal_impl: ``"tracks"`` runs the temporal convolution through its structure-aware
            fast path (:meth:`~pyg_action.nn.TemporalGraphConv.forward_tracks`), ``"edges"``
            through message passing on the temporal edges; both give the same result.
        motion_excitation: Motion excitation in parallel with the temporal conv of every
            block except the first.

    Shapes:
        - **input:** a batch from :class:`~pyg_action.graph.SkeletonGraphBuilder`
        - **output:** logits ``(B, num_classes)``
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        layout: LayoutLike = "ntu25",
        strategy: str = "spatial",
        max_hop: int = 1,
        dilation: int = 1,
        channels: Sequence[int] = DEFAULT_CHANNELS,
        strides: Sequence[int] = DEFAULT_STRIDES,
        kernel_size: int = 9,
        dropout: float = 0.5,
        edge_importance: bool = True,
        data_norm: bool = True,
        motion_excitation: bool = False,
        temporal_impl: str = "tracks",
    ) -> None:
        graph = layout_graph(get_layout(layout), strategy, max_hop, dilation)
        slots = graph.num_edges if edge_importance else None

        def make_block(i: int, c_in: int, c_out: int, stride: int) -> nn.Module:
            return STGCNBlock(
                c_in,
                c_out,
                graph.num_types,
                slots,
                kernel_size,
                stride,
                dropout=0.0 if i == 0 else dropout,
                residual=i > 0,
                motion_excitation=motion_excitation and i > 0,
                temporal_impl=temporal_impl,
            )

        super().__init__(num_classes, in_channels, layout, channels, strides, make_block, data_norm)
        self.layout_graph = graph
        self.num_partitions = graph.num_types
        self.num_edge_slots = graph.num_edges


#: ``pyg-action train --model stgcn`` without a config: quarter width, 6 blocks, 32 frames, so it
#: trains in minutes on a laptop CPU. The paper-sized model is the default of the class and
#: of the shipped configs.
QUICK_CONFIG = quick_skeleton_config(
    {"channels": [16, 16, 32, 32, 64, 64], "strides": [1, 1, 2, 1, 2, 1], "dropout": 0.2}
)


@register_model(
    "stgcn", default_data={"name": "synthetic"}, quick_config=QUICK_CONFIG, options=STGCN
)
def stgcn(
    num_classes: int, in_channels: int = 3, layout: LayoutLike = "ntu25", **kwargs: Any
) -> STGCN:
    """ST-GCN (10 blocks 64-64-64-64-128-128-128-256-256-256, stride 2 at blocks 5 and 8)."""
    return STGCN(num_classes, in_channels, layout, **kwargs)
