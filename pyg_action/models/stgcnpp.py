"""ST-GCN++ on sparse skeleton graphs.

From "PYSKL: Towards Good Practices for Skeleton Action Recognition" (Duan, Wang, Chen, Lin;
ACM MM 2022), pyskl's redesign of ST-GCN: the spatial convolution aggregates with a learned
adjacency (the layout's partitioned adjacency plus a learned offset over every joint pair,
instead of ST-GCN's multiplicative edge importance) and has its own residual; the temporal
convolution is multi-scale (dilated 3-frame convolutions with dilations 1-4, a max-pool and a
point-wise branch, :class:`~pyg_action.nn.multiscale_tcn.MultiScaleTemporalConv`); every block
but the first has a residual. Samples of any length and person count share a batch without
padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..graph.levels import SkeletonLevel
from ..layouts import LayoutLike, get_layout, layout_graph
from ..nn import PartitionedGraphConv
from ..nn.dropout import Dropout
from ..nn.multiscale_tcn import MultiScaleTemporalConv
from .registry import register_model
from .skeleton_classifier import SkeletonClassifier, quick_skeleton_config, residual_branch
from .stgcn import DEFAULT_CHANNELS, DEFAULT_STRIDES


class STGCNPPBlock(nn.Module):
    """``relu(BN(gcn(x)) + down(x))`` -> multi-scale temporal conv -> dropout, plus the block
    residual, then ReLU.

    Args:
        in_channels, out_channels: Widths.
        num_partitions: ``K``.
        num_joints: ``V`` (the learned adjacency offset covers ``K V V`` joint pairs).
        stride: Temporal stride.
        kernel_size: Window of every dilated temporal branch.
        dilations: Dilations of the temporal branches.
        dropout: Dropout after the temporal conv.
        residual: Add the block residual (identity, or linear + BN when the shape changes).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_partitions: int,
        num_joints: int,
        stride: int = 1,
        kernel_size: int = 3,
        dilations: Sequence[int] = (1, 2, 3, 4),
        dropout: float = 0.0,
        residual: bool = True,
    ) -> None:
        super().__init__()
        self.stride = stride
        self.gcn = PartitionedGraphConv(
            in_channels, out_channels, num_partitions, offset_joints=num_joints
        )
        self.norm_gcn = nn.BatchNorm1d(out_channels)
        self.gcn_residual = residual_branch(in_channels, out_channels, 1)
        self.tcn = MultiScaleTemporalConv(
            out_channels, out_channels, stride, kernel_size, dilations
        )
        self.norm_tcn = nn.BatchNorm1d(out_channels)
        self.dropout = Dropout(dropout)
        self.residual = residual_branch(in_channels, out_channels, stride, residual)

    def forward(self, x: Tensor, level: SkeletonLevel) -> tuple[Tensor, SkeletonLevel]:
        if level.block_plan is None:
            raise ValueError(
                "ST-GCN++ learns an adjacency over every joint pair of a frame, so every frame "
                "needs the layout's partitions (gravity-centre partitions differ per frame)"
            )
        g = self.norm_gcn(self.gcn(x, blocks=level.block_plan))
        assert self.gcn_residual is not None
        g = torch.relu(g + self.gcn_residual(x))
        h = self.dropout(self.norm_tcn(self.tcn(g, level)))
        if self.residual is not None:
            h = h + self.residual(level.select_kept(x, self.stride))
        return torch.relu(h), level.coarsen(self.stride)


class STGCNPP(SkeletonClassifier):
    """ST-GCN++ classifier over batched skeleton graphs.

    Args:
        num_classes: Output classes.
        in_channels: Node feature width (3 for xyz, or more with extra streams).
        layout: Skeleton layout (must match the data's).
        strategy, max_hop, dilation: Partitioning of the initial adjacency.
        channels: Output width of each block.
        strides: Temporal stride of each block.
        kernel_size: Window of every dilated temporal branch (pyskl: 3). ``pyg-action train``
            sets it from ``graph.temporal_window`` unless the model section names it, so the
            shipped configs name it.
        dilations: Dilations of the multi-scale temporal branches.
        dropout: Dropout after the temporal conv of every block but the first (pyskl: 0).
        data_norm: Batch-norm the input over (joint, channel).

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
        kernel_size: int = 3,
        dilations: Sequence[int] = (1, 2, 3, 4),
        dropout: float = 0.0,
        data_norm: bool = True,
    ) -> None:
        resolved = get_layout(layout)
        graph = layout_graph(resolved, strategy, max_hop, dilation)

        def make_block(i: int, c_in: int, c_out: int, stride: int) -> nn.Module:
            return STGCNPPBlock(
                c_in,
                c_out,
                graph.num_types,
                resolved.num_joints,
                stride,
                kernel_size,
                dilations,
                dropout=0.0 if i == 0 else dropout,
                residual=i > 0,
            )

        super().__init__(num_classes, in_channels, layout, channels, strides, make_block, data_norm)
        self.layout_graph = graph
        self.num_partitions = graph.num_types


#: ``pyg-action train --model stgcnpp`` without a config: quarter width, 6 blocks, 32 frames.
QUICK_CONFIG = quick_skeleton_config(
    {"channels": [16, 16, 32, 32, 64, 64], "strides": [1, 1, 2, 1, 2, 1], "kernel_size": 3}
)


@register_model(
    "stgcnpp", default_data={"name": "synthetic"}, quick_config=QUICK_CONFIG, options=STGCNPP
)
def stgcnpp(
    num_classes: int, in_channels: int = 3, layout: LayoutLike = "ntu25", **kwargs: Any
) -> STGCNPP:
    """ST-GCN++ (10 blocks 64-64-64-64-128-128-128-256-256-256, stride 2 at blocks 5 and 8)."""
    return STGCNPP(num_classes, in_channels, layout, **kwargs)
