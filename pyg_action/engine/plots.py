"""Plots a person would rather look at than read: confusion matrix, skeletons, importance."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def confusion_summary(confusion: np.ndarray) -> dict[str, float]:
    """Top-1 and mean-class accuracy (%) of a confusion matrix (rows: true classes); classes
    without samples are left out of the mean."""
    total = int(confusion.sum())
    rows = confusion.sum(1)
    recall = np.divide(np.diag(confusion), rows, out=np.zeros(len(rows)), where=rows > 0)
    return {
        "top1": 100.0 * float(np.trace(confusion)) / total if total else 0.0,
        "mean_class": 100.0 * float(recall[rows > 0].mean()) if (rows > 0).any() else 0.0,
        "samples": total,
    }


def _shortened(name: str, limit: int = 30) -> str:
    """``name`` cut to ``limit`` characters (with an ellipsis) for an axis label."""
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "\u2026"


def confusion_figure(confusion: np.ndarray, class_names: list[str], title: str = ""):
    """Row-normalised confusion matrix titled with its top-1 and mean-class accuracy.

    Up to 40 classes both axes are named; beyond, the rows read ``index name`` and the
    columns the index (a grid line every 10 classes), so 60 and 120 classes stay legible.
    """
    count = len(class_names)
    rows = confusion.sum(1, keepdims=True)
    norm = np.divide(confusion, rows, out=np.zeros_like(confusion, dtype=float), where=rows > 0)
    summary = confusion_summary(confusion)
    heading = (
        f"top-1 {summary['top1']:.2f}%   mean-class {summary['mean_class']:.2f}%   "
        f"({summary['samples']} samples, {count} classes)"
    )
    many = count > 40
    cell = 0.17 if many else 0.32
    side = float(np.clip(cell * count, 3.5, 22))
    font = 6 if many else 7
    fig, ax = plt.subplots(figsize=(side + 5, side + 2.5), layout="constrained")
    image = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    ticks = range(count)
    if many:
        names = [f"{i} {_shortened(name)}" for i, name in enumerate(class_names)]
        ax.set_yticks(ticks, names, fontsize=font)
        ax.set_xticks(ticks, [str(i) for i in ticks], rotation=90, fontsize=font)
        for line in np.arange(10, count, 10) - 0.5:
            ax.axhline(line, color="0.85", lw=0.4)
            ax.axvline(line, color="0.85", lw=0.4)
        ax.set_xlabel("predicted class (index)")
    else:
        names = [_shortened(name) for name in class_names]
        ax.set_yticks(ticks, names, fontsize=font)
        ax.set_xticks(ticks, names, rotation=90, fontsize=font)
        ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"{title}\n{heading}" if title else heading, fontsize=12 if many else 10)
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label("fraction of the true class's samples")
    return fig


def plot_confusion(
    confusion: np.ndarray, class_names: list[str], path: str | Path, title: str = ""
) -> None:
    """Save :func:`confusion_figure` as a PNG."""
    fig = confusion_figure(confusion, class_names, title)
    dpi = 110 if len(class_names) > 40 else 120
    fig.savefig(path, dpi=dpi, bbox_inches="tight", pad_inches=0.2)  # every label on the canvas
    plt.close(fig)


def plot_runs_right(counts: np.ndarray, path: str | Path, title: str = "") -> None:
    """Save a bar chart of how many samples ``k`` of ``R`` runs classify correctly.

    ``counts`` is ``(R + 1,)``: ``counts[k]`` samples are right in exactly ``k`` runs (see
    :meth:`~pyg_action.engine.scores.RunComparison.right_counts`). The bar at 0 is the floor
    that no fusion of these runs lifts, the bars between are the samples on which runs
    disagree; the y axis is logarithmic so that a handful of hard samples stays visible
    beside the many every run gets right.
    """
    counts = np.asarray(counts)
    runs, total = len(counts) - 1, int(counts.sum())
    shade = np.full(len(counts), "tab:blue", dtype=object)
    shade[0], shade[-1] = "tab:red", "tab:green"
    fig, ax = plt.subplots(figsize=(min(3.0 + 0.16 * len(counts), 12.0), 4.0), layout="constrained")
    ax.bar(np.arange(len(counts)), counts, width=0.8, color=list(shade))
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%d"))
    ax.set_ylim(0.7, max(2.0, float(counts.max())) * 2)
    for k in (0, runs):
        if counts[k]:
            ax.annotate(str(int(counts[k])), (k, counts[k]), ha="center", va="bottom", fontsize=8)
    ax.set_xlabel(f"runs that classify the sample correctly (of {runs})")
    ax.set_ylabel("samples")
    heading = (
        f"{total} samples: right in every run {int(counts[-1])}, in none {int(counts[0])}, "
        f"in fewer than half {int(counts[: (runs + 1) // 2].sum())}"
    )
    ax.set_title(f"{title}\n{heading}" if title else heading, fontsize=9)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _view(data: np.ndarray, image_coordinates: bool) -> np.ndarray:
    """``(2, T, V, M)`` plot coordinates: x and y, with y flipped for image layouts."""
    xy = np.array(data[:2], dtype=np.float64)
    if image_coordinates:
        xy[1] = -xy[1]
    return xy


def _limits(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    present = (xy != 0).any(axis=0)
    shown = xy[:, present] if present.any() else np.zeros((2, 1))
    low, high = shown.min(axis=1), shown.max(axis=1)
    pad = 0.08 * float(max(high - low)) or 0.1
    return low - pad, high + pad


def _panel_size(low: np.ndarray, high: np.ndarray, height: float) -> tuple[float, float]:
    """``(width, height)`` inches of a panel showing ``low..high`` at equal aspect."""
    span = np.maximum(high - low, 1e-9)
    return height * float(np.clip(span[0] / span[1], 0.35, 2.5)), height


def _wrapped(title: str, width: int) -> str:
    """``title`` broken into lines of at most ``width`` characters."""
    return "\n".join(
        wrapped for line in title.splitlines() for wrapped in textwrap.wrap(line, width) or [""]
    )


def draw_skeleton(
    ax,
    xy: np.ndarray,
    bones,
    bone_values: np.ndarray | None = None,
    joint_values: np.ndarray | None = None,
    colour: str = "tab:blue",
    cmap: str = "viridis",
    value_label: str = "",
) -> None:
    """Draw one skeleton ``xy`` ``(2, V)``; optional per-bone / per-joint values as colours,
    each with a colour bar labelled ``value_label``."""
    present = (xy != 0).any(axis=0)
    colours = plt.get_cmap(cmap)

    def scaled(values: np.ndarray) -> np.ndarray:
        span = float(values.max() - values.min()) or 1.0
        return (values - values.min()) / span

    bone_scale = scaled(bone_values) if bone_values is not None else None
    for i, (a, b) in enumerate(bones):
        if present[a] and present[b]:
            c = colours(bone_scale[i]) if bone_scale is not None else colour
            width = 1.5 + 4 * bone_scale[i] if bone_scale is not None else 2
            ax.plot(xy[0, [a, b]], xy[1, [a, b]], "-", color=c, lw=width)
    if bone_values is not None:
        mappable = plt.cm.ScalarMappable(
            cmap=cmap, norm=plt.Normalize(bone_values.min(), bone_values.max())
        )
        plt.colorbar(mappable, ax=ax, fraction=0.05, pad=0.02, label=value_label)
    if joint_values is not None:
        points = ax.scatter(
            xy[0, present], xy[1, present], c=joint_values[present], cmap=cmap, s=40, zorder=3
        )
        plt.colorbar(points, ax=ax, fraction=0.05, pad=0.02, label=value_label)
    else:
        ax.plot(xy[0, present], xy[1, present], "o", color=colour, ms=3)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def sequence_animation(
    data: np.ndarray,
    bones,
    image_coordinates: bool = False,
    title: str = "",
    caption: str = "",
) -> tuple[Any, Callable[[int], None]]:
    """The figure of an animation of ``(C, T, V, M)`` and the function drawing frame ``t``
    into it; the title shows ``title``, ``caption`` (e.g. the predicted class) and the frame."""
    xy = _view(data, image_coordinates)
    low, high = _limits(xy)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    heading = "\n".join(part for part in (title, caption) if part)
    width, height = _panel_size(low, high, 4.0)
    width = max(width, 3.2)
    fig, ax = plt.subplots(figsize=(width, height + 0.25 * (heading.count("\n") + 2)))
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02)

    def show(t: int) -> None:
        ax.clear()
        for m in range(xy.shape[3]):
            draw_skeleton(ax, xy[:, t, :, m], bones, colour=palette[m % len(palette)])
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_title(_wrapped(f"{heading}\nframe {t}", int(10 * width)), fontsize=9)

    return fig, show


def sequence_strip(
    data: np.ndarray,
    bones,
    image_coordinates: bool = False,
    frames: int = 8,
    title: str = "",
    caption: str = "",
):
    """A figure of ``frames`` evenly spaced frames of ``(C, T, V, M)`` side by side."""
    xy = _view(data, image_coordinates)
    low, high = _limits(xy)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    heading = "\n".join(part for part in (title, caption) if part)
    num_frames = xy.shape[1]
    picks = np.linspace(0, num_frames - 1, min(frames, num_frames)).round().astype(int)
    width, height = _panel_size(low, high, 2.8)
    fig, axes = plt.subplots(
        1,
        len(picks),
        figsize=(width * len(picks), height + 0.5),
        squeeze=False,
        layout="constrained",
    )
    for ax, t in zip(axes[0], picks, strict=True):
        for m in range(xy.shape[3]):
            draw_skeleton(ax, xy[:, t, :, m], bones, colour=palette[m % len(palette)])
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_title(f"frame {t}", fontsize=8)
    fig.suptitle(_wrapped(heading, int(12 * width * len(picks))), fontsize=10)
    return fig


def plot_sequence(
    data: np.ndarray,
    bones,
    path: str | Path,
    image_coordinates: bool = False,
    frames: int = 8,
    title: str = "",
    caption: str = "",
) -> None:
    """A skeleton sequence ``(C, T, V, M)`` as an animated GIF (``.gif``, see
    :func:`sequence_animation`) or a PNG strip (:func:`sequence_strip`).

    The panels take the skeleton's aspect, so the figure has no empty margins; ``caption``
    (e.g. the predicted class) is shown under the title.
    """
    path = Path(path)
    if path.suffix.lower() == ".gif":
        from matplotlib.animation import FuncAnimation, PillowWriter

        fig, show = sequence_animation(data, bones, image_coordinates, title, caption)
        animation = FuncAnimation(fig, show, frames=data.shape[1])
        animation.save(path, writer=PillowWriter(fps=15))
    else:
        fig = sequence_strip(data, bones, image_coordinates, frames, title, caption)
        fig.savefig(path, dpi=110)
    plt.close(fig)


def pose_figure(
    xy: np.ndarray,
    bones,
    title: str,
    bone_values: np.ndarray | None = None,
    joint_values: np.ndarray | None = None,
    value_label: str = "",
):
    """One skeleton pose ``(2, V)`` coloured by per-bone and/or per-joint values, with a
    colour bar labelled ``value_label``; the title is wrapped to the figure's width."""
    low, high = _limits(xy[:, None, :, None])
    width, height = _panel_size(low, high, 4.5)
    width = max(width, 2.0) + 1.2  # the colour bar and its label
    fig, ax = plt.subplots(figsize=(width, height + 0.6), layout="constrained")
    draw_skeleton(
        ax, xy, bones, bone_values=bone_values, joint_values=joint_values, value_label=value_label
    )
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_title(_wrapped(title, int(11 * width)), fontsize=9)
    return fig


def plot_on_skeleton(
    xy: np.ndarray,
    bones,
    path: str | Path,
    title: str,
    bone_values: np.ndarray | None = None,
    joint_values: np.ndarray | None = None,
    value_label: str = "",
) -> None:
    """Save :func:`pose_figure` as a PNG."""
    fig = pose_figure(xy, bones, title, bone_values, joint_values, value_label)
    fig.savefig(path, dpi=110)
    plt.close(fig)
