"""Shift-GCN on sparse skeleton graphs.

From "Skeleton-Based Action Recognition with Shift Graph Convolutional Network" (Cheng,
Zhang, He, Chen, Cheng, Lu; CVPR 2020). ST-GCN's block plan (10 blocks 64..256, stride 2 at
blocks 5 and 8) with the spatial and temporal convolutions replaced by shift units, residuals
as in the official code. Runs on the batch's nodes directly: samples of any length and person
count share a batch without padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn

from ..graph.levels import SkeletonLevel
from ..layouts import LayoutLike, get_layout
from ..nn.dropout import Dropout
from ..nn.motion import MotionExcitation
from ..nn.shift import ShiftGraphConv, ShiftTemporalConv
from .registry import register_model
from .skeleton_classifier import SkeletonClassifier, residual_branch
from .stgcn import DEFAULT_CHANNELS, DEFAULT_STRIDES, QUICK_CONFIG


class ShiftGCNBlock(nn.Module):
    """Spatial shift unit -> temporal shift unit (+ motion excitation), residual, ReLU.

    Args:
        in_channels, out_channels: Widths.
        layout: Skeleton layout.
        stride: Temporal stride of the temporal unit.
        spatial_shift: ``"nonlocal"`` or ``"local"``.
        temporal_shift: ``"fixed"`` or ``"adaptive"``.
        kernel_size: Window of the fixed temporal shift.
        impl: ``"message"`` or ``"gather"`` for every shift.
        dropout: Dropout after the temporal unit.
        residual: Add a residual branch (identity, or linear + BN when the shape changes, the
            official strided ``1x1`` convolution).
        motion_excitation: Add :class:`~pyg_action.nn.motion.MotionExcitation` of the spatial
            unit's output in parallel with the temporal unit.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        layout: LayoutLike,
        stride: int = 1,
        spatial_shift: str = "nonlocal",
        temporal_shift: str = "adaptive",
        kernel_size: int = 3,
        impl: str = "gather",
        dropout: float = 0.0,
        residual: bool = True,
        motion_excitation: bool = False,
    ) -> None:
        super().__init__()
        self.stride = stride
        self.gcn = ShiftGraphConv(in_channels, out_channels, layout, spatial_shift, impl)
        self.tcn = ShiftTemporalConv(
            out_channels, out_channels, stride, temporal_shift, kernel_size, impl
        )
        self.motion = MotionExcitation(out_channels) if motion_excitation else None
        self.dropout = Dropout(dropout)
        self.residual = residual_branch(in_channels, out_channels, stride, residual)
        if isinstance(self.residual, nn.Sequential):  # official initialisation of the projection
            linear = cast(nn.Linear, self.residual[0])
            nn.init.kaiming_normal_(linear.weight, mode="fan_out")
            nn.init.zeros_(linear.bias)

    def forward(self, x: Tensor, level: SkeletonLevel) -> tuple[Tensor, SkeletonLevel]:
        g = self.gcn(x)
        h = self.tcn(g, level)
        if self.motion is not None:
            h = h + level.select_kept(self.motion(g, level), self.stride)
        h = self.dropout(h)
        if self.residual is not None:
            h = h + self.residual(level.select_kept(x, self.stride))
        return torch.relu(h), level.coarsen(self.stride)


class ShiftGCN(SkeletonClassifier):
    """Shift-GCN classifier over batched skeleton graphs.

    Shares ST-GCN's pipeline
    (:class:`~pyg_action.models.skeleton_classifier.SkeletonClassifier`: input batch-norm,
    blocks over :class:`~pyg_action.graph.levels.SkeletonLevel`, mean over frames, joints and
    persons, linear classifier); only the blocks differ. The input batch-norm has ``V * C``
    statistics (the official one also splits by person slot, which needs a fixed person
    count).

    Args:
        num_classes: Output classes.
        in_channels: Node feature width.
        layout: Skeleton layout (must match the data's).
        channels: Output width of each block.
        strides: Temporal stride of each block.
        spatial_shift: ``"nonlocal"`` (official) or ``"local"``.
        temporal_shift: ``"adaptive"`` (official) or ``"fixed"``.
        kernel_size: Window of the fixed temporal shift.
        impl: ``"gather"`` (tensor indexing) or ``"message"`` (message passing) for the shifts.
        dropout: Dropout inside the blocks (the official model has none).
        motion_excitation: Motion excitation in parallel with every block's temporal unit
            except the first.
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
        channels: Sequence[int] = DEFAULT_CHANNELS,
        strides: Sequence[int] = DEFAULT_STRIDES,
        spatial_shift: str = "nonlocal",
        temporal_shift: str = "adaptive",
        kernel_size: int = 3,
        impl: str = "gather",
        dropout: float = 0.0,
        motion_excitation: bool = False,
        data_norm: bool = True,
    ) -> None:
        shift_layout = get_layout(layout)

        def make_block(i: int, c_in: int, c_out: int, stride: int) -> nn.Module:
            return ShiftGCNBlock(
                c_in,
                c_out,
                shift_layout,
                stride,
                spatial_shift,
                temporal_shift,
                kernel_size,
                impl,
                dropout=0.0 if i == 0 else dropout,
                residual=i > 0,
                motion_excitation=motion_excitation and i > 0,
            )

        super().__init__(num_classes, in_channels, layout, channels, strides, make_block, data_norm)
        self.uses_spatial_edges = False  # shifts within each frame, no spatial edge
        nn.init.normal_(self.classifier.weight, 0.0, (2.0 / num_classes) ** 0.5)


#: ``pyg-action train --model shiftgcn`` without a config uses ST-GCN's CPU-sized recipe.
@register_model(
    "shiftgcn", default_data={"name": "synthetic"}, quick_config=QUICK_CONFIG, options=ShiftGCN
)
def shiftgcn(
    num_classes: int,
    in_channels: int = 3,
    layout: LayoutLike = "ntu25",
    strategy: str | None = None,
    max_hop: int | None = None,
    dilation: int | None = None,
    **kwargs: Any,
) -> ShiftGCN:
    """Shift-GCN (ST-GCN's 10-block plan with shift units).

    ``strategy``, ``max_hop`` and ``dilation`` are accepted because the training engine
    passes the graph options to every skeleton model; shifts use no partitions, so they are
    ignored.
    """
    return ShiftGCN(num_classes, in_channels, layout, **kwargs)
