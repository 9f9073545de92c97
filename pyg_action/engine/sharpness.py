r"""Sharpness-aware minimisation (SAM; Foret et al., ICLR 2021), ``train.sam_rho``.

Instead of the gradient at the weights :math:`w`, the optimiser steps with the gradient at the
nearby weights where the loss is highest to first order:

.. math::

    \epsilon = \rho \, \frac{g}{\lVert g \rVert_2}, \quad g = \nabla L(w), \qquad
    w \leftarrow \mathrm{step}\left(w, \nabla L(w + \epsilon)\right)

with the norm over all parameters together. It prefers weights whose whole neighbourhood fits
the training batch (flat minima), which is meant to help where few training subjects must
generalise to others. A step costs two forward and backward passes of the same batch.

The second pass sees the batch in training mode, so it would move the BatchNorm (and
person-norm) running statistics a second time, with statistics of the perturbed weights:
every buffer is put back as the first pass left it, and the weights bit for bit. Under
data-parallel training both gradients are the all-reduced ones, so :math:`\epsilon` is the same
on every rank. Everything stays on the device: the norm is never read back by the host.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class SharpnessAwareStep:
    """The gradient of :math:`L(w + \\epsilon)` in place of :math:`\\nabla L(w)`.

    Args:
        net: The trained module (its parameters are perturbed in place and put back).
        rho: Radius :math:`\\rho > 0` of the neighbourhood, in units of the weights.
    """

    def __init__(self, net: nn.Module, rho: float) -> None:
        if not rho > 0:
            raise ValueError(f"train.sam_rho must be > 0, got {rho}")
        self.net = net
        self.rho = float(rho)
        self._kept: list[torch.Tensor] = []  # the weights and buffers to put back, reused

    def __call__(self, backward: Callable[[], object]) -> None:
        """Replace the gradients ``backward`` left (those at ``w``) by those at ``w + ε``.

        ``backward`` zeroes the gradients, then runs the forward and backward pass of the
        batch; it is called once more here, at the perturbed weights.
        """
        params: list[torch.Tensor] = [p for p in self.net.parameters() if p.grad is not None]
        grads = [p.grad for p in params if p.grad is not None]
        if not params:
            return
        tensors = [*self.net.parameters(), *self.net.buffers()]
        with torch.no_grad():
            if len(self._kept) != len(tensors):
                self._kept = [torch.empty_like(t) for t in tensors]
            torch._foreach_copy_(self._kept, tensors)
            norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
            # a non-finite norm (an fp16 overflow) moves nothing: that step is a plain one
            scale = torch.where(torch.isfinite(norm), self.rho / (norm + 1e-12), 0.0)
            torch._foreach_add_(params, list(torch._foreach_mul(grads, scale)))
        backward()
        with torch.no_grad():  # the weights and statistics exactly as they were
            torch._foreach_copy_(tensors, self._kept)
