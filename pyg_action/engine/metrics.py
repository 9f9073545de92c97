"""Classification metrics from logits: top-k, mean-class accuracy, confusion matrix."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def confusion_matrix(labels: Tensor, predictions: Tensor, num_classes: int) -> np.ndarray:
    """``(num_classes, num_classes)`` counts, rows = true class, columns = prediction."""
    index = labels.long() * num_classes + predictions.long()
    counts = torch.bincount(index, minlength=num_classes * num_classes)
    return counts.view(num_classes, num_classes).cpu().numpy()


def classification_metrics(logits: Tensor, labels: Tensor) -> dict[str, float | np.ndarray]:
    """Top-1, top-5, mean-class accuracy (in %), per-class accuracy and confusion matrix."""
    num_classes = logits.shape[1]
    k = min(5, num_classes)
    topk = logits.topk(k, dim=1).indices
    top1 = (topk[:, 0] == labels).float().mean().item() * 100
    top5 = (topk == labels[:, None]).any(1).float().mean().item() * 100
    confusion = confusion_matrix(labels, topk[:, 0], num_classes)
    support = confusion.sum(1)
    per_class = np.divide(
        np.diag(confusion) * 100.0, support, out=np.full(num_classes, np.nan), where=support > 0
    )
    return {
        "top1": top1,
        "top5": top5,
        "mean_class": float(np.nanmean(per_class)) if np.any(support > 0) else float("nan"),
        "per_class": per_class,
        "confusion": confusion,
    }
