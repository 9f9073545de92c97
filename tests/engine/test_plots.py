"""The figures people look at: confusion matrices at 60 and 120 classes, skeleton plots that
fill their canvas with titles that fit and labelled colour bars, the GIF's predicted class,
and ``inspect --plot`` titles that do not overlap."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from pyg_action.cli.inspect_cmd import skeleton_figure
from pyg_action.data import NTU_ACTIONS, make_synthetic
from pyg_action.engine import plots
from pyg_action.layouts import get_layout


def _confusion(classes: int) -> np.ndarray:
    rng = np.random.default_rng(classes)
    confusion = np.diag(rng.integers(5, 20, classes))
    for row in range(classes):
        confusion[row, rng.integers(0, classes, 3)] += rng.integers(0, 5, 3)
    confusion[-1] = 0  # a class without test samples: not part of the mean-class accuracy
    return confusion


def _boxes(fig, artists):
    renderer = fig.canvas.get_renderer()
    return [artist.get_window_extent(renderer) for artist in artists if artist.get_text()]


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("classes", [60, 120])
def test_confusion_matrix_is_titled_and_legible(classes, tmp_path):
    confusion = _confusion(classes)
    fig = plots.confusion_figure(confusion, list(NTU_ACTIONS[:classes]), "stgcn (test)")
    fig.canvas.draw()
    ax = fig.axes[0]
    correct = np.diag(confusion)[:-1] / confusion[:-1].sum(1)
    top1 = 100 * np.trace(confusion) / confusion.sum()
    assert f"top-1 {top1:.2f}%" in ax.get_title()
    assert f"mean-class {100 * correct.mean():.2f}%" in ax.get_title()
    rows = _boxes(fig, ax.get_yticklabels())
    columns = _boxes(fig, ax.get_xticklabels())
    assert len(rows) == len(columns) == classes
    for labels in (rows, columns):  # every class is named, and no two names collide
        assert not any(_overlap(a, b) for a, b in zip(labels, labels[1:], strict=False))
    assert min(label.get_fontsize() for label in ax.get_yticklabels()) >= 6
    assert fig.axes[1].get_ylabel()  # the colour bar says what it measures
    plt.close(fig)
    plots.plot_confusion(confusion, list(NTU_ACTIONS[:classes]), tmp_path / "c.png")
    width, height = plt.imread(tmp_path / "c.png").shape[1::-1]
    assert max(width, height) < 3200  # one screen or page, not 5000 px


def _pose():
    sample = make_synthetic(1, seed=0)[0]
    return np.array(sample.data[:2, 0, :, 0], dtype=np.float64), get_layout(sample.layout)


def _inside(box, fig) -> bool:
    canvas = fig.bbox
    return box.x0 >= canvas.x0 and box.x1 <= canvas.x1 and box.y0 >= 0 and box.y1 <= canvas.y1


def test_skeleton_plot_fills_its_canvas_with_a_fitting_title_and_labelled_colour_bar():
    pose, layout = _pose()
    title = "S001C001P001R001A001: per-joint response for 'put on a hat/cap' (p=0.93)"
    values = np.linspace(0, 1, layout.num_joints)
    fig = plots.pose_figure(pose, layout.bones, title, joint_values=values, value_label="response")
    fig.canvas.draw()
    ax, bar = fig.axes
    assert bar.get_ylabel() == "response"
    assert _inside(ax.title.get_window_extent(fig.canvas.get_renderer()), fig)
    box = ax.get_window_extent()
    assert box.width * box.height > 0.5 * fig.bbox.width * fig.bbox.height
    plt.close(fig)


def test_the_animation_shows_the_predicted_class():
    sample = make_synthetic(1, seed=0)[0]
    layout = get_layout(sample.layout)
    caption = "predicted: synthetic_wave (p=0.91)"
    fig, show = plots.sequence_animation(sample.data, layout.bones, title="s", caption=caption)
    show(3)
    shown = " ".join(fig.axes[0].get_title().split())  # wrapped to the frame's width
    assert caption in shown and shown.endswith("frame 3")
    plt.close(fig)


def test_inspect_plot_titles_do_not_overlap(shared_data):
    from pyg_action.io import read_samples

    kinetics = sorted((shared_data / "kinetics_samples").glob("*.json"))
    path = next(p for p in kinetics if "label" not in p.name)
    fig, _ = skeleton_figure(read_samples(path).samples[0])
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    heading = fig._suptitle.get_window_extent(renderer)
    for ax in fig.axes:  # the heading sits clear above every panel title (a visible gap)
        assert heading.y0 - ax.title.get_window_extent(renderer).y1 >= 8
        assert not _overlap(heading, ax.get_window_extent(renderer))
    plt.close(fig)
