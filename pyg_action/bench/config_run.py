"""The command line of the benchmarks that run a training config (:mod:`.busy`,
:mod:`.data_path`): ``--config``, ``--data``, ``--set``, ``--epochs``, ``--device``, ``--out``;
the JSON report is printed and, with ``--out``, written."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: ``measure(config_path, overrides, epochs, device) -> report``
Measure = Callable[[str | None, Sequence[str], int, str], dict[str, Any]]


def config_run_main(
    argv: Sequence[str] | None, description: str, measure: Measure, epochs: int, device: str
) -> None:
    """Parse ``argv``, run ``measure`` and print (and write) its report."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", default=None, help="config file (default: the quick model)")
    parser.add_argument("--data", default=None, help="data root (data.root)")
    parser.add_argument("--set", action="append", default=[], help="config override")
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--device", default=device)
    parser.add_argument("--out", default=None, help="write the JSON here too")
    args = parser.parse_args(argv)
    overrides = [*args.set, *([f"data.root={args.data}"] if args.data else [])]
    text = json.dumps(measure(args.config, overrides, args.epochs, args.device), indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
