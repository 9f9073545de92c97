"""What a prepared cache was made from, so that a cache of other data is never used silently.

:func:`prepare` records the resolved source path and a cheap fingerprint of its files (each
file's relative path, size and modification time; only ``stat`` calls, nothing is read) in
``source.json`` inside the cache. :func:`check_cache_source` compares them with the data a
config names: a cache made from another folder, or from files that changed since, is an
error rather than rebuilt. Rebuilding would overwrite a folder the user named (perhaps for
another dataset, perhaps hours of preparing) behind their back; the error says which folder
the cache holds and how to go on (another ``data.cache``, or delete the stale one).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import SkeletonDataError

FINGERPRINT = "source.json"


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
    hint = "set data.cache to another folder, or delete this one to prepare it again"
    if recorded_source != wanted:
        raise SkeletonDataError(
            f"this cache was prepared from {recorded_source}, but the data is {wanted}; {hint}",
            cache,
        )
    if recorded is None:
        return
    now = source_fingerprint(root, cache)
    if now["digest"] != recorded.get("digest"):
        raise SkeletonDataError(
            f"the files of {wanted} changed since this cache was prepared from them "
            f"({recorded.get('files')} files then, {now['files']} now); {hint}",
            cache,
        )
