"""The file formats :mod:`pyg_action.io` reads: one :class:`FileFormat` record per format.

A record says everything the rest of the package needs to know about a format: the file
suffixes it is recognised by, its reader and the options that reader takes, whether a
folder search picks its files up without being asked, whether one file holds many samples,
and which files beside the samples belong to them. Adding a format is registering one
record (:func:`register_format`); detection by suffix, :func:`pyg_action.io.iter_samples`,
folder scans, ``prepare`` and the datasets all read the registry.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SkeletonDataError
from ..sequence import SkeletonSequence
from .kinetics import read_kinetics_json
from .msr import read_msr_action3d
from .npz import iter_npz
from .ntu import read_ntu_skeleton
from .result import SampleOrError
from .stgcn_arrays import iter_pyskl_pickle, iter_stgcn_arrays

__all__ = [
    "FORMATS",
    "FileFormat",
    "detect_format",
    "get_format",
    "is_companion_file",
    "one_sample_reader",
    "register_format",
]

#: A reader: ``(path, **options)`` -> the file's samples and per-sample errors, lazily;
#: whole-file problems raise :class:`~pyg_action.errors.SkeletonDataError`.
Reader = Callable[..., Iterator[SampleOrError]]


@dataclass(frozen=True)
class FileFormat:
    """One readable file format.

    Attributes:
        name: What ``format=`` / ``--format`` calls it.
        suffixes: Lower-case file suffixes it is recognised by (with the dot).
        reader: Reads one file (see :data:`Reader`).
        options: The keyword options ``reader`` accepts from callers.
        found_by_default: A folder search without a format lists its files (formats whose
            files only make sense when named, such as paired containers, say ``False``).
        container: One file holds many samples; reports then name a bad sample as
            ``file [sample]``.
        companion: Files with one of ``suffixes`` that live beside the samples but are not
            samples (such as label lists); never read, never reported as unread.
    """

    name: str
    suffixes: tuple[str, ...]
    reader: Reader
    options: tuple[str, ...] = ()
    found_by_default: bool = True
    container: bool = False
    companion: Callable[[Path], bool] | None = None

    def option_defaults(self) -> dict[str, Any]:
        """The default of every option that has one, from the signature of the function
        ``reader`` calls (``inspect`` follows a wrapper's ``__wrapped__``)."""
        parameters = inspect.signature(self.reader).parameters.values()
        empty = inspect.Parameter.empty
        return {
            p.name: p.default
            for p in parameters
            if p.name in self.options and p.default is not empty
        }

    def read(self, path: str | Path, **options: Any) -> Iterator[SampleOrError]:
        """The samples of ``path``, after checking ``options`` are this format's."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise TypeError(
                f"format {self.name!r} takes options {list(self.options)}, not {unknown}"
            )
        return self.reader(Path(path), **options)


#: Registered formats by name, in registration order.
FORMATS: dict[str, FileFormat] = {}


def register_format(record: FileFormat) -> FileFormat:
    """Add ``record`` to :data:`FORMATS`; a name or suffix already taken is an error."""
    if record.name in FORMATS:
        raise ValueError(f"format {record.name!r} is registered twice")
    for other in FORMATS.values():
        shared = set(other.suffixes) & set(record.suffixes)
        if shared:
            raise ValueError(
                f"format {record.name!r}: suffixes {sorted(shared)} already belong to "
                f"{other.name!r}"
            )
    FORMATS[record.name] = record
    return record


def get_format(name: str) -> FileFormat:
    """The record of format ``name``."""
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; known: {sorted(FORMATS)}")
    return FORMATS[name]


def detect_format(path: str | Path) -> str:
    """Format name for ``path`` from its suffix."""
    suffix = Path(path).suffix.lower()
    for record in FORMATS.values():
        if suffix in record.suffixes:
            return record.name
    known = ", ".join(s for record in FORMATS.values() for s in record.suffixes)
    raise SkeletonDataError(
        f"unknown file type {suffix or '(no suffix)'!r}; known: {known} (or pass format=)",
        Path(path),
    )


def is_companion_file(path: Path) -> bool:
    """True for a file that belongs beside the samples of some format (never read)."""
    return any(
        record.companion is not None
        and path.suffix.lower() in record.suffixes
        and record.companion(path)
        for record in FORMATS.values()
    )


def one_sample_reader(read: Callable[..., SkeletonSequence]) -> Reader:
    """A :data:`Reader` for a format of one sample per file, from its ``read(path)``."""

    @functools.wraps(read)
    def reader(path: Path, **options: Any) -> Iterator[SampleOrError]:
        return iter([read(path, **options)])

    return reader


def _stgcn_reader(path: Path, **options: Any) -> Iterator[SampleOrError]:
    """ST-GCN arrays; ``train_data.npy`` pairs with a sibling ``train_label.pkl`` when no
    ``label_path`` is given and that file exists."""
    if options.get("label_path") is None and path.stem.endswith("data"):
        label = path.with_name(path.stem[: -len("data")] + "label.pkl")
        options["label_path"] = label if label.is_file() else None
    return iter_stgcn_arrays(path, **options)


_stgcn_reader.__wrapped__ = iter_stgcn_arrays  # type: ignore[attr-defined]  # its options' defaults


def _is_kinetics_label_file(path: Path) -> bool:
    """st-gcn's Kinetics label files (``*_label.json``), which live beside the samples."""
    return path.stem.endswith("_label")


def _register_builtin() -> None:
    for record in (
        FileFormat(
            "ntu",
            (".skeleton",),
            one_sample_reader(read_ntu_skeleton),
            ("max_bodies", "max_gathered", "slots"),
        ),
        FileFormat(
            "kinetics",
            (".json",),
            one_sample_reader(read_kinetics_json),
            ("max_persons", "num_joints", "max_frames"),
            companion=_is_kinetics_label_file,
        ),
        FileFormat("msr", (".txt",), one_sample_reader(read_msr_action3d), ("with_confidence",)),
        FileFormat(
            "stgcn",
            (".npy",),
            _stgcn_reader,
            ("label_path", "layout", "mmap"),
            found_by_default=False,
            container=True,
        ),
        FileFormat(
            "pyskl",
            (".pkl", ".pickle"),
            iter_pyskl_pickle,
            ("split", "layout"),
            found_by_default=False,
            container=True,
        ),
        FileFormat("npz", (".npz",), iter_npz, ("layout",), container=True),
    ):
        register_format(record)


_register_builtin()


class _FormatField(Mapping[str, tuple[str, ...]]):
    """A read-only ``name -> field`` view of the registry (kept as the public dicts
    ``FORMAT_SUFFIXES`` and ``FORMAT_OPTIONS``)."""

    def __init__(self, field: str) -> None:
        self._field = field

    def __getitem__(self, name: str) -> tuple[str, ...]:
        return getattr(FORMATS[name], self._field)

    def __iter__(self) -> Iterator[str]:
        return iter(FORMATS)

    def __len__(self) -> int:
        return len(FORMATS)

    def __repr__(self) -> str:
        return repr(dict(self))


#: Format name -> file suffixes it is recognised by.
FORMAT_SUFFIXES: Mapping[str, tuple[str, ...]] = _FormatField("suffixes")
#: Keyword options each format accepts in :func:`~pyg_action.io.read_samples`.
FORMAT_OPTIONS: Mapping[str, tuple[str, ...]] = _FormatField("options")
