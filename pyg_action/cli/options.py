"""Options shared by several commands."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import click

CLIPS_HELP = (
    "Average the logits over this many temporal samplings of each sequence (the centred one "
    "and random ones; needs a uniform_sample test transform)."
)


def clips_option(default_help: str | None = None) -> Callable[[Any], Any]:
    """``--clips N``: defaults to 1, or to ``None`` with ``default_help`` saying what
    ``None`` stands for (e.g. a spec's own value)."""
    own_default = default_help is None
    return click.option(
        "--clips",
        type=click.IntRange(min=1),
        default=1 if own_default else None,
        show_default=own_default,
        help=CLIPS_HELP if own_default else f"{CLIPS_HELP} Default: {default_help}",
    )


def dataset_class_option() -> Callable[[Any], Any]:
    """``--dataset-class module.Class``: the one class ``pyg_dataset`` may import this run."""
    return click.option(
        "--dataset-class",
        "dataset_class",
        default=None,
        metavar="MODULE.CLASS",
        help="PyG dataset class that data 'pyg_dataset' may import for this run (importing "
        "runs its code, so a config or checkpoint naming a class is not enough).",
    )


def parse_weights(text: str | None, count: int, what: str) -> list[float]:
    """``--weights a,b,...``: one finite number >= 0 (not all 0) per one of ``count``
    ``what``, or all 1."""
    if text is None:
        return [1.0] * count
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of numbers") from exc
    if len(weights) != count:
        raise click.BadParameter(f"{len(weights)} weights for {count} {what}")
    if not all(math.isfinite(w) and w >= 0 for w in weights) or not any(weights):
        raise click.BadParameter(f"weights must be finite and >= 0, not all 0, got {text!r}")
    return weights
