r"""Multi-scale temporal convolution on skeleton tracks (ST-GCN++, CTR-GCN).

The features of every node are split over parallel branches whose outputs are concatenated
along the channels:

* one branch per dilation :math:`\delta`: a point-wise map to the branch's width, batch-norm,
  ReLU, then a ``(Γ, 1)`` temporal convolution of dilation :math:`\delta` and the layer's
  stride;
* a max-pool branch: point-wise map, batch-norm, ReLU, then the maximum over 3 frames (with
  the stride);
* a point-wise branch: a point-wise map of the frames the stride keeps.

ST-GCN++ (pyskl's ``mstcn``) follows the concatenation with batch-norm, ReLU, a point-wise map
and batch-norm (``transform=True``); CTR-GCN instead ends every temporal branch with a
batch-norm (``branch_norm=True``) and uses the concatenation as it is.

On the tracks of a :class:`~pyg_action.graph.levels.SkeletonLevel` the branches need no
padding across samples. The point-wise maps and batch-norms of all branches act on every node,
so they are one map and one batch-norm over the concatenated widths. When every track has the
same length, the features are a channels-last ``(R, C, T, V)`` image and each branch is one
``conv2d`` (or ``max_pool2d``) with its own zero padding. Otherwise the tracks are laid once
end to end with at least :math:`P = \max(\delta)(Γ-1)/2` zero frames between them
(:meth:`~pyg_action.graph.levels.SkeletonLevel.frame_positions`), every branch reads that one
sequence without padding, trimmed by :math:`P - \delta(Γ-1)/2` frames at both ends, so that
output ``j`` of every branch is centred on the same position ``j s + P`` and every branch gives
as many frames; one gather then picks the kept frames of all branches together. The zero gaps
equal the convolution's zero padding; for the max-pool branch they equal its :math:`-\infty`
padding because its input follows a ReLU (every window holds its non-negative centre frame).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..graph.levels import SkeletonLevel
from .linear_map import Linear
from .stgcn_conv import TemporalGraphConv
from .track_conv import track_conv2d

#: Window of the max-pool branch.
POOL_WINDOW = 3


def branch_widths(out_channels: int, num_branches: int, first_takes_rest: bool) -> list[int]:
    """Widths of the branches: ``out_channels // num_branches`` each, the first taking the
    remainder (pyskl's rule) when ``first_takes_rest``, else an exact split (CTR-GCN's rule).

    Raises:
        ValueError: when an exact split is asked for and ``num_branches`` does not divide
            ``out_channels``, or when a branch would have no channel.
    """
    width = out_channels // num_branches
    if width < 1:
        raise ValueError(f"{out_channels} channels cannot feed {num_branches} branches")
    if not first_takes_rest:
        if out_channels % num_branches:
            raise ValueError(
                f"{out_channels} channels do not split evenly over {num_branches} branches"
            )
        return [width] * num_branches
    return [out_channels - width * (num_branches - 1)] + [width] * (num_branches - 1)


class MultiScaleTemporalConv(nn.Module):
    r"""Parallel dilated temporal convolutions, a max-pool and a point-wise branch (module
    notes).

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``, the concatenated width of the branches.
        stride: Temporal stride ``s``.
        kernel_size: Window :math:`Γ` of the dilated branches (odd).
        dilations: One temporal branch per dilation.
        transform: After the concatenation, batch-norm, ReLU and a point-wise map (ST-GCN++).
        branch_norm: Batch-norm at the end of every branch (CTR-GCN).
        first_takes_rest: The first branch takes the channels that do not split evenly
            (ST-GCN++); otherwise the branches must split ``C_out`` exactly (CTR-GCN).

    Attributes:
        reduce: The point-wise maps opening the temporal and max-pool branches, concatenated
            ``(sum of their widths, C_in)``; ``reduce_norm`` their batch-norms.
        convs: The temporal convolutions, one :class:`~pyg_action.nn.TemporalGraphConv` per
            dilation.
        point: The point-wise branch.
        post_norm: Per-branch batch-norms over the concatenation (``branch_norm``), else
            ``None``.
        transform: ``BN -> ReLU -> Linear`` after the concatenation, or ``None``.

    Shapes:
        - **input:** ``(N, C_in)`` node features of a level's tracks
        - **output:** ``(N', C_out)`` on the level after the stride
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        kernel_size: int = 3,
        dilations: Sequence[int] = (1, 2, 3, 4),
        transform: bool = True,
        branch_norm: bool = False,
        first_takes_rest: bool = True,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        if not dilations or min(dilations) < 1:
            raise ValueError(f"dilations must be positive integers, got {list(dilations)}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.kernel_size = kernel_size
        self.dilations = tuple(int(d) for d in dilations)
        widths = branch_widths(out_channels, len(self.dilations) + 2, first_takes_rest)
        self.widths = widths
        reduced = sum(widths[:-1])
        self.reduce = Linear(in_channels, reduced)
        self.reduce_norm = nn.BatchNorm1d(reduced)
        self.convs = nn.ModuleList(
            TemporalGraphConv(w, w, kernel_size, stride, d)
            for w, d in zip(widths, self.dilations, strict=False)
        )
        self.point = Linear(in_channels, widths[-1])
        self.post_norm = nn.BatchNorm1d(out_channels) if branch_norm else None
        self.transform = (
            nn.Sequential(
                nn.BatchNorm1d(out_channels), nn.ReLU(), Linear(out_channels, out_channels)
            )
            if transform
            else None
        )

    @property
    def padding(self) -> int:
        """The widest branch's reach :math:`P` on either side of a frame."""
        return max(max(self.dilations) * (self.kernel_size - 1) // 2, POOL_WINDOW // 2)

    def forward(self, x: Tensor, level: SkeletonLevel) -> Tensor:
        h = torch.relu(self.reduce_norm(self.reduce(x)))
        if level.shape.equal_lengths:
            temporal = self._equal_lengths(h, level)
        else:
            temporal = self._mixed_lengths(h, level)
        out = torch.cat([temporal, self.point(level.select_kept(x, self.stride))], 1)
        if self.post_norm is not None:
            out = self.post_norm(out)
        if self.transform is not None:
            out = self.transform(out)
        return out

    def _branches(self, image: Tensor, offset: int) -> list[Tensor]:
        """Every temporal and max-pool branch of a channels-last ``(R, C, T, V)`` image:
        ``offset`` ``0`` pads each branch itself; ``offset`` ``P`` reads the frames from
        ``P - reach`` to ``P - reach`` before the end, unpadded (the one-sequence layout)."""
        parts = torch.split(image, self.widths[:-1], dim=1)
        convs: list[TemporalGraphConv | None] = [*self.convs, None]  # type: ignore[list-item]
        outputs = []
        for conv, part in zip(convs, parts, strict=True):
            dilation = 1 if conv is None else conv.dilation
            reach = dilation * ((POOL_WINDOW if conv is None else conv.kernel_size) - 1) // 2
            pad = reach if offset == 0 else 0
            if offset > reach:  # trimmed at both ends: every branch gives as many frames
                part = part[:, :, offset - reach : part.shape[2] - (offset - reach)]
            if conv is None:
                outputs.append(F.max_pool2d(part, (POOL_WINDOW, 1), (self.stride, 1), (pad, 0)))
            else:
                outputs.append(
                    track_conv2d(part, conv.weight, conv.bias, pad, dilation, self.stride)
                )
        return outputs

    def _equal_lengths(self, h: Tensor, level: SkeletonLevel) -> Tensor:
        frames, joints = level.shape.lengths[0], level.num_joints
        images = h.view(-1, frames, joints, h.shape[1]).permute(0, 3, 1, 2)
        out = torch.cat(self._branches(images, 0), 1)
        return out.permute(0, 2, 3, 1).reshape(-1, out.shape[1])

    def _mixed_lengths(self, h: Tensor, level: SkeletonLevel) -> Tensor:
        joints, width, pad = level.num_joints, h.shape[1], self.padding
        position, output, total = level.frame_positions(pad, self.stride)
        rows = h.view(-1, joints, width)
        sequence = rows.new_zeros(total, joints, width).index_copy(0, position, rows)
        out = torch.cat(self._branches(sequence.permute(2, 0, 1).unsqueeze(0), pad), 1)
        out = out.permute(0, 2, 3, 1).reshape(-1, joints, width)
        return out.index_select(0, output).reshape(-1, width)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"stride={self.stride}, dilations={list(self.dilations)})"
        )
