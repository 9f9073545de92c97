"""Plots a person would rather look at than read: confusion matrix, skeletons, importance."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_confusion(confusion: np.ndarray, class_names: list[str], path: str | Path) -> None:
    """Row-normalised confusion matrix as a PNG."""
    rows = confusion.sum(1, keepdims=True)
    norm = np.divide(confusion, rows, out=np.zeros_like(confusion, dtype=float), where=rows > 0)
    size = max(5.0, 0.35 * len(class_names) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(class_names)), class_names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(class_names)), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
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


def draw_skeleton(
    ax,
    xy: np.ndarray,
    bones,
    bone_values: np.ndarray | None = None,
    joint_values: np.ndarray | None = None,
    colour: str = "tab:blue",
    cmap: str = "viridis",
) -> None:
    """Draw one skeleton ``xy`` ``(2, V)``; optional per-bone / per-joint values as colours."""
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
        plt.colorbar(mappable, ax=ax, fraction=0.046)
    if joint_values is not None:
        points = ax.scatter(
            xy[0, present], xy[1, present], c=joint_values[present], cmap=cmap, s=40, zorder=3
        )
        plt.colorbar(points, ax=ax, fraction=0.046)
    else:
        ax.plot(xy[0, present], xy[1, present], "o", color=colour, ms=3)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_sequence(
    data: np.ndarray,
    bones,
    path: str | Path,
    image_coordinates: bool = False,
    frames: int = 8,
    title: str = "",
) -> None:
    """A skeleton sequence ``(C, T, V, M)`` as an animated GIF (``.gif``) or a PNG strip."""
    xy = _view(data, image_coordinates)
    low, high = _limits(xy)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    num_frames = xy.shape[1]
    path = Path(path)
    if path.suffix.lower() == ".gif":
        from matplotlib.animation import FuncAnimation, PillowWriter

        fig, ax = plt.subplots(figsize=(4, 4.5))

        def show(t: int) -> None:
            ax.clear()
            for m in range(xy.shape[3]):
                draw_skeleton(ax, xy[:, t, :, m], bones, colour=palette[m % len(palette)])
            ax.set_xlim(low[0], high[0])
            ax.set_ylim(low[1], high[1])
            ax.set_title(f"{title} frame {t}", fontsize=9)

        animation = FuncAnimation(fig, show, frames=num_frames)
        animation.save(path, writer=PillowWriter(fps=15))
        plt.close(fig)
        return
    picks = np.linspace(0, num_frames - 1, min(frames, num_frames)).round().astype(int)
    fig, axes = plt.subplots(1, len(picks), figsize=(2.2 * len(picks), 3), squeeze=False)
    for ax, t in zip(axes[0], picks, strict=True):
        for m in range(xy.shape[3]):
            draw_skeleton(ax, xy[:, t, :, m], bones, colour=palette[m % len(palette)])
        ax.set_xlim(low[0], high[0])
        ax.set_ylim(low[1], high[1])
        ax.set_title(f"frame {t}", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_on_skeleton(
    xy: np.ndarray,
    bones,
    path: str | Path,
    title: str,
    bone_values: np.ndarray | None = None,
    joint_values: np.ndarray | None = None,
) -> None:
    """One skeleton pose ``(2, V)`` coloured by per-bone and/or per-joint values."""
    fig, ax = plt.subplots(figsize=(4.5, 5))
    draw_skeleton(ax, xy, bones, bone_values=bone_values, joint_values=joint_values)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
