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
edge weights :math:`\tilde{A}` it is one typed aggregation over ``K V^2`` pairs, computed as one
batched product per track and channel. The frames of a track share :math:`\tilde{A}`; when the
tracks differ in length they are laid in an ``(R, T_max)`` grid for that product
(:attr:`~pyg_action.graph.levels.SkeletonLevel.padded_frames`), whose empty slots are never
read back, and the frame means use each track's own length.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..graph.levels import SkeletonLevel
from .linear_map import Linear


def relation_width(in_channels: int, reduction: int = 8) -> int:
    """The official rule: 8 for 3- or 9-channel inputs, else ``in_channels // reduction``."""
    return 8 if in_channels in (3, 9) else in_channels // reduction


class ChannelTopologyGraphConv(nn.Module):
    """CTR-GC summed over ``K`` partitions (module notes).

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        adjacency: ``(K, V, V)`` initial topology ``A[k, u, v]`` (target ``u``, source ``v``);
            learned.
        rel_reduction: Relation width ``C_in // rel_reduction`` (8 for 3 or 9 input channels).

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
        self, in_channels: int, out_channels: int, adjacency: Tensor, rel_reduction: int = 8
    ) -> None:
        super().__init__()
        k, v, _ = adjacency.shape
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_partitions = k
        self.num_joints = v
        self.rel_channels = relation_width(in_channels, rel_reduction)
        self.adjacency = nn.Parameter(adjacency.clone().float())
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
        """:math:`\\tilde{A}` ``(R, K, C_out, V, V)`` from the frame means ``(R, V, C_in)``."""
        k, r = self.num_partitions, self.rel_channels
        codes = self.relation(means).view(means.shape[0], self.num_joints, 2, k, r)
        phi, psi = codes[:, :, 0], codes[:, :, 1]  # (R, V, K, r)
        relation = torch.tanh(phi.unsqueeze(2) - psi.unsqueeze(1))  # (R, U, V, K, r)
        refined = torch.einsum("tuvkr,kcr->tkcuv", relation, self.expand_weight)
        refined = refined + self.expand_bias[:, :, None, None]
        return self.adjacency.to(refined.dtype)[:, None] + self.alpha * refined

    def forward(self, x: Tensor, level: SkeletonLevel) -> Tensor:
        v, k, c = self.num_joints, self.num_partitions, self.out_channels
        shape = level.shape
        tracks, longest = shape.num_tracks, max(shape.lengths)
        values = self.value(x)  # (N, K C_out)
        if shape.equal_lengths:
            means = x.view(tracks, longest, v, -1).mean(1)
            grid = values.view(tracks, longest, v, k, c)
        else:
            rows = x.view(-1, v, x.shape[1])
            sums = rows.new_zeros(tracks * longest, v, x.shape[1])
            sums = sums.index_copy(0, level.padded_frames, rows).view(tracks, longest, v, -1)
            means = sums.sum(1) / level.lengths.to(x.dtype)[:, None, None]
            frames = values.view(-1, v, k * c)
            grid = frames.new_zeros(tracks * longest, v, k * c)
            grid = grid.index_copy(0, level.padded_frames, frames).view(tracks, longest, v, k, c)
        refined = self.refined_topology(means)
        out = torch.einsum("tkcuv,tsvkc->tsuc", refined, grid)
        if shape.equal_lengths:
            return out.reshape(-1, c)
        return out.reshape(tracks * longest, v, c).index_select(0, level.padded_frames).view(-1, c)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"num_partitions={self.num_partitions}, rel_channels={self.rel_channels})"
        )
