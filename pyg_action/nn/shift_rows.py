r"""CPU form of the stride-1 temporal shift: shifted row slices instead of gathers.

A shift with a tap table :math:`\mathbf{W}` ``(K, C)`` (row ``k`` holds every channel's weight
at frame offset :math:`o_k = \text{first} + k`) maps node ``n`` at frame ``t`` of track ``r``
(``T_r`` frames, ``V`` joints per frame) to

.. math::
    \mathbf{y}_n = \sum_k \mathbf{W}_k \odot \mathbf{x}_{n + o_k V} \,
        [0 \le t + o_k < T_r].

On CPU that is fastest as multiply-adds of whole row slices of ``x`` shifted by
:math:`o_k V` (one pass per offset, no per-element index), with only the rows whose window
crosses a track boundary recomputed exactly (:func:`gather_taps`). It needs the offsets on the
host (free on CPU) and its shapes depend on them, so CUDA takes the gather form of
:mod:`pyg_action.nn.shift_taps` instead; both give the same values (tests hold each to the
dense reference). Measured on one CPU thread (4 two-person NTU-25 tracks of 64 frames): the
stride-1 adaptive shift's forward 0.8 ms (C = 64) and 4.5 ms (C = 256) here against 7.5 and
48.6 ms as gathers.

The map is its own kind of adjoint: :math:`\partial L / \partial \mathbf{x}` is the same shift of
the output gradient with the offsets negated (the table's rows reversed), and
:math:`\partial L / \partial \mathbf{W}_k = \sum_n \mathbf{g}_n \odot \mathbf{x}_{n + o_k V}` over
the pairs inside a track. :func:`shift_rows` uses those closed forms as its backward instead of
recording every in-place slice update for autograd (whose backward copies the whole gradient
once per update).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .gradients import gradient_wanted


def gather_taps(
    x: Tensor,
    base: Tensor,
    frame: Tensor,
    length: Tensor,
    first: int,
    table: Tensor,
    num_joints: int,
) -> Tensor:
    """``Σ_k W[k] ⊙ x[base + o_k V]`` per target, zero where frame ``frame + o_k`` is outside
    the track: one row gather per offset.

    Args:
        x: ``(N, C)`` features.
        base: ``(M,)`` node of every target's own frame (``(r, s t', v)`` at stride ``s``).
        frame: ``(M,)`` that frame's index ``s t'`` in its track.
        length: ``(M,)`` its track's length ``T_r``.
        first: Offset of the table's first row.
        table: ``(K, C)`` tap weights.
        num_joints: ``V``.

    Returns:
        ``(M, C)``.
    """
    out: Tensor | None = None
    for row, weight in enumerate(table):
        offset = first + row
        source = (base + offset * num_joints).clamp(0, x.shape[0] - 1)
        outside = ((frame + offset < 0) | (frame + offset >= length)).nonzero().view(-1)
        rows = x.index_select(0, source).index_fill_(0, outside, 0.0)
        out = rows.mul_(weight) if out is None else out.addcmul_(rows, weight)
    assert out is not None, "the interpolation table has at least one row"
    return out


def shift_rows(
    x: Tensor, first: int, table: Tensor, frame: Tensor, length: Tensor, num_joints: int
) -> Tensor:
    """The stride-1 shift of every node (module notes).

    Args:
        x: ``(N, C)`` features.
        first: Offset of the table's first row.
        table: ``(K, C)`` tap weights (may require gradients: the adaptive shift's
            interpolation weights).
        frame: ``(N,)`` every node's frame in its track.
        length: ``(N,)`` its track's length.
        num_joints: ``V``.

    Returns:
        ``(N, C)``.
    """
    edge = boundary_rows(frame, length, first, first + table.shape[0] - 1)
    if gradient_wanted(x, table):
        return _ShiftRows.apply(x, first, table, frame, length, edge, num_joints)
    return _shift_rows(x, first, table, frame, length, edge, num_joints)


def _slices(num_nodes: int, shift: int) -> tuple[slice, slice]:
    """Target rows ``n`` and source rows ``n + shift`` that both lie in ``0..num_nodes-1``."""
    target = slice(max(0, -shift), num_nodes - max(0, shift))
    source = slice(max(0, shift), num_nodes + min(0, shift))
    return target, source


def boundary_rows(frame: Tensor, length: Tensor, first: int, last: int) -> Tensor:
    """Nodes whose window of offsets ``first..last`` leaves their track."""
    return ((frame + first < 0) | (frame + last >= length)).nonzero().view(-1)


def _shift_rows(
    x: Tensor,
    first: int,
    table: Tensor,
    frame: Tensor,
    length: Tensor,
    edge: Tensor,
    num_joints: int,
) -> Tensor:
    """Shifted row slices for all nodes (ignoring tracks), then the boundary rows ``edge``
    (:func:`boundary_rows` of the table's window) exactly."""
    num_nodes = x.shape[0]
    zero_row = -first
    out = x * table[zero_row] if 0 <= zero_row < table.shape[0] else torch.zeros_like(x)
    for row, weight in enumerate(table):
        shift = (first + row) * num_joints
        if row == zero_row or abs(shift) >= num_nodes:
            continue
        target, source = _slices(num_nodes, shift)
        out[target].addcmul_(x[source], weight)
    exact = gather_taps(x, edge, frame[edge], length[edge], first, table, num_joints)
    return out.index_copy_(0, edge, exact)


def _tap_products(
    grad: Tensor,
    x: Tensor,
    first: int,
    rows: int,
    frame: Tensor,
    length: Tensor,
    edge: Tensor,
    num_joints: int,
) -> Tensor:
    """``(K, C)``: row ``k`` is ``Σ_n grad[n] ⊙ x[n + o_k V]`` over the pairs inside a track
    (``edge``: the boundary rows of the window ``first..first + K - 1``)."""
    num_nodes = x.shape[0]
    out = grad.new_zeros(rows, x.shape[1])
    edge_frame, edge_length = frame[edge], length[edge]
    for row in range(rows):
        offset = first + row
        shift = offset * num_joints
        if abs(shift) >= num_nodes:
            continue
        target, source = _slices(num_nodes, shift)
        out[row] = (grad[target] * x[source]).sum(0)
        # the slices paired some rows with the neighbouring track: take those pairs back out
        crossing = edge[(edge_frame + offset < 0) | (edge_frame + offset >= edge_length)]
        crossing = crossing[(crossing + shift >= 0) & (crossing + shift < num_nodes)]
        if crossing.numel():
            out[row] -= (grad[crossing] * x[crossing + shift]).sum(0)
    return out


class _ShiftRows(torch.autograd.Function):
    """:func:`_shift_rows` with the closed-form backward of the module notes."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: Tensor,
        first: int,
        table: Tensor,
        frame: Tensor,
        length: Tensor,
        edge: Tensor,
        num_joints: int,
    ) -> Tensor:
        ctx.save_for_backward(x, table, frame, length, edge)
        ctx.first, ctx.num_joints = first, num_joints
        return _shift_rows(x, first, table, frame, length, edge, num_joints)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, table, frame, length, edge = ctx.saved_tensors
        first, joints, rows = ctx.first, ctx.num_joints, table.shape[0]
        grad_x = grad_table = None
        if ctx.needs_input_grad[0]:
            last = first + rows - 1  # the adjoint's window is -last..-first
            adjoint_edge = boundary_rows(frame, length, -last, -first)
            grad_x = _shift_rows(grad, -last, table.flip(0), frame, length, adjoint_edge, joints)
        if ctx.needs_input_grad[2]:
            grad_table = _tap_products(grad, x, first, rows, frame, length, edge, joints)
        return grad_x, None, grad_table, None, None, None, None
