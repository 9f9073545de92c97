"""Dense CTR-GCN reference, module for module the official formulation.

Input ``(N, C, T, V, M)``, fixed ``T`` and ``M`` (shorter samples and missing persons zero
padded). Its ``state_dict`` has the official parameter names (``data_bn``,
``l{i}.gcn1.{PA, alpha, convs.k.conv{1,2,3,4}, bn, down.{0,1}}``,
``l{i}.tcn1.branches.b.*``, ``l{i}.residual.{conv, bn}``, ``fc``), so
:func:`pyg_action.models.convert.ctrgcn_from_official` converts it and official checkpoints
alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..layouts import LayoutLike, get_layout
from ..nn.ctr_conv import (
    block_relation_width,
    check_relation_channels,
    check_relation_reduction,
    register_topology,
    relation_width,
)
from ..nn.dense.drop_graph import DenseDropGraph
from ..nn.drop_path import SampleDropPath, depth_rates
from ..nn.multiscale_tcn import POOL_WINDOW, branch_widths
from .ctrgcn import ctrgcn_adjacency, drop_graph_layers
from .dense_stgcnpp import DenseTemporalUnit, dense_residual
from .skeleton_classifier import check_input_branches
from .stgcn import DEFAULT_CHANNELS, DEFAULT_STRIDES


class DenseCTRGC(nn.Module):
    """One partition's CTR-GC, as the official ``CTRGC`` computes it."""

    def __init__(self, in_channels: int, out_channels: int, rel: int | None = None) -> None:
        super().__init__()
        rel = rel or relation_width(in_channels)
        self.conv1 = nn.Conv2d(in_channels, rel, 1)
        self.conv2 = nn.Conv2d(in_channels, rel, 1)
        self.conv3 = nn.Conv2d(in_channels, out_channels, 1)
        self.conv4 = nn.Conv2d(rel, out_channels, 1)

    def forward(self, x: Tensor, adjacency: Tensor, alpha: Tensor) -> Tensor:
        x1, x2, x3 = self.conv1(x).mean(-2), self.conv2(x).mean(-2), self.conv3(x)
        relation = torch.tanh(x1.unsqueeze(-1) - x2.unsqueeze(-2))
        refined = self.conv4(relation) * alpha + adjacency[None, None]
        return torch.einsum("ncuv,nctv->nctu", refined, x3)


class DenseCTRGCUnit(nn.Module):
    """The official ``unit_gcn``: CTR-GC summed over the partitions, BN, residual, ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        adjacency: Tensor,
        rel: int | None = None,
        adaptive: bool = True,
    ) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            DenseCTRGC(in_channels, out_channels, rel) for _ in range(adjacency.shape[0])
        )
        self.PA: Tensor
        register_topology(self, "PA", adjacency, adaptive)
        self.alpha = nn.Parameter(torch.zeros(1))
        self.bn = nn.BatchNorm2d(out_channels)
        self.down = (
            nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
            if in_channels != out_channels
            else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        y = sum(conv(x, self.PA[k], self.alpha) for k, conv in enumerate(self.convs))
        assert isinstance(y, Tensor)
        return torch.relu(self.bn(y) + self.down(x))


class DenseCTRGCNTemporal(nn.Module):
    """The official ``MultiScale_TemporalConv`` without its own residual: dilated branches,
    max-pool and 1x1 branches, each ending in a batch-norm, concatenated."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        dilations: Sequence[int],
    ) -> None:
        super().__init__()
        w = branch_widths(out_channels, len(dilations) + 2, first_takes_rest=False)[0]
        branches: list[nn.Module] = [
            nn.Sequential(
                nn.Conv2d(in_channels, w, 1),
                nn.BatchNorm2d(w),
                nn.ReLU(),
                DenseTemporalUnit(w, w, kernel_size, stride, d),
            )
            for d in dilations
        ]
        branches.append(
            nn.Sequential(
                nn.Conv2d(in_channels, w, 1),
                nn.BatchNorm2d(w),
                nn.ReLU(),
                nn.MaxPool2d((POOL_WINDOW, 1), (stride, 1), (POOL_WINDOW // 2, 0)),
                nn.BatchNorm2d(w),
            )
        )
        branches.append(
            nn.Sequential(nn.Conv2d(in_channels, w, 1, stride=(stride, 1)), nn.BatchNorm2d(w))
        )
        self.branches = nn.ModuleList(branches)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([branch(x) for branch in self.branches], 1)


class DenseCTRGCNBlock(nn.Module):
    """The official ``TCN_GCN_unit``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        adjacency: Tensor,
        stride: int,
        kernel_size: int,
        dilations: Sequence[int],
        residual: bool,
        drop_path: float = 0.0,
        rel: int | None = None,
        drop_graph: DenseDropGraph | None = None,
        adaptive: bool = True,
    ) -> None:
        super().__init__()
        self.gcn1 = DenseCTRGCUnit(in_channels, out_channels, adjacency, rel, adaptive)
        self.tcn1 = DenseCTRGCNTemporal(out_channels, out_channels, kernel_size, stride, dilations)
        self.residual = dense_residual(in_channels, out_channels, stride, residual)
        self.drop_path = SampleDropPath(drop_path)
        self.drop_graph = drop_graph or DenseDropGraph(0.0, adjacency)

    def forward(self, x: Tensor, num_samples: int) -> Tensor:
        """``x``: ``(N M, C, T, V)``, the ``M`` person tracks of each of ``N = num_samples``
        samples in a row."""
        out = self.drop_graph(self.tcn1(self.gcn1(x)))
        if self.residual is not None:
            if self.drop_path.active:
                persons = x.shape[0] // num_samples
                track_sample = torch.arange(x.shape[0], device=x.device) // persons
                out = self.drop_path(out, track_sample, num_samples)
            out = out + self.drop_graph(self.residual(x))
        return torch.relu(out)


class DenseCTRGCN(nn.Module):
    """The dense CTR-GCN, configurable like :class:`~pyg_action.models.ctrgcn.CTRGCN` (but for
    its classifier dropout); the blocks are ``l1 .. lL`` as in the official model.
    ``drop_path`` and ``drop_graph*`` are not in the official model: stochastic depth and
    DropGraph drawn in the same order as the sparse model's, for train-mode parity (DropGraph:
    samples of equal length with every person present). Neither are ``input_branches`` and
    ``branch_blocks``: branch ``s`` of the input has blocks ``input{s}_l1 .. input{s}_l{d}``
    on its group of channels, and the shared blocks go on from ``l{d+1}``."""

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
        super().__init__()
        check_relation_channels(input_relation_channels)
        check_relation_reduction(relation_reduction)
        self.layout = get_layout(layout)
        adjacency = ctrgcn_adjacency(self.layout, strategy, max_hop, dilation)
        drop_graphs = drop_graph_layers(
            DenseDropGraph,
            drop_graph,
            drop_graph_blocks,
            drop_graph_frames,
            drop_graph_ramp_epochs,
            adjacency,
            len(channels),
        )
        rates = depth_rates(drop_path, len(channels))

        def block(i: int, c_in: int, c_out: int) -> DenseCTRGCNBlock:
            rel = block_relation_width(i, c_in, input_relation_channels, relation_reduction)
            return DenseCTRGCNBlock(
                c_in,
                c_out,
                adjacency,
                strides[i],
                kernel_size,
                dilations,
                i > 0,
                rates[i],
                rel,
                drop_graphs[i],
                learn_adjacency,
            )

        self.num_blocks = len(channels)
        self.input_branches = input_branches
        self.branch_blocks = branch_blocks if input_branches > 1 else 0
        self.data_bn = nn.BatchNorm1d(num_persons * in_channels * self.layout.num_joints)
        widths = [in_channels, *channels]
        if input_branches != 1:
            check_input_branches(in_channels, len(channels), input_branches, branch_blocks)
            stream_widths = [in_channels // input_branches, *channels[:branch_blocks]]
            for s in range(input_branches):
                for i in range(branch_blocks):
                    branch_block = block(i, stream_widths[i], stream_widths[i + 1])
                    self.add_module(f"input{s + 1}_l{i + 1}", branch_block)
            widths[branch_blocks] *= input_branches
        for i in range(self.branch_blocks, len(channels)):
            self.add_module(f"l{i + 1}", block(i, widths[i], widths[i + 1]))
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v, m = x.shape
        x = self.data_bn(x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t))
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        if self.branch_blocks:
            parts = list(x.chunk(self.input_branches, 1))
            for s in range(self.input_branches):
                for i in range(self.branch_blocks):
                    parts[s] = getattr(self, f"input{s + 1}_l{i + 1}")(parts[s], n)
            x = torch.cat(parts, 1)
        for i in range(self.branch_blocks, self.num_blocks):
            x = getattr(self, f"l{i + 1}")(x, n)
        features = x.view(n, m, x.shape[1], -1).mean(3).mean(1)
        return self.fc(features)
