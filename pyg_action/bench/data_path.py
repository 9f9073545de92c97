"""Seconds per epoch spent making batches: the DataLoader path against ``train.device_data``.

A training epoch waits for its batches; on a small data set and a GPU that wait is most of
the epoch. This module builds a config's train and test splits and times, over a few epochs,
everything a run does to get its batches onto the device, without a model: the DataLoader
path (read the kept samples, run the random transforms in numpy, collate, copy to the device;
``num_workers`` processes when set) and the device path
(:class:`~pyg_action.data.device_split.DeviceSplit`: gather, batched transforms and reshape on
the device). Each epoch ends with a device
synchronisation, so queued work is counted. The device path's one-time upload is reported
apart (``device_setup_s``).

Command line::

    python -m pyg_action.bench.data_path --config configs/msr_stgcn.yaml \\
        --data /path/to/msr_action3d --device cuda --epochs 5 --out data_path.json
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch_geometric.loader import DataLoader

from .config_run import config_run_main


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _drain(batches: Iterable[Any], device: torch.device) -> int:
    """Bring every batch to ``device`` (as the trainer does); returns the sample count."""
    count = 0
    for batch in batches:
        batch = batch.to(device, non_blocking=True)
        count += int(batch.y.numel())
    _synchronize(device)
    return count


def data_path_seconds(
    config_path: str | None, overrides: Sequence[str], epochs: int, device: str
) -> dict[str, Any]:
    """Median seconds per epoch (train split, then a pass over the test split) of both paths."""
    from ..data.device_split import DeviceSplit
    from ..engine.config import load_config
    from ..engine.distributed import ShardedBatchSampler
    from ..engine.trainer import load_split

    config = load_config(config_path, list(overrides))
    opts = config["train"]
    dev = torch.device(device)
    train_set: Any = load_split(config, "train").dataset  # skeleton splits (DeviceSplit's)
    test_set: Any = load_split(config, "test").dataset
    sampler = ShardedBatchSampler(len(train_set), int(opts["batch_size"]), seed=0)
    eval_size, workers = int(opts["eval_batch_size"]), int(opts["num_workers"])
    pinned = dev.type == "cuda"
    loaders = (
        DataLoader(train_set, batch_sampler=sampler, pin_memory=pinned, num_workers=workers),
        DataLoader(test_set, batch_size=eval_size, pin_memory=pinned, num_workers=workers),
    )
    if workers:
        for dataset in (train_set, test_set):
            dataset.prepare_all()
    started = time.perf_counter()
    on_device = (DeviceSplit(train_set, dev), DeviceSplit(test_set, dev))
    _synchronize(dev)
    setup = time.perf_counter() - started
    loader_times, device_times = [], []
    for epoch in range(epochs + 1):  # the first epoch of each path warms it up
        sampler.set_epoch(epoch)
        train_set.set_epoch(epoch)
        started = time.perf_counter()
        _drain(loaders[0], dev)
        _drain(loaders[1], dev)
        loader_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        _drain(on_device[0].batches(list(sampler), epoch), dev)
        _drain(on_device[1].in_order(range(len(test_set)), eval_size, epoch=0), dev)
        device_times.append(time.perf_counter() - started)
    loader_s, device_s = statistics.median(loader_times[1:]), statistics.median(device_times[1:])
    return {
        "config": config_path,
        "overrides": list(overrides),
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "train_samples": len(train_set),
        "test_samples": len(test_set),
        "batch_size": int(opts["batch_size"]),
        "num_workers": workers,
        "epochs_timed": epochs,
        "loader_epoch_s": loader_s,
        "device_epoch_s": device_s,
        "speedup": loader_s / device_s,
        "device_setup_s": setup,
    }


def main(argv: Sequence[str] | None = None) -> None:
    config_run_main(argv, __doc__.split("\n\n")[0], data_path_seconds, epochs=5, device="cpu")


if __name__ == "__main__":
    main()
