"""Where a dataset's samples come from: one protocol, whatever holds them.

Every skeleton dataset reads its samples through a :class:`SampleSource`: the names, meta
data, labels and layout of all samples up front (what splits and filters decide on), and one
sample's ``(C, T, V, M)`` array on demand (what :class:`~pyg_action.data.SkeletonDataset`
transforms and batches). Two kinds implement it:

* :class:`InMemorySource`: sequences in memory: generated ones, or the files and containers
  of a folder read with :func:`~pyg_action.data.prepared.read_folder`;
* :class:`~pyg_action.data.prepared.PreparedCache`: a prepared cache, memory-mapped.

:func:`open_source` turns what a caller holds (a cache path, a list of sequences, a source)
into one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import SkeletonDataError
from ..layouts import SkeletonLayout, get_layout
from ..sequence import SkeletonSequence
from .report import ReadReport

__all__ = ["InMemorySource", "SampleSource", "open_source"]


@runtime_checkable
class SampleSource(Protocol):
    """The samples of a data source, indexed ``0 .. len - 1``.

    Attributes:
        description: How messages name the source.
        names: Every sample's name.
        metas: Every sample's reader facts (subject, camera, source file, ...).
        labels: Every sample's class, ``int64``, ``-1`` when unknown.
        layout: The layout name or file the samples follow (``None``: not one recorded).
        report: What reading the source found.
    """

    @property
    def description(self) -> str: ...

    @property
    def names(self) -> Sequence[str]: ...

    @property
    def metas(self) -> Sequence[Mapping[str, Any]]: ...

    @property
    def labels(self) -> np.ndarray: ...

    @property
    def layout(self) -> str | None: ...

    @property
    def report(self) -> ReadReport: ...

    def __len__(self) -> int: ...

    def array(self, index: int) -> np.ndarray:
        """Sample ``index``'s ``(C, T, V, M)`` array (read-only; may be a view)."""
        ...

    def __getitem__(self, index: int) -> SkeletonSequence: ...

    def get_layout(self) -> SkeletonLayout:
        """The samples' layout; an error when the source records none."""
        ...


class InMemorySource:
    """Sequences held in memory as a :class:`SampleSource`.

    Args:
        sequences: The samples.
        report: What reading them found (default: all good).
        description: How messages name them (default: ``"N in-memory sequences"``).
    """

    def __init__(
        self,
        sequences: Sequence[SkeletonSequence],
        report: ReadReport | None = None,
        description: str | None = None,
    ) -> None:
        self.sequences = list(sequences)
        self.description = description or f"{len(self.sequences)} in-memory sequences"
        self.report = report if report is not None else ReadReport(good=len(self.sequences))
        self.names = [s.name for s in self.sequences]
        self.labels = np.array(
            [-1 if s.label is None else s.label for s in self.sequences], dtype=np.int64
        )
        self._layouts = sorted({s.layout for s in self.sequences})
        self.layout = self._layouts[0] if len(self._layouts) == 1 and self._layouts[0] else None

    @property
    def metas(self) -> list[dict[str, Any]]:
        return [s.meta for s in self.sequences]

    def __len__(self) -> int:
        return len(self.sequences)

    def array(self, index: int) -> np.ndarray:
        return self.sequences[index].data

    def __getitem__(self, index: int) -> SkeletonSequence:
        return self.sequences[index]

    def get_layout(self) -> SkeletonLayout:
        if self.layout is None:
            raise SkeletonDataError(
                f"{self.description}: the sequences name layouts {self._layouts}; pass layout="
            )
        return get_layout(self.layout)

    def __repr__(self) -> str:
        return f"InMemorySource({self.description!r})"


def open_source(source: SampleSource | Sequence[SkeletonSequence] | str | Path) -> SampleSource:
    """A :class:`SampleSource` for a source, a prepared cache's path or a list of sequences."""
    if isinstance(source, str | Path):
        from .prepared import open_prepared

        return open_prepared(source)
    if isinstance(source, SampleSource):
        return source
    return InMemorySource(source)
