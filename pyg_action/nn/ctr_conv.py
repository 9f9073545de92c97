r"""Channel-wise topology refinement graph convolution (CTR-GC) on skeleton tracks.

From "Channel-wise Topology Refinement Graph Convolution for Skeleton-Based Action Recognition"
(Chen et al., ICCV 2021). For every track (one person of one sample), partition ``k`` and
output channel ``c`` the joints of a frame are aggregated over **all** joint pairs with a
refined topology

.. math::
    \tilde{A}_{k,c,u,v} = A_{k,u,v} + \alpha \left(\mathbf{W}^{\xi}_k
        \tanh\!\left(\phi_k(\bar{\mathbf{x}}_u) - \psi_k(\bar{\mathbf{x}}_v)\right)
        + \mathbf{b}^{\xi}_k\right)_c,
    \qquad
    \mathbf{x}'_{t,u,c} = \sum_k \sum_v \tilde{A}_{k,c,u,v} \,
        \big(\mathbf{W}_k \mathbf{x}_{t,v} + \mathbf{b}_k\big)_c ,

where :math:`\bar{\mathbf{x}}_v` is joint ``v``'s mean over the track's frames, :math:`\phi_k`
and :math:`\psi_k` point-wise maps to a narrow relation width, ``u`` the target joint and
``v`` the source (the official ``einsum('ncuv,nctv->nctu')``); ``A`` is learned too.

Every frame's graph is the all-pairs joint graph of the layout: with the per-track, per-channel
edge weights :math:`\tilde{A}` it is one typed aggregation over ``K V^2`` pairs, computed as
batched ``(T, V) x (V, V)`` products, one per output channel and track, accumulated over the
``K`` partitions. The value map is computed channel-major, :math:`\mathbf{W} \mathbf{x}^\top`
``(K C_out, R T V)`` from the node-major rows read transposed, and :math:`\tilde{A}` is built
``(K, C_out, R, V, V)`` with the source joint before the target, so the products read both as
they are and only their ``(C_out, N)`` result is transposed back to node rows: no copy of the
``K`` times wider values, forward or backward. :math:`\tilde{A}` itself, ``C_out / r``
times wider than the relation it comes from, is the result of one batched product per
partition and nothing else: the bias :math:`\mathbf{b}^{\xi}_k` and ``A`` enter that product
as two more input channels (ones, and ``A`` repeated over the tracks) and :math:`\alpha`
scales its small ``(K, C_out, r + 2)`` weights, so no pass over :math:`\tilde{A}` adds or
scales anything, forward or backward. The frames of a track share
:math:`\tilde{A}`; when the tracks differ in length the input rows are laid in an
``(R, T_max)`` grid (:attr:`~pyg_action.graph.levels.SkeletonLevel.padded_frames`) whose empty
slots are never read back, and the frame means use each track's own length.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..graph.levels import SkeletonLevel
from .linear_map import Linear


def relation_width(in_channels: int, reduction: int = 8) -> int:
    """Width of the relation features ``φ, ψ``: the official rule, 8 for 3- or 9-channel
    inputs and ``in_channels // reduction`` otherwise, except that an input narrower than
    ``reduction`` channels (joint + bone, 6; x, y, z and a score, 4), for which the rule gives
    0 channels and the official model cannot run, gets the 8 of the official narrow inputs.
    """
    if in_channels in (3, 9) or in_channels < reduction:
        return 8
    return in_channels // reduction


def _check_positive_integer(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_relation_channels(channels: int | None) -> None:
    """``input_relation_channels`` is ``None`` (the rule) or a positive integer."""
    if channels is not None:
        _check_positive_integer("input_relation_channels", channels)


def check_relation_reduction(reduction: int) -> None:
    """``relation_reduction`` is a positive integer."""
    _check_positive_integer("relation_reduction", reduction)


def block_relation_width(
    index: int, in_channels: int, input_channels: int | None, reduction: int
) -> int:
    """``φ, ψ`` width of block ``index`` of a CTR-GCN reading ``in_channels``: the input block
    (``index`` 0) takes ``input_channels``, or the official rule for inputs
    (:func:`relation_width` with reduction 8); every later block ``in_channels // reduction``
    by the same rule."""
    if index == 0:
        return input_channels or relation_width(in_channels)
    return relation_width(in_channels, reduction)


def register_topology(module: nn.Module, name: str, adjacency: Tensor, learn: bool) -> None:
    """Give ``module`` a copy of ``adjacency`` as ``name``: a parameter when ``learn``, else a
    buffer (saved and moved with the module, never updated by the optimiser)."""
    if learn:
        module.register_parameter(name, nn.Parameter(adjacency.clone()))
    else:
        module.register_buffer(name, adjacency.clone())


class ChannelTopologyGraphConv(nn.Module):
    """CTR-GC summed over ``K`` partitions (module notes).

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        adjacency: ``(K, V, V)`` initial topology ``A[k, u, v]`` (target ``u``, source ``v``).
        rel_reduction: Relation width ``C_in // rel_reduction`` (:func:`relation_width`).
        rel_channels: The relation width itself, in place of :func:`relation_width`'s.
        learn_adjacency: ``A`` is a parameter, learned (official); ``False`` keeps it fixed,
            a buffer (the official ``adaptive=False``): only the refinement adapts.

    Attributes:
        adjacency: ``A`` ``(K, V, V)``; ``alpha``: the refinement's scale (initially 0).
        relation: :math:`\\phi_k` then :math:`\\psi_k` of every partition, ``(2 K R, C_in)``.
        value: :math:`\\mathbf{W}_k` of every partition, ``(K C_out, C_in)``.
        expand_weight, expand_bias: :math:`\\mathbf{W}^{\\xi}_k` ``(K, C_out, R)`` and
            :math:`\\mathbf{b}^{\\xi}_k` ``(K, C_out)``.

    Shapes:
        - **input:** ``(N, C_in)`` node features of a level's tracks
        - **output:** ``(N, C_out)``
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        adjacency: Tensor,
        rel_reduction: int = 8,
        rel_channels: int | None = None,
        learn_adjacency: bool = True,
    ) -> None:
        super().__init__()
        k, v, _ = adjacency.shape
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_partitions = k
        self.num_joints = v
        self.rel_channels = rel_channels or relation_width(in_channels, rel_reduction)
        self.adjacency: Tensor
        # stored transposed in memory, as the refinement reads it (A[k, v, u]): the forward
        # reads a view and the gradient lands without a copy
        stored = adjacency.float().transpose(1, 2).contiguous().transpose(1, 2)
        register_topology(self, "adjacency", stored, learn_adjacency)
        self.alpha = nn.Parameter(torch.zeros(1))
        self.relation = Linear(in_channels, 2 * k * self.rel_channels)
        self.value = Linear(in_channels, k * out_channels)
        self.expand_weight = nn.Parameter(torch.empty(k, out_channels, self.rel_channels))
        self.expand_bias = nn.Parameter(torch.zeros(k, out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The official initialisation: Kaiming normal (fan out) point-wise maps, zero biases."""
        for weight in (self.relation.weight, self.value.weight):
            nn.init.kaiming_normal_(weight, mode="fan_out")
        nn.init.normal_(self.expand_weight, 0.0, math.sqrt(2.0 / self.out_channels))
        for bias in (self.relation.bias, self.value.bias, self.expand_bias):
            nn.init.zeros_(bias)

    def refined_topology(self, means: Tensor) -> Tensor:
        """:math:`\\tilde{A}` from the frame means ``(R, V, C_in)``, transposed for the
        aggregation: ``(K, C_out, R, V, U)`` indexed ``[k, c, track, v, u]`` (source, then
        target).

        One batched product per partition gives all of it: the ``r`` relation channels, a
        channel of ones and a channel holding ``A`` (the same for every track) map to the
        ``C_out`` output channels with the weights :math:`[\\alpha \\mathbf{W}^{\\xi}_k,
        \\alpha \\mathbf{b}^{\\xi}_k, \\mathbf{1}]` ``(K, C_out, r + 2)``, so the ``C_out``
        times wider result is written once and never scaled or shifted (forward or backward).
        Laid out partition- and channel-major, so that the aggregation reads it as its right
        operand without a copy.
        """
        k, r = self.num_partitions, self.rel_channels
        tracks, v, c = means.shape[0], self.num_joints, self.out_channels
        codes = self.relation(means).view(tracks, v, 2, k, r).permute(2, 3, 4, 0, 1)
        phi, psi = codes[0], codes[1]  # (K, r, R, V), small
        relation = torch.tanh(phi.unsqueeze(-2) - psi.unsqueeze(-1))  # (K, r, R, V src, U tgt)
        shape = (k, 1, tracks, v, v)
        ones = relation.new_ones(()).expand(shape)
        start = self.adjacency.transpose(1, 2).to(relation.dtype)  # A[k, v, u], (K, V, U)
        inputs = torch.cat([relation, ones, start.unsqueeze(1).unsqueeze(1).expand(shape)], 1)
        scaled = self.alpha * torch.cat([self.expand_weight, self.expand_bias.unsqueeze(-1)], 2)
        weight = torch.cat([scaled, scaled.new_ones(()).expand(k, c, 1)], 2)  # (K, C_out, r + 2)
        return torch.bmm(weight, inputs.view(k, r + 2, -1)).view(k, c, tracks, v, v)

    def forward(self, x: Tensor, level: SkeletonLevel) -> Tensor:
        v, k, c = self.num_joints, self.num_partitions, self.out_channels
        shape = level.shape
        tracks, longest = shape.num_tracks, max(shape.lengths)
        if shape.equal_lengths:
            grid = x.view(tracks, longest, v, -1)
            means = grid.mean(1)
        else:
            rows = x.view(-1, v, x.shape[1])
            grid = rows.new_zeros(tracks * longest, v, x.shape[1])
            grid = grid.index_copy(0, level.padded_frames, rows).view(tracks, longest, v, -1)
            means = grid.sum(1) / level.lengths.to(x.dtype)[:, None, None]
        refined = self.refined_topology(means)  # (K, C_out, R, V, U)
        # the value maps channel-major, (K C_out, R T V): W x^T, x^T a transposed view
        nodes = grid.reshape(-1, x.shape[1])
        mapped = torch.addmm(self.value.bias.unsqueeze(1), self.value.weight, nodes.t())
        # out[c r, t, u] = sum_k sum_v values[k, c r, t, v] A~[k, c, r, u, v] (stored [.., v, u])
        values = mapped.view(k, c * tracks, longest, v).unbind(0)
        topologies = refined.view(k, c * tracks, v, v).unbind(0)
        out = torch.bmm(values[0], topologies[0])
        for part in range(1, k):
            out = torch.baddbmm(out, values[part], topologies[part])
        out = out.view(c, tracks * longest * v).t()  # (R T U, C_out), a view
        if shape.equal_lengths:
            return out.contiguous()
        frames = out.view(tracks * longest, v, c)
        return frames.index_select(0, level.padded_frames).view(-1, c)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"num_partitions={self.num_partitions}, rel_channels={self.rel_channels})"
        )
