"""Dense reference of DropGraph, in the official ``(N, C, T, V)`` formulation.

The official code's two steps on a padded batch of ``N`` person tracks of ``T`` frames: the
joint step spreads its seeds to the neighbours with a product by the topology and a threshold,
the frame step widens its seeds into windows with a stride-1 max-pool. Written independently
of :class:`pyg_action.nn.drop_graph.DropGraph`, which gets the same masks from node rows with
segment sums and a cumulative count, so that the parity tests compare two derivations. Seeds
are drawn as ``uniform < probability`` (the official ``torch.bernoulli`` draws the same
distribution), in the sparse layer's order, so that both drop the same rows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..drop_graph import DropRate


class DenseDropGraph(DropRate):
    """DropGraph on ``(N, C, T, V)`` tracks of equal length (training only).

    Args: those of :class:`~pyg_action.nn.drop_graph.DropRate`.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not self.active:
            return x
        return self._drop_frames(self._drop_joints(x))

    def _drop_joints(self, x: Tensor) -> Tensor:
        n, _, _, v = x.shape
        score = x.detach().abs().float().mean(2).mean(1)
        score = score / score.sum() * score.numel()
        gamma = self.rate / (self.reach.sum() / v)
        seeds = (torch.rand(n, v, device=x.device) < (score * gamma).clamp(max=1.0)).float()
        spread = seeds.to(self.reach.dtype) @ self.reach
        mask = (1.0 - (spread > 0.001).float()).to(x.dtype)
        return x * (mask * (mask.numel() / mask.sum().clamp(min=1.0))).view(n, 1, 1, v)

    def _drop_frames(self, x: Tensor) -> Tensor:
        n, c, t, v = x.shape
        score = x.detach().abs().float().mean(3).mean(1)
        score = score / score.sum() * score.numel()
        gamma = self.rate / self.frames
        seeds = (torch.rand(n, t, device=x.device) < (score * gamma).clamp(max=1.0)).float()
        widened = F.max_pool1d(seeds.unsqueeze(1), self.frames, 1, self.frames // 2).squeeze(1)
        mask = (1.0 - widened).to(x.dtype)
        return x * (mask * (mask.numel() / mask.sum().clamp(min=1.0))).view(n, 1, t, 1)
