"""Assertions for parity tests between a sparse layer and its dense reference."""

from __future__ import annotations

import torch
from torch import Tensor


def assert_close_scaled(
    actual: Tensor, expected: Tensor, tol: float = 1e-5, scale: float | None = None
) -> None:
    """``actual`` equals ``expected`` within ``tol`` relative to the tensor's scale.

    Element-wise ``|a - e| <= tol * scale + tol * |e|`` with ``scale`` (default: the largest
    ``|e|``, at least 1). Parameter gradients are sums over every node of a batch (thousands of
    fp32 terms), so their rounding grows with their magnitude rather than per entry.
    """
    if scale is None:
        scale = max(1.0, float(expected.detach().abs().max())) if expected.numel() else 1.0
    torch.testing.assert_close(actual, expected, rtol=tol, atol=tol * scale)
