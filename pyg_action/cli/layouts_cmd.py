"""``pyg-action layouts``: list the layouts or show one with its partitions."""

from __future__ import annotations

import click
import numpy as np

from ..layouts import BUILTIN_LAYOUTS, STRATEGIES, adjacency_tensor, get_layout


@click.command()
@click.argument("name", required=False)
@click.option("--strategy", type=click.Choice(STRATEGIES), default="spatial", show_default=True)
@click.option("--max-hop", type=int, default=1, show_default=True)
@click.option("--dilation", type=int, default=1, show_default=True)
def layouts(name: str | None, strategy: str, max_hop: int, dilation: int) -> None:
    """List built-in layouts, or show NAME (a built-in name or a YAML/JSON layout file)."""
    if name is None:
        for layout in BUILTIN_LAYOUTS.values():
            click.echo(f"{layout.name:12s} {layout.num_joints:3d} joints  {layout.description}")
        return
    try:
        layout = get_layout(name)
        matrices = adjacency_tensor(layout, strategy, max_hop, dilation)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{layout.name}: {layout.num_joints} joints, centre {layout.joints[layout.center]}")
    click.echo("joints:")
    for i, joint in enumerate(layout.joints):
        parent = layout.parents[i]
        link = "(centre)" if parent == i else f"-> {layout.joints[parent]}"
        click.echo(f"  {i:2d} {joint:18s} {link}")
    click.echo(f"bones: {len(layout.bones)}")
    click.echo(
        f"partition {strategy!r} (max_hop={max_hop}, dilation={dilation}): K={len(matrices)}"
    )
    with np.printoptions(precision=2, suppress=True, linewidth=200):
        for k, matrix in enumerate(matrices):
            click.echo(f"A[{k}] (rows: source joint, columns: target joint)")
            click.echo(str(matrix))
