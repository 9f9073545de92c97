"""Input streams (joint, bone, motion and their combinations) and feature normalisation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import SkeletonDataError
from ...layouts import LayoutLike, SkeletonLayout, get_layout
from .base import (
    Transform,
    _check,
    _num_coords,
    register_transform,
)

#: Bones shorter than this (in the units of the coordinates) have no direction.
MIN_LENGTH = 1e-6


def _bone(x: np.ndarray, layout: SkeletonLayout, coords: int) -> np.ndarray:
    out = np.array(x, dtype=np.float32, copy=True)
    out[:coords] = layout.bone_array(x[:coords], axis=2)
    return out


def _motion(x: np.ndarray, coords: int) -> np.ndarray:
    out = np.array(x, dtype=np.float32, copy=True)
    out[:coords] = 0.0
    out[:coords, :-1] = x[:coords, 1:] - x[:coords, :-1]
    return out


def _direction(x: np.ndarray, coords: int) -> np.ndarray:
    """Each joint's coordinate vector scaled to unit length; a vector shorter than
    :data:`MIN_LENGTH` (the centre's zero bone, a lost frame) becomes zero."""
    out = np.array(x, dtype=np.float32, copy=True)
    length = np.linalg.norm(out[:coords], axis=0, keepdims=True)
    out[:coords] = np.where(length > MIN_LENGTH, out[:coords] / np.maximum(length, MIN_LENGTH), 0.0)
    return out


#: How a derived stream ``<source>_<kind>`` is made from its source stream, by ``kind``.
_DERIVATIONS = {"motion": _motion, "direction": _direction}


@register_transform("bone")
class Bone(Transform):
    """Bone stream: every joint minus its parent (towards the layout's centre, which gets 0).

    Uses :meth:`SkeletonLayout.bone_array`, the single bone definition of the package.
    Non-coordinate channels are copied unchanged.
    """

    deterministic = True

    needs_layout = True

    def __init__(self, layout: LayoutLike, coords: int | None = None) -> None:
        self.layout = get_layout(layout)
        self.coords = coords

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check(x)
        return _bone(x, self.layout, _num_coords(x, self.coords))


@register_transform("motion", "velocity")
class Motion(Transform):
    """Motion stream: ``x[t + 1] - x[t]``; the last frame is zero."""

    deterministic = True

    def __init__(self, coords: int | None = None) -> None:
        self.coords = coords

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check(x)
        return _motion(x, _num_coords(x, self.coords))


STREAMS = ("joint", "bone", "joint_motion", "bone_motion", "bone_direction")


@register_transform("streams")
class Streams(Transform):
    """Concatenate streams along the channel axis, in the order given.

    ``streams`` is a list drawn from ``joint``, ``bone``, ``joint_motion``, ``bone_motion`` and
    ``bone_direction``; each contributes ``C`` channels. ``bone_direction`` is the bone divided
    by its length, ``b / |b|`` over the coordinate channels: where a bone points, without how
    long it is (the subject's build), zero for the centre joint and absent joints.
    """

    deterministic = True

    needs_layout = True

    def __init__(
        self,
        layout: LayoutLike,
        streams: Sequence[str] = ("joint", "bone"),
        coords: int | None = None,
    ) -> None:
        self.layout = get_layout(layout)
        unknown = [s for s in streams if s not in STREAMS]
        if unknown or not streams:
            raise ValueError(
                f"streams: unknown or no streams {list(streams)}; choose from {STREAMS}"
            )
        self.streams = list(streams)
        self.coords = coords

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check(x)
        c = _num_coords(x, self.coords)
        cache: dict[str, np.ndarray] = {"joint": np.asarray(x, dtype=np.float32)}
        if any(s.startswith("bone") for s in self.streams):
            cache["bone"] = _bone(x, self.layout, c)
        parts = []
        for stream in self.streams:
            if stream not in cache:
                source, _, kind = stream.partition("_")
                cache[stream] = _DERIVATIONS[kind](cache[source], c)
            parts.append(cache[stream])
        return np.concatenate(parts, axis=0).astype(np.float32, copy=False)


@register_transform("normalize", "feature_normalize")
class Normalize(Transform):
    """Per-channel feature normalisation ``(x - mean) / std`` (lists of length ``C``)."""

    deterministic = True

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1)
        if self.mean.shape != self.std.shape:
            raise ValueError(
                f"normalize: mean and std differ in length ({self.mean.size}, {self.std.size})"
            )
        if np.any(self.std <= 0):
            raise ValueError("normalize: every std must be positive")

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check(x)
        if x.shape[0] != self.mean.size:
            raise SkeletonDataError(
                f"normalize has {self.mean.size} means but the sample has {x.shape[0]} channels"
            )
        shape = (-1, 1, 1, 1)
        return ((x - self.mean.reshape(shape)) / self.std.reshape(shape)).astype(np.float32)
