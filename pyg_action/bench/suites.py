"""The suites behind ``pyg-action benchmark``: which comparisons run, at which sizes.

``quick`` sizes finish in about a minute on a laptop CPU; the full sizes are the shapes of
real use (NTU-25 at 100 frames, MSR Action3D at its recorded lengths, ViG on 14x14 patches).
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

NARROW = {"channels": (16, 16, 32, 32), "strides": (1, 2, 1, 2)}


def _msr_samples(root: str | Path) -> list[np.ndarray]:
    from ..errors import SkeletonDataError
    from ..io.msr import read_msr_action3d

    samples = []
    for path in sorted(glob.glob(str(Path(root) / "*_skeleton3D.txt"))):
        try:
            samples.append(read_msr_action3d(path).data)
        except SkeletonDataError:
            continue
    if not samples:
        raise FileNotFoundError(f"no MSR Action3D files under {root}")
    return samples


def stgcn_suite(quick: bool, device: str, msr_root: str | Path) -> list[dict[str, Any]]:
    from .stgcn import fixed_length, variable_length

    options = NARROW if quick else {}
    results = [
        fixed_length(
            "ntu25",
            32 if quick else 100,
            2,
            2 if quick else 4,
            options,
            device,
            repeats=3 if quick else 5,
        ),
        fixed_length(
            "openpose18",
            32 if quick else 150,
            1,
            2 if quick else 4,
            options,
            device,
            repeats=3 if quick else 5,
        ),
    ]
    if Path(msr_root).is_dir():
        results.append(
            variable_length(
                _msr_samples(msr_root),
                "msr20",
                8 if quick else 16,
                1 if quick else 4,
                options=options,
                device=device,
                repeats=2 if quick else 3,
            )
        )
    return results


def shiftgcn_suite(quick: bool, device: str, msr_root: str | Path) -> list[dict[str, Any]]:
    from .shift import benchmark_shiftgcn

    size: dict[str, Any] = (
        {"batch_size": 2, "frames": 32, "repeats": 3} if quick else {"frames": 64}
    )
    return [benchmark_shiftgcn(**size, message=not quick)]


def vig_suite(quick: bool, device: str, msr_root: str | Path) -> list[dict[str, Any]]:
    from .vig import benchmark_grapher

    size: dict[str, Any] = {"batch_size": 2, "channels": 48, "repeats": 5} if quick else {}
    return [benchmark_grapher(**size)]


SUITES: dict[str, Callable[[bool, str, str | Path], list[dict[str, Any]]]] = {
    "stgcn": stgcn_suite,
    "shiftgcn": shiftgcn_suite,
    "vig": vig_suite,
}
