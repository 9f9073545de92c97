"""Transforms of where the body is: centring, view and scale normalisation, whole-body
rotation, scaling, noise and mirroring, and the number of persons kept."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ...errors import SkeletonDataError
from ...layouts import LayoutLike, SkeletonLayout, get_layout
from .base import (
    Transform,
    _align,
    _check,
    _check_joints,
    _first_present_frame,
    _linear_map,
    _num_coords,
    _present,
    _resolve_joint,
    register_transform,
    rotation_matrix,
)


@register_transform("centre", "center")
class Centre(Transform):
    """Translate so that ``joint`` is the origin.

    Args:
        joint: Joint name or index (default: the layout's centre joint).
        per_frame: ``True``: every person in every frame is moved so that *its own* joint is at
            the origin (removes global motion). ``False``: everything is moved by the same
            vector, the joint of the first person in the first frame where it is present
            (keeps global motion and the relative placement of persons).
        coords: Number of coordinate channels (see :mod:`pyg_action.data.transforms`).
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
            return _linear_map(x, rotation_matrix(drawn), 3)
        if c == 2:
            return _linear_map(x, rotation_matrix([0.0, 0.0, drawn[2]])[:2, :2], 2)
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


def off_diagonal_positions(coords: int) -> np.ndarray:
    """The flat row-major positions of a ``coords x coords`` matrix's off-diagonal entries."""
    return np.flatnonzero(~np.eye(coords, dtype=bool))


def shear_matrix(offsets: np.ndarray, coords: int) -> np.ndarray:
    """``(coords, coords)``: the identity with ``offsets`` (``coords (coords - 1)`` numbers)
    off the diagonal, at :func:`off_diagonal_positions`."""
    matrix = np.eye(coords)
    matrix.flat[off_diagonal_positions(coords)] = offsets
    return matrix


@register_transform("random_shear")
class RandomShear(Transform):
    """Apply a random shear ``x' = S x`` to the coordinates of the whole sample.

    ``S`` is the identity with every off-diagonal entry ``S_ij`` (``i != j``) uniform in
    ``[-shear, shear]`` (:func:`shear_matrix`; six draws for 3D, two for 2D): together with
    rotation and per-axis scaling it spans the linear maps near the identity, so the model sees
    bodies leaning and stretched along directions that are not the axes (the shear
    augmentation of skeleton contrastive learning, e.g. SkeletonCLR, there with
    ``shear = 0.5``). Other channels are kept.
    """

    def __init__(self, shear: float = 0.1, coords: int | None = None) -> None:
        if not (math.isfinite(shear) and 0 <= shear < 1):
            raise ValueError(f"random_shear: shear must be in [0, 1), got {shear}")
        self.shear = float(shear)
        self.coords = coords

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check(x)
        c = _num_coords(x, self.coords)
        offsets = rng.uniform(-self.shear, self.shear, size=c * (c - 1))
        return _linear_map(x, shear_matrix(offsets, c), c)


@register_transform("random_move")
class RandomMove(Transform):
    """Move the body smoothly over the clip: a rotation, scale and translation that change
    linearly between random values drawn at evenly spaced control frames (the official ST-GCN
    feeder's ``random_move``, with uniform draws instead of its candidate lists).

    At the ``segments + 1`` control frames ``t_0 = 0 < … < t_S = T − 1`` the angles
    ``θ_k`` (degrees, each uniform in ``[−a, a]`` for ``angles = [ax, ay, az]``), a scale
    ``s_k`` (uniform in ``[1 − scale, 1 + scale]``, one for all axes) and an offset ``d_k``
    (each coordinate uniform in ``[−translate, translate]``, in the sample's units) are drawn;
    frame ``t`` takes their linear interpolation and becomes ``x'_t = s_t R(θ_t) x_t + d_t``,
    with :func:`rotation_matrix` ``R``. ``segments = 1`` moves the body from one random pose at
    the first frame to another at the last. Missing person-frames stay zero; channels after
    ``coords`` are kept. For 2D coordinates only the z angle is used.
    """

    def __init__(
        self,
        angles: float | Sequence[float] = 10.0,
        scale: float = 0.1,
        translate: float = 0.0,
        segments: int = 1,
        coords: int | None = None,
    ) -> None:
        self.angles = _axis_angles(angles, "random_move")
        if not 0 <= scale < 1:
            raise ValueError(f"random_move: scale must be in [0, 1), got {scale}")
        if not (math.isfinite(translate) and translate >= 0):
            raise ValueError(f"random_move: translate must be finite and >= 0, got {translate}")
        if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
            raise ValueError(f"random_move: segments must be an integer >= 1, got {segments!r}")
        self.scale, self.translate, self.segments = float(scale), float(translate), segments
        self.coords = coords

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check(x)
        c = _num_coords(x, self.coords)
        knots = self.segments + 1
        angles = rng.uniform(-1.0, 1.0, size=(knots, 3)) * np.array(self.angles)
        scales = rng.uniform(1 - self.scale, 1 + self.scale, size=knots)
        offsets = rng.uniform(-self.translate, self.translate, size=(knots, c))
        frames = x.shape[1]
        at = np.linspace(0.0, max(frames - 1, 1), knots)
        steps = np.arange(frames)

        def along(values: np.ndarray) -> np.ndarray:  # (knots, k) -> (T, k)
            return np.stack([np.interp(steps, at, v) for v in values.T], axis=1)

        theta = along(angles)
        if c == 2:
            theta[:, :2] = 0.0
        matrices = np.stack([rotation_matrix(a)[:c, :c] for a in theta])  # (T, c, c)
        matrices *= along(scales[:, None])[:, :, None]
        moved = np.einsum("tij,jtvm->itvm", matrices, x[:c].astype(np.float64))
        moved += along(offsets).T[:, :, None, None]
        out = np.array(x, dtype=np.float32, copy=True)
        out[:c] = np.where(_present(x)[None, :, None, :], moved, 0.0)
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
