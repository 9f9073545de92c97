"""The readers under fuzzing, their valid seed files, and the judgement of one case."""

from __future__ import annotations

import contextlib
import gc
import io
import pickle
import re
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pyg_action.errors import SkeletonDataError
from pyg_action.io import KineticsLabel, read_kinetics_labels, read_samples, write_npz
from pyg_action.sequence import SkeletonSequence

#: A seed or case: file name -> content; the first name is the file that is read.
Files = dict[str, bytes]
Kind = Literal["accepted", "rejected", "failed", "timeout", "crashed", "mutator"]


@dataclass
class Outcome:
    """What reading one case did.

    Attributes:
        kind: ``accepted`` (at least one valid sample), ``rejected`` (only
            SkeletonDataError), ``failed`` (another exception, or an invalid sample or
            error), ``timeout``, ``crashed`` (the sandbox process died) or ``mutator``
            (making the case failed; counted by the long run).
        seconds: Time spent reading.
        detail: The traceback or what was wrong, for ``failed`` and worse.
        peak_rss_mb: Peak resident memory of the process that read it.
        exceptions: The type names of every exception the case raised, reported per sample,
            or printed instead of raising (an exception in a destructor, or one CPython
            prints itself, e.g. ``SystemError`` from a freed buffer); such a printed one
            makes the case ``failed``.
    """

    kind: Kind
    seconds: float = 0.0
    detail: str = ""
    peak_rss_mb: float = 0.0
    exceptions: tuple[str, ...] = ()


class InvalidResult(AssertionError):
    """A reader returned something that breaks its contract."""


def _check_label(entry: Any, target: Target) -> None:
    if not isinstance(entry, KineticsLabel):
        raise InvalidResult(f"an entry is a {type(entry).__name__}")
    fields = (entry.video_id, entry.label, entry.label_index, entry.has_skeleton)
    if tuple(map(type, fields)) != (str, str, int, bool):
        raise InvalidResult(f"malformed label entry {entry!r:.200}")


def _check_sample(sample: Any, target: Target) -> None:
    if not isinstance(sample, SkeletonSequence):
        raise InvalidResult(f"a sample is a {type(sample).__name__}")
    data = sample.data
    if not isinstance(data, np.ndarray) or data.dtype != np.float32 or data.ndim != 4:
        raise InvalidResult(f"data is not a 4-d float32 array: {type(data)} {data.dtype}")
    if min(data.shape) < 1 or not np.isfinite(data).all():
        raise InvalidResult(f"empty or non-finite data of shape {data.shape}")
    channels, _, joints, persons = data.shape
    expected = (target.channels or channels, target.joints or joints)
    if (channels, joints) != expected or persons > (target.max_persons or persons):
        raise InvalidResult(f"unexpected shape {data.shape} for {target.name}")
    if not isinstance(sample.layout, str) or not isinstance(sample.label, int | None):
        raise InvalidResult(f"bad layout {sample.layout!r:.60} or label {sample.label!r:.60}")


@dataclass(frozen=True)
class Target:
    """One reader: how to call it and what a valid sample of it looks like.

    Attributes:
        name: Reader name (the format, or ``kinetics-labels``).
        read: Reads the main file; returns ``(samples, per-sample errors)``.
        channels: Expected channel count of every sample (``None``: any).
        joints: Expected joint count (``None``: any).
        max_persons: Largest expected person count (``None``: any).
        check: Raises :class:`InvalidResult` for an item that breaks the contract.
    """

    name: str
    read: Callable[[Path], tuple[list[Any], list[Any]]]
    channels: int | None = None
    joints: int | None = None
    max_persons: int | None = None
    check: Callable[[Any, Target], None] = _check_sample


def _read_samples(path: Path) -> tuple[list[Any], list[Any]]:
    result = read_samples(path)
    return list(result.samples), list(result.errors)


def _read_labels(path: Path) -> tuple[list[Any], list[Any]]:
    labels = read_kinetics_labels(path)
    return list(labels.entries.values()), list(labels.errors)


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target("ntu", _read_samples, channels=3, joints=25, max_persons=2),
        Target("kinetics", _read_samples, channels=3, joints=18, max_persons=2),
        Target("kinetics-labels", _read_labels, check=_check_label),
        Target("msr", _read_samples, channels=3, joints=20, max_persons=1),
        Target("npz", _read_samples),
        Target("stgcn", _read_samples),
        Target("pyskl", _read_samples),
    )
}
#: Readers whose seeds are real recorded files (the others are built here).
REAL_DATA_TARGETS = ("ntu", "kinetics", "kinetics-labels", "msr")


def _check_error(error: Any, paths: set[Path], per_sample: bool) -> None:
    if not isinstance(error, SkeletonDataError):
        raise InvalidResult(f"an error is a {type(error).__name__}")
    if error.path not in paths:
        raise InvalidResult(f"error does not name the file: {error}")
    if per_sample and error.sample is None:
        raise InvalidResult(f"per-sample error does not name the sample: {error}")


def write_case(folder: Path, files: Files) -> Path:
    """Write a case into an empty ``folder``; returns the path of its main file."""
    for old in folder.iterdir():
        old.unlink()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder / next(iter(files))


_PRINTED_ERROR = re.compile(r"^(\w+(?:Error|Exception|Warning|Exit)):", re.MULTILINE)


def _judge(target: Target, path: Path, paths: set[Path]) -> tuple[Kind, str, list[str]]:
    """Read ``path`` with ``target``: the kind of outcome, its detail, the exception types."""
    seen: list[str] = []
    try:
        samples, errors = target.read(path)
        seen.extend(type(error).__name__ for error in errors)
        for sample in samples:
            target.check(sample, target)
        for error in errors:
            _check_error(error, paths, per_sample=True)
        return ("accepted" if samples else "rejected"), "", seen
    except SkeletonDataError as exc:
        seen.append(type(exc).__name__)
        try:
            _check_error(exc, paths, per_sample=False)
            return "rejected", "", seen
        except InvalidResult:
            return "failed", traceback.format_exc(), seen
    except Exception as exc:  # noqa: BLE001 - every other exception is what fuzzing looks for
        seen.append(type(exc).__name__)
        return "failed", traceback.format_exc(), seen


def run_case(target: Target, files: Files, folder: Path) -> Outcome:
    """Write ``files`` to ``folder``, read them with ``target`` and judge the result.

    Whatever the reading prints to ``sys.stderr`` (an exception CPython could not raise) or
    passes to ``sys.unraisablehook`` is caught too: each such exception is counted and fails
    the case.
    """
    path = write_case(folder, files)
    paths = {folder / name for name in files}
    printed = io.StringIO()
    unraisable: list[str] = []
    hook = sys.unraisablehook
    sys.unraisablehook = lambda info: unraisable.append(info.exc_type.__name__)
    start = time.perf_counter()
    try:
        with contextlib.redirect_stderr(printed):
            kind, detail, seen = _judge(target, path, paths)
            gc.collect()  # destructors of what the reader left behind run inside the case
    finally:
        sys.unraisablehook = hook
    seconds = time.perf_counter() - start
    stray = unraisable + _PRINTED_ERROR.findall(printed.getvalue())
    if stray:
        kind = "failed"
        detail = f"{detail}exceptions printed instead of raised: {stray}\n{printed.getvalue()}"
    return Outcome(kind, seconds, detail[:20_000], exceptions=tuple(seen + stray))


# ------------------------------------------------------------------ seeds


def _real_seeds(name: str, data_dir: Path) -> list[Files]:
    if name == "ntu":
        paths = sorted((data_dir / "ntu_samples").glob("*.skeleton"))
    elif name == "kinetics":
        found = sorted((data_dir / "kinetics_samples").glob("*.json"))
        paths = [p for p in found if not p.stem.endswith("_label")]
    elif name == "kinetics-labels":
        paths = sorted((data_dir / "kinetics_samples").glob("*_label.json"))
    else:  # msr: one file in 60 of the 567, and the all-zero recording
        folder = data_dir / "msr_action3d"
        paths = sorted(folder.glob("*_skeleton3D.txt"))[::60]
        paths.append(folder / "a13_s09_e02_skeleton3D.txt")
    return [{p.name: p.read_bytes()} for p in paths if p.is_file()]


def _synthetic(frames: int, persons: int, joints: int, seed: int) -> SkeletonSequence:
    data = np.random.default_rng(seed).normal(size=(3, frames, joints, persons))
    return SkeletonSequence(data.astype(np.float32), label=seed, layout="", name=f"clip{seed}")


def _npz_seeds(scratch: Path) -> list[Files]:
    sequences = [_synthetic(12, 1, 25, 0), _synthetic(7, 2, 25, 1)]
    seeds = []
    for dense, compress in ((False, False), (False, True), (True, False)):
        path = write_npz(scratch / "seed.npz", sequences, "ntu25", dense=dense, compress=compress)
        seeds.append({"set.npz": path.read_bytes()})
    return seeds


def _stgcn_seeds(scratch: Path) -> list[Files]:
    data = np.zeros((3, 3, 20, 25, 2), np.float32)
    for i in range(3):
        data[i, :, : 10 + 5 * i, :, : 1 + i % 2] = _synthetic(10 + 5 * i, 1 + i % 2, 25, i).data
    np.save(scratch / "seed.npy", data)
    names = [f"S001C001P001R001A{i + 1:03d}" for i in range(3)]
    return [
        {
            "train_data.npy": (scratch / "seed.npy").read_bytes(),
            "train_label.pkl": pickle.dumps((names, [0, 1, 2]), protocol=protocol),
        }
        for protocol in (2, 4)
    ]


def _pyskl_seeds() -> list[Files]:
    rng = np.random.default_rng(0)
    annotations = [
        {
            "frame_dir": f"clip{i}",
            "label": i,
            "keypoint": rng.normal(size=(1 + i, 8, 17, 2)).astype(np.float32),
            "keypoint_score": rng.random((1 + i, 8, 17)).astype(np.float32),
            "total_frames": 8,
            "img_shape": (480, 640),
        }
        for i in range(2)
    ]
    content = {"split": {"train": ["clip0"], "val": ["clip1"]}, "annotations": annotations}
    return [{"ann.pkl": pickle.dumps(content, protocol=protocol)} for protocol in (2, 5)]


def seed_files(name: str, data_dir: Path | None, scratch: Path) -> list[Files]:
    """Valid files to mutate for reader ``name``.

    Real recordings from ``data_dir`` for ``ntu``, ``kinetics``, ``kinetics-labels`` and
    ``msr`` (empty list when it is ``None`` or lacks them); files built with the
    library's writers or numpy in ``scratch`` for ``npz``, ``stgcn`` and ``pyskl``.
    """
    if name in REAL_DATA_TARGETS:
        return _real_seeds(name, data_dir) if data_dir is not None else []
    if name == "npz":
        return _npz_seeds(scratch)
    if name == "stgcn":
        return _stgcn_seeds(scratch)
    if name == "pyskl":
        return _pyskl_seeds()
    raise ValueError(f"unknown reader {name!r}; known: {sorted(TARGETS)}")
