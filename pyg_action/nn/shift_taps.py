r"""Gather form of the temporal shifts: every channel reads its own frame offsets ("taps").

A shift with taps :math:`(\mathbf{o}_k, \mathbf{w}_k)`, ``k = 1..K``, each a per-channel
integer frame offset and weight ``(C,)``, maps node ``(r, t', v)`` of the level after a
stride ``s`` to

.. math::
    y_{r,t',v,c} = \sum_k w_{k,c} \, x_{r,\, s t' + o_{k,c},\, v,\, c}
        \,[0 \le s t' + o_{k,c} < T_r],

zero where a tap leaves the track (each track's own boundaries, any mix of lengths). With
nodes ordered ``(track, frame, joint)`` the features are ``(F, V, C)``: tap ``k`` is one
``gather`` along the frames with the ``(F', C)`` index ``start_r + s t' + o_{k,c}`` (clamped
into range) expanded over the joints, times the ``(F', C)`` weight ``w_{k,c}`` zeroed where
the tap leaves its track. Every shape is fixed by the level's host-side shape and ``K``:
nothing depends on the offsets' values, so a learnable (adaptive) shift runs without a host
synchronisation, and autograd's backward of ``gather`` (a ``scatter_add``) and of the
weighting is the exact adjoint.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ..graph.levels import SkeletonLevel


def tap_weights(
    level: SkeletonLevel, stride: int, taps: Sequence[tuple[Tensor, Tensor]]
) -> list[tuple[Tensor, Tensor]]:
    """For every tap, the ``(F', C)`` source frame (among the level's ``F``) and the weight
    there, zero where the tap leaves the track (``F'`` frames after ``stride``)."""
    start, frame, last = level.strided_frames(stride)
    out = []
    for offset, weight in taps:
        target = frame + offset
        reached = target.clamp(min=0).minimum(last)  # the nearest frame of the track
        out.append((start + reached, weight * (reached == target)))
    return out


def shift_frames(
    x: Tensor,
    level: SkeletonLevel,
    stride: int,
    taps: Sequence[tuple[Tensor, Tensor]],
) -> Tensor:
    """The shift of ``x`` ``(N, C)`` on ``level`` by ``taps`` (module notes), ``(N', C)``.

    Args:
        x: ``(N, C)`` node features.
        level: Their level.
        stride: Temporal stride ``s``; the output is on ``level.coarsen(stride)``.
        taps: ``(offset, weight)`` pairs, each ``(C,)``: integer frame offsets (long) and the
            weights of the frames they reach (may require gradients).
    """
    num_joints, channels = level.num_joints, x.shape[1]
    frames = x.view(-1, num_joints, channels)
    out: Tensor | None = None
    for source, weight in tap_weights(level, stride, taps):
        index = source.unsqueeze(1).expand(-1, num_joints, -1)
        term = torch.gather(frames, 0, index) * weight.unsqueeze(1).to(x.dtype)
        out = term if out is None else out + term
    assert out is not None, "a shift has at least one tap"
    return out.view(-1, channels)


def ones_response(
    level: SkeletonLevel, stride: int, taps: Sequence[tuple[Tensor, Tensor]]
) -> Tensor:
    """The shift of a feature that is 1 everywhere, per output frame: ``(F', C)``, the sum of
    the weights of the taps that stay inside the track (the same for every joint)."""
    weights = [weight for _, weight in tap_weights(level, stride, taps)]
    return torch.stack(weights).sum(0)
