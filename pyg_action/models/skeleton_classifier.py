"""What ST-GCN and Shift-GCN share: input batch-norm, a stack of blocks over the skeleton
graph's levels, mean pooling and a linear classifier."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn
from torch_geometric.nn import global_mean_pool

from ..graph.levels import SkeletonLevel
from ..layouts import LayoutLike, get_layout
from ..layouts.partitions import LayoutGraph
from ..nn.linear_map import Linear

#: ``make_block(index, in_channels, out_channels, stride)``; the block maps ``(x, level)`` to
#: ``(x', level')``.
BlockFactory = Callable[[int, int, int, int], nn.Module]


def quick_skeleton_config(model: dict[str, Any]) -> dict[str, Any]:
    """The config sections of ``pyg-action train --model NAME`` without a config: ``model``
    (CPU-sized options of the model) on 480 synthetic samples, 32 frames, 8 epochs, so that
    every skeleton model trains in minutes on a laptop CPU."""
    return {
        "model": model,
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


def at_least_fp32(x: Tensor) -> Tensor:
    """``x`` in float32 when it is in a lower precision (autocast), else as it is: pooling
    sums thousands of nodes, which a bf16 sum (added atomically on CUDA) rounds away."""
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def residual_branch(
    in_channels: int, out_channels: int, stride: int, enabled: bool = True
) -> nn.Module | None:
    """A block's residual on node features: ``None`` when disabled, the identity when the
    shape is kept, else linear + batch-norm (applied to the nodes a stride keeps)."""
    if not enabled:
        return None
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return nn.Sequential(Linear(in_channels, out_channels), nn.BatchNorm1d(out_channels))


def check_input_branches(
    in_channels: int, num_blocks: int, input_branches: int, branch_blocks: int
) -> None:
    """Raise a ``ValueError`` naming the option when ``input_branches`` groups of channels
    cannot each feed ``branch_blocks`` blocks of a ``num_blocks``-block model."""
    if input_branches < 1 or in_channels % input_branches:
        raise ValueError(
            f"input_branches={input_branches}: must be a positive divisor of the {in_channels} "
            "input channels (one equal group per branch)"
        )
    if not 1 <= branch_blocks < num_blocks:
        raise ValueError(
            f"branch_blocks={branch_blocks}: the input branches need between 1 and "
            f"{num_blocks - 1} of the {num_blocks} blocks, leaving at least one shared"
        )


def run_chain(
    blocks: nn.ModuleList, x: Tensor, level: SkeletonLevel
) -> tuple[Tensor, SkeletonLevel]:
    """``x`` through ``blocks`` in turn, each moving it to its output level."""
    for block in blocks:
        x, level = block(x, level)
    return x, level


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


class SkeletonClassifier(nn.Module):
    r"""Blocks over a batch of skeleton graphs, then mean pooling and a linear classifier.

    ``x`` ``(N, C_in)`` → :class:`DataNorm` → ``blocks`` (each ``(x, level) -> (x', level')``,
    a strided block moving to the coarser :class:`~pyg_action.graph.levels.SkeletonLevel`; with
    ``input_branches`` > 1 the first ``branch_blocks`` run once per group of input channels) →
    mean over every sample's frames, joints and persons ``(B, C)`` → logits ``(B, K)``.

    Args:
        num_classes: ``K``.
        in_channels: ``C_in``.
        layout: Skeleton layout (must match the data's).
        channels: Output width of each block.
        strides: Temporal stride of each block.
        make_block: Builds block ``i`` from its input width, output width and stride.
        data_norm: Batch-norm the input over (joint, channel).
        input_branches: ``S``: split the input's channels into ``S`` equal groups (one per
            input stream, e.g. joint, bone and motion) that each pass through their own copy
            of the first ``branch_blocks`` blocks; the ``S`` outputs are concatenated along
            the channels (width ``S * channels[branch_blocks - 1]``) for the blocks that
            follow. 1: every block sees every channel.
        branch_blocks: Blocks in each input branch (used when ``input_branches`` > 1).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        layout: LayoutLike,
        channels: Sequence[int],
        strides: Sequence[int],
        make_block: BlockFactory,
        data_norm: bool = True,
        input_branches: int = 1,
        branch_blocks: int = 2,
    ) -> None:
        super().__init__()
        if len(channels) != len(strides):
            raise ValueError(f"{len(channels)} channel widths but {len(strides)} strides")
        self.layout = get_layout(layout)
        self.num_classes = num_classes
        self.data_norm = DataNorm(in_channels, self.layout.num_joints) if data_norm else None
        widths = [in_channels, *channels]
        first_shared = 0
        #: The input branches (``S`` lists of blocks), or ``None`` when every block is shared.
        self.branches: nn.ModuleList | None = None
        if input_branches != 1:
            check_input_branches(in_channels, len(channels), input_branches, branch_blocks)
            first_shared = branch_blocks
            stream_widths = [in_channels // input_branches, *channels[:branch_blocks]]
            self.branches = nn.ModuleList(
                nn.ModuleList(
                    make_block(i, stream_widths[i], stream_widths[i + 1], strides[i])
                    for i in range(branch_blocks)
                )
                for _ in range(input_branches)
            )
            widths[branch_blocks] *= input_branches
        self.blocks = nn.ModuleList(
            make_block(i, widths[i], widths[i + 1], strides[i])
            for i in range(first_shared, len(channels))
        )
        self.classifier = Linear(widths[-1], num_classes)
        #: The spatial graph of every frame, for models with a spatial graph convolution.
        self.layout_graph: LayoutGraph | None = None
        #: Whether the blocks convolve over spatial edges (a batch's own edges are then used
        #: where their labels differ per frame); models that shift instead never read them.
        self.uses_spatial_edges = True

    def forward_nodes(self, batch: Any) -> tuple[Tensor, SkeletonLevel]:
        """Node features after the last block ``(N', C)`` and their graph level."""
        level = SkeletonLevel.from_batch(
            batch, self.layout.num_joints, self.layout_graph, spatial=self.uses_spatial_edges
        )
        x = batch.x if self.data_norm is None else self.data_norm(batch.x)
        return self.run_blocks(x, level)

    def run_blocks(self, x: Tensor, level: SkeletonLevel) -> tuple[Tensor, SkeletonLevel]:
        """``x`` ``(N, C_in)`` through the input branches (each its group of channels, the
        outputs concatenated) and the shared blocks: ``(N', C)`` and its level."""
        if self.branches is not None:
            parts = x.chunk(len(self.branches), dim=1)
            outputs = []
            for branch, part in zip(self.branches, parts, strict=True):
                out, branch_level = run_chain(cast(nn.ModuleList, branch), part, level)
                outputs.append(out)
            x, level = torch.cat(outputs, dim=1), branch_level
        return run_chain(self.blocks, x, level)

    def forward_features(self, batch: Any) -> Tensor:
        """Pooled features ``(B, C)``: mean over frames, joints and persons, summed in fp32
        (under autocast a bf16 sum over a sample's thousands of nodes, which CUDA adds
        atomically in bf16, loses whole digits)."""
        x, level = self.forward_nodes(batch)
        return level.sample_mean(at_least_fp32(x))

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
        num_samples = level.shape.num_samples
        pooled = global_mean_pool(
            at_least_fp32(x), group, size=num_samples * self.layout.num_joints
        )
        return self.classifier(pooled).view(level.shape.num_samples, self.layout.num_joints, -1)
