"""``pyg-action visualize``: a skeleton sequence, learned edge importance, joint responses."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    default="skeleton.gif",
    show_default=True,
    help="Output: .gif for an animation, .png for a strip of frames.",
)
@click.option(
    "--checkpoint",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Also draw the model's edge importance and per-joint response.",
)
@click.option("--frames", type=int, default=8, show_default=True, help="Frames in a PNG strip.")
def visualize(file, out, checkpoint, frames):
    """Draw the first sample of FILE; with --checkpoint, its predicted class (in the GIF or
    strip), what the model learned and what it looks at."""
    from ..engine.plots import plot_on_skeleton, plot_sequence
    from ..errors import SkeletonDataError
    from ..io import read_samples
    from ..io._common import IMAGE_LAYOUTS
    from ..layouts import get_layout

    try:
        result = read_samples(file)
    except SkeletonDataError as exc:
        raise click.ClickException(str(exc)) from exc
    if not result.samples:
        raise click.ClickException(f"{file}: no readable sample ({len(result.errors)} bad)")
    sample = result.samples[0]
    layout = get_layout(sample.layout)
    image = sample.layout in IMAGE_LAYOUTS
    if checkpoint is None:
        plot_sequence(sample.data, layout.bones, out, image, frames, title=sample.name)
        click.echo(f"wrote {out}")
        return
    import numpy as np
    import torch

    from ..engine.explain import bone_importance
    from ..engine.inference import load_trained, predict_sequences, sample_batch

    try:  # everything is checked before anything is written
        model, state = load_trained(checkpoint)
        trained = get_layout(state["layout"])
        if trained.num_joints != layout.num_joints:
            raise ValueError(
                f"checkpoint {checkpoint} was trained on layout {trained.name!r} "
                f"({trained.num_joints} joints), but {file} has {sample.layout!r} "
                f"({layout.num_joints} joints)"
            )
        label, prob = predict_sequences(model, state, [sample], top=1)[0][0]
        batch = sample_batch(state, [sample])
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    caption = f"predicted: {label} (p={prob:.2f})"
    plot_sequence(sample.data, layout.bones, out, image, frames, sample.name, caption)
    click.echo(f"wrote {out}")
    graph = state["config"]["graph"]
    pose = np.array(sample.data[:2, 0, :, 0], dtype=np.float64)
    if image:
        pose[1] = -pose[1]
    stem = Path(out).with_suffix("")
    try:
        values = bone_importance(
            model,
            get_layout(state["layout"]),
            graph["strategy"],
            graph["max_hop"],
            graph["dilation"],
        )
        plot_on_skeleton(
            pose,
            layout.bones,
            f"{stem}_importance.png",
            f"{sample.name}: learned edge importance (mean over blocks)",
            bone_values=values,
            value_label="edge importance",
        )
        click.echo(f"wrote {stem}_importance.png")
    except ValueError as exc:
        click.echo(f"no importance plot: {exc}")
    if not hasattr(model, "joint_responses"):
        click.echo("this model does not expose per-joint responses")
        return
    with torch.no_grad():
        responses = model.joint_responses(batch)[0]
    target = state["class_names"].index(label)
    plot_on_skeleton(
        pose,
        layout.bones,
        f"{stem}_response.png",
        f"{sample.name}: per-joint response for '{label}' (p={prob:.2f})",
        joint_values=responses[:, target].cpu().numpy(),
        value_label=f"response to '{label}'",
    )
    click.echo(f"wrote {stem}_response.png (prediction: {label}, p={prob:.3f})")
