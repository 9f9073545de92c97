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

import numpy as np

from msr_sequences import data_folder, normalised_sequences


def sequence_jitter(x: np.ndarray) -> float | None:
    """The jitter of one normalised ``(3, T, V)`` sequence, ``None`` below 5 frames with a body."""
    x = x[:, np.any(x != 0, axis=(0, 2))]
    if x.shape[1] < 5:
        return None
    residual = x[:, 1:-1] - (x[:, :-2] + x[:, 1:-1] + x[:, 2:]) / 3
    return float(np.sqrt((residual**2).mean() * 1.5))


def main() -> None:
    by_subject: dict[int, list[float]] = {}
    for subject, x in normalised_sequences(data_folder(__doc__.splitlines()[0])):
        jitter = sequence_jitter(x)
        if jitter is not None:
            by_subject.setdefault(subject, []).append(jitter)
    print("subject  sequences  median  90th percentile")
    for subject, values in sorted(by_subject.items()):
        print(f"{subject:7d}  {len(values):9d}  {np.median(values):6.3f}  "
              f"{np.percentile(values, 90):15.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
