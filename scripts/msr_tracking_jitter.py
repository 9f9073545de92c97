"""Per subject, how much frame-to-frame jitter MSR Action3D's skeletons carry.

Each sequence is view- and scale-normalised as the MSR configs do (``pre_normalize``,
``scale_normalize``: mean bone length 1). Its jitter is the root mean square of what a
3-frame moving average removes from each coordinate, ``x[t] - (x[t-1] + x[t] + x[t+1]) / 3``,
over the frames with a body, divided by ``sqrt(2/3)``: white noise of standard deviation
``s`` leaves exactly ``s * sqrt(2/3)``, so the figure is in the units of ``random_jitter``'s
``sigma``. Fast real motion counts too: an upper bound on the sensor's noise.

    python scripts/msr_tracking_jitter.py --data /path/to/MSRAction3DSkeletonReal3D
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pyg_action.data.transforms import build_transforms
from pyg_action.errors import SkeletonDataError
from pyg_action.io import read_samples


def sequence_jitter(x: np.ndarray) -> float | None:
    """The jitter of one normalised ``(3, T, V)`` sequence, ``None`` below 5 frames with a body."""
    x = x[:, np.any(x != 0, axis=(0, 2))]
    if x.shape[1] < 5:
        return None
    residual = x[:, 1:-1] - (x[:, :-2] + x[:, 1:-1] + x[:, 2:]) / 3
    return float(np.sqrt((residual**2).mean() * 1.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/msr_action3d"),
                        help="folder of MSR Action3D *_skeleton3D.txt files")  # fmt: skip
    args = parser.parse_args()
    head = build_transforms(["pre_normalize", "scale_normalize"], "msr20")
    by_subject: dict[int, list[float]] = {}
    for path in sorted(args.data.glob("*_skeleton3D.txt")):
        try:
            (sample,) = read_samples(path).samples
        except SkeletonDataError as exc:  # e.g. a file whose coordinates are all zero
            print(f"skipped: {exc}")
            continue
        jitter = sequence_jitter(head(sample.data)[..., 0])
        subject = sample.meta.get("subject")  # the reader's, from the file name
        if jitter is not None and subject is not None:
            by_subject.setdefault(int(subject), []).append(jitter)
    if not by_subject:
        raise SystemExit(f"no MSR Action3D skeleton files under {args.data}")
    print("subject  sequences  median  90th percentile")
    for subject, values in sorted(by_subject.items()):
        print(f"{subject:7d}  {len(values):9d}  {np.median(values):6.3f}  "
              f"{np.percentile(values, 90):15.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
