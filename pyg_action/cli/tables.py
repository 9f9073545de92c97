"""Accuracy tables printed by the commands that compare several models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import click


def echo_accuracy_table(
    first_column: str,
    rows: Sequence[tuple[str, float | None, Mapping[str, float]]],
    last_note: str = "",
) -> None:
    """One line per ``(name, weight or None, {top1, top5, mean_class})`` under a header
    naming the first column; ``last_note`` follows the last line."""
    width = max(16, *(len(name) + 2 for name, _, _ in rows))
    click.echo(f"{first_column:<{width}}{'weight':>8}{'top-1':>9}{'top-5':>9}{'mean-class':>12}")
    for i, (name, weight, metrics) in enumerate(rows):
        shown = "" if weight is None else f"{weight:g}"
        note = last_note if i == len(rows) - 1 else ""
        click.echo(
            f"{name:<{width}}{shown:>8}{metrics['top1']:>8.2f}%{metrics['top5']:>8.2f}%"
            f"{metrics['mean_class']:>11.2f}%{note}"
        )
