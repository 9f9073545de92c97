"""The transform base class, its registry, and the array helpers the transforms share."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ...errors import SkeletonDataError
from ...layouts import SkeletonLayout

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


def _linear_map(x: np.ndarray, matrix: np.ndarray, coords: int) -> np.ndarray:
    """``x`` with its first ``coords`` channels mapped by ``matrix`` (a rotation, a shear),
    computed in float64; the other channels kept."""
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
