r"""Temporal edges: the same joint joined across frames inside a window.

Nodes of a skeleton graph are ordered ``(track, frame, joint)`` where a *track* is one
person's sequence in one sample. With window :math:`\Gamma` (odd), dilation :math:`\delta` and
stride :math:`s`, output node ``(r, t', v)`` receives from input node ``(r, t's + o_k, v)`` for

.. math::
    o_k = (k - (\Gamma - 1)/2)\,\delta, \qquad k = 0..\Gamma-1,

whenever ``0 <= t's + o_k < T_r``. The edge type is ``k`` (the frame offset, the paper's
spatio-temporal label). Frames outside a track simply have no edge, which is exactly zero
padding at each sample's own boundaries, for any mix of lengths. With ``s > 1`` the edges are
bipartite: sources index the fine graph, targets the coarser one with
``T'_r = ceil(T_r / s)`` frames (what ``Conv2d`` with padding :math:`(\Gamma-1)\delta/2` yields).
"""

from __future__ import annotations

import torch
from torch import Tensor


def track_lengths(num_frames: Tensor, num_persons: Tensor) -> Tensor:
    """Frames per track ``(R,)`` from per-sample ``num_frames`` and ``num_persons`` ``(B,)``."""
    return torch.repeat_interleave(num_frames, num_persons)


def strided_lengths(lengths: Tensor, stride: int) -> Tensor:
    """Track lengths after a temporal stride: ``ceil(T / s)``."""
    return torch.div(lengths + stride - 1, stride, rounding_mode="floor")


def _exclusive_cumsum(values: Tensor) -> Tensor:
    out = torch.zeros_like(values)
    out[1:] = torch.cumsum(values[:-1], 0)
    return out


def temporal_edges(
    lengths: Tensor,
    num_joints: int,
    window: int,
    dilation: int = 1,
    stride: int = 1,
    num_targets: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Temporal ``edge_index`` ``(2, E)`` and ``edge_type`` ``(E,)`` for tracks of ``lengths``.

    Edges are sorted by target node. See the module docstring for the rule. ``num_targets``
    (``sum_r ceil(T_r / s) V``) is read from ``lengths`` when not given. The edges that fall
    outside a track are dropped, so the edge count depends on the lengths' values.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"temporal window must be odd and positive, got {window}")
    if dilation < 1 or stride < 1:
        raise ValueError(f"dilation and stride must be >= 1, got {dilation}, {stride}")
    lengths = lengths.to(torch.long)
    device = lengths.device
    out_lengths = strided_lengths(lengths, stride)
    in_offset = _exclusive_cumsum(lengths * num_joints)
    out_offset = _exclusive_cumsum(out_lengths * num_joints)
    num_out = int((out_lengths * num_joints).sum()) if num_targets is None else num_targets
    target = torch.arange(num_out, device=device)
    track = torch.repeat_interleave(
        torch.arange(lengths.numel(), device=device), out_lengths * num_joints, output_size=num_out
    )
    local = target - out_offset[track]
    frame = torch.div(local, num_joints, rounding_mode="floor") * stride
    joint = local % num_joints
    offsets = (torch.arange(window, device=device) - (window - 1) // 2) * dilation
    source_frame = frame[:, None] + offsets[None, :]
    valid = (source_frame >= 0) & (source_frame < lengths[track][:, None])
    source = in_offset[track][:, None] + source_frame * num_joints + joint[:, None]
    edge_type = torch.arange(window, device=device).expand(num_out, window)
    edge_index = torch.stack([source[valid], target[:, None].expand(num_out, window)[valid]])
    return edge_index, edge_type[valid]


def _frames_of_tracks(lengths: Tensor) -> tuple[Tensor, Tensor]:
    """Track and frame within the track of every frame of tracks of ``lengths`` (long)."""
    track = torch.repeat_interleave(torch.arange(lengths.numel(), device=lengths.device), lengths)
    frame = torch.arange(track.numel(), device=lengths.device) - _exclusive_cumsum(lengths)[track]
    return track, frame


def strided_node_mask(lengths: Tensor, num_joints: int, stride: int) -> Tensor:
    """Boolean mask over fine nodes keeping frames ``0, s, 2s, ...`` of every track.

    The kept nodes, in order, are the nodes of the coarser graph.
    """
    lengths = lengths.to(torch.long)
    _, frame = _frames_of_tracks(lengths)
    return (frame % stride == 0).repeat_interleave(num_joints)
