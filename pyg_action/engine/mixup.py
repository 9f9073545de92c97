"""Mixup for skeleton batches (``train.mixup``): every sample blended with another of its shape.

Mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018) trains on convex
combinations of two samples and of their labels. For sample ``b`` of a batch, with partner
``p(b)`` and ``λ_b ~ Beta(α, α)``:

    x̃_b = λ_b · x_b + (1 − λ_b) · x_p(b),    ỹ_b = λ_b · e(y_b) + (1 − λ_b) · e(y_p(b))

where ``e(y)`` is the one-hot vector of class ``y``; the loss is the cross-entropy against the
distribution ``ỹ_b`` (label smoothing, when set, applies to it as to a hard label).

A skeleton sample's node features are blended node for node, ``(person, frame, joint)`` with
``(person, frame, joint)``, so a partner has the same frame count and person count: partners
are a random permutation inside each group of samples of one shape, and a sample alone in its
shape is its own partner (it trains unmixed). Clips resampled to one length with a fixed person
count (the MSR Action3D configs) make the whole batch one group. Every stream the transforms
compute (joint, bone, motion) is linear in the joint coordinates, so blending the streams is
the streams of the blended skeleton.

``λ_b`` is taken as ``max(λ_b, 1 − λ_b)``: a sample's own label keeps the larger weight, and the
training top-1 counts hits against it. Beta(α, α) is symmetric, so the blended pairs have the
same distribution either way.

The random numbers (the permutations and ``λ``) come from a generator seeded with the run's
seed, the epoch, the step and the process rank, on the host: a resumed run draws them again
exactly, and they do not depend on the device or on torch's generator. The node index of the
blend is built on the device from the batch's host-side shape (``track_shape``), so a step
reads nothing back and keeps its shapes: CUDA graphs record a blended step like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..graph.levels import track_shape_of

#: The batch attribute that carries the blended label distribution ``ỹ`` ``(B, num_classes)``.
TARGET = "mix_target"


@dataclass(frozen=True)
class Mixup:
    """Blends each training batch's samples in pairs of equal shape.

    Args:
        alpha: ``α`` of the ``Beta(α, α)`` the blend weights are drawn from (> 0).
        num_classes: Classes of the labels (the width of ``ỹ``).
        seed: The run's seed; with the epoch, step and rank it seeds every draw.
        rank: This process's rank (distributed training blends inside each rank's batch).
    """

    alpha: float
    num_classes: int
    seed: int
    rank: int = 0

    def __post_init__(self) -> None:
        if not self.alpha > 0:
            raise ValueError(f"train.mixup (Beta's alpha) must be > 0, got {self.alpha}")

    def __call__(self, batch: Any, epoch: int, step: int) -> Any:
        """``batch`` with its node features ``x`` blended and :data:`TARGET` set (in place).

        Args:
            batch: A batch of skeleton samples (``track_shape``, or ``num_frames`` and
                ``num_persons``), ``x`` ``(N, C)`` ordered sample by sample, labels ``y`` ``(B,)``.
            epoch, step: Where in the run the batch is trained (they key the random numbers).
        """
        shapes = _sample_shapes(batch)
        partner, lam = self.draw(shapes, epoch, step)
        x, y = batch.x, batch.y.view(-1)
        sample_frames = [t * m for t, m in shapes]
        nodes_per_frame = x.size(0) // max(sum(sample_frames), 1)  # V
        sizes = [f * nodes_per_frame for f in sample_frames]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        device = x.device
        counts = torch.tensor(sizes, device=device)
        shift = torch.tensor(starts[partner] - starts, device=device)
        lam_t = torch.tensor(lam, dtype=torch.float32, device=device)
        index = torch.arange(x.size(0), device=device) + torch.repeat_interleave(
            shift, counts, output_size=x.size(0)
        )
        lam_nodes = torch.repeat_interleave(lam_t, counts, output_size=x.size(0)).unsqueeze(1)
        batch.x = torch.lerp(x[index], x, lam_nodes.to(x.dtype))
        own = torch.nn.functional.one_hot(y, self.num_classes).float()
        other = own[torch.tensor(partner, device=device)]
        batch[TARGET] = torch.lerp(other, own, lam_t.unsqueeze(1))
        return batch

    def draw(
        self, shapes: list[tuple[int, int]], epoch: int, step: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The partner of every sample of ``shapes`` (``(frames, persons)`` each, see
        :func:`partners`) and its weight ``λ`` (``≥ 0.5``), keyed by seed, epoch, step, rank."""
        rng = np.random.default_rng([self.seed, epoch, step, self.rank])
        partner = partners(shapes, rng)
        lam = rng.beta(self.alpha, self.alpha, size=len(shapes))
        return partner, np.maximum(lam, 1.0 - lam)


def partners(shapes: list[tuple[int, int]], rng: np.random.Generator) -> np.ndarray:
    """For each sample, the sample it is blended with: a random permutation inside every group
    of equal ``shapes`` (``(frames, persons)`` per sample); a sample alone in its shape is its
    own partner."""
    partner = np.arange(len(shapes))
    groups: dict[tuple[int, int], list[int]] = {}
    for b, shape in enumerate(shapes):
        groups.setdefault(shape, []).append(b)
    for members in groups.values():
        partner[members] = np.asarray(members)[rng.permutation(len(members))]
    return partner


def _sample_shapes(batch: Any) -> list[tuple[int, int]]:
    """``(frames, persons)`` of every sample (:func:`~pyg_action.graph.levels.track_shape_of`:
    the host-side ``track_shape``, else one read of ``num_frames`` and ``num_persons``)."""
    if getattr(batch, "track_shape", None) is None and getattr(batch, "num_frames", None) is None:
        raise ValueError(
            "train.mixup blends skeleton samples node for node and needs batches of skeleton "
            "samples (track_shape, or num_frames and num_persons); this batch has neither"
        )
    shape = track_shape_of(batch, num_joints=1)
    first_tracks = np.cumsum([0, *shape.persons])[:-1]
    pairs = zip(first_tracks, shape.persons, strict=True)
    return [(shape.lengths[r] if m else 0, m) for r, m in pairs]


def soft_target(batch: Any) -> Tensor:
    """What the loss compares the logits with: the blended distribution :data:`TARGET` of a
    mixed batch, the labels ``y`` otherwise."""
    target = getattr(batch, TARGET, None)
    return batch.y if target is None else target
