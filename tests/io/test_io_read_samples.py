"""Dispatch by suffix, folder listing, and fuzzing: corrupt files only raise SkeletonDataError."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyg_action.errors import SkeletonDataError
from pyg_action.io import (
    FORMAT_SUFFIXES,
    ReadResult,
    detect_format,
    find_sample_files,
    read_samples,
)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"real skeleton data not found at {DATA} (../shared/data)"
)


def test_detect_format_by_suffix():
    assert detect_format("a/S001C001P001R001A001.skeleton") == "ntu"
    assert detect_format("clip.JSON") == "kinetics"
    assert detect_format("a01_s01_e01_skeleton3D.txt") == "msr"
    assert detect_format("train_data.npy") == "stgcn"
    assert detect_format("ntu60_3danno.pkl") == "pyskl"
    assert detect_format("mine.npz") == "npz"
    with pytest.raises(SkeletonDataError, match="unknown file type '.csv'"):
        detect_format("table.csv")
    assert set(FORMAT_SUFFIXES) == {"ntu", "kinetics", "msr", "stgcn", "pyskl", "npz"}


def test_options_and_format_names_are_checked(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match="max_bodies"):
        read_samples(path, max_bodies=3)
    with pytest.raises(ValueError, match="unknown format"):
        read_samples(path, format="csv")


@needs_data
@pytest.mark.parametrize(
    "relative, fmt, shape",
    [
        ("ntu_samples/S001C003P008R002A058.skeleton", "ntu", (3, 70, 25, 2)),
        ("kinetics_samples/--33Lscn6sk.json", "kinetics", (3, 189, 18, 2)),
        ("msr_action3d/a20_s10_e03_skeleton3D.txt", "msr", None),
    ],
)
def test_read_samples_on_real_files(relative, fmt, shape):
    result = read_samples(DATA / relative)
    assert isinstance(result, ReadResult) and result.ok and len(result) == 1
    assert result.samples[0].meta["format"] == fmt
    if shape:
        assert result.samples[0].data.shape == shape


@needs_data
def test_read_samples_passes_options_and_raises_for_bad_files():
    path = DATA / "ntu_samples/S001C003P008R002A058.skeleton"
    assert read_samples(path, max_bodies=1).samples[0].num_persons == 1
    with pytest.raises(SkeletonDataError, match="all coordinates are zero"):
        read_samples(DATA / "msr_action3d/a13_s09_e02_skeleton3D.txt")


@needs_data
def test_find_sample_files_in_the_real_folders():
    ntu = find_sample_files(DATA / "ntu_samples")
    assert len(ntu) == 6 and all(p.suffix == ".skeleton" for p in ntu)
    kinetics = find_sample_files(DATA / "kinetics_samples")
    assert [p.name for p in kinetics] == [
        "--33Lscn6sk.json",
        "S004C002P003R001A055_rgb.json",
        "S004C003P003R001A007_rgb.json",
    ]
    assert len(find_sample_files(DATA / "msr_action3d", "msr")) == 567
    assert find_sample_files(DATA / "ntu_samples", "stgcn") == [
        DATA / "ntu_samples" / "S001C001P001R001A001.skel_body0.npy"
    ]
    assert len(find_sample_files(DATA, recursive=True)) == 6 + 3 + 567
    assert find_sample_files(DATA, recursive=False) == []


def test_find_sample_files_problems(tmp_path):
    with pytest.raises(SkeletonDataError, match="not a folder"):
        find_sample_files(tmp_path / "nothing")
    with pytest.raises(ValueError, match="unknown format"):
        find_sample_files(tmp_path, "csv")


# ---------------------------------------------------------------- fuzzing


def _ntu_bytes() -> bytes:
    joint = "0.1 0.2 3.0 300 200 1000 500 0.1 0.2 0.9 0.1 2"
    frame = ["1", "72057594037931101 0 1 1 1 1 0 0.01 -0.2 2", "25"] + [joint] * 25
    return "\r\n".join(["2"] + frame + frame).encode() + b"\r\n"


def _kinetics_bytes() -> bytes:
    person = {"pose": [0.5] * 36, "score": [0.9] * 18}
    frames = [{"frame_index": i, "skeleton": [person]} for i in (1, 2)]
    return json.dumps({"data": frames, "label": "x", "label_index": 1}).encode()


def _msr_bytes() -> bytes:
    return ("0.1 0.2 2.5 1.0\n" * 40).encode()


def _npz_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "seed.npz"
    np.savez(path, sample_0=np.ones((3, 2, 25, 1)), labels=np.array([0]))
    return path.read_bytes()


def _npy_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "seed.npy"
    np.save(path, np.ones((2, 3, 4, 25, 1), np.float32))
    return path.read_bytes()


def _pyskl_bytes() -> bytes:
    annotation = {"frame_dir": "a", "label": 0, "keypoint": np.ones((1, 3, 17, 2), np.float32)}
    return pickle.dumps({"split": {"train": ["a"]}, "annotations": [annotation]})


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("seeds")
    return {
        ".skeleton": _ntu_bytes(),
        ".json": _kinetics_bytes(),
        ".txt": _msr_bytes(),
        ".npz": _npz_bytes(folder),
        ".npy": _npy_bytes(folder),
        ".pkl": _pyskl_bytes(),
    }


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    suffix=st.sampled_from([".skeleton", ".json", ".txt", ".npz", ".npy", ".pkl"]),
    cut=st.floats(0.0, 1.0),
    edits=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=4),
)
def test_corrupted_files_only_raise_skeleton_data_error(tmp_path, seeds, suffix, cut, edits):
    raw = bytearray(seeds[suffix])
    for where, value in edits:
        raw[int(where * (len(raw) - 1))] = value
    raw = raw[: max(0, round(cut * len(raw)))] if cut < 1 else raw
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(bytes(raw))
    try:
        result = read_samples(path)
    except SkeletonDataError as exc:
        assert exc.path is not None
        return
    for error in result.errors:
        assert isinstance(error, SkeletonDataError)
    for sample in result.samples:
        assert sample.data.dtype == np.float32 and np.isfinite(sample.data).all()
