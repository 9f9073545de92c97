"""The error types every reader and dataset raises for bad input.

:class:`DataError` names where the problem is (the file and, where known, the line, frame or
sample); each kind of data has its own subclass, so a caller can tell skeleton files from
images from graphs, and catch them all as :class:`DataError` (a :class:`ValueError`).
"""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad input data: names the file and, where known, the line, frame or sample.

    Args:
        message: What is wrong, in words a user can act on.
        path: The offending file.
        line: 1-based line number inside a text file.
        frame: 0-based frame index.
        sample: Sample name or index inside a multi-sample file.
    """

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        *,
        line: int | None = None,
        frame: int | None = None,
        sample: str | int | None = None,
    ) -> None:
        self.reason = message
        self.path = None if path is None else Path(path)
        self.line = line
        self.frame = frame
        self.sample = sample
        super().__init__(self.describe())

    def describe(self, *, with_path: bool = True) -> str:
        """The message: where (the file unless ``with_path`` is false, then the line, frame
        and sample, as known) and the reason."""
        where = [str(self.path)] if with_path and self.path is not None else []
        for name, value in (("line", self.line), ("frame", self.frame), ("sample", self.sample)):
            if value is not None:
                where.append(f"{name} {value}")
        return f"{', '.join(where)}: {self.reason}" if where else self.reason


class SkeletonDataError(DataError):
    """Bad skeleton input (a recorded skeleton file, a container, a prepared cache)."""


class ImageDataError(DataError):
    """Bad image input (an image folder or an image ``.npz``)."""


class GraphDataError(DataError):
    """Bad graph input (a graph ``.npz``)."""
