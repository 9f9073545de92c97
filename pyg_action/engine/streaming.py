"""Sliding-window inference over a stream of skeleton frames.

Frames ``(C, V, M)`` arrive one at a time (from a file already read, or parsed line by line
from text with :func:`read_text_frames`); :func:`sliding_windows` keeps the last ``W`` of them
and hands out a ``(C, W, V, M)`` window every ``H`` frames; :func:`stream_predictions`
classifies each window and times it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from ..sequence import SkeletonSequence

#: Classifies sequences: top classes ``[(name, probability), ...]`` of each, best first.
Classifier = Callable[[list[SkeletonSequence]], list[list[tuple[str, float]]]]


class StreamFormatError(ValueError):
    """A line of a text frame stream that is not a frame."""


@dataclass(frozen=True)
class WindowPrediction:
    """The top class of one window.

    Attributes:
        start, stop: Frames ``start .. stop - 1`` of the stream (0-based).
        label, probability: The top class and its probability.
        latency_ms: Wall time of the classification (transforms and model), milliseconds.
    """

    start: int
    stop: int
    label: str
    probability: float
    latency_ms: float


def read_text_frames(
    lines: Iterable[str], num_joints: int, channels: int = 3
) -> Iterator[np.ndarray]:
    """Frames ``(C, V, M)`` parsed lazily from text, one frame per line.

    A line holds ``M * V * C`` numbers separated by spaces, tabs or commas: person by person,
    joint by joint, the ``C`` channels of each joint (``x y z`` for ``C = 3``). ``M`` is set
    by the first line and must not change. A blank line or the end of the input ends the
    stream. Each line is read only when the previous frame has been consumed.

    Raises:
        StreamFormatError: naming the 1-based line number of a malformed line (one that is
            not numbers, holds a non-finite one or has the wrong count).
    """
    per_person = num_joints * channels
    persons = None
    for number, line in enumerate(lines, start=1):
        tokens = line.replace(",", " ").split()
        if not tokens:
            return
        try:
            values = np.array([float(token) for token in tokens], dtype=np.float32)
        except ValueError as exc:
            raise StreamFormatError(f"line {number}: not a number ({exc})") from exc
        if not np.isfinite(values).all():
            bad = tokens[int(np.flatnonzero(~np.isfinite(values))[0])]
            raise StreamFormatError(f"line {number}: non-finite value {bad!r}")
        if values.size % per_person:
            raise StreamFormatError(
                f"line {number}: {values.size} numbers, expected a multiple of "
                f"{per_person} ({num_joints} joints x {channels} channels per person)"
            )
        count = values.size // per_person
        if persons is None:
            persons = count
        elif count != persons:
            raise StreamFormatError(
                f"line {number}: {count} persons, but the stream started with {persons}"
            )
        yield values.reshape(count, num_joints, channels).transpose(2, 1, 0)


def sequence_frames(sequence: SkeletonSequence) -> Iterator[np.ndarray]:
    """The frames ``(C, V, M)`` of a sequence, in order."""
    for frame in range(sequence.num_frames):
        yield sequence.data[:, frame]


def sliding_windows(
    frames: Iterable[np.ndarray], window: int, hop: int
) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, (C, W', V, M))`` windows of ``window`` frames, every ``hop`` frames.

    A window ends at frames ``W, W + H, W + 2H, ...``. When the stream stops between two
    hops, a last window ends at the last frame; a stream shorter than ``W`` gives a single
    window of all its frames (so ``W' < W`` only then).
    """
    if window < 1 or hop < 1:
        raise ValueError(f"window and hop must be >= 1, got {window} and {hop}")
    recent: deque[np.ndarray] = deque(maxlen=window)
    seen = covered = 0
    for frame in frames:
        recent.append(frame)
        seen += 1
        if seen >= window and (seen - window) % hop == 0:
            yield seen - window, np.stack(recent, axis=1)
            covered = seen
    if seen > covered:
        yield seen - len(recent), np.stack(recent, axis=1)


def stream_predictions(
    frames: Iterable[np.ndarray],
    classify: Classifier,
    window: int,
    hop: int,
    layout: str = "",
    name: str = "stream",
) -> Iterator[WindowPrediction]:
    """Classify every window of :func:`sliding_windows`, timing each classification.

    Args:
        frames: ``(C, V, M)`` frames.
        classify: Classifier of a list of sequences (here one window at a time).
        window, hop: ``W`` and ``H``.
        layout: Layout name given to the window sequences.
        name: Name given to the window sequences (appears in error messages).
    """
    for start, data in sliding_windows(frames, window, hop):
        stop = start + data.shape[1]
        clip = SkeletonSequence(data, layout=layout, name=f"{name}[{start}:{stop}]")
        began = time.perf_counter()
        label, probability = classify([clip])[0][0]
        latency = (time.perf_counter() - began) * 1000.0
        yield WindowPrediction(start, stop, label, probability, latency)


def latency_summary(latencies_ms: Iterable[float]) -> dict[str, float]:
    """``count``, ``median`` and ``p95`` (linear interpolation) of latencies in ms."""
    values = np.asarray(list(latencies_ms), dtype=np.float64)
    if values.size == 0:
        return {"count": 0, "median": float("nan"), "p95": float("nan")}
    return {
        "count": int(values.size),
        "median": float(np.median(values)),
        "p95": float(np.percentile(values, 95)),
    }
