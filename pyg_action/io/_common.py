"""Helpers shared by the readers: file checks, number parsing, ``.npy`` sizes, layouts by size."""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import SkeletonDataError
from ..sequence import SkeletonSequence

#: Built-in layout chosen for a joint count when a container does not name one.
LAYOUT_BY_JOINTS: dict[int, str] = {25: "ntu25", 18: "openpose18", 17: "coco17", 20: "msr20"}

#: Layouts whose second coordinate is an image row (grows downwards); the others have y up.
IMAGE_LAYOUTS: frozenset[str] = frozenset({"openpose18", "coco17"})

_BRIEF = reprlib.Repr()
_BRIEF.maxlevel = 2
_BRIEF.maxstring = _BRIEF.maxother = _BRIEF.maxlong = 40


def brief(value: Any) -> str:
    """A short ``repr`` of a value read from a file, for error messages.

    Bounded in time and length whatever the value: a pickle can hold a list that
    references itself at every level (whose full ``repr`` doubles per level) or an
    integer beyond Python's digit limit.
    """
    try:
        return _BRIEF.repr(value)
    except ValueError:  # an integer with more digits than Python converts
        return f"<{type(value).__name__} too large to print>"


def sample_or_error(
    make: Callable[[], SkeletonSequence], path: Path, sample: str | int, what: str = "sample"
) -> SkeletonSequence | SkeletonDataError:
    """``make()``'s sample, or the error that rejected it (what a container yields).

    Any other exception becomes an ``unusable <what>`` error naming ``path`` and ``sample``:
    one odd sample of a container must not lose the rest.
    """
    try:
        return make()
    except SkeletonDataError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - one odd sample must not lose the rest
        reason = f"unusable {what}: {type(exc).__name__}: {exc}"
        return SkeletonDataError(reason, path, sample=sample)


def require_file(path: str | Path) -> Path:
    """Return ``path`` as a :class:`Path` after checking it is an existing, non-empty file."""
    path = Path(path)
    if not path.exists():
        raise SkeletonDataError("file does not exist", path)
    if not path.is_file():
        raise SkeletonDataError("not a regular file (a folder?)", path)
    if path.stat().st_size == 0:
        raise SkeletonDataError("file is empty", path)
    return path


def read_text(path: Path) -> str:
    """Whole file as text (UTF-8, a byte-order mark is dropped); undecodable bytes are an error."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkeletonDataError(
            f"not a text file (undecodable byte at offset {exc.start})", path
        ) from None
    if not text.strip():
        raise SkeletonDataError("file holds only white space", path)
    return text


def parse_floats(
    tokens: list[str], path: Path, *, line: int, frame: int | None = None
) -> list[float]:
    """Parse text tokens as finite floats; name the line (and frame) on any bad token."""
    values = []
    for token in tokens:
        try:
            value = float(token)
        except ValueError:
            raise SkeletonDataError(
                f"not a number: {token[:40]!r}", path, line=line, frame=frame
            ) from None
        if not math.isfinite(value):
            raise SkeletonDataError(
                f"non-finite value {token!r}", path, line=line, frame=frame
            ) from None
        values.append(value)
    return values


def parse_int(token: str, path: Path, *, line: int, frame: int | None = None, what: str) -> int:
    """Parse one integer count, naming what it counts when it is not one."""
    try:
        return int(token)
    except ValueError:
        raise SkeletonDataError(
            f"expected the {what} (an integer), got {token[:40]!r}", path, line=line, frame=frame
        ) from None


def read_npy_header(handle: IO[bytes], path: Path, what: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from the ``.npy`` header at ``handle``'s position, which is left at the
    start of the data: a reader compares what the header asks numpy to allocate with what
    the file holds before numpy allocates it.

    Raises:
        SkeletonDataError: no NumPy header, an unsupported version or a garbled header
            (``what`` names the array, e.g. ``"key 'data'"``).
    """
    from numpy.lib import format as npy_format

    try:
        version = npy_format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = npy_format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, _, dtype = npy_format.read_array_header_2_0(handle)
        else:
            raise ValueError(f".npy format version {version} is not supported")
    except Exception as exc:  # noqa: BLE001 - a garbled header fails in many ways
        reason = f"{type(exc).__name__}: {exc}"
        raise SkeletonDataError(
            f"{what} is not a readable .npy array: {reason:.200}", path
        ) from None
    return tuple(shape), dtype


def npy_data_nbytes(handle: IO[bytes], path: Path, what: str) -> int:
    """Bytes of array data the ``.npy`` header at ``handle`` declares (see
    :func:`read_npy_header`)."""
    shape, dtype = read_npy_header(handle, path, what)
    return math.prod(shape) * dtype.itemsize


def infer_layout(num_joints: int, path: Path | None, *, sample: str | int | None = None) -> str:
    """Built-in layout name for ``num_joints`` joints, or an error asking for ``layout=``."""
    try:
        return LAYOUT_BY_JOINTS[num_joints]
    except KeyError:
        known = ", ".join(f"{v} -> {n}" for v, n in sorted(LAYOUT_BY_JOINTS.items()))
        raise SkeletonDataError(
            f"cannot infer the layout of {num_joints} joints (known: {known}); pass layout=",
            path,
            sample=sample,
        ) from None


def present_persons(data: np.ndarray) -> np.ndarray:
    """Boolean ``(M,)``: which persons of a ``(C, T, V, M)`` array hold any non-zero value."""
    return np.asarray(np.asarray(data != 0).any(axis=(0, 1, 2)))


def zero_frames(data: np.ndarray) -> np.ndarray:
    """Boolean ``(T,)``: frames of a ``(C, T, V, M)`` array in which every value is zero."""
    return np.asarray(~np.asarray(data != 0).any(axis=(0, 2, 3)))
