"""Does an execution choice pay? A config's training step under each value of one backend
choice (:mod:`pyg_action.nn.backend`), timed alternately in one process.

Every choice of the backend has a default that BENCHMARKS.md must show paying off. This
builds a config's model and its first training batch (the training transforms applied, as the
trainer loads them), then times a training step (:func:`~.opcount.training_step`: gradients
reset, forward, cross-entropy loss, backward; no optimiser) under each value of the choice in
turn, one step each per round (:func:`~.timing.interleaved_times`, two warm-up rounds and
``--rounds`` timed ones), and reports the medians and their ratios to the first value's. Run with
``OMP_NUM_THREADS=1`` for one-thread figures::

    OMP_NUM_THREADS=1 python -m pyg_action.bench.choice --config configs/msr_shiftgcn.yaml \\
        --data /path/to/msr_action3d --choice dropout --values native,uniform
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch_geometric.loader import DataLoader

from ..nn.backend import Backend, use_backend
from .opcount import training_step
from .timing import interleaved_times, medians


def config_training_step(config_path: str | None, overrides: Sequence[str]) -> Callable[[], None]:
    """A training step of ``config_path``'s model (``None``: the quick default model's) on its
    first training batch."""
    from ..engine.config import load_config
    from ..engine.trainer import build_model_for, load_split, seed_everything

    config = load_config(config_path, list(overrides))
    seed_everything(int(config["train"]["seed"]))
    split = load_split(config, "train")
    batch = next(iter(DataLoader(split.dataset, batch_size=int(config["train"]["batch_size"]))))
    return training_step(build_model_for(config, split).train(), batch, batch.y.view(-1))


def compare_choice(
    step: Callable[[], None], choice: str, values: Sequence[str], rounds: int = 60
) -> dict[str, Any]:
    """Median milliseconds of ``step`` under each of ``values`` of backend field ``choice``,
    and their ratios to the first value's: one step under each value per round, two warm-up
    rounds, then ``rounds`` timed ones (:func:`~.timing.interleaved_times`)."""

    def under(value: str) -> Callable[[], None]:
        def run() -> None:
            with use_backend(**{choice: value}):
                step()

        return run

    runs = {value: under(value) for value in values}
    seconds = medians(interleaved_times(runs, warmup=2, repeats=rounds))
    first = seconds[values[0]]
    return {
        "choice": choice,
        "threads": torch.get_num_threads(),
        "median_ms": {value: round(1e3 * s, 2) for value, s in seconds.items()},
        f"ratio_to_{values[0]}": {value: round(s / first, 3) for value, s in seconds.items()},
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=None, help="config file (default: the quick model)")
    parser.add_argument("--data", default=None, help="data root (data.root)")
    parser.add_argument("--set", action="append", default=[], help="config override")
    parser.add_argument("--choice", required=True, choices=sorted(Backend.CHOICES))
    parser.add_argument("--values", default=None, help="comma-separated (default: all)")
    parser.add_argument("--rounds", type=int, default=60, help="timed rounds")
    parser.add_argument("--out", default=None, help="write the JSON here too")
    args = parser.parse_args(argv)
    values = args.values.split(",") if args.values else list(Backend.CHOICES[args.choice])
    overrides = [*args.set, *([f"data.root={args.data}"] if args.data else [])]
    report = {
        "config": args.config,
        **compare_choice(
            config_training_step(args.config, overrides), args.choice, values, args.rounds
        ),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
