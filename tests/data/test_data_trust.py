"""Trust boundaries of the data path: labels, absurd values, links that lead nowhere, empty
sources and tampered caches are bad samples or clear errors, and never lose the rest."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
from click.testing import CliRunner

from pyg_action.cli.main import cli
from pyg_action.data.datasets import SkeletonDataset
from pyg_action.data.prepared import is_prepared, open_prepared, prepare, write_cache
from pyg_action.errors import SkeletonDataError
from pyg_action.io import read_npz, read_samples, write_npz
from pyg_action.io.validation import MAX_ABS_VALUE, validate_sample
from pyg_action.sequence import SkeletonSequence


def _sample(name: str, label: int | None = 0, frames: int = 6, seed: int = 0) -> SkeletonSequence:
    data = np.random.default_rng(seed).normal(size=(3, frames, 25, 1)).astype(np.float32)
    return SkeletonSequence(data, label, "ntu25", name)


def _msr_text(frames: int = 2) -> str:
    return "".join(f"{0.1 * j} {0.2 + t} 2.0 1\n" for t in range(frames) for j in range(20))


def _annotation(name: str, label: object) -> dict:
    keypoint = np.linspace(1, 2, 8 * 17 * 2, dtype=np.float32).reshape(1, 8, 17, 2)
    return {"frame_dir": name, "label": label, "keypoint": keypoint, "total_frames": 8}


# ------------------------------------------------------------------ labels


def test_prepare_keeps_the_samples_beside_a_label_of_10_to_the_30(tmp_path):
    # used to end in OverflowError while saving labels.npy: no report.json, the run lost
    content = {"annotations": [_annotation("a", 0), _annotation("b", 10**30), _annotation("c", 2)]}
    path = tmp_path / "ann.pkl"
    path.write_bytes(pickle.dumps(content))
    report = prepare(path, tmp_path / "cache", "pyskl", progress=False)
    assert report["good"] == 2
    expected = f"sample b: label {10**30} is outside 0..9999 (the largest supported 10000 classes)"
    assert report["bad_files"] == [[str(path.resolve()), expected]]
    assert open_prepared(tmp_path / "cache").names == ["a", "c"]
    assert json.loads((tmp_path / "cache" / "report.json").read_text())["good"] == 2


@pytest.mark.parametrize("name", ["a99_s01_e01_skeleton3D.txt", "a00_s01_e01_skeleton3D.txt"])
def test_msr_actions_outside_1_to_20_are_bad_samples(tmp_path, name):
    (tmp_path / name).write_text(_msr_text())
    (tmp_path / "a20_s01_e01_skeleton3D.txt").write_text(_msr_text())
    report = prepare(tmp_path, tmp_path / "cache", "msr", progress=False)
    assert report["good"] == 1 and report["bad"] == 1
    ((file, reason),) = report["bad_files"]
    assert file.endswith(name) and f"action {name[:3]} of the file name" in reason
    assert open_prepared(tmp_path / "cache").labels.tolist() == [19]


@pytest.mark.parametrize(
    ("text", "reason"),
    [("1e30", r"label_index 1e\+30 is not an integer"), (str(10**30), "outside 0..9999")],
)
def test_kinetics_label_index_of_1e30_is_refused(tmp_path, text, reason):
    pose = {"pose": [0.5] * 36, "score": [0.9] * 18}
    body = json.dumps({"data": [{"frame_index": 1, "skeleton": [pose]}], "label_index": 0})
    path = tmp_path / "clip.json"
    path.write_text(body.replace('"label_index": 0', f'"label_index": {text}'))
    with pytest.raises(SkeletonDataError, match=reason) as info:
        read_samples(path)
    assert info.value.path == path


def test_a_dataset_leaves_out_and_lists_labels_beyond_its_classes(capsys):
    samples = [_sample(f"s{i}", label=i, seed=i) for i in range(4)]
    samples[3].label = 98  # e.g. an npz labelled for another data set
    dataset = SkeletonDataset(samples, num_classes=20)
    assert dataset.names == ["s0", "s1", "s2"] and dataset.num_classes == 20
    assert dataset.report["bad"] == 1
    assert dataset.report["bad_files"] == [["s3", "label 98 is outside the dataset's 20 classes"]]
    assert "s3: label 98" in capsys.readouterr().err
    with pytest.raises(SkeletonDataError, match="label 98"):
        SkeletonDataset(samples, num_classes=20, strict=True)


# ------------------------------------------------------------------ values


def test_one_joint_at_1e30_or_nan_frames_reject_that_sample_only(tmp_path):
    big, nan, good = _sample("big", seed=1), _sample("nan", seed=2), _sample("good", seed=3)
    big.data[1, 4, 7, 0] = 1e30
    nan.data[:, 2:4] = np.nan
    result = read_npz(write_npz(tmp_path / "set.npz", [big, nan, good]))
    assert [s.name for s in result.samples] == ["good"]
    errors = {(e.sample, e.frame): e.reason for e in result.errors}
    assert errors == {
        ("big", 4): f"a value beyond +-{MAX_ABS_VALUE:g}",
        ("nan", 2): "NaN or infinite value",
    }
    assert all(e.path == tmp_path / "set.npz" for e in result.errors)


def test_the_rule_is_the_same_for_in_memory_samples(tmp_path):
    zero = _sample("zero")
    zero.data[:] = 0
    with pytest.raises(SkeletonDataError, match="all coordinates are zero"):
        validate_sample(zero, tmp_path / "x.npz", name="zero")
    report = write_cache([zero, _sample("ok")], tmp_path / "cache")
    assert report["bad_files"] == [["zero", "all coordinates are zero"]]


def test_a_tampered_cache_names_the_file_and_sample(tmp_path):
    write_cache([_sample("a", seed=1), _sample("b", seed=2)], tmp_path)
    frames = np.load(tmp_path / "frames.npy")
    frames[8, 3, 1] = np.inf  # a row of sample b
    np.save(tmp_path / "frames.npy", frames)
    cache = open_prepared(tmp_path)
    assert cache.array(0).shape == (3, 6, 25, 1)
    with pytest.raises(SkeletonDataError, match="NaN or infinite") as info:
        cache.array(1)
    assert info.value.path == tmp_path / "frames.npy" and info.value.sample == "b"
    (tmp_path / "index.json").write_text("{garbled")
    with pytest.raises(SkeletonDataError, match="not valid JSON") as info:
        open_prepared(tmp_path)
    assert info.value.path == tmp_path / "index.json"


# ------------------------------------------------------------------ entries of a folder


def test_prepare_lists_dangling_and_looping_links_and_fifos(tmp_path):
    source = tmp_path / "data"
    source.mkdir()
    write_npz(source / "good.npz", [_sample("g")])
    (source / "dangling.npz").symlink_to(source / "gone.npz")
    (source / "loop.npz").symlink_to(source / "loop.npz")
    os.mkfifo(source / "pipe.npz")  # opening it would block the run
    report = prepare(source, tmp_path / "cache", progress=False)
    assert report["good"] == 1
    reasons = {os.path.basename(file): reason for file, reason in report["bad_files"]}
    assert reasons == {
        "dangling.npz": "dangling symbolic link: its target does not exist",
        "loop.npz": "symbolic link loop: it never reaches a file",
        "pipe.npz": "a named pipe (fifo), not a regular file: not read",
    }


def test_prepare_of_an_empty_folder_fails_clearly(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["prepare", str(tmp_path / "empty"), str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "no good sample to prepare" in result.output and "no sample files found" in result.output
    assert not is_prepared(tmp_path / "out")
    assert json.loads((tmp_path / "out" / "report.json").read_text())["good"] == 0
