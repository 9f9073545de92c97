"""Timing primitives shared by every benchmark: interleaved repeats, medians, peak memory."""

from __future__ import annotations

import ctypes
import gc
import statistics
import time
from collections.abc import Callable, Mapping

import torch


def interleaved_times(
    runs: Mapping[str, Callable[[], object]],
    warmup: int,
    repeats: int,
    device: torch.device | None = None,
) -> dict[str, list[float]]:
    """Seconds per call of every run; one call of each per round, so drift hits all alike.

    Each round starts one run later than the previous one (round-robin order), so what a
    large run leaves behind (freed memory handed back to the system, evicted caches) slows
    every run that follows it equally often rather than always the same one.
    """
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for round_ in range(warmup + repeats):
        shift = round_ % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            run = runs[name]
            synchronize(device)
            start = time.perf_counter()
            run()
            synchronize(device)
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return times


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    """Median of every run's times."""
    return {name: statistics.median(values) for name, values in times.items()}


def synchronize(device: torch.device | None) -> None:
    """Wait for queued CUDA work (nothing to wait for on CPU)."""
    if device is not None and device.type == "cuda":
        torch.cuda.synchronize(device)


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _glibc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def _set_mmap_threshold(size: int) -> None:
    """glibc ``mallopt(M_MMAP_THRESHOLD, size)``; a no-op where glibc is absent."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(-3, size)  # -3: M_MMAP_THRESHOLD


def _release_free_memory() -> None:
    """glibc ``malloc_trim(0)``: free heap pages go back to the system (reuse faults them in)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def cpu_peak_rss(run: Callable[[], object]) -> int:
    """Peak resident-set growth (bytes) of one call on CPU.

    glibc keeps freed blocks for reuse, so after warm-up a call's RSS barely grows however much
    it allocates. During the call the mmap threshold is fixed at 64 KiB (every larger new block
    is its own mapping, returned to the system when freed), free heap pages are first handed
    back (``malloc_trim``; reusing them faults them in again) and the kernel's high-water mark
    is reset (``/proc/self/clear_refs`` ``5``); the growth of ``VmHWM`` over the starting RSS
    is then the call's peak of live memory, to page granularity. The threshold is left at
    32 MiB afterwards (the ceiling glibc's own adaptive threshold reaches).
    """
    gc.collect()
    _set_mmap_threshold(64 << 10)
    _release_free_memory()
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        base = _status_kib("VmRSS")
        run()
        return max(0, _status_kib("VmHWM") - base) << 10
    finally:
        _set_mmap_threshold(32 << 20)


def peak_memory(run: Callable[[], object], device: torch.device) -> int:
    """Peak bytes of one call: CUDA max allocated on GPU, RSS growth on CPU (see
    :func:`cpu_peak_rss`)."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        run()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    return cpu_peak_rss(run)
