"""Run fuzz cases in a child process with a memory limit and a per-case time limit."""

from __future__ import annotations

import multiprocessing
import resource
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType

from .targets import TARGETS, Files, Outcome, run_case


def _peak_rss_mb() -> float:
    """Peak resident memory of this process since it started its program, in MiB.

    ``VmHWM`` rather than ``ru_maxrss``: on Linux the latter survives ``exec`` and so
    would report the memory of the process that spawned this one.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _serve(connection: Connection, target_name: str, memory_mb: int) -> None:
    """Child process: read cases from ``connection`` until ``None``, answer outcomes."""
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    target = TARGETS[target_name]
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        while (files := connection.recv()) is not None:
            outcome = run_case(target, files, Path(folder))
            outcome.peak_rss_mb = _peak_rss_mb()
            connection.send(outcome)


class Sandbox:
    """A child process that reads cases for one reader.

    Args:
        target: Reader name (a key of :data:`~.targets.TARGETS`).
        memory_mb: Address-space limit of the child (``RLIMIT_AS``); an allocation
            beyond it raises ``MemoryError`` inside the reader.
        timeout: Seconds a case may take; a slower case is reported as ``timeout`` and
            the child is replaced.
    """

    def __init__(self, target: str, *, memory_mb: int = 1024, timeout: float = 10.0) -> None:
        if target not in TARGETS:
            raise ValueError(f"unknown reader {target!r}; known: {sorted(TARGETS)}")
        self.target = target
        self.memory_mb = memory_mb
        self.timeout = timeout
        self.peak_rss_mb = 0.0
        self._context = multiprocessing.get_context("spawn")
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: Connection | None = None

    def _start(self) -> Connection:
        parent, child = self._context.Pipe()
        self._process = self._context.Process(
            target=_serve, args=(child, self.target, self.memory_mb), daemon=True
        )
        self._process.start()
        child.close()
        self._connection = parent
        return parent

    def _stop(self, *, kill: bool) -> None:
        if self._process is None or self._connection is None:
            return
        if not kill:
            try:
                self._connection.send(None)
                self._process.join(timeout=5)
            except (BrokenPipeError, EOFError, OSError):
                pass
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._connection.close()
        self._process = self._connection = None

    def run(self, files: Files) -> Outcome:
        """Read one case in the child; ``timeout`` or ``crashed`` restart it."""
        connection = self._connection or self._start()
        try:
            connection.send(files)
            if connection.poll(self.timeout):
                outcome: Outcome = connection.recv()
                self.peak_rss_mb = max(self.peak_rss_mb, outcome.peak_rss_mb)
                return outcome
            self._stop(kill=True)
            return Outcome("timeout", self.timeout, f"no answer within {self.timeout} s")
        except (EOFError, BrokenPipeError, ConnectionResetError):
            process = self._process
            self._stop(kill=True)
            code = None if process is None else process.exitcode
            return Outcome("crashed", 0.0, f"the reading process died (exit code {code})")

    def close(self) -> None:
        """Stop the child process."""
        self._stop(kill=False)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
