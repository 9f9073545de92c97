"""Whole models next to their dense references, on the inputs of one shape.

* ``stgcn``: :class:`~pyg_action.models.stgcn.STGCN` (spatial convolutions on the block fast
  path, and with message passing) against the official
  :class:`~pyg_action.models.dense_stgcn.DenseSTGCN`. For real-length shapes the dense model
  also runs on every sample zero padded to 300 frames (the official pipeline): its ratio is
  ``ratio_vs_dense_pad300`` (training throughput gain ``1 / ratio``).
* ``shiftgcn``: :class:`~pyg_action.models.shiftgcn.ShiftGCN` (gather and message shifts)
  against :class:`~pyg_action.models.dense_shiftgcn.DenseShiftGCN`.
* ``stgcnpp``: :class:`~pyg_action.models.stgcnpp.STGCNPP` (block spatial path, multi-scale
  temporal branches on the tracks) against pyskl's dense formulation,
  :class:`~pyg_action.models.dense_stgcnpp.DenseSTGCNPP`.
* ``ctrgcn``: :class:`~pyg_action.models.ctrgcn.CTRGCN` (refined topologies per track over
  every frame's joint pairs) against the official formulation,
  :class:`~pyg_action.models.dense_ctrgcn.DenseCTRGCN`.
* ``vig``: the isotropic ViG blocks (Grapher + FFN, ``k`` growing from 9 to 18 with dilation
  as in :func:`~pyg_action.models.vig.block_schedule`) against the dense official blocks; the
  stem and head are the same dense layers in both models and are left out.

Full shapes use the papers' widths (ST-GCN 64-256, Shift-GCN likewise, ViG-Ti 12 blocks of
192 channels on the preset's width); ``quick`` uses 16-32 channels and 2 ViG blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..models.ctrgcn import CTRGCN
from ..models.dense_ctrgcn import DenseCTRGCN
from ..models.dense_shiftgcn import DenseShiftGCN
from ..models.dense_stgcn import DenseSTGCN
from ..models.dense_stgcnpp import DenseSTGCNPP
from ..models.shiftgcn import ShiftGCN
from ..models.stgcn import STGCN
from ..models.stgcnpp import STGCNPP
from ..models.vig import ViGBlock, block_schedule
from ..nn import PartitionedGraphConv
from ..nn.dense.vig import DenseFFN, DenseGrapher
from .compare import Comparison
from .shapes import MAX_FRAMES, ImageInputs, SkeletonInputs

NARROW: dict[str, Any] = {"channels": (16, 16, 32, 32), "strides": (1, 2, 1, 2)}
NUM_CLASSES = 60


def _padded_to(samples: torch.Tensor, frames: int) -> torch.Tensor:
    """``(B, C, T, V, M)`` zero padded along ``T`` to ``frames``."""
    pad = frames - samples.shape[2]
    return torch.nn.functional.pad(samples, (0, 0, 0, 0, 0, pad)) if pad > 0 else samples


def _dense_references(
    model: nn.Module, s: SkeletonInputs, real_lengths: bool
) -> dict[str, Callable[[], Any]]:
    references: dict[str, Callable[[], Any]] = {"dense": lambda: model(s.dense_samples)}
    if real_lengths:
        full = _padded_to(s.dense_samples, MAX_FRAMES)
        references["dense_pad300"] = lambda: model(full)
    return references


def stgcn(s: SkeletonInputs, quick: bool, real_lengths: bool) -> Comparison:
    """ST-GCN, block fast path and message-passing spatial convolutions."""
    options = NARROW if quick else {}
    torch.manual_seed(0)
    block = STGCN(NUM_CLASSES, 3, s.layout, **options).to(s.nodes)
    message = STGCN(NUM_CLASSES, 3, s.layout, **options).to(s.nodes)
    message.load_state_dict(block.state_dict())
    for module in message.modules():
        if isinstance(module, PartitionedGraphConv):
            module.block_fast_path = False
    dense = DenseSTGCN(NUM_CLASSES, 3, s.layout, **options).to(s.nodes)
    return Comparison(
        "stgcn",
        {"block": lambda: block(s.batch), "message": lambda: message(s.batch)},
        _dense_references(dense, s, real_lengths),
        [block, message, dense],
    )


def shiftgcn(s: SkeletonInputs, quick: bool, real_lengths: bool) -> Comparison:
    """Shift-GCN, gather and message shifts."""
    options = NARROW if quick else {}
    torch.manual_seed(0)
    gather = ShiftGCN(NUM_CLASSES, 3, s.layout, dropout=0.0, **options).to(s.nodes)
    message = ShiftGCN(NUM_CLASSES, 3, s.layout, impl="message", dropout=0.0, **options)
    message = message.to(s.nodes)
    message.load_state_dict(gather.state_dict())
    dense = DenseShiftGCN(NUM_CLASSES, 3, s.layout, **options).to(s.nodes)
    return Comparison(
        "shiftgcn",
        {"gather": lambda: gather(s.batch), "message": lambda: message(s.batch)},
        _dense_references(dense, s, real_lengths),
        [gather, message, dense],
    )


def stgcnpp(s: SkeletonInputs, quick: bool, real_lengths: bool) -> Comparison:
    """ST-GCN++ (pyskl's width: 64-256, 10 blocks)."""
    options = NARROW if quick else {}
    torch.manual_seed(0)
    sparse = STGCNPP(NUM_CLASSES, 3, s.layout, **options).to(s.nodes)
    dense = DenseSTGCNPP(NUM_CLASSES, 3, s.layout, **options).to(s.nodes)
    return Comparison(
        "stgcnpp",
        {"block": lambda: sparse(s.batch)},
        _dense_references(dense, s, real_lengths),
        [sparse, dense],
    )


def ctrgcn(s: SkeletonInputs, quick: bool, real_lengths: bool) -> Comparison:
    """CTR-GCN (the official width: 64-256, 10 blocks)."""
    options = {**(NARROW if quick else {}), "num_persons": s.dense_samples.shape[-1]}
    torch.manual_seed(0)
    sparse = CTRGCN(NUM_CLASSES, 3, s.layout, **options).to(s.nodes)
    dense = DenseCTRGCN(NUM_CLASSES, 3, s.layout, **options).to(s.nodes)
    return Comparison(
        "ctrgcn",
        {"refined": lambda: sparse(s.batch)},
        _dense_references(dense, s, real_lengths),
        [sparse, dense],
    )


def vig(i: ImageInputs, quick: bool) -> Comparison:
    """ViG blocks (Grapher + FFN): sparse nodes against dense images."""
    depth = 2 if quick else 12
    channels = i.nodes.shape[1]
    schedule = block_schedule(depth, 9, i.grid**2)
    torch.manual_seed(0)
    sparse = nn.ModuleList(ViGBlock(channels, k=k, dilation=d) for k, d in schedule).to(i.nodes)
    dense = nn.Sequential(
        *(
            layer
            for k, d in schedule
            for layer in (DenseGrapher(channels, k=k, dilation=d), DenseFFN(channels))
        )
    ).to(i.nodes)
    grid = (i.grid, i.grid)

    def run_sparse() -> torch.Tensor:
        x = i.nodes
        for block in sparse:
            x = block(x, i.batch, grid=grid)
        return x

    return Comparison(
        "vig",
        {"message": run_sparse},
        {"dense": lambda: dense(i.images)},
        [sparse, dense],
        info={"depth": depth},
    )


SKELETON_MODELS: dict[str, Callable[[SkeletonInputs, bool, bool], Comparison]] = {
    "stgcn": stgcn,
    "shiftgcn": shiftgcn,
    "stgcnpp": stgcnpp,
    "ctrgcn": ctrgcn,
}
IMAGE_MODELS: dict[str, Callable[[ImageInputs, bool], Comparison]] = {"vig": vig}
