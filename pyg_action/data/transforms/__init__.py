"""Composable transforms on skeleton samples, built from config dicts.

Every transform is a callable ``t(x, rng) -> x'`` on one sample ``x`` of shape
``(C, T, V, M)`` (float32; channels, frames, joints, persons) with a
:class:`numpy.random.Generator` ``rng`` for the random ones. Transforms never modify their input
in place (a dataset may hand them a read-only memory map) and always return a new float32 array.
:class:`Compose` chains them and also accepts a :class:`~pyg_action.sequence.SkeletonSequence`.

A pipeline is usually written in a config::

    transforms:
      train:
        - {name: pre_normalize}
        - {name: uniform_sample, length: 64, mode: train}
        - {name: random_rotate, angles: [10, 10, 10]}
      test:
        - pre_normalize
        - {name: uniform_sample, length: 64}

and built with :func:`build_transforms` (``build_transforms(spec, layout="ntu25")``). A step is
a name or a mapping with ``name`` plus the constructor options of the registered class (see
:data:`TRANSFORMS`; ``pyg_action.data.transforms.describe_transforms()`` lists them).

Coordinates are the first ``coords`` channels (default: 3 when ``C >= 3``, else ``C``); any
further channels (e.g. an OpenPose confidence score) are carried along unchanged by the
geometric transforms. Use ``coords: 2`` for 2D data with a score channel (Kinetics).

A person-frame whose channels are all exactly zero is treated as *missing* (a body that is
absent in that frame, as NTU and Kinetics files store it): translations leave it at zero.
"""

from .base import TRANSFORMS, Transform, register_transform, rotation_matrix
from .body import RandomBoneRotate, RandomBoneScale, SetBoneLengths
from .pipeline import (
    Compose,
    build_transform,
    build_transforms,
    check_transform,
    describe_transforms,
)
from .spatial import (
    Centre,
    MaxPersons,
    PreNormalize3D,
    RandomJitter,
    RandomMirror,
    RandomMove,
    RandomRotate,
    RandomScale,
    RandomShear,
    ScaleNormalize,
    mirror_pairs,
    shear_matrix,
)
from .streams import Bone, Motion, Normalize, Streams
from .temporal import (
    DropMissingFrames,
    RandomCrop,
    RandomLostFrames,
    TemporalMedian,
    UniformSample,
    interpolate_frames,
    lost_frame_mask,
    uniform_sample_indices,
    uniform_sample_positions,
)

__all__ = [
    "TRANSFORMS",
    "Bone",
    "Centre",
    "Compose",
    "DropMissingFrames",
    "MaxPersons",
    "Motion",
    "Normalize",
    "PreNormalize3D",
    "RandomBoneRotate",
    "RandomBoneScale",
    "RandomCrop",
    "RandomJitter",
    "RandomLostFrames",
    "RandomMirror",
    "RandomMove",
    "RandomRotate",
    "RandomScale",
    "RandomShear",
    "ScaleNormalize",
    "SetBoneLengths",
    "Streams",
    "TemporalMedian",
    "Transform",
    "UniformSample",
    "build_transform",
    "build_transforms",
    "check_transform",
    "describe_transforms",
    "interpolate_frames",
    "lost_frame_mask",
    "mirror_pairs",
    "register_transform",
    "rotation_matrix",
    "shear_matrix",
    "uniform_sample_indices",
    "uniform_sample_positions",
]
