"""``pyg-action inspect`` on real files, containers with bad samples, and bad files."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pyg_action.cli.inspect_cmd import inspect
from pyg_action.cli.main import cli
from pyg_action.io import write_npz
from pyg_action.sequence import SkeletonSequence

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
NTU = DATA / "ntu_samples" / "S001C003P008R002A058.skeleton"
KINETICS = DATA / "kinetics_samples" / "--33Lscn6sk.json"
MSR_GOOD = DATA / "msr_action3d" / "a01_s01_e01_skeleton3D.txt"
MSR_ZERO = DATA / "msr_action3d" / "a13_s09_e02_skeleton3D.txt"

needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"real skeleton data not found at {DATA} (../shared/data)"
)


def _run(*args: str):
    return CliRunner().invoke(cli, ["inspect", *map(str, args)])


@needs_data
def test_ntu_two_person_file():
    result = _run(NTU)
    assert result.exit_code == 0, result.output
    out = result.output
    for expected in (
        "sample S001C003P008R002A058",
        "layout:   ntu25",
        "frames:   70 (all-zero/missing: 0)",
        "persons:  2",
        "joints:   25",
        "channels: 3",
        "label:    57",
        "setup=1 camera=3 performer=8 replication=2 action=58",
        "1 good sample(s), 0 bad sample(s)",
    ):
        assert expected in out
    assert out.count(" min ") == 3


@needs_data
def test_kinetics_file_reports_missing_frames_and_label_name():
    result = _run(KINETICS)
    assert result.exit_code == 0, result.output
    assert "layout:   openpose18" in result.output
    assert "frames:   189 (all-zero/missing: 26)" in result.output
    assert "label:    129 (flipping pancake)" in result.output
    assert "score" in result.output


@needs_data
def test_msr_good_and_all_zero_files():
    good = _run(MSR_GOOD)
    assert good.exit_code == 0
    assert "layout:   msr20" in good.output and "subject=1" in good.output
    bad = _run(MSR_ZERO)
    assert bad.exit_code == 1
    assert "error:" in bad.output
    assert str(MSR_ZERO) in bad.output
    assert "all coordinates are zero" in bad.output


def test_missing_and_unknown_files(tmp_path):
    missing = _run(tmp_path / "none.skeleton")
    assert missing.exit_code == 1 and "does not exist" in missing.output
    (tmp_path / "notes.csv").write_text("a,b")
    unknown = _run(tmp_path / "notes.csv")
    assert unknown.exit_code == 1 and "unknown file type" in unknown.output
    forced = _run(tmp_path / "notes.csv", "--format", "msr")
    assert forced.exit_code == 1 and "notes.csv" in forced.output


def _sequence(name: str, value: float = 1.0) -> SkeletonSequence:
    data = np.full((3, 4, 25, 1), value, np.float32)
    data[:, 1] = 0  # one lost frame
    return SkeletonSequence(data=data, label=2, layout="ntu25", name=name)


def test_container_with_a_bad_sample_lists_it_and_keeps_going(tmp_path):
    path = tmp_path / "set.npz"
    write_npz(path, [_sequence("good"), _sequence("broken", np.nan), _sequence("fine")])
    result = CliRunner().invoke(inspect, [str(path), "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert "sample good" in result.output and "sample fine" not in result.output
    assert "frames:   4 (all-zero/missing: 1)" in result.output
    assert "bad sample:" in result.output and "sample broken" in result.output
    assert "1 more samples not shown" in result.output
    assert "2 good sample(s), 1 bad sample(s)" in result.output


def test_container_with_only_bad_samples_fails(tmp_path):
    path = tmp_path / "bad.npz"
    write_npz(path, [_sequence("broken", np.inf)])
    result = _run(path)
    assert result.exit_code == 1 and "no usable sample" in result.output


def test_stgcn_arrays_with_label_file(tmp_path):
    data = np.zeros((2, 3, 30, 25, 2), np.float32)
    data[:, :, :10, :, 0] = 1.0
    np.save(tmp_path / "val_data.npy", data)
    (tmp_path / "labels.pkl").write_bytes(pickle.dumps((["x", "y"], [4, 5])))
    result = _run(tmp_path / "val_data.npy", "--label-file", tmp_path / "labels.pkl")
    assert result.exit_code == 0, result.output
    assert "sample y" in result.output and "label:    5" in result.output
    assert "frames:   10" in result.output and "persons:  1" in result.output


@needs_data
def test_plot_writes_a_png(tmp_path):
    out = tmp_path / "ntu.png"
    result = _run(NTU, "--plot", out)
    assert result.exit_code == 0, result.output
    assert "frames [0, 23, 46, 69]" in result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 10_000


@pytest.mark.parametrize("layout, inverted", [("openpose18", True), ("ntu25", False)])
def test_plot_puts_the_head_up(tmp_path, layout, inverted):
    import matplotlib.pyplot as plt

    from pyg_action.cli.inspect_cmd import skeleton_figure

    joints = 18 if layout == "openpose18" else 25
    rng = np.random.default_rng(0)
    data = rng.uniform(0.2, 0.8, size=(3, 6, joints, 1)).astype(np.float32)
    data[:, 4] = 0  # a lost frame is never drawn
    fig, frames = skeleton_figure(SkeletonSequence(data, layout=layout, name="k"))
    assert frames == [0, 1, 3, 5]
    assert [ax.yaxis_inverted() for ax in fig.axes] == [inverted] * 4
    plt.close(fig)
