"""Dense Shift-GCN reference in the official ``(N, C, T, V, M)`` formulation.

Fixed ``T`` and ``M`` per call (run shorter samples alone). Parameter names follow the sparse
:class:`~pyg_action.models.shiftgcn.ShiftGCN` except ``data_bn``; ``1x1`` convolutions hold
the sparse model's linear weights with two trailing unit axes, so
:func:`sparse_state_from_dense` is a rename and reshape.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..layouts import LayoutLike, get_layout
from ..nn.dense.shift import DenseMotionExcitation, DenseShiftGraphConv, DenseShiftTemporalConv
from .dense_stgcn import dense_residual_branch
from .stgcn import DEFAULT_CHANNELS, DEFAULT_STRIDES


class DenseShiftGCNBlock(nn.Module):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        layout: LayoutLike,
        stride: int,
        spatial_shift: str,
        temporal_shift: str,
        kernel_size: int,
        residual: bool,
        motion_excitation: bool,
    ) -> None:
        super().__init__()
        self.gcn = DenseShiftGraphConv(in_channels, out_channels, layout, spatial_shift)
        self.tcn = DenseShiftTemporalConv(
            out_channels, out_channels, stride, temporal_shift, kernel_size
        )
        self.stride = stride
        self.motion = DenseMotionExcitation(out_channels) if motion_excitation else None
        self.residual = dense_residual_branch(in_channels, out_channels, stride, residual)

    def forward(self, x: Tensor) -> Tensor:
        g = self.gcn(x)
        h = self.tcn(g)
        if self.motion is not None:
            h = h + self.motion(g)[:, :, :: self.stride]
        if self.residual is not None:
            h = h + self.residual(x)
        return torch.relu(h)


class DenseShiftGCN(nn.Module):
    """The official dense Shift-GCN, configurable like :class:`~pyg_action.models.shiftgcn.ShiftGCN`
    (no dropout: a reference for eval-mode and fixed-batch parity)."""

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
        motion_excitation: bool = False,
        data_norm: bool = True,
    ) -> None:
        super().__init__()
        layout = get_layout(layout)
        self.data_bn = nn.BatchNorm1d(in_channels * layout.num_joints) if data_norm else None
        widths = [in_channels, *channels]
        self.blocks = nn.ModuleList(
            DenseShiftGCNBlock(
                widths[i],
                widths[i + 1],
                layout,
                strides[i],
                spatial_shift,
                temporal_shift,
                kernel_size,
                residual=i > 0,
                motion_excitation=motion_excitation and i > 0,
            )
            for i in range(len(channels))
        )
        self.classifier = nn.Linear(widths[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)
        if self.data_bn is not None:
            x = self.data_bn(x)
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for block in self.blocks:
            x = block(x)
        return self.classifier(x.view(n, m, x.shape[1], -1).mean(3).mean(1))


def sparse_state_from_dense(
    dense_state: dict[str, Tensor], sparse_state: dict[str, Tensor]
) -> dict[str, Tensor]:
    """``DenseShiftGCN`` weights as a ``ShiftGCN`` ``state_dict`` (shapes from ``sparse_state``)."""
    out = {}
    for name, value in dense_state.items():
        key = "data_norm.norm." + name[len("data_bn.") :] if name.startswith("data_bn.") else name
        out[key] = value.reshape(sparse_state[key].shape)
    return out
