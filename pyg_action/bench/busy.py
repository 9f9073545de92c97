"""How much of ``pyg-action train``'s wall time the GPU spends running kernels.

A training run is overhead-bound when the host cannot issue kernels as fast as the GPU runs
them: the GPU then idles between kernels, however fast each kernel is. This module trains a
config for a few epochs under :mod:`torch.profiler` (CUDA activity only), takes the union of
the intervals in which at least one kernel ran, and divides it by the wall time of the whole
run (data loading, evaluation and checkpoints included, as a user sees it), and by the time
of the epochs alone (``epochs_busy_fraction``: the ``seconds`` of ``log.jsonl``, training and
evaluation, without the start-up that reads the dataset and builds the model), which is what
a long run tends to. The profiler's own cost makes both figures slight underestimates.

Command line (needs a CUDA device)::

    python -m pyg_action.bench.busy --config configs/msr_stgcn.yaml \\
        --data /path/to/msr_action3d --epochs 2 --out busy.json
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from .config_run import config_run_main


def covered_time(intervals: Iterable[tuple[float, float]]) -> float:
    """Length of the union of ``(start, end)`` intervals (overlaps counted once)."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(intervals):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def kernel_intervals(profile: Any) -> list[tuple[float, float]]:
    """``(start, end)`` in microseconds of every device kernel a profiler recorded."""
    device = torch.autograd.DeviceType.CUDA
    return [
        (event.time_range.start, event.time_range.end)
        for event in profile.events()
        if event.device_type == device
    ]


def training_busy_fraction(
    config_path: str | None, overrides: Sequence[str], epochs: int, device: str = "cuda"
) -> dict[str, Any]:
    """Train ``config_path`` (with ``--set``-style ``overrides``) for ``epochs`` epochs on
    ``device`` under the profiler; returns the wall and busy seconds and their ratio."""
    from ..engine.config import load_config
    from ..engine.trainer import epoch_seconds, train

    if not (device.startswith("cuda") and torch.cuda.is_available()):
        raise ValueError("the busy fraction is measured on a CUDA device; torch sees none")
    config = load_config(config_path, [*overrides, f"train.epochs={epochs}"])
    activities = [torch.profiler.ProfilerActivity.CUDA]
    with tempfile.TemporaryDirectory() as out:
        with torch.profiler.profile(activities=activities) as profile:
            started = time.perf_counter()
            result = train(config, Path(out), progress=False, device=device)
            torch.cuda.synchronize()
            wall = time.perf_counter() - started
        in_epochs = epoch_seconds(out)
    busy = covered_time(kernel_intervals(profile)) / 1e6
    return {
        "config": config_path,
        "overrides": list(overrides),
        "epochs": epochs,
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "wall_s": wall,
        "gpu_busy_s": busy,
        "busy_fraction": busy / wall,
        "epochs_s": in_epochs,
        "epochs_busy_fraction": busy / in_epochs,
        "test_top1": result.final.get("top1"),
    }


def main(argv: Sequence[str] | None = None) -> None:
    config_run_main(argv, __doc__.split("\n\n")[0], training_busy_fraction, epochs=2, device="cuda")


if __name__ == "__main__":
    main()
