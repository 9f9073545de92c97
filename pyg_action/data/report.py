"""What reading a data source found: good samples, bad ones with their reasons, and the rest.

:class:`ReadReport` is made by :func:`~pyg_action.data.prepared.read_folder`,
:func:`~pyg_action.data.prepared.prepare` (and stored as a cache's ``report.json``) and by
every dataset builder, which adds what its own filters left out. It formats itself
(:meth:`ReadReport.summary`) and reads like the JSON object it is stored as
(``report["bad_files"]``, ``report.get("unread_files", [])``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["ReadReport"]

#: The keys of a report's JSON object that are fields of :class:`ReadReport`.
_FIELDS = ("good", "bad", "bad_files", "unread_files", "source", "format", "filtered")


@dataclass(eq=False)
class ReadReport(Mapping[str, Any]):
    """The outcome of reading a source.

    Attributes:
        good: Samples that passed every check.
        bad_files: ``(file or sample, reason)`` of every file or sample that was rejected.
        unread_files: Files of the source in no format that was read.
        source: The folder or file that was read.
        format: The reader format (``None``: from each file's suffix).
        filtered: Samples a dataset's filter left out, counted by reason.
        extra: Facts a dataset adds (``excluded``, ``benchmark``, ``unlisted``, ...).

    As a mapping it is the JSON object of ``report.json``: ``good``, ``bad`` (the number of
    ``bad_files``), ``bad_files`` (``[file, reason]`` lists), ``source``, ``format``, then
    ``unread_files`` and ``filtered`` when not empty, then ``extra``'s keys.
    """

    good: int = 0
    bad_files: list[tuple[str, str]] = field(default_factory=list)
    unread_files: list[str] = field(default_factory=list)
    source: str | None = None
    format: str | None = None
    filtered: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bad(self) -> int:
        """The number of rejected files and samples."""
        return len(self.bad_files)

    @classmethod
    def of(cls, report: Mapping[str, Any] | None) -> ReadReport:
        """A report from its JSON object (``report.json``, an older dict); a
        :class:`ReadReport` is copied.

        Raises:
            TypeError, ValueError, OverflowError: an object that is not a report (wrong
                types, ``[file, reason]`` entries of another length, an infinite count).
        """
        if report is None:
            return cls()
        source, format = report.get("source"), report.get("format")
        return cls(
            good=int(report.get("good", 0)),
            bad_files=[(str(file), str(reason)) for file, reason in report.get("bad_files", [])],
            unread_files=[str(file) for file in report.get("unread_files", [])],
            source=None if source is None else str(source),
            format=None if format is None else str(format),
            filtered=dict(report.get("filtered") or {}),
            extra={key: value for key, value in report.items() if key not in _FIELDS},
        )

    def with_bad(self, entries: Iterable[tuple[str, str]]) -> ReadReport:
        """A copy that also lists ``entries`` as rejected."""
        return replace(self, bad_files=[*self.bad_files, *entries])

    def with_facts(self, filtered: Mapping[str, int] | None = None, **extra: Any) -> ReadReport:
        """A copy with a dataset's left-out counts (``filtered``) and facts (``extra``)."""
        merged = {**self.filtered, **(filtered or {})}
        return replace(self, filtered=merged, extra={**self.extra, **extra})

    @property
    def noteworthy(self) -> bool:
        """True when something was rejected, not read or left out (worth telling the user)."""
        return bool(self.bad_files or self.unread_files or any(self.filtered.values()))

    def summary(self, limit: int | None = 20) -> str:
        """A short human-readable summary, listing at most ``limit`` entries of a kind."""
        lines = [f"{self.good} good, {self.bad} bad samples"]
        bad = [f"bad: {file}: {reason}" for file, reason in self.bad_files]
        unread = [f"not read: {file}" for file in self.unread_files]
        for kind in (bad, unread):
            lines.extend(f"  {line}" for line in (kind[:limit] if limit is not None else kind))
            if limit is not None and len(kind) > limit:
                lines.append(f"  ... and {len(kind) - limit} more (see the report)")
        for reason, count in self.filtered.items():
            lines.append(f"  left out: {count} sample(s): {reason}")
        for key, value in self.extra.items():
            count = len(value) if isinstance(value, list | tuple | dict) else value
            lines.append(f"  {key}: {count}")
        return "\n".join(lines)

    def left_out(self) -> str:
        """``"; N left out: reason"`` for every filter reason (for an empty-split message)."""
        return "".join(f"; {count} left out: {reason}" for reason, count in self.filtered.items())

    def to_dict(self) -> dict[str, Any]:
        """The JSON object (see the class doc)."""
        out: dict[str, Any] = {
            "good": self.good,
            "bad": self.bad,
            "bad_files": [[file, reason] for file, reason in self.bad_files],
            "source": self.source,
            "format": self.format,
        }
        if self.unread_files:
            out["unread_files"] = list(self.unread_files)
        if self.filtered:
            out["filtered"] = dict(self.filtered)
        out.update(self.extra)
        return out

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())

    def __str__(self) -> str:
        return self.summary()
