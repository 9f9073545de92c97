"""The one error type every reader and dataset raises for bad input."""

from __future__ import annotations

from pathlib import Path


class SkeletonDataError(ValueError):
    """Bad skeleton input: names the file and, where known, the line, frame or sample.

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
