"""ST-GCN Kinetics-skeleton JSON files (OpenPose 18 joints) and their label files.

One sample per file::

    {
      "data": [
        {"frame_index": 1,
         "skeleton": [{"pose": [x0, y0, x1, y1, ... x17, y17], "score": [s0, ... s17]}, ...]},
        ...
      ],
      "label": "flipping pancake",
      "label_index": 129
    }

``pose`` holds 36 values, x and y of the 18 OpenPose joints interleaved, normalised to
[0, 1] by the image width and height (y grows downwards); ``score`` holds the 18
confidences (0 for joints OpenPose did not find). ``frame_index`` counts from 1.

The result follows the official ST-GCN Kinetics feeder, without its padding to 300
frames and without its normalisation (which belongs in a transform):

* ``data`` ``(3, T, 18, M)`` float32 with channels x, y, score; ``T`` is the largest
  ``frame_index`` and frames without a skeleton are all-zero;
* in each frame the detected persons are ranked by their total score (sum over joints)
  and the best ``max_persons`` (default 2) are kept, best first (OpenPose does not
  track identities, so slot ``m`` is "the ``m``-th most confident person");
* ``M`` is the largest number of persons kept in any frame (1 or 2), never padding;
* ``label`` is ``label_index`` as stored (0-based for Kinetics-400; NTU videos converted
  to this format carry their 1-based NTU action number), ``None`` when absent or < 0.

Label files map video ids to ``{"label", "label_index", "has_skeleton"}``; see
:func:`read_kinetics_labels`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SkeletonDataError
from ..sequence import SkeletonSequence
from ._common import brief, read_text, require_file
from .ntu import parse_ntu_name
from .validation import MAX_CLASSES, MAX_FRAMES, validate_sample

NUM_JOINTS = 18


def _load_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip())
        what = "truncated JSON" if truncated else "invalid JSON"
        raise SkeletonDataError(
            f"{what}: {exc.msg} (column {exc.colno})", path, line=exc.lineno
        ) from None
    except RecursionError:
        raise SkeletonDataError("invalid JSON: nested too deeply", path) from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise SkeletonDataError(f"invalid JSON: {exc}", path) from None


def _numbers(values: Any, count: int, what: str, path: Path, frame: int) -> np.ndarray:
    if not isinstance(values, list) or len(values) != count:
        size = len(values) if isinstance(values, list) else type(values).__name__
        raise SkeletonDataError(
            f"{what} must be a list of {count} numbers, got {size}", path, frame=frame
        )
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SkeletonDataError(f"{what} holds a non-number {value!r:.40}", path, frame=frame)
        try:
            finite = math.isfinite(value)
        except OverflowError:  # an integer beyond the float range
            finite = False
        if not finite:
            raise SkeletonDataError(
                f"{what} holds a non-finite value {value!r:.40}", path, frame=frame
            )
    return np.asarray(values, dtype=np.float64)


def read_kinetics_json(
    path: str | Path,
    *,
    max_persons: int = 2,
    num_joints: int = NUM_JOINTS,
    max_frames: int = MAX_FRAMES,
) -> SkeletonSequence:
    """Read one Kinetics-skeleton JSON file.

    Args:
        path: The ``.json`` sample file.
        max_persons: Keep at most this many persons per frame, ranked by total score.
        num_joints: Joints per person (18 for OpenPose COCO-18).
        max_frames: Largest accepted ``T``; a bigger ``frame_index`` is reported as garbled
            (Kinetics clips have about 300 frames).

    Returns:
        ``data`` ``(3, T, num_joints, M)`` float32 (x, y, score), layout ``"openpose18"``.

    Raises:
        SkeletonDataError: missing/empty/truncated/invalid JSON, a label file given as a
            sample, malformed frames (the frame is named), non-finite values, no person.
    """
    if max_persons < 1:
        raise ValueError("max_persons must be at least 1")
    path = require_file(path)
    content = _load_json(path)
    if not isinstance(content, dict):
        raise SkeletonDataError(
            f"top level must be an object with 'data', got {type(content).__name__}", path
        )
    if "data" not in content:
        if content and all(isinstance(v, dict) and "label_index" in v for v in content.values()):
            raise SkeletonDataError(
                "this is a label file, not a sample; read it with read_kinetics_labels()", path
            )
        raise SkeletonDataError("no 'data' key: not a Kinetics-skeleton sample", path)
    frames = content["data"]
    if not isinstance(frames, list):
        raise SkeletonDataError("'data' must be a list of frames", path)
    if not frames:
        raise SkeletonDataError("'data' holds no frames", path)

    per_frame: dict[int, list[tuple[float, np.ndarray]]] = {}
    zero_based = False
    for position, frame_info in enumerate(frames):
        if not isinstance(frame_info, dict):
            raise SkeletonDataError(f"entry {position} of 'data' is not an object", path)
        index = frame_info.get("frame_index")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise SkeletonDataError(
                f"entry {position} of 'data': frame_index must be an integer >= 0, "
                f"got {index!r:.40}",
                path,
            )
        zero_based = zero_based or index == 0
        if index in per_frame:
            raise SkeletonDataError(f"frame_index {index} appears twice", path, frame=index)
        skeletons = frame_info.get("skeleton", [])
        if not isinstance(skeletons, list):
            raise SkeletonDataError("'skeleton' must be a list", path, frame=index)
        persons = []
        for person in skeletons:
            if not isinstance(person, dict) or "pose" not in person or "score" not in person:
                raise SkeletonDataError("each skeleton needs 'pose' and 'score'", path, frame=index)
            pose = _numbers(person["pose"], 2 * num_joints, "pose", path, index)
            score = _numbers(person["score"], num_joints, "score", path, index)
            values = np.stack([pose[0::2], pose[1::2], score])  # (3, V)
            persons.append((float(score.sum()), values))
        per_frame[index] = persons

    offset = 0 if zero_based else 1
    num_frames = max(per_frame) + 1 - offset
    if num_frames > max_frames:
        raise SkeletonDataError(
            f"frame_index {max(per_frame)} is beyond max_frames={max_frames} (garbled index?)",
            path,
            frame=max(per_frame),
        )
    num_persons = min(max_persons, max(len(p) for p in per_frame.values()))
    if num_persons == 0:
        raise SkeletonDataError("no person in any frame", path)
    data = np.zeros((3, num_frames, num_joints, num_persons), dtype=np.float32)
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported below
        for index, persons in per_frame.items():
            ranked = sorted(persons, key=lambda item: -item[0])[:num_persons]  # stable for ties
            for m, (_, values) in enumerate(ranked):
                data[:, index - offset, :, m] = values

    label_index = content.get("label_index")
    if label_index is not None and (
        isinstance(label_index, bool) or not isinstance(label_index, int)
    ):
        raise SkeletonDataError(f"label_index {brief(label_index)} is not an integer", path)
    label = label_index if label_index is not None and label_index >= 0 else None
    name = path.stem
    meta: dict[str, Any] = {
        "source": str(path),
        "format": "kinetics",
        "channels": ("x", "y", "score"),
        "label_name": content.get("label"),
        "label_index": label_index,
        "frames_listed": len(per_frame),
        "frame_index_base": offset,
    }
    ntu = parse_ntu_name(name)
    if ntu:
        meta.update(ntu)
    sequence = SkeletonSequence(data=data, label=label, layout="openpose18", name=name, meta=meta)
    return validate_sample(sequence, path)


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False for a name the system cannot look up (e.g. too long)."""
    try:
        return path.is_file()
    except OSError:
        return False


@dataclass
class KineticsLabel:
    """One entry of a Kinetics label file."""

    video_id: str
    label: str
    label_index: int
    has_skeleton: bool


@dataclass
class KineticsLabels:
    """The content of a label file.

    Attributes:
        entries: Video id -> entry, in file order (every well-formed entry).
        missing: Video ids whose sample file ``<data_dir>/<id>.json`` does not exist
            (empty when the check was not asked for).
        errors: One error per malformed entry (the entry is left out of ``entries``).
    """

    entries: dict[str, KineticsLabel] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    errors: list[SkeletonDataError] = field(default_factory=list)


def read_kinetics_labels(
    path: str | Path, data_dir: str | Path | None = None, *, check_files: bool = True
) -> KineticsLabels:
    """Read a Kinetics-skeleton label file ``{video_id: {label, label_index, has_skeleton}}``.

    Args:
        path: The label ``.json`` file.
        data_dir: Folder of the ``<video_id>.json`` samples; defaults to the label
            file's own folder.
        check_files: Report the ids whose sample file is absent in ``missing``.

    Raises:
        SkeletonDataError: the file is missing, empty, not JSON or not an object.
            Malformed entries are reported in ``errors`` instead.
    """
    path = require_file(path)
    content = _load_json(path)
    if not isinstance(content, dict):
        raise SkeletonDataError(
            f"a label file holds an object of video ids, got {type(content).__name__}", path
        )
    if "data" in content and isinstance(content.get("data"), list):
        raise SkeletonDataError("this is a sample file, not a label file", path)
    folder = Path(data_dir) if data_dir is not None else path.parent
    result = KineticsLabels()
    for video_id, entry in content.items():
        try:
            if not isinstance(entry, dict):
                raise TypeError("entry is not an object")
            label, index = entry.get("label"), entry.get("label_index")
            has_skeleton = entry.get("has_skeleton", True)
            if not isinstance(label, str):
                raise TypeError(f"'label' must be a string, got {label!r:.40}")
            if isinstance(index, bool) or not isinstance(index, int):
                raise TypeError(f"'label_index' must be an integer, got {brief(index)}")
            if not -1 <= index < MAX_CLASSES:
                raise TypeError(f"'label_index' {brief(index)} is outside -1..{MAX_CLASSES - 1}")
            if not isinstance(has_skeleton, bool):
                raise TypeError(f"'has_skeleton' must be true/false, got {has_skeleton!r:.40}")
        except TypeError as exc:
            result.errors.append(SkeletonDataError(str(exc), path, sample=video_id))
            continue
        result.entries[video_id] = KineticsLabel(video_id, label, index, has_skeleton)
        if check_files and not _is_file(folder / f"{video_id}.json"):
            result.missing.append(video_id)
    return result
