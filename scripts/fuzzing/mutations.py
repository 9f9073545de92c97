"""Mutations that turn a valid skeleton file into a hostile one.

Every mutator is a function ``(raw bytes, choices) -> bytes``; all randomness comes from
a :class:`Choices` source, so the same mutators serve Hypothesis (which can then shrink
a failing case) and the seeded ``random`` generator of the long run.
"""

from __future__ import annotations

import ast
import io
import json
import math
import pickle
import random
import re
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, Protocol, TypeVar

import numpy as np

from pyg_action.errors import SkeletonDataError
from pyg_action.io._common import brief
from pyg_action.io.safe_pickle import safe_loads

T = TypeVar("T")


class Choices(Protocol):
    """A source of decisions for the mutators."""

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high]`` (both included)."""
        ...


class RandomChoices:
    """:class:`Choices` from a seeded :class:`random.Random` (reproducible)."""

    def __init__(self, seed: int | str) -> None:
        self._random = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``."""
        return self._random.randint(low, high)


def pick(choices: Choices, items: Sequence[T]) -> T:
    """One of ``items``."""
    return items[choices.integer(0, len(items) - 1)]


Mutator = Callable[[bytes, Choices], bytes]

# ------------------------------------------------------------------ bytes


def truncate(raw: bytes, choices: Choices) -> bytes:
    """Cut the file at any byte."""
    return raw[: choices.integer(0, max(len(raw) - 1, 0))]


def flip_bit(raw: bytes, choices: Choices) -> bytes:
    """Flip one bit of one byte."""
    if not raw:
        return raw
    out = bytearray(raw)
    out[choices.integer(0, len(out) - 1)] ^= 1 << choices.integer(0, 7)
    return bytes(out)


def insert_bytes(raw: bytes, choices: Choices) -> bytes:
    """Insert 1-8 arbitrary bytes anywhere."""
    at = choices.integer(0, len(raw))
    chunk = bytes(choices.integer(0, 255) for _ in range(choices.integer(1, 8)))
    return raw[:at] + chunk + raw[at:]


def delete_bytes(raw: bytes, choices: Choices) -> bytes:
    """Delete a run of 1-64 bytes."""
    if not raw:
        return raw
    start = choices.integer(0, len(raw) - 1)
    return raw[:start] + raw[start + choices.integer(1, 64) :]


BYTE_MUTATORS: tuple[Mutator, ...] = (truncate, flip_bit, insert_bytes, delete_bytes)

# ------------------------------------------------------------------ text

#: Replacements for a number: huge, non-finite, negative, beyond float32, non-numeric.
HOSTILE_NUMBERS: tuple[bytes, ...] = (
    b"nan", b"NaN", b"inf", b"-inf", b"Infinity", b"1e309", b"-1e309", b"3.5e38", b"-1e39",
    b"1e-400", b"9" * 400, b"9" * 5000, b"-1", b"-0", b"0", b"1e12", b"1000000000000",
    b"18446744073709551616", b"abc", b"", b"0x1F", b"1_000", "\u0661\u0662".encode(),
    b"\xff\xfe", b"1.2.3", b"--5", b"null", b"true", b"[]", b"{}", b'"7"', b"1e", b".",
)  # fmt: skip
#: Replacements for a count (frames, bodies, joints): the runaway-memory cases first.
HOSTILE_COUNTS: tuple[bytes, ...] = (
    b"1000000000000", b"9223372036854775808", b"9" * 5000, b"2147483647", b"100000",
    b"0", b"-1", b"-1000000000000", b"1", b"2", b"3", b"4", b"5", b"24", b"26", b"1e3",
    b"nan", b"",
)  # fmt: skip

_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_COUNT_LINE = re.compile(rb"(?m)^[ \t]*(\d+)[ \t]*\r?$")


def _replace_match(
    raw: bytes, pattern: re.Pattern[bytes], group: int, tokens: Sequence[bytes], choices: Choices
) -> bytes:
    """Replace ``group`` of the first match at or after a random offset (wrapping around)."""
    if not raw:
        return raw
    match = pattern.search(raw, choices.integer(0, len(raw) - 1)) or pattern.search(raw)
    if match is None:
        return raw
    return raw[: match.start(group)] + pick(choices, tokens) + raw[match.end(group) :]


def replace_number(raw: bytes, choices: Choices) -> bytes:
    """Replace one number by a hostile token (NaN, inf, 9...9, -1, 'abc', ...)."""
    return _replace_match(raw, _NUMBER, 0, HOSTILE_NUMBERS, choices)


def replace_count(raw: bytes, choices: Choices) -> bytes:
    """Replace a line holding only an integer (a header count) by a hostile count."""
    return _replace_match(raw, _COUNT_LINE, 1, HOSTILE_COUNTS, choices)


def duplicate_line(raw: bytes, choices: Choices) -> bytes:
    """Repeat one line."""
    lines = raw.splitlines(keepends=True)
    if not lines:
        return raw
    index = choices.integer(0, len(lines) - 1)
    lines.insert(index, lines[index])
    return b"".join(lines)


def remove_line(raw: bytes, choices: Choices) -> bytes:
    """Remove one line."""
    lines = raw.splitlines(keepends=True)
    if not lines:
        return raw
    del lines[choices.integer(0, len(lines) - 1)]
    return b"".join(lines)


TEXT_MUTATORS: tuple[Mutator, ...] = (
    replace_number,
    replace_count,
    duplicate_line,
    remove_line,
)

# ------------------------------------------------------------------ structures


def mutate_structure(
    node: Any, choices: Choices, hostile: Callable[[Choices], Any], leaf: Callable[..., Any]
) -> Any:
    """A copy of a nested dict/list/tuple tree with one random node changed.

    Descends into a random child with probability 3/4 per level; at the node where it
    stops, a container may lose, repeat or clear a child, and any node may be replaced
    by ``hostile(choices)``, turned into its (short) repr, wrapped in a list, or passed to
    ``leaf(node, choices)`` (a type-specific change, e.g. of a numpy array).
    """
    keys: list[Any] = []
    if isinstance(node, dict):
        keys = list(node)
    elif isinstance(node, list | tuple):
        keys = list(range(len(node)))
    if keys and choices.integer(0, 3) > 0:
        key = pick(choices, keys)
        child = mutate_structure(node[key], choices, hostile, leaf)
        if isinstance(node, dict):
            return {**node, key: child}
        items = list(node)
        items[key] = child
        return type(node)(items)
    operation = choices.integer(0, 6 if keys else 3)
    if operation == 0:
        return hostile(choices)
    if operation == 1:  # bounded: the node may share references exponentially
        return brief(node)
    if operation == 2:
        return [node]
    if operation == 3:
        return leaf(node, choices)
    key = pick(choices, keys)
    if operation == 4:  # drop one child
        if isinstance(node, dict):
            return {k: v for k, v in node.items() if k != key}
        return type(node)(v for i, v in enumerate(node) if i != key)
    if operation == 5:  # repeat one child
        if isinstance(node, dict):
            return {**node, f"{key}_copy": node[key]}
        return type(node)([*node, node[key]])
    return type(node)()


_JSON_RAW = {
    "\u0000big": "9" * 5000,  # beyond Python's int-parsing digit limit
    "\u0000deep": "[" * 100_000 + "]" * 100_000,
    "\u0000long": "-" + "1" * 100_000 + "e-99999",
}
_JSON_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 10**12, 2**64, 0.5, -1e300, 1e300, 3.5e38, math.nan, math.inf,
    -math.inf, "", "7", "nan", [], {}, [[]], [None] * 36, {"pose": [], "score": []},
    *_JSON_RAW,
)  # fmt: skip


def _same_leaf(node: Any, choices: Choices) -> Any:
    """JSON leaves have no type-specific change: negate numbers, keep the rest."""
    if isinstance(node, int | float) and not isinstance(node, bool):
        return -node * pick(choices, (1, 10**6, 10**40))
    return node


def mutate_json(raw: bytes, choices: Choices) -> bytes:
    """Change one field of a JSON document: type, value (NaN, 10^12, 5000 digits, ...), or
    presence; the result is valid JSON again (or the input when it was not JSON)."""
    try:
        content = json.loads(raw)
    except (ValueError, RecursionError):
        return raw
    changed = mutate_structure(content, choices, lambda c: pick(c, _JSON_VALUES), _same_leaf)
    text = json.dumps(changed)
    for marker, replacement in _JSON_RAW.items():
        text = text.replace(json.dumps(marker), replacement)
    return text.encode()


# ------------------------------------------------------------------ numpy files

#: Hostile ``.npy`` header fields: shape, dtype and order corruptions.
NPY_FIELDS: Mapping[str, tuple[str, ...]] = {
    "shape": (
        "(1000000000000, 3, 300, 25, 2)", "(-1, 3, 40, 25, 2)", "()", "(0,)", "(1, 1, 1, 1)",
        "(2, 3, 40, 25, 2, 1)", "(4611686018427387904, 4611686018427387904, 1, 1, 1)",
        "'abc'", "(2.5, 3)", "None", "(" + "9" * 5000 + ",)", "(3, 3, 40, 25, 3)",
        "(1, 3, 40, 25, 2)", "(100000, 3, 300, 25, 2)", "(1, 1)",
    ),
    "descr": (
        "'|O'", "'<U8'", "'|V16'", "'<c16'", "'>f4'", "'|b1'", "'<M8[s]'", "'<f2'", "'<i8'",
        "'<f8'", "[('a', '<f4')]", "'garbage'", "''", "'|S0'",
    ),
    "fortran_order": ("True", "'yes'", "1", "None"),
}  # fmt: skip
_NPY_MAGIC = b"\x93NUMPY"


def mutate_npy_header(raw: bytes, choices: Choices) -> bytes:
    """Corrupt one field of an ``.npy`` header (shape, dtype, order), or drop it."""
    if not raw.startswith(_NPY_MAGIC) or len(raw) < 12:
        return raw
    size_bytes = 2 if raw[6] == 1 else 4
    start = 8 + size_bytes
    end = start + int.from_bytes(raw[8:start], "little")
    try:
        fields = ast.literal_eval(raw[start:end].decode("latin-1"))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return raw
    if not isinstance(fields, dict):
        return raw
    texts = {str(key): repr(value) for key, value in fields.items()}
    key = pick(choices, list(NPY_FIELDS))
    if choices.integer(0, 9) == 0:
        texts.pop(key, None)
    else:
        texts[key] = pick(choices, NPY_FIELDS[key])
    header = ("{" + ", ".join(f"{k!r}: {v}" for k, v in texts.items()) + ", }").encode()
    version, size_bytes = (b"\x01\x00", 2) if len(header) < 65_000 else (b"\x02\x00", 4)
    header += b" " * (-(len(header) + 9 + size_bytes) % 64) + b"\n"
    return _NPY_MAGIC + version + len(header).to_bytes(size_bytes, "little") + header + raw[end:]


#: Member names an ``.npz`` may be given instead of its own (schema keys and near misses).
NPZ_NAMES: tuple[str, ...] = (
    "data.npy", "sample_0.npy", "sample_7.npy", "sample_0001.npy", "sample_x.npy",
    "labels.npy", "lengths.npy", "persons.npy", "names.npy", "layout.npy", "channels.npy",
    "class_names.npy", "format_version.npy", "data",
)  # fmt: skip


def mutate_npz_member(raw: bytes, choices: Choices) -> bytes:
    """Corrupt one member of an ``.npz`` zip (header, bytes, name) or drop / repeat one."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    except Exception:  # noqa: BLE001 - an earlier mutation may have broken the zip
        return raw
    if not members:
        return raw
    index = choices.integer(0, len(members) - 1)
    name, content = members[index]
    operation = choices.integer(0, 4)
    if operation == 0:
        members[index] = (name, mutate_npy_header(content, choices))
    elif operation == 1:
        members[index] = (name, pick(choices, BYTE_MUTATORS)(content, choices))
    elif operation == 2:
        members[index] = (pick(choices, NPZ_NAMES), content)
    elif operation == 3:
        del members[index]
    else:
        members.append((pick(choices, NPZ_NAMES), content))
    out = io.BytesIO()
    compression = pick(choices, (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", compression) as archive:
        warnings.simplefilter("ignore")  # duplicate member names are one of the cases
        for member, content in members:
            archive.writestr(member, content)
    return out.getvalue()


# ------------------------------------------------------------------ pickles


class Call:
    """Pickles as a call of ``func(*args)``: a hostile use of an allowed global."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self.func = func
        self.args = args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.func, self.args)


def _shared_reference_bomb(depth: int = 40) -> list[Any]:
    """A list whose printed form doubles per level while the pickle stays tiny."""
    node: list[Any] = ["x"]
    for _ in range(depth):
        node = [node, node]
    return node


@cache
def _pickle_values() -> tuple[Any, ...]:
    from numpy._core.multiarray import _reconstruct

    return (
        *(v for v in _JSON_VALUES if not (isinstance(v, str) and v in _JSON_RAW)),
        10**5000, 1e39, np.zeros((0, 3)), np.array("x"), np.array(1.0), np.float64(np.nan),
        np.zeros((1, 1, 1, 1), np.complex64), np.ones((1, 2, 17, 2), object),
        np.full((1, 4, 17, 2), 1e39), np.int64(-5), b"\x00", {1, 2}, (),
        Call(bytes, 10**10), Call(bytearray, 10**10), Call(set, range(10**12)),
        Call(frozenset, range(10**12)), Call(bytes, range(10**12)),
        Call(_reconstruct, np.ndarray, (10**10,), b"b"), _shared_reference_bomb(),
    )  # fmt: skip


def _mutate_array(node: Any, choices: Choices) -> Any:
    """Change a numpy array: dtype, rank, emptiness, or one hostile element."""
    if not isinstance(node, np.ndarray) or node.size == 0:
        return node
    node = np.atleast_1d(node)
    operation = choices.integer(0, 4)
    numeric = node.dtype.kind in "biuf"
    if operation == 0 or (operation == 4 and not numeric):
        # strings, objects and complex numbers cast safely only to these
        kinds = (np.complex64, object, np.str_, np.bool_, np.float16) if numeric else (object,)
        return node.astype(pick(choices, kinds))
    if operation == 1:
        return node[None] if choices.integer(0, 1) else node.reshape(node.shape[:-2] + (-1,))
    if operation == 2:
        return node[..., :0]
    if operation == 3:
        return node.T
    out = np.array(node, dtype=np.float64)
    out.flat[choices.integer(0, out.size - 1)] = pick(choices, (np.nan, np.inf, -1e39, 1e300))
    return out


def mutate_pickle(raw: bytes, choices: Choices) -> bytes:
    """Change one node of a pickled structure (values, types, arrays, calls of allowed
    globals with huge arguments) and pickle it again with any protocol."""
    try:
        content = safe_loads(raw)
    except SkeletonDataError:
        return raw
    changed = mutate_structure(content, choices, lambda c: pick(c, _pickle_values()), _mutate_array)
    protocol = choices.integer(0, pickle.HIGHEST_PROTOCOL)
    try:
        return pickle.dumps(changed, protocol=protocol)
    except ValueError:  # protocols 0-1 write integers as text, within Python's digit limit
        return pickle.dumps(changed, protocol=pickle.HIGHEST_PROTOCOL)


# ------------------------------------------------------------------ by file type

#: The mutators for each file suffix.
MUTATORS: Mapping[str, tuple[Mutator, ...]] = {
    ".skeleton": BYTE_MUTATORS + TEXT_MUTATORS,
    ".txt": BYTE_MUTATORS + TEXT_MUTATORS,
    ".json": BYTE_MUTATORS + TEXT_MUTATORS + (mutate_json,) * 4,
    ".npy": BYTE_MUTATORS + (mutate_npy_header,) * 4,
    ".npz": BYTE_MUTATORS + (mutate_npz_member,) * 4,
    ".pkl": BYTE_MUTATORS + (mutate_pickle,) * 4,
}


def mutate_files(seeds: Sequence[Mapping[str, bytes]], choices: Choices) -> dict[str, bytes]:
    """Pick one seed (file name -> content), one of its files, and apply 1-3 mutations."""
    files = dict(pick(choices, seeds))
    name = pick(choices, sorted(files))
    mutators = MUTATORS["." + name.rsplit(".", 1)[-1]]
    for _ in range(choices.integer(1, 3)):
        files[name] = pick(choices, mutators)(files[name], choices)
    return files
