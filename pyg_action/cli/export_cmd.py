"""``pyg-action export``: a trained ST-GCN / Shift-GCN as a fixed-size TorchScript or ONNX file."""

from __future__ import annotations

import click


@click.command()
@click.option(
    "--checkpoint", "checkpoint", type=click.Path(exists=True, dir_okay=False), required=True
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["torchscript", "onnx"]),
    default="torchscript",
    show_default=True,
    help="onnx needs the onnx and onnxruntime packages (pip install 'pyg_action[onnx]').",
)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="File to write.")
@click.option(
    "--frames",
    type=click.IntRange(min=1),
    default=None,
    help="Input frames T [default: the test-time uniform_sample length].",
)
@click.option(
    "--persons",
    type=click.IntRange(min=1),
    default=None,
    help="Input persons M [default: the test-time max_persons count, else 2].",
)
@click.option(
    "--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Batch size B."
)
def export(checkpoint, file_format, out, frames, persons, batch):
    """Export a checkpoint's model for inputs of one fixed shape (B, C, T, V, M).

    The file also holds the class names, layout, training config (test-time transforms)
    and input shape, so `pyg-action predict --model-file OUT` needs nothing else. The
    exported logits are checked against the eager model (max |difference| <= 1e-5 of the
    largest logit, else nothing is written); the file accepts that input shape only.
    """
    from ..engine.export import export_checkpoint, load_exported

    try:
        difference = export_checkpoint(checkpoint, out, file_format, frames, persons, batch)
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    shape = load_exported(out).metadata.input_shape
    click.echo(
        f"wrote {out} ({file_format}, input (B, C, T, V, M) = {shape}, "
        f"max |exported - eager| = {difference:.2e})"
    )
