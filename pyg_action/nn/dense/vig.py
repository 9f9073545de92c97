r"""Dense reference of the ViG layers in the official formulation: ``(B, C, N, 1)`` tensors.

Follows the official Vision GNN code (``gcn_lib``): pairwise distances of L2-normalised
features, ``topk`` of the :math:`k \cdot d` nearest, dilation by slicing, neighbour features
fetched with :func:`batched_index_select`, 1×1 ``Conv2d`` layers. Every graph of a batch has
the same :math:`N \ge k \cdot d` nodes.

These modules exist to check the sparse layers of :mod:`pyg_action.nn.vig_conv` (parity
tests) and to time them against the official formulation (:mod:`pyg_action.bench.vig`).
Submodules carry the same names as their sparse counterparts, so a sparse state dict loads
after reshaping ``(C_out, C_in)`` weights to ``(C_out, C_in, 1, 1)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..knn import grid_relative_position_bias
from ..vig_conv import activation


def pairwise_distance(x: Tensor, y: Tensor | None = None) -> Tensor:
    r"""Squared Euclidean distances :math:`(B, N, M)` between rows of ``x`` :math:`(B, N, C)`
    and ``y`` :math:`(B, M, C)` (default: ``x``)."""
    y = x if y is None else y
    inner = -2 * torch.matmul(x, y.transpose(2, 1))
    sq_x = x.pow(2).sum(-1, keepdim=True)
    sq_y = y.pow(2).sum(-1, keepdim=True)
    return sq_x + inner + sq_y.transpose(2, 1)


def dense_knn(
    x: Tensor, k: int, y: Tensor | None = None, relative_pos: Tensor | None = None
) -> Tensor:
    r"""Nearest neighbours of every node, nearest first.

    Args:
        x: Features :math:`(B, C, N, 1)`.
        k: Neighbours.
        y: Candidate features :math:`(B, C, M, 1)` (default: ``x``).
        relative_pos: Distance bias :math:`(N, M)`.

    Returns:
        :math:`(2, B, N, k)`: neighbour indices, centre indices.
    """
    with torch.no_grad():
        xt = x.squeeze(-1).transpose(2, 1)
        yt = None if y is None else y.squeeze(-1).transpose(2, 1)
        dist = pairwise_distance(xt, yt)
        if relative_pos is not None:
            dist += relative_pos
        neighbors = torch.topk(-dist, k=k).indices
        centers = torch.arange(x.size(2), device=x.device).view(1, -1, 1).expand_as(neighbors)
    return torch.stack([neighbors, centers])


class DenseDilatedKnnGraph(nn.Module):
    r"""Official ``DenseDilatedKnnGraph``: kNN of normalised features with dilation.

    Args:
        k: Neighbours per node.
        dilation: Keep every ``dilation``-th of the :math:`k \cdot d` nearest.
        stochastic: In training, with probability ``epsilon``, keep a random choice of
            :math:`k` of them instead.
        epsilon: Probability of random dilation.

    Shapes:
        - **input:** :math:`(B, C, N, 1)`, candidates :math:`(B, C, M, 1)` (optional),
          bias :math:`(N, M)` (optional)
        - **output:** :math:`(2, B, N, k)`
    """

    def __init__(
        self, k: int = 9, dilation: int = 1, stochastic: bool = False, epsilon: float = 0.0
    ) -> None:
        super().__init__()
        self.k, self.dilation = k, dilation
        self.stochastic, self.epsilon = stochastic, epsilon

    def forward(
        self, x: Tensor, y: Tensor | None = None, relative_pos: Tensor | None = None
    ) -> Tensor:
        x = F.normalize(x, p=2.0, dim=1)
        y = None if y is None else F.normalize(y, p=2.0, dim=1)
        edge_index = dense_knn(x, self.k * self.dilation, y, relative_pos)
        if self.stochastic and self.training and bool(torch.rand(()) < self.epsilon):
            keep = torch.randperm(self.k * self.dilation, device=x.device)[: self.k]
            return edge_index[..., keep]
        return edge_index[..., :: self.dilation]


def batched_index_select(x: Tensor, idx: Tensor) -> Tensor:
    r"""Features of the indexed nodes.

    Args:
        x: Features :math:`(B, C, M, 1)`.
        idx: Node indices :math:`(B, N, k)` into the :math:`M` nodes of the same sample.

    Returns:
        :math:`(B, C, N, k)`.
    """
    batch_size, channels, num_nodes = x.shape[:3]
    _, n, k = idx.shape
    flat = idx + torch.arange(batch_size, device=idx.device).view(-1, 1, 1) * num_nodes
    rows = x.transpose(2, 1).reshape(batch_size * num_nodes, channels)
    return rows[flat.reshape(-1)].view(batch_size, n, k, channels).permute(0, 3, 1, 2)


def dense_pointwise(
    in_channels: int,
    out_channels: int,
    groups: int = 1,
    norm: str | None = "batch",
    act: str | None = "gelu",
    bias: bool = True,
) -> nn.Sequential:
    """Official ``BasicConv``: 1×1 ``Conv2d`` with ``groups``, ``BatchNorm2d``, activation."""
    conv = nn.Conv2d(in_channels, out_channels, 1, bias=bias, groups=groups)
    nn.init.kaiming_normal_(conv.weight)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    layers: list[nn.Module] = [conv]
    if norm is not None and norm.lower() != "none":
        layers.append(nn.BatchNorm2d(out_channels))
    if act is not None and act.lower() != "none":
        layers.append(activation(act))
    return nn.Sequential(*layers)


class DenseMRConv(nn.Module):
    r"""Official ``MRConv2d``:
    :math:`h(\mathbf{x}_i \Vert \max_j (\mathbf{x}_j - \mathbf{x}_i))`, channels interleaved.

    Args:
        nn: :math:`h`, :math:`(B, 2C, N, 1) \to (B, C_{out}, N, 1)`.
    """

    def __init__(self, nn: nn.Module) -> None:
        super().__init__()
        self.nn = nn

    def forward(self, x: Tensor, edge_index: Tensor, y: Tensor | None = None) -> Tensor:
        x_i = batched_index_select(x, edge_index[1])
        x_j = batched_index_select(x if y is None else y, edge_index[0])
        relative = torch.max(x_j - x_i, -1, keepdim=True).values
        b, c, n, _ = x.shape
        interleaved = torch.cat([x.unsqueeze(2), relative.unsqueeze(2)], dim=2)
        return self.nn(interleaved.reshape(b, 2 * c, n, 1))


class DenseEdgeConv(nn.Module):
    r"""Official ``EdgeConv2d``: :math:`\max_j h(\mathbf{x}_i \Vert \mathbf{x}_j - \mathbf{x}_i)`.

    Args:
        nn: :math:`h`, :math:`(B, 2C, N, k) \to (B, C_{out}, N, k)`.
    """

    def __init__(self, nn: nn.Module) -> None:
        super().__init__()
        self.nn = nn

    def forward(self, x: Tensor, edge_index: Tensor, y: Tensor | None = None) -> Tensor:
        x_i = batched_index_select(x, edge_index[1])
        x_j = batched_index_select(x if y is None else y, edge_index[0])
        return torch.max(self.nn(torch.cat([x_i, x_j - x_i], dim=1)), -1, keepdim=True).values


class DenseGINConv(nn.Module):
    r"""Official ``GINConv2d``: :math:`h((1 + \epsilon)\mathbf{x}_i + \sum_j \mathbf{x}_j)`.

    Args:
        nn: :math:`h`, :math:`(B, C, N, 1) \to (B, C_{out}, N, 1)`.
    """

    def __init__(self, nn: nn.Module) -> None:
        super().__init__()
        self.nn = nn
        self.eps = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x: Tensor, edge_index: Tensor, y: Tensor | None = None) -> Tensor:
        x_j = batched_index_select(x if y is None else y, edge_index[0])
        return self.nn((1 + self.eps) * x + torch.sum(x_j, -1, keepdim=True))


class DenseSAGEConv(nn.Module):
    r"""Official ``GraphSAGE``: :math:`h_2(\mathbf{x}_i \Vert \max_j h_1(\mathbf{x}_j))`.

    Args:
        nn1: :math:`h_1`, :math:`(B, C, N, k) \to (B, C, N, k)`.
        nn2: :math:`h_2`, :math:`(B, 2C, N, 1) \to (B, C_{out}, N, 1)`.
    """

    def __init__(self, nn1: nn.Module, nn2: nn.Module) -> None:
        super().__init__()
        self.nn1, self.nn2 = nn1, nn2

    def forward(self, x: Tensor, edge_index: Tensor, y: Tensor | None = None) -> Tensor:
        x_j = batched_index_select(x if y is None else y, edge_index[0])
        pooled = torch.max(self.nn1(x_j), -1, keepdim=True).values
        return self.nn2(torch.cat([x, pooled], dim=1))


def dense_graph_conv(
    conv: str,
    in_channels: int,
    out_channels: int,
    groups: int = 4,
    norm: str | None = "batch",
    act: str | None = "gelu",
    bias: bool = True,
) -> nn.Module:
    """Dense counterpart of :func:`pyg_action.nn.vig_conv.graph_conv`."""

    def mlp(c_in: int, c_out: int) -> nn.Sequential:
        return dense_pointwise(c_in, c_out, groups, norm, act, bias)

    if conv == "mr":
        return DenseMRConv(mlp(2 * in_channels, out_channels))
    if conv == "edge":
        return DenseEdgeConv(mlp(2 * in_channels, out_channels))
    if conv == "gin":
        return DenseGINConv(mlp(in_channels, out_channels))
    if conv == "sage":
        return DenseSAGEConv(mlp(in_channels, in_channels), mlp(2 * in_channels, out_channels))
    raise ValueError(f"unknown graph convolution {conv!r}")


class DenseDropPath(nn.Module):
    """Stochastic depth per sample of a ``(B, ...)`` tensor."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty(x.size(0)).bernoulli_(1.0 - self.p).div_(1.0 - self.p)
        return x * keep.view(-1, *([1] * (x.dim() - 1)))


class DenseGrapher(nn.Module):
    r"""Official ``Grapher`` on images :math:`(B, C, H, W)`: fc, dynamic graph convolution,
    fc, residual. Arguments as :class:`pyg_action.nn.vig_conv.Grapher`.

    Shapes:
        - **input:** :math:`(B, C, H, W)`
        - **output:** :math:`(B, C, H, W)`
    """

    def __init__(
        self,
        channels: int,
        k: int = 9,
        dilation: int = 1,
        conv: str = "mr",
        act: str | None = "gelu",
        norm: str | None = "batch",
        bias: bool = True,
        stochastic: bool = False,
        epsilon: float = 0.0,
        groups: int = 4,
        reduce_ratio: int = 1,
        relative_pos: bool = False,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.channels, self.reduce_ratio, self.relative_pos = channels, reduce_ratio, relative_pos
        self.fc1 = dense_pointwise(channels, channels, 1, norm, None)
        self.knn = DenseDilatedKnnGraph(k, dilation, stochastic, epsilon)
        self.conv = dense_graph_conv(conv, channels, 2 * channels, groups, norm, act, bias)
        self.fc2 = dense_pointwise(2 * channels, channels, 1, norm, None)
        self.drop_path = DenseDropPath(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        x = self.fc1(x)
        b, c, h, w = x.shape
        ratio = max(1, min(self.reduce_ratio, h, w))
        y = None
        if ratio > 1:
            y = F.avg_pool2d(x, ratio, ratio).reshape(b, c, -1, 1)
        bias = None
        if self.relative_pos:
            bias = grid_relative_position_bias(c, (h, w), ratio).to(x.device)
        x = x.reshape(b, c, -1, 1)
        edge_index = self.knn(x, y, bias)
        x = self.conv(x, edge_index, y).reshape(b, -1, h, w)
        return self.drop_path(self.fc2(x)) + shortcut


class DenseFFN(nn.Module):
    """Official ``FFN`` on :math:`(B, C, H, W)`: fc, activation, fc, residual."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int | None = None,
        act: str | None = "gelu",
        norm: str | None = "batch",
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        hidden_channels = hidden_channels or 4 * channels
        self.fc1 = dense_pointwise(channels, hidden_channels, 1, norm, act)
        self.fc2 = dense_pointwise(hidden_channels, channels, 1, norm, None)
        self.drop_path = DenseDropPath(drop_path)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop_path(self.fc2(self.fc1(x))) + x


def load_sparse_state(dense: nn.Module, sparse: nn.Module) -> None:
    """Copy the parameters and buffers of a sparse ViG module into its dense counterpart.

    Entries are matched by name; ``(C_out, C_in)`` linear weights become ``(C_out, C_in, 1, 1)``
    convolution weights.
    """
    target = dense.state_dict()
    source = sparse.state_dict()
    if set(target) != set(source):
        raise ValueError(f"state dicts differ: {sorted(set(target) ^ set(source))}")
    dense.load_state_dict({name: source[name].reshape(target[name].shape) for name in target})
