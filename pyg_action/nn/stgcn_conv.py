"""ST-GCN layers as message passing: partitioned spatial convolution and temporal convolution."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..graph.levels import SkeletonLevel
from ..graph.temporal import strided_lengths, temporal_edges
from .linear_map import Linear, linear
from .track_conv import track_conv_rows
from .typed_conv import BlockPlan, TypedMessagePassing, block_plan

#: Narrowest feature width at which :func:`_per_block_product` multiplies block by block;
#: below it the per-block products are too small and one wide product wins (1 thread,
#: F = 800 blocks of V = 25: C = 3 1.3 against 2.8 ms forward+backward, C = 9 even, C = 32
#: 10.2 against 4.3 ms).
_BATCHED_MIN_WIDTH = 16


def _per_block_product(adjacency: Tensor, features: Tensor) -> Tensor:
    """``adjacency @ features[b]`` for every block: ``(P, Q)``, ``(F, Q, C)`` -> ``(F, P, C)``.

    A batched product over the blocks reads the node-major features in place and writes the
    node-major result; for narrow features one ``(P, Q) @ (Q, F C)`` product over the blocks
    laid side by side is faster, at the price of a transposing copy on either side.
    """
    blocks, rows, width = features.shape
    if width >= _BATCHED_MIN_WIDTH:
        return torch.bmm(adjacency.expand(blocks, *adjacency.shape), features)
    columns = features.transpose(0, 1).reshape(rows, blocks * width)
    return (adjacency @ columns).view(-1, blocks, width).transpose(0, 1)


class PartitionedGraphConv(TypedMessagePassing):
    r"""Spatial graph convolution of ST-GCN with partition labels and edge importance.

    From "Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action
    Recognition" (Yan et al., AAAI 2018). For the edges ``j -> i`` of one frame, with partition
    label :math:`k_e`, ST-GCN normalisation :math:`w_e` and (optional) learnable importance
    :math:`m_{s_e}` of the layout edge :math:`s_e` (the paper's :math:`M \odot A`, shared by
    all frames),

    .. math::
        \mathbf{x}'_i = \sum_{e=(j \to i)} m_{s_e} w_e
        \left(\mathbf{W}_{k_e} \mathbf{x}_j + \mathbf{b}_{k_e}\right).

    The per-partition bias goes through the edges, exactly as the official ``1x1 conv to K*C
    channels + einsum`` does. The layer needs nothing skeleton-specific: any PyG graph with an
    edge type (and optionally a weight) works.

    .. note::
        The dense reference :class:`pyg_action.nn.dense.DenseGraphConv` multiplies by the full
        ``(K, V, V)`` adjacency; this layer touches only existing edges (73 instead of
        ``3 * 25 * 25`` per NTU frame) and needs no padding across lengths or persons.

    Args:
        in_channels: Input feature width ``C_in``.
        out_channels: Output feature width ``C_out``.
        num_partitions: Number of edge types ``K``.
        num_edge_slots: If given, learn one importance scalar per layout edge (edge attribute
            ``edge_slot`` in ``0..num_edge_slots-1``), initialised to one.
        bias: Learn a bias per partition.
        block_fast_path: When the graph is made of identical blocks (every frame of a skeleton
            batch, see :func:`~pyg_action.nn.typed_conv.block_plan`), aggregate with dense
            products over one block's ``(K, V, V)`` adjacency instead of per-edge messages;
            same result. Graphs that do not qualify (or calls without ``edge_slot``) always
            take the message-passing path.
        offset_joints: If given (the block size ``V``), learn an additive offset
            :math:`\mathbf{B}` ``(K, V, V)`` (entry ``[k, j, i]`` for the pair ``j -> i``,
            initialised to zero) over every joint pair of a block: the aggregation uses
            :math:`\mathbf{A} + \mathbf{B}` (ST-GCN++'s learned adjacency). Pairs without a
            layout edge take part too, so this needs the block form (``blocks=`` or a graph
            the fast path recognises).

    The block path transforms first, ``h = x W`` ``(N, K C_out)``, and aggregates ``h`` with a
    ``(V, V K) @ (V K, C_out)`` product per block, reading and writing the node-major rows in
    place (a batched product over the blocks, no transposing copies; for widths below 16 one
    product over all blocks side by side). Aggregating the inputs first when ``C_in < C_out``
    would save a few multiply-adds, but costs a reordered weight and a separate bias term, about
    twice the kernels per step, for no measurable CPU gain (ST-GCN training step, NTU-25,
    16 two-person samples × 100 frames, one thread: 7.8 s either way). With learnable edge
    importance one block's adjacency is one product with a constant table
    (:meth:`~pyg_action.graph.blocks.BlockPlan.slot_adjacency`).

    Shapes:
        - **input:** node features ``(N, C_in)``, ``edge_index`` ``(2, E)``, ``edge_type``
          ``(E,)``, ``edge_weight`` ``(E,)`` optional, ``edge_slot`` ``(E,)`` optional
        - **output:** ``(N, C_out)``
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_partitions: int,
        num_edge_slots: int | None = None,
        bias: bool = True,
        block_fast_path: bool = True,
        offset_joints: int | None = None,
    ) -> None:
        super().__init__()
        self.block_fast_path = block_fast_path
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_partitions = num_partitions
        self.lin = Linear(in_channels, num_partitions * out_channels, bias=bias)
        self.importance = (
            nn.Parameter(torch.ones(num_edge_slots)) if num_edge_slots is not None else None
        )
        # [k, j, i] stored as (i, j, k) in memory: the target-major adjacency the aggregation
        # reads, so the forward reads it as a view and the gradient lands without a copy
        self.offset = (
            nn.Parameter(torch.zeros(offset_joints, offset_joints, num_partitions).permute(2, 1, 0))
            if offset_joints is not None
            else None
        )

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        if self.importance is not None:
            nn.init.ones_(self.importance)
        if self.offset is not None:
            nn.init.zeros_(self.offset)

    def forward(
        self,
        x: Tensor,
        edge_index: Tensor | None = None,
        edge_type: Tensor | None = None,
        edge_weight: Tensor | None = None,
        edge_slot: Tensor | None = None,
        *,
        blocks: BlockPlan | None = None,
    ) -> Tensor:
        """Convolve ``x`` over a graph given either as its edges or, when it is made of
        identical blocks (every frame of a skeleton batch), as their
        :class:`~pyg_action.nn.typed_conv.BlockPlan` (``blocks``, e.g.
        :attr:`SkeletonLevel.block_plan <pyg_action.graph.levels.SkeletonLevel.block_plan>`),
        which needs no per-edge tensor at all."""
        if blocks is not None:
            if edge_index is not None:
                raise ValueError("pass the graph as edges or as blocks, not both")
            return self._forward_blocks(x, blocks)
        if edge_index is None or edge_type is None:
            raise ValueError("pass edge_index and edge_type, or blocks")
        if self.importance is not None and edge_slot is None:
            raise ValueError("edge importance is enabled: pass edge_slot")
        if self.block_fast_path and edge_slot is not None:
            plan = block_plan(x.shape[0], edge_index, edge_type, edge_weight, edge_slot)
            if plan is not None:
                return self._forward_blocks(x, plan)
        if self.offset is not None:
            raise ValueError(
                "a learned adjacency offset covers every joint pair of a frame: pass the "
                "frames' block plan (blocks=), not per-frame edges"
            )
        edge_weight = self._scaled(edge_weight, edge_slot)
        h = self.lin(x).view(x.shape[0], self.num_partitions, self.out_channels)
        return self.propagate_typed(h, edge_index, edge_type, edge_weight)

    def _scaled(self, edge_weight: Tensor | None, edge_slot: Tensor | None) -> Tensor | None:
        """Edge weights times the learnable importance of their slots (when enabled)."""
        if self.importance is None or edge_slot is None:
            return edge_weight
        scale = self.importance[edge_slot]
        return scale if edge_weight is None else edge_weight * scale

    def _forward_blocks(self, x: Tensor, plan: BlockPlan) -> Tensor:
        """Block-diagonal aggregation (see the class notes)."""
        blocks, v, k = plan.num_blocks, plan.block_size, self.num_partitions

        def block_adjacency(order: str) -> Tensor:
            if self.importance is not None:
                return plan.slot_adjacency(self.importance.to(x.dtype), k, order)
            weight = plan.edge_weight
            if weight is None:
                weight = x.new_ones(plan.edges_per_block)
            return plan.adjacency(weight.to(x.dtype), k, order)

        adjacency = block_adjacency("target")
        if self.offset is not None:  # [k, j, i] -> [i, j K + k]
            adjacency = adjacency + self._offset(x, v).permute(2, 1, 0).reshape(v, v * k)
        h = self.lin(x).view(blocks, v * k, self.out_channels)
        return _per_block_product(adjacency, h).reshape(-1, self.out_channels)

    def _offset(self, x: Tensor, block_size: int) -> Tensor:
        """The learned offset in ``x``'s dtype, checked against the plan's block size."""
        assert self.offset is not None
        if self.offset.shape[-1] != block_size:
            raise ValueError(
                f"the adjacency offset is for blocks of {self.offset.shape[-1]} joints, the "
                f"graph has blocks of {block_size}"
            )
        return self.offset.to(x.dtype)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"num_partitions={self.num_partitions})"
        )


class TemporalGraphConv(TypedMessagePassing):
    r"""Temporal convolution of ST-GCN over temporal edges.

    Each node ``(track r, frame t', joint v)`` of the output gathers the same joint at frames
    :math:`t's + o_k`, :math:`o_k = (k - (\Gamma-1)/2)\delta`, through the edge of type ``k``:

    .. math::
        \mathbf{x}'_{r,t',v} = \mathbf{b} + \sum_{k} \mathbf{W}_k \, \mathbf{x}_{r,\,t's+o_k,\,v}.

    Missing frames (before a track's start or after its end) have no edge, which equals the
    zero padding of ``Conv2d((Γ, 1), padding=(Γ-1)δ/2)`` at every sample's own boundaries, so
    a batch of different lengths needs no padding. With stride ``s > 1`` the edges are
    bipartite and the output is the coarser graph with ``ceil(T/s)`` frames per track.
    :meth:`build_edges` derives the edges from the track lengths.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        kernel_size: Window :math:`\Gamma` (odd).
        stride: Temporal stride ``s``.
        dilation: Temporal dilation :math:`\delta`.
        bias: Learn an output bias.

    Shapes:
        - **input:** ``(N_in, C_in)``, ``edge_index`` ``(2, E)`` (sources in the input graph,
          targets in the output graph), ``edge_type`` ``(E,)`` in ``0..Γ-1``
        - **output:** ``(N_out, C_out)``
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
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.dilation = dilation
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Each tap's ``(C_out, C_in)`` map drawn as :class:`torch.nn.Linear` draws its weight
        (the taps stacked tap-major, so the draws follow the message form's ``(Γ C_out, C_in)``
        map); zero bias."""
        stacked = torch.empty(self.kernel_size * self.out_channels, self.in_channels)
        nn.init.kaiming_uniform_(stacked, a=math.sqrt(5))
        with torch.no_grad():
            self.weight.copy_(self._conv_layout(stacked))
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _conv_layout(self, stacked: Tensor) -> Tensor:
        """``(Γ C_out, C_in)`` rows ``k C_out + o`` as ``(C_out, C_in, Γ)``."""
        return stacked.view(self.kernel_size, self.out_channels, self.in_channels).permute(1, 2, 0)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[no-untyped-def]
        # files of earlier releases hold the taps as a point-wise map ``lin.weight``
        stacked = state_dict.pop(prefix + "lin.weight", None)
        if stacked is not None and prefix + "weight" not in state_dict:
            expected = (self.kernel_size * self.out_channels, self.in_channels)
            # a wrong shape goes on as it is, for the usual size-mismatch error
            fits = tuple(stacked.shape) == expected
            state_dict[prefix + "weight"] = self._conv_layout(stacked) if fits else stacked
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def build_edges(self, lengths: Tensor, num_joints: int) -> tuple[Tensor, Tensor, Tensor]:
        """Temporal edges of this layer for tracks of ``lengths`` frames.

        Returns:
            ``edge_index`` ``(2, E)``, ``edge_type`` ``(E,)`` and the output track lengths.
        """
        index, kind = temporal_edges(
            lengths, num_joints, self.kernel_size, self.dilation, self.stride
        )
        return index, kind, strided_lengths(lengths, self.stride)

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_type: Tensor, num_targets: int | None = None
    ) -> Tensor:
        """Message-passing form: the temporal convolution over explicit temporal edges.

        Every input node is mapped by all Γ taps at once (``(N_in, Γ, C_out)``),
        and each edge of type ``k`` carries tap ``k`` of its source to its target, where the
        messages are summed. Any edges with types in ``0..Γ-1`` work; for skeleton tracks
        :meth:`build_edges` or :meth:`~pyg_action.graph.levels.SkeletonLevel.temporal` gives
        them, and :meth:`forward_tracks` computes the same result faster without edges.

        Args:
            x: ``(N_in, C_in)`` node features.
            edge_index: ``(2, E)`` sources (input nodes) and targets (output nodes).
            edge_type: ``(E,)`` tap of every edge, in ``0..Γ-1``.
            num_targets: Output nodes ``N_out`` (default: ``N_in``; with stride ``s > 1`` pass
                the coarser graph's node count, e.g. ``level.coarsen(s).num_nodes``).

        Returns:
            ``(N_out, C_out)``; a target without incoming edges gets only the bias.

        Raises:
            ValueError: with stride ``s > 1`` and no ``num_targets``; on CPU also for a tap
                outside ``0..Γ-1`` (edges built for another window) or a target beyond the
                output nodes (edges built for another stride). A CUDA tensor's taps are
                checked on the device, without waiting for it.
        """
        if not torch.jit.is_tracing():
            self._check_edges(edge_index, edge_type, num_targets)
        stacked = self.weight.permute(2, 0, 1).reshape(-1, self.in_channels)  # (Γ C_out, C_in)
        h = linear(x, stacked).view(x.shape[0], self.kernel_size, self.out_channels)
        out = self.propagate_typed(h, edge_index, edge_type, None, num_targets)
        return out if self.bias is None else out + self.bias

    def _check_edges(self, edge_index: Tensor, edge_type: Tensor, num_targets: int | None) -> None:
        """Refuse edges this layer would silently misread: a tap ``k >= Γ`` of node ``i``
        reads a tap of node ``i + 1``, and with a stride the output is the coarser graph."""
        if self.stride > 1 and num_targets is None:
            raise ValueError(
                f"TemporalGraphConv with stride {self.stride} needs num_targets (the coarser "
                "graph's node count) and edges built with that stride (build_edges, or "
                "level.temporal(..., stride))"
            )
        if edge_type.numel() == 0:
            return
        if edge_type.is_cuda:
            in_window = (edge_type >= 0) & (edge_type < self.kernel_size)
            torch._assert_async(in_window.all(), "TemporalGraphConv: edge tap outside 0..Γ-1")
            return
        low, high = int(edge_type.min()), int(edge_type.max())
        if low < 0 or high >= self.kernel_size:
            raise ValueError(
                f"TemporalGraphConv with kernel_size {self.kernel_size} got edge taps "
                f"{low}..{high}: build the edges with window={self.kernel_size} (build_edges)"
            )
        target = int(edge_index[1].max())
        if num_targets is not None and target >= num_targets:
            raise ValueError(
                f"TemporalGraphConv got edge targets up to {target} for {num_targets} output "
                f"nodes: build the edges with stride={self.stride} (build_edges)"
            )

    def forward_tracks(self, x: Tensor, tracks: SkeletonLevel) -> Tensor:
        r"""Structure-aware fast path: the same result as :meth:`forward` on :meth:`build_edges`.

        When the temporal edges are exactly those of :meth:`build_edges` (the skeleton case),
        the message sum is a convolution along each track. When every track has the same
        length the node-major features are a channels-last batch ``(R, C_in, T, V)`` (a view)
        and one strided ``conv2d`` with zero padding gives exactly the ``ceil(T / s)`` kept
        frames of each track. Otherwise all tracks are laid end to end with at least
        :math:`(\Gamma-1)\delta/2` zero frames between them (not padded to a common length; with
        stride ``s`` each track starts on the stride's grid, see
        :meth:`~pyg_action.graph.levels.SkeletonLevel.frame_positions`), one ``conv2d`` of
        stride ``s`` runs over that sequence and the output frames of the tracks are picked
        out. Either way no ``Γ N`` messages are materialised, only the kept frames (and a few
        gap frames) are computed, and every index comes from the tracks' host-side shape.

        Args:
            x: ``(N, C_in)`` node features ordered ``(track, frame, joint)``.
            tracks: The tracks' :class:`~pyg_action.graph.levels.SkeletonLevel`.

        Returns:
            ``(N_out, C_out)`` for tracks of ``ceil(T / stride)`` frames.
        """
        num_joints = tracks.num_joints
        pad = (self.kernel_size - 1) * self.dilation // 2
        if tracks.shape.equal_lengths:
            return track_conv_rows(
                x, tracks.shape.num_tracks, num_joints, self.weight, self.bias, pad,
                self.dilation, self.stride,
            )  # fmt: skip
        position, output, total = tracks.node_positions(pad, self.stride)
        sequence = x.new_zeros(total * num_joints, self.in_channels).index_copy(0, position, x)
        # the sequence is one long track; output j is centred on its position j * stride + pad
        out = track_conv_rows(
            sequence, 1, num_joints, self.weight, self.bias, dilation=self.dilation,
            stride=self.stride,
        )  # fmt: skip
        return out.index_select(0, output)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"kernel_size={self.kernel_size}, stride={self.stride}, dilation={self.dilation})"
        )
