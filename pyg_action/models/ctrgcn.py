"""CTR-GCN on sparse skeleton batches.

From "Channel-wise Topology Refinement Graph Convolution for Skeleton-Based Action Recognition"
(Chen, Zhang, Yuan, Li, Deng, Hu; ICCV 2021). Ten blocks of width 64-256 as in ST-GCN; each
block is a channel-wise topology refinement graph convolution over the all-pairs joint graph
of every frame (:class:`~pyg_action.nn.ctr_conv.ChannelTopologyGraphConv`, three partitions)
with a residual, then a multi-scale temporal convolution (5-frame windows with dilations 1 and
2, a max-pool and a point-wise branch, each ending in a batch-norm:
:class:`~pyg_action.nn.multiscale_tcn.MultiScaleTemporalConv`), plus the block residual. The
input batch-norm has separate statistics for every person slot (the official ``M V C``
batch-norm). Samples of any length and person count share a batch without padding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch
from torch import Tensor, nn

from ..graph.levels import SkeletonLevel
from ..layouts import LayoutLike, adjacency_tensor, get_layout
from ..nn.ctr_conv import (
    ChannelTopologyGraphConv,
    block_relation_width,
    check_relation_channels,
    check_relation_reduction,
)
from ..nn.drop_graph import DropGraph, DropRate, check_drop_graph
from ..nn.drop_path import SampleDropPath, depth_rates
from ..nn.dropout import Dropout
from ..nn.multiscale_tcn import MultiScaleTemporalConv
from .registry import register_model
from .skeleton_classifier import SkeletonClassifier, quick_skeleton_config, residual_branch
from .stgcn import DEFAULT_CHANNELS, DEFAULT_STRIDES

DropRateT = TypeVar("DropRateT", bound=DropRate)


def ctrgcn_adjacency(
    layout: LayoutLike, strategy: str = "inward_outward", max_hop: int = 1, dilation: int = 1
) -> Tensor:
    """The initial ``(K, V, V)`` topology ``A[k, u, v]`` (target ``u``, source ``v``): the
    layout's partitioned adjacency over neighbourhoods of ``max_hop`` hops (every
    ``dilation``-th), transposed from its ``[k, source, target]`` order."""
    dense = adjacency_tensor(get_layout(layout), strategy, max_hop, dilation)
    return torch.tensor(dense, dtype=torch.float32).transpose(1, 2).contiguous()


class PersonDataNorm(nn.Module):
    r"""Batch-norm of the input over (person slot, joint, channel): ``M V C`` statistics, the
    frames of a sample's ``m``-th person normalised with slot ``m``'s.

    With the ``(F, V C)`` rows of the frames and ``s(f)`` the person slot of frame ``f``, in
    training

    .. math::

        \mu_m = \frac{1}{n_m} \sum_{s(f) = m} x_f, \quad
        \sigma_m^2 = \frac{1}{n_m} \sum_{s(f) = m} (x_f - \mu_m)^2, \quad
        y_f = \gamma_{s(f)} \frac{x_f - \mu_{s(f)}}{\sqrt{\sigma_{s(f)}^2 + \epsilon}}
              + \beta_{s(f)},

    all slots at once: the sums over a slot's frames and the gathers back to the frames are
    products with the ``(F, M)`` slot indicator (reductions, no atomic adds into ``M`` rows;
    in full precision under autocast). The running averages of the slots that have frames
    move as ``nn.BatchNorm1d``'s do (unbiased variance; a cumulative average when the momentum
    is ``None``); in eval mode they replace ``\mu, \sigma^2``. The official model zero pads
    every sample to ``M`` persons and its batch statistics count the padding; here only the
    persons present count (no padding exists). Samples with more than ``M`` persons are an
    error.

    Under data-parallel training :attr:`reduce_statistics` sums ``n_m``, the slot sums and the
    squared deviations over the processes (set by
    :func:`~pyg_action.engine.distributed.sync_batchnorm`), so the statistics are those of the
    global batch, as for every other batch-norm of the model; a process whose shard has no
    frame of some slot takes part all the same.
    """

    def __init__(self, in_channels: int, num_joints: int, num_persons: int = 2) -> None:
        super().__init__()
        self.num_persons = num_persons
        self.width = in_channels * num_joints
        self.norm = nn.BatchNorm1d(num_persons * self.width)
        #: Sums a tensor over the data-parallel processes (differentiably); ``None``: one process.
        self.reduce_statistics: Callable[[Tensor], Tensor] | None = None

    def forward(self, x: Tensor, level: SkeletonLevel) -> Tensor:
        most = max(level.shape.persons)
        if most > self.num_persons:
            raise ValueError(
                f"a sample has {most} persons; the input batch-norm has statistics for "
                f"{self.num_persons} (model option num_persons)"
            )
        norm, slots = self.norm, (self.num_persons, self.width)
        rows = x.reshape(level.shape.num_frames, self.width)
        arange = torch.arange(self.num_persons, device=x.device)
        member = (level.frame_person.unsqueeze(1) == arange).to(rows.dtype)
        with torch.autocast(x.device.type, enabled=False):
            if norm.training or norm.running_mean is None or norm.running_var is None:
                counts = level.person_frame_counts(self.num_persons)
                mean, var = self._batch_statistics(rows, member, counts)
            else:
                mean, var = norm.running_mean.view(slots), norm.running_var.view(slots)
            scale = norm.weight.view(slots) * torch.rsqrt(var + norm.eps)
            shift = norm.bias.view(slots) - mean * scale
            out = rows * (member @ scale) + member @ shift
        return out.view(x.shape)

    def _batch_statistics(
        self, rows: Tensor, member: Tensor, counts: Tensor
    ) -> tuple[Tensor, Tensor]:
        """``(M, V C)`` mean and biased variance of every slot's ``(F, V C)`` rows (over every
        process) from the ``(F, M)`` slot indicator and the ``(M,)`` frame counts, and the
        running averages' update."""
        reduce = self.reduce_statistics
        sums = member.t() @ rows
        if reduce is not None:
            packed = reduce(torch.cat([sums, counts.unsqueeze(1)], dim=1))
            sums, counts = packed[:, :-1], packed[:, -1].detach()
        divisor = counts.clamp(min=1.0).unsqueeze(1)
        mean = sums / divisor
        centred = rows - member @ mean
        squares = member.t() @ (centred * centred)
        if reduce is not None:
            squares = reduce(squares)
        self._update_running_statistics(mean.detach(), squares.detach(), counts)
        return mean, squares / divisor

    @torch.no_grad()
    def _update_running_statistics(self, mean: Tensor, squares: Tensor, counts: Tensor) -> None:
        """``nn.BatchNorm1d``'s update of the running mean and unbiased variance, for the slots
        with frames only."""
        norm = self.norm
        if not norm.training or norm.running_mean is None or norm.running_var is None:
            return
        momentum = 0.0 if norm.momentum is None else norm.momentum
        if norm.num_batches_tracked is not None:
            norm.num_batches_tracked.add_(1)
            if norm.momentum is None:  # a cumulative average, as nn.BatchNorm1d keeps then
                momentum = 1.0 / float(norm.num_batches_tracked)
        factor = (counts > 0).to(mean.dtype).unsqueeze(1) * momentum
        unbiased = squares / (counts - 1.0).clamp(min=1.0).unsqueeze(1)
        slots = (self.num_persons, self.width)
        norm.running_mean.view(slots).lerp_(mean, factor)
        norm.running_var.view(slots).lerp_(unbiased, factor)


def drop_graph_layers(
    kind: type[DropRateT],
    p: float,
    blocks: int,
    frames: int,
    ramp_epochs: int,
    adjacency: Tensor,
    num_blocks: int,
) -> list[DropRateT]:
    """One DropGraph layer of ``kind`` (on node rows or dense) per block: rate ``p`` in the
    last ``blocks``, 0 before (options checked, naming them; ``blocks`` only where ``p > 0``)."""
    check_drop_graph(p, frames, ramp_epochs)
    if p > 0 and not 0 <= blocks <= num_blocks:
        raise ValueError(
            f"drop_graph_blocks={blocks}: between 0 and the model's {num_blocks} blocks"
        )
    first = num_blocks - blocks
    return [
        kind(p if i >= first else 0.0, adjacency, frames, ramp_epochs) for i in range(num_blocks)
    ]


class CTRGCNBlock(nn.Module):
    """``relu(BN(CTR-GC(x)) + down(x))`` -> multi-scale temporal conv, plus the block residual,
    then ReLU.

    Args:
        in_channels, out_channels: Widths.
        adjacency: ``(K, V, V)`` initial topology.
        stride: Temporal stride.
        kernel_size: Window of the dilated temporal branches.
        dilations: Their dilations.
        residual: Add the block residual (identity, or linear + BN when the shape changes).
        drop_path: Probability that a training sample skips the block's graph and temporal
            convolutions and keeps only its residual (:class:`SampleDropPath`; needs
            ``residual``).
        rel_channels: Width of ``φ, ψ`` (default: :func:`~pyg_action.nn.ctr_conv.relation_width`).
        drop_graph: A :class:`~pyg_action.nn.drop_graph.DropGraph` for the temporal
            convolution's output and the residual, each with its own draws (DC-GCN's
            placement); ``None``: none.
        learn_adjacency: Learn ``A`` (see :class:`CTRGCN`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        adjacency: Tensor,
        stride: int = 1,
        kernel_size: int = 5,
        dilations: Sequence[int] = (1, 2),
        residual: bool = True,
        drop_path: float = 0.0,
        rel_channels: int | None = None,
        drop_graph: DropGraph | None = None,
        learn_adjacency: bool = True,
    ) -> None:
        super().__init__()
        if drop_path > 0 and not residual:
            raise ValueError("drop_path needs the block residual")
        self.stride = stride
        self.gcn = ChannelTopologyGraphConv(
            in_channels,
            out_channels,
            adjacency,
            rel_channels=rel_channels,
            learn_adjacency=learn_adjacency,
        )
        self.norm_gcn = nn.BatchNorm1d(out_channels)
        nn.init.constant_(self.norm_gcn.weight, 1e-6)  # the official start: gcn ~ its residual
        self.gcn_residual = residual_branch(in_channels, out_channels, 1)
        self.tcn = MultiScaleTemporalConv(
            out_channels,
            out_channels,
            stride,
            kernel_size,
            dilations,
            transform=False,
            branch_norm=True,
            first_takes_rest=False,
        )
        self.residual = residual_branch(in_channels, out_channels, stride, residual)
        self.drop_path = SampleDropPath(drop_path)
        self.drop_graph = drop_graph or DropGraph(0.0, adjacency)

    def forward(self, x: Tensor, level: SkeletonLevel) -> tuple[Tensor, SkeletonLevel]:
        assert self.gcn_residual is not None
        g = torch.relu(self.norm_gcn(self.gcn(x, level)) + self.gcn_residual(x))
        coarse = level.coarsen(self.stride)
        h = self.drop_graph(self.tcn(g, level), coarse)
        if self.residual is not None:
            h = self.drop_path(h, coarse.node_sample, coarse.shape.num_samples)
            skip = self.residual(level.select_kept(x, self.stride))
            h = h + self.drop_graph(skip, coarse)
        return torch.relu(h), coarse


class CTRGCN(SkeletonClassifier):
    """CTR-GCN classifier over batched skeleton graphs.

    Args:
        num_classes: Output classes.
        in_channels: Node feature width.
        layout: Skeleton layout (must match the data's).
        strategy: Partitioning of the initial topology (official: ``inward_outward``).
        channels: Output width of each block.
        strides: Temporal stride of each block.
        kernel_size: Window of the dilated temporal branches (official: 5).
        dilations: Their dilations (official: 1, 2).
        num_persons: Person slots of the input batch-norm (official: 2).
        dropout: Dropout before the classifier (official: 0).
        drop_path: Stochastic depth (official: 0): block ``i`` of ``L`` is skipped by a
            training sample with probability ``drop_path * i / (L - 1)``, keeping its residual
            (the first block, which has none, never).
        input_branches, branch_blocks: Input streams as separate branches for the first
            blocks, concatenated after them (not in the official model; see
            :class:`~pyg_action.models.skeleton_classifier.SkeletonClassifier`).
        input_relation_channels: Width of ``φ, ψ`` in the blocks that read the input (the
            first block, or the first of every input branch); default the rule of
            :func:`~pyg_action.nn.ctr_conv.relation_width` (8 for 3 or 9 channels, as official).
        relation_reduction: The ``φ, ψ`` width of each block after the input blocks is its
            input width divided by this (official: 8;
            :func:`~pyg_action.nn.ctr_conv.relation_width`).
        drop_graph: DropGraph rate (not in the official CTR-GCN; DC-GCN's regulariser,
            :class:`~pyg_action.nn.drop_graph.DropGraph`: joints with their neighbours, then
            windows of frames) in the last ``drop_graph_blocks`` blocks (DC-GCN: 0.1 in the
            last 4 of 10), on each block's temporal output and residual; 0: none.
        drop_graph_blocks: How many of the last blocks drop.
        drop_graph_frames: DropGraph's temporal window (odd; DC-GCN: 41 at 300-frame inputs,
            so about 55 % of the frames at the last blocks' quarter rate).
        drop_graph_ramp_epochs: Epochs over which the DropGraph rate rises linearly from 0
            (DC-GCN: 100; 0: the full rate from the start). The trainer sets each epoch's rate.
        max_hop, dilation: Neighbourhood of the initial topology (official: 1, 1). The
            refinement and the learned ``A`` reach every joint pair whatever the start.
        learn_adjacency: Learn ``A`` from its start (official); ``False`` keeps the start
            fixed in every block (the official ``adaptive=False``), so only the per-sample
            refinement adapts the topology.

    Shapes:
        - **input:** a batch from :class:`~pyg_action.graph.SkeletonGraphBuilder`
        - **output:** logits ``(B, num_classes)``
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        layout: LayoutLike = "ntu25",
        strategy: str = "inward_outward",
        channels: Sequence[int] = DEFAULT_CHANNELS,
        strides: Sequence[int] = DEFAULT_STRIDES,
        kernel_size: int = 5,
        dilations: Sequence[int] = (1, 2),
        num_persons: int = 2,
        dropout: float = 0.0,
        drop_path: float = 0.0,
        input_branches: int = 1,
        branch_blocks: int = 2,
        input_relation_channels: int | None = None,
        relation_reduction: int = 8,
        drop_graph: float = 0.0,
        drop_graph_blocks: int = 4,
        drop_graph_frames: int = 41,
        drop_graph_ramp_epochs: int = 0,
        max_hop: int = 1,
        dilation: int = 1,
        learn_adjacency: bool = True,
    ) -> None:
        check_relation_channels(input_relation_channels)
        check_relation_reduction(relation_reduction)
        adjacency = ctrgcn_adjacency(layout, strategy, max_hop, dilation)
        drop_graphs = drop_graph_layers(
            DropGraph,
            drop_graph,
            drop_graph_blocks,
            drop_graph_frames,
            drop_graph_ramp_epochs,
            adjacency,
            len(channels),
        )
        rates = depth_rates(drop_path, len(channels))

        def make_block(i: int, c_in: int, c_out: int, stride: int) -> nn.Module:
            rel = block_relation_width(i, c_in, input_relation_channels, relation_reduction)
            return CTRGCNBlock(
                c_in,
                c_out,
                adjacency,
                stride,
                kernel_size,
                dilations,
                i > 0,
                rates[i],
                rel,
                drop_graphs[i],
                learn_adjacency,
            )

        super().__init__(
            num_classes,
            in_channels,
            layout,
            channels,
            strides,
            make_block,
            False,
            input_branches,
            branch_blocks,
        )
        self.uses_spatial_edges = False
        self.person_norm = PersonDataNorm(in_channels, self.layout.num_joints, num_persons)
        self.dropout = Dropout(dropout)
        nn.init.normal_(self.classifier.weight, 0.0, (2.0 / num_classes) ** 0.5)
        nn.init.zeros_(self.classifier.bias)

    def forward_nodes(self, batch: Any) -> tuple[Tensor, SkeletonLevel]:
        level = SkeletonLevel.from_batch(batch, self.layout.num_joints, None, spatial=False)
        return self.run_blocks(self.person_norm(batch.x, level), level)

    def forward_head(self, features: Tensor) -> Tensor:
        return self.classifier(self.dropout(features))


#: ``pyg-action train --model ctrgcn`` without a config: quarter width, 6 blocks, 32 frames.
QUICK_CONFIG = quick_skeleton_config(
    {
        "channels": [16, 16, 32, 32, 64, 64],
        "strides": [1, 1, 2, 1, 2, 1],
        "kernel_size": 5,
        "strategy": "inward_outward",
    }
)


@register_model(
    "ctrgcn", default_data={"name": "synthetic"}, quick_config=QUICK_CONFIG, options=CTRGCN
)
def ctrgcn(
    num_classes: int, in_channels: int = 3, layout: LayoutLike = "ntu25", **kwargs: Any
) -> CTRGCN:
    """CTR-GCN (10 blocks 64-64-64-64-128-128-128-256-256-256, stride 2 at blocks 5 and 8)."""
    return CTRGCN(num_classes, in_channels, layout, **kwargs)
