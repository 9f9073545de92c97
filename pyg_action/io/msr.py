"""MSR Action3D skeleton files (``aAA_sSS_eEE_skeleton3D.txt``, Kinect v1, 20 joints).

File format (text): ``T * 20`` lines ``x y z confidence``, the 20 joints of frame 0,
then of frame 1, and so on. ``x y z`` are real-world metres with y up; ``confidence``
is the tracker's 0-1 confidence. The joint order is the ``msr20`` layout.

The name gives the action ``AA`` (1-20), the subject ``SS`` and the repetition ``EE``:
``label = AA - 1`` and ``meta`` holds ``action``, ``subject`` and ``repetition``.

Result: ``data`` ``(3, T, 20, 1)`` float32 xyz (or ``(4, ...)`` with the confidence as a
fourth channel when ``with_confidence=True``), layout ``"msr20"``. Frames the tracker
lost are all-zero and kept; a file whose coordinates are all zero (``a13_s09_e02`` in
the original release) is an error.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import SkeletonDataError
from ..sequence import SkeletonSequence
from ._common import parse_floats, read_text, require_file
from .validation import MAX_FRAMES, validate_sample

NUM_JOINTS = 20
#: Actions of MSR Action3D (``a01`` .. ``a20`` in the file names).
NUM_ACTIONS = 20
MSR_NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)", re.IGNORECASE)


def parse_msr_name(name: str) -> dict[str, int] | None:
    """``{action, subject, repetition}`` (1-based) from an MSR Action3D file name, or None."""
    match = MSR_NAME.search(name)
    if match is None:
        return None
    action, subject, repetition = (int(g) for g in match.groups())
    return {"action": action, "subject": subject, "repetition": repetition}


def _parse_values(lines: list[str], path: Path) -> np.ndarray:
    """``(len(lines), 4)`` floats; a bad or non-finite token is reported with its line."""
    try:
        values = np.array(" ".join(lines).split(), dtype=np.float64).reshape(len(lines), 4)
        if np.isfinite(values).all():
            return values
    except ValueError:
        pass
    # slow path: find the first offending token and name its line
    values = np.empty((len(lines), 4))
    for number, line in enumerate(lines, start=1):
        frame = (number - 1) // NUM_JOINTS
        values[number - 1] = parse_floats(line.split(), path, line=number, frame=frame)
    return values


def read_msr_action3d(path: str | Path, *, with_confidence: bool = False) -> SkeletonSequence:
    """Read one MSR Action3D ``*_skeleton3D.txt`` file.

    Args:
        path: The text file.
        with_confidence: Keep the confidence column as a fourth channel.

    Returns:
        ``data`` ``(3, T, 20, 1)`` float32 (``(4, T, 20, 1)`` with confidence).

    Raises:
        SkeletonDataError: missing/empty file; a line without 4 numbers, a non-numeric or
            non-finite value (the line is named); a line count that is not a multiple of 20
            (the incomplete frame's first line is named); all coordinates zero.
    """
    path = require_file(path)
    name = path.name.removesuffix(".txt")
    parts = parse_msr_name(name)
    if parts and not 1 <= parts["action"] <= NUM_ACTIONS:
        raise SkeletonDataError(
            f"action a{parts['action']:02d} of the file name is not one of MSR Action3D's "
            f"a01..a{NUM_ACTIONS:02d}",
            path,
        )
    text = read_text(path)
    if text.count("\n") > MAX_FRAMES * NUM_JOINTS:
        raise SkeletonDataError(
            f"more than {MAX_FRAMES * NUM_JOINTS} lines: beyond the {MAX_FRAMES} frames "
            "a sample may have",
            path,
        )
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        count = len(line.split())
        if count != 4:
            raise SkeletonDataError(
                f"expected 4 values 'x y z confidence', got {count}",
                path,
                line=number,
                frame=(number - 1) // NUM_JOINTS,
            )
    values = _parse_values(lines, path)
    complete, extra = divmod(len(lines), NUM_JOINTS)
    if extra:
        raise SkeletonDataError(
            f"{len(lines)} lines is not a multiple of {NUM_JOINTS}: the last frame (from this "
            f"line on) has only {extra} joints (truncated file?)",
            path,
            line=complete * NUM_JOINTS + 1,
            frame=complete,
        )
    frames = values.reshape(complete, NUM_JOINTS, 4)
    if not frames[..., :3].any():
        raise SkeletonDataError("all coordinates are zero", path)
    channels = 4 if with_confidence else 3
    with np.errstate(over="ignore"):  # beyond float32: inf, reported below
        data = np.ascontiguousarray(
            frames[..., :channels].transpose(2, 0, 1)[..., None], np.float32
        )
    meta: dict[str, object] = dict(parts or {})
    meta.update(
        source=str(path),
        format="msr",
        channels=("x", "y", "z", "confidence")[:channels],
        lost_frames=int((~frames[..., :3].any(axis=(1, 2))).sum()),
    )
    label = parts["action"] - 1 if parts else None
    sequence = SkeletonSequence(data=data, label=label, layout="msr20", name=name, meta=meta)
    return validate_sample(sequence, path, num_classes=NUM_ACTIONS)
