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
from torch_geometric.nn import global_mean_pool

from ..graph.levels import SkeletonLevel
from ..layouts import LayoutLike, get_layout, layout_graph
from ..nn import PartitionedGraphConv, TemporalGraphConv
from ..nn.motion import MotionExcitation
from .registry import register_model

DEFAULT_CHANNELS = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)
DEFAULT_STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)


class DataNorm(nn.Module):
    """Batch-norm of the input over (joint, channel): ``V * C`` statistics.

    Nodes are ordered with the joint fastest, so ``(N, C)`` views as ``(N / V, V * C)``.
    """

    def __init__(self, in_channels: int, num_joints: int) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.norm = nn.BatchNorm1d(in_channels * num_joints)

    def forward(self, x: Tensor) -> Tensor:
        frames = x.shape[0] // self.num_joints
        return self.norm(x.reshape(frames, -1)).reshape(x.shape)


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
        self.dropout = nn.Dropout(dropout)
        self.motion = MotionExcitation(out_channels) if motion_excitation else None
        self.residual: nn.Module | None
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Linear(in_channels, out_channels), nn.BatchNorm1d(out_channels)
            )

    def forward(self, x: Tensor, level: SkeletonLevel) -> tuple[Tensor, SkeletonLevel]:
        out_level = level.coarsen(self.stride)
        g = torch.relu(self.norm_gcn(self.gcn(x, **level.spatial)))
        if self.temporal_impl == "tracks":
            h = self.tcn.forward_tracks(g, level.lengths, level.num_joints)
        else:
            edge_index, edge_type = level.temporal(
                self.tcn.kernel_size, self.tcn.dilation, self.stride
            )
            h = self.tcn(g, edge_index, edge_type, out_level.num_nodes)
        h = self.dropout(self.norm_tcn(h))
        keep = None if self.stride == 1 else level.keep_mask(self.stride)
        if self.motion is not None:
            excited = self.motion(g, level)
            h = h + (excited if keep is None else excited[keep])
        if self.residual is not None:
            h = h + self.residual(x if keep is None else x[keep])
        return torch.relu(h), out_level


class STGCN(nn.Module):
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
        super().__init__()
        if len(channels) != len(strides):
            raise ValueError(f"{len(channels)} channel widths but {len(strides)} strides")
        self.layout = get_layout(layout)
        graph = layout_graph(self.layout, strategy, max_hop, dilation)
        self.num_partitions = graph.num_types
        self.num_edge_slots = graph.num_edges
        self.num_classes = num_classes
        self.data_norm = DataNorm(in_channels, self.layout.num_joints) if data_norm else None
        slots = self.num_edge_slots if edge_importance else None
        widths = [in_channels, *channels]
        self.blocks = nn.ModuleList(
            STGCNBlock(
                widths[i],
                widths[i + 1],
                self.num_partitions,
                slots,
                kernel_size,
                strides[i],
                dropout=0.0 if i == 0 else dropout,
                residual=i > 0,
                motion_excitation=motion_excitation and i > 0,
                temporal_impl=temporal_impl,
            )
            for i in range(len(channels))
        )
        self.classifier = nn.Linear(widths[-1], num_classes)

    def forward_nodes(self, batch: Any) -> tuple[Tensor, SkeletonLevel]:
        """Node features after the last block ``(N', C)`` and their graph level."""
        level = SkeletonLevel.from_batch(batch, self.layout.num_joints)
        x = batch.x if self.data_norm is None else self.data_norm(batch.x)
        for block in self.blocks:
            x, level = block(x, level)
        return x, level

    def forward_features(self, batch: Any) -> Tensor:
        """Pooled features ``(B, C)``: mean over frames, joints and persons."""
        x, level = self.forward_nodes(batch)
        return global_mean_pool(x, level.node_sample, size=int(batch.num_frames.numel()))

    def forward_head(self, features: Tensor) -> Tensor:
        return self.classifier(features)

    def forward(self, batch: Any) -> Tensor:
        return self.forward_head(self.forward_features(batch))

    def joint_responses(self, batch: Any) -> Tensor:
        """Class scores of every joint ``(B, V, num_classes)``, averaged over frames and persons.

        The classifier is linear and pooling is a mean, so the mean over joints of these
        responses (plus nothing else) equals the logits: they show which joints drive a
        prediction.
        """
        x, level = self.forward_nodes(batch)
        joint = torch.arange(level.num_nodes, device=x.device) % self.layout.num_joints
        group = level.node_sample * self.layout.num_joints + joint
        num_samples = int(batch.num_frames.numel())
        pooled = global_mean_pool(x, group, size=num_samples * self.layout.num_joints)
        return self.classifier(pooled).view(num_samples, self.layout.num_joints, -1)


#: ``pyg-action train --model stgcn`` without a config: quarter width, 6 blocks, 32 frames, so it
#: trains in minutes on a laptop CPU. The paper-sized model is the default of the class and
#: of the shipped configs.
QUICK_CONFIG = {
    "model": {"channels": [16, 16, 32, 32, 64, 64], "strides": [1, 1, 2, 1, 2, 1], "dropout": 0.2},
    "data": {
        "num_samples": 480,
        "transforms": {
            "train": [
                "pre_normalize",
                {"name": "uniform_sample", "length": 32, "mode": "train"},
                {"name": "random_rotate", "angles": [10, 10, 10]},
            ],
            "test": ["pre_normalize", {"name": "uniform_sample", "length": 32}],
        },
    },
    "train": {
        "epochs": 8,
        "batch_size": 16,
        "optimizer": {"lr": 0.05},
        "scheduler": {"warmup_epochs": 1},
    },
}


@register_model("stgcn", default_data={"name": "synthetic"}, quick_config=QUICK_CONFIG)
def stgcn(
    num_classes: int, in_channels: int = 3, layout: LayoutLike = "ntu25", **kwargs: Any
) -> STGCN:
    """ST-GCN (10 blocks 64-64-64-64-128-128-128-256-256-256, stride 2 at blocks 5 and 8)."""
    return STGCN(num_classes, in_channels, layout, **kwargs)
