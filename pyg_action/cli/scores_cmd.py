"""``pyg-action scores``: compare and fuse saved per-sample test scores of several runs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from .options import parse_weights
from .tables import echo_accuracy_table


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--weights", default=None, help="Comma-separated fusion weights, one per file.")
@click.option(
    "--fusion",
    type=click.Choice(["softmax", "logits"]),
    default="softmax",
    show_default=True,
    help="Sum probabilities or logits.",
)
@click.option(
    "--below",
    type=click.FloatRange(0, 1, max_open=False),
    default=0.5,
    show_default=True,
    help="List the samples that fewer than this fraction of the files get right.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write every number printed, and each sample's fraction right, to this file.",
)
@click.option(
    "--plots",
    "plot_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Also draw the fused confusion matrix (confusion.png) and how many samples each "
    "number of files gets right (runs_right.png) into this folder.",
)
def scores(files, weights, fusion, below, json_path, plot_dir):
    """Each score file's accuracy, their late fusion, and the samples most of them miss.

    FILES are per-sample score dumps of one split (pyg-action evaluate --dump, a sweep run's
    test_clips<N>.npz), read without their checkpoints; all must hold the same samples in
    the same order. Prints each file's top-1, top-5 and mean-class accuracy, the weighted
    fusion of all files, how many samples every file / no file gets right, the samples fewer
    than --below of the files get right (with their most frequent wrong class), and the most
    frequent mistakes over all files. --plots draws the fused confusion matrix and a bar
    chart of the samples right in 0, 1, ..., all of the files.
    """
    from ..engine.ensemble import accuracy_summary, fuse_scores
    from ..engine.scores import RunComparison, read_scores

    values = parse_weights(weights, len(files), "score files")
    try:
        loaded = [read_scores(f) for f in files]
        comparison = RunComparison.of(loaded)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc

    labels, right = comparison.labels, comparison.fraction_right()
    counts = comparison.right_counts()
    rows = [
        {"file": str(f.path), "weight": w, **accuracy_summary(f.logits, labels)}
        for f, w in zip(loaded, values, strict=True)
    ]
    fused_scores = fuse_scores([f.logits for f in loaded], values, fusion)
    fused = accuracy_summary(fused_scores, labels)
    hard = comparison.hard_samples(below)
    mistakes = comparison.confusions()

    click.echo(f"{len(labels)} samples, {len(loaded)} score files, {fusion} fusion")
    echo_accuracy_table(
        "file", [*((r["file"], r["weight"], r) for r in rows), ("fused", sum(values), fused)]
    )
    everywhere, nowhere = int(counts[-1]), int(counts[0])
    click.echo(
        f"right in every file: {everywhere}; in none: {nowhere}; "
        f"in fewer than {below:g} of them: {len(hard)}"
    )
    if hard:
        click.echo(f"{'sample':<28}{'label':<22}{'right':>7}  usual mistake")
        for s in hard:
            click.echo(f"{s.name:<28}{s.label:<22}{s.right:>7.2f}  {s.usual_mistake or '-'}")
    if mistakes:
        click.echo("most frequent mistakes, over all files:")
        for true, predicted, count in mistakes:
            click.echo(f"  {count:>5}  {true} -> {predicted}")
    if json_path is not None:
        report = {
            "files": rows,
            "fusion": fusion,
            "fused": fused,
            "right_in_every_file": everywhere,
            "right_in_no_file": nowhere,
            "below": below,
            "hard_samples": [dataclasses.asdict(s) for s in hard],
            "confusions": [{"true": t, "predicted": p, "count": c} for t, p, c in mistakes],
            "fraction_right": dict(zip(loaded[0].names, right.tolist(), strict=True)),
        }
        Path(json_path).write_text(json.dumps(report, indent=2))
    if plot_dir is not None:
        from ..engine.metrics import confusion_matrix
        from ..engine.plots import plot_confusion, plot_runs_right

        out = Path(plot_dir)
        out.mkdir(parents=True, exist_ok=True)
        classes = list(loaded[0].class_names)
        confusion = confusion_matrix(labels, fused_scores.argmax(dim=1), len(classes))
        title = f"{fusion} fusion of {len(loaded)} score files"
        plot_confusion(confusion, classes, out / "confusion.png", title)
        plot_runs_right(counts.numpy(), out / "runs_right.png")
        click.echo(f"wrote {out / 'confusion.png'} and {out / 'runs_right.png'}")
