"""``pyg-action evaluate``: accuracy, confusion-matrix PNG and per-class CSV of a checkpoint."""

from __future__ import annotations

from pathlib import Path

import click

from .options import clips_option, dataset_class_option


@click.command()
@click.option(
    "--checkpoint", "checkpoint", type=click.Path(exists=True, dir_okay=False), required=True
)
@click.option("--data", "data_path", default=None, help="Dataset root/file (overrides data.root).")
@click.option("--split", default="test", show_default=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to write confusion.png and per_class.csv (default: beside the checkpoint).",
)
@clips_option()
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--dump",
    "dump_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write per-sample logits, labels and names to this .npz (for ensembles and "
    "other tools).",
)
@dataset_class_option()
def evaluate(checkpoint, data_path, split, out_dir, clips, device, dump_path, dataset_class):
    """Evaluate CHECKPOINT on a split of its dataset (or of --data)."""
    from ..data.registry import allow_dataset_class
    from ..engine.inference import evaluate_checkpoint, write_per_class_csv
    from ..engine.plots import plot_confusion
    from ..engine.scores import write_scores

    try:
        with allow_dataset_class(dataset_class):
            metrics = evaluate_checkpoint(checkpoint, data_path, split, device, clips)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    out = Path(out_dir) if out_dir else Path(checkpoint).parent
    out.mkdir(parents=True, exist_ok=True)
    plot_confusion(metrics["confusion"], metrics["class_names"], out / "confusion.png")
    write_per_class_csv(metrics, out / "per_class.csv")
    tag = " (synthetic data)" if metrics["synthetic"] else ""
    click.echo(
        f"{metrics['num_samples']} samples{tag}: top-1 {metrics['top1']:.2f}%  "
        f"top-5 {metrics['top5']:.2f}%  mean-class {metrics['mean_class']:.2f}%"
        + (f"  ({clips} clips)" if clips > 1 else "")
    )
    click.echo(f"wrote {out / 'confusion.png'} and {out / 'per_class.csv'}")
    if dump_path is not None:
        write_scores(metrics, dump_path)
        click.echo(f"wrote per-sample scores of {metrics['num_samples']} samples to {dump_path}")
