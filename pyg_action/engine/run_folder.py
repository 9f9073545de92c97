"""Choosing a training run's folder so that a rerun never overwrites an earlier run.

A folder *holds a run* when it has any file training writes (:data:`RUN_FILES`). Training
into such a folder needs ``resume``; otherwise the default folder (``runs/<model>-<data>``)
is numbered (``-2``, ``-3``, ...) and a folder the user named is refused.
"""

from __future__ import annotations

from pathlib import Path

#: Files a training run writes into its folder.
RUN_FILES = ("result.json", "last.pt", "best.pt", "log.jsonl", "config.json")


def run_files(folder: str | Path) -> list[str]:
    """The run files already in ``folder`` (empty for a new or unrelated folder)."""
    folder = Path(folder)
    return [name for name in RUN_FILES if (folder / name).exists()]


def choose_run_folder(folder: str | Path, *, named: bool, resume: bool) -> tuple[Path, str]:
    """The folder to train into, and a sentence saying what was decided (or ``""``).

    Args:
        folder: The requested folder.
        named: The user named it (``--out``): refuse instead of numbering.
        resume: Continue the run in ``folder`` (then it is used as it is).

    Raises:
        ValueError: ``named`` and the folder holds a run, without ``resume``.
    """
    folder = Path(folder)
    found = run_files(folder)
    if resume or not found:
        return folder, ""
    finished = "a finished run" if "result.json" in found else "an unfinished run"
    if named:
        raise ValueError(
            f"{folder} holds {finished} ({', '.join(found)}); nothing was overwritten: pass "
            "--resume to continue it, or another --out"
        )
    number = 2
    while run_files(numbered := folder.with_name(f"{folder.name}-{number}")):
        number += 1
    return numbered, f"{folder} holds {finished}; this run is written to {numbered}"
