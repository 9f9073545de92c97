r"""Point-wise linear maps :math:`\mathbf{Y} = \mathbf{X}\mathbf{W}^\top + \mathbf{b}` whose CPU
products run through oneDNN.

On CPU, :func:`torch.nn.functional.linear` multiplies fp32 matrices with the BLAS torch was
built with, while ``conv2d`` runs oneDNN kernels compiled for the instruction set the processor
has. The two are not equally fast everywhere: on a 2-core AMD EPYC machine with AVX-512 (one
thread) BLAS reaches about 88 GFLOP/s on the node-major products of the skeleton models
(``(12 800, 64) @ (64, 64)`` up to ``(3 200, 256) @ (256, 256)``) and oneDNN's matrix product
about 210 GFLOP/s. :class:`Linear` (a drop-in :class:`torch.nn.Linear`, same parameters and
state dict) and :func:`linear` therefore send large fp32 CPU products to oneDNN's
``mkldnn::_linear_pointwise``:

* forward :math:`\mathbf{Y} = \mathbf{X}\mathbf{W}^\top + \mathbf{b}` and input gradient
  :math:`\partial L/\partial \mathbf{X} = \mathbf{G}\mathbf{W}` through oneDNN;
* weight and bias gradients :math:`\mathbf{G}^\top\mathbf{X}` and :math:`\sum_n \mathbf{g}_n`
  through torch (oneDNN's product was not faster for that long reduction).

Everything else is plain ``F.linear``: small products (fewer than :data:`MIN_MACS`
multiply-adds, where oneDNN's ~10 µs call overhead costs more than it saves), other devices
and dtypes, CPU autocast, and tracing, scripting or compiling (so exported TorchScript and
ONNX files hold portable operators). ``use_backend(linear="torch")``
(:mod:`pyg_action.nn.backend`) turns the oneDNN path off, for comparisons. Both paths give the
same values up to fp32 summation order.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from .backend import get_backend
from .gradients import gradient_wanted

#: Products with fewer multiply-adds than this stay on ``F.linear``.
MIN_MACS = 1 << 20

_ONEDNN_AVAILABLE = torch.backends.mkldnn.is_available() and hasattr(
    torch.ops.mkldnn, "_linear_pointwise"
)


def uses_onednn(x: Tensor, weight: Tensor) -> bool:
    """Whether :func:`linear` of ``x`` ``(..., C_in)`` with ``weight`` ``(C_out, C_in)`` takes
    the oneDNN path."""
    return (
        get_backend().linear == "onednn"
        and _ONEDNN_AVAILABLE
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and weight.dtype == torch.float32
        and x.numel() * weight.shape[0] >= MIN_MACS
        and _plain_autograd(x)
    )


def _plain_autograd(x: Tensor) -> bool:
    """No autocast (whose casts ``F.linear`` makes) and no tracing, scripting or compiling
    (whose programs hold portable operators)."""
    return not (
        torch.is_autocast_enabled(x.device.type)
        or torch.jit.is_tracing()
        or torch.jit.is_scripting()
        or torch.compiler.is_compiling()
    )


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``F.linear(x, weight, bias)``: ``x`` ``(..., C_in)``, ``weight`` ``(C_out, C_in)``,
    ``bias`` ``(C_out,)``; returns ``(..., C_out)`` (module notes for the path taken).

    With gradients wanted, the backward is three products or sums,
    :math:`\\mathbf{G}\\mathbf{W}`, :math:`\\mathbf{G}^\top\\mathbf{X}` and
    :math:`\\sum_n \\mathbf{g}_n`, with none of the transposes and views that autograd's graph
    of ``F.linear`` dispatches around them (on every device; under autocast and tracing it is
    ``F.linear``'s own)."""
    onednn = uses_onednn(x, weight)
    wants_grad = gradient_wanted(x, weight, bias)
    if not onednn and not (wants_grad and _plain_autograd(x)):
        return F.linear(x, weight, bias)
    rows = x if x.dim() == 2 else x.reshape(-1, x.shape[-1])
    out = _Linear.apply(rows, weight, bias, onednn) if wants_grad else _product(rows, weight, bias)
    return out if x.dim() == 2 else out.view(*x.shape[:-1], weight.shape[0])


def _product(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """oneDNN's ``x @ weight.T + bias`` for ``(M, K)`` ``x`` and ``(N, K)`` ``weight``."""
    return torch.ops.mkldnn._linear_pointwise(x.contiguous(), weight, bias, "none", [], "")


class _Linear(torch.autograd.Function):
    """Rows times a weight, forward and input gradient through oneDNN (``onednn``) or torch,
    weight and bias gradients through torch, each one call."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, onednn: bool
    ) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.has_bias, ctx.onednn = bias is not None, onednn
        return _product(x, weight, bias) if onednn else F.linear(x, weight, bias)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, weight = ctx.saved_tensors
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            if ctx.onednn:
                grad_x = _product(grad.contiguous(), weight.t().contiguous(), None)
            else:
                grad_x = grad.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_w = grad.t().mm(x)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad.sum(0)
        return grad_x, grad_w, grad_b, None


class Linear(nn.Linear):
    """:class:`torch.nn.Linear` computed by :func:`linear` (same parameters, initialisation
    and state dict).

    Shapes:
        - **input:** ``(..., in_features)``
        - **output:** ``(..., out_features)``
    """

    def forward(self, x: Tensor) -> Tensor:
        return linear(x, self.weight, self.bias)
