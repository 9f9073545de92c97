"""What a prepared cache was made from, so that a cache of other data is never used silently.

:func:`prepare` records the resolved source path and a cheap fingerprint of its files (each
file's relative path, size and modification time; only ``stat`` calls, nothing is read) in
``source.json`` inside the cache. :func:`check_cache_source` compares them with the data a
config names: a cache made from another folder, or from files that changed since, is an
error rather than rebuilt. Rebuilding would overwrite a folder the user named (perhaps for
another dataset, perhaps hours of preparing) behind their back; the error says which folder
the cache holds and how to go on (another ``data.cache``, or delete the stale one).

It also records how the files were read (:func:`reader_settings`: the format and every reader
option, such as NTU's ``max_bodies`` or Kinetics' ``max_frames``, with the reader's defaults
filled in), and :func:`check_cache_reader` refuses a cache read with other settings than a
dataset asks for: the same files read another way are other samples.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import SkeletonDataError
from ..io.formats import get_format

FINGERPRINT = "source.json"
_HINT = "set data.cache to another folder, or delete this one to prepare it again"


def source_fingerprint(
    source: str | Path, cache: str | Path, files: Iterable[Path] | None = None
) -> dict[str, Any]:
    """``{source, files, digest}`` of every file in a folder (or of one file), leaving out
    the files of ``cache`` when it lies inside the folder.

    ``files``: every regular file under the folder, when a walk of it listed them already
    (:attr:`pyg_action.io.FolderScan.files` of a recursive scan of the resolved folder).
    """
    source = Path(source).resolve()
    inside = Path(cache).resolve()
    if source.is_dir():
        found = source.rglob("*") if files is None else files
        files = sorted(p for p in found if p.is_file() and not p.is_relative_to(inside))
    else:
        files = [source] if source.is_file() else []
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        name = path.relative_to(source) if source.is_dir() else path.name
        digest.update(f"{name}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return {"source": str(source), "files": len(files), "digest": digest.hexdigest()}


#: Reader options that do not change the samples read: the cache stores its layout's full
#: spec itself (and a dataset's ``layout`` applies over it), ``mmap`` is how arrays are read.
_NOT_SETTINGS = frozenset({"layout", "mmap"})


def reader_settings(format: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
    """``{format, options}``: how files are read into samples, as JSON values. ``options``
    holds the given reader options over the defaults of the format's reader, so that an
    option left out and the same value given explicitly are the same setting."""
    defaults = get_format(format).option_defaults() if format is not None else {}
    merged = {
        name: value
        for name, value in sorted({**defaults, **options}.items())
        if name not in _NOT_SETTINGS
    }
    return json.loads(json.dumps({"format": format, "options": merged}, default=str))


def write_fingerprint(cache: str | Path, record: dict[str, Any]) -> None:
    """Store a :func:`source_fingerprint` (taken before the source was read) in the cache."""
    (Path(cache) / FINGERPRINT).write_text(json.dumps(record), encoding="utf-8")


def check_cache_source(cache: str | Path, root: str | Path) -> None:
    """Raise :class:`SkeletonDataError` when ``cache`` was not prepared from ``root`` as it is
    now: another folder, or files added, removed or changed since.

    A cache prepared by an older release has no fingerprint; its recorded source path is
    still compared.
    """
    cache = Path(cache)
    stored = cache / FINGERPRINT
    if stored.is_file():
        try:
            recorded = json.loads(stored.read_text(encoding="utf-8"))
            recorded_source = str(recorded["source"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SkeletonDataError(f"unreadable source record: {exc}", stored) from exc
    else:
        try:
            index = json.loads((cache / "index.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SkeletonDataError(f"unreadable cache index: {exc}", cache) from exc
        recorded, recorded_source = None, str(index.get("source"))
    wanted = str(Path(root).resolve())
    if recorded_source != wanted:
        raise SkeletonDataError(
            f"this cache was prepared from {recorded_source}, but the data is {wanted}; {_HINT}",
            cache,
        )
    if recorded is None:
        return
    now = source_fingerprint(root, cache)
    if now["digest"] != recorded.get("digest"):
        raise SkeletonDataError(
            f"the files of {wanted} changed since this cache was prepared from them "
            f"({recorded.get('files')} files then, {now['files']} now); {_HINT}",
            cache,
        )


def check_cache_reader(cache: str | Path, format: str | None, options: Mapping[str, Any]) -> None:
    """Raise :class:`SkeletonDataError` when ``cache`` was read with other
    :func:`reader_settings` than ``format`` and ``options`` (a cache without ``source.json``,
    from an older release, records none and is not checked)."""
    stored = Path(cache) / FINGERPRINT
    if not stored.is_file():
        return
    try:
        recorded = json.loads(stored.read_text(encoding="utf-8")).get("reader")
    except (OSError, ValueError, AttributeError) as exc:
        raise SkeletonDataError(f"unreadable source record: {exc}", stored) from exc
    if not isinstance(recorded, dict) or not isinstance(recorded.get("options"), dict):
        raise SkeletonDataError(f"this cache records no reader settings; {_HINT}", cache)
    wanted = reader_settings(format, options)
    if recorded.get("format") not in (None, wanted["format"]):
        raise SkeletonDataError(
            f"this cache was read as {recorded.get('format')}, but the dataset reads "
            f"{wanted['format']}; {_HINT}",
            cache,
        )
    # a cache prepared without a format (by suffix) gets the defaults of the one asked for
    then = reader_settings(wanted["format"], recorded["options"])["options"]
    now = wanted["options"]
    differ = sorted(key for key in {*then, *now} if then.get(key) != now.get(key))
    if differ:
        was = ", ".join(f"{key}={then.get(key)!r}" for key in differ)
        asked = ", ".join(f"{key}={now.get(key)!r}" for key in differ)
        raise SkeletonDataError(
            f"this cache was read with {was}, but the dataset asks for {asked}; {_HINT}", cache
        )
