"""Stochastic depth per sample ("drop path"), for residual blocks of any row layout.

In training, a residual block ``y = f(x) + r(x)`` becomes ``y = b_s f(x) + r(x)`` with one
factor per sample ``s``: ``b_s = 0`` with probability ``p`` (the sample skips the block's
branch, keeping only its residual) and ``b_s = 1 / (1 - p)`` otherwise, so ``E[b_s] = 1``
and evaluation (``b_s = 1``) sees the expected branch (Huang et al., "Deep Networks with
Stochastic Depth", ECCV 2016). All rows of a sample share its factor, whatever the layout: a
sparse batch's node rows ``(N, C)`` or a dense batch's person tracks ``(N M, C, T, V)``, given
the sample of every row.

The factors are ``B`` uniform draws from torch's default generator of the branch's device, a
comparison and a scale: fixed shapes, no value read back (CUDA graphs and ``torch.compile``
capture it like dropout).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SampleDropPath(nn.Module):
    """Zero a residual branch for whole samples with probability ``p`` (training only).

    Args:
        p: Drop probability, in ``[0, 1)``.

    Shapes:
        - **branch:** ``(R, ...)`` rows of the branch's output
        - **row_sample:** ``(R,)`` long, the sample (``0 .. num_samples - 1``) of every row
        - **output:** like ``branch``
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"drop path probability must be in [0, 1), got {p}")
        self.p = float(p)

    @property
    def active(self) -> bool:
        """Whether :meth:`forward` changes anything (training with ``p > 0``)."""
        return self.training and self.p > 0.0

    def forward(self, branch: Tensor, row_sample: Tensor, num_samples: int) -> Tensor:
        if not self.active:
            return branch
        draws = torch.rand(num_samples, device=branch.device)
        factors = (draws >= self.p).to(branch.dtype) / (1.0 - self.p)
        per_row = factors.index_select(0, row_sample)
        return branch * per_row.view(-1, *([1] * (branch.dim() - 1)))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def depth_rates(p: float, num_blocks: int) -> list[float]:
    """Drop probabilities rising linearly with depth, ``p i / (L - 1)`` for blocks
    ``i = 0 .. L - 1`` (the first block is never dropped, the last one with ``p``)."""
    if num_blocks == 1:
        return [0.0]
    return [p * i / (num_blocks - 1) for i in range(num_blocks)]
