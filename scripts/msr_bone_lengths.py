"""MSR Action3D's bone lengths: how the subjects' bodies differ, and one body for all of them.

Each sequence is view- and scale-normalised as the MSR configs do (``pre_normalize``,
``scale_normalize``: mean bone length 1). Per sequence, each bone's length is its median over
the frames with a body, and its frame-to-frame jitter the median absolute deviation from that
median divided by it. Per subject the script prints the largest difference of a bone's
median length from the training subjects' body (in per cent of the latter) and the median
jitter; then that body, the mean over the training subjects' sequences of each bone's median
length, as the YAML mapping that ``set_bone_lengths`` takes as ``lengths``.

    python scripts/msr_bone_lengths.py --data /path/to/MSRAction3DSkeletonReal3D
"""

from __future__ import annotations

import numpy as np

from msr_sequences import data_folder, normalised_sequences
from pyg_action.data.splits import MSR_TRAIN_SUBJECTS
from pyg_action.layouts import get_layout


def sequence_bone_lengths(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Median length and relative standard deviation over the frames of each bone of one
    normalised ``(3, T, V)`` sequence, each ``(V,)`` with the centre's entry 0; ``None``
    without a frame with a body."""
    x = x[:, np.any(x != 0, axis=(0, 2))]
    if x.shape[1] == 0:
        return None
    norms = np.linalg.norm(get_layout("msr20").bone_array(x, axis=2), axis=0)  # (T, V)
    mean = norms.mean(axis=0)
    change = np.divide(norms.std(axis=0), mean, out=np.zeros_like(mean), where=mean > 0)
    return np.median(norms, axis=0), change


def main() -> None:
    layout = get_layout("msr20")
    lengths: dict[int, list[np.ndarray]] = {}
    change: dict[int, list[np.ndarray]] = {}
    folder = data_folder(__doc__.splitlines()[0])
    for subject, x in normalised_sequences(folder):
        measured = sequence_bone_lengths(x)
        if measured is not None:
            lengths.setdefault(subject, []).append(measured[0])
            change.setdefault(subject, []).append(measured[1])
    training = [np.stack(lengths[s]) for s in sorted(MSR_TRAIN_SUBJECTS) if s in lengths]
    if not training:
        raise SystemExit(f"no MSR Action3D training-subject skeleton files under {folder}")
    body = np.concatenate(training).mean(axis=0)
    bones = np.arange(layout.num_joints) != layout.center
    names = [joint for joint, bone in zip(layout.joints, bones, strict=True) if bone]
    print("subject  sequences  largest bone difference (%)     change over frames (%)")
    for subject in sorted(lengths):
        own = np.median(np.stack(lengths[subject]), axis=0)[bones] / body[bones] - 1
        worst = np.argmax(np.abs(own))
        moving = np.median(np.stack(change[subject])[:, bones].mean(axis=1))
        print(f"{subject:7d}  {len(lengths[subject]):9d}  {100 * own[worst]:+6.1f} "
              f"{'(' + names[worst] + ')':<22}{100 * moving:14.2f}")  # fmt: skip
    print("\nlengths:  # the training subjects' body, for set_bone_lengths")
    for name, value in zip(names, body[bones], strict=True):
        print(f"  {name}: {value:.3f}")


if __name__ == "__main__":
    main()
