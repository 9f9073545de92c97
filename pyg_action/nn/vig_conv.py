r"""Vision GNN (ViG) layers as PyG message passing: graph convolutions, Grapher and FFN blocks.

From `"Vision GNN: An Image is Worth Graph of Nodes" <https://arxiv.org/abs/2206.00272>`_.
Nodes are rows of a feature matrix :math:`(N, C)`, so the same layers run on image patches
and on any graph (a PyG batch of graphs of any sizes).

**Where normalisation and activation go.** Each operator wraps a network :math:`h` (as PyG's
:class:`~torch_geometric.nn.conv.EdgeConv` and :class:`~torch_geometric.nn.conv.GINConv` do);
in ViG :math:`h` is :func:`pointwise`: a (grouped) linear map, BatchNorm, then an activation,
in the order of the official ``BasicConv``. :math:`h` runs on nodes after aggregation for
``"mr"``, ``"gin"`` and the outer network of ``"sage"``, and on edges before the max for
``"edge"`` and the inner network of ``"sage"`` (there BatchNorm statistics are over edges, as in
the official dense code).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable
from torch_geometric.nn import EdgeConv, GINConv, MessagePassing
from torch_geometric.nn.aggr import MaxAggregation
from torch_geometric.nn.inits import reset
from torch_geometric.typing import Adj, PairTensor
from torch_geometric.utils import degree

from .knn import (
    DEFAULT_CHUNK_BYTES,
    DilatedKnnGraph,
    grid_relative_position_bias,
    neighbor_table,
)
from .linear_map import linear

CONVS = ("mr", "edge", "gin", "sage")

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "leakyrelu": lambda: nn.LeakyReLU(0.2),
    "prelu": nn.PReLU,
    "hswish": nn.Hardswish,
}


def activation(name: str | None) -> nn.Module:
    """Activation module by name (``relu``, ``gelu``, ``leakyrelu``, ``prelu``, ``hswish``,
    or ``None`` / ``"none"`` for the identity)."""
    if name is None or name.lower() == "none":
        return nn.Identity()
    if name.lower() not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name.lower()]()


def _lean_autograd(x: Tensor) -> bool:
    """Whether :class:`_RowLinear` applies: gradients wanted, no autocast (whose casts it
    leaves to ``F.linear``) and no tracing, scripting or compiling (which see portable ops)."""
    return (
        torch.is_grad_enabled()
        and not torch.is_autocast_enabled(x.device.type)
        and not torch.jit.is_tracing()
        and not torch.jit.is_scripting()
        and not torch.compiler.is_compiling()
    )


class _RowLinear(torch.autograd.Function):
    r""":math:`\mathbf{Y} = \mathbf{X}\mathbf{W}^\top + \mathbf{b}` on rows with a
    backward of three products-or-sums: :math:`\mathbf{G}\mathbf{W}`,
    :math:`\mathbf{G}^\top\mathbf{X}`, :math:`\sum_n \mathbf{g}_n` (autograd's own graph of
    ``linear`` adds transposes and views around them). The forward is
    :func:`~pyg_action.nn.linear_map.linear`."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None
    ) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias = bias is not None
        return linear(x, weight, bias)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, weight = ctx.saved_tensors
        grad_x = grad.mm(weight) if ctx.needs_input_grad[0] else None
        grad_w = grad.t().mm(x) if ctx.needs_input_grad[1] else None
        grad_b = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


def row_linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """:func:`~pyg_action.nn.linear_map.linear` (same values), with the lean backward of
    :class:`_RowLinear` for rows ``(N, C_in)`` when it applies (:func:`_lean_autograd`)."""
    if x.dim() == 2 and _lean_autograd(x):
        return _RowLinear.apply(x, weight, bias)
    return linear(x, weight, bias)


class RowLinear(nn.Linear):
    """:class:`torch.nn.Linear` (same parameters, initialisation and state dict) computed by
    :func:`row_linear`."""

    def forward(self, x: Tensor) -> Tensor:
        return row_linear(x, self.weight, self.bias)


class GroupedLinear(nn.Module):
    r"""Linear map with channel groups: a 1×1 convolution with ``groups`` on rows.

    .. math::
        \mathbf{y}^{(g)} = \mathbf{W}^{(g)} \mathbf{x}^{(g)} + \mathbf{b}^{(g)},

    where :math:`\mathbf{x}^{(g)}` is the :math:`g`-th of ``groups`` equal slices of the
    input channels. ``weight`` has the shape of a ``Conv2d`` weight without its ``1×1``
    kernel, :math:`(C_{out}, C_{in} / G)`, and is initialised as the official ViG
    (Kaiming normal, zero bias). With groups, the product is one batched ``baddbmm`` over
    the groups.

    Args:
        in_channels: :math:`C_{in}`.
        out_channels: :math:`C_{out}`.
        groups: :math:`G`, dividing both channel counts.
        bias: Learn an additive bias.

    Shapes:
        - **input:** :math:`(*, C_{in})`
        - **output:** :math:`(*, C_{out})`
    """

    def __init__(
        self, in_channels: int, out_channels: int, groups: int = 1, bias: bool = True
    ) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"groups={groups} must divide in_channels={in_channels} and "
                f"out_channels={out_channels}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.kaiming_normal_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        if self.groups == 1:
            return row_linear(x, self.weight, self.bias)
        g, c_in, c_out = (
            self.groups,
            self.in_channels // self.groups,
            self.out_channels // self.groups,
        )
        groups = x.reshape(-1, g, c_in).transpose(0, 1)  # (G, rows, C_in / G)
        weight = self.weight.view(g, c_out, c_in).transpose(1, 2)
        if self.bias is None:
            out = torch.bmm(groups, weight)
        else:
            out = torch.baddbmm(self.bias.view(g, 1, c_out), groups, weight)
        return out.transpose(0, 1).reshape(*x.shape[:-1], self.out_channels)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, groups={self.groups}, "
            f"bias={self.bias is not None}"
        )


def pointwise(
    in_channels: int,
    out_channels: int,
    groups: int = 1,
    norm: str | None = "batch",
    act: str | None = "gelu",
    bias: bool = True,
) -> nn.Sequential:
    """The official ``BasicConv`` on rows: grouped linear, then BatchNorm, then activation.

    ``norm`` is ``"batch"`` or ``None``; ``act`` as in :func:`activation`.
    """
    layers: list[nn.Module] = [GroupedLinear(in_channels, out_channels, groups, bias)]
    if norm is not None and norm.lower() != "none":
        if norm.lower() != "batch":
            raise ValueError(f"unknown norm {norm!r}; choose 'batch' or None")
        layers.append(nn.BatchNorm1d(out_channels))
    if act is not None and act.lower() != "none":
        layers.append(activation(act))
    return nn.Sequential(*layers)


class RegularMaxAggregation(MaxAggregation):
    r"""Max aggregation with a fast path for graphs where every node has :math:`k` in-edges.

    When the edges are sorted by target and every target has the same number :math:`k` of
    edges (what :func:`~pyg_action.nn.knn.knn_graph` returns), the messages are reshaped to
    :math:`(N, k, C)` and reduced with ``amax``; otherwise PyG's scatter max runs. Both give
    identical outputs and gradients (ties share the gradient equally in both).
    """

    def forward(
        self,
        x: Tensor,
        index: Tensor | None = None,
        ptr: Tensor | None = None,
        dim_size: int | None = None,
        dim: int = -2,
    ) -> Tensor:
        num_edges = x.size(dim)
        if (
            index is not None
            and x.dim() == 2
            and dim in (0, -2)
            and dim_size
            and num_edges == index.numel()
            and num_edges % dim_size == 0
            and num_edges > 0
        ):
            k = num_edges // dim_size
            regular = torch.arange(dim_size, device=index.device).repeat_interleave(k)
            if torch.equal(index, regular):
                return x.view(dim_size, k, x.size(-1)).amax(dim=1)
        return super().forward(x, index, ptr, dim_size, dim)


class MaxRelativeConv(MessagePassing):
    r"""The max-relative graph convolution from the `"DeepGCNs: Can GCNs Go as Deep as
    CNNs?" <https://arxiv.org/abs/1904.03751>`_ paper, as used by `"Vision GNN"
    <https://arxiv.org/abs/2206.00272>`_.

    .. math::
        \mathbf{x}^{\prime}_i = h_{\mathbf{\Theta}}\left(\mathbf{x}_i \, \Vert \,
        \max_{j \in \mathcal{N}(i)} \left( \mathbf{x}_j - \mathbf{x}_i \right)\right)

    The concatenation interleaves channels (:math:`x_{i,1}, m_{i,1}, x_{i,2}, m_{i,2},
    \ldots`) as the official implementation does, so that each group of a grouped
    :math:`h_{\mathbf{\Theta}}` sees a slice of the node's channels together with their
    relative maxima. The maximum is computed as :math:`\max_j \mathbf{x}_j - \mathbf{x}_i`,
    which is the same in floating point (rounding is monotone) and needs no per-edge copy of
    :math:`\mathbf{x}_i`; nodes without in-edges get :math:`\mathbf{0}`.

    Args:
        nn: Network :math:`h_{\mathbf{\Theta}}` mapping :math:`(N, 2 C_{in})` to
            :math:`(N, C_{out})`, *e.g.* :func:`pointwise`.
        **kwargs: Additional arguments of :class:`~torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, C_{in})` or
          :math:`((|\mathcal{V}_s|, C_{in}), (|\mathcal{V}_t|, C_{in}))` if bipartite,
          edge indices :math:`(2, |\mathcal{E}|)`
        - **output:** node features :math:`(|\mathcal{V}|, C_{out})` or
          :math:`(|\mathcal{V}_t|, C_{out})` if bipartite
    """

    def __init__(self, nn: Callable[[Tensor], Tensor], **kwargs) -> None:
        super().__init__(aggr=RegularMaxAggregation(), **kwargs)
        self.nn = nn
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.nn)

    def forward(self, x: Tensor | PairTensor, edge_index: Tensor) -> Tensor:
        if isinstance(x, Tensor):
            x = (x, x)
        relative = self.propagate(edge_index, x=x) - x[1]
        has_edges = degree(edge_index[1], x[1].size(0)) > 0
        if not bool(has_edges.all()):
            relative = torch.where(has_edges.unsqueeze(-1), relative, 0.0)
        return self.nn(torch.stack([x[1], relative], dim=-1).flatten(-2))

    def message(self, x_j: Tensor) -> Tensor:
        return x_j

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(nn={self.nn})"


class MaxPoolSAGEConv(MessagePassing):
    r"""The GraphSAGE operator with max-pooling aggregator from the `"Inductive
    Representation Learning on Large Graphs" <https://arxiv.org/abs/1706.02216>`_ paper, in
    the form used by the official Vision GNN code.

    .. math::
        \mathbf{x}^{\prime}_i = h_{\mathbf{\Theta}_2}\left(\mathbf{x}_i \, \Vert \,
        \max_{j \in \mathcal{N}(i)} h_{\mathbf{\Theta}_1}(\mathbf{x}_j)\right)

    :math:`h_{\mathbf{\Theta}_1}` runs on every edge's source features (so a BatchNorm in it
    normalises over edges, as in the official code). Nodes without in-edges get
    :math:`\mathbf{0}` as the maximum.

    Args:
        nn1: Network :math:`h_{\mathbf{\Theta}_1}`, :math:`(E, C_{in}) \to (E, C_{in})`.
        nn2: Network :math:`h_{\mathbf{\Theta}_2}`, :math:`(N, 2 C_{in}) \to (N, C_{out})`.
        **kwargs: Additional arguments of :class:`~torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, C_{in})` or
          :math:`((|\mathcal{V}_s|, C_{in}), (|\mathcal{V}_t|, C_{in}))` if bipartite,
          edge indices :math:`(2, |\mathcal{E}|)`
        - **output:** node features :math:`(|\mathcal{V}|, C_{out})` or
          :math:`(|\mathcal{V}_t|, C_{out})` if bipartite
    """

    def __init__(
        self, nn1: Callable[[Tensor], Tensor], nn2: Callable[[Tensor], Tensor], **kwargs
    ) -> None:
        super().__init__(aggr=RegularMaxAggregation(), **kwargs)
        self.nn1 = nn1
        self.nn2 = nn2
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        reset(self.nn1)
        reset(self.nn2)

    def forward(self, x: Tensor | PairTensor, edge_index: Adj) -> Tensor:
        if isinstance(x, Tensor):
            x = (x, x)
        pooled = self.propagate(edge_index, x=x)
        return self.nn2(torch.cat([x[1], pooled], dim=-1))

    def message(self, x_j: Tensor) -> Tensor:
        return self.nn1(x_j)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(nn1={self.nn1}, nn2={self.nn2})"


def graph_conv(
    conv: str,
    in_channels: int,
    out_channels: int,
    groups: int = 4,
    norm: str | None = "batch",
    act: str | None = "gelu",
    bias: bool = True,
) -> MessagePassing:
    r"""The graph convolution of a ViG Grapher, by name, with :func:`pointwise` networks.

    * ``"mr"``: :class:`MaxRelativeConv`, :math:`h: 2C_{in} \to C_{out}`.
    * ``"edge"``: PyG's :class:`~torch_geometric.nn.conv.EdgeConv` with max aggregation,
      :math:`\max_j h(\mathbf{x}_i \Vert \mathbf{x}_j - \mathbf{x}_i)`,
      :math:`h: 2C_{in} \to C_{out}`.
    * ``"gin"``: PyG's :class:`~torch_geometric.nn.conv.GINConv` with a learnable
      :math:`\epsilon` (initially 0), :math:`h((1+\epsilon)\mathbf{x}_i + \sum_j \mathbf{x}_j)`,
      :math:`h: C_{in} \to C_{out}`.
    * ``"sage"``: :class:`MaxPoolSAGEConv`, :math:`h_1: C_{in} \to C_{in}`,
      :math:`h_2: 2C_{in} \to C_{out}`.

    Every network is ``pointwise(…, groups, norm, act, bias)``.
    """

    def mlp(c_in: int, c_out: int) -> nn.Sequential:
        return pointwise(c_in, c_out, groups, norm, act, bias)

    if conv == "mr":
        return MaxRelativeConv(mlp(2 * in_channels, out_channels))
    if conv == "edge":
        return EdgeConv(mlp(2 * in_channels, out_channels), aggr=RegularMaxAggregation())
    if conv == "gin":
        return GINConv(mlp(in_channels, out_channels), eps=0.0, train_eps=True)
    if conv == "sage":
        return MaxPoolSAGEConv(mlp(in_channels, in_channels), mlp(2 * in_channels, out_channels))
    raise ValueError(f"unknown graph convolution {conv!r}; choose from {CONVS}")


def neighbor_conv(conv: nn.Module, x: PairTensor, neighbors: Tensor) -> Tensor:
    r"""Run a :func:`graph_conv` operator on a fixed-degree graph given as a neighbour table.

    ``neighbors[i]`` lists the :math:`k` source rows (of ``x[0]``) of target :math:`i` (of
    ``x[1]``), as :func:`~pyg_action.nn.knn.batched_knn` builds it for images. Every target
    having exactly :math:`k` neighbours, the neighbour features are one gather into a
    :math:`(N, k, C)` tensor and every aggregation a reduction over its middle axis: no
    scatter, no edge list, no host synchronisation. The result equals ``conv(x,
    neighbors_to_edge_index(neighbors))``, and so do the gradients except at tied maxima
    (see :func:`_neighbor_max`).

    Args:
        conv: A :class:`MaxRelativeConv`, :class:`~torch_geometric.nn.conv.EdgeConv`,
            :class:`~torch_geometric.nn.conv.GINConv` or :class:`MaxPoolSAGEConv`.
        x: Source and target node features :math:`((M, C), (N, C))`.
        neighbors: Source rows :math:`(N, k)`.

    Returns:
        Target features :math:`(N, C_{out})`.
    """
    if not isinstance(conv, (MaxRelativeConv, EdgeConv, GINConv, MaxPoolSAGEConv)):
        raise TypeError(f"no neighbour-table path for {type(conv).__name__}")
    source, target = x
    gathered = source.index_select(0, neighbors.reshape(-1)).view(*neighbors.shape, -1)
    if isinstance(conv, MaxRelativeConv):
        relative = _neighbor_max(gathered) - target
        return conv.nn(torch.stack([target, relative], dim=-1).flatten(-2))
    if isinstance(conv, EdgeConv):
        centers = target.unsqueeze(1).expand_as(gathered)
        edges = torch.cat([centers, gathered - centers], dim=-1).flatten(0, 1)
        return _neighbor_max(conv.nn(edges).view(*neighbors.shape, -1))
    if isinstance(conv, GINConv):
        return conv.nn((1 + conv.eps) * target + gathered.sum(dim=1))
    messages = conv.nn1(gathered.flatten(0, 1)).view(*neighbors.shape, -1)
    return conv.nn2(torch.cat([target, _neighbor_max(messages)], dim=-1))


def _neighbor_max(messages: Tensor) -> Tensor:
    """Max over the neighbour axis of ``(N, k, C)``.

    With a gradient to compute, ``max`` with its argmax: the backward is one scatter and the
    gradient at tied maxima goes to one of them (as in the official dense code; PyG's scatter
    max splits it). Without, ``amax``, several times faster on CPU than ``max`` with indices.
    """
    if torch.is_grad_enabled() and messages.requires_grad:
        return messages.max(dim=1).values
    return messages.amax(dim=1)


class DropPath(nn.Module):
    r"""Stochastic depth per graph: in training, zeroes a residual branch for a whole graph
    with probability :math:`p` and scales the kept graphs by :math:`1 / (1 - p)`.

    Args:
        p: Drop probability.

    The graphs are given by ``batch``, or, without it, as ``num_graphs`` equal blocks of
    consecutive rows (images of one size; no batch vector and no host read needed).
    ``num_graphs`` with ``batch`` saves reading the count from the device.

    Shapes:
        - **input:** node features :math:`(N, C)`, batch :math:`(N,)` (optional),
          ``num_graphs`` (optional; default: one graph, or ``batch.max() + 1``)
        - **output:** :math:`(N, C)`
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(
        self, x: Tensor, batch: Tensor | None = None, num_graphs: int | None = None
    ) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        if num_graphs is None:
            num_graphs = 1 if batch is None else int(batch.max()) + 1
        keep = x.new_empty(num_graphs).bernoulli_(1.0 - self.p).div_(1.0 - self.p)
        if batch is not None:
            return x * keep[batch].view(-1, 1)
        return (x.view(num_graphs, -1, x.size(-1)) * keep.view(-1, 1, 1)).view_as(x)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Grapher(nn.Module):
    r"""The ViG Grapher block: linear, graph convolution on a dynamic kNN graph, linear,
    residual.

    .. math::
        \mathbf{X}' = \mathbf{X} + \operatorname{DropPath}\Big(\operatorname{fc}_2\big(
        \operatorname{GraphConv}(\operatorname{fc}_1(\mathbf{X}), \mathcal{G})\big)\Big),

    where :math:`\operatorname{fc}` is a linear map followed by BatchNorm, the graph
    convolution (:func:`graph_conv`) widens to :math:`2C`, and :math:`\mathcal{G}` is the
    dilated kNN graph of :math:`\operatorname{fc}_1(\mathbf{X})`
    (:class:`~pyg_action.nn.knn.DilatedKnnGraph`), or the ``edge_index`` given to
    :meth:`forward`.

    For images, nodes are ``B`` grids of ``H × W`` patches in row-major order; passing
    ``grid=(H, W)`` enables the two image options of the official pyramid ViG: neighbours
    drawn from the :math:`r \times r` average-pooled grid (``reduce_ratio`` :math:`r > 1`,
    a bipartite graph), and the relative-position distance bias
    (:func:`~pyg_action.nn.knn.grid_relative_position_bias`). On images the number of
    images and nodes per image come from the shapes: the kNN is one batched ``topk``
    (:func:`~pyg_action.nn.knn.batched_knn`), the convolution runs on the neighbour table
    (:func:`neighbor_conv`) and ``batch`` is not needed (it is ignored), so a step dispatches
    no value-dependent operator.

    Args:
        channels: Node feature width :math:`C`.
        k: Neighbours per node.
        dilation: kNN dilation.
        conv: ``"mr"``, ``"edge"``, ``"gin"`` or ``"sage"``.
        act: Activation of the graph convolution's networks.
        norm: ``"batch"`` or ``None``, for the linear maps and the convolution's networks.
        bias: Bias in the convolution's networks.
        stochastic: Random dilation during training (see
            :class:`~pyg_action.nn.knn.DilatedKnnGraph`).
        epsilon: Probability of random dilation per call.
        groups: Channel groups of the convolution's linear maps (official: 4).
        reduce_ratio: Pooling ratio of the neighbour grid (images only).
        relative_pos: Add the relative-position bias to the kNN distances (images only).
        drop_path: Stochastic depth probability of the residual branch.
        chunk_bytes: Largest kNN distance block.

    Shapes:
        - **input:** node features :math:`(N, C)`, batch :math:`(N,)` (optional),
          ``edge_index`` :math:`(2, E)` (optional, replaces the kNN graph), ``grid``
          ``(H, W)`` (optional)
        - **output:** :math:`(N, C)`
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
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        super().__init__()
        self.channels = channels
        self.reduce_ratio = reduce_ratio
        self.relative_pos = relative_pos
        self.fc1 = pointwise(channels, channels, 1, norm, None)
        self.knn = DilatedKnnGraph(k, dilation, stochastic, epsilon, chunk_bytes=chunk_bytes)
        self.conv = graph_conv(conv, channels, 2 * channels, groups, norm, act, bias)
        self.fc2 = pointwise(2 * channels, channels, 1, norm, None)
        self.drop_path = DropPath(drop_path)

    def forward(
        self,
        x: Tensor,
        batch: Tensor | None = None,
        edge_index: Tensor | None = None,
        grid: tuple[int, int] | None = None,
    ) -> Tensor:
        shortcut = x
        x = self.fc1(x)
        if edge_index is None and grid is not None:
            out, num_images = self._grid_conv(x, grid)
            return self.drop_path(self.fc2(out), num_graphs=num_images) + shortcut
        if edge_index is not None:
            out = self.conv(x, edge_index)
        else:
            if self.reduce_ratio > 1 or self.relative_pos:
                raise ValueError("reduce_ratio > 1 and relative_pos need grid=(H, W)")
            out = self.conv(x, self.knn(x, batch))
        return self.drop_path(self.fc2(out), batch) + shortcut

    def _grid_conv(self, x: Tensor, grid: tuple[int, int]) -> tuple[Tensor, int]:
        """The graph convolution on images of ``grid`` patches (rows in row-major order):
        batched kNN on the known shapes and a neighbour table (:func:`neighbor_conv`).
        Returns the output rows and the number of images."""
        height, width = grid
        if x.size(0) % (height * width):
            raise ValueError(f"{x.size(0)} rows are not a whole number of {height}x{width} grids")
        num_images = x.size(0) // (height * width)
        ratio = max(1, min(self.reduce_ratio, height, width))
        y = x
        if ratio > 1:
            y = x.view(num_images, height, width, -1).permute(0, 3, 1, 2)
            y = F.avg_pool2d(y, ratio, ratio).permute(0, 2, 3, 1).reshape(-1, x.size(-1))
        bias = None
        if self.relative_pos:
            bias = grid_relative_position_bias(self.channels, grid, ratio).to(x.device)
        num_candidates = y.size(0) // num_images
        local = self.knn.batched(
            x.view(num_images, height * width, -1),
            None if y is x else y.view(num_images, num_candidates, -1),
            bias,
        )
        return neighbor_conv(self.conv, (y, x), neighbor_table(local, num_candidates)), num_images


class FFN(nn.Module):
    r"""The ViG feed-forward block on nodes.

    .. math::
        \mathbf{X}' = \mathbf{X} + \operatorname{DropPath}\Big(\operatorname{fc}_2\big(
        \sigma(\operatorname{fc}_1(\mathbf{X}))\big)\Big),

    with :math:`\operatorname{fc}` a linear map followed by BatchNorm.

    Args:
        channels: Node feature width :math:`C`.
        hidden_channels: Hidden width (official: :math:`4C`).
        act: Activation :math:`\sigma`.
        norm: ``"batch"`` or ``None``.
        drop_path: Stochastic depth probability of the residual branch.

    Shapes:
        - **input:** node features :math:`(N, C)`, batch :math:`(N,)` (optional),
          ``num_graphs`` (optional, see :class:`DropPath`)
        - **output:** :math:`(N, C)`
    """

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
        self.fc1 = pointwise(channels, hidden_channels, 1, norm, act)
        self.fc2 = pointwise(hidden_channels, channels, 1, norm, None)
        self.drop_path = DropPath(drop_path)

    def forward(
        self, x: Tensor, batch: Tensor | None = None, num_graphs: int | None = None
    ) -> Tensor:
        return self.drop_path(self.fc2(self.fc1(x)), batch, num_graphs) + x
