"""Transforms of the body itself, rebuilt bone by bone from the centre joint outwards: bone
lengths scaled or set, bones turned about their parent joints."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ...layouts import LayoutLike, SkeletonLayout, get_layout
from .base import (
    Transform,
    _check_joints,
    _num_coords,
    register_transform,
    rotation_matrix,
)
from .spatial import _axis_angles, mirror_pairs


def _paths_to_centre(layout: SkeletonLayout) -> np.ndarray:
    """``(V, V)``: ``path[j, k] = 1`` where joint ``k``'s bone lies between joint ``j`` and the
    layout's centre (``k = j`` included, the centre excluded)."""
    path = np.zeros((layout.num_joints, layout.num_joints))
    for joint in range(layout.num_joints):
        node = joint
        while node != layout.center:
            path[joint, node] = 1.0
            node = layout.parents[node]
    return path


def _rebuild_from_bones(
    x: np.ndarray, coords: int, bones: np.ndarray, layout: SkeletonLayout, path: np.ndarray
) -> np.ndarray:
    """A float32 copy of ``x`` whose first ``coords`` channels are the joints
    ``x'_j = x_c + Σ_{k ∈ path(j)} b_k`` built from ``(coords, T, V, M)`` bones outwards from
    ``x``'s centre joint ``c`` (``path`` from :func:`_paths_to_centre`)."""
    centre = x[:coords, :, layout.center : layout.center + 1].astype(np.float64)
    out = np.array(x, dtype=np.float32, copy=True)
    out[:coords] = centre + np.einsum("jk,ctkm->ctjm", path, bones)
    return out


@register_transform("random_bone_scale", "random_bone_length")
class RandomBoneScale(Transform):
    """Change the body: every bone's length times its own random factor in ``[1 - s, 1 + s]``.

    A bone is a joint ``j`` and its parent ``p(j)`` on the way to the layout's centre ``c``
    (:attr:`SkeletonLayout.parents`), ``b_j = x_j - x_p(j)``. With ``f_j`` the factor drawn for
    ``j``'s bone the joints are rebuilt from the centre outwards,

        ``x'_c = x_c``,  ``x'_j = x'_p(j) + f_j · b_j = x_c + Σ_{k ∈ path(j)} f_k · b_k``,

    ``path(j)`` the joints from ``j`` up to the centre (excluded), so every bone keeps its
    direction and the centre its place. One draw per sample, shared by all frames and persons
    (the body stays rigid over time); with ``symmetric`` a ``left_*`` joint's bone and its
    ``right_*`` twin's (:func:`mirror_pairs`) share their factor. A person-frame that is all
    zero (absent) stays zero; channels past ``coords`` are copied unchanged.
    """

    needs_layout = True

    def __init__(
        self,
        layout: LayoutLike,
        scale: float = 0.1,
        symmetric: bool = True,
        coords: int | None = None,
    ) -> None:
        if not 0 <= scale < 1:
            raise ValueError(f"random_bone_scale: scale must be in [0, 1), got {scale}")
        self.layout = get_layout(layout)
        self.scale = float(scale)
        self.symmetric = bool(symmetric)
        self.coords = coords
        self._path = _paths_to_centre(self.layout)
        # the joint whose factor each bone uses: a right_* bone borrows its left twin's
        source = np.arange(self.layout.num_joints)
        if self.symmetric:
            for left, right in mirror_pairs(self.layout):
                source[right] = left
        self._source = source

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check_joints(x, self.layout, "random_bone_scale")
        c = _num_coords(x, self.coords)
        factors = rng.uniform(1 - self.scale, 1 + self.scale, size=self._source.size)[self._source]
        coords = x[:c].astype(np.float64)
        bones = self.layout.bone_array(coords, axis=2) * factors[:, None]
        return _rebuild_from_bones(x, c, bones, self.layout, self._path)


@register_transform("random_bone_rotate", "random_joint_angles")
class RandomBoneRotate(Transform):
    """Change the pose: turn every bone about its parent joint by its own small random rotation.

    With ``b_j = x_j - x_p(j)`` the bone of joint ``j`` (:attr:`SkeletonLayout.parents`) and
    ``R_j`` a rotation drawn for it (angles uniform in ``[-a, a]`` about the x, y and z axes,
    :func:`rotation_matrix`), the rotations compound outwards as joint angles do,

        ``Q_c = I``,  ``Q_j = Q_p(j) R_j``,  ``x'_c = x_c``,  ``x'_j = x'_p(j) + Q_j b_j``,

    so turning the upper arm about the shoulder carries the forearm and hand with it, every bone
    keeps its length and the centre its place. One draw per sample, shared by all frames and
    persons: the same motion performed with the limbs held a little differently (an arm raised
    less high, a wider stance). A person-frame that is all zero (absent) stays zero; channels
    past ``coords`` are copied unchanged.
    """

    needs_layout = True

    def __init__(
        self,
        layout: LayoutLike,
        angles: float | Sequence[float] = 10.0,
        coords: int | None = None,
    ) -> None:
        self.layout = get_layout(layout)
        self.angles = _axis_angles(angles, "random_bone_rotate")
        self.coords = coords
        self._path = _paths_to_centre(self.layout)
        # every joint but the centre, parents before children (depth: bones to the centre)
        depth = self._path.sum(axis=1)
        self._outward = [int(j) for j in np.argsort(depth, kind="stable") if depth[j] > 0]

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check_joints(x, self.layout, "random_bone_rotate")
        c = _num_coords(x, self.coords)
        if c != 3:
            raise ValueError(f"random_bone_rotate needs 3D coordinates, got coords={c}")
        drawn = rng.uniform(-1.0, 1.0, size=(self.layout.num_joints, 3)) * self.angles
        compound = np.tile(np.eye(3), (self.layout.num_joints, 1, 1))  # Q_c = I
        for joint in self._outward:
            compound[joint] = compound[self.layout.parents[joint]] @ rotation_matrix(drawn[joint])
        coords = x[:c].astype(np.float64)
        bones = np.einsum("vij,jtvm->itvm", compound, self.layout.bone_array(coords, axis=2))
        return _rebuild_from_bones(x, c, bones, self.layout, self._path)


@register_transform("set_bone_lengths", "canonical_bone_lengths")
class SetBoneLengths(Transform):
    """Give every bone a fixed length in every frame, keeping its direction: one body for all.

    With ``b_j = x_j - x_p(j)`` the bone of joint ``j`` (:attr:`SkeletonLayout.parents`) and
    ``L_j`` its new length, the joints are rebuilt outwards from the layout's centre ``c`` as in
    :class:`RandomBoneScale`: ``x'_j = x_c + Σ_{k ∈ path(j)} L_k · b_k / |b_k|``.

    Args:
        layout: The skeleton layout.
        lengths: ``{joint: length}`` for every joint but the centre: the length of the bone
            from that joint to its parent, in the sample's units (e.g. mean bone lengths after
            ``scale_normalize``). Every sample gets that one body, so the recorded subjects'
            proportions no longer differ (``scripts/msr_bone_lengths.py`` prints the MSR
            Action3D training subjects' body).
        coords: Coordinate channels (default: all, or 3 when there are 4 or more).

    A bone of length zero (two joints at one place) has no direction and stays zero; an absent
    (all-zero) person-frame stays zero; channels past ``coords`` are copied unchanged.
    """

    deterministic = True
    needs_layout = True

    def __init__(
        self, layout: LayoutLike, lengths: Mapping[str, float], coords: int | None = None
    ) -> None:
        self.layout = get_layout(layout)
        self.coords = coords
        self._path = _paths_to_centre(self.layout)
        if not isinstance(lengths, Mapping):
            raise ValueError(
                f"set_bone_lengths: lengths must map joint names to lengths, "
                f"got {type(lengths).__name__}"
            )
        centre = self.layout.joints[self.layout.center]
        needed = set(self.layout.joints) - {centre}
        missing, unknown = sorted(needed - set(lengths)), sorted(set(lengths) - needed)
        if missing or unknown:
            raise ValueError(
                f"set_bone_lengths: lengths must name every joint of {self.layout.name!r} but "
                f"the centre {centre!r}; missing {missing}, unknown {unknown}"
            )
        values = np.zeros(self.layout.num_joints)
        for name, value in lengths.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"set_bone_lengths: length of {name!r} must be a number")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(
                    f"set_bone_lengths: length of {name!r} must be finite and > 0, got {value}"
                )
            values[self.layout.joints.index(name)] = float(value)
        self._lengths = values

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check_joints(x, self.layout, "set_bone_lengths")
        c = _num_coords(x, self.coords)
        coords = x[:c].astype(np.float64)
        bones = self.layout.bone_array(coords, axis=2)  # (c, T, V, M)
        norms = np.linalg.norm(bones, axis=0)  # (T, V, M)
        target = np.broadcast_to(self._lengths[:, None], norms.shape)
        scale = np.divide(target, norms, out=np.zeros_like(norms), where=norms > 1e-9)
        return _rebuild_from_bones(x, c, bones * scale, self.layout, self._path)
