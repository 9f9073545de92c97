"""Options shared by several commands."""

from __future__ import annotations

import click

CLIPS_HELP = (
    "Average the logits over this many temporal samplings of each sequence (the centred one "
    "and random ones; needs a uniform_sample test transform)."
)

clips_option = click.option(
    "--clips", type=click.IntRange(min=1), default=1, show_default=True, help=CLIPS_HELP
)
