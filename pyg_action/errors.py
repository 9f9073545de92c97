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
        where = []
        if self.path is not None:
            where.append(str(self.path))
        if line is not None:
            where.append(f"line {line}")
        if frame is not None:
            where.append(f"frame {frame}")
        if sample is not None:
            where.append(f"sample {sample}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
