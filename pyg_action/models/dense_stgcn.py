"""Dense ST-GCN reference, module for module the official formulation.

Input ``(N, C, T, V, M)``, fixed ``T`` and ``M`` (shorter samples are zero padded, as the
official pipeline pads to 300 frames). Its ``state_dict`` uses the official parameter names
(``data_bn``, ``st_gcn_networks.i.gcn.conv``, ``tcn.{0,2,3}``, ``residual.{0,1}``,
``edge_importance.i``, ``fcn``), so :func:`pyg_action.models.convert.sparse_from_dense` also
converts official checkpoints.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..layouts import LayoutLike, adjacency_tensor, get_layout
from ..nn.dense import DenseGraphConv, DenseTemporalConv
from .stgcn import DEFAULT_CHANNELS, DEFAULT_STRIDES


def dense_residual_branch(
    in_channels: int, out_channels: int, stride: int, enabled: bool = True
) -> nn.Module | None:
    """The official residual on ``(N, C, T, V)``: ``None`` when disabled, the identity when
    the shape is kept, else a strided 1x1 convolution + batch-norm."""
    if not enabled:
        return None
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 1, stride=(stride, 1)), nn.BatchNorm2d(out_channels)
    )


class DenseSTGCNBlock(nn.Module):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_partitions: int,
        kernel_size: int,
        stride: int,
        dropout: float,
        residual: bool,
    ) -> None:
        super().__init__()
        self.gcn = DenseGraphConv(in_channels, out_channels, num_partitions)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=False),
            DenseTemporalConv(out_channels, out_channels, kernel_size, stride),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout),
        )
        self.residual = dense_residual_branch(in_channels, out_channels, stride, residual)

    def forward(self, x: Tensor, adjacency: Tensor) -> Tensor:
        out = self.tcn(self.gcn(x, adjacency))
        if self.residual is not None:
            out = out + self.residual(x)
        return torch.relu(out)


class DenseSTGCN(nn.Module):
    """The official dense ST-GCN, configurable like :class:`~pyg_action.models.stgcn.STGCN`."""

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
    ) -> None:
        super().__init__()
        self.layout = get_layout(layout)
        adjacency = torch.tensor(
            adjacency_tensor(self.layout, strategy, max_hop, dilation), dtype=torch.float32
        )
        self.register_buffer("A", adjacency)
        num_joints = self.layout.num_joints
        self.data_bn = nn.BatchNorm1d(in_channels * num_joints) if data_norm else None
        widths = [in_channels, *channels]
        self.st_gcn_networks = nn.ModuleList(
            DenseSTGCNBlock(
                widths[i],
                widths[i + 1],
                adjacency.shape[0],
                kernel_size,
                strides[i],
                0.0 if i == 0 else dropout,
                residual=i > 0,
            )
            for i in range(len(channels))
        )
        self.edge_importance = (
            nn.ParameterList(nn.Parameter(torch.ones_like(adjacency)) for _ in channels)
            if edge_importance
            else None
        )
        self.fcn = nn.Conv2d(widths[-1], num_classes, 1)

    def forward_features(self, x: Tensor) -> Tensor:
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)
        if self.data_bn is not None:
            x = self.data_bn(x)
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for i, block in enumerate(self.st_gcn_networks):
            adjacency = self.A if self.edge_importance is None else self.A * self.edge_importance[i]
            x = block(x, adjacency)
        x = F.avg_pool2d(x, x.shape[2:])
        return x.view(n, m, -1).mean(dim=1)

    def forward(self, x: Tensor) -> Tensor:
        features = self.forward_features(x)
        return self.fcn(features[:, :, None, None]).flatten(1)
