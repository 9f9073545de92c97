r"""DropGraph: structured dropout of joints with their neighbours and of windows of frames.

From "Decoupling GCN with DropGraph Module for Skeleton-Based Action Recognition" (Cheng,
Zhang, He, Chen, Cheng, Lu; ECCV 2020). Plain dropout zeroes single features, which a graph
convolution refills from the neighbours; DropGraph zeroes a joint *and its neighbours* in every
frame of a person track, then windows of frames, so the following layers must do without a
whole body part or a stretch of time. In training, with drop rate ``p`` (the paper's
``1 - keep_prob``), on the rows ``x`` ``(N, C)`` of one skeleton level (``F`` frames of ``V``
joints in ``R`` tracks):

1. **Joints.** Each joint of each track gets a score, the mean ``|x|`` over its frames and
   channels, normalised to mean 1 over the batch, ``a_{rv}``. Seeds are drawn with probability
   ``min(1, a_{rv} γ_s)``, ``γ_s = p / (1 + \bar d)`` with ``\bar d`` the layout's mean degree
   (a seed drops about ``1 + \bar d`` joints); a joint is dropped in every frame of its track
   when it or one of its neighbours is a seed. The kept rows are rescaled by
   ``R V / (\text{kept (track, joint) pairs})``.
2. **Frames.** On that output, each frame gets the mean ``|x|`` over its joints and channels,
   normalised to mean 1 over the batch, ``b_f``; seeds with probability
   ``min(1, b_f γ_t)``, ``γ_t = p / w`` for a window of ``w`` frames; a frame is dropped when a
   seed of its own track lies within ``⌊w/2⌋`` frames of it (windows stop at the track's ends,
   where a padded dense batch would run into padding). The kept rows are rescaled by
   ``F / (\text{kept frames})``.

The scores only choose where to drop (they carry no gradient). In evaluation, or with
``p = 0``, the layer is the identity. With a ramp of ``E`` epochs the rate of 0-based epoch
``e`` is ``p · min(1, e / E)`` (the official training raises it so over its first 100 epochs),
set by :meth:`DropRate.set_training_epoch`, which the trainer calls at the start of every
epoch; the rate is a device scalar updated in place, so a step captured as a CUDA graph follows
it. Without that call (a loop of one's own) the rate is ``p`` throughout.

The draws are one ``(R, V)`` and one ``(F,)`` uniform tensor from torch's generator of the
rows' device, compared with the probabilities: fixed shapes, no value read back.
:class:`~pyg_action.nn.dense.drop_graph.DenseDropGraph` is the same arithmetic on a padded
``(R, C, T, V)`` batch, as the official code computes it (``DropBlock_Ske``,
``DropBlockT_1d``), and draws the same numbers in the same order.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..graph.levels import SkeletonLevel


def joint_reach(adjacency: Tensor) -> Tensor:
    """``(V, V)`` float: 1 where joint ``u`` drops with a seed at ``v`` (linked in any
    partition of ``adjacency`` ``(K, V, V)`` or ``(V, V)``, or ``u = v``), else 0."""
    linked = adjacency.reshape(-1, *adjacency.shape[-2:]).ne(0).any(0)
    linked = linked | linked.t() | torch.eye(linked.shape[0], dtype=torch.bool)
    return linked.float()


def check_drop_graph(p: float, frames: int, ramp_epochs: int = 0) -> None:
    """Raise ``ValueError`` unless ``0 <= p < 1``, ``frames`` is a positive odd count and
    ``ramp_epochs >= 0``."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"drop_graph is a drop rate in [0, 1), got {p}")
    if frames < 1 or frames % 2 == 0:
        raise ValueError(f"drop_graph_frames must be a positive odd number, got {frames}")
    if ramp_epochs < 0:
        raise ValueError(f"drop_graph_ramp_epochs must be >= 0, got {ramp_epochs}")


class DropRate(nn.Module):
    """The options and the drop rate's schedule of a DropGraph layer (dense or on node rows).

    Args:
        p: Drop rate, ``1 - keep_prob`` of the paper (official: 0.1 in the last four of ten
            blocks).
        adjacency: ``(K, V, V)`` or ``(V, V)`` topology; joints linked in any partition are
            neighbours (:func:`joint_reach`).
        frames: Temporal window ``w`` (odd; official: 41 frames at 300-frame inputs).
        ramp_epochs: Epochs over which the rate rises linearly from 0 to ``p`` (official: 100;
            0: ``p`` from the start).
    """

    reach: Tensor
    rate: Tensor

    def __init__(self, p: float, adjacency: Tensor, frames: int = 41, ramp_epochs: int = 0) -> None:
        super().__init__()
        check_drop_graph(p, frames, ramp_epochs)
        self.p = float(p)
        self.frames = int(frames)
        self.ramp_epochs = int(ramp_epochs)
        reach = joint_reach(adjacency)
        self.register_buffer("reach", reach, persistent=False)
        self.register_buffer("rate", torch.tensor(self.p), persistent=False)
        #: ``1 + d̄``: the joints a seed drops, on average
        self.reach_size = float(reach.sum(1).mean())

    @property
    def active(self) -> bool:
        """Whether the layer draws masks (training with ``p > 0``; at rate 0 they keep all)."""
        return self.training and self.p > 0.0

    def set_training_epoch(self, epoch: int) -> None:
        """The rate of 0-based training epoch ``epoch`` on the ramp (in place)."""
        share = 1.0 if self.ramp_epochs == 0 else min(1.0, epoch / self.ramp_epochs)
        self.rate.fill_(self.p * share)

    def extra_repr(self) -> str:
        return f"p={self.p}, frames={self.frames}, ramp_epochs={self.ramp_epochs}"


class DropGraph(DropRate):
    """Drop joints with their neighbours, then windows of frames (training only), on node rows.

    Args: those of :class:`DropRate`.

    Shapes:
        - **x:** ``(N, C)`` rows of ``level``'s nodes (frame-major, ``V`` joints per frame)
        - **output:** like ``x``
    """

    def forward(self, x: Tensor, level: SkeletonLevel) -> Tensor:
        if not self.active:
            return x
        frames, joints = level.shape.num_frames, level.num_joints
        strength = x.detach().abs().mean(1).view(frames, joints).float()
        track = level.frame_track
        joint_sums = strength.new_zeros(level.shape.num_tracks, joints)
        joint_sums = joint_sums.index_add(0, track, strength)
        scores = joint_sums / level.lengths.unsqueeze(1)
        spatial_rate = self.rate / self.reach_size
        seeds = torch.rand_like(scores) < (scores / scores.mean() * spatial_rate).clamp(max=1)
        kept_joints = (seeds.to(self.reach.dtype) @ self.reach).eq(0).float()
        joint_scale = kept_joints.numel() / kept_joints.to(x.dtype).sum().clamp(min=1.0)
        kept = kept_joints.index_select(0, track)
        frame_scores = (strength * kept).mean(1)
        rate = (frame_scores / frame_scores.mean() * (self.rate / self.frames)).clamp(max=1)
        frame_seeds = (torch.rand_like(frame_scores) < rate).float()
        kept_frames = self._seedless_windows(frame_seeds, level).float()
        frame_scale = frames / kept_frames.to(x.dtype).sum().clamp(min=1.0)
        mask = (kept * kept_frames.unsqueeze(1)).to(x.dtype) * (joint_scale * frame_scale)
        return x * mask.view(-1, 1)

    def _seedless_windows(self, seeds: Tensor, level: SkeletonLevel) -> Tensor:
        """``(F,)`` bool: no seed among the frames of the same track within ``⌊w/2⌋``."""
        half = self.frames // 2
        counts = torch.cat([seeds.new_zeros(1), seeds.cumsum(0)])
        # at stride 1 every frame keeps itself: its index, its track's first and last frames
        frame, first, last = (index.view(-1) for index in level.tap_frames(1))
        low = torch.maximum(frame - half, first)
        high = torch.minimum(frame + half, last)
        return (counts[high + 1] - counts[low]).eq(0)
