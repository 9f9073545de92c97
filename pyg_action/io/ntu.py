"""NTU RGB+D / NTU RGB+D 120 raw skeleton files (``SsssCcccPpppRrrrAaaa.skeleton``).

File format (text, CRLF line endings in the original release)::

    <number of frames T>
    per frame:
        <number of bodies B>            (0 when the sensor tracked nobody)
        per body:
            <10 body values>            bodyID clippedEdges handLeftConfidence handLeftState
                                        handRightConfidence handRightState isRestricted
                                        leanX leanY trackingState
            <number of joints>          (25)
            25 lines of 12 values       x y z depthX depthY colorX colorY
                                        orientationW orientationX orientationY orientationZ
                                        trackingState

Only the camera-space ``x y z`` (metres, y up) are kept: the result is a
:class:`~pyg_action.sequence.SkeletonSequence` with ``data`` of shape ``(3, T, 25, M)``
float32, layout ``"ntu25"``. ``T`` is the frame count of the header; frames without
bodies stay all-zero.

Body selection follows the preprocessing of 2s-AGCN / pyskl (the choice later NTU
work made; the original ST-GCN simply kept the first two bodies):

1. Up to ``max_gathered`` (4) body slots are filled. By default (``slots="position"``)
   the ``m``-th body listed in a frame goes to slot ``m``, as in the official converter
   and 2s-AGCN; with ``slots="body_id"`` each distinct bodyID gets its own slot in order
   of first appearance.
2. Each slot's *activity* is the sum over x, y, z of the standard deviation of its
   values over its non-zero frames (slots never seen score 0).
3. The ``max_bodies`` (2) most active slots are kept, most active first. Slots that
   hold no data at all are dropped, so ``M`` is the number of bodies actually present
   (1 or 2), never zero padding.

The sample name (file stem) gives ``meta`` ``setup``, ``camera``, ``performer``,
``replication`` and ``action`` (all 1-based) and the label ``action - 1``.
:func:`ntu_missing_samples` returns the dataset authors' list of samples whose skeletons
are missing or incomplete; those files should be left out of training and testing.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import SkeletonDataError
from ..sequence import SkeletonSequence
from ._common import parse_floats, parse_int, read_text, require_file
from .validation import MAX_FRAMES, validate_sample

NTU_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")
NUM_JOINTS = 25
BODY_INFO_VALUES = 10
JOINT_VALUES = 12
#: Actions of NTU RGB+D 120 (``A001`` .. ``A120``; NTU RGB+D 60 has the first 60).
NUM_ACTIONS = 120

_MISSING_FILES = {
    "ntu60": "ntu_samples_with_missing_skeletons.txt",
    "ntu120": "ntu120_samples_with_missing_skeletons.txt",
}


def parse_ntu_name(name: str) -> dict[str, int] | None:
    """``{setup, camera, performer, replication, action}`` (1-based) from an NTU sample name.

    Returns ``None`` when ``name`` does not contain an ``SsssCcccPpppRrrrAaaa`` code.
    """
    match = NTU_NAME.search(name)
    if match is None:
        return None
    keys = ("setup", "camera", "performer", "replication", "action")
    return {key: int(value) for key, value in zip(keys, match.groups(), strict=True)}


@cache
def ntu_missing_samples(dataset: Literal["ntu60", "ntu120"] = "ntu60") -> frozenset[str]:
    """Names of the samples the NTU authors list as having missing or incomplete skeletons.

    Args:
        dataset: ``"ntu60"`` (NTU RGB+D, 302 names) or ``"ntu120"`` (NTU RGB+D 120, 535
            names, a superset of the NTU-60 list).
    """
    if dataset not in _MISSING_FILES:
        raise ValueError(f"unknown NTU dataset {dataset!r}; use one of {sorted(_MISSING_FILES)}")
    text = (
        resources.files("pyg_action")
        .joinpath("resources", _MISSING_FILES[dataset])
        .read_text(encoding="utf-8")
    )
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


class _Lines:
    """A cursor over the lines of a text file that reports 1-based line numbers."""

    def __init__(self, lines: list[str], path: Path) -> None:
        self.lines = lines
        self.path = path
        self.index = 0

    def next(self, what: str, frame: int | None) -> list[str]:
        if self.index >= len(self.lines):
            where = "before the frame count" if frame is None else f"inside frame {frame}"
            raise SkeletonDataError(
                f"file is truncated: it ends {where} where the {what} was expected",
                self.path,
                line=self.index + 1,
                frame=frame,
            )
        tokens = self.lines[self.index].split()
        self.index += 1
        if not tokens:
            raise SkeletonDataError(
                f"empty line where the {what} was expected", self.path, line=self.index, frame=frame
            )
        return tokens

    @property
    def line(self) -> int:
        """1-based number of the line read last."""
        return self.index


def _parse_frames(
    path: Path, text: str, max_gathered: int, slots: str
) -> tuple[int, list[dict[int, np.ndarray]], list[str | None], int]:
    """Parse the file: its frame count, each body slot's ``{frame: (25, 3) xyz}``, the slots'
    bodyIDs and the number of bodies beyond the slots.

    Only frames that hold a body are stored, so memory follows the file's content; the frame
    count itself is capped at :data:`~pyg_action.io.validation.MAX_FRAMES`.
    """
    cursor = _Lines(text.splitlines(), path)
    tokens = cursor.next("frame count", None)
    if len(tokens) != 1:
        raise SkeletonDataError(
            f"first line must hold only the frame count, got {len(tokens)} values", path, line=1
        )
    num_frames = parse_int(tokens[0], path, line=1, what="frame count")
    if num_frames <= 0:
        raise SkeletonDataError(f"frame count is {num_frames}: no frames", path, line=1)
    if num_frames > MAX_FRAMES:
        raise SkeletonDataError(
            f"frame count {num_frames} is beyond the {MAX_FRAMES} frames a sample may have "
            "(garbled header?)",
            path,
            line=1,
        )
    slot_frames: list[dict[int, np.ndarray]] = [{} for _ in range(max_gathered)]
    body_ids: list[str | None] = [None] * max_gathered
    dropped = 0
    for frame in range(num_frames):
        tokens = cursor.next("body count", frame)
        num_bodies = parse_int(tokens[0], path, line=cursor.line, frame=frame, what="body count")
        if len(tokens) != 1 or num_bodies < 0:
            raise SkeletonDataError(
                f"bad body count line {' '.join(tokens)[:60]!r}",
                path,
                line=cursor.line,
                frame=frame,
            )
        for position in range(num_bodies):
            info = cursor.next("body information line", frame)
            if len(info) != BODY_INFO_VALUES:
                raise SkeletonDataError(
                    f"body information line has {len(info)} values, expected {BODY_INFO_VALUES}",
                    path,
                    line=cursor.line,
                    frame=frame,
                )
            parse_int(info[0], path, line=cursor.line, frame=frame, what="bodyID")
            parse_floats(info[1:], path, line=cursor.line, frame=frame)
            tokens = cursor.next("joint count", frame)
            num_joints = parse_int(
                tokens[0], path, line=cursor.line, frame=frame, what="joint count"
            )
            if len(tokens) != 1 or num_joints != NUM_JOINTS:
                raise SkeletonDataError(
                    f"joint count line {' '.join(tokens)[:60]!r}: expected {NUM_JOINTS}",
                    path,
                    line=cursor.line,
                    frame=frame,
                )
            joints = np.empty((NUM_JOINTS, 3))
            for joint in range(NUM_JOINTS):
                values = cursor.next(f"line of joint {joint + 1}", frame)
                if len(values) != JOINT_VALUES:
                    raise SkeletonDataError(
                        f"joint line has {len(values)} values, expected {JOINT_VALUES}",
                        path,
                        line=cursor.line,
                        frame=frame,
                    )
                joints[joint] = parse_floats(values, path, line=cursor.line, frame=frame)[:3]
            slot = _slot_for(info[0], position, body_ids, slots, max_gathered)
            if slot is None:
                dropped += 1
                continue
            slot_frames[slot][frame] = joints
    rest = [i for i in range(cursor.index, len(cursor.lines)) if cursor.lines[i].strip()]
    if rest:
        raise SkeletonDataError(
            f"unexpected content after the last of {num_frames} frames (wrong frame count?)",
            path,
            line=rest[0] + 1,
        )
    return num_frames, slot_frames, body_ids, dropped


def _slot_for(
    body_id: str, position: int, body_ids: list[str | None], slots: str, max_gathered: int
) -> int | None:
    if slots == "position":
        if position >= max_gathered:
            return None
        if body_ids[position] is None:
            body_ids[position] = body_id
        return position
    if body_id in body_ids:
        return body_ids.index(body_id)
    if None in body_ids:
        slot = body_ids.index(None)
        body_ids[slot] = body_id
        return slot
    return None


def body_activity(body: np.ndarray) -> float:
    """Activity of one body ``(T, V, 3)``: sum over x, y, z of the std over non-zero frames."""
    valid = (body != 0).any(axis=(1, 2))
    if not valid.any():
        return 0.0
    frames = body[valid]
    return float(sum(frames[..., c].std() for c in range(frames.shape[-1])))


def _present_frames(frames: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """The frames of one slot in which its body has a non-zero joint."""
    return {t: joints for t, joints in frames.items() if joints.any()}


def read_ntu_skeleton(
    path: str | Path,
    *,
    max_bodies: int = 2,
    max_gathered: int = 4,
    slots: Literal["position", "body_id"] = "position",
) -> SkeletonSequence:
    """Read one NTU RGB+D ``.skeleton`` file.

    Args:
        path: The ``.skeleton`` file.
        max_bodies: How many of the most active bodies to keep (the official choice is 2).
        max_gathered: How many body slots to fill before choosing (the official choice is 4).
        slots: ``"position"`` (body ``m`` of each frame goes to slot ``m``, the official
            converter's rule) or ``"body_id"`` (one slot per distinct bodyID).

    Returns:
        ``data`` ``(3, T, 25, M)`` float32 xyz in metres, ``1 <= M <= max_bodies``;
        ``label`` = action - 1 when the name carries an NTU code.

    Raises:
        SkeletonDataError: missing/empty file, truncated or garbled content, non-finite
            values, wrong joint counts, or no body in any frame.
    """
    if slots not in ("position", "body_id"):
        raise ValueError(f"slots must be 'position' or 'body_id', got {slots!r}")
    if max_bodies < 1 or max_gathered < max_bodies:
        raise ValueError("need 1 <= max_bodies <= max_gathered")
    path = require_file(path)
    num_frames, slot_frames, body_ids, dropped = _parse_frames(
        path, read_text(path), max_gathered, slots
    )
    name = path.name.split(".")[0]
    parts = parse_ntu_name(name)
    if parts and not 1 <= parts["action"] <= NUM_ACTIONS:
        raise SkeletonDataError(
            f"action A{parts['action']:03d} of the file name is not one of NTU's "
            f"A001..A{NUM_ACTIONS:03d}",
            path,
        )
    bodies = {m: _present_frames(frames) for m, frames in enumerate(slot_frames)}
    present = [m for m in range(max_gathered) if bodies[m]]
    if not present:
        raise SkeletonDataError("no body in any frame (a sample with missing skeletons)", path)
    activity = {m: body_activity(np.stack(list(bodies[m].values()))) for m in present}
    chosen = sorted(present, key=lambda m: -activity[m])[:max_bodies]
    data = np.zeros((3, num_frames, NUM_JOINTS, len(chosen)), dtype=np.float32)
    with np.errstate(over="ignore"):  # beyond float32: inf, reported below
        for m, slot in enumerate(chosen):
            for frame, joints in bodies[slot].items():
                data[:, frame, :, m] = joints.T
    meta: dict[str, object] = dict(parts or {})
    meta.update(
        source=str(path),
        format="ntu",
        channels=("x", "y", "z"),
        body_ids=[body_ids[m] for m in chosen],
        body_activity=[activity[m] for m in chosen],
        bodies_seen=len(present),
        bodies_beyond_slots=dropped,
        listed_missing=name in ntu_missing_samples("ntu120"),
    )
    label = parts["action"] - 1 if parts else None
    sequence = SkeletonSequence(data=data, label=label, layout="ntu25", name=name, meta=meta)
    return validate_sample(sequence, path, num_classes=NUM_ACTIONS)
