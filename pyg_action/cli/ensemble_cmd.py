"""``pyg-action ensemble``: train the streams of a spec and fuse their scores."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from .options import clips_option, dataset_class_option, parse_weights
from .tables import echo_accuracy_table


@click.command()
@click.argument("spec", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--checkpoint",
    "checkpoints",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Fuse these checkpoints instead of a spec's streams (repeatable).",
)
@click.option("--weights", default=None, help="Comma-separated weights for --checkpoint.")
@click.option(
    "--fusion",
    type=click.Choice(["softmax", "logits"]),
    default=None,
    help="Sum probabilities or logits (default: the spec's, else softmax).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for the streams' runs and ensemble.json (default: runs/<spec name>).",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Config override applied to every stream, e.g. --set train.seed=1 (repeatable).",
)
@click.option(
    "--data",
    "data_path",
    default=None,
    help="Dataset root/file: with SPEC, sets data.root for training too; with --checkpoint, "
    "evaluates on it instead of the checkpoints' own data.",
)
@click.option("--split", default="test", show_default=True)
@clips_option("the spec's clips, else 1.")
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=None,
    help="With SPEC: train every stream this many times with seeds train.seed + 1000 r and "
    "fuse them all (bagging). Default: the spec's repeats, else 1.",
)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@dataset_class_option()
def ensemble(
    spec,
    checkpoints,
    weights,
    fusion,
    out_dir,
    overrides,
    data_path,
    split,
    clips,
    repeats,
    device,
    quiet,
    dataset_class,
):
    """Multi-stream late fusion.

    With SPEC (a YAML file naming each stream's config and weight), trains every stream
    that has no finished run in OUT/<stream> (and, with the spec's repeats: R, its R - 1
    re-seeded copies in OUT/<stream>-r1 ...), then fuses the final-epoch scores.
    With --checkpoint (repeatable) and optional --weights, fuses existing checkpoints.
    Prints each stream's and the fused accuracy; writes OUT/ensemble.json and
    OUT/confusion.png.
    """
    from ..data.registry import allow_dataset_class
    from ..engine.ensemble import Stream, evaluate_ensemble, read_ensemble_spec, train_streams
    from ..engine.plots import plot_confusion

    if (spec is None) == (not checkpoints):
        raise click.UsageError("give either SPEC or at least one --checkpoint")
    if repeats is not None and spec is None:
        raise click.UsageError("--repeats trains a spec's streams again: it needs SPEC")
    try:
        with allow_dataset_class(dataset_class):
            if spec is not None:
                parsed = read_ensemble_spec(spec)
                fusion = fusion or parsed.fusion
                clips = clips or parsed.clips
                parsed = dataclasses.replace(parsed, repeats=repeats or parsed.repeats)
                out = Path(out_dir) if out_dir else Path("runs") / Path(spec).stem
                if data_path is not None:
                    overrides = (*overrides, f"data.root={data_path}")
                members = train_streams(parsed, out, overrides, device, progress=not quiet)
            else:
                fusion = fusion or "softmax"
                clips = clips or 1
                out = Path(out_dir) if out_dir else Path(checkpoints[0]).parent
                values = parse_weights(weights, len(checkpoints), "checkpoints")
                members = [
                    (Stream(Path(c).parent.name or Path(c).stem, w), Path(c))
                    for c, w in zip(checkpoints, values, strict=True)
                ]
            result = evaluate_ensemble(members, fusion, data_path, split, device, clips)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    plot_confusion(result.pop("confusion"), result["class_names"], out / "confusion.png")
    (out / "ensemble.json").write_text(json.dumps(result, indent=2))
    clip_note = f", {clips} clips per sequence" if clips > 1 else ""
    click.echo(f"{result['num_samples']} {split} samples, {fusion} fusion{clip_note}")
    rows = [(row["name"], row["weight"], row) for row in result["streams"]]
    echo_accuracy_table(
        "stream",
        [*rows, ("fused", None, result["fused"])],
        f"   ({result['gain_over_first']:+.2f} top-1 points over {rows[0][0]})",
    )
    click.echo(f"wrote {out / 'ensemble.json'} and {out / 'confusion.png'}")
