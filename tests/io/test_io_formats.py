"""The format registry: a format registered as one record is detected, found, read and
prepared with no other edit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pyg_action.data import open_prepared, prepare, read_folder
from pyg_action.errors import SkeletonDataError
from pyg_action.io import (
    FORMAT_OPTIONS,
    FORMAT_SUFFIXES,
    FORMATS,
    FileFormat,
    detect_format,
    find_sample_files,
    folder_suffixes,
    read_samples,
    register_format,
    unread_files,
)
from pyg_action.io.formats import one_sample_reader
from pyg_action.sequence import SkeletonSequence

JOINTS = 20  # msr20


def read_pose(path: Path, *, scale: float = 1.0) -> SkeletonSequence:
    """A toy text format: a label line, then one ``x y z`` line per joint, frame by frame."""
    lines = path.read_text(encoding="utf-8").splitlines()
    values = np.array([[float(v) for v in line.split()] for line in lines[1:]], np.float32)
    if values.shape[0] % JOINTS:
        raise SkeletonDataError(f"{values.shape[0]} joint lines, not frames of {JOINTS}", path)
    data = values.reshape(-1, JOINTS, 3).transpose(2, 0, 1)[..., None] * scale
    return SkeletonSequence(
        data=np.ascontiguousarray(data),
        label=int(lines[0]),
        layout="msr20",
        name=path.stem,
        meta={"source": str(path)},
    )


@pytest.fixture
def pose_format():
    record = register_format(
        FileFormat("pose", (".pose",), one_sample_reader(read_pose), ("scale",))
    )
    yield record
    del FORMATS["pose"]


def write_pose(path: Path, label: int, frames: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(frames * JOINTS, 3))
    path.write_text(
        f"{label}\n" + "\n".join(" ".join(f"{v:.4f}" for v in row) for row in rows),
        encoding="utf-8",
    )
    return path


def test_a_registered_format_is_found_read_and_prepared(pose_format, tmp_path):
    folder = tmp_path / "poses"
    folder.mkdir()
    good = [write_pose(folder / f"clip{i}.pose", i, 5 + i, i) for i in range(3)]
    (folder / "broken.pose").write_text("1\n0 0 0\n", encoding="utf-8")
    (folder / "notes.md").write_text("not a sample", encoding="utf-8")

    assert detect_format("x/clip.POSE") == "pose"
    assert FORMAT_SUFFIXES["pose"] == (".pose",) and FORMAT_OPTIONS["pose"] == ("scale",)
    assert ".pose" in folder_suffixes()  # found without naming the format
    assert find_sample_files(folder) == sorted([*good, folder / "broken.pose"])
    assert unread_files(folder) == [folder / "notes.md"]

    (sample,) = read_samples(good[2], scale=2.0)
    assert sample.data.shape == (3, 7, JOINTS, 1) and sample.label == 2
    with pytest.raises(TypeError, match="'pose' takes options \\['scale'\\]"):
        read_samples(good[0], max_bodies=2)

    samples, report = read_folder(folder, "pose")
    assert [s.name for s in samples] == ["clip0", "clip1", "clip2"]
    assert report["bad"] == 1 and "not frames of 20" in report["bad_files"][0][1]

    written = prepare(folder, tmp_path / "cache", progress=False)
    cache = open_prepared(tmp_path / "cache")
    assert written["good"] == 3 and written["unread_files"] == [str(folder / "notes.md")]
    assert cache.names == ["clip0", "clip1", "clip2"] and cache.layout == "msr20"
    np.testing.assert_allclose(cache.array(1), samples[1].data, rtol=1e-6)


def test_a_format_found_only_when_named(tmp_path):
    record = FileFormat(
        "pose_named", (".posen",), one_sample_reader(read_pose), found_by_default=False
    )
    register_format(record)
    try:
        path = write_pose(tmp_path / "a.posen", 0, 3, 0)
        assert ".posen" not in folder_suffixes()
        assert find_sample_files(tmp_path) == []
        assert unread_files(tmp_path) == [path]
        assert find_sample_files(tmp_path, "pose_named") == [path]
    finally:
        del FORMATS["pose_named"]


def test_a_suffix_or_name_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="already belong to 'npz'"):
        register_format(FileFormat("other", (".npz",), one_sample_reader(read_pose)))
    with pytest.raises(ValueError, match="registered twice"):
        register_format(FileFormat("npz", (".npz2",), one_sample_reader(read_pose)))
    assert "other" not in FORMATS
