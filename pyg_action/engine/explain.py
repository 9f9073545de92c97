"""What a trained ST-GCN looks at: learned edge importance per bone, per-joint responses."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..layouts import SkeletonLayout, layout_graph


def bone_importance(
    model: nn.Module, layout: SkeletonLayout, strategy: str, max_hop: int, dilation: int
) -> np.ndarray:
    """Mean learned importance ``M`` over blocks, partitions and both directions, per bone.

    Returns ``(len(layout.bones),)``.
    """
    blocks = [
        b for b in getattr(model, "blocks", []) if getattr(b.gcn, "importance", None) is not None
    ]
    if not blocks:
        raise ValueError("this model has no learnable edge importance")
    graph = layout_graph(layout, strategy, max_hop, dilation)
    mean = torch.stack([b.gcn.importance.detach().float().cpu() for b in blocks]).mean(0).numpy()
    values = np.zeros(len(layout.bones))
    for i, (a, b) in enumerate(layout.bones):
        between = ((graph.src == a) & (graph.dst == b)) | ((graph.src == b) & (graph.dst == a))
        values[i] = mean[between].mean()
    return values
