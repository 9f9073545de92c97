"""The in-memory form of one recorded skeleton sample, shared by readers and datasets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class SkeletonSequence:
    """One sample as a dense array in the official ``(C, T, V, M)`` order.

    Attributes:
        data: ``(C, T, V, M)`` float32: channels (e.g. x, y, z or x, y, score), frames,
            joints, persons. Only real persons are stored (``M >= 1``), no zero padding.
        label: 0-based class index, or ``None`` when unknown.
        layout: Name of the :class:`~pyg_action.layouts.SkeletonLayout` the joints follow.
        name: Sample identifier (usually the file stem).
        meta: Reader-specific facts (subject, camera, setup, source path, ...).
    """

    data: np.ndarray
    label: int | None = None
    layout: str = ""
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.data.ndim != 4:
            raise ValueError(
                f"sample {self.name!r}: data must be (C, T, V, M), got {self.data.shape}"
            )

    @property
    def num_channels(self) -> int:
        return int(self.data.shape[0])

    @property
    def num_frames(self) -> int:
        return int(self.data.shape[1])

    @property
    def num_joints(self) -> int:
        return int(self.data.shape[2])

    @property
    def num_persons(self) -> int:
        return int(self.data.shape[3])
