"""A prepared-data cache: every good sample's coordinates in one memory-mappable array.

:func:`prepare` reads a folder (or one container file) with the readers of
:mod:`pyg_action.io` and writes, with ``np.save`` and JSON only (no pickle)::

    out_dir/
      frames.npy    float32 (R, V, C)  all frames of all samples, sample after sample,
                                       each sample's rows in (person, frame) order
      offsets.npy   int64   (N + 1,)   sample i is rows offsets[i]:offsets[i + 1]
      shapes.npy    int64   (N, 3)     T, M, C of each sample
      labels.npy    int64   (N,)       0-based class, -1 when unknown
      index.json                       version, layout, names, meta, source, format
      report.json                      {good, bad, bad_files: [[file, reason], ...]}

Only coordinates are stored; graph edges are derived on the fly from the layout and
``(T, M)`` by :class:`~pyg_action.graph.SkeletonGraphBuilder`. The rows of a sample are
exactly the node features ``x`` of its graph (nodes ordered person, frame, joint).

Memory: a sample costs ``T * V * M * C * 4`` bytes of float32 coordinates
(:func:`sample_nbytes`; NTU-size ``T=300, V=25, M=2, C=3`` is 180 000 bytes = 180 kB), plus
about 40 bytes of offsets/shape/label and its JSON name and meta. :func:`cache_nbytes`
measures a written cache. :class:`PreparedCache` opens ``frames.npy`` with
``mmap_mode="r"``, so opening costs almost nothing and pages are read on demand.

Nothing is dropped silently: every sample a reader rejects, every file that cannot be read
and every sample that fails the cache's own checks (non-finite or all-zero coordinates, a
joint count or channel count differing from the rest) is listed in the report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import SkeletonDataError
from ..io import FolderScan, entry_problem, iter_samples, scan_folder
from ..io._common import brief, read_npy_header
from ..io.formats import FORMATS
from ..io.validation import MAX_CLASSES, MAX_FRAMES, check_values, validate_sample
from ..layouts import LayoutLike, SkeletonLayout, get_layout
from ..sequence import SkeletonSequence
from .fingerprint import reader_settings, source_fingerprint, write_fingerprint
from .report import ReadReport

__all__ = [
    "CACHE_VERSION",
    "CacheWriter",
    "PreparedCache",
    "SampleChecker",
    "cache_nbytes",
    "describe_error",
    "edge_nbytes",
    "is_prepared",
    "iter_source",
    "open_prepared",
    "prepare",
    "read_folder",
    "sample_nbytes",
    "scan_source",
    "write_cache",
]

CACHE_VERSION = 1
_FRAMES, _OFFSETS, _SHAPES, _LABELS = "frames.npy", "offsets.npy", "shapes.npy", "labels.npy"
_INDEX, _REPORT = "index.json", "report.json"
_CHUNK = 1 << 24  # bytes copied at a time when finishing frames.npy


def sample_nbytes(
    num_frames: int, num_joints: int, num_persons: int, num_channels: int, dtype: Any = np.float32
) -> int:
    """Bytes of one sample's coordinates in the cache: ``T * V * M * C * itemsize``."""
    return int(num_frames * num_joints * num_persons * num_channels * np.dtype(dtype).itemsize)


def edge_nbytes(
    layout: LayoutLike,
    num_frames: int,
    num_persons: int = 1,
    strategy: str = "spatial",
    max_hop: int = 1,
    temporal_window: int = 9,
) -> int:
    """Bytes the graph edges of one sample would take *if* they were stored (they are not).

    Counts every edge tensor :class:`~pyg_action.graph.SkeletonGraphBuilder` attaches
    (indices, types, weights, ids). Used to show why the cache keeps only coordinates.
    """
    from ..graph import SkeletonGraphBuilder

    layout = get_layout(layout)
    builder = SkeletonGraphBuilder(layout, strategy, max_hop, temporal_window=temporal_window)
    data = builder(np.zeros((3, num_frames, layout.num_joints, num_persons), np.float32))
    return int(sum(v.numel() * v.element_size() for k, v in data.items() if "edge" in k))


def describe_error(exc: SkeletonDataError) -> str:
    """The reason of a reader error with its line / frame / sample, without the path (the
    report names the file beside it)."""
    return exc.describe(with_path=False)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class SampleChecker:
    """The checks every sample passes before it is used: the readers' rule
    (:func:`~pyg_action.io.validation.validate_sample`: finite, bounded, not all zero, a valid
    label), and the same layout, joint count and channel count as the first good sample (or
    the given layout).
    """

    def __init__(self, layout: LayoutLike | None = None) -> None:
        self.layout_name: str | None = None
        self.layout_spec: dict[str, Any] | None = None
        self.num_joints: int | None = None
        self.channels: int | None = None
        self.layout_given = layout is not None
        if layout is not None:
            resolved = get_layout(layout)
            self.layout_name = str(layout) if isinstance(layout, str | Path) else resolved.name
            self.layout_spec = resolved.to_dict()
            self.num_joints = resolved.num_joints

    def __call__(self, sample: SkeletonSequence) -> str | None:
        """``None`` when the sample is good, else the reason it is not."""
        try:
            validate_sample(sample)
        except SkeletonDataError as exc:
            return describe_error(exc)
        data = sample.data
        channels, frames, joints, persons = data.shape
        if (
            not self.layout_given
            and self.layout_name
            and sample.layout
            and sample.layout != self.layout_name
        ):
            return f"layout {sample.layout!r} differs from the other samples' {self.layout_name!r}"
        if self.num_joints is not None and joints != self.num_joints:
            return f"{joints} joints, but the layout has {self.num_joints}"
        if self.channels is not None and channels != self.channels:
            return f"{channels} channels, but the other samples have {self.channels}"
        if self.layout_name is None and sample.layout:
            self.layout_name = sample.layout
            try:
                self.layout_spec = get_layout(sample.layout).to_dict()
            except (ValueError, FileNotFoundError):
                self.layout_spec = None
        self.num_joints = joints if self.num_joints is None else self.num_joints
        self.channels = channels if self.channels is None else self.channels
        return None


def _where(sample: SkeletonSequence) -> str:
    """How a report names a sample: its file, and its name inside a container."""
    where = str(sample.meta.get("source") or sample.name)
    record = FORMATS.get(str(sample.meta.get("format")))
    if record is not None and record.container and sample.name:
        where = f"{where} [{sample.name}]"
    return where


class CacheWriter:
    """Streams samples into a cache folder; :meth:`close` finishes it and returns the report.

    Args:
        out_dir: The folder (created; an older cache in it is replaced).
        layout: Layout name or file the samples follow (default: the first sample's).
        source: Recorded in ``index.json`` and the report.
        format: Recorded likewise.
        allow_empty: Finish a cache without samples; when ``False``, :meth:`close` writes
            only ``report.json`` and raises :class:`SkeletonDataError`.
    """

    def __init__(
        self,
        out_dir: str | Path,
        layout: LayoutLike | None = None,
        source: str | None = None,
        format: str | None = None,
        *,
        allow_empty: bool = True,
    ) -> None:
        self.allow_empty = allow_empty
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name in (_INDEX, _REPORT):  # an interrupted run must not look finished
            (self.out_dir / name).unlink(missing_ok=True)
        self.checker = SampleChecker(layout)
        self.source = source
        self.format = format
        self.offsets = [0]
        self.shapes: list[tuple[int, int, int]] = []
        self.labels: list[int] = []
        self.names: list[str] = []
        self.meta: list[dict[str, Any]] = []
        self.bad: list[tuple[str, str]] = []
        self.unread: list[str] = []
        self._tmp_path = self.out_dir / "frames.tmp"
        self._tmp = self._tmp_path.open("wb")

    def reject(self, file: str | Path, reason: str) -> None:
        """Record a bad file or sample."""
        self.bad.append((str(file), reason))

    def note_unread(self, files: list[Path]) -> None:
        """Record files of the source that were not read (of no per-sample format)."""
        self.unread.extend(str(file) for file in files)

    def add(self, sample: SkeletonSequence) -> str | None:
        """Append a sample; returns the reason when it is rejected (and records it)."""
        reason = self.checker(sample)
        if reason is None:
            try:
                meta = json.loads(json.dumps(_jsonable(sample.meta)))
            except (ValueError, RecursionError) as exc:
                reason = f"its meta data cannot be stored: {type(exc).__name__}: {exc}"
        if reason is not None:
            self.reject(_where(sample), reason)
            return reason
        data = np.asarray(sample.data, dtype=np.float32)
        channels, frames, joints, persons = data.shape
        rows = data.transpose(3, 1, 2, 0).reshape(persons * frames, joints, channels)
        self._tmp.write(np.ascontiguousarray(rows).tobytes())
        self.offsets.append(self.offsets[-1] + persons * frames)
        self.shapes.append((frames, persons, channels))
        self.labels.append(-1 if sample.label is None else int(sample.label))
        self.names.append(str(sample.name))
        self.meta.append(meta)
        return None

    @property
    def good(self) -> int:
        return len(self.names)

    def report(self) -> ReadReport:
        return ReadReport(
            good=self.good,
            bad_files=list(self.bad),
            unread_files=list(self.unread),
            source=self.source,
            format=self.format,
        )

    def close(self) -> ReadReport:
        """Write the report, ``frames.npy`` and the index (last: it marks the cache finished);
        returns the report.

        Raises:
            SkeletonDataError: no good sample and ``allow_empty`` is ``False`` (the report is
                written all the same).
        """
        self._tmp.close()
        report = self.report()
        (self.out_dir / _REPORT).write_text(
            json.dumps(report.to_dict(), indent=1), encoding="utf-8"
        )
        if not self.good and not self.allow_empty:
            self._tmp_path.unlink(missing_ok=True)
            listed = f"{len(self.bad)} bad and {len(self.unread)} unread entries"
            raise SkeletonDataError(
                f"no good sample to prepare ({listed}; see {self.out_dir / _REPORT})",
                self.source,
            )
        joints = self.checker.num_joints or 0
        channels = self.checker.channels or 0
        rows = self.offsets[-1]
        header: dict[str, Any] = {
            "descr": np.lib.format.dtype_to_descr(np.dtype("<f4")),
            "fortran_order": False,
        }
        header["shape"] = (rows, joints, channels)
        with (self.out_dir / _FRAMES).open("wb") as out, self._tmp_path.open("rb") as raw:
            np.lib.format.write_array_header_1_0(out, header)
            while chunk := raw.read(_CHUNK):
                out.write(chunk)
        self._tmp_path.unlink()
        np.save(self.out_dir / _OFFSETS, np.asarray(self.offsets, dtype=np.int64))
        np.save(self.out_dir / _SHAPES, np.asarray(self.shapes, dtype=np.int64).reshape(-1, 3))
        np.save(self.out_dir / _LABELS, np.asarray(self.labels, dtype=np.int64))
        index = {
            "version": CACHE_VERSION,
            "layout": self.checker.layout_name,
            "layout_spec": self.checker.layout_spec,
            "num_joints": joints,
            "num_channels": channels,
            "num_samples": self.good,
            "source": self.source,
            "format": self.format,
            "names": self.names,
            "meta": self.meta,
        }
        (self.out_dir / _INDEX).write_text(json.dumps(index), encoding="utf-8")
        return report

    def __enter__(self) -> CacheWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self._tmp.close()
            self._tmp_path.unlink(missing_ok=True)


def write_cache(
    samples: Iterable[SkeletonSequence],
    out_dir: str | Path,
    layout: LayoutLike | None = None,
    bad: Iterable[tuple[str, str]] = (),
    source: str | None = None,
) -> ReadReport:
    """Write in-memory samples as a cache and return its report.

    ``bad`` lists problems found before (``(file, reason)`` pairs) for the report.
    """
    with CacheWriter(out_dir, layout=layout, source=source, format="memory") as writer:
        for file, reason in bad:
            writer.reject(file, reason)
        for sample in samples:
            writer.add(sample)
    return writer.report()


def scan_source(
    source: str | Path, format: str | None = None, *, recursive: bool = True
) -> FolderScan:
    """The one walk of ``source``: a folder's sample files, unread files and unusable
    entries, or a single file (an unusable one listed with its problem)."""
    source = Path(source)
    if not source.exists() and not source.is_symlink():
        raise SkeletonDataError("source does not exist", source)
    if source.is_dir():
        return scan_folder(source, format, recursive=recursive)
    problem = entry_problem(source)
    return FolderScan(unusable=[(source, problem)]) if problem else FolderScan(samples=[source])


def iter_source(
    source: str | Path,
    format: str | None = None,
    *,
    progress: bool = False,
    recursive: bool = True,
    scan: FolderScan | None = None,
    **reader_options: Any,
) -> Iterator[tuple[Path, SkeletonSequence | SkeletonDataError]]:
    """Read a folder or file with :mod:`pyg_action.io`; yields ``(file, sample or error)``.

    Whole-file problems (and any other exception of a reader) are yielded as a
    :class:`SkeletonDataError` for that file, so one bad file never stops the others; so are
    the folder's entries that are neither files nor folders (dangling or looping links,
    fifos: see :func:`pyg_action.io.entry_problem`), which are never opened. ``scan`` is
    :func:`scan_source`'s walk when the caller made it already.
    """
    from tqdm.auto import tqdm

    source = Path(source)
    if scan is None:
        scan = scan_source(source, format, recursive=recursive)
    for path, problem in scan.unusable:
        yield path, SkeletonDataError(problem, path)
    if not scan.samples and not scan.unusable:
        yield source, SkeletonDataError(f"no sample files found (format={format or 'any'})", source)
        return
    bar = tqdm(
        scan.samples, desc=f"read {source.name}", unit="file", disable=None if progress else True
    )
    for path in bar:
        try:
            for item in iter_samples(path, format, **reader_options):
                yield path, item
        except SkeletonDataError as exc:
            yield path, exc
        except (OSError, ValueError) as exc:
            yield path, SkeletonDataError(f"{type(exc).__name__}: {exc}", path)
        except Exception as exc:  # noqa: BLE001 - a reader bug must not lose the other files
            reason = f"internal reader error, please report it: {type(exc).__name__}: {exc}"
            yield path, SkeletonDataError(f"{reason:.300}", path)


def _reader_options(
    format: str | None, layout: LayoutLike | None, options: dict[str, Any]
) -> dict[str, Any]:
    """The reader options, with the dataset's ``layout`` for a format whose reader takes one."""
    options = dict(options)
    takes_layout = format in FORMATS and "layout" in FORMATS[format].options
    if layout is not None and takes_layout and "layout" not in options:
        options["layout"] = (
            str(layout) if isinstance(layout, str | Path) else get_layout(layout).name
        )
    return options


def read_folder(
    source: str | Path,
    format: str | None = None,
    layout: LayoutLike | None = None,
    *,
    progress: bool = False,
    recursive: bool = True,
    **reader_options: Any,
) -> tuple[list[SkeletonSequence], ReadReport]:
    """Read ``source`` into memory with the same checks and report as :func:`prepare`."""
    checker = SampleChecker(layout)
    samples: list[SkeletonSequence] = []
    bad: list[tuple[str, str]] = []
    options = _reader_options(format, layout, reader_options)
    scan = scan_source(source, format, recursive=recursive)
    for path, item in iter_source(source, format, progress=progress, scan=scan, **options):
        if isinstance(item, SkeletonDataError):
            bad.append((str(item.path or path), describe_error(item)))
            continue
        reason = checker(item)
        if reason is None:
            samples.append(item)
        else:
            bad.append((_where(item), reason))
    report = ReadReport(
        good=len(samples),
        bad_files=bad,
        unread_files=[str(path) for path in scan.unread],
        source=str(source),
        format=format,
    )
    return samples, report


def prepare(
    source: str | Path,
    out_dir: str | Path,
    format: str | None = None,
    layout: LayoutLike | None = None,
    *,
    progress: bool = True,
    recursive: bool = True,
    **reader_options: Any,
) -> ReadReport:
    """Read ``source`` (a folder or one file) and write a prepared cache to ``out_dir``.

    Args:
        source: A folder of sample files (found with :func:`pyg_action.io.find_sample_files`)
            or one file / container.
        out_dir: The cache folder.
        format: Reader format (``msr``, ``ntu``, ``kinetics``, ``npz``, ``stgcn``, ``pyskl``);
            default: from each file's suffix.
        layout: The samples' layout (name or YAML/JSON file), e.g. for an ``npz`` of a
            custom skeleton; default: what the reader reports.
        progress: Show a tqdm progress bar over the files (on a terminal only: none when
            stderr is redirected to a file or a pipe).
        recursive: Search sub-folders of a folder source.
        **reader_options: Passed to the reader (see ``pyg_action.io.FORMAT_OPTIONS``).

    The cache records what it was made from (:mod:`pyg_action.data.fingerprint`), so a
    dataset naming it with other data is an error rather than a silent use of the old cache.

    The folder is walked once (:func:`scan_source`): its sample files are read and its
    other files listed as unread from the same walk.

    Returns:
        The :class:`~pyg_action.data.report.ReadReport`, also written to
        ``out_dir/report.json`` (``{good, bad, bad_files: [[file, reason], ...], source,
        format}``, and ``unread_files: [file, ...]`` for a folder with files in no sample
        format, see :func:`pyg_action.io.unread_files`). Entries that are neither files nor
        folders (dangling or looping links, fifos) are bad files.

    Raises:
        SkeletonDataError: ``source`` does not exist, or no good sample was found (an empty
            folder, only bad files); ``report.json`` is written all the same, but no cache.
    """
    options = _reader_options(format, layout, reader_options)
    source = Path(source).resolve()  # one spelling of every file, as the dataset reader reports
    scan = scan_source(source, format, recursive=recursive)
    # before reading, so that a later change shows; a recursive scan met every file already
    fingerprint = source_fingerprint(source, out_dir, scan.files if recursive else None)
    fingerprint["reader"] = reader_settings(format, options)
    scan = _outside(scan, Path(out_dir).resolve())  # a cache written into its own source
    items = iter_source(source, format, progress=progress, scan=scan, **options)
    with CacheWriter(
        out_dir, layout=layout, source=str(source), format=format, allow_empty=False
    ) as writer:
        writer.note_unread(scan.unread)
        for path, item in items:
            if isinstance(item, SkeletonDataError):
                writer.reject(item.path or path, describe_error(item))
            else:
                writer.add(item)
    write_fingerprint(out_dir, fingerprint)
    return writer.report()


def _outside(scan: FolderScan, folder: Path) -> FolderScan:
    """``scan`` without the entries inside ``folder`` (``files`` stays whole: the
    fingerprint leaves the cache out itself)."""
    return FolderScan(
        samples=[path for path in scan.samples if not path.is_relative_to(folder)],
        unread=[path for path in scan.unread if not path.is_relative_to(folder)],
        unusable=[item for item in scan.unusable if not item[0].is_relative_to(folder)],
        files=scan.files,
    )


def is_prepared(path: str | Path) -> bool:
    """True when ``path`` holds a finished cache."""
    path = Path(path)
    return (path / _INDEX).is_file() and (path / _FRAMES).is_file()


class PreparedCache:
    """A prepared cache opened for reading (``frames.npy`` memory-mapped, read-only).

    A :class:`~pyg_action.data.sources.SampleSource`: indexing gives
    :class:`SkeletonSequence` objects; :meth:`array` gives the ``(C, T, V, M)`` view without
    copying. Safe to send to DataLoader workers: the memory map is re-opened in each process
    instead of being pickled.
    """

    def __init__(self, path: str | Path, mmap: bool = True) -> None:
        self.path = Path(path)
        if not is_prepared(self.path):
            raise SkeletonDataError("not a prepared cache (no index.json / frames.npy)", self.path)
        index = _read_json(self.path / _INDEX)
        if not isinstance(index, dict):
            raise SkeletonDataError("the index is not a JSON object", self.path / _INDEX)
        if index.get("version") != CACHE_VERSION:
            raise SkeletonDataError(
                f"cache version {index.get('version')} is not {CACHE_VERSION}; prepare it again",
                self.path,
            )
        self.mmap = mmap
        self.description = f"prepared cache {self.path}"
        self.layout: str | None = _field(index, "layout", str | None, self.path)
        self.layout_spec: dict[str, Any] | None = _field(
            index, "layout_spec", dict | None, self.path
        )
        self.names: list[str] = _field(index, "names", list, self.path)
        self.meta: list[dict[str, Any]] = _field(index, "meta", list, self.path)
        self.source: str | None = _field(index, "source", str | None, self.path)
        self.format: str | None = _field(index, "format", str | None, self.path)
        self.num_joints: int = _field(index, "num_joints", int, self.path)
        self.num_channels: int = _field(index, "num_channels", int, self.path)
        if not all(isinstance(n, str) for n in self.names) or not all(
            isinstance(m, dict) for m in self.meta
        ):
            raise SkeletonDataError("names must be strings and meta objects", self.path / _INDEX)
        self.offsets = _load_vector(self.path / _OFFSETS, 1)
        self.shapes = _load_vector(self.path / _SHAPES, 2)
        self.labels = _load_vector(self.path / _LABELS, 1)
        report_path = self.path / _REPORT
        stored = _read_json(report_path) if report_path.is_file() else {}
        if not isinstance(stored, dict):
            raise SkeletonDataError("the report is not a JSON object", report_path)
        try:
            self.report = ReadReport.of(stored)
        except (TypeError, ValueError, OverflowError) as exc:
            raise SkeletonDataError(f"not a read report ({exc})", report_path) from None
        if not len(self.names) == len(self.labels) == len(self.shapes) == len(self.offsets) - 1:
            raise SkeletonDataError("cache files disagree on the number of samples", self.path)
        self._check_layout_of_rows()
        self._frames: np.ndarray | None = None

    def _check_layout_of_rows(self) -> None:
        """Offsets, shapes, labels and ``frames.npy``'s header must describe the same rows
        (a tampered or mixed-up cache is reported here, naming the file that disagrees)."""
        if len(self.meta) != len(self.names):
            raise SkeletonDataError("index.json lists more or fewer meta than names", self.path)
        rows = np.diff(self.offsets)
        if (
            self.shapes.shape[1:] != (3,)
            or self.offsets[0] != 0
            or (self.shapes <= 0).any()
            or (self.shapes[:, 0] > MAX_FRAMES).any()
            or (self.shapes[:, 2] != self.num_channels).any()
            or (rows != self.shapes[:, 0] * self.shapes[:, 1]).any()
        ):
            raise SkeletonDataError(
                "sample shapes and offsets disagree (a tampered cache?); prepare it again",
                self.path / _SHAPES,
            )
        if ((self.labels < -1) | (self.labels >= MAX_CLASSES)).any():
            raise SkeletonDataError(
                f"labels outside -1..{MAX_CLASSES - 1} (a tampered cache?)", self.path / _LABELS
            )
        with (self.path / _FRAMES).open("rb") as handle:
            shape, dtype = read_npy_header(handle, self.path / _FRAMES, "the file")
            available = (self.path / _FRAMES).stat().st_size - handle.tell()
        expected = (int(self.offsets[-1]), self.num_joints, self.num_channels)
        if tuple(shape) != expected or dtype != np.dtype("<f4"):
            raise SkeletonDataError(
                f"holds {dtype} {tuple(shape)}, the index describes float32 {expected}",
                self.path / _FRAMES,
            )
        if math.prod(shape) * 4 > available:
            raise SkeletonDataError(
                "is truncated: it holds fewer rows than its header", self.path / _FRAMES
            )

    @property
    def metas(self) -> list[dict[str, Any]]:
        """Every sample's reader facts (the ``meta`` of ``index.json``)."""
        return self.meta

    @property
    def frames(self) -> np.ndarray:
        if self._frames is None:
            empty = self.offsets[-1] == 0
            mode: Literal["r"] | None = "r" if self.mmap and not empty else None
            self._frames = np.load(self.path / _FRAMES, mmap_mode=mode)
        return self._frames

    def get_layout(self) -> SkeletonLayout:
        """The samples' layout: a built-in or file name, else the spec stored in the cache."""
        if self.layout:
            try:
                return get_layout(self.layout)
            except (ValueError, FileNotFoundError):
                if self.layout_spec is None:
                    raise
        if self.layout_spec is None:
            raise SkeletonDataError("the cache does not record a layout", self.path)
        return SkeletonLayout.from_dict(self.layout_spec)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_frames"] = None
        return state

    def __len__(self) -> int:
        return len(self.names)

    def array(self, index: int) -> np.ndarray:
        """Sample ``index`` as a read-only ``(C, T, V, M)`` view.

        Raises:
            SkeletonDataError: its values break the readers' rule (NaN, infinite or absurd
                values, all zero: the cache was changed after it was written), naming
                ``frames.npy`` and the sample.
        """
        frames, persons, channels = (int(v) for v in self.shapes[index])
        rows = self.frames[self.offsets[index] : self.offsets[index + 1]]
        view = rows.reshape(persons, frames, self.num_joints, channels).transpose(3, 1, 2, 0)
        check_values(view, self.path / _FRAMES, sample=self.names[index])
        return view

    def label(self, index: int) -> int | None:
        label = int(self.labels[index])
        return None if label < 0 else label

    def __getitem__(self, index: int) -> SkeletonSequence:
        if not -len(self) <= index < len(self):
            raise IndexError(f"sample {index} outside 0..{len(self) - 1}")
        index %= len(self)
        return SkeletonSequence(
            data=np.array(self.array(index), dtype=np.float32),
            label=self.label(index),
            layout=self.layout or "",
            name=self.names[index],
            meta=dict(self.meta[index]),
        )

    def __iter__(self) -> Iterator[SkeletonSequence]:
        for index in range(len(self)):
            yield self[index]

    def __repr__(self) -> str:
        return f"PreparedCache({str(self.path)!r}, {len(self)} samples, layout={self.layout!r})"


def _read_json(path: Path) -> Any:
    """A JSON file of the cache; a garbled one is reported naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:
        raise SkeletonDataError(f"not valid JSON ({type(exc).__name__}: {exc})", path) from None


def _field(index: dict[str, Any], key: str, kind: Any, path: Path) -> Any:
    """``index[key]`` when it has type ``kind``, else an error naming the index file."""
    value = index.get(key)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise SkeletonDataError(f"{key!r} is {brief(value)}, not {kind}", path / _INDEX)
    return value


def _load_vector(path: Path, ndim: int) -> np.ndarray:
    """One of the small integer arrays of a cache, read safely; errors name the file."""
    with path.open("rb") as handle:
        shape, dtype = read_npy_header(handle, path, "the file")
        available = path.stat().st_size - handle.tell()
    if (
        len(shape) != ndim
        or dtype.kind not in "iu"
        or math.prod(shape) * dtype.itemsize > available
    ):
        raise SkeletonDataError(
            f"holds {dtype} {tuple(shape)} in {available} bytes: not the cache's {ndim}-d integers",
            path,
        )
    try:
        return np.load(path, allow_pickle=False).astype(np.int64)
    except Exception as exc:  # noqa: BLE001 - a garbled array fails in many ways
        raise SkeletonDataError(
            f"not a readable .npy array ({type(exc).__name__}: {exc})", path
        ) from None


def open_prepared(path: str | Path, mmap: bool = True) -> PreparedCache:
    """Open a cache written by :func:`prepare` / :func:`write_cache`."""
    return PreparedCache(path, mmap=mmap)


def cache_nbytes(path: str | Path) -> dict[str, float]:
    """Measured size of a cache: coordinates, the rest, and both per sample (bytes).

    ``coordinates`` is the data part of ``frames.npy`` (without its header); ``other`` is
    everything else (the ``.npy`` headers, offsets, shapes, labels and the JSON files).
    """
    path = Path(path)
    cache = PreparedCache(path)
    count = max(len(cache), 1)
    coordinates = int(cache.offsets[-1]) * cache.num_joints * cache.num_channels * 4
    total = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    other = total - coordinates
    return {
        "samples": len(cache),
        "coordinates": coordinates,
        "other": other,
        "total": total,
        "coordinates_per_sample": coordinates / count,
        "other_per_sample": other / count,
        "total_per_sample": total / count,
    }
