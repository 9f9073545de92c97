"""``pyg-action predict``: label and top-5 probabilities for skeleton files."""

from __future__ import annotations

import click


@click.command()
@click.option(
    "--checkpoint", "checkpoint", type=click.Path(exists=True, dir_okay=False), required=True
)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--top", type=int, default=5, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
def predict(checkpoint, files, top, device):
    """Predict the action in each FILE (any supported format)."""
    from ..engine.inference import load_trained, predict_sequences
    from ..errors import SkeletonDataError
    from ..io import read_samples

    model, state = load_trained(checkpoint, device)
    failed = False
    for path in files:
        try:
            result = read_samples(path)
            for error in result.errors:
                click.echo(f"{path}: skipped: {error}", err=True)
                failed = True
            if not result.samples:
                continue
            ranked = predict_sequences(model, state, result.samples, top)
        except (SkeletonDataError, ValueError) as exc:
            click.echo(f"error: {exc}", err=True)
            failed = True
            continue
        for seq, classes in zip(result.samples, ranked, strict=True):
            label, prob = classes[0]
            click.echo(f"{seq.name}: {label} ({prob:.3f})")
            for name, p in classes[1:]:
                click.echo(f"    {name}: {p:.3f}")
    if failed:
        raise SystemExit(1)
