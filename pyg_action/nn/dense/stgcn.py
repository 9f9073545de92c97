"""Dense references of the ST-GCN layers, in the official ``(N, C, T, V)`` formulation."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class DenseGraphConv(nn.Module):
    r"""Spatial graph convolution as the official code computes it.

    A ``1x1`` convolution to ``K * C_out`` channels, then
    ``einsum('nkctv,kvw->nctw')`` with the partitioned adjacency ``A`` ``(K, V, V)``:
    :math:`X' = \sum_k (X W_k + b_k) A_k`. Learnable edge importance is applied by the caller
    as ``A * M``, as in the official model.

    Shapes:
        - **input:** ``x`` ``(N, C_in, T, V)``, ``adjacency`` ``(K, V, V)``
        - **output:** ``(N, C_out, T, V)``
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_partitions: int,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_partitions = num_partitions
        self.out_channels = out_channels
        self.conv = nn.Conv2d(in_channels, num_partitions * out_channels, 1, bias=bias)

    def forward(self, x: Tensor, adjacency: Tensor) -> Tensor:
        n, _, t, v = x.shape
        h = self.conv(x).view(n, self.num_partitions, self.out_channels, t, v)
        return torch.einsum("nkctv,kvw->nctw", h, adjacency)


class DenseTemporalConv(nn.Conv2d):
    """Temporal convolution as ``Conv2d((Γ, 1))`` with zero padding ``(Γ-1)δ/2``.

    Shapes:
        - **input:** ``(N, C_in, T, V)``
        - **output:** ``(N, C_out, ceil(T / stride), V)``
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 9,
        stride: int = 1,
        dilation: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            (kernel_size, 1),
            stride=(stride, 1),
            padding=((kernel_size - 1) * dilation // 2, 0),
            dilation=(dilation, 1),
            bias=bias,
        )
