"""A documented, pickle-free ``.npz`` schema for skeleton samples anyone can write.

One ``.npz`` file (``np.savez`` / ``np.savez_compressed``) holds one or many samples.
Every array is numeric or fixed-width unicode: files are always opened with
``allow_pickle=False``, so object arrays are refused.

Sample data, in one of two forms:

* **ragged** (preferred): keys ``sample_0``, ``sample_1``, ... (any zero padding of the
  number is allowed, e.g. ``sample_0000``), each a float array ``(C, T_i, V, M_i)``;
  the indices must run ``0 .. N-1`` without gaps. Samples may differ in ``T`` and ``M``.
* **dense**: key ``data``, a float array ``(N, C, T, V, M)`` (or ``(C, T, V, M)`` for
  a single sample), with optional ``lengths`` int ``(N,)`` (real frames of each sample,
  default ``T``) and ``persons`` int ``(N,)`` (real persons, default ``M``); frames and
  persons beyond them are padding and are cut off.

Optional keys (both forms):

* ``labels``: int ``(N,)``, 0-based class indices (below ``len(class_names)`` when
  ``class_names`` is given); ``-1`` means unknown;
* ``names``: unicode ``(N,)`` sample names (default ``"<file stem>_<i>"``);
* ``layout``: 0-d unicode, a built-in layout name (default: ``layout=`` option, else
  inferred from ``V``: 25 ntu25, 18 openpose18, 17 coco17, 20 msr20);
* ``class_names``: unicode ``(K,)``;
* ``channels``: unicode ``(C,)`` channel names, e.g. ``["x", "y", "z"]``;
* ``format_version``: 0-d int, currently ``1``.

Memory: an archive whose members unpack to more than :data:`MAX_EXPANSION` (100) times
its size (and more than 64 MiB), or an array whose header declares more data than its
member holds, is refused before anything is unpacked.

Every sample must pass :func:`~pyg_action.io.validation.validate_sample` (finite, bounded,
not all zero, a valid label). Per-sample problems (NaN/Inf, bad length, bad label) are reported
as errors without losing the other samples. :func:`write_npz` writes this schema.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SkeletonDataError
from ..sequence import SkeletonSequence
from ._common import infer_layout, npy_data_nbytes, require_file, sample_or_error
from .result import ReadResult, SampleOrError
from .validation import validate_sample

FORMAT_VERSION = 1
#: An archive may unpack to at most this many times its own size ...
MAX_EXPANSION = 100
#: ... or to this many bytes, whichever is larger (64 MiB).
MIN_UNPACKED = 64 * 2**20
_SAMPLE_KEY = re.compile(r"sample_(\d+)")


def write_npz(
    path: str | Path,
    sequences: Sequence[SkeletonSequence],
    layout: str | None = None,
    class_names: Sequence[str] | None = None,
    *,
    dense: bool = False,
    compress: bool = True,
) -> Path:
    """Write ``sequences`` to ``path`` in the schema above.

    Args:
        path: Output ``.npz`` file.
        sequences: Samples; they must share ``C`` and ``V``.
        layout: Layout name stored in the file (default: the samples' common layout).
        class_names: Optional class names stored as ``class_names``.
        dense: Write one zero-padded ``data`` array with ``lengths``/``persons`` instead
            of one ``sample_<i>`` array per sample.
        compress: Use ``np.savez_compressed``.
    """
    if not sequences:
        raise ValueError("write_npz needs at least one sequence")
    shapes = {(s.num_channels, s.num_joints) for s in sequences}
    if len(shapes) != 1:
        raise ValueError(f"sequences differ in channels/joints: {sorted(shapes)}")
    if layout is None:
        layouts = {s.layout for s in sequences}
        layout = layouts.pop() if len(layouts) == 1 else ""
    arrays: dict[str, np.ndarray] = {
        "format_version": np.asarray(FORMAT_VERSION),
        "labels": np.asarray([-1 if s.label is None else s.label for s in sequences], np.int64),
        "names": np.asarray([s.name for s in sequences], dtype=str),
    }
    if layout:
        arrays["layout"] = np.asarray(layout, dtype=str)
    if class_names is not None:
        arrays["class_names"] = np.asarray(list(class_names), dtype=str)
    channels = sequences[0].meta.get("channels")
    if channels and len(channels) == sequences[0].num_channels:
        arrays["channels"] = np.asarray(list(channels), dtype=str)
    if dense:
        channels_n, joints = shapes.pop()
        frames = max(s.num_frames for s in sequences)
        persons = max(s.num_persons for s in sequences)
        data = np.zeros((len(sequences), channels_n, frames, joints, persons), np.float32)
        for i, s in enumerate(sequences):
            data[i, :, : s.num_frames, :, : s.num_persons] = s.data
        arrays["data"] = data
        arrays["lengths"] = np.asarray([s.num_frames for s in sequences], np.int64)
        arrays["persons"] = np.asarray([s.num_persons for s in sequences], np.int64)
    else:
        width = max(4, len(str(len(sequences) - 1)))
        for i, s in enumerate(sequences):
            arrays[f"sample_{i:0{width}d}"] = np.asarray(s.data, np.float32)
    path = Path(path)
    save = np.savez_compressed if compress else np.savez
    with path.open("wb") as handle:  # a file object stops numpy from appending ".npz"
        save(handle, **arrays)  # type: ignore[arg-type]
    return path


def _check_sizes(path: Path) -> None:
    """Refuse an archive whose arrays would take more memory than the file can justify:
    members that unpack to more than ``MAX_EXPANSION`` times the file's size (at least
    ``MIN_UNPACKED`` bytes), or an array header declaring more data than its member holds
    (numpy allocates what the header declares before it reads)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            unpacked = sum(info.file_size for info in members)
            allowed = max(MIN_UNPACKED, MAX_EXPANSION * path.stat().st_size)
            if unpacked > allowed:
                raise SkeletonDataError(
                    f"its members unpack to {unpacked} bytes, more than {allowed} "
                    f"({MAX_EXPANSION} times the file's size): a zip bomb?",
                    path,
                )
            for info in members:
                if not info.filename.endswith(".npy"):
                    continue
                what = f"key {info.filename.removesuffix('.npy')!r}"
                with archive.open(info) as member:
                    declared = npy_data_nbytes(member, path, what)
                if declared > info.file_size:
                    raise SkeletonDataError(
                        f"{what} declares {declared} bytes of data but holds at most "
                        f"{info.file_size}",
                        path,
                    )
    except SkeletonDataError:
        raise
    except Exception as exc:  # noqa: BLE001 - a corrupt archive fails in many ways
        reason = f"{type(exc).__name__}: {exc}"
        raise SkeletonDataError(f"not a readable .npz archive: {reason:.200}", path) from None


def _load(path: Path) -> dict[str, np.ndarray]:
    with path.open("rb") as handle:
        if handle.read(4) != b"PK\x03\x04":
            raise SkeletonDataError("not a readable .npz archive (no zip header)", path)
    _check_sizes(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - a corrupt archive fails in many ways
        reason = f"{type(exc).__name__}: {exc}"
        raise SkeletonDataError(f"not a readable .npz archive: {reason:.200}", path) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):  # pragma: no cover - zip header checked
        raise SkeletonDataError("a .npy array, not an .npz archive", path)
    arrays: dict[str, np.ndarray] = {}
    with archive:
        for key in archive.files:
            try:
                value = archive[key]
            except ValueError as exc:
                if "object" in str(exc).lower() or "pickle" in str(exc).lower():
                    raise SkeletonDataError(
                        f"key {key!r} holds Python objects (object array); refused", path
                    ) from None
                raise SkeletonDataError(f"key {key!r} is unreadable: {exc}", path) from None
            except Exception as exc:  # noqa: BLE001 - zip and header errors of every kind
                reason = f"{type(exc).__name__}: {exc}"
                raise SkeletonDataError(f"key {key!r} is unreadable: {reason:.200}", path) from None
            if not isinstance(value, np.ndarray):  # numpy returns other members as bytes
                raise SkeletonDataError(f"key {key!r} is not a .npy array", path)
            arrays[key] = value
    return arrays


def _strings(arrays: dict[str, np.ndarray], key: str, path: Path) -> list[str] | None:
    if key not in arrays:
        return None
    value = arrays[key]
    if value.dtype.kind != "U":
        raise SkeletonDataError(f"{key!r} must be a unicode string array, got {value.dtype}", path)
    return [str(v) for v in np.atleast_1d(value)]


def _int_vector(
    arrays: dict[str, np.ndarray], key: str, count: int, path: Path
) -> np.ndarray | None:
    if key not in arrays:
        return None
    value = arrays[key]
    if value.dtype.kind not in "iu" or value.shape != (count,):
        raise SkeletonDataError(
            f"{key!r} must be an integer array of shape ({count},), "
            f"got {value.dtype} {value.shape}",
            path,
        )
    return value.astype(np.int64)


def iter_npz(path: str | Path, *, layout: str | None = None) -> Iterator[SampleOrError]:
    """Lazily read an ``.npz`` file in the schema above.

    Whole-file problems (unreadable archive, object arrays, no sample data, mismatched
    ``labels``/``names`` lengths) are raised by this call; per-sample problems are
    yielded as errors.
    """
    path = require_file(path)
    arrays = _load(path)
    sample_keys = sorted(
        ((int(m.group(1)), key) for key in arrays if (m := _SAMPLE_KEY.fullmatch(key))),
    )
    samples: list[np.ndarray] | np.ndarray
    if "data" in arrays and sample_keys:
        raise SkeletonDataError("holds both 'data' and 'sample_<i>' keys; use one form", path)
    if "data" in arrays:
        samples = arrays["data"]
        if samples.ndim == 4:
            samples = samples[None]
        if samples.ndim != 5:
            raise SkeletonDataError(
                f"'data' must be (N, C, T, V, M) or (C, T, V, M), got {samples.shape}", path
            )
        count = samples.shape[0]
    elif sample_keys:
        indices = [i for i, _ in sample_keys]
        if indices != list(range(len(indices))):
            raise SkeletonDataError(
                "sample keys must be numbered 0..N-1 without gaps or duplicates", path
            )
        samples = [arrays[key] for _, key in sample_keys]
        count = len(samples)
    else:
        raise SkeletonDataError(
            f"no sample data: expected 'data' or 'sample_<i>' keys, found {sorted(arrays)}", path
        )
    if count == 0:
        raise SkeletonDataError("holds no samples", path)
    labels = _int_vector(arrays, "labels", count, path)
    lengths = _int_vector(arrays, "lengths", count, path)
    persons = _int_vector(arrays, "persons", count, path)
    names = _strings(arrays, "names", path)
    if names is not None and len(names) != count:
        raise SkeletonDataError(f"{len(names)} names for {count} samples", path)
    stored_layout = _strings(arrays, "layout", path)
    channels = _strings(arrays, "channels", path)
    class_names = _strings(arrays, "class_names", path)
    layout_name = layout or (stored_layout[0] if stored_layout else None)
    shared: dict[str, Any] = {"source": str(path), "format": "npz"}
    if channels:
        shared["channels"] = tuple(channels)
    if class_names:
        shared["class_names"] = tuple(class_names)
    return _iter_samples(samples, path, names, labels, lengths, persons, layout_name, shared, count)


def _iter_samples(
    samples: Sequence[np.ndarray] | np.ndarray,
    path: Path,
    names: list[str] | None,
    labels: np.ndarray | None,
    lengths: np.ndarray | None,
    persons: np.ndarray | None,
    layout: str | None,
    shared: dict[str, Any],
    count: int,
) -> Iterator[SampleOrError]:
    for i in range(count):
        name = names[i] if names is not None else f"{path.stem}_{i}"
        make = partial(
            _one_sample, samples[i], i, name, path, labels, lengths, persons, layout, shared
        )
        yield sample_or_error(make, path, name)


def _one_sample(
    raw: np.ndarray,
    index: int,
    name: str,
    path: Path,
    labels: np.ndarray | None,
    lengths: np.ndarray | None,
    persons: np.ndarray | None,
    layout: str | None,
    shared: dict[str, Any],
) -> SkeletonSequence:
    if raw.ndim != 4:
        raise SkeletonDataError(f"sample must be (C, T, V, M), got {raw.shape}", path, sample=name)
    if raw.dtype.kind not in "fiu":
        raise SkeletonDataError(f"sample has dtype {raw.dtype}", path, sample=name)
    data = raw
    if lengths is not None:
        length = int(lengths[index])
        if not 1 <= length <= raw.shape[1]:
            raise SkeletonDataError(f"length {length} outside 1..{raw.shape[1]}", path, sample=name)
        data = data[:, :length]
    if persons is not None:
        count = int(persons[index])
        if not 1 <= count <= raw.shape[3]:
            raise SkeletonDataError(f"persons {count} outside 1..{raw.shape[3]}", path, sample=name)
        data = data[..., :count]
    if min(data.shape) == 0:
        raise SkeletonDataError(f"sample is empty {data.shape}", path, sample=name)
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported below
        data = np.ascontiguousarray(data, dtype=np.float32)
    label = None
    if labels is not None and labels[index] != -1:  # -1: unknown
        label = int(labels[index])
    layout_name = layout or infer_layout(data.shape[2], path, sample=name)
    meta = dict(shared, index=index)
    sequence = SkeletonSequence(data=data, label=label, layout=layout_name, name=name, meta=meta)
    class_names = shared.get("class_names")
    return validate_sample(
        sequence, path, name=name, num_classes=len(class_names) if class_names else None
    )


def read_npz(path: str | Path, *, layout: str | None = None) -> ReadResult:
    """Read every sample of an ``.npz`` file (see :func:`iter_npz`)."""
    return ReadResult.collect(iter_npz(path, layout=layout))
