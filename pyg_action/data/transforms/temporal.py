"""Transforms of the frames: uniform resampling, dropping frames without a body, median
filtering, random crops and simulated tracking loss."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import SkeletonDataError
from .base import (
    Transform,
    _check,
    _num_coords,
    _present,
    register_transform,
)


def _part_offsets(num_frames: int, length: int, rng: np.random.Generator | None) -> np.ndarray:
    """Where in each of ``length`` equal parts of ``num_frames`` frames uniform sampling reads,
    as a fraction of the part: ``length`` uniform draws from ``rng`` (training), else 0.5."""
    if num_frames < 1:
        raise SkeletonDataError("cannot sample frames from an empty sequence")
    if length < 1:
        raise ValueError(f"uniform_sample: length must be >= 1, got {length}")
    return np.full(length, 0.5) if rng is None else rng.random(length)


def uniform_sample_indices(
    num_frames: int, length: int, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Frame indices of uniform temporal sampling.

    With ``T >= L`` the frames are cut into ``L`` segments at ``b_i = floor(i * T / L)`` and
    segment ``i`` contributes one frame of ``[b_i, b_{i+1})``: a uniformly random one when
    ``rng`` is given (training), its centre ``b_i + (b_{i+1} - b_i) // 2`` otherwise
    (deterministic, for testing). With ``T < L`` frame ``floor((i + u) * T / L)`` is taken,
    ``u`` random or 0.5, so frames repeat. Indices are always non-decreasing.
    """
    u = _part_offsets(num_frames, length, rng)
    if num_frames >= length:
        bounds = (np.arange(length + 1) * num_frames) // length
        size = np.diff(bounds)
        offset = size // 2 if rng is None else np.floor(u * size).astype(np.int64)
        return bounds[:-1] + np.minimum(offset, size - 1)
    index = np.floor((np.arange(length) + u) * num_frames / length).astype(np.int64)
    return np.clip(index, 0, num_frames - 1)


def uniform_sample_positions(
    num_frames: int, length: int, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Fractional frame positions of uniform temporal resampling by interpolation.

    Frame ``k`` spans ``[k, k + 1)`` of the recording's time, so the point ``i + u`` of ``L``
    equal parts of it lies at frame position ``p_i = (i + u) T / L - 0.5``, clipped to
    ``[0, T - 1]``; ``u`` is uniformly random per part (training; the same ``L`` draws as
    :func:`uniform_sample_indices`) or 0.5, each part's centre (testing; ``T = L`` gives the
    frames themselves). Strictly increasing before the clip, non-decreasing after it.
    """
    u = _part_offsets(num_frames, length, rng)
    position = (np.arange(length) + u) * num_frames / length - 0.5
    return np.clip(position, 0.0, num_frames - 1)


def interpolate_frames(x: np.ndarray, position: np.ndarray) -> np.ndarray:
    """``x`` ``(C, T, V, M)`` read at fractional frame ``position`` ``(L,)`` -> ``(C, L, V, M)``.

    Between frames ``k = floor(p)`` and ``k + 1`` the value is ``(1 - w) x_k + w x_{k+1}``,
    ``w = p - k``. Where the person is missing from either frame (tracking lost) nothing is
    blended: the nearer frame is taken as it is, so a body is never mixed with the zeros of a
    lost frame.
    """
    num_frames = x.shape[1]
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, num_frames - 1)
    weight = position - low  # (L,)
    present = _present(x)  # (T, M)
    blend = present[low] & present[high]  # (L, M)
    nearest = (weight >= 0.5).astype(np.float64)
    w = np.where(blend, weight[:, None], nearest[:, None])[None, :, None, :]  # (1, L, 1, M)
    return (1.0 - w) * x[:, low] + w * x[:, high]


@register_transform("drop_missing_frames", "valid_frames")
class DropMissingFrames(Transform):
    """Remove the frames in which no person is present (every channel of every person zero).

    Trackers write all-zero frames where they lost the body: MSR Action3D's Kinect v1 loses
    some subjects while they bend down, so half of several "pick up & throw" and "bend"
    sequences is zeros. Kept, such a frame reaches the model as a body collapsed onto one
    point, and the frames around it as a jump of metres in the motion stream. The official
    ST-GCN and CTR-GCN feeders likewise keep only the frames with a body (they count them
    and crop). The remaining frames keep their order; a sample without any is an error.
    """

    deterministic = True

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check(x)
        keep = np.flatnonzero(_present(x).any(axis=1))
        if keep.size == 0:
            raise SkeletonDataError("drop_missing_frames: no frame of the sample holds a body")
        return np.ascontiguousarray(x[:, keep], dtype=np.float32)


@register_transform("uniform_sample")
class UniformSample(Transform):
    """Resample to exactly ``length`` frames (see :func:`uniform_sample_indices`).

    Args:
        length: Output frames.
        mode: ``"train"`` picks a random frame inside each segment, ``"test"`` its centre.
        interpolate: Read the recording at the fractional positions of
            :func:`uniform_sample_positions` by linear interpolation between neighbouring
            frames (:func:`interpolate_frames`) instead of picking whole frames: a recording
            shorter than ``length`` is stretched rather than played with repeated frames, so
            the motion between output frames is never zero because a frame was repeated.
    """

    def __init__(self, length: int = 64, mode: str = "test", interpolate: bool = False) -> None:
        if mode not in ("train", "test"):
            raise ValueError(f"uniform_sample: mode must be 'train' or 'test', got {mode!r}")
        if length < 1:
            raise ValueError(f"uniform_sample: length must be >= 1, got {length}")
        self.length = int(length)
        self.mode = mode
        self.interpolate = bool(interpolate)

    @property
    def deterministic(self) -> bool:  # type: ignore[override]  # the centres in test mode
        return self.mode == "test"

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check(x)
        draws = rng if self.mode == "train" else None
        if self.interpolate:
            position = uniform_sample_positions(x.shape[1], self.length, draws)
            return np.ascontiguousarray(interpolate_frames(x, position), dtype=np.float32)
        index = uniform_sample_indices(x.shape[1], self.length, draws)
        return np.ascontiguousarray(x[:, index], dtype=np.float32)


@register_transform("temporal_median", "median_filter")
class TemporalMedian(Transform):
    """Median filter over time: each coordinate of each joint becomes the median of the
    ``window`` frames centred on it (at the ends the first and last frames are repeated to fill
    the window, so a steady motion is kept exactly).

    Removes single-frame tracking glitches (a joint that jumps to the background in depth for
    a frame or two, common on Kinect v1 data) while keeping motion edges. Each person is
    filtered over its own present frames; missing person-frames stay zero.
    """

    deterministic = True

    def __init__(self, window: int = 5, coords: int | None = None) -> None:
        if window < 1 or window % 2 == 0:
            raise ValueError(f"temporal_median: window must be odd and >= 1, got {window}")
        self.window = int(window)
        self.coords = coords

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        x = _check(x)
        c = _num_coords(x, self.coords)
        out = np.array(x, dtype=np.float32, copy=True)
        half = self.window // 2
        present = _present(x)
        for person in range(x.shape[3]):
            frames = np.flatnonzero(present[:, person])
            if frames.size <= 1 or half == 0:
                continue
            track = x[:c, :, :, person][:, frames]  # (c, T_p, V)
            padded = np.pad(track, ((0, 0), (half, half), (0, 0)), mode="edge")
            windows = np.lib.stride_tricks.sliding_window_view(padded, self.window, axis=1)
            person_view = out[:c, :, :, person]  # (c, T, V), a view of ``out``
            person_view[:, frames] = np.median(windows, axis=-1)
        return out


@register_transform("random_crop")
class RandomCrop(Transform):
    """Keep a random contiguous window of the frames.

    Args:
        ratio: Fraction of the frames kept, one number or ``[low, high]`` drawn uniformly.
        min_length: Never crop below this many frames (or the whole sequence if shorter).
    """

    def __init__(self, ratio: float | Sequence[float] = (0.5, 1.0), min_length: int = 1) -> None:
        low, high = (ratio, ratio) if isinstance(ratio, int | float) else ratio
        if not 0 < low <= high <= 1:
            raise ValueError(f"random_crop: need 0 < low <= high <= 1, got ratio={ratio}")
        self.ratio = (float(low), float(high))
        self.min_length = max(1, int(min_length))

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check(x)
        frames = x.shape[1]
        keep = int(round(rng.uniform(*self.ratio) * frames))
        keep = min(frames, max(keep, self.min_length, 1))
        start = int(rng.integers(0, frames - keep + 1))
        return np.ascontiguousarray(x[:, start : start + keep], dtype=np.float32)


def lost_frame_mask(
    frames: int, draws: np.ndarray, p: float, span: tuple[float, float]
) -> np.ndarray:
    """``(T,)`` True at the frames :class:`RandomLostFrames` blanks for its three draws.

    With ``draws = (u0, u1, u2)`` uniform in ``[0, 1)``: nothing when ``u0 >= p``; else a span
    of ``k = floor((low + (high - low) u1) T)`` frames starting at
    ``s = floor(u2 (T + k - 1)) - k + 1``, uniform over the starts at which it overlaps the clip,
    and the frames ``s <= t < s + k`` inside the clip are lost: a span over an end is cut
    there, as a loss at the start or the end of a recording is.
    """
    low, high = span
    count = np.floor((low + (high - low) * draws[1]) * frames)
    first = np.floor(draws[2] * (frames + count - 1)) - count + 1
    steps = np.arange(frames)
    return (draws[0] < p) & (steps >= first) & (steps < first + count)


@register_transform("random_lost_frames", "random_tracking_loss")
class RandomLostFrames(Transform):
    """Blank a random span of frames as a tracker that lost the body writes them (all zeros).

    With probability ``p`` a sample loses a span: every channel of every person zero there.

    Depth-sensor trackers lose the body for whole runs of frames (MSR Action3D's Kinect v1 while
    a subject bends down: up to 80 % of a sequence, sometimes until its end). When the training
    recordings lose it in a few classes only, the model learns "zeros mean that class"; blanking
    spans of every class's training samples teaches it to read the frames that remain.

    Args:
        p: Probability that a sample loses a span.
        span: ``[low, high]``: the span's length as a fraction of the frames, drawn uniformly
            (``high < 1``, so a frame always remains).

    Three numbers are drawn from ``rng`` per sample, used or not (:func:`lost_frame_mask`).
    """

    def __init__(self, p: float = 0.5, span: Sequence[float] = (0.1, 0.5)) -> None:
        if not 0 <= p <= 1:
            raise ValueError(f"random_lost_frames: p must be in [0, 1], got {p}")
        if len(span) != 2 or not 0 <= span[0] <= span[1] < 1:
            raise ValueError(
                f"random_lost_frames: span is [low, high] with 0 <= low <= high < 1, got {span}"
            )
        self.p = float(p)
        self.span = (float(span[0]), float(span[1]))

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        x = _check(x)
        lost = lost_frame_mask(x.shape[1], rng.random(3), self.p, self.span)
        out = np.array(x, dtype=np.float32, copy=True)
        out[:, lost] = 0.0
        return out
