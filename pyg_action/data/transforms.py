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

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import SkeletonDataError
from ..layouts import LayoutLike, SkeletonLayout, get_layout
from ..sequence import SkeletonSequence

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
    "RandomRotate",
    "RandomScale",
    "ScaleNormalize",
    "SetBoneLengths",
    "Streams",
    "TemporalMedian",
    "Transform",
    "UniformSample",
    "build_transforms",
    "check_transform",
    "describe_transforms",
    "lost_frame_mask",
    "mirror_pairs",
    "register_transform",
    "rotation_matrix",
    "uniform_sample_indices",
]

TRANSFORMS: dict[str, type[Transform]] = {}


def register_transform(*names: str) -> Callable[[type[Transform]], type[Transform]]:
    """Class decorator adding a transform under one or more config names."""

    def add(cls: type[Transform]) -> type[Transform]:
        for name in names:
            if name in TRANSFORMS:
                raise ValueError(f"transform {name!r} is registered twice")
            TRANSFORMS[name] = cls
        return cls

    return add


class Transform:
    """Base class: ``__call__(x, rng)`` maps a ``(C, T, V, M)`` array to a new one.

    Subclasses that need the skeleton set ``needs_layout = True`` and take ``layout`` as their
    first constructor argument; :func:`build_transforms` passes it in. Those whose output
    depends on the input alone (no draw from ``rng``) set ``deterministic = True``: a dataset
    then computes the leading run of such steps once per sample and keeps the result
    (:meth:`Compose.split`).
    """

    needs_layout = False
    deterministic = False

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_") and k != "layout"
        )
        return f"{type(self).__name__}({fields})"


# ----------------------------------------------------------------------------- helpers


def _check(x: np.ndarray) -> np.ndarray:
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        shape = getattr(x, "shape", None)
        raise SkeletonDataError(f"a transform expects a (C, T, V, M) array, got shape {shape}")
    return x


def _check_joints(x: np.ndarray, layout: SkeletonLayout, step: str) -> np.ndarray:
    """:func:`_check`, and that the sample has ``layout``'s joint count (``step`` names the
    transform in the error)."""
    x = _check(x)
    if x.shape[2] != layout.num_joints:
        raise SkeletonDataError(
            f"{step}: layout {layout.name!r} has {layout.num_joints} joints, "
            f"the sample {x.shape[2]}"
        )
    return x


def _num_coords(x: np.ndarray, coords: int | None) -> int:
    if coords is None:
        return min(3, x.shape[0])
    if not 1 <= coords <= x.shape[0]:
        raise SkeletonDataError(f"coords={coords} but the sample has {x.shape[0]} channels")
    return coords


def _present(x: np.ndarray) -> np.ndarray:
    """``(T, M)``: True where the person-frame holds any non-zero value."""
    return np.any(x != 0, axis=(0, 2))


def _first_present_frame(x: np.ndarray, person: int = 0) -> int | None:
    frames = np.flatnonzero(_present(x)[:, person])
    return int(frames[0]) if frames.size else None


def _resolve_joint(layout: SkeletonLayout, joint: str | int) -> int:
    try:
        return layout.joint_index(joint)
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def rotation_matrix(angles: Sequence[float], degrees: bool = True) -> np.ndarray:
    """``R = Rz @ Ry @ Rx`` for rotation angles ``(ax, ay, az)`` about the x, y and z axes."""
    ax, ay, az = (math.radians(a) if degrees else float(a) for a in angles)
    cx, sx, cy, sy, cz, sz = (
        math.cos(ax),
        math.sin(ax),
        math.cos(ay),
        math.sin(ay),
        math.cos(az),
        math.sin(az),
    )
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def _rotate(x: np.ndarray, matrix: np.ndarray, coords: int) -> np.ndarray:
    out = np.array(x, dtype=np.float32, copy=True)
    out[:coords] = np.einsum("ij,jtvm->itvm", matrix, x[:coords].astype(np.float64))
    return out


def _align(vector: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Smallest rotation taking the direction of ``vector`` onto ``target`` (Rodrigues)."""
    norm = np.linalg.norm(vector)
    if norm < 1e-9:
        return np.eye(3)
    a = vector / norm
    b = target / np.linalg.norm(target)
    axis = np.cross(a, b)
    sin = np.linalg.norm(axis)
    cos = float(np.clip(np.dot(a, b), -1.0, 1.0))
    if sin < 1e-9:
        if cos > 0:
            return np.eye(3)
        # anti-parallel: half a turn about any axis orthogonal to a
        helper = np.array([1.0, 0.0, 0.0]) if abs(a[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        axis = np.cross(a, helper)
        axis /= np.linalg.norm(axis)
        return 2.0 * np.outer(axis, axis) - np.eye(3)
    k = axis / sin
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    angle = math.atan2(sin, cos)
    return np.eye(3) + math.sin(angle) * cross + (1 - math.cos(angle)) * cross @ cross


# ----------------------------------------------------------------------------- spatial


@register_transform("centre", "center")
class Centre(Transform):
    """Translate so that ``joint`` is the origin.

    Args:
        joint: Joint name or index (default: the layout's centre joint).
        per_frame: ``True``: every person in every frame is moved so that *its own* joint is at
            the origin (removes global motion). ``False``: everything is moved by the same
            vector, the joint of the first person in the first frame where it is present
            (keeps global motion and the relative placement of persons).
        coords: Number of coordinate channels (see module docs).
    """

    deterministic = True

    needs_layout = True

    def __init__(
        self,
        layout: LayoutLike,
        joint: str | int | None = None,
        per_frame: bool = True,
        coords: int | None = None,
    ) -> None:
        self.layout = get_layout(layout)
        self.joint = self.layout.center if joint is None else _resolve_joint(self.layout, joint)
        self.per_frame = bool(per_frame)
        self.coords = coords

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check(x)
        c = _num_coords(x, self.coords)
        present = _present(x)[None, :, None, :]  # (1, T, 1, M)
        if self.per_frame:
            origin = x[:c, :, self.joint : self.joint + 1, :]
        else:
            frame = _first_present_frame(x)
            if frame is None:
                return np.array(x, dtype=np.float32, copy=True)
            origin = x[:c, frame, self.joint, 0][:, None, None, None]
        out = np.array(x, dtype=np.float32, copy=True)
        out[:c] = np.where(present, x[:c] - origin, 0.0)
        return out


#: Default joints of :class:`PreNormalize3D` per layout: origin, z axis (from, to), x axis
#: (from, to). NTU follows pyskl's ``PreNormalize3D`` (``zaxis=[0, 1]``, ``xaxis=[8, 4]``,
#: centre joint 1); MSR Action3D uses its analogous joints.
PRENORM_JOINTS: dict[str, tuple[str, tuple[str, str], tuple[str, str]]] = {
    "ntu25": ("spine_mid", ("spine_base", "spine_mid"), ("left_shoulder", "right_shoulder")),
    "msr20": ("spine", ("hip_center", "spine"), ("left_shoulder", "right_shoulder")),
}


@register_transform("pre_normalize", "prenorm")
class PreNormalize3D(Transform):
    """View pre-normalisation of 3D skeletons (pyskl ``PreNormalize3D`` semantics).

    Using the first frame in which the first person is present:

    1. translate so that the ``origin`` joint is at ``(0, 0, 0)`` (missing person-frames stay
       zero),
    2. rotate so that the spine vector ``z_axis[0] -> z_axis[1]`` points along ``+z``,
    3. rotate so that the shoulder vector ``x_axis[0] -> x_axis[1]`` points along ``+x``.

    The same rigid motion is applied to all frames and persons. Defaults per layout are in
    :data:`PRENORM_JOINTS` (NTU: origin ``spine_mid``, spine ``spine_base -> spine_mid``,
    shoulders ``left_shoulder -> right_shoulder``, exactly pyskl's joints 1, ``[0, 1]``,
    ``[8, 4]``); other layouts must name them.

    Step 3 differs slightly from pyskl by default (``keep_spine=True``): the second rotation is
    about ``z`` only, so the spine stays exactly parallel to ``z`` and the shoulders' projection
    on the ``xy`` plane is parallel to ``x``. pyskl rotates the full shoulder vector onto ``x``,
    which tilts the spine again when the shoulders are not orthogonal to it;
    ``keep_spine=False`` reproduces that.

    ``vertical=[x, y, z]`` replaces the spine in step 2 by a fixed direction of the input
    coordinates, the camera's up (``[0, 1, 0]`` for Kinect and MSR Action3D data): the body
    keeps its true lean, and a mis-tracked hip or spine cannot tilt the whole sequence; step 3
    then turns about the vertical only, so the shoulders face along ``x``.

    ``reference="median"`` computes the translation and rotation from the per-joint median
    over all frames where the first person is present instead of from its first frame: on
    noisy depth-sensor skeletons (Kinect v1, MSR Action3D) a glitch in the first frame would
    otherwise mis-orient the whole sequence.
    """

    deterministic = True

    needs_layout = True

    def __init__(
        self,
        layout: LayoutLike,
        origin: str | int | None = None,
        z_axis: Sequence[str | int] | None = None,
        x_axis: Sequence[str | int] | None = None,
        keep_spine: bool = True,
        reference: str = "first",
        vertical: Sequence[float] | None = None,
    ) -> None:
        if reference not in ("first", "median"):
            raise ValueError(f"pre_normalize: reference is 'first' or 'median', got {reference!r}")
        self.reference = reference
        self.layout = get_layout(layout)
        default = PRENORM_JOINTS.get(self.layout.name)
        if default is None and (origin is None or z_axis is None or x_axis is None):
            raise ValueError(
                f"pre_normalize has no default joints for layout {self.layout.name!r}; "
                "give origin, z_axis: [from, to] and x_axis: [from, to] (joint names)"
            )
        if default is not None:
            origin = default[0] if origin is None else origin
            z_axis = default[1] if z_axis is None else z_axis
            x_axis = default[2] if x_axis is None else x_axis
        assert origin is not None and z_axis is not None and x_axis is not None
        if len(z_axis) != 2 or len(x_axis) != 2:
            raise ValueError("pre_normalize: z_axis and x_axis are [from_joint, to_joint] pairs")
        self.origin = _resolve_joint(self.layout, origin)
        self.z_axis = tuple(_resolve_joint(self.layout, j) for j in z_axis)
        self.x_axis = tuple(_resolve_joint(self.layout, j) for j in x_axis)
        self.keep_spine = bool(keep_spine)
        if vertical is not None and (len(vertical) != 3 or not np.any(vertical)):
            raise ValueError(f"pre_normalize: vertical is a non-zero [x, y, z], got {vertical}")
        self.vertical = None if vertical is None else [float(v) for v in vertical]

    def matrix(self, frame: np.ndarray) -> np.ndarray:
        """The rotation for one centred frame ``(3, V)``."""
        frame = frame.astype(np.float64)
        if self.vertical is None:
            up = frame[:, self.z_axis[1]] - frame[:, self.z_axis[0]]
        else:
            up = np.array(self.vertical)
        first = _align(up, np.array([0.0, 0.0, 1.0]))
        shoulders = first @ (frame[:, self.x_axis[1]] - frame[:, self.x_axis[0]])
        if self.keep_spine:
            angle = math.atan2(shoulders[1], shoulders[0])
            if math.hypot(shoulders[0], shoulders[1]) < 1e-9:
                angle = 0.0
            c, s = math.cos(-angle), math.sin(-angle)
            second = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        else:
            second = _align(shoulders, np.array([1.0, 0.0, 0.0]))
        return second @ first

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check(x)
        if x.shape[0] < 3:
            raise SkeletonDataError(
                f"pre_normalize needs 3D coordinates, got {x.shape[0]} channels"
            )
        frame = _first_present_frame(x)
        if frame is None:
            return np.array(x, dtype=np.float32, copy=True)
        present = _present(x)[None, :, None, :]
        if self.reference == "first":
            pose = x[:3, frame, :, 0].astype(np.float64)
        else:
            pose = np.median(x[:3, :, :, 0][:, present[0, :, 0, 0]].astype(np.float64), axis=1)
        origin = pose[:, self.origin][:, None, None, None]
        centred = np.where(present, x[:3].astype(np.float64) - origin, 0.0)
        matrix = self.matrix(pose - pose[:, self.origin : self.origin + 1])
        out = np.array(x, dtype=np.float32, copy=True)
        out[:3] = np.einsum("ij,jtvm->itvm", matrix, centred)
        return out


@register_transform("scale_normalize", "normalize_scale")
class ScaleNormalize(Transform):
    """Divide the coordinates by a body length so that it becomes ``target``.

    Args:
        by: ``"bones"``: the mean length of all layout bones; ``"torso"``: the distance between
            the two ``torso`` joints. Averaged over every present person-frame.
        torso: ``[joint_a, joint_b]`` for ``by="torso"`` (defaults: NTU ``spine_base`` to
            ``spine_shoulder``, MSR ``hip_center`` to ``neck``).
        target: The length after scaling.

    Scaling is about the origin, so apply it after centring.
    """

    deterministic = True

    needs_layout = True
    _TORSO = {"ntu25": ("spine_base", "spine_shoulder"), "msr20": ("hip_center", "neck")}

    def __init__(
        self,
        layout: LayoutLike,
        by: str = "bones",
        torso: Sequence[str | int] | None = None,
        target: float = 1.0,
        coords: int | None = None,
    ) -> None:
        self.layout = get_layout(layout)
        if by not in ("bones", "torso"):
            raise ValueError(f"scale_normalize: by must be 'bones' or 'torso', got {by!r}")
        self.by = by
        self.target = float(target)
        self.coords = coords
        self.pairs: list[tuple[int, int]]
        if by == "bones":
            self.pairs = self.layout.inward_bones()
        else:
            pair = torso if torso is not None else self._TORSO.get(self.layout.name)
            if pair is None or len(pair) != 2:
                raise ValueError(
                    f"scale_normalize: layout {self.layout.name!r} needs torso: [joint_a, joint_b]"
                )
            self.pairs = [
                (_resolve_joint(self.layout, pair[0]), _resolve_joint(self.layout, pair[1]))
            ]

    def length(self, x: np.ndarray) -> float:
        """The mean body length of a sample (0 when no person is present)."""
        c = _num_coords(x, self.coords)
        present = _present(x)
        if not present.any():
            return 0.0
        a = np.array([p[0] for p in self.pairs])
        b = np.array([p[1] for p in self.pairs])
        lengths = np.linalg.norm(x[:c, :, a, :] - x[:c, :, b, :], axis=0)  # (T, B, M)
        return float(lengths.transpose(0, 2, 1)[present].mean())

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check(x)
        c = _num_coords(x, self.coords)
        out = np.array(x, dtype=np.float32, copy=True)
        length = self.length(x)
        if length > 1e-12:
            out[:c] = x[:c] * (self.target / length)
        return out


def _axis_angles(angles: float | Sequence[float], step: str) -> list[float]:
    """``[ax, ay, az]`` (absolute values, degrees) from one number or three, each finite."""
    if isinstance(angles, int | float):
        angles = [angles] * 3
    if len(angles) != 3 or not all(math.isfinite(float(a)) for a in angles):
        raise ValueError(f"{step}: angles is one finite number or [ax, ay, az], got {angles}")
    return [abs(float(a)) for a in angles]


@register_transform("random_rotate", "random_rotation")
class RandomRotate(Transform):
    """Rotate the whole sample by random angles (degrees) about the x, y and z axes.

    Each angle is uniform in ``[-a, a]`` for ``angles = [ax, ay, az]`` (a single number is used
    for all three axes). For 2D coordinates (``coords == 2``) only the z angle is used.
    """

    def __init__(self, angles: float | Sequence[float] = 10.0, coords: int | None = None) -> None:
        self.angles = _axis_angles(angles, "random_rotate")
        self.coords = coords

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check(x)
        c = _num_coords(x, self.coords)
        drawn = [rng.uniform(-a, a) if a > 0 else 0.0 for a in self.angles]
        if c >= 3:
            return _rotate(x, rotation_matrix(drawn), 3)
        if c == 2:
            return _rotate(x, rotation_matrix([0.0, 0.0, drawn[2]])[:2, :2], 2)
        return np.array(x, dtype=np.float32, copy=True)


@register_transform("random_scale")
class RandomScale(Transform):
    """Multiply the coordinates by random factors uniform in ``[1 - scale, 1 + scale]``.

    ``per_axis=True`` draws one factor per coordinate axis (pyskl ``RandomScale``), ``False``
    one factor for all (a similarity transform).
    """

    def __init__(
        self, scale: float = 0.1, per_axis: bool = True, coords: int | None = None
    ) -> None:
        if not 0 <= scale < 1:
            raise ValueError(f"random_scale: scale must be in [0, 1), got {scale}")
        self.scale = float(scale)
        self.per_axis = bool(per_axis)
        self.coords = coords

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check(x)
        c = _num_coords(x, self.coords)
        size = c if self.per_axis else 1
        factors = rng.uniform(1 - self.scale, 1 + self.scale, size=size)
        out = np.array(x, dtype=np.float32, copy=True)
        out[:c] = x[:c] * factors.reshape(-1, 1, 1, 1)
        return out


@register_transform("random_jitter", "gaussian_noise")
class RandomJitter(Transform):
    """Add independent Gaussian noise ``N(0, sigma^2)`` to every coordinate of every present
    person-frame (missing ones stay zero): a depth sensor's tracking jitter.

    The noise is drawn by the Box-Muller transform from ``2 * coords * T * V * M`` uniform
    numbers ``u`` (taken from ``rng`` as one ``(2, coords, T, V, M)`` block):
    ``n = sigma * sqrt(-2 ln(1 - u[0])) * cos(2 pi u[1])``. ``sigma`` is in the sample's units,
    e.g. mean bone lengths after ``scale_normalize``.
    """

    def __init__(self, sigma: float = 0.02, coords: int | None = None) -> None:
        if not (math.isfinite(sigma) and sigma >= 0):
            raise ValueError(f"random_jitter: sigma must be finite and >= 0, got {sigma}")
        self.sigma = float(sigma)
        self.coords = coords

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check(x)
        c = _num_coords(x, self.coords)
        _, frames, joints, persons = x.shape
        u = np.asarray(rng.random(2 * c * frames * joints * persons), dtype=np.float64)
        u = u.reshape(2, c, frames, joints, persons)
        noise = self.sigma * np.sqrt(-2.0 * np.log1p(-u[0])) * np.cos(2.0 * math.pi * u[1])
        out = np.array(x, dtype=np.float32, copy=True)
        out[:c] = x[:c] + noise * _present(x)[None, :, None, :]
        return out


def mirror_pairs(layout: SkeletonLayout) -> list[tuple[int, int]]:
    """``(left, right)`` joint pairs of a layout, matched by the names ``left_*`` / ``right_*``."""
    index = {name: i for i, name in enumerate(layout.joints)}
    return [
        (i, index["right_" + name[len("left_") :]])
        for name, i in index.items()
        if name.startswith("left_") and "right_" + name[len("left_") :] in index
    ]


@register_transform("random_mirror", "random_flip")
class RandomMirror(Transform):
    """With probability ``p``, reflect the sample left to right.

    The coordinate ``axis`` is negated and every ``left_*`` joint swaps places with its
    ``right_*`` twin (see :func:`mirror_pairs`), so the result is again a plausible body: a
    right-handed wave becomes a left-handed one. After :class:`PreNormalize3D` the shoulders
    lie along ``x``, so ``axis=0`` is the body's own left-right direction.
    """

    needs_layout = True

    def __init__(self, layout: LayoutLike, p: float = 0.5, axis: int = 0) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"random_mirror: p must be in [0, 1], got {p}")
        self.layout = get_layout(layout)
        pairs = mirror_pairs(self.layout)
        if not pairs:
            raise ValueError(
                f"random_mirror: layout {self.layout.name!r} has no left_*/right_* joint pairs"
            )
        order = np.arange(self.layout.num_joints)
        for left, right in pairs:
            order[left], order[right] = right, left
        self._order = order
        self.p = float(p)
        self.axis = int(axis)

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check_joints(x, self.layout, "random_mirror")
        if rng.random() >= self.p:
            return np.array(x, dtype=np.float32, copy=True)
        out = np.array(x[:, :, self._order], dtype=np.float32, copy=True)
        out[self.axis] = -out[self.axis]
        return out


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
    coords: np.ndarray, bones: np.ndarray, layout: SkeletonLayout, path: np.ndarray
) -> np.ndarray:
    """Joints ``x'_j = x_c + Σ_{k ∈ path(j)} b_k`` from ``(C, T, V, M)`` bones and the original
    ``coords``' centre joint (``path`` from :func:`_paths_to_centre`)."""
    centre = coords[:, :, layout.center : layout.center + 1]
    return centre + np.einsum("jk,ctkm->ctjm", path, bones)


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
        out = np.array(x, dtype=np.float32, copy=True)
        out[:c] = _rebuild_from_bones(coords, bones, self.layout, self._path)
        return out


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
        out = np.array(x, dtype=np.float32, copy=True)
        out[:c] = _rebuild_from_bones(coords, bones, self.layout, self._path)
        return out


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
        out = np.array(x, dtype=np.float32, copy=True)
        out[:c] = _rebuild_from_bones(coords, bones * scale, self.layout, self._path)
        return out


@register_transform("max_persons")
class MaxPersons(Transform):
    """Keep at most ``count`` persons (the first ones, in the reader's order)."""

    deterministic = True

    def __init__(self, count: int = 2) -> None:
        if count < 1:
            raise ValueError(f"max_persons: count must be >= 1, got {count}")
        self.count = int(count)

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return np.array(_check(x)[..., : self.count], dtype=np.float32, copy=True)


# ----------------------------------------------------------------------------- temporal


def uniform_sample_indices(
    num_frames: int, length: int, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Frame indices of uniform temporal sampling.

    With ``T >= L`` the frames are cut into ``L`` segments at ``b_i = floor(i * T / L)`` and
    segment ``i`` contributes one frame of ``[b_i, b_{i+1})``: a uniformly random one when
    ``rng`` is given (training), its centre ``b_i + (b_{i+1} - b_i) // 2`` otherwise
    (deterministic, for testing). With ``T < L`` frame ``floor((i + u) * T / L)`` is taken,
    ``u`` random or 0.5, so frames repeat. Indices are always non-decreasing.
    """
    if num_frames < 1:
        raise SkeletonDataError("cannot sample frames from an empty sequence")
    if length < 1:
        raise ValueError(f"uniform_sample: length must be >= 1, got {length}")
    steps = np.arange(length)
    if num_frames >= length:
        bounds = (np.arange(length + 1) * num_frames) // length
        size = np.diff(bounds)
        offset = size // 2 if rng is None else np.floor(rng.random(length) * size).astype(np.int64)
        return bounds[:-1] + np.minimum(offset, size - 1)
    u = np.full(length, 0.5) if rng is None else rng.random(length)
    index = np.floor((steps + u) * num_frames / length).astype(np.int64)
    return np.clip(index, 0, num_frames - 1)


@register_transform("drop_missing_frames", "valid_frames")
class DropMissingFrames(Transform):
    """Remove the frames in which no person is present (every channel of every person zero).

    Trackers write all-zero frames where they lost the body: MSR Action3D's Kinect v1 loses
    some subjects while they bend down, so half of several "pick up & throw" and "bend"
    sequences is zeros. Kept, such a frame reaches the model as a body collapsed onto one
    point, and the frames around it as a jump of metres in the motion stream. The official
    ST-GCN and CTR-GCN feeders likewise keep only the frames with a body (they count them
    and crop). The remaining frames keep their order; a sample without any is an error.
    """

    deterministic = True

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check(x)
        keep = np.flatnonzero(_present(x).any(axis=1))
        if keep.size == 0:
            raise SkeletonDataError("drop_missing_frames: no frame of the sample holds a body")
        return np.ascontiguousarray(x[:, keep], dtype=np.float32)


@register_transform("uniform_sample")
class UniformSample(Transform):
    """Resample to exactly ``length`` frames (see :func:`uniform_sample_indices`).

    Args:
        length: Output frames.
        mode: ``"train"`` picks a random frame inside each segment, ``"test"`` its centre.
    """

    def __init__(self, length: int = 64, mode: str = "test") -> None:
        if mode not in ("train", "test"):
            raise ValueError(f"uniform_sample: mode must be 'train' or 'test', got {mode!r}")
        if length < 1:
            raise ValueError(f"uniform_sample: length must be >= 1, got {length}")
        self.length = int(length)
        self.mode = mode

    @property
    def deterministic(self) -> bool:  # type: ignore[override]  # the centres in test mode
        return self.mode == "test"

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check(x)
        index = uniform_sample_indices(
            x.shape[1], self.length, rng if self.mode == "train" else None
        )
        return np.ascontiguousarray(x[:, index], dtype=np.float32)


@register_transform("temporal_median", "median_filter")
class TemporalMedian(Transform):
    """Median filter over time: each coordinate of each joint becomes the median of the
    ``window`` frames centred on it (at the ends the first and last frames are repeated to fill
    the window, so a steady motion is kept exactly).

    Removes single-frame tracking glitches (a joint that jumps to the background in depth for
    a frame or two, common on Kinect v1 data) while keeping motion edges. Each person is
    filtered over its own present frames; missing person-frames stay zero.
    """

    deterministic = True

    def __init__(self, window: int = 5, coords: int | None = None) -> None:
        if window < 1 or window % 2 == 0:
            raise ValueError(f"temporal_median: window must be odd and >= 1, got {window}")
        self.window = int(window)
        self.coords = coords

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check(x)
        c = _num_coords(x, self.coords)
        out = np.array(x, dtype=np.float32, copy=True)
        half = self.window // 2
        present = _present(x)
        for person in range(x.shape[3]):
            frames = np.flatnonzero(present[:, person])
            if frames.size <= 1 or half == 0:
                continue
            track = x[:c, :, :, person][:, frames]  # (c, T_p, V)
            padded = np.pad(track, ((0, 0), (half, half), (0, 0)), mode="edge")
            windows = np.lib.stride_tricks.sliding_window_view(padded, self.window, axis=1)
            person_view = out[:c, :, :, person]  # (c, T, V), a view of ``out``
            person_view[:, frames] = np.median(windows, axis=-1)
        return out


@register_transform("random_crop")
class RandomCrop(Transform):
    """Keep a random contiguous window of the frames.

    Args:
        ratio: Fraction of the frames kept, one number or ``[low, high]`` drawn uniformly.
        min_length: Never crop below this many frames (or the whole sequence if shorter).
    """

    def __init__(self, ratio: float | Sequence[float] = (0.5, 1.0), min_length: int = 1) -> None:
        low, high = (ratio, ratio) if isinstance(ratio, int | float) else ratio
        if not 0 < low <= high <= 1:
            raise ValueError(f"random_crop: need 0 < low <= high <= 1, got ratio={ratio}")
        self.ratio = (float(low), float(high))
        self.min_length = max(1, int(min_length))

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check(x)
        frames = x.shape[1]
        keep = int(round(rng.uniform(*self.ratio) * frames))
        keep = min(frames, max(keep, self.min_length, 1))
        start = int(rng.integers(0, frames - keep + 1))
        return np.ascontiguousarray(x[:, start : start + keep], dtype=np.float32)


def lost_frame_mask(
    frames: int, draws: np.ndarray, p: float, span: tuple[float, float]
) -> np.ndarray:
    """``(T,)`` True at the frames :class:`RandomLostFrames` blanks for its three draws.

    With ``draws = (u0, u1, u2)`` uniform in ``[0, 1)``: nothing when ``u0 >= p``; else a span
    of ``k = floor((low + (high - low) u1) T)`` frames starting at
    ``s = floor(u2 (T + k - 1)) - k + 1``, uniform over the starts at which it overlaps the clip,
    and the frames ``s <= t < s + k`` inside the clip are lost: a span over an end is cut
    there, as a loss at the start or the end of a recording is.
    """
    low, high = span
    count = np.floor((low + (high - low) * draws[1]) * frames)
    first = np.floor(draws[2] * (frames + count - 1)) - count + 1
    steps = np.arange(frames)
    return (draws[0] < p) & (steps >= first) & (steps < first + count)


@register_transform("random_lost_frames", "random_tracking_loss")
class RandomLostFrames(Transform):
    """Blank a random span of frames as a tracker that lost the body writes them (all zeros).

    With probability ``p`` a sample loses a span: every channel of every person zero there.

    Depth-sensor trackers lose the body for whole runs of frames (MSR Action3D's Kinect v1 while
    a subject bends down: up to 80 % of a sequence, sometimes until its end). When the training
    recordings lose it in a few classes only, the model learns "zeros mean that class"; blanking
    spans of every class's training samples teaches it to read the frames that remain.

    Args:
        p: Probability that a sample loses a span.
        span: ``[low, high]``: the span's length as a fraction of the frames, drawn uniformly
            (``high < 1``, so a frame always remains).

    Three numbers are drawn from ``rng`` per sample, used or not (:func:`lost_frame_mask`).
    """

    def __init__(self, p: float = 0.5, span: Sequence[float] = (0.1, 0.5)) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"random_lost_frames: p must be in [0, 1], got {p}")
        if len(span) != 2 or not 0 <= span[0] <= span[1] < 1:
            raise ValueError(
                f"random_lost_frames: span is [low, high] with 0 <= low <= high < 1, got {span}"
            )
        self.p = float(p)
        self.span = (float(span[0]), float(span[1]))

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check(x)
        lost = lost_frame_mask(x.shape[1], rng.random(3), self.p, self.span)
        out = np.array(x, dtype=np.float32, copy=True)
        out[:, lost] = 0.0
        return out


# ----------------------------------------------------------------------------- streams


def _bone(x: np.ndarray, layout: SkeletonLayout, coords: int) -> np.ndarray:
    out = np.array(x, dtype=np.float32, copy=True)
    out[:coords] = layout.bone_array(x[:coords], axis=2)
    return out


def _motion(x: np.ndarray, coords: int) -> np.ndarray:
    out = np.array(x, dtype=np.float32, copy=True)
    out[:coords] = 0.0
    out[:coords, :-1] = x[:coords, 1:] - x[:coords, :-1]
    return out


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


STREAMS = ("joint", "bone", "joint_motion", "bone_motion")


@register_transform("streams")
class Streams(Transform):
    """Concatenate streams along the channel axis, in the order given.

    ``streams`` is a list drawn from ``joint``, ``bone``, ``joint_motion``, ``bone_motion``;
    each contributes ``C`` channels.
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
                cache[stream] = _motion(cache[stream.split("_")[0]], c)
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


# ----------------------------------------------------------------------------- pipeline


class Compose(Transform):
    """Apply transforms in order.

    ``Compose(...)(x, rng)`` takes a ``(C, T, V, M)`` array (returns an array) or a
    :class:`SkeletonSequence` (returns a copy with the new data). Without ``rng`` a fresh,
    unseeded generator is used.
    """

    def __init__(self, transforms: Iterable[Callable[..., np.ndarray]] = ()) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> Any:
        rng = np.random.default_rng() if rng is None else rng
        if isinstance(x, SkeletonSequence):
            return replace(x, data=self(x.data, rng), meta=dict(x.meta))
        out = np.asarray(x, dtype=np.float32)
        for transform in self.transforms:
            out = transform(out, rng)
        return np.ascontiguousarray(out, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.transforms)

    def split(self) -> tuple[Compose, Compose]:
        """The leading steps whose output depends on the input alone, and the rest:
        ``rest(head(x), rng)`` is ``self(x, rng)``, with the same draws from ``rng``, so the
        head's output can be computed once per sample and kept."""
        count = 0
        while count < len(self.transforms) and getattr(
            self.transforms[count], "deterministic", False
        ):
            count += 1
        return Compose(self.transforms[:count]), Compose(self.transforms[count:])

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


def _transform_class(
    spec: str | Mapping[str, Any],
) -> tuple[str, type[Transform], dict[str, Any]]:
    """The name, registered class and options of one step, checked."""
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ValueError(f"a transform is a name or a mapping with a 'name' key, got {spec!r}")
    name = spec["name"]
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}; registered: {sorted(TRANSFORMS)}")
    cls = TRANSFORMS[name]
    options = {k: v for k, v in spec.items() if k != "name"}
    accepted = [
        p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "layout")
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"transform {name!r} got unknown option(s) {unknown}; options: {accepted}")
    return name, cls, options


def build_transform(spec: str | Mapping[str, Any], layout: LayoutLike | None = None) -> Transform:
    """One transform from ``"name"`` or ``{"name": ..., **options}``."""
    name, cls, options = _transform_class(spec)
    if cls.needs_layout:
        if layout is None:
            raise ValueError(f"transform {name!r} needs a skeleton layout")
        return cls(get_layout(layout), **options)  # type: ignore[call-arg]
    return cls(**options)


def check_transform(spec: str | Mapping[str, Any]) -> None:
    """Check one step without the data: its name and options, and its values by building it
    (a step that needs the skeleton layout is checked by name and options only).

    Raises:
        ValueError: An unknown transform or option, or a value its class refuses.
    """
    name, cls, options = _transform_class(spec)
    if not cls.needs_layout:
        try:
            cls(**options)
        except TypeError as exc:  # e.g. a number where a list is expected
            raise ValueError(f"transform {name!r}: {exc}") from None


def build_transforms(
    specs: Iterable[str | Mapping[str, Any] | Transform] | Compose | None,
    layout: LayoutLike | None = None,
) -> Compose:
    """A :class:`Compose` from config steps (names, mappings or ready transforms)."""
    if isinstance(specs, Compose):
        return specs
    if specs is None:
        return Compose([])
    if isinstance(specs, str | Mapping):
        specs = [specs]
    steps = []
    for spec in specs:
        steps.append(spec if callable(spec) else build_transform(spec, layout))
    return Compose(steps)


def describe_transforms() -> dict[str, str]:
    """``{name: first docstring line}`` of every registered transform."""
    return {
        name: (cls.__doc__ or "").strip().splitlines()[0]
        for name, cls in sorted(TRANSFORMS.items())
    }
