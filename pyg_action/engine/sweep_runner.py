"""Running a sweep's trainings as separate processes, several at once.

Every (variant, seed) trains in its own ``python -m pyg_action train`` process, with the
run's full config written into its folder (:data:`RUN_CONFIG`) and passed with ``--config``,
``OMP_NUM_THREADS`` set to the threads each run may use, and its output kept in the folder
(``train.log``, ``stderr.log``). A run whose folder already has ``result.json`` is skipped, one
with an unfinished run in it is resumed (``--resume``), so a stopped sweep continues where it
stopped; a folder holding a run of another config is never touched. A failing run is reported
with the end of its ``stderr.log`` and the others go on. With ``clips``, every finished run is
also evaluated with that many temporal clips per test sequence (``pyg-action evaluate
--clips``), its per-sample scores written to ``test_clips<N>.npz`` for the summary and for
late fusion.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

import pyg_action

from .sweep import Sweep, SweepRun

#: The run's full config, written into its folder and passed to ``pyg-action train``.
RUN_CONFIG = "sweep_config.json"
#: What the sweep's folder records of the sweep (read by the summary).
MANIFEST = "sweep.json"
#: Lines of a failed run's ``stderr.log`` shown in its report.
ERROR_LINES = 15


@dataclass(frozen=True)
class RunOutcome:
    """What became of one run: ``done`` (finished before), ``trained`` or ``failed``."""

    run: SweepRun
    status: str
    message: str = ""


def run_status(run: SweepRun) -> str:
    """``done`` (``result.json`` there), ``resume`` (an unfinished run) or ``new``.

    Raises:
        ValueError: The folder holds a run of another config (its differing keys named).
    """
    written = run.folder / "config.json"
    if written.is_file():
        try:
            found = json.loads(written.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{written} cannot be read ({exc}); nothing was touched") from None
        differing = sorted(_differing_keys(_plain(run.config), found))
        if differing:
            raise ValueError(
                f"{run.folder} holds a run of another config (differing: "
                f"{', '.join(differing)}); nothing was touched: remove it or sweep into "
                "another --out"
            )
    if (run.folder / "result.json").is_file():
        return "done"
    return "resume" if (run.folder / "last.pt").is_file() else "new"


def _plain(config: Mapping[str, Any]) -> Any:
    """The config as JSON reads it back (tuples as lists)."""
    return json.loads(json.dumps(config))


def _differing_keys(a: Any, b: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in a.keys() | b.keys():
            yield from _differing_keys(a.get(key), b.get(key), f"{prefix}{key}.")
    elif a != b:
        yield prefix.rstrip(".")


def train_command(run: SweepRun, device: str, resume: bool) -> list[str]:
    """The ``python -m pyg_action train`` command line of ``run``."""
    command = [sys.executable, "-m", "pyg_action", "train", "--config"]
    command += [str(run.folder / RUN_CONFIG), "--out", str(run.folder), "--quiet"]
    command += ["--device", device]
    return [*command, "--resume"] if resume else command


def clips_dump(folder: Path, clips: int) -> Path:
    """Where a run's ``clips``-clip test scores go."""
    return folder / f"test_clips{clips}.npz"


def evaluate_command(run: SweepRun, device: str, clips: int) -> list[str]:
    """The ``python -m pyg_action evaluate --clips`` command line of a finished ``run``."""
    command = [sys.executable, "-m", "pyg_action", "evaluate", "--checkpoint"]
    command += [str(run.folder / "last.pt"), "--clips", str(clips), "--device", device]
    command += ["--out", str(run.folder / "evaluation")]
    return [*command, "--dump", str(clips_dump(run.folder, clips))]


def _environment(threads: int) -> dict[str, str]:
    """This process's environment with ``OMP_NUM_THREADS`` and this ``pyg_action`` first on
    the path, so that every run trains with the code that checked its config."""
    package_root = str(Path(pyg_action.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "PYTHONPATH": package_root + (os.pathsep + path if path else ""),
    }


def execute(
    run: SweepRun, device: str, threads: int, status: str, clips: int | None = None
) -> RunOutcome:
    """Train ``run`` (``status`` ``new`` or ``resume``; ``done``: trained before) in a child
    process, then evaluate it with ``clips`` clips when asked; the children's stdout and
    stderr go to files in its folder."""
    try:
        if status != "done":
            run.folder.mkdir(parents=True, exist_ok=True)
            config = json.dumps(run.config, indent=2)
            (run.folder / RUN_CONFIG).write_text(config, encoding="utf-8")
            failure = _child(run, train_command(run, device, status == "resume"), threads, "train")
            if failure is None and not (run.folder / "result.json").is_file():
                failure = _failed(run, 0, "stderr.log")
            if failure is not None:
                return failure
        if clips is not None and not clips_dump(run.folder, clips).is_file():
            failure = _child(run, evaluate_command(run, device, clips), threads, "evaluate")
            if failure is not None:
                return failure
        return RunOutcome(run, "done" if status == "done" else "trained")
    except OSError as exc:  # a folder or log that cannot be written, a process not started
        return RunOutcome(run, "failed", str(exc))


def _child(run: SweepRun, command: list[str], threads: int, name: str) -> RunOutcome | None:
    """Run ``command`` with its output in ``<name>.log`` and ``stderr.log`` (``evaluate``:
    ``evaluate_stderr.log``) of the run's folder; ``None`` when it succeeds, else the
    failure."""
    errors = "stderr.log" if name == "train" else f"{name}_stderr.log"
    with (
        open(run.folder / f"{name}.log", "w", encoding="utf-8") as stdout,
        open(run.folder / errors, "w", encoding="utf-8") as stderr,
    ):
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=_environment(threads),
            check=False,
        )
    return None if done.returncode == 0 else _failed(run, done.returncode, errors)


def exit_description(code: int) -> str:
    """How a child process ended: ``exit status N``, or ``killed by SIGKILL`` for the
    negative return codes of a signal (an out-of-memory kill, a stopped sweep)."""
    if code >= 0:
        return f"exit status {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _failed(run: SweepRun, code: int, errors: str) -> RunOutcome:
    """A failed run: the first line says how the child ended and names its error log, the
    next ones are the end of that log."""
    log = run.folder / errors
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    if not lines:
        return RunOutcome(run, "failed", f"{exit_description(code)}; {log} is empty")
    tail = "\n".join(lines[-ERROR_LINES:])
    return RunOutcome(run, "failed", f"{exit_description(code)}; the end of {log}:\n{tail}")


def write_manifest(sweep: Sweep, out: str | Path) -> None:
    """Record the sweep file, its seeds, variants and folds in ``out/sweep.json``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "sweep_file": str(sweep.path.resolve()),
        "seeds": list(sweep.seeds),
        "variants": list(sweep.variants),
        "folds": [list(fold) for fold in sweep.folds],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def run_sweep(
    runs: Sequence[SweepRun],
    *,
    device: str = "cpu",
    threads: int = 1,
    parallel: int = 1,
    progress: bool = True,
    clips: int | None = None,
) -> list[RunOutcome]:
    """Train every run not finished before, at most ``parallel`` at once, and evaluate every
    run with ``clips`` clips when asked (once: a run with its scores is left alone); a failure
    is reported (``tqdm.write``) and the others go on. Returns one outcome per run, in order."""
    outcomes: dict[int, RunOutcome] = {}
    pending: list[tuple[int, SweepRun, str]] = []
    for index, run in enumerate(runs):
        try:
            status = run_status(run)
        except ValueError as exc:
            outcomes[index] = RunOutcome(run, "failed", str(exc))
            continue
        if status == "done" and (clips is None or clips_dump(run.folder, clips).is_file()):
            outcomes[index] = RunOutcome(run, "done")
        else:
            pending.append((index, run, status))
    bar = tqdm(total=len(pending), desc="sweep", unit="run", disable=not progress)
    with bar, ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        futures = {
            pool.submit(execute, run, device, threads, status, clips): index
            for index, run, status in pending
        }
        for future in as_completed(futures):
            outcome = future.result()
            outcomes[futures[future]] = outcome
            if outcome.status == "failed":  # how it ended and the last line now, all later
                lines = outcome.message.splitlines()
                shown = lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}"
                tqdm.write(f"failed: {outcome.run.folder}: {shown}")
            bar.update(1)
    return [outcomes[index] for index in range(len(runs))]
