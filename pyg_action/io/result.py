"""The outcome of reading a file: the good samples and one error per bad sample."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..errors import SkeletonDataError
from ..sequence import SkeletonSequence


@dataclass
class ReadResult:
    """Samples read from one file.

    Attributes:
        samples: The samples that were read completely and passed every check.
        errors: One :class:`SkeletonDataError` per sample of a multi-sample container
            that could not be used (the other samples are still in ``samples``).
            Problems with the whole file are raised, never collected here.
    """

    samples: list[SkeletonSequence] = field(default_factory=list)
    errors: list[SkeletonDataError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no sample was rejected."""
        return not self.errors

    def __len__(self) -> int:
        return len(self.samples)

    def __iter__(self) -> Iterator[SkeletonSequence]:
        return iter(self.samples)

    @classmethod
    def collect(cls, items: Iterable[SkeletonSequence | SkeletonDataError]) -> ReadResult:
        """Split a stream of samples and per-sample errors into a result."""
        result = cls()
        for item in items:
            if isinstance(item, SkeletonDataError):
                result.errors.append(item)
            else:
                result.samples.append(item)
        return result


#: What the lazy readers yield: a good sample, or the error that rejected one sample.
SampleOrError = SkeletonSequence | SkeletonDataError
