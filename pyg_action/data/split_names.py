"""The split vocabulary: what a caller asks for and what a file stores, parsed in one place.

There are two splits, ``train`` and ``test``; a validation split *is* the test split, so
``val``, ``valid``, ``validation`` and ``eval`` name it too. A caller may also ask for
``all`` samples. Every dataset, split protocol and transform lookup parses names here, and a
per-sample split name stored in a file (an ``.npz`` ``split`` key, an image or graph
archive's ``split`` array) that is none of these is an error naming the file and the
sample, never a silent guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from ..errors import DataError

__all__ = [
    "ALL",
    "TEST",
    "TEST_NAMES",
    "TRAIN",
    "requested_split",
    "select_stored",
    "split_part",
    "stored_split",
]

TRAIN: Literal["train"] = "train"
TEST: Literal["test"] = "test"
ALL: Literal["all"] = "all"
#: Names of the held-out split (validation counts as test).
TEST_NAMES = ("test", "val", "valid", "validation", "eval")

Part = Literal["train", "test"]


def split_part(name: str) -> Part | None:
    """``"train"`` or ``"test"`` for a split name (any case, spaces around ignored);
    ``None`` when it is not one."""
    key = str(name).strip().lower()
    if key == TRAIN:
        return TRAIN
    if key in TEST_NAMES:
        return TEST
    return None


def requested_split(name: str) -> Literal["train", "test", "all"]:
    """The split a caller asks for: ``train``, ``test`` (or a validation name) or ``all``.

    Raises:
        ValueError: any other name.
    """
    if str(name).strip().lower() == ALL:
        return ALL
    part = split_part(name)
    if part is None:
        raise ValueError(
            f"unknown split {name!r}; use train, test (val, valid, validation and eval "
            "name the test split too) or all"
        )
    return part


def stored_split(
    value: str,
    path: str | Path | None,
    sample: str | int,
    error: type[DataError] = DataError,
) -> Part:
    """The split a file stores for one sample.

    Raises:
        DataError: (of type ``error``) the stored name is not a split name; the error names
            ``path`` and ``sample``.
    """
    part = split_part(value)
    if part is None:
        raise error(
            f"stored split {str(value)!r} is not train or test (nor val, valid, validation, eval)",
            path,
            sample=sample,
        )
    return part


def select_stored(
    requested: str,
    stored: Sequence[str],
    path: str | Path | Sequence[str | Path | None] | None,
    names: Sequence[str | int] | None = None,
    error: type[DataError] = DataError,
) -> list[int]:
    """Indices of the samples whose stored split is the one ``requested`` (every index for
    ``all``).

    Every stored name is checked (:func:`stored_split`), whatever is requested. ``path`` is
    the file of every sample, or one file per sample; ``names`` name the samples in errors
    (default: their indices).
    """
    want = requested_split(requested)
    paths = [path] * len(stored) if path is None or isinstance(path, str | Path) else path
    parts = [
        stored_split(value, paths[i], names[i] if names is not None else i, error)
        for i, value in enumerate(stored)
    ]
    return [i for i, part in enumerate(parts) if want in (ALL, part)]
