"""A restricted unpickler for the label and annotation pickles of ST-GCN and pyskl.

Unpickling runs whatever callables the pickle names, so ``pickle.load`` on a
downloaded file is as dangerous as running a downloaded program. The skeleton
formats only need plain data, so :class:`RestrictedUnpickler` resolves only these
globals and refuses every other one *before* anything is called:

* builtins ``set``, ``frozenset``, ``complex``, ``bytes``, ``bytearray``, ``slice``,
  ``range``
  (protocols 0-2 spell the module ``__builtin__``) and ``collections.OrderedDict``;
* numpy arrays and scalars: ``numpy.ndarray``, ``numpy.dtype``,
  ``numpy[._]core.multiarray._reconstruct``, ``numpy[._]core.multiarray.scalar`` and
  ``numpy[._]core.numeric._frombuffer`` (protocol 5), from NumPy 1.x or 2.x pickles;
* ``_codecs.encode``, which protocols 0-2 use to store the bytes of numpy arrays.

Lists, tuples, dicts, strings, bytes, numbers, booleans and ``None`` need no global.
The allowed callables accept only the arguments real pickles give them, so a tiny file
cannot make them allocate or loop without bound: ``set``/``frozenset``/``bytes``/
``bytearray``/``OrderedDict`` only take items that are already in the pickle (never a
count or a ``range``), ``_reconstruct`` only builds the empty array that the pickled
state then fills (whose size numpy checks against the bytes the file holds),
``numpy.ndarray`` is never called directly (real pickles only name it as the class to
rebuild), ``numpy.dtype`` refuses object dtypes (an object array's size is not checked
against the file before numpy allocates it) and ``_codecs.encode`` only encodes to
``latin1``.

Before anything is unpickled, the opcodes are walked once (:mod:`pickletools`): every
counted string, bytes or bytearray must fit in the file and memo indices must come in
sequence, so neither a huge declared length nor a huge memo index makes the unpickler
allocate memory the file does not hold.
A refused global raises :class:`~pyg_action.errors.SkeletonDataError` naming the file
and the global, e.g. ``refused global 'os.system'``. Any other unpickling failure
(truncated or garbled file) is reported the same way.

The same policy applies to NumPy files: always ``np.load(..., allow_pickle=False)``;
an ``.npy``/``.npz`` holding object arrays is refused rather than unpickled.
"""

from __future__ import annotations

import collections
import importlib
import io
import math
import pickle
import pickletools
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SkeletonDataError
from ._common import brief, require_file


def _numpy_attr(submodule: str, name: str) -> Any:
    """Look a private numpy helper up in ``numpy._core`` (NumPy 2) or ``numpy.core`` (1.x)."""
    for package in ("numpy._core", "numpy.core"):
        try:
            module = importlib.import_module(f"{package}.{submodule}")
        except ImportError:
            continue
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"numpy has no {submodule}.{name}")  # pragma: no cover


#: Arguments that hold their items: what pickles pass to the container constructors.
_MATERIALISED = (list, tuple, dict, set, frozenset, str, bytes, bytearray)


def _refuse(call: str, args: tuple[Any, ...]) -> SkeletonDataError:
    shown = ", ".join(type(arg).__name__ for arg in args)
    return SkeletonDataError(
        f"refused call {call}({shown}): not what a plain data pickle holds "
        "(a count or range here could allocate without bound)"
    )


def _materialised_only(constructor: Any) -> Any:
    """``constructor`` limited to arguments that already hold their items (no count, range)."""

    def build(*args: Any) -> Any:
        if args and not isinstance(args[0], _MATERIALISED):
            raise _refuse(constructor.__name__, args)
        return constructor(*args)

    return build


def _empty_reconstruct(reconstruct: Any) -> Any:
    """numpy's ``_reconstruct`` limited to the empty array that the pickled state fills."""

    def build(cls: Any, shape: Any, dtype: Any) -> Any:
        cls = getattr(cls, "wrapped", cls)
        if cls is not np.ndarray or not isinstance(shape, tuple) or math.prod(shape) != 0:
            raise _refuse("_reconstruct", (cls, shape, dtype))
        return reconstruct(cls, shape, dtype)

    return build


def _never_called(cls: Any) -> Any:
    """A class that pickles may name (as ``_reconstruct``'s argument) but not call."""

    def build(*args: Any) -> Any:
        raise _refuse(f"{cls.__module__}.{cls.__name__}", args)

    build.wrapped = cls  # type: ignore[attr-defined]
    return build


def _plain_dtype(*args: Any) -> np.dtype:
    """``numpy.dtype`` without object fields (their arrays are sized before they are read)."""
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise SkeletonDataError(
            "refused object dtype: only numeric and string arrays are read from pickles"
        )
    return dtype


def _latin1_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> Any:
    """``_codecs.encode`` as pickle protocols 0-2 use it: ``str`` to ``latin1`` bytes."""
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1"):
        raise _refuse("_codecs.encode", (obj, encoding))
    return obj.encode(encoding, errors)


@cache
def _allowed_table() -> dict[tuple[str, str], Any]:
    table: dict[tuple[str, str], Any] = {}
    for module in ("builtins", "__builtin__"):
        for obj in (complex, slice, range):
            table[(module, obj.__name__)] = obj
        for container in (set, frozenset, bytes, bytearray):
            table[(module, container.__name__)] = _materialised_only(container)
    table[("collections", "OrderedDict")] = _materialised_only(collections.OrderedDict)
    table[("_codecs", "encode")] = _latin1_encode
    table[("numpy", "ndarray")] = _never_called(np.ndarray)
    table[("numpy", "dtype")] = _plain_dtype
    for package in ("numpy.core", "numpy._core"):
        reconstruct = _numpy_attr("multiarray", "_reconstruct")
        table[(f"{package}.multiarray", "_reconstruct")] = _empty_reconstruct(reconstruct)
        table[(f"{package}.multiarray", "scalar")] = _numpy_attr("multiarray", "scalar")
        table[(f"{package}.numeric", "_frombuffer")] = _numpy_attr("numeric", "_frombuffer")
    return table


def allowed_globals() -> frozenset[str]:
    """The ``module.name`` globals the restricted unpickler resolves."""
    return frozenset(f"{module}.{name}" for module, name in _allowed_table())


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only plain containers, scalars and numpy arrays.

    Args:
        file: A binary file object positioned at the pickle.
        path: The file name used in error messages.
    """

    def __init__(self, file: io.BufferedIOBase | io.BytesIO, *, path: str | Path | None = None):
        super().__init__(file)
        self.path = None if path is None else Path(path)

    def find_class(self, module: str, name: str) -> Any:  # noqa: D401 - pickle API
        try:
            return _allowed_table()[(module, name)]
        except KeyError:
            raise SkeletonDataError(
                f"refused global {module}.{name!s:.80}: label/annotation pickles may only hold "
                "plain containers, numbers, strings and numpy arrays",
                self.path,
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise SkeletonDataError("refused persistent id: not a plain data pickle", self.path)

    def load(self) -> Any:
        """Unpickle; a refused call is reported with this unpickler's file name."""
        try:
            return super().load()
        except SkeletonDataError as exc:
            if exc.path is None and self.path is not None:
                raise SkeletonDataError(exc.reason, self.path) from None
            raise


_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})


def check_opcodes(data: bytes, *, path: str | Path | None = None) -> None:
    """Walk the opcodes of a pickle without building anything.

    Raises:
        SkeletonDataError: an opcode is unknown or its argument runs past the end of the
            data (a counted string, bytes or bytearray longer than the file), or a memo
            index is out of sequence (the unpickler would grow its memo table to it).
    """
    memo = 0
    try:
        for opcode, arg, position in pickletools.genops(data):
            if opcode.name == "MEMOIZE":
                memo += 1
            elif opcode.name in _MEMO_PUTS:
                if not isinstance(arg, int) or not 0 <= arg <= memo:
                    raise SkeletonDataError(
                        f"cannot unpickle: memo index {brief(arg)} at byte {position} is out "
                        f"of sequence (expected at most {memo})",
                        path,
                    )
                memo += arg == memo
    except SkeletonDataError:
        raise
    except Exception as exc:  # noqa: BLE001 - pickletools reports a bad stream in many ways
        reason = f"{type(exc).__name__}: {exc}"
        raise SkeletonDataError(f"cannot unpickle (corrupt file?): {reason:.200}", path) from None


def safe_loads(data: bytes, *, path: str | Path | None = None) -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`; every failure is a SkeletonDataError."""
    check_opcodes(data, path=path)
    try:
        return RestrictedUnpickler(io.BytesIO(data), path=path).load()
    except SkeletonDataError:
        raise
    except RecursionError:
        raise SkeletonDataError("cannot unpickle: nested too deeply", path) from None
    except EOFError:
        raise SkeletonDataError("cannot unpickle: the file is truncated", path) from None
    except MemoryError:
        raise SkeletonDataError("cannot unpickle: it asks for too much memory", path) from None
    except Exception as exc:  # noqa: BLE001 - any failure of a bad pickle becomes one error type
        reason = f"{type(exc).__name__}: {exc}"
        raise SkeletonDataError(f"cannot unpickle (corrupt file?): {reason:.200}", path) from None


def safe_load_pickle(path: str | Path) -> Any:
    """Read a ``.pkl`` file with the restricted unpickler.

    Raises:
        SkeletonDataError: missing/empty file, a refused global, or a corrupt pickle.
    """
    path = require_file(path)
    return safe_loads(path.read_bytes(), path=path)
