r"""Gather form of the temporal shifts: every channel reads its own frame offsets ("taps").

A shift with taps :math:`(\mathbf{o}_k, \mathbf{w}_k)`, ``k = 1..K``, each a per-channel
integer frame offset and weight ``(C,)``, maps node ``(r, t', v)`` of the level after a
stride ``s`` to

.. math::
    y_{r,t',v,c} = \sum_k w_{k,c} \, x_{r,\, s t' + o_{k,c},\, v,\, c}
        \,[0 \le s t' + o_{k,c} < T_r],

zero where a tap leaves the track (each track's own boundaries, any mix of lengths). With
nodes ordered ``(track, frame, joint)`` the features are ``(F, V, C)``. The taps come stacked,
offsets and weights ``(K, 1, 1, C)``: every tap's source frame ``start_r + s t' + o_{k,c}``
(clamped into the track) is one ``(K, F', 1, C)`` index, so all taps are *one* ``gather``
along the frames (the index expanded over the joints), one product with the ``(K, F', 1, C)``
weights zeroed where a tap leaves its track, and one sum over the taps. Every shape is fixed
by the level's host-side shape and ``K``: nothing depends on the offsets' values, so a
learnable (adaptive) shift runs without a host synchronisation, and autograd's backward of
``gather`` (a ``scatter_add``) and of the weighting is the exact adjoint.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..graph.levels import SkeletonLevel


def tap_weights(
    level: SkeletonLevel, stride: int, offsets: Tensor, weights: Tensor
) -> tuple[Tensor, Tensor]:
    """The ``(K, F', 1, C)`` source frame of every tap (among the level's ``F``) and its
    weight there, zero where the tap leaves the track (``F'`` frames after ``stride``).

    Args:
        offsets: ``(K, 1, 1, C)`` integer frame offsets (long).
        weights: ``(K, 1, 1, C)`` their weights (may require gradients).
    """
    kept, first, last = level.tap_frames(stride)
    target = kept + offsets
    source = target.clamp(first, last)  # the nearest frame of the track
    return source, weights * (source == target)


def shift_frames(
    x: Tensor, level: SkeletonLevel, stride: int, offsets: Tensor, weights: Tensor
) -> Tensor:
    """The shift of ``x`` ``(N, C)`` on ``level`` by the stacked taps (module notes),
    ``(N', C)``.

    Args:
        x: ``(N, C)`` node features.
        level: Their level.
        stride: Temporal stride ``s``; the output is on ``level.coarsen(stride)``.
        offsets: ``(K, 1, 1, C)`` integer frame offsets (long).
        weights: ``(K, 1, 1, C)`` the weights of the frames they reach (may require
            gradients).
    """
    num_joints, channels = level.num_joints, x.shape[1]
    source, weight = tap_weights(level, stride, offsets, weights.to(x.dtype))
    taps, frames_out = source.shape[0], source.shape[1]
    index = source.view(-1, 1, channels).expand(-1, num_joints, -1)
    gathered = torch.gather(x.view(-1, num_joints, channels), 0, index)
    out = gathered.view(taps, frames_out, num_joints, channels) * weight
    return (out.sum(0) if taps > 1 else out).view(-1, channels)


def ones_response(level: SkeletonLevel, stride: int, offsets: Tensor, weights: Tensor) -> Tensor:
    """The shift of a feature that is 1 everywhere, per output frame: ``(F', C)``, the sum of
    the weights of the taps that stay inside the track (the same for every joint)."""
    _, weight = tap_weights(level, stride, offsets, weights)
    return weight.sum(0).view(weight.shape[1], -1)
