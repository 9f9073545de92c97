"""The one rule every sample passes, whichever reader, command or cache it comes from.

A sample is usable when

* its data is a non-empty ``(C, T, V, M)`` array of at most :data:`MAX_FRAMES` frames;
* every value is finite and no larger in magnitude than :data:`MAX_ABS_VALUE` (metres,
  normalised image coordinates, pixels and scores are all far below it; a value beyond it
  is a garbled file, and would overflow the squares of a batch norm);
* at least one value is not zero (an all-zero sample holds no skeleton);
* its label is ``None`` (unknown) or an integer class index in ``0 .. MAX_CLASSES - 1``, and
  below ``num_classes`` when the dataset's classes are known.

:func:`validate_sample` applies the rule and raises :class:`~pyg_action.errors.SkeletonDataError`
naming the file and, for a sample of a container, the sample. Every reader calls it before it
returns a sample, and ``inspect``, ``predict``, ``prepare`` and the prepared cache use it too,
so a sample is good or bad in the same way everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SkeletonDataError
from ..sequence import SkeletonSequence
from ._common import brief

#: Largest magnitude a coordinate or score may have.
MAX_ABS_VALUE = 1e6
#: Labels are class indices below this bound (no skeleton data set has nearly as many).
MAX_CLASSES = 10_000
#: Most frames a sample may have: an hour of video at about 28 fps.
MAX_FRAMES = 100_000


def first_bad_frame(data: np.ndarray) -> int | None:
    """Index of the first frame of a ``(C, T, V, M)`` array holding a value that is NaN,
    infinite or beyond :data:`MAX_ABS_VALUE`, else ``None``."""
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(data) <= MAX_ABS_VALUE)  # NaN compares False
    if not bad.any():
        return None
    return int(np.flatnonzero(bad.any(axis=(0, 2, 3)))[0])


def check_values(
    data: np.ndarray, path: str | Path | None, *, sample: str | int | None = None
) -> None:
    """Raise unless ``data`` is a non-empty, finite, bounded, not all-zero ``(C, T, V, M)``
    array of at most :data:`MAX_FRAMES` frames (the error names the first bad frame)."""
    if not isinstance(data, np.ndarray) or data.ndim != 4:
        shape = getattr(data, "shape", type(data).__name__)
        raise SkeletonDataError(f"sample must be (C, T, V, M), got {shape}", path, sample=sample)
    if min(data.shape) == 0:
        raise SkeletonDataError(f"sample is empty {data.shape}", path, sample=sample)
    if data.shape[1] > MAX_FRAMES:
        raise SkeletonDataError(
            f"{data.shape[1]} frames, more than the {MAX_FRAMES} a sample may have",
            path,
            sample=sample,
        )
    if data.dtype.kind not in "fiu":
        raise SkeletonDataError(f"sample has dtype {data.dtype}", path, sample=sample)
    frame = first_bad_frame(data)
    if frame is not None:
        with np.errstate(invalid="ignore"):
            finite = bool(np.isfinite(data[:, frame]).all())
        what = f"a value beyond +-{MAX_ABS_VALUE:g}" if finite else "NaN or infinite value"
        raise SkeletonDataError(what, path, frame=frame, sample=sample)
    if not data.any():
        raise SkeletonDataError("all coordinates are zero", path, sample=sample)


def check_label(
    label: Any,
    path: str | Path | None,
    *,
    sample: str | int | None = None,
    num_classes: int | None = None,
) -> int | None:
    """``label`` as an ``int`` class index (``None`` stays unknown), or an error naming it.

    The index must be in ``0 .. num_classes - 1`` (``num_classes`` defaults to
    :data:`MAX_CLASSES`).
    """
    if label is None:
        return None
    if isinstance(label, bool) or not isinstance(label, int | np.integer):
        raise SkeletonDataError(f"label {brief(label)} is not an integer", path, sample=sample)
    classes = MAX_CLASSES if num_classes is None else min(num_classes, MAX_CLASSES)
    if not 0 <= label < classes:
        which = "the dataset's" if num_classes is not None else "the largest supported"
        raise SkeletonDataError(
            f"label {brief(label)} is outside 0..{classes - 1} ({which} {classes} classes)",
            path,
            sample=sample,
        )
    return int(label)


def validate_sample(
    sample: SkeletonSequence,
    path: str | Path | None = None,
    *,
    name: str | int | None = None,
    num_classes: int | None = None,
) -> SkeletonSequence:
    """Return ``sample`` when it follows the rule above, else raise.

    Args:
        sample: The sample to check.
        path: The file it came from, named by the error.
        name: The sample's name inside a multi-sample file, named by the error (leave it
            ``None`` for a file that holds one sample).
        num_classes: The number of classes the label must be below, when known.

    Raises:
        SkeletonDataError: the first problem found.
    """
    check_values(sample.data, path, sample=name)
    check_label(sample.label, path, sample=name, num_classes=num_classes)
    return sample
