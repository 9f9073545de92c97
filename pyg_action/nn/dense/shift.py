"""Dense references of the Shift-GCN operators, in the official ``(N, C, T, V)`` formulation.

Graph shifts view a frame as one ``V * C`` row and ``index_select`` it with a flat shift
index (the official ``shift_in`` / ``shift_out`` index construction); temporal shifts zero pad
the time axis and index the two frames around every channel's position, at one fixed length
``T`` per call (shorter samples are meant to be run alone). Written independently of the
sparse operators in :mod:`pyg_action.nn.shift` so that parity tests compare two derivations.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...layouts import LayoutLike, get_layout


class DenseGraphShift(nn.Module):
    index: Tensor
    """``(N, C, T, V)`` -> rows ``(N * T, V * C)`` -> ``index_select`` -> back.

    Args:
        index: ``(V * C,)`` flat source position of every output position.
        scatter: Apply the adjoint instead (``index_add`` of each position to its source).
    """

    def __init__(self, index: Tensor, scatter: bool = False) -> None:
        super().__init__()
        self.scatter = scatter
        self.register_buffer("index", index, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v = x.shape
        rows = x.permute(0, 2, 3, 1).reshape(n * t, v * c)
        if self.scatter:
            rows = torch.zeros_like(rows).index_add(1, self.index, rows)
        else:
            rows = rows.index_select(1, self.index)
        return rows.view(n, t, v, c).permute(0, 3, 1, 2)


class DenseNonLocalShift(DenseGraphShift):
    """The official non-local shift: flat index ``(v C + c + c C) mod VC`` (in), ``- c C`` (out)."""

    def __init__(self, channels: int, num_joints: int, out: bool = False) -> None:
        joint = np.arange(num_joints)[:, None]
        channel = np.arange(channels)[None, :]
        sign = -1 if out else 1
        index = (joint * channels + channel + sign * channel * channels) % (channels * num_joints)
        super().__init__(torch.from_numpy(index.reshape(-1)))


class DenseLocalShift(DenseGraphShift):
    """Local shift: partition ``k`` of joint ``v``'s channels (``np.array_split``) read from its
    ``k``-th neighbour by joint index, partition 0 from itself; ``out`` gives the adjoint."""

    def __init__(self, channels: int, layout: LayoutLike, out: bool = False) -> None:
        layout = get_layout(layout)
        num_joints = layout.num_joints
        adjacency = np.zeros((num_joints, num_joints), dtype=bool)
        for a, b in layout.bones:
            adjacency[a, b] = adjacency[b, a] = True
        index = np.empty((num_joints, channels), dtype=np.int64)
        for joint in range(num_joints):
            owners = np.concatenate([[joint], np.flatnonzero(adjacency[joint])])
            for owner, part in zip(
                owners, np.array_split(np.arange(channels), len(owners)), strict=True
            ):
                index[joint, part] = owner * channels + part
        super().__init__(torch.from_numpy(index.reshape(-1)), scatter=out)


def dense_graph_shift(
    kind: str, channels: int, layout: LayoutLike, out: bool = False
) -> DenseGraphShift:
    if kind == "local":
        return DenseLocalShift(channels, layout, out)
    return DenseNonLocalShift(channels, get_layout(layout).num_joints, out)


class DenseTemporalShift(nn.Module):
    offset: Tensor
    """Zero pad the time axis, then interpolate every channel at ``s t' + position``.

    Subclasses give the per-channel ``positions``. Output ``(N, C, ceil(T / s), V)``.
    """

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride

    def positions(self) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, v = x.shape
        position = self.positions()
        low = torch.floor(position.detach())
        alpha = (position - low).view(1, c, 1, 1)
        low = low.long()
        pad = max(int(-low.min()), int(low.max()) + 1, 0)
        padded = F.pad(x, (0, 0, pad, pad))
        t_out = -(-t // self.stride)
        frame = torch.arange(t_out, device=x.device) * self.stride + low.unsqueeze(1) + pad
        index = frame.view(1, c, t_out, 1).expand(n, c, t_out, v)
        return padded.gather(2, index) * (1 - alpha) + padded.gather(2, index + 1) * alpha


class DenseFixedShift(DenseTemporalShift):
    """Channel groups (``np.array_split`` into ``kernel_size``) shifted by ``-u..u`` frames."""

    def __init__(self, channels: int, kernel_size: int = 3, stride: int = 1) -> None:
        super().__init__(stride)
        offset = np.empty(channels, dtype=np.float32)
        for group, part in enumerate(np.array_split(np.arange(channels), kernel_size)):
            offset[part] = group - kernel_size // 2
        self.register_buffer("offset", torch.from_numpy(offset), persistent=False)

    def positions(self) -> Tensor:
        return self.offset


class DenseAdaptiveShift(DenseTemporalShift):
    """Learnable real shift per channel, ``+0.5`` per extra stride step as the official kernel."""

    def __init__(self, channels: int, stride: int = 1) -> None:
        super().__init__(stride)
        self.shift = nn.Parameter(torch.empty(channels).uniform_(-1.0, 1.0))

    def positions(self) -> Tensor:
        return self.shift + 0.5 * (self.stride - 1)


def dense_temporal_shift(
    kind: str, channels: int, stride: int, kernel_size: int
) -> DenseTemporalShift:
    if kind == "fixed":
        return DenseFixedShift(channels, kernel_size, stride)
    return DenseAdaptiveShift(channels, stride)


class DenseShiftGraphConv(nn.Module):
    """The official ``Shift_gcn`` unit, with the parameter names of
    :class:`~pyg_action.nn.shift.ShiftGraphConv`.

    Shapes:
        - **input:** ``(N, C_in, T, V)``
        - **output:** ``(N, C_out, T, V)``
    """

    def __init__(
        self, in_channels: int, out_channels: int, layout: LayoutLike, shift: str = "nonlocal"
    ) -> None:
        super().__init__()
        num_joints = get_layout(layout).num_joints
        self.shift_in = dense_graph_shift(shift, in_channels, layout)
        self.shift_out = dense_graph_shift(shift, out_channels, layout, out=True)
        self.mask = nn.Parameter(torch.zeros(num_joints, in_channels))
        self.lin = nn.Conv2d(in_channels, out_channels, 1)
        self.norm = nn.BatchNorm1d(num_joints * out_channels)
        self.down = (
            None
            if in_channels == out_channels
            else nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels)
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        h = self.shift_in(x) * (torch.tanh(self.mask) + 1).t()[None, :, None, :]
        h = self.shift_out(self.lin(h))
        n, c, t, v = h.shape
        h = self.norm(h.permute(0, 2, 3, 1).reshape(n * t, v * c))
        h = h.view(n, t, v, c).permute(0, 3, 1, 2)
        return torch.relu(h + (x if self.down is None else self.down(x)))


class DenseShiftTemporalConv(nn.Module):
    """The official ``Shift_tcn`` unit, with the parameter names of
    :class:`~pyg_action.nn.shift.ShiftTemporalConv`.

    Shapes:
        - **input:** ``(N, C_in, T, V)``
        - **output:** ``(N, C_out, ceil(T / stride), V)``
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        shift: str = "adaptive",
        kernel_size: int = 3,
    ) -> None:
        super().__init__()
        self.norm_in = nn.BatchNorm2d(in_channels)
        self.shift_in = dense_temporal_shift(shift, in_channels, 1, kernel_size)
        self.lin = nn.Conv2d(in_channels, out_channels, 1)
        self.shift_out = dense_temporal_shift(shift, out_channels, stride, kernel_size)
        self.norm_out = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.relu(self.lin(self.shift_in(self.norm_in(x))))
        return self.norm_out(self.shift_out(h))


class DenseMotionExcitation(nn.Module):
    """Motion excitation on ``(N, C, T, V)``, with the parameter names of
    :class:`~pyg_action.nn.motion.MotionExcitation`."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        squeezed = max(1, channels // reduction)
        self.squeeze = nn.Conv2d(channels, squeezed, 1, bias=False)
        self.norm = nn.BatchNorm2d(squeezed)
        self.expand = nn.Conv2d(squeezed, channels, 1, bias=False)
        self.norm_expand = nn.BatchNorm2d(channels)

    def forward(self, x: Tensor) -> Tensor:
        s = self.norm(self.squeeze(x))
        d = F.pad(s[:, :, 1:] - s[:, :, :-1], (0, 0, 0, 1))
        gate = torch.sigmoid(self.norm_expand(self.expand(d.mean(3, keepdim=True)))) - 0.5
        return x + x * gate
