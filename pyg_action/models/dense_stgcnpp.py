"""Dense ST-GCN++ reference, module for module pyskl's formulation.

Input ``(N, C, T, V, M)``, fixed ``T`` and ``M`` (shorter samples zero padded). Its
``state_dict`` has pyskl's parameter names (``backbone.data_bn``, ``backbone.gcn.i.gcn.{A,
conv, bn, down.0, down.1}``, ``backbone.gcn.i.tcn.{branches.b.*, transform.{0,2}, bn}``,
``backbone.gcn.i.residual.{conv, bn}``, ``cls_head.fc_cls``), so
:func:`pyg_action.models.convert.stgcnpp_from_pyskl` converts it and pyskl's ``stgcn++``
checkpoints alike. The adjacency ``A`` is a parameter (pyskl's ``gcn_adaptive='init'``),
initialised here from the layout's partitions as the sparse model's is.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..layouts import LayoutLike, adjacency_tensor, get_layout
from ..nn.multiscale_tcn import POOL_WINDOW, branch_widths
from .stgcn import DEFAULT_CHANNELS, DEFAULT_STRIDES


class DenseTemporalUnit(nn.Module):
    """pyskl's ``unit_tcn``: ``(Γ, 1)`` convolution with stride and dilation, then batch-norm
    (or none)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        dilation: int = 1,
        norm: bool = True,
    ) -> None:
        super().__init__()
        pad = (kernel_size - 1) * dilation // 2
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            (kernel_size, 1),
            padding=(pad, 0),
            stride=(stride, 1),
            dilation=(dilation, 1),
        )
        self.bn = nn.BatchNorm2d(out_channels) if norm else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x))


def dense_residual(
    in_channels: int, out_channels: int, stride: int, enabled: bool = True
) -> nn.Module | None:
    """The official blocks' residual branch: none when off, the identity where the block keeps
    the shape, else a strided 1x1 :class:`DenseTemporalUnit`."""
    if not enabled:
        return None
    if in_channels == out_channels and stride == 1:
        return nn.Identity()
    return DenseTemporalUnit(in_channels, out_channels, 1, stride)


class DenseMultiScaleTemporalConv(nn.Module):
    """pyskl's ``mstcn``: dilated branches, a max-pool and a 1x1 branch, concatenated, then
    ``BN -> ReLU -> 1x1`` and batch-norm."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        kernel_size: int = 3,
        dilations: Sequence[int] = (1, 2, 3, 4),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        widths = branch_widths(out_channels, len(dilations) + 2, first_takes_rest=True)
        branches: list[nn.Module] = [
            nn.Sequential(
                nn.Conv2d(in_channels, w, 1),
                nn.BatchNorm2d(w),
                nn.ReLU(),
                DenseTemporalUnit(w, w, kernel_size, stride, d, norm=False),
            )
            for w, d in zip(widths, dilations, strict=False)
        ]
        w = widths[len(dilations)]
        branches.append(
            nn.Sequential(
                nn.Conv2d(in_channels, w, 1),
                nn.BatchNorm2d(w),
                nn.ReLU(),
                nn.MaxPool2d((POOL_WINDOW, 1), (stride, 1), (POOL_WINDOW // 2, 0)),
            )
        )
        branches.append(nn.Conv2d(in_channels, widths[-1], 1, stride=(stride, 1)))
        self.branches = nn.ModuleList(branches)
        self.transform = nn.Sequential(
            nn.BatchNorm2d(out_channels), nn.ReLU(), nn.Conv2d(out_channels, out_channels, 1)
        )
        self.bn = nn.BatchNorm2d(out_channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        out = torch.cat([branch(x) for branch in self.branches], 1)
        return self.drop(self.bn(self.transform(out)))


class DenseAdaptiveGraphConv(nn.Module):
    """pyskl's ``unit_gcn`` with ``adaptive='init'`` and ``with_res=True``:
    ``relu(BN(einsum('nkctv,kvw->nctw', conv(x), A)) + down(x))`` with ``A`` learned."""

    def __init__(self, in_channels: int, out_channels: int, adjacency: Tensor) -> None:
        super().__init__()
        self.num_subsets = adjacency.shape[0]
        self.A = nn.Parameter(adjacency.clone())
        self.conv = nn.Conv2d(in_channels, out_channels * self.num_subsets, 1)
        self.bn = nn.BatchNorm2d(out_channels)
        self.down = (
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
            if in_channels != out_channels
            else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        n, _, t, v = x.shape
        h = self.conv(x).view(n, self.num_subsets, -1, t, v)
        h = torch.einsum("nkctv,kvw->nctw", h, self.A)
        return torch.relu(self.bn(h) + self.down(x))


class DenseSTGCNPPBlock(nn.Module):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        adjacency: Tensor,
        stride: int,
        kernel_size: int,
        dilations: Sequence[int],
        dropout: float,
        residual: bool,
    ) -> None:
        super().__init__()
        self.gcn = DenseAdaptiveGraphConv(in_channels, out_channels, adjacency)
        self.tcn = DenseMultiScaleTemporalConv(
            out_channels, out_channels, stride, kernel_size, dilations, dropout
        )
        self.residual = dense_residual(in_channels, out_channels, stride, residual)

    def forward(self, x: Tensor) -> Tensor:
        out = self.tcn(self.gcn(x))
        if self.residual is not None:
            out = out + self.residual(x)
        return torch.relu(out)


class DenseSTGCNPPBackbone(nn.Module):
    """pyskl's ``STGCN`` backbone in the ``stgcn++`` configuration (``data_bn_type='VC'``)."""

    def __init__(
        self,
        in_channels: int,
        adjacency: Tensor,
        channels: Sequence[int],
        strides: Sequence[int],
        kernel_size: int,
        dilations: Sequence[int],
        dropout: float,
        data_norm: bool,
    ) -> None:
        super().__init__()
        num_joints = adjacency.shape[-1]
        self.data_bn = nn.BatchNorm1d(in_channels * num_joints) if data_norm else nn.Identity()
        widths = [in_channels, *channels]
        self.gcn = nn.ModuleList(
            DenseSTGCNPPBlock(
                widths[i],
                widths[i + 1],
                adjacency,
                strides[i],
                kernel_size,
                dilations,
                0.0 if i == 0 else dropout,
                residual=i > 0,
            )
            for i in range(len(channels))
        )

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C, T, V, M)`` -> ``(N, M, C', T', V)``."""
        n, c, t, v, m = x.shape
        x = self.data_bn(x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t))
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for block in self.gcn:
            x = block(x)
        return x.view(n, m, *x.shape[1:])


class DenseGCNHead(nn.Module):
    """pyskl's ``GCNHead``: mean over frames, joints and persons, then a linear layer."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc_cls(x.mean(dim=(3, 4)).mean(dim=1))


class DenseSTGCNPP(nn.Module):
    """The dense ST-GCN++, configurable like :class:`~pyg_action.models.stgcnpp.STGCNPP`."""

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
        super().__init__()
        self.layout = get_layout(layout)
        adjacency = torch.tensor(
            adjacency_tensor(self.layout, strategy, max_hop, dilation), dtype=torch.float32
        )
        self.backbone = DenseSTGCNPPBackbone(
            in_channels, adjacency, channels, strides, kernel_size, dilations, dropout, data_norm
        )
        self.cls_head = DenseGCNHead(([in_channels, *channels])[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.cls_head(self.backbone(x))
