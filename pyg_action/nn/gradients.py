"""Whether an operator call needs its backward: the test that the layers' custom autograd
functions share, so that a call without one runs the plain ops instead (no function object,
no saved tensors)."""

from __future__ import annotations

import torch
from torch import Tensor


def gradient_wanted(*tensors: Tensor | None) -> bool:
    """Gradient mode is on and one of ``tensors`` (``None`` entries skipped: an absent bias)
    requires a gradient."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
