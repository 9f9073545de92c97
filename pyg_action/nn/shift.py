r"""Shift-GCN operators as message passing: graph shifts, temporal shifts and the two units.

From "Skeleton-Based Action Recognition with Shift Graph Convolutional Network" (Cheng,
Zhang, He, Chen, Cheng, Lu; CVPR 2020). A *shift* moves every channel of a node's feature to
another node at no multiplication cost; a point-wise (``1x1``) linear map after it mixes the
shifted channels. Shift-GCN replaces ST-GCN's ``K`` spatial kernels and ``Γ`` temporal taps by
shift + point-wise map, hence its far smaller FLOP count.

Every shift here is *channel-weighted* message passing: an edge ``j -> i`` of type ``k``
carries the source feature multiplied channel by channel by row ``k`` of a table
:math:`\mathbf{W} \in \mathbb{R}^{K \times C}`,

.. math::
    \mathbf{x}'_i = \sum_{e = (j \to i)} \mathbf{w}_{k_e} \odot \mathbf{x}_j ,

where a row is a 0/1 channel mask (graph shifts, fixed temporal shifts: the message is the
neighbour's feature restricted to the channels that edge carries) or a row of interpolation
weights (adaptive temporal shift). Each operator also has a *gather* form, pure tensor
indexing with the same result; the ``impl`` argument (``"message"`` or ``"gather"``) picks one.

Nodes are ordered ``(track, frame, joint)`` with the joint fastest (see
:mod:`pyg_action.graph.temporal`), so ``(N, C)`` views as ``(F, V, C)`` with ``F`` frames of
all tracks together, and temporal shifts stop at each track's own first and last frame.
"""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing

from ..graph.levels import SkeletonLevel
from ..layouts import LayoutLike, get_layout
from .backend import get_backend
from .choices import check_choice
from .linear_map import Linear, linear
from .shift_rows import shift_rows
from .shift_taps import ones_response, shift_frames

IMPLS = ("message", "gather")
SPATIAL_SHIFTS = ("nonlocal", "local")
TEMPORAL_SHIFTS = ("fixed", "adaptive")


class ChannelShiftPassing(MessagePassing):
    r"""Base class: sums :math:`\mathbf{w}_{k_e} \odot \mathbf{x}_j` over the edges ``j -> i``.

    Args:
        impl: ``"message"`` (edges + :meth:`propagate`) or ``"gather"`` (tensor indexing),
            used by subclasses.
    """

    # Declared so that PyG builds its fast ``propagate`` once per class instead of parsing
    # the source of every instance.
    propagate_type = {"x": Tensor, "edge_type": Tensor, "table": Tensor}

    def __init__(self, impl: str = "gather") -> None:
        super().__init__(aggr="add", flow="source_to_target")
        check_choice("impl", impl, IMPLS)
        self.impl = impl

    def propagate_channels(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_type: Tensor,
        table: Tensor,
        num_targets: int | None = None,
    ) -> Tensor:
        """Aggregate channel-weighted messages.

        Args:
            x: ``(N_src, C)`` source features.
            edge_index: ``(2, E)`` source and target node indices.
            edge_type: ``(E,)`` row of ``table`` used by each edge.
            table: ``(K, C)`` channel weights per edge type.
            num_targets: Number of target nodes (defaults to ``N_src``).

        Returns:
            ``(num_targets, C)``.
        """
        size = (x.shape[0], x.shape[0] if num_targets is None else num_targets)
        return self.propagate(edge_index, x=x, edge_type=edge_type, table=table, size=size)

    def message(self, x_j: Tensor, edge_type: Tensor, table: Tensor) -> Tensor:
        return x_j * table[edge_type]


class GraphShift(ChannelShiftPassing):
    r"""Channel shift among the joints of every frame, given by a source table :math:`\sigma`.

    Channel ``c`` of joint ``v`` reads joint :math:`\sigma(v, c)` of the same frame ``f``;
    with ``transpose=True`` the operator is the adjoint (each channel goes back to the joint
    it came from, summed when several joints read it):

    .. math::
        x'_{f,v,c} = x_{f,\sigma(v,c),c}
        \qquad\text{or}\qquad
        x'_{f,u,c} = \sum_{v\,:\,\sigma(v,c) = u} x_{f,v,c}.

    For a table that permutes the joints of every channel (the non-local shift) the adjoint
    is the inverse shift.

    * **message form:** per frame, one edge ``u -> v`` for every distinct pair
      :math:`(v, u = \sigma(v, c))`, whose type selects the channel mask
      :math:`w_c = [\sigma(v,c) = u]` (edges reversed for the adjoint);
    * **gather form:** ``x.view(F, V * C).index_select(1, idx)`` with
      :math:`\mathrm{idx}[vC + c] = \sigma(v,c)\,C + c` (the official formulation); the
      adjoint uses the inverse permutation, or ``index_add`` when :math:`\sigma` is no
      permutation.

    Args:
        source: ``(V, C)`` joint read by each (joint, channel).
        transpose: Apply the adjoint.
        impl: ``"message"`` or ``"gather"``.

    Shapes:
        - **input:** ``(N, C)``, ``N = F * V`` nodes, joint fastest (any tracks and lengths)
        - **output:** ``(N, C)``
    """

    def __init__(self, source: Tensor, transpose: bool = False, impl: str = "gather") -> None:
        super().__init__(impl)
        num_joints, channels = source.shape
        self.num_joints = num_joints
        self.channels = channels
        self.transpose = transpose
        target = torch.arange(num_joints).unsqueeze(1).expand_as(source)
        pairs, pair_of = torch.unique(target * num_joints + source, return_inverse=True)
        mask = torch.zeros(pairs.numel(), channels)
        mask[pair_of, torch.arange(channels).expand_as(source)] = 1.0
        index = (source * channels + torch.arange(channels)).flatten()
        is_permutation = bool((torch.bincount(index, minlength=index.numel()) == 1).all())
        self.register_buffer("pair_source", pairs % num_joints, persistent=False)
        self.register_buffer("pair_target", pairs // num_joints, persistent=False)
        self.register_buffer("mask", mask, persistent=False)
        self.register_buffer("index", index, persistent=False)
        self.register_buffer(
            "inverse", torch.argsort(index) if is_permutation else None, persistent=False
        )

    def build_edges(self, num_frames: int) -> tuple[Tensor, Tensor]:
        """``edge_index`` ``(2, F * K)`` and ``edge_type`` ``(F * K,)`` of ``num_frames`` frames."""
        base = torch.arange(num_frames, device=self.index.device).unsqueeze(1) * self.num_joints
        source = (self.pair_source + base).flatten()
        target = (self.pair_target + base).flatten()
        if self.transpose:
            source, target = target, source
        edge_type = torch.arange(self.mask.shape[0], device=base.device).repeat(num_frames)
        return torch.stack([source, target]), edge_type

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] != self.channels or x.shape[0] % self.num_joints:
            raise ValueError(
                f"expected (F * {self.num_joints}, {self.channels}) features, got {tuple(x.shape)}"
            )
        frames = x.shape[0] // self.num_joints
        if self.impl == "message":
            edge_index, edge_type = self.build_edges(frames)
            return self.propagate_channels(x, edge_index, edge_type, self.mask.to(x.dtype))
        flat = x.reshape(frames, self.num_joints * self.channels)
        if not self.transpose:
            out = flat.index_select(1, self.index)
        elif self.inverse is not None:
            out = flat.index_select(1, self.inverse)
        else:
            out = torch.zeros_like(flat).index_add(1, self.index, flat)
        return out.view_as(x)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.channels}, num_joints={self.num_joints}, "
            f"transpose={self.transpose}, impl={self.impl!r})"
        )


class NonLocalGraphShift(GraphShift):
    r"""Non-local graph shift of Shift-GCN: every joint sees every other joint.

    Channel ``c`` of joint ``v`` reads joint :math:`(v + c) \bmod V`, the official
    ``shift_in``; the adjoint (``transpose=True``) reads :math:`(v - c) \bmod V`, the official
    ``shift_out`` applied after the point-wise map:

    .. math::
        x'_{f,v,c} = x_{f,\,(v \pm c) \bmod V,\,c}.

    Per frame the message form has ``V * min(C, V)`` edges (one per joint and distinct
    offset :math:`c \bmod V`).

    Args:
        channels: ``C``.
        num_joints: ``V``.
        transpose: Shift by :math:`-c` (the official shift-out) instead of :math:`+c`.
        impl: ``"message"`` or ``"gather"``.

    Shapes:
        - **input:** ``(N, C)``, ``N = F * V``
        - **output:** ``(N, C)``
    """

    def __init__(
        self, channels: int, num_joints: int, transpose: bool = False, impl: str = "gather"
    ) -> None:
        joint = torch.arange(num_joints).unsqueeze(1)
        super().__init__((joint + torch.arange(channels)) % num_joints, transpose, impl)


class LocalGraphShift(GraphShift):
    r"""Local graph shift of Shift-GCN: channels come from the joint's bone neighbours.

    Joint ``v`` with neighbours :math:`u_1 < \dots < u_{n_v}` in the layout's bone graph
    (sorted by joint index) splits its ``C`` channels into :math:`n_v + 1` consecutive
    partitions :math:`P_0, \dots, P_{n_v}` as ``torch.tensor_split`` does (the first
    :math:`C \bmod (n_v+1)` partitions get :math:`\lceil C/(n_v+1) \rceil` channels, the
    others :math:`\lfloor C/(n_v+1) \rfloor`); :math:`P_0` keeps the joint's own feature and
    :math:`P_k` is read from :math:`u_k` (the paper's equation 3, never released officially):

    .. math::
        x'_{f,v} = x_{f,v}[P_0] \,\|\, x_{f,u_1}[P_1] \,\|\, \dots \,\|\, x_{f,u_{n_v}}[P_{n_v}].

    When ``C < n_v + 1`` the last neighbours get no channel. The adjoint
    (``transpose=True``) sends every partition back to the joint it came from (summing).

    Args:
        channels: ``C``.
        layout: Skeleton layout whose bones define the neighbours.
        transpose: Apply the adjoint (the shift-out after the point-wise map).
        impl: ``"message"`` or ``"gather"``.

    Shapes:
        - **input:** ``(N, C)``, ``N = F * V``
        - **output:** ``(N, C)``
    """

    def __init__(
        self, channels: int, layout: LayoutLike, transpose: bool = False, impl: str = "gather"
    ) -> None:
        layout = get_layout(layout)
        neighbours: list[set[int]] = [set() for _ in range(layout.num_joints)]
        for a, b in layout.bones:
            neighbours[a].add(b)
            neighbours[b].add(a)
        source = torch.empty(layout.num_joints, channels, dtype=torch.long)
        for joint, around in enumerate(neighbours):
            owners = [joint, *sorted(around)]
            parts = torch.tensor_split(torch.arange(channels), len(owners))
            for owner, part in zip(owners, parts, strict=True):
                source[joint, part] = owner
        super().__init__(source, transpose, impl)


def graph_shift(
    kind: str, channels: int, layout: LayoutLike, transpose: bool = False, impl: str = "gather"
) -> GraphShift:
    """A ``"nonlocal"`` or ``"local"`` graph shift."""
    check_choice("spatial shift", kind, SPATIAL_SHIFTS)
    if kind == "local":
        return LocalGraphShift(channels, layout, transpose, impl)
    return NonLocalGraphShift(channels, get_layout(layout).num_joints, transpose, impl)


class TemporalShift(ChannelShiftPassing):
    r"""Base class of temporal shifts: per-channel frame offsets with weights ("taps").

    Output node ``(r, t', v)`` (at stride ``s``) reads, for each tap :math:`(o, w)`, the
    same joint of the same track at frame :math:`s t' + o_c`, weighted by :math:`w_c`:

    .. math::
        x'_{r,t',v,c} = \sum_{\text{taps}} w_c \, x_{r,\,s t' + o_c,\,v,\,c},

    with zero for frames outside :math:`0..T_r-1` (each track's own boundaries, so samples of
    different lengths share a batch without padding). The output is the coarser graph of
    :meth:`SkeletonLevel.coarsen` (``ceil(T_r / s)`` frames per track).

    * **message form:** the temporal edges of window :math:`2R+1`
      (:meth:`SkeletonLevel.temporal`, :math:`R = \max |o|`) with the ``(2R+1, C)`` table
      holding each tap's weight at row :math:`o_c + R`;
    * **gather form:** one ``gather`` along the frames per tap, each channel at its own
      offset, weighted and zeroed outside the track
      (:func:`~pyg_action.nn.shift_taps.shift_frames`); its shapes never depend on the
      offsets' values, so an adaptive shift needs no host synchronisation. On CPU the
      stride-1 shift runs as shifted row slices instead
      (:func:`~pyg_action.nn.shift_rows.shift_rows`, several times faster there; it reads
      the offsets, which costs a CPU nothing; the backend's ``temporal_shift="gather"``
      selects the gathers there too).

    Subclasses define :meth:`taps`.

    Args:
        channels: ``C``.
        stride: Temporal stride ``s``.
        impl: ``"message"`` or ``"gather"``.
    """

    def __init__(self, channels: int, stride: int = 1, impl: str = "gather") -> None:
        super().__init__(impl)
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.channels = channels
        self.stride = stride

    def taps(self) -> list[tuple[Tensor, Tensor]]:
        """``(offset, weight)`` pairs, each ``(C,)``: integer frame offsets and their weights."""
        raise NotImplementedError

    def tap_table(self, dtype: torch.dtype) -> tuple[int, Tensor]:
        """Weights per frame offset: ``(first, W)`` with row ``k`` of ``W`` ``(K, C)`` holding
        each channel's weight at offset ``first + k`` (zero where a channel has no tap)."""
        taps = self.taps()
        offsets = torch.stack([offset for offset, _ in taps])
        weights = torch.stack([weight for _, weight in taps]).to(dtype)
        first, last = torch.stack(torch.aminmax(offsets)).tolist()
        table = weights.new_zeros(last - first + 1, self.channels)
        return first, table.scatter_add(0, offsets - first, weights)

    def forward(self, x: Tensor, level: SkeletonLevel, scale: Tensor | None = None) -> Tensor:
        """Shift ``x`` ``(N, C)`` on ``level``; returns ``(N', C)`` on ``level.coarsen(stride)``.

        ``scale`` ``(C,)`` multiplies every tap weight (the shift of ``x`` times a per-channel
        factor, at no extra pass)."""
        if self.impl == "message":
            first, table = self.tap_table(x.dtype)
            if scale is not None:
                table = table * scale
            radius = max(-first, first + table.shape[0] - 1)
            edge_index, edge_type = level.temporal(2 * radius + 1, 1, self.stride)
            table = F.pad(table, (0, 0, radius + first, radius - first - table.shape[0] + 1))
            num_targets = level.coarsen(self.stride).num_nodes
            return self.propagate_channels(x, edge_index, edge_type, table, num_targets)
        if self.stride == 1 and x.device.type == "cpu" and get_backend().temporal_shift == "rows":
            first, table = self.tap_table(x.dtype)
            if scale is not None:
                table = (table * scale).to(x.dtype)
            frame, length = level.node_frames
            return shift_rows(x, first, table, frame, length, level.num_joints)
        offsets, weights = self.stacked_taps()
        if scale is not None:
            weights = weights * scale
        return shift_frames(x, level, self.stride, offsets, weights)

    def stacked_taps(self) -> tuple[Tensor, Tensor]:
        """The taps of :meth:`taps` stacked: offsets (long) and weights, each ``(K, 1, 1, C)``
        (laid out to broadcast over ``(K, frames, joints, C)``)."""
        offsets, weights = zip(*self.taps(), strict=True)
        shape = (len(offsets), 1, 1, self.channels)
        return torch.stack(offsets).view(shape), torch.stack(weights).view(shape)

    def ones_response(self, level: SkeletonLevel, dtype: torch.dtype) -> Tensor:
        r"""The shift of a feature that is 1 everywhere: ``(F', C)`` per output frame (the
        same for all its joints), :math:`\sum_k \mathbf{w}_k` over the taps that stay in
        the track."""
        offsets, weights = self.stacked_taps()
        return ones_response(level, self.stride, offsets, weights.to(dtype))

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.channels}, stride={self.stride}, impl={self.impl!r})"
        )


class FixedTemporalShift(TemporalShift):
    r"""Temporal shift with fixed integer offsets (the paper's naive temporal shift).

    The ``C`` channels are split into :math:`\Gamma = 2u + 1` consecutive groups as
    ``torch.tensor_split`` does; group ``g`` reads frame :math:`s t' + g - u`:

    .. math::
        x'_{r,t',v,c} = x_{r,\,s t' + g(c) - u,\,v,\,c}
        \quad (0 \text{ outside } 0..T_r - 1).

    Args:
        channels: ``C``.
        kernel_size: Window :math:`\Gamma` (odd).
        stride: Temporal stride ``s``.
        impl: ``"message"`` or ``"gather"``.

    Shapes:
        - **input:** ``(N, C)`` and the input's :class:`~pyg_action.graph.levels.SkeletonLevel`
        - **output:** ``(N', C)`` on ``level.coarsen(stride)``
    """

    def __init__(
        self, channels: int, kernel_size: int = 3, stride: int = 1, impl: str = "gather"
    ) -> None:
        super().__init__(channels, stride, impl)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and positive, got {kernel_size}")
        self.kernel_size = kernel_size
        offset = torch.empty(channels, dtype=torch.long)
        for group, part in enumerate(torch.tensor_split(torch.arange(channels), kernel_size)):
            offset[part] = group - (kernel_size - 1) // 2
        self.register_buffer("offset", offset, persistent=False)
        self.register_buffer("weight", torch.ones(channels), persistent=False)

    def taps(self) -> list[tuple[Tensor, Tensor]]:
        return [(self.offset, self.weight)]


class AdaptiveTemporalShift(TemporalShift):
    r"""Adaptive temporal shift: one learnable real shift :math:`S_c` per channel.

    The position :math:`p_c = S_c + (s - 1)/2` (the official kernel adds ``0.5`` at stride 2:
    the centre of the stride window) falls between frames :math:`\lfloor p_c \rfloor` and
    :math:`\lfloor p_c \rfloor + 1`; with :math:`\alpha_c = p_c - \lfloor p_c \rfloor`,

    .. math::
        x'_{r,t',v,c} = (1 - \alpha_c)\, x_{r,\,s t' + \lfloor p_c \rfloor,\,v,\,c}
                      + \alpha_c \, x_{r,\,s t' + \lfloor p_c \rfloor + 1,\,v,\,c}
        \quad (0 \text{ outside } 0..T_r - 1),

    and :math:`\partial x'/\partial S_c = x_{\lfloor p_c \rfloor + 1} - x_{\lfloor p_c \rfloor}`
    flows to the parameter by autograd (the official CUDA kernel instead rescales it to a
    fixed step; not reproduced).

    Args:
        channels: ``C``.
        stride: Temporal stride ``s``.
        init_scale: Shifts start uniform in ``[-init_scale, init_scale]`` (official: 1).
        impl: ``"message"`` or ``"gather"``.

    Shapes:
        - **input:** ``(N, C)`` and the input's :class:`~pyg_action.graph.levels.SkeletonLevel`
        - **output:** ``(N', C)`` on ``level.coarsen(stride)``
    """

    def __init__(
        self, channels: int, stride: int = 1, init_scale: float = 1.0, impl: str = "gather"
    ) -> None:
        super().__init__(channels, stride, impl)
        self.init_scale = init_scale
        self.shift = nn.Parameter(torch.empty(channels))
        step = torch.tensor([0, 1]).view(2, 1, 1, 1)
        self.register_buffer("tap_step", step, persistent=False)
        self.register_buffer("tap_base", (1 - step).float(), persistent=False)
        self.register_buffer("tap_sign", (2 * step - 1).float(), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.uniform_(self.shift, -self.init_scale, self.init_scale)

    def taps(self) -> list[tuple[Tensor, Tensor]]:
        offsets, weights = self.stacked_taps()
        return [(offsets[k].view(-1), weights[k].view(-1)) for k in range(2)]

    def stacked_taps(self) -> tuple[Tensor, Tensor]:
        r"""Offsets :math:`\lfloor p_c \rfloor + (0, 1)` and weights
        :math:`(1 - \alpha_c, \alpha_c)`, each ``(2, 1, 1, C)``, in a few whole-tensor ops."""
        position = self.shift if self.stride == 1 else self.shift + (self.stride - 1) / 2
        low = torch.floor(position.detach())
        alpha = position - low
        # (2, 1, 1, 1) constants broadcast against the (C,) rows: tap 0 at low with 1 - alpha,
        # tap 1 at low + 1 with alpha
        return low.long() + self.tap_step, torch.addcmul(self.tap_base, alpha, self.tap_sign)


def temporal_shift(
    kind: str, channels: int, stride: int = 1, kernel_size: int = 3, impl: str = "gather"
) -> TemporalShift:
    """A ``"fixed"`` (window ``kernel_size``) or ``"adaptive"`` temporal shift."""
    check_choice("temporal shift", kind, TEMPORAL_SHIFTS)
    if kind == "fixed":
        return FixedTemporalShift(channels, kernel_size, stride, impl)
    return AdaptiveTemporalShift(channels, stride, impl=impl)


class ShiftGraphConv(nn.Module):
    r"""Spatial unit of Shift-GCN: graph shift, masked point-wise map, shift back, BN, residual.

    With the graph shift :math:`\sigma` (non-local or local), its adjoint
    :math:`\sigma^\top`, the learnable feature mask :math:`\mathbf{M} \in
    \mathbb{R}^{V \times C_{in}}` (initialised to zero, so :math:`\tanh M + 1 = 1`) and a
    batch-norm with one statistic per (joint, channel) as official:

    .. math::
        \mathbf{h}_{f,v} = \mathbf{W} \big( \mathbf{x}_{f,\sigma(v,\cdot)} \odot
            (\tanh \mathbf{M}_v + 1) \big) + \mathbf{b}, \qquad
        \mathbf{x}'_{f,v} = \mathrm{ReLU}\big( \mathrm{BN}_{v}
            ((\sigma^\top \mathbf{h})_{f,v}) + \mathbf{D}\mathbf{x}_{f,v} \big),

    where :math:`\mathbf{D}` is the identity, or linear + BN when the width changes.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        layout: Skeleton layout (``V`` and, for the local shift, the bones).
        shift: ``"nonlocal"`` or ``"local"``.
        impl: ``"message"`` or ``"gather"`` for both shifts.

    Shapes:
        - **input:** ``(N, C_in)``, ``N = F * V``
        - **output:** ``(N, C_out)``
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        layout: LayoutLike,
        shift: str = "nonlocal",
        impl: str = "gather",
    ) -> None:
        super().__init__()
        layout = get_layout(layout)
        self.num_joints = layout.num_joints
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.shift_in = graph_shift(shift, in_channels, layout, impl=impl)
        self.shift_out = graph_shift(shift, out_channels, layout, transpose=True, impl=impl)
        self.mask = nn.Parameter(torch.zeros(self.num_joints, in_channels))
        self.lin = Linear(in_channels, out_channels)
        self.norm = nn.BatchNorm1d(self.num_joints * out_channels)
        self.down = (
            None
            if in_channels == out_channels
            else nn.Sequential(Linear(in_channels, out_channels), nn.BatchNorm1d(out_channels))
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The official initialisation: ``W ~ N(0, 1/C_out)``, zero bias and mask."""
        nn.init.normal_(self.lin.weight, 0.0, math.sqrt(1.0 / self.out_channels))
        nn.init.zeros_(self.lin.bias)
        nn.init.zeros_(self.mask)
        self.norm.reset_parameters()
        if self.down is not None:
            linear, norm = cast(nn.Linear, self.down[0]), cast(nn.BatchNorm1d, self.down[1])
            nn.init.kaiming_normal_(linear.weight, mode="fan_out")
            nn.init.zeros_(linear.bias)
            norm.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        frames = x.shape[0] // self.num_joints
        # out of place: an in-place update of a view costs autograd a copy of the whole base
        h = self.shift_in(x).view(frames, self.num_joints, -1) * (torch.tanh(self.mask) + 1)
        h = self.shift_out(self.lin(h.view(-1, self.in_channels)))
        h = self.norm(h.view(frames, -1)).view(-1, self.out_channels)
        return torch.relu(h + (x if self.down is None else self.down(x)))

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"shift={self.shift_in.__class__.__name__})"
        )


class ShiftTemporalConv(nn.Module):
    r"""Temporal unit of Shift-GCN: BN, shift, point-wise map, ReLU, strided shift, BN.

    .. math::
        \mathbf{x}' = \mathrm{BN}\Big( \tau_{out}^{(s)}\big( \mathrm{ReLU}(
            \mathbf{W}\, \tau_{in}(\mathrm{BN}(\mathbf{x})) + \mathbf{b}) \big) \Big),

    with :math:`\tau_{in}` a temporal shift at stride 1 and :math:`\tau_{out}^{(s)}` one at
    stride ``s`` (both fixed or both adaptive, as the official ``Shift_tcn``).

    In inference (eval mode, gradients off) both batch-norms fold away, two passes over the
    features fewer. Eval-mode :math:`\mathrm{BN}(\mathbf{x}) = \mathbf{a} \odot \mathbf{x} +
    \mathbf{b}` per channel, and a shift is linear per channel, so
    :math:`\tau_{in}(\mathbf{a} \odot \mathbf{x} + \mathbf{b}) = \mathbf{a} \odot
    \tau_{in}(\mathbf{x}) + \mathbf{b} \odot \tau_{in}(\mathbf{1})`, where
    :math:`\tau_{in}(\mathbf{1})_f` is the sum of the tap weights that stay inside the track at
    frame ``f`` (:meth:`TemporalShift.ones_response`). The point-wise map then takes the
    weight :math:`\mathbf{W} \operatorname{diag}(\mathbf{a})`, and every frame gets
    :math:`\mathbf{W}(\mathbf{b} \odot \tau_{in}(\mathbf{1})_f)` added (one ``(F, C)``
    product, the same for all joints of the frame); the second batch-norm's scale multiplies
    :math:`\tau_{out}`'s tap weights and its shift is added. The values are those of the
    unfolded unit up to fp32 rounding.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        stride: Temporal stride ``s`` (of the second shift).
        shift: ``"fixed"`` or ``"adaptive"``.
        kernel_size: Window of the fixed shift.
        impl: ``"message"`` or ``"gather"``.

    Shapes:
        - **input:** ``(N, C_in)`` and the input's :class:`~pyg_action.graph.levels.SkeletonLevel`
        - **output:** ``(N', C_out)`` on ``level.coarsen(stride)``
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        shift: str = "adaptive",
        kernel_size: int = 3,
        impl: str = "gather",
    ) -> None:
        super().__init__()
        self.stride = stride
        self.norm_in = nn.BatchNorm1d(in_channels)
        self.shift_in = temporal_shift(shift, in_channels, 1, kernel_size, impl)
        self.lin = Linear(in_channels, out_channels)
        self.shift_out = temporal_shift(shift, out_channels, stride, kernel_size, impl)
        self.norm_out = nn.BatchNorm1d(out_channels)
        nn.init.kaiming_normal_(self.lin.weight, mode="fan_out")

    def forward(self, x: Tensor, level: SkeletonLevel) -> Tensor:
        folded = None if torch.is_grad_enabled() else _folded_norms(self.norm_in, self.norm_out)
        if folded is None:
            h = self.lin(self.shift_in(self.norm_in(x), level)).relu_()
            return self.norm_out(self.shift_out(h, level))
        (scale_in, shift_in), (scale_out, shift_out) = folded
        ones = self.shift_in.ones_response(level, x.dtype)  # (F, C_in)
        weight = self.lin.weight
        h = linear(self.shift_in(x, level), weight * scale_in, self.lin.bias)
        offset = ((ones * shift_in) @ weight.t()).unsqueeze(1)  # (F, 1, C_out), per frame
        h = (h.view(ones.shape[0], level.num_joints, -1) + offset).view(h.shape)
        return self.shift_out(h.relu_(), level, scale_out).add_(shift_out)


def _folded_norms(*norms: nn.BatchNorm1d) -> list[tuple[Tensor, Tensor]] | None:
    """``(a, b)`` with ``norm(x) = a ⊙ x + b`` for each norm in eval mode with running
    statistics, or None if any normalises by the batch's own statistics."""
    folded = []
    for norm in norms:
        if norm.training or norm.running_mean is None or norm.running_var is None:
            return None
        scale = torch.rsqrt(norm.running_var + norm.eps)
        if norm.weight is not None:
            scale = scale * norm.weight
        shift = -norm.running_mean * scale
        folded.append((scale, shift if norm.bias is None else shift + norm.bias))
    return folded
