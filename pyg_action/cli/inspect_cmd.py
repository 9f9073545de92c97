"""``pyg-action inspect``: what a skeleton file holds, or why it cannot be read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from ..errors import SkeletonDataError
from ..io import FORMAT_SUFFIXES, detect_format, iter_samples
from ..io._common import IMAGE_LAYOUTS, zero_frames
from ..sequence import SkeletonSequence

_DEFAULT_CHANNELS = {2: ("x", "y"), 3: ("x", "y", "z")}


def _channel_names(sample: SkeletonSequence) -> list[str]:
    names = sample.meta.get("channels")
    if names and len(names) == sample.num_channels:
        return list(names)
    default = _DEFAULT_CHANNELS.get(sample.num_channels)
    return list(default) if default else [f"c{i}" for i in range(sample.num_channels)]


def describe(sample: SkeletonSequence) -> list[str]:
    """Lines describing one sample (name, shape, value ranges, missing frames, label)."""
    empty = zero_frames(sample.data)
    lines = [
        f"sample {sample.name}",
        f"  layout:   {sample.layout or '(unknown)'}",
        f"  frames:   {sample.num_frames} (all-zero/missing: {int(empty.sum())})",
        f"  persons:  {sample.num_persons}",
        f"  joints:   {sample.num_joints}",
        f"  channels: {sample.num_channels}",
    ]
    present = (sample.data != 0).any(axis=0)  # (T, V, M): joints with any value
    if present.all():
        lines[-1] += " (value ranges)"
    else:
        lines[-1] += f" (value ranges over the {int(present.sum())} present joint positions)"
    for name, values in zip(_channel_names(sample), sample.data, strict=True):
        kept = values[present]
        lines.append(f"    {name:<10s} min {kept.min():10.4f}   max {kept.max():10.4f}")
    label = "(none)" if sample.label is None else str(sample.label)
    label_name = sample.meta.get("label_name")
    if label_name:
        label += f" ({label_name})"
    lines.append(f"  label:    {label}")
    extras = {
        key: sample.meta[key]
        for key in ("setup", "camera", "performer", "replication", "action", "subject",
                    "repetition")
        if key in sample.meta
    }  # fmt: skip
    if extras:
        lines.append("  meta:     " + " ".join(f"{k}={v}" for k, v in extras.items()))
    if sample.meta.get("listed_missing"):
        lines.append("  note:     listed by the NTU authors as a sample with missing skeletons")
    return lines


def skeleton_figure(sample: SkeletonSequence, num_frames: int = 4) -> tuple[Any, list[int]]:
    """A matplotlib figure of the skeleton (x-y projection, bones from the layout).

    One panel per frame, at ``num_frames`` evenly spaced frames that are not all-zero.
    Image layouts (OpenPose, COCO) have y pointing down and get an inverted y axis so
    that the head is up. Returns the figure and the frame indices drawn.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..layouts import get_layout

    try:
        bones = get_layout(sample.layout).bones
    except (ValueError, FileNotFoundError):
        bones = ()
    valid = np.flatnonzero(~zero_frames(sample.data))
    picks = valid[np.linspace(0, len(valid) - 1, min(num_frames, len(valid))).round().astype(int)]
    xy = sample.data[:2]
    present = (xy != 0).any(axis=0)  # (T, V, M): joints with a position
    shown = xy[:, picks][:, present[picks]]
    low, high = shown.min(axis=1), shown.max(axis=1)
    pad = 0.05 * float(max(high - low)) or 0.1
    span = np.maximum(high - low, 1e-9)
    panel = 3.6 * float(np.clip(span[0] / span[1], 0.35, 2.5))  # the skeleton's aspect
    fig, axes = plt.subplots(
        1, len(picks), figsize=(panel * len(picks), 4.2), squeeze=False, layout="constrained"
    )
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, t in zip(axes[0], picks, strict=True):
        for m in range(sample.num_persons):
            colour = colours[m % len(colours)]
            ok = present[t, :, m]
            for a, b in bones:
                if ok[a] and ok[b]:
                    ax.plot(xy[0, t, [a, b], m], xy[1, t, [a, b], m], "-", color=colour, lw=2)
            ax.plot(xy[0, t, ok, m], xy[1, t, ok, m], "o", color=colour, ms=3)
        ax.set_xlim(low[0] - pad, high[0] + pad)
        if sample.layout in IMAGE_LAYOUTS:
            ax.set_ylim(high[1] + pad, low[1] - pad)  # image rows grow downwards
        else:
            ax.set_ylim(low[1] - pad, high[1] + pad)
        ax.set_aspect("equal")
        ax.set_title(f"frame {t}")
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{sample.name} ({sample.layout}, {sample.num_persons} person(s))", fontsize=10)
    return fig, [int(t) for t in picks]


def plot_sample(sample: SkeletonSequence, out: Path, num_frames: int = 4) -> list[int]:
    """Save :func:`skeleton_figure` as a PNG; returns the frame indices drawn."""
    import matplotlib.pyplot as plt

    fig, frames = skeleton_figure(sample, num_frames)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return frames


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "format_",
    type=click.Choice(sorted(FORMAT_SUFFIXES)),
    default=None,
    help="File format (default: from the suffix).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Draw the first good sample at 4 frames into this PNG.",
)
@click.option("--label-file", type=click.Path(path_type=Path), default=None,
              help="ST-GCN label .pkl for a .npy data file.")  # fmt: skip
@click.option("--limit", type=int, default=20, show_default=True,
              help="Describe at most this many samples of a container.")  # fmt: skip
def inspect(
    file: Path, format_: str | None, plot: Path | None, label_file: Path | None, limit: int
) -> None:
    """Describe the skeleton samples in FILE, or say clearly why it cannot be read."""
    options = {}
    if label_file is not None:
        options["label_path"] = label_file
    try:
        fmt = format_ or detect_format(file)
        if label_file is not None and fmt != "stgcn":
            raise click.UsageError("--label-file only applies to ST-GCN .npy files")
        items = iter_samples(file, fmt, **options)
        click.echo(f"file: {file} (format {fmt})")
        good = bad = 0
        first: SkeletonSequence | None = None
        for item in items:
            if isinstance(item, SkeletonDataError):
                bad += 1
                click.echo(f"bad sample: {item}", err=True)
                continue
            good += 1
            first = first or item
            if good <= limit:
                click.echo("\n".join(describe(item)))
    except SkeletonDataError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(1) from None
    if good > limit:
        click.echo(f"... {good - limit} more samples not shown (--limit)")
    click.echo(f"{good} good sample(s), {bad} bad sample(s)")
    if first is None:
        click.echo(f"error: {file}: no usable sample", err=True)
        raise SystemExit(1)
    if plot is not None:
        frames = plot_sample(first, plot)
        click.echo(f"plot: {plot} (sample {first.name}, frames {frames})")
