"""Preprocessed multi-sample containers: ST-GCN ``.npy`` + label ``.pkl``, pyskl annotations.

ST-GCN arrays (written by ST-GCN / 2s-AGCN ``*_gendata.py``):

* ``<split>_data.npy``: float ``(N, C, T, V, M)``; every sample is zero-padded to the
  same ``T`` (300) and ``M`` (2). It is opened with ``mmap_mode="r"`` and
  ``allow_pickle=False``, so only the samples asked for are read.
* ``<split>_label.pkl``: a pickle of ``(sample_names, labels)`` (two lists of length
  ``N``), read with :mod:`~pyg_action.io.safe_pickle`.

Each sample is cut back to its real extent: its length is the last frame holding any
non-zero value, plus one, and persons that are all zero are dropped. A sample that is
entirely zero, holds NaN/Inf or absurd values or a bad label (see
:func:`~pyg_action.io.validation.validate_sample`) is reported as an error and the others
are kept.

pyskl annotation pickles: a dict ``{"split": {name: [frame_dir, ...]}, "annotations":
[...]}`` whose annotations are dicts with

* ``frame_dir`` (str): sample name;
* ``label`` (int, 0-based);
* ``keypoint``: ``(M, T, V, C)`` float (C = 2 for image keypoints, 3 for 3D);
* ``keypoint_score`` (optional): ``(M, T, V)``, appended as the last channel;
* ``total_frames`` (optional): must equal ``T``.

Both give :class:`~pyg_action.sequence.SkeletonSequence` objects ``(C, T, V, M)``
float32. The layout is ``layout=`` when given, else inferred from ``V``
(25 -> ntu25, 17 -> coco17, 18 -> openpose18, 20 -> msr20).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SkeletonDataError
from ..sequence import SkeletonSequence
from ._common import brief, infer_layout, npy_data_nbytes, require_file, sample_or_error
from .result import ReadResult, SampleOrError
from .safe_pickle import safe_load_pickle
from .validation import check_label, check_values, validate_sample


def _is_real(array: np.ndarray) -> bool:
    """True for integer and floating dtypes (not complex, bool-like objects or strings)."""
    dtype = array.dtype
    return np.issubdtype(dtype, np.number) and not np.issubdtype(dtype, np.complexfloating)


def load_npy(path: str | Path, *, mmap: bool = True) -> np.ndarray:
    """Open a ``.npy`` file safely (``allow_pickle=False``), memory-mapped by default."""
    path = require_file(path)
    with path.open("rb") as handle:
        magic = handle.read(6)
        if magic != b"\x93NUMPY":
            raise SkeletonDataError("not a readable .npy array: no NumPy header", path)
        handle.seek(0)
        declared = npy_data_nbytes(handle, path, "the file")
        available = path.stat().st_size - handle.tell()
    if declared > available:
        raise SkeletonDataError(
            f"not a readable .npy array (truncated?): its header declares {declared} bytes "
            f"of data but the file holds {available}",
            path,
        )
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as exc:
        if "object" in str(exc).lower():
            raise SkeletonDataError(
                "holds Python objects (object array); refused: only numeric arrays are read",
                path,
            ) from None
        raise SkeletonDataError(f"not a readable .npy array: {exc}", path) from None
    except Exception as exc:  # noqa: BLE001 - a corrupt header fails in many ways
        reason = f"{type(exc).__name__}: {exc}"
        raise SkeletonDataError(f"not a readable .npy array: {reason:.200}", path) from None


def read_stgcn_labels(path: str | Path) -> tuple[list[str], list[int]]:
    """Read an ST-GCN label pickle ``(sample_names, labels)`` with the restricted unpickler."""
    path = Path(path)
    content = safe_load_pickle(path)
    if not isinstance(content, tuple | list) or len(content) < 2:
        raise SkeletonDataError(
            f"an ST-GCN label pickle holds (sample_names, labels), got {type(content).__name__}",
            path,
        )
    names, labels = content[0], content[1]
    try:
        for name in names:
            if not isinstance(name, str | int | np.integer):
                raise TypeError(f"sample name {brief(name)} is not a string")
        names = [str(name) for name in names]
        labels_out = []
        for label in labels:
            if isinstance(label, float) and not float(label).is_integer():
                raise ValueError(f"label {label!r} is not an integer")
            labels_out.append(int(label))
    except (TypeError, ValueError, OverflowError) as exc:
        raise SkeletonDataError(f"bad sample names or labels: {exc}", path) from None
    if len(names) != len(labels_out):
        raise SkeletonDataError(f"{len(names)} sample names but {len(labels_out)} labels", path)
    return names, labels_out


def trim_sample(
    data: np.ndarray, path: Path | None, sample: str | int
) -> tuple[np.ndarray, dict[str, int]]:
    """Cut a padded ``(C, T, V, M)`` sample to its real frames and persons.

    Returns the float32 copy and ``{"padded_frames", "padded_persons"}`` (how many were cut).

    Raises:
        SkeletonDataError: the sample fails :func:`~pyg_action.io.validation.check_values`
            (NaN/Inf, absurd values, nothing but zeros).
    """
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported below
        data = np.asarray(data, dtype=np.float32)
    check_values(data, path, sample=sample)
    nonzero = data != 0
    persons = nonzero.any(axis=(0, 1, 2))
    frames = nonzero[..., persons].any(axis=(0, 2, 3))
    length = int(np.flatnonzero(frames)[-1]) + 1
    trimmed = np.ascontiguousarray(data[:, :length][..., persons])
    cut = {
        "padded_frames": int(data.shape[1] - length),
        "padded_persons": int(data.shape[3] - persons.sum()),
    }
    return trimmed, cut


def iter_stgcn_arrays(
    data_path: str | Path,
    label_path: str | Path | None = None,
    *,
    layout: str | None = None,
    mmap: bool = True,
) -> Iterator[SampleOrError]:
    """Lazily read ST-GCN arrays: yields one sample or one per-sample error for each index.

    Whole-file problems (unreadable array, wrong number of dimensions, label count not
    matching ``N``, unknown joint count without ``layout``) are raised by this call,
    before any sample is produced.
    """
    data_path = Path(data_path)
    array = load_npy(data_path, mmap=mmap)
    if array.ndim != 5:
        raise SkeletonDataError(
            f"ST-GCN arrays are (N, C, T, V, M), got shape {tuple(array.shape)}", data_path
        )
    if not _is_real(array):
        raise SkeletonDataError(f"not a real-valued array (dtype {array.dtype})", data_path)
    count, channels, frames, joints, persons = (int(s) for s in array.shape)
    if count == 0 or min(channels, frames, joints, persons) == 0:
        raise SkeletonDataError(f"empty array of shape {tuple(array.shape)}", data_path)
    names: Sequence[str] = [str(i) for i in range(count)]
    labels: Sequence[int | None] = [None] * count
    if label_path is not None:
        names, labels = read_stgcn_labels(label_path)
        if len(names) != count:
            raise SkeletonDataError(
                f"label file lists {len(names)} samples but the array holds {count}",
                Path(label_path),
            )
    layout_name = layout or infer_layout(joints, data_path)
    return _iter_arrays(array, data_path, names, labels, layout_name, label_path)


def _iter_arrays(
    array: np.ndarray,
    path: Path,
    names: Sequence[str],
    labels: Sequence[int | None],
    layout: str,
    label_path: str | Path | None,
) -> Iterator[SampleOrError]:
    for index in range(array.shape[0]):
        name = names[index]
        try:
            data, cut = trim_sample(np.asarray(array[index]), path, sample=name)
        except SkeletonDataError as exc:
            yield exc
            continue
        meta: dict[str, Any] = {"source": str(path), "format": "stgcn", "index": index, **cut}
        if label_path is not None:
            meta["label_source"] = str(label_path)
        sequence = SkeletonSequence(
            data=data, label=labels[index], layout=layout, name=name, meta=meta
        )
        try:
            yield validate_sample(sequence, path, name=name)
        except SkeletonDataError as exc:
            yield exc


def read_stgcn_arrays(
    data_path: str | Path,
    label_path: str | Path | None = None,
    *,
    layout: str | None = None,
    mmap: bool = True,
) -> ReadResult:
    """Read all samples of ST-GCN arrays (see :func:`iter_stgcn_arrays`)."""
    return ReadResult.collect(iter_stgcn_arrays(data_path, label_path, layout=layout, mmap=mmap))


def _image_shape(value: Any, key: str, path: Path, sample: str | int) -> tuple[int, ...]:
    """An annotation's ``img_shape`` / ``original_shape``: 2 or 3 non-negative integers."""
    if (
        isinstance(value, tuple | list | np.ndarray)
        and len(value) in (2, 3)
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in value)
        and all(0 <= v <= 1_000_000 for v in value)
    ):
        return tuple(int(v) for v in value)
    raise SkeletonDataError(
        f"{key!r} must be (height, width), got {brief(value)}", path, sample=sample
    )


def _annotation_to_sequence(
    annotation: Any, index: int, path: Path, layout: str | None
) -> SkeletonSequence:
    if not isinstance(annotation, dict):
        raise SkeletonDataError(
            f"annotation is a {type(annotation).__name__}, not a dict", path, sample=index
        )
    name = annotation.get("frame_dir", index)
    sample: str | int = name if isinstance(name, str) else index
    if "keypoint" not in annotation:
        raise SkeletonDataError("annotation has no 'keypoint'", path, sample=sample)
    keypoint = annotation["keypoint"]
    if not isinstance(keypoint, np.ndarray) or keypoint.ndim != 4:
        shape = getattr(keypoint, "shape", type(keypoint).__name__)
        raise SkeletonDataError(
            f"'keypoint' must be an (M, T, V, C) array, got {shape}", path, sample=sample
        )
    if not _is_real(keypoint):
        raise SkeletonDataError(f"'keypoint' has dtype {keypoint.dtype}", path, sample=sample)
    persons, frames, joints, _ = keypoint.shape
    if min(keypoint.shape) == 0:
        raise SkeletonDataError(f"'keypoint' is empty {keypoint.shape}", path, sample=sample)
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported below
        data = keypoint.transpose(3, 1, 2, 0).astype(np.float32)  # (C, T, V, M)
    channels = ["x", "y", "z"][: data.shape[0]] if data.shape[0] <= 3 else []
    score = annotation.get("keypoint_score")
    if score is not None:
        if not isinstance(score, np.ndarray) or score.shape != (persons, frames, joints):
            shape = getattr(score, "shape", type(score).__name__)
            raise SkeletonDataError(
                f"'keypoint_score' must be {(persons, frames, joints)}, got {shape}",
                path,
                sample=sample,
            )
        if not _is_real(score):
            raise SkeletonDataError(
                f"'keypoint_score' has dtype {score.dtype}",
                path,
                sample=sample,
            )
        data = np.concatenate([data, score.transpose(1, 2, 0)[None].astype(np.float32)])
        if channels:
            channels.append("score")
    total = annotation.get("total_frames")
    if total is not None and (
        isinstance(total, bool) or not isinstance(total, int | np.integer) or total != frames
    ):
        raise SkeletonDataError(
            f"total_frames is {brief(total)} but 'keypoint' has {frames} frames",
            path,
            sample=sample,
        )
    check_values(data, path, sample=sample)
    present = (data != 0).any(axis=(0, 1, 2))
    data = np.ascontiguousarray(data[..., present])
    label = check_label(annotation.get("label"), path, sample=sample)
    layout_name = layout or infer_layout(joints, path, sample=sample)
    meta: dict[str, Any] = {"source": str(path), "format": "pyskl", "index": index}
    if channels:
        meta["channels"] = tuple(channels)
    for key in ("img_shape", "original_shape"):
        if key in annotation:
            meta[key] = _image_shape(annotation[key], key, path, sample)
    return SkeletonSequence(data=data, label=label, layout=layout_name, name=str(sample), meta=meta)


def iter_pyskl_pickle(
    path: str | Path, *, split: str | None = None, layout: str | None = None
) -> Iterator[SampleOrError]:
    """Lazily convert the annotations of a pyskl pickle (optionally one ``split`` only).

    Whole-file problems (refused or corrupt pickle, no ``annotations`` list, unknown
    split) are raised by this call; a bad annotation becomes one yielded error.
    """
    path = Path(path)
    content = safe_load_pickle(path)
    if isinstance(content, list):
        content = {"annotations": content}
    if not isinstance(content, dict) or not isinstance(content.get("annotations"), list):
        raise SkeletonDataError(
            "a pyskl pickle is a dict with an 'annotations' list (and a 'split' dict)", path
        )
    annotations = content["annotations"]
    wanted: set[str] | None = None
    if split is not None:
        splits = content.get("split")
        if not isinstance(splits, dict) or split not in splits:
            known = sorted(map(brief, splits)) if isinstance(splits, dict) else []
            raise SkeletonDataError(f"no split {split!r} (splits: {known})", path)
        members = splits[split]
        if not isinstance(members, list | tuple | set | frozenset):
            raise SkeletonDataError(f"split {split!r} is not a list of names", path)
        wanted = {name for name in members if isinstance(name, str)}  # frame_dir is a str
    return _iter_annotations(annotations, wanted, path, layout)


def _iter_annotations(
    annotations: list[Any], wanted: set[str] | None, path: Path, layout: str | None
) -> Iterator[SampleOrError]:
    for index, annotation in enumerate(annotations):
        if wanted is not None:
            name = annotation.get("frame_dir") if isinstance(annotation, dict) else None
            if not isinstance(name, str) or name not in wanted:
                continue
        make = partial(_annotation_to_sequence, annotation, index, path, layout)
        yield sample_or_error(make, path, index, "annotation")


def read_pyskl_pickle(
    path: str | Path, *, split: str | None = None, layout: str | None = None
) -> ReadResult:
    """Read all (or one split's) annotations of a pyskl pickle (see :func:`iter_pyskl_pickle`)."""
    return ReadResult.collect(iter_pyskl_pickle(path, split=split, layout=layout))
