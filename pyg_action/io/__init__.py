"""Readers for recorded skeleton files, good and bad.

Every reader returns :class:`~pyg_action.sequence.SkeletonSequence` objects with
``data`` ``(C, T, V, M)`` float32 that pass the one sample rule of
:func:`~pyg_action.io.validation.validate_sample` (finite, bounded, not all zero, a valid
label), and raises :class:`~pyg_action.errors.SkeletonDataError` (naming the file and, where
there is one, the line, frame or sample) for bad input.

=========  ==========================  ============================================
format     files                       reader
=========  ==========================  ============================================
ntu        ``*.skeleton``              :func:`read_ntu_skeleton`
kinetics   ``*.json``                  :func:`read_kinetics_json`
msr        ``*.txt``                   :func:`read_msr_action3d`
stgcn      ``*.npy`` (+ label ``.pkl``) :func:`read_stgcn_arrays`
pyskl      ``*.pkl`` / ``*.pickle``    :func:`read_pyskl_pickle`
npz        ``*.npz``                   :func:`read_npz` / :func:`write_npz`
=========  ==========================  ============================================

Each format is one :class:`~pyg_action.io.formats.FileFormat` record in
:data:`~pyg_action.io.formats.FORMATS` (suffixes, reader, reader options, whether a folder
search finds it, whether a file holds many samples); :func:`register_format` adds one.
:func:`read_samples` picks the reader from the suffix (or ``format=``) and returns a
:class:`ReadResult`: a problem with the whole file is raised, while in multi-sample
containers each bad sample becomes one entry of ``ReadResult.errors`` and the other
samples are still returned. See ``docs/data-formats.md``.
"""

from __future__ import annotations

import errno
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SkeletonDataError
from .formats import (
    FORMAT_OPTIONS,
    FORMAT_SUFFIXES,
    FORMATS,
    FileFormat,
    detect_format,
    get_format,
    is_companion_file,
    register_format,
)
from .kinetics import (
    KineticsLabel,
    KineticsLabels,
    read_kinetics_json,
    read_kinetics_labels,
)
from .msr import parse_msr_name, read_msr_action3d
from .npz import iter_npz, read_npz, write_npz
from .ntu import ntu_missing_samples, parse_ntu_name, read_ntu_skeleton
from .result import ReadResult, SampleOrError
from .safe_pickle import RestrictedUnpickler, allowed_globals, safe_load_pickle, safe_loads
from .stgcn_arrays import (
    iter_pyskl_pickle,
    iter_stgcn_arrays,
    load_npy,
    read_pyskl_pickle,
    read_stgcn_arrays,
    read_stgcn_labels,
)


def iter_samples(
    path: str | Path, format: str | None = None, **options: Any
) -> Iterator[SampleOrError]:
    """Lazily read ``path``: yields samples and per-sample errors (for big containers).

    Whole-file problems raise :class:`SkeletonDataError` from this call. Options are
    passed to the format's reader (see :data:`FORMAT_OPTIONS`); for ``stgcn`` a missing
    ``label_path`` defaults to the sibling ``*_label.pkl`` of ``*_data.npy`` if present.
    """
    path = Path(path)
    return get_format(format or detect_format(path)).read(path, **options)


def read_samples(path: str | Path, format: str | None = None, **options: Any) -> ReadResult:
    """Read every sample of ``path`` (any supported format).

    Args:
        path: A sample file or container.
        format: One of :data:`FORMAT_SUFFIXES` (default: from the suffix).
        **options: Passed to the format's reader, see :data:`FORMAT_OPTIONS`.

    Returns:
        The good samples and one error per rejected sample of a container.

    Raises:
        SkeletonDataError: the file itself is missing, empty, truncated, garbled or of
            an unknown type.
    """
    return ReadResult.collect(iter_samples(path, format, **options))


def folder_suffixes(format: str | None = None) -> tuple[str, ...]:
    """The file suffixes :func:`find_sample_files` picks up for ``format`` (``None``: the
    per-sample formats and ``.npz``)."""
    if format:
        records = [get_format(format)]
    else:
        records = [record for record in FORMATS.values() if record.found_by_default]
    return tuple(suffix for record in records for suffix in record.suffixes)


def entry_problem(path: Path) -> str | None:
    """Why ``path`` (found in a folder) can be neither read as a file nor searched as a
    folder: a dangling link, a link loop, a named pipe, a socket or a device; ``None`` for
    a regular file or a folder."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if path.is_symlink():
            if exc.errno == errno.ELOOP:
                return "symbolic link loop: it never reaches a file"
            return "dangling symbolic link: its target does not exist"
        return f"cannot be read: {exc.strerror or exc}"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (fifo), not a regular file: not read"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file: not read"
    return "a device or other special file, not a regular file: not read"


@dataclass
class FolderScan:
    """What one walk of a folder found (each list sorted by path).

    Attributes:
        samples: Files in a format the walk searched for.
        unread: Regular files of other suffixes (see :func:`unread_files`).
        unusable: Entries that are neither a regular file nor a folder (dangling or looping
            links, fifos, sockets, devices), with the reason (see :func:`entry_problem`).
        files: Every regular file the walk met, hidden and companion files included (what
            a prepared cache's fingerprint covers).
    """

    samples: list[Path] = field(default_factory=list)
    unread: list[Path] = field(default_factory=list)
    unusable: list[tuple[Path, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def scan_folder(
    folder: str | Path, format: str | None = None, *, recursive: bool = True
) -> FolderScan:
    """One walk of ``folder``: its sample files, unread files and unusable entries.

    Hidden entries (a name starting with ``.``) and the Kinetics label files that live
    beside the samples are left out of every list.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SkeletonDataError("not a folder", folder)
    wanted = folder_suffixes(format)
    scan = FolderScan()
    for path in folder.glob("**/*" if recursive else "*"):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        problem = entry_problem(path)
        if problem is not None:
            if not hidden:
                scan.unusable.append((path, problem))
            continue
        if not path.is_file():
            continue
        scan.files.append(path)
        if is_companion_file(path):
            continue
        if path.suffix.lower() in wanted:
            scan.samples.append(path)
        elif not hidden:
            scan.unread.append(path)
    scan.samples.sort()
    scan.unread.sort()
    scan.unusable.sort()
    scan.files.sort()
    return scan


def find_sample_files(
    folder: str | Path, format: str | None = None, *, recursive: bool = True
) -> list[Path]:
    """Sample files under ``folder``, sorted by path.

    Args:
        folder: The folder to search.
        format: Only this format's files; by default every per-sample format
            (``.skeleton``, ``.json`` except ``*_label.json``, ``.txt``) and ``.npz``.
            ST-GCN ``.npy`` and pyskl ``.pkl`` containers are listed only when named.
        recursive: Also search sub-folders.
    """
    return scan_folder(folder, format, recursive=recursive).samples


def unread_files(
    folder: str | Path, format: str | None = None, *, recursive: bool = True
) -> list[Path]:
    """Files under ``folder`` that :func:`find_sample_files` leaves out, sorted by path:
    other suffixes, and the ST-GCN ``.npy`` / pyskl ``.pkl`` containers that are read only
    when named. Hidden files (a name starting with ``.``) and the Kinetics label files that
    live beside the samples are not listed."""
    return scan_folder(folder, format, recursive=recursive).unread


__all__ = [
    "FORMAT_OPTIONS",
    "FORMAT_SUFFIXES",
    "FORMATS",
    "FileFormat",
    "FolderScan",
    "KineticsLabel",
    "KineticsLabels",
    "ReadResult",
    "RestrictedUnpickler",
    "SampleOrError",
    "SkeletonDataError",
    "allowed_globals",
    "detect_format",
    "entry_problem",
    "find_sample_files",
    "folder_suffixes",
    "get_format",
    "register_format",
    "unread_files",
    "iter_npz",
    "iter_pyskl_pickle",
    "iter_samples",
    "iter_stgcn_arrays",
    "load_npy",
    "ntu_missing_samples",
    "parse_msr_name",
    "parse_ntu_name",
    "read_kinetics_json",
    "read_kinetics_labels",
    "read_msr_action3d",
    "read_npz",
    "read_ntu_skeleton",
    "read_pyskl_pickle",
    "read_samples",
    "read_stgcn_arrays",
    "read_stgcn_labels",
    "safe_load_pickle",
    "safe_loads",
    "scan_folder",
    "write_npz",
]
