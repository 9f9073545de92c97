"""Does an execution choice pay? A config's training step under each value of one backend
choice (:mod:`pyg_action.nn.backend`), timed alternately in one process.

Every choice of the backend has a default that BENCHMARKS.md must show paying off. This
builds a config's model and its first training batch (the training transforms applied, as the
trainer loads them), then times a training step (gradients reset, forward, cross-entropy
loss, backward; no optimiser) under each value of the choice in turn, ``--rounds`` times three
steps each, and reports the medians and their ratios to the first value's. Run with
``OMP_NUM_THREADS=1`` for one-thread figures::

    OMP_NUM_THREADS=1 python -m pyg_action.bench.choice --config configs/msr_shiftgcn.yaml \\
        --data /path/to/msr_action3d --choice dropout --values native,uniform
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch_geometric.loader import DataLoader

from ..nn.backend import Backend, use_backend


def training_step(config_path: str | None, overrides: Sequence[str]) -> Callable[[], None]:
    """A training step of ``config_path``'s model (``None``: the quick default model's) on its
    first training batch."""
    from ..engine.config import load_config
    from ..engine.trainer import build_model_for, load_split, seed_everything

    config = load_config(config_path, list(overrides))
    seed_everything(int(config["train"]["seed"]))
    split = load_split(config, "train")
    batch = next(iter(DataLoader(split.dataset, batch_size=int(config["train"]["batch_size"]))))
    model = build_model_for(config, split).train()

    def step() -> None:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(batch), batch.y.view(-1)).backward()

    return step


def compare_choice(
    step: Callable[[], None], choice: str, values: Sequence[str], rounds: int = 8
) -> dict[str, Any]:
    """Median milliseconds of ``step`` under each of ``values`` of backend field ``choice``,
    and their ratios to the first value's, alternating (``rounds`` rounds of three steps
    each, after two untimed steps each)."""
    times: dict[str, list[float]] = {value: [] for value in values}
    for value in values:
        with use_backend(**{choice: value}):
            step()
            step()
    for _ in range(rounds):
        for value in values:
            with use_backend(**{choice: value}):
                for _ in range(3):
                    started = time.perf_counter()
                    step()
                    times[value].append(time.perf_counter() - started)
    medians = {value: statistics.median(seconds) for value, seconds in times.items()}
    first = medians[values[0]]
    return {
        "choice": choice,
        "threads": torch.get_num_threads(),
        "median_ms": {value: round(1e3 * s, 2) for value, s in medians.items()},
        f"ratio_to_{values[0]}": {value: round(s / first, 3) for value, s in medians.items()},
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=None, help="config file (default: the quick model)")
    parser.add_argument("--data", default=None, help="data root (data.root)")
    parser.add_argument("--set", action="append", default=[], help="config override")
    parser.add_argument("--choice", required=True, choices=sorted(Backend.CHOICES))
    parser.add_argument("--values", default=None, help="comma-separated (default: all)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--out", default=None, help="write the JSON here too")
    args = parser.parse_args(argv)
    values = args.values.split(",") if args.values else list(Backend.CHOICES[args.choice])
    overrides = [*args.set, *([f"data.root={args.data}"] if args.data else [])]
    report = {
        "config": args.config,
        **compare_choice(training_step(args.config, overrides), args.choice, values, args.rounds),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
