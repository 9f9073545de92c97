"""Options shared by several commands."""

from __future__ import annotations

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
