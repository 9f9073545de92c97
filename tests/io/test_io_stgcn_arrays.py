"""ST-GCN ``.npy`` + label ``.pkl`` and pyskl annotation pickles."""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from pyg_action.errors import SkeletonDataError
from pyg_action.io import (
    load_npy,
    read_pyskl_pickle,
    read_samples,
    read_stgcn_arrays,
    read_stgcn_labels,
)


def _padded_arrays() -> np.ndarray:
    """Four samples padded to T=300, M=2: short 1-person, 2-person with a gap, zero, NaN."""
    rng = np.random.default_rng(0)
    data = np.zeros((4, 3, 300, 25, 2), np.float32)
    data[0, :, :50, :, 0] = rng.normal(size=(3, 50, 25))
    data[1, :, :80] = rng.normal(size=(3, 80, 25, 2))
    data[1, :, 30:40] = 0  # a gap inside the sample is not padding
    data[3, :, :20, :, 0] = rng.normal(size=(3, 20, 25))
    data[3, 1, 7, 4, 0] = np.nan
    return data


@pytest.fixture
def stgcn_files(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    data = _padded_arrays()
    data_path = tmp_path / "train_data.npy"
    np.save(data_path, data)
    label_path = tmp_path / "train_label.pkl"
    names = [f"S001C001P001R001A{i + 1:03d}.skeleton" for i in range(4)]
    label_path.write_bytes(pickle.dumps((names, [0, 1, 2, 3])))
    return data_path, label_path, data


def test_samples_are_trimmed_and_bad_ones_reported(stgcn_files):
    data_path, label_path, data = stgcn_files
    result = read_stgcn_arrays(data_path, label_path)
    assert [s.data.shape for s in result.samples] == [(3, 50, 25, 1), (3, 80, 25, 2)]
    np.testing.assert_array_equal(result.samples[0].data, data[0, :, :50, :, :1])
    np.testing.assert_array_equal(result.samples[1].data, data[1, :, :80])
    assert [s.label for s in result.samples] == [0, 1]
    assert result.samples[0].name == "S001C001P001R001A001.skeleton"
    assert result.samples[0].layout == "ntu25"
    assert result.samples[0].meta["padded_frames"] == 250
    assert result.samples[0].meta["padded_persons"] == 1
    assert [e.sample for e in result.errors] == [
        "S001C001P001R001A003.skeleton",
        "S001C001P001R001A004.skeleton",
    ]
    assert "all coordinates are zero" in result.errors[0].reason
    assert "NaN" in result.errors[1].reason and result.errors[1].frame == 7
    assert all(e.path == data_path for e in result.errors)


def test_read_samples_finds_the_sibling_label_file(stgcn_files):
    data_path, _, _ = stgcn_files
    result = read_samples(data_path)
    assert [s.label for s in result.samples] == [0, 1]
    assert len(result.errors) == 2


def test_without_labels_and_with_a_given_layout(tmp_path):
    data = np.zeros((2, 3, 10, 18, 1), np.float32)
    data[:, :, :4] = 1.0
    np.save(tmp_path / "x.npy", data)
    result = read_stgcn_arrays(tmp_path / "x.npy")
    assert [s.name for s in result.samples] == ["0", "1"]
    assert result.samples[0].label is None
    assert result.samples[0].layout == "openpose18"
    assert result.samples[0].num_frames == 4
    data7 = np.ones((1, 3, 5, 7, 1), np.float32)
    np.save(tmp_path / "y.npy", data7)
    with pytest.raises(SkeletonDataError, match="layout"):
        read_stgcn_arrays(tmp_path / "y.npy")
    assert read_stgcn_arrays(tmp_path / "y.npy", layout="custom7").samples[0].layout == "custom7"


def test_npy_is_memory_mapped_and_never_unpickled(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((1, 3, 4, 25, 1), np.float32))
    assert isinstance(load_npy(tmp_path / "a.npy"), np.memmap)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(SkeletonDataError, match="object array"):
        read_stgcn_arrays(tmp_path / "obj.npy")


@pytest.mark.parametrize(
    "array, words",
    [
        (np.ones((3, 4, 25, 1), np.float32), "(N, C, T, V, M)"),
        (np.ones((0, 3, 4, 25, 1), np.float32), "empty"),
        (np.array([[[[["a"]]]]]), "real-valued"),
    ],
)
def test_whole_file_problems_are_raised(tmp_path, array, words):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(SkeletonDataError) as info:
        read_stgcn_arrays(tmp_path / "bad.npy")
    assert words in info.value.reason
    assert info.value.path == tmp_path / "bad.npy"


def test_truncated_and_garbled_npy(stgcn_files, tmp_path):
    data_path, _, _ = stgcn_files
    raw = data_path.read_bytes()
    cut = tmp_path / "cut.npy"
    cut.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(SkeletonDataError, match="not a readable"):
        read_stgcn_arrays(cut)
    garbled = tmp_path / "garbled.npy"
    garbled.write_bytes(b"NUMPY? no" + raw[9:200])
    with pytest.raises(SkeletonDataError, match="not a readable"):
        read_stgcn_arrays(garbled)
    with pytest.raises(SkeletonDataError, match="does not exist"):
        read_stgcn_arrays(tmp_path / "none.npy")


def test_label_file_problems(stgcn_files, tmp_path):
    data_path, label_path, _ = stgcn_files
    label_path.write_bytes(pickle.dumps((["a", "b"], [0, 1])))
    with pytest.raises(SkeletonDataError, match="2 samples but the array holds 4"):
        read_stgcn_arrays(data_path, label_path)
    label_path.write_bytes(pickle.dumps((["a", "b"], [0])))
    with pytest.raises(SkeletonDataError, match="2 sample names but 1 labels"):
        read_stgcn_labels(label_path)
    label_path.write_bytes(pickle.dumps({"names": []}))
    with pytest.raises(SkeletonDataError, match="sample_names, labels"):
        read_stgcn_labels(label_path)
    label_path.write_bytes(pickle.dumps((["a"], ["x"])))
    with pytest.raises(SkeletonDataError, match="bad sample names or labels"):
        read_stgcn_labels(label_path)


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_malicious_label_pickle_is_refused(stgcn_files, tmp_path):
    data_path, label_path, _ = stgcn_files
    marker = tmp_path / "ran"
    label_path.write_bytes(pickle.dumps((["a"] * 4, [0, 1, 2, _Evil(marker)])))
    with pytest.raises(SkeletonDataError, match="refused global"):
        read_stgcn_arrays(data_path, label_path)
    assert not marker.exists()


# ---------------------------------------------------------------- pyskl


def _pyskl(tmp_path: Path, annotations, split=None, name="ann.pkl") -> Path:
    content = {
        "split": split or {"xsub_train": ["a", "b"], "xsub_val": ["c"]},
        "annotations": annotations,
    }
    path = tmp_path / name
    path.write_bytes(pickle.dumps(content))
    return path


def _annotation(name: str, persons=1, frames=10, joints=17, channels=2, score=True, label=3):
    rng = np.random.default_rng(len(name))
    ann = {
        "frame_dir": name,
        "label": label,
        "img_shape": (1080, 1920),
        "total_frames": frames,
        "keypoint": rng.uniform(1, 100, size=(persons, frames, joints, channels)).astype(
            np.float16
        ),
    }
    if score:
        ann["keypoint_score"] = rng.uniform(0, 1, size=(persons, frames, joints)).astype(np.float16)
    return ann


def test_pyskl_2d_with_scores_and_3d_without(tmp_path):
    two_d = _annotation("a", persons=2)
    three_d = _annotation("b", joints=25, channels=3, score=False, label=np.int64(5))
    result = read_pyskl_pickle(_pyskl(tmp_path, [two_d, three_d]))
    first, second = result.samples
    assert first.data.shape == (3, 10, 17, 2) and first.layout == "coco17"
    np.testing.assert_array_equal(first.data[:2], two_d["keypoint"].transpose(3, 1, 2, 0))
    np.testing.assert_array_equal(first.data[2], two_d["keypoint_score"].transpose(1, 2, 0))
    assert first.meta["channels"] == ("x", "y", "score")
    assert first.meta["img_shape"] == (1080, 1920)
    assert first.label == 3
    assert second.data.shape == (3, 10, 25, 1) and second.layout == "ntu25"
    assert second.label == 5 and isinstance(second.label, int)
    assert not result.errors


def test_pyskl_split_selection(tmp_path):
    path = _pyskl(tmp_path, [_annotation(n) for n in "abc"])
    assert [s.name for s in read_pyskl_pickle(path, split="xsub_train")] == ["a", "b"]
    assert [s.name for s in read_pyskl_pickle(path, split="xsub_val")] == ["c"]
    assert read_samples(path, split="xsub_val").samples[0].name == "c"
    with pytest.raises(SkeletonDataError, match="no split 'xview'"):
        read_pyskl_pickle(path, split="xview")


def test_pyskl_bad_annotations_are_reported_and_the_rest_kept(tmp_path):
    nan = _annotation("nan")
    nan["keypoint"][0, 4, 2, 0] = np.nan
    wrong_total = _annotation("total")
    wrong_total["total_frames"] = 99
    no_keypoint = {"frame_dir": "nokp", "label": 1}
    flat = _annotation("flat")
    flat["keypoint"] = np.zeros((10, 17, 2))
    bad_score = _annotation("score")
    bad_score["keypoint_score"] = np.ones((1, 9, 17))
    zero = _annotation("zero", score=False)
    zero["keypoint"][:] = 0
    odd = _annotation("odd", joints=7)
    bad_label = _annotation("label")
    bad_label["label"] = "three"
    annotations = [_annotation("good"), nan, wrong_total, no_keypoint, flat, bad_score, zero,
                   odd, bad_label, "not a dict"]  # fmt: skip
    path = _pyskl(tmp_path, annotations)
    result = read_pyskl_pickle(path)
    assert [s.name for s in result.samples] == ["good"]
    reasons = {e.sample: e.reason for e in result.errors}
    assert "NaN" in reasons["nan"]
    assert "total_frames" in reasons["total"]
    assert "keypoint" in reasons["nokp"]
    assert "(M, T, V, C)" in reasons["flat"]
    assert "keypoint_score" in reasons["score"]
    assert "all coordinates are zero" in reasons["zero"]
    assert "layout" in reasons["odd"]
    assert "not an integer" in reasons["label"]
    assert "not a dict" in reasons[9]
    assert all(e.path == path for e in result.errors)


def test_pyskl_whole_file_problems(tmp_path):
    path = tmp_path / "list.pkl"
    path.write_bytes(pickle.dumps([_annotation("a")]))
    assert len(read_pyskl_pickle(path)) == 1  # a bare list of annotations is accepted
    path.write_bytes(pickle.dumps({"split": {}}))
    with pytest.raises(SkeletonDataError, match="'annotations' list"):
        read_pyskl_pickle(path)
    marker = tmp_path / "ran"
    path.write_bytes(pickle.dumps({"annotations": [_Evil(marker)]}))
    with pytest.raises(SkeletonDataError, match="refused global"):
        read_pyskl_pickle(path)
    assert not marker.exists()
    raw = pickle.dumps({"annotations": [_annotation("a")]})
    path.write_bytes(raw[:-30])
    with pytest.raises(SkeletonDataError, match="cannot unpickle"):
        read_pyskl_pickle(path)


def _shared_reference_bomb(depth: int = 60) -> list:
    """Tiny as a pickle, but its printed form has 2**depth leaves."""
    node: list = ["x"]
    for _ in range(depth):
        node = [node, node]
    return node


def test_shared_reference_bombs_are_reported_without_printing_them(tmp_path, stgcn_files):
    data_path, label_path, _ = stgcn_files
    label_path.write_bytes(pickle.dumps(([_shared_reference_bomb()] * 4, [0, 1, 2, 3])))
    with pytest.raises(SkeletonDataError, match="is not a string"):
        read_stgcn_arrays(data_path, label_path)

    annotation = {"frame_dir": "a", "keypoint": np.ones((1, 3, 17, 2), np.float32)}
    bad_frames = dict(annotation, total_frames=_shared_reference_bomb())
    bad_label = dict(annotation, frame_dir="b", label=_shared_reference_bomb())
    content = {"split": {"x": ["a", "b", _shared_reference_bomb()]},
               "annotations": [bad_frames, bad_label, dict(annotation, frame_dir="c")]}  # fmt: skip
    path = tmp_path / "bomb.pkl"
    path.write_bytes(pickle.dumps(content))
    result = read_pyskl_pickle(path)
    assert [s.name for s in result.samples] == ["c"]
    assert ["total_frames" in e.reason for e in result.errors] == [True, False]
    assert "label" in result.errors[1].reason and len(result.errors[1].reason) < 200
    assert [e.sample for e in read_pyskl_pickle(path, split="x").errors] == ["a", "b"]


def test_complex_keypoints_and_scores_are_refused(tmp_path):
    keypoint = np.ones((1, 3, 17, 2), np.float32)
    annotations = [
        {"frame_dir": "a", "keypoint": keypoint.astype(np.complex64)},
        {"frame_dir": "b", "keypoint": keypoint, "keypoint_score": np.ones((1, 3, 17), complex)},
        {"frame_dir": "c", "keypoint": keypoint},
    ]
    path = tmp_path / "complex.pkl"
    path.write_bytes(pickle.dumps(annotations))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning: nothing is cast
        result = read_pyskl_pickle(path)
    assert [s.name for s in result.samples] == ["c"]
    assert [(e.sample, "dtype complex" in e.reason) for e in result.errors] == [
        ("a", True),
        ("b", True),
    ]
