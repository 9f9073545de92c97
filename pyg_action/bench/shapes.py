"""Input shapes of real use for ``pyg-action benchmark``, and the inputs built from them.

Skeleton presets give ``B`` samples of ``M`` persons over a layout of ``V`` joints, either all
``T`` frames long or at the recorded lengths of MSR Action3D (capped at 300 frames as the
official pipeline crops). The sparse side gets one batched graph of ``N = sum_r T_r V`` nodes;
the dense side gets ``(B M, C, T_max, V)``, zero padded to the batch's longest sample (the
smallest padding a dense model can run on). The image preset gives ``B`` images of
``grid x grid`` patches: ``(B grid^2, C)`` nodes against ``(B, C, grid, grid)``.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch

from ..graph import SkeletonGraphBuilder
from ..graph.levels import SkeletonLevel
from ..layouts import get_layout

#: The official pipeline crops (and pads) every sample to 300 frames.
MAX_FRAMES = 300


@dataclass(frozen=True)
class Shape:
    """One benchmark input size.

    Attributes:
        name: Preset name.
        family: ``"skeleton"`` or ``"image"``.
        layout: Skeleton layout (skeleton family).
        frames: ``T`` per sample (skeleton family; ignored with ``real_lengths``).
        persons: ``M`` per sample.
        batch_size: ``B``.
        channels: Feature width ``C`` of operator inputs.
        grid: Patches per image side (image family).
        real_lengths: Draw sample lengths from MSR Action3D files.
    """

    name: str
    family: str
    layout: str = "ntu25"
    frames: int = 100
    persons: int = 2
    batch_size: int = 2
    channels: int = 64
    grid: int = 14
    real_lengths: bool = False


PRESETS: dict[str, Shape] = {
    shape.name: shape
    for shape in (
        # small batches, for operator rows and CPU runs in minutes
        Shape("ntu25-T300", "skeleton", "ntu25", 300, 2, 2),
        Shape("ntu25-T100", "skeleton", "ntu25", 100, 2, 4),
        Shape("openpose18-T150", "skeleton", "openpose18", 150, 2, 4),
        Shape("msr20-real", "skeleton", "msr20", MAX_FRAMES, 1, 16, real_lengths=True),
        Shape("vig-14x14", "image", batch_size=8, channels=192, grid=14),
        # the batches people train with (two persons, NTU-25; ViG-Ti at 224 x 224)
        Shape("ntu25-B16-T100", "skeleton", "ntu25", 100, 2, 16),
        Shape("ntu25-B64-T300", "skeleton", "ntu25", 300, 2, 64),
        Shape("msr20-real-B64", "skeleton", "msr20", MAX_FRAMES, 1, 64, real_lengths=True),
        Shape("vig-ti-B64", "image", batch_size=64, channels=192, grid=14),
    )
}
#: The training-size presets (what ``scripts/gpu_benchmarks.sh`` measures).
TRAINING_SHAPES = ("ntu25-B16-T100", "ntu25-B64-T300", "msr20-real-B64", "vig-ti-B64")

#: Shapes used when a run names none.
DEFAULT_SHAPES = ("ntu25-T100", "vig-14x14")


def quick(shape: Shape) -> Shape:
    """The same preset shrunk to run in a fraction of a second per call on one CPU core."""
    name = f"{shape.name} quick"
    if shape.family == "image":
        return replace(shape, name=name, batch_size=2, channels=48)
    return replace(shape, name=name, frames=min(shape.frames, 32), batch_size=2, channels=16)


def msr_lengths(root: str | Path, count: int, seed: int = 0) -> list[int]:
    """Frame counts of ``count`` MSR Action3D recordings (random order, capped at 300).

    The files hold one joint per line and 20 joints per frame: a length is the count of
    non-empty lines over 20 (the files are not parsed; the features are random anyway).
    """
    paths = sorted(glob.glob(str(Path(root) / "*_skeleton3D.txt")))
    if not paths:
        raise FileNotFoundError(f"no MSR Action3D files under {root}")
    order = np.random.default_rng(seed).permutation(len(paths))[:count]
    lengths = []
    for i in order:
        with open(paths[i], encoding="ascii") as handle:
            lines = sum(1 for line in handle if line.strip())
        lengths.append(max(1, min(MAX_FRAMES, lines // 20)))
    return lengths


@dataclass
class SkeletonInputs:
    """A skeleton batch in both forms.

    Attributes:
        batch: PyG batch from :class:`~pyg_action.graph.SkeletonGraphBuilder` (for models).
        level: Its :class:`~pyg_action.graph.levels.SkeletonLevel`.
        nodes: ``(N, C)`` node features.
        dense: ``(B M, C, T_max, V)`` zero-padded features.
        dense_samples: ``(B, C, T_max, V, M)`` zero-padded samples (for dense models).
        lengths: ``T`` of every sample.
        layout: Layout name.
    """

    batch: Batch
    level: SkeletonLevel
    nodes: Tensor
    dense: Tensor
    dense_samples: Tensor
    lengths: list[int]
    layout: str


def sample_lengths(shape: Shape, msr_root: str | Path | None) -> list[int]:
    """``T`` of every sample of ``shape``: fixed, or drawn from the MSR files under the root."""
    if shape.real_lengths:
        if msr_root is None:
            raise ValueError(
                f"shape {shape.name} draws its sample lengths from MSR Action3D: give the folder "
                "of its *_skeleton3D.txt files (--msr-root)"
            )
        return msr_lengths(msr_root, shape.batch_size)
    return [shape.frames] * shape.batch_size


def skeleton_inputs(
    shape: Shape,
    channels: int,
    lengths: list[int],
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    seed: int = 0,
) -> SkeletonInputs:
    """Random features of ``channels`` on ``shape``'s layout at the given sample lengths."""
    generator = torch.Generator().manual_seed(seed)
    joints = get_layout(shape.layout).num_joints
    samples = [
        torch.randn(channels, t, joints, shape.persons, generator=generator) for t in lengths
    ]
    builder = SkeletonGraphBuilder(shape.layout, edges=False)
    batch = Batch.from_data_list([builder(s) for s in samples])
    batch.x = batch.x.to(dtype)
    batch = batch.to(device)
    padded = torch.zeros(len(samples), channels, max(lengths), joints, shape.persons, dtype=dtype)
    for i, s in enumerate(samples):
        padded[i, :, : s.shape[1]] = s
    dense = padded.permute(0, 4, 1, 2, 3).reshape(-1, channels, max(lengths), joints)
    return SkeletonInputs(
        batch,
        SkeletonLevel.from_batch(batch, joints, builder.graph),
        batch.x,
        dense.contiguous().to(device),
        padded.to(device),
        lengths,
        shape.layout,
    )


@dataclass
class ImageInputs:
    """Patch features in both forms: ``nodes`` ``(B g^2, C)`` (row-major patches), ``batch``
    ``(B g^2,)`` image of every node, ``images`` ``(B, C, g, g)``."""

    nodes: Tensor
    batch: Tensor
    images: Tensor
    grid: int


def image_inputs(
    shape: Shape, channels: int, dtype: torch.dtype = torch.float32, device: str = "cpu"
) -> ImageInputs:
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(shape.batch_size, channels, shape.grid, shape.grid, generator=generator)
    images = images.to(device, dtype)
    nodes = images.permute(0, 2, 3, 1).reshape(-1, channels).contiguous()
    batch = torch.arange(shape.batch_size, device=device).repeat_interleave(shape.grid**2)
    return ImageInputs(nodes, batch, images, shape.grid)
