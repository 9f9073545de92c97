r"""The temporal ``(Γ, 1)`` convolution over channels-last tracks, with a choice of weight
gradients.

:class:`~pyg_action.nn.TemporalGraphConv`'s fast path views node-major features ``(N, C)``,
ordered ``(track, frame, joint)``, as a channels-last image batch ``(R, C, T, V)`` and runs one
``conv2d`` over it. On a 2-core Intel Xeon machine oneDNN's weight gradient for that memory
order is about 1.5x slower than the same reduction written as matrix products (C = 256, 856
frames of 20 joints: 252 against 156 ms), so on CPU :func:`track_conv2d` keeps ``conv2d`` for
the forward and the input gradient and can compute the weight gradient itself. Output frame
:math:`t'` of tap :math:`k` reads input frame :math:`s t' + k\delta - p` (stride :math:`s`,
dilation :math:`\delta`, padding :math:`p`), so

.. math::
    \frac{\partial L}{\partial \mathbf{W}_k} = \sum_{r} \sum_{t' \in \mathcal{T}_k}
    \mathbf{G}_{r,t'}^{\top} \mathbf{X}_{r,\,s t' + k\delta - p},

where :math:`\mathbf{G}_{r,t'}` ``(V, C_out)`` and :math:`\mathbf{X}_{r,t}` ``(V, C_in)`` are
the output gradient and input of frame ``t`` of track ``r``, and :math:`\mathcal{T}_k` the
output frames whose input frame lies inside the track (the rest meets zero padding). In the
node-major layout the output gradients of consecutive frames are one contiguous block of rows
per track; so are the inputs once split by frame phase (frames ``φ, φ + s, ...``, one copy of
the input when ``s > 1``, none when ``s = 1``). Each tap is then a single product batched over
the tracks.

Which of the two is faster depends on the processor: on a 2-core AMD EPYC machine with
AVX-512 oneDNN's weight gradient is the faster one (8 tracks × 100 frames × 25 joints, C = 64:
10.4 against 17.3 ms for the per-tap products), so it is the default; the backend's
``conv_weight_gradient="taps"`` (:mod:`pyg_action.nn.backend`, ``train.weight_gradient`` in a
config) selects the per-tap products. The choice is fixed for a run, so two runs of one
config agree to the last bit.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

from .backend import get_backend
from .gradients import gradient_wanted


def track_conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    padding: int = 0,
    dilation: int = 1,
    stride: int = 1,
) -> Tensor:
    """``conv2d`` of channels-last tracks with a ``(Γ, 1)`` kernel.

    Args:
        x: ``(R, C_in, T, V)``, channels-last (a view of node-major ``(R T V, C_in)``).
        weight: ``(C_out, C_in, Γ)``, tap ``k`` reading frame ``s t' + kδ - p``.
        bias: ``(C_out,)`` or None.
        padding: Zero frames ``p`` at both ends of every track.
        dilation: ``δ``.
        stride: Temporal stride ``s``.

    Returns:
        ``(R, C_out, floor((T + 2p - (Γ-1)δ - 1) / s) + 1, V)``, channels-last.

    On CPU with gradients needed and the backend's ``conv_weight_gradient`` set to ``"taps"``,
    the weight gradient comes from the per-tap products of the module notes; otherwise (the
    default, no gradient, CPU autocast, or CUDA, where cuDNN's own kernels are kept) this is
    plain ``F.conv2d``. Both give the same values up to floating-point summation order.
    """
    if _own_weight_gradient(x, weight):
        return _TrackConv2d.apply(x, weight, bias, padding, dilation, stride)
    return _conv(x, _kernel(weight), bias, padding, dilation, stride)


def track_conv_rows(
    rows: Tensor,
    tracks: int,
    num_joints: int,
    weight: Tensor,
    bias: Tensor | None,
    padding: int = 0,
    dilation: int = 1,
    stride: int = 1,
) -> Tensor:
    """:func:`track_conv2d` of node-major rows, returning node-major rows.

    Args:
        rows: ``(R T V, C_in)``, ordered ``(track, frame, joint)``.
        tracks: ``R`` (every track has ``T`` frames).
        num_joints: ``V``.
        weight, bias, padding, dilation, stride: As :func:`track_conv2d`.

    Returns:
        ``(R T' V, C_out)``, ordered ``(track, frame, joint)``.

    The rows *are* the channels-last images ``(R, C_in, T, V)`` in memory; one autograd
    function passes between the two layouts with one strided view each way (forward and
    backward), where autograd would record a view and a permute for each; without a gradient
    wanted the two views and the convolution run as they are. Under autocast the
    rows, weight and bias are cast to the autocast dtype first, as autocast casts a
    convolution's inputs, and the function runs in that dtype. When tracing or scripting
    (whose programs hold portable operators) it is the view, permute and
    :func:`track_conv2d` themselves.
    """
    portable = torch.jit.is_tracing() or torch.jit.is_scripting()
    if portable or not rows.is_contiguous():
        images = rows.view(tracks, -1, num_joints, rows.shape[1]).permute(0, 3, 1, 2)
        out = track_conv2d(images, weight, bias, padding, dilation, stride)
        return out.permute(0, 2, 3, 1).reshape(-1, out.shape[1])
    device = rows.device.type
    taps = _own_weight_gradient(rows, weight)  # never under autocast
    autocast = torch.is_autocast_enabled(device)
    if autocast:
        low = torch.get_autocast_dtype(device)
        rows, weight = rows.to(low).contiguous(), weight.to(low)
        bias = None if bias is None else bias.to(low)
    with torch.autocast(device, enabled=False) if autocast else nullcontext():
        # the function's own host cost (~30 µs a call) only where a backward follows
        if not gradient_wanted(rows, weight, bias):
            images = _images(rows, tracks, num_joints)
            return _rows(_conv(images, _kernel(weight), bias, padding, dilation, stride))
        return _RowsConv.apply(
            rows, weight, bias, tracks, num_joints, padding, dilation, stride, taps
        )


def _own_weight_gradient(x: Tensor, weight: Tensor) -> bool:
    """Whether the weight gradient comes from the per-tap products (module notes)."""
    return (
        gradient_wanted(x, weight)
        and x.device.type == "cpu"
        and not torch.is_autocast_enabled("cpu")
        and get_backend().conv_weight_gradient == "taps"
    )


def _kernel(weight: Tensor) -> Tensor:
    """``(C_out, C_in, Γ)`` as a ``(C_out, C_in, Γ, 1)`` kernel (a view)."""
    return weight.unsqueeze(-1)


def _conv(
    x: Tensor, kernel: Tensor, bias: Tensor | None, padding: int, dilation: int, stride: int
) -> Tensor:
    return F.conv2d(
        x, kernel, bias, stride=(stride, 1), padding=(padding, 0), dilation=(dilation, 1)
    )


def _images(rows: Tensor, tracks: int, num_joints: int) -> Tensor:
    """Contiguous node-major ``(R T V, C)`` rows as the channels-last ``(R, C, T, V)``
    images they are in memory (one strided view)."""
    channels = rows.shape[1]
    frames = rows.shape[0] // (tracks * num_joints)
    size = (tracks, channels, frames, num_joints)
    strides = (frames * num_joints * channels, 1, num_joints * channels, channels)
    return rows.as_strided(size, strides)


def _rows(images: Tensor) -> Tensor:
    """``(R, C, T, V)`` images as node-major ``(R T V, C)`` rows: one strided view when they
    are channels-last, else a copy."""
    tracks, channels, frames, joints = images.shape
    if images.is_contiguous(memory_format=torch.channels_last):
        size = (tracks * frames * joints, channels)
        return images.as_strided(size, (channels, 1))
    return images.permute(0, 2, 3, 1).reshape(-1, channels)


def _conv_backward(
    ctx: Any, grad: Tensor, x: Tensor, kernel: Tensor, taps: bool
) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
    """Input, weight ``(C_out, C_in, Γ)`` and bias gradients of :func:`_conv` (``grad`` and
    ``x`` channels-last images), the weight's from the per-tap products when ``taps``."""
    padding, dilation, stride = ctx.geometry
    needs_x, needs_w, needs_b = ctx.needs_input_grad[:3]
    grad_x, grad_w, grad_b = torch.ops.aten.convolution_backward(
        grad, x, kernel, [kernel.shape[0]] if needs_b else None, (stride, 1), (padding, 0),
        (dilation, 1), False, (0, 0), 1, (needs_x, needs_w and not taps, needs_b),
    )  # fmt: skip
    if needs_w and taps:
        # (R, T, V, C) node-major views of the channels-last images
        rows_out, rows_in = grad.permute(0, 2, 3, 1), x.permute(0, 2, 3, 1)
        grad_w = _weight_grad(rows_out, rows_in, kernel.shape[2], padding, dilation, stride)
        return grad_x, grad_w.permute(1, 2, 0), grad_b
    return grad_x, None if grad_w is None else grad_w.squeeze(-1), grad_b


class _TrackConv2d(torch.autograd.Function):
    """``conv2d`` forward and input gradient; weight gradient from per-tap batched products."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        padding: int,
        dilation: int,
        stride: int,
    ) -> Tensor:
        kernel = _kernel(weight)
        ctx.save_for_backward(x, kernel)
        ctx.geometry = (padding, dilation, stride)
        return _conv(x, kernel, bias, padding, dilation, stride)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, kernel = ctx.saved_tensors
        grad = grad.contiguous(memory_format=torch.channels_last)
        return (*_conv_backward(ctx, grad, x, kernel, taps=True), None, None, None)


class _RowsConv(torch.autograd.Function):
    """:func:`track_conv_rows`: rows in, rows out, the layouts passed by strided views."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        rows: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        tracks: int,
        num_joints: int,
        padding: int,
        dilation: int,
        stride: int,
        taps: bool,
    ) -> Tensor:
        images, kernel = _images(rows, tracks, num_joints), _kernel(weight)
        ctx.save_for_backward(images, kernel)
        ctx.geometry, ctx.tracks, ctx.taps = (padding, dilation, stride), tracks, taps
        return _rows(_conv(images, kernel, bias, padding, dilation, stride))

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        images, kernel = ctx.saved_tensors
        grad = _images(grad.contiguous(), ctx.tracks, images.shape[3])
        grad_x, grad_w, grad_b = _conv_backward(ctx, grad, images, kernel, ctx.taps)
        grad_rows = None if grad_x is None else _rows(grad_x)
        return grad_rows, grad_w, grad_b, None, None, None, None, None, None


def _weight_grad(
    rows_out: Tensor, rows_in: Tensor, taps: int, padding: int, dilation: int, stride: int
) -> Tensor:
    """``(Γ, C_out, C_in)`` weight gradient from ``(R, T_out, V, C_out)`` output gradients and
    ``(R, T_in, V, C_in)`` inputs (see the module notes)."""
    tracks, frames_out, _, c_out = rows_out.shape
    frames_in, c_in = rows_in.shape[1], rows_in.shape[3]
    # phases[φ][:, i] is input frame φ + s i; for s = 1 the input itself, no copy
    phases = (
        [rows_in] if stride == 1 else [rows_in[:, φ::stride].contiguous() for φ in range(stride)]
    )
    grad_w = rows_out.new_zeros(taps, c_out, c_in)
    for k in range(taps):
        offset = k * dilation - padding  # output t' reads input frame s t' + offset
        first = max(0, -(offset // stride))  # smallest t' with s t' + offset >= 0
        last = min(frames_out, (frames_in - 1 - offset) // stride + 1)
        if last <= first:
            continue
        base = offset // stride
        phase = phases[offset - base * stride]
        g = rows_out[:, first:last].reshape(tracks, -1, c_out)
        h = phase[:, first + base : last + base].reshape(tracks, -1, c_in)
        if tracks == 1:
            torch.mm(g[0].t(), h[0], out=grad_w[k])
        else:
            torch.sum(torch.bmm(g.transpose(1, 2), h), 0, out=grad_w[k])
    return grad_w
