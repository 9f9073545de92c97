"""What the MSR Action3D measuring scripts (``msr_tracking_jitter.py``, ``msr_bone_lengths.py``)
share: the command line and the recordings as the MSR configs normalise them."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pyg_action.data.transforms import build_transforms
from pyg_action.errors import SkeletonDataError
from pyg_action.io import read_samples


def data_folder(description: str) -> Path:
    """The ``--data`` folder of a script's command line (default: ``../shared/data/msr_action3d``,
    the real data beside the project)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/msr_action3d"),
                        help="folder of MSR Action3D *_skeleton3D.txt files")  # fmt: skip
    return parser.parse_args().data


def normalised_sequences(folder: Path) -> Iterator[tuple[int, np.ndarray]]:
    """``(subject, x)`` for every ``*_skeleton3D.txt`` file under ``folder``, ``x`` its
    ``(3, T, 20)`` joints view- and scale-normalised as the MSR configs do
    (``pre_normalize``, ``scale_normalize``: mean bone length 1). A file the reader refuses
    (e.g. one whose coordinates are all zero) or that names no subject is named on standard
    output and skipped.

    Raises:
        SystemExit: when the folder holds no readable file.
    """
    head = build_transforms(["pre_normalize", "scale_normalize"], "msr20")
    found = False
    for path in sorted(folder.glob("*_skeleton3D.txt")):
        try:
            (sample,) = read_samples(path).samples
        except SkeletonDataError as exc:
            print(f"skipped: {exc}")
            continue
        subject = sample.meta.get("subject")  # the reader's, from the file name
        if subject is None:
            print(f"skipped: {path}: no subject in the file name")
            continue
        found = True
        yield int(subject), head(sample.data)[..., 0]
    if not found:
        raise SystemExit(f"no MSR Action3D skeleton files under {folder}")
