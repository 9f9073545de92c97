"""Kinetics-skeleton JSON reader and label files: real files, person ranking, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pyg_action.errors import SkeletonDataError
from pyg_action.io import read_kinetics_json, read_kinetics_labels

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
KINETICS_DIR = DATA / "kinetics_samples"
PANCAKE = KINETICS_DIR / "--33Lscn6sk.json"
TRAIN_LABELS = KINETICS_DIR / "kinetics_train_label.json"

needs_data = pytest.mark.skipif(
    not KINETICS_DIR.is_dir(),
    reason=f"real Kinetics-skeleton samples not found at {KINETICS_DIR} (../shared/data)",
)


@needs_data
def test_real_kinetics_sample_matches_the_json():
    sample = read_kinetics_json(PANCAKE)
    content = json.loads(PANCAKE.read_text())
    assert sample.data.shape == (3, 189, 18, 2)
    assert sample.data.dtype == np.float32
    assert sample.layout == "openpose18"
    assert sample.label == 129
    assert sample.meta["label_name"] == "flipping pancake"
    assert sample.meta["channels"] == ("x", "y", "score")
    for frame in content["data"]:
        t = frame["frame_index"] - 1
        people = sorted(frame["skeleton"], key=lambda p: -sum(p["score"]))[:2]
        if not people:
            assert not sample.data[:, t].any()
        for m, person in enumerate(people):
            np.testing.assert_allclose(sample.data[0, t, :, m], person["pose"][0::2], rtol=1e-6)
            np.testing.assert_allclose(sample.data[1, t, :, m], person["pose"][1::2], rtol=1e-6)
            np.testing.assert_allclose(sample.data[2, t, :, m], person["score"], rtol=1e-6)
    # ranked by total score in every frame
    totals = sample.data[2].sum(axis=1)  # (T, M)
    assert (totals[:, 0] >= totals[:, 1]).all()


@needs_data
@pytest.mark.parametrize(
    "name, frames, label, label_name",
    [
        ("S004C002P003R001A055_rgb", 76, 55, "hugging other person"),
        ("S004C003P003R001A007_rgb", 77, 7, "throw"),
    ],
)
def test_ntu_videos_in_kinetics_format(name, frames, label, label_name):
    sample = read_kinetics_json(KINETICS_DIR / f"{name}.json")
    assert sample.data.shape[:3] == (3, frames, 18)
    assert 1 <= sample.num_persons <= 2
    assert sample.label == label and sample.meta["label_name"] == label_name
    assert sample.meta["action"] == label  # NTU files keep their 1-based action number
    assert not sample.data[2].any()  # all scores are 0 in these files


@needs_data
def test_label_file_reports_missing_sample_files():
    labels = read_kinetics_labels(TRAIN_LABELS)
    assert len(labels.entries) == 960
    assert not labels.errors
    present = {"S004C002P003R001A055_rgb", "S004C003P003R001A007_rgb"}
    assert present <= set(labels.entries)
    assert set(labels.entries) - set(labels.missing) == present
    assert len(labels.missing) == 958
    entry = labels.entries["S004C002P003R001A055_rgb"]
    assert (entry.label, entry.label_index, entry.has_skeleton) == (
        "hugging other person",
        55,
        True,
    )


@needs_data
def test_label_file_is_not_a_sample():
    with pytest.raises(SkeletonDataError, match="label file"):
        read_kinetics_json(TRAIN_LABELS)


def test_label_file_with_bad_entries_and_data_dir(tmp_path):
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "a.json").write_text("{}")
    labels_path = tmp_path / "labels.json"
    labels_path.write_text(
        json.dumps(
            {
                "a": {"label": "x", "label_index": 0, "has_skeleton": True},
                "b": {"label": "y", "label_index": 1, "has_skeleton": False},
                "c": {"label": 3, "label_index": 1, "has_skeleton": True},
                "d": "nonsense",
                "e": {"label": "z", "label_index": 10**30, "has_skeleton": True},
            }
        )
    )
    labels = read_kinetics_labels(labels_path, tmp_path / "videos")
    assert list(labels.entries) == ["a", "b"]
    assert labels.missing == ["b"]
    assert [e.sample for e in labels.errors] == ["c", "d", "e"]
    assert "outside -1..9999" in labels.errors[2].reason
    assert all(str(labels_path) in str(e) for e in labels.errors)
    assert read_kinetics_labels(labels_path, check_files=False).missing == []


def _person(score: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "pose": [round(v, 3) for v in rng.uniform(0.1, 0.9, 36).tolist()],
        "score": [score] * 18,
    }


def _write(tmp_path: Path, content, name: str = "clip.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_persons_ranked_by_score_and_gaps_stay_zero(tmp_path):
    low, high, mid = _person(0.2, 1), _person(0.9, 2), _person(0.5, 3)
    content = {
        "data": [
            {"frame_index": 1, "skeleton": [low, high, mid]},
            {"frame_index": 4, "skeleton": [low]},
        ],
        "label": "x",
        "label_index": 3,
    }
    sample = read_kinetics_json(_write(tmp_path, content))
    assert sample.data.shape == (3, 4, 18, 2)
    np.testing.assert_allclose(sample.data[0, 0, :, 0], high["pose"][0::2], rtol=1e-6)
    np.testing.assert_allclose(sample.data[0, 0, :, 1], mid["pose"][0::2], rtol=1e-6)
    assert not sample.data[:, 1:3].any()
    assert sample.data[:, 3, :, 0].any() and not sample.data[:, 3, :, 1].any()
    assert read_kinetics_json(_write(tmp_path, content), max_persons=1).num_persons == 1
    assert read_kinetics_json(_write(tmp_path, content), max_persons=3).num_persons == 3


def test_single_person_is_not_padded_and_zero_based_index(tmp_path):
    content = {"data": [{"frame_index": 0, "skeleton": [_person(0.5, 1)]}], "label_index": -1}
    sample = read_kinetics_json(_write(tmp_path, content))
    assert sample.data.shape == (3, 1, 18, 1)
    assert sample.label is None
    assert sample.meta["frame_index_base"] == 0


# ---------------------------------------------------------------- bad files


def _error(path: Path) -> SkeletonDataError:
    with pytest.raises(SkeletonDataError) as info:
        read_kinetics_json(path)
    assert str(path) in str(info.value)
    return info.value


def test_missing_and_empty(tmp_path):
    assert "does not exist" in _error(tmp_path / "none.json").reason
    assert "empty" in _error(_write(tmp_path, "")).reason


@needs_data
def test_truncated_json(tmp_path):
    text = PANCAKE.read_text()
    error = _error(_write(tmp_path, text[: len(text) // 2]))
    assert "truncated JSON" in error.reason
    assert error.line is not None


@needs_data
def test_garbled_json(tmp_path):
    text = PANCAKE.read_text().replace("0.491", "0.4x1", 1)
    assert "invalid JSON" in _error(_write(tmp_path, text)).reason


@needs_data
@pytest.mark.parametrize(
    "value, words", [('"abc"', "non-number"), ("NaN", "non-finite"), ("Infinity", "non-finite")]
)
def test_bad_values_name_the_frame(tmp_path, value, words):
    content = json.loads(PANCAKE.read_text())
    content["data"][10]["skeleton"][0]["pose"][3] = "PLACEHOLDER"
    text = json.dumps(content).replace('"PLACEHOLDER"', value)
    error = _error(_write(tmp_path, text))
    assert words in error.reason
    assert error.frame == content["data"][10]["frame_index"]


@pytest.mark.parametrize(
    "content, words",
    [
        ([1, 2], "top level"),
        ({"label": "x"}, "no 'data'"),
        ({"data": []}, "no frames"),
        ({"data": {}}, "list of frames"),
        ({"data": [{"frame_index": 1, "skeleton": []}]}, "no person"),
        ({"data": [{"frame_index": -1, "skeleton": []}]}, "frame_index"),
        ({"data": [{"frame_index": "1", "skeleton": []}]}, "frame_index"),
        ({"data": [{"frame_index": 1, "skeleton": [{"pose": [0.1] * 30, "score": [1] * 18}]}]},
         "36 numbers"),
        ({"data": [{"frame_index": 1, "skeleton": [{"pose": [0.1] * 36}]}]}, "'pose' and 'score'"),
        ({"data": [{"frame_index": 1, "skeleton": {}}]}, "'skeleton' must be a list"),
        ({"data": [{"frame_index": 1, "skeleton": []}, {"frame_index": 1, "skeleton": []}]},
         "twice"),
        ({"data": ["frame"]}, "not an object"),
    ],
)  # fmt: skip
def test_malformed_content(tmp_path, content, words):
    assert words in _error(_write(tmp_path, content)).reason


def test_not_utf8(tmp_path):
    path = tmp_path / "clip.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert "text" in _error(path).reason


def test_label_file_problems(tmp_path):
    with pytest.raises(SkeletonDataError, match="does not exist"):
        read_kinetics_labels(tmp_path / "none.json")
    with pytest.raises(SkeletonDataError, match="object of video ids"):
        read_kinetics_labels(_write(tmp_path, [1, 2], "l.json"))
    with pytest.raises(SkeletonDataError, match="truncated JSON"):
        read_kinetics_labels(_write(tmp_path, '{"a": {"label": "x", ', "t.json"))
    with pytest.raises(SkeletonDataError, match="sample file"):
        read_kinetics_labels(_write(tmp_path, {"data": []}, "s.json"))


def test_garbled_huge_frame_index_is_not_allocated(tmp_path):
    content = {"data": [{"frame_index": 10**12, "skeleton": [_person(0.5, 1)]}]}
    error = _error(_write(tmp_path, content))
    assert "max_frames" in error.reason
    small = {"data": [{"frame_index": 50, "skeleton": [_person(0.5, 1)]}]}
    with pytest.raises(SkeletonDataError, match="max_frames=10"):
        read_kinetics_json(_write(tmp_path, small), max_frames=10)


def test_integer_beyond_python_digit_limit_is_a_data_error(tmp_path):
    text = '{"data": [{"frame_index": ' + "9" * 5000 + ', "skeleton": []}]}'
    assert "invalid JSON" in _error(_write(tmp_path, text)).reason
    with pytest.raises(SkeletonDataError, match="invalid JSON"):
        read_kinetics_labels(_write(tmp_path, '{"a": ' + "1" * 5000 + "}", "l.json"))


def test_integer_beyond_float_range_is_non_finite(tmp_path):
    person = _person(0.5, 1)
    person["pose"][3] = 10**400
    error = _error(_write(tmp_path, {"data": [{"frame_index": 1, "skeleton": [person]}]}))
    assert "non-finite" in error.reason and error.frame == 1


def test_label_file_with_an_unusable_file_name_reports_it_missing(tmp_path):
    long_id = "S" + "9" * 400 + "C001P001R001A001_rgb"  # beyond the file-name length limit
    entry = {"label": "x", "label_index": 1, "has_skeleton": True}
    labels = read_kinetics_labels(_write(tmp_path, {long_id: entry, "a": entry}, "l.json"))
    assert list(labels.entries) == [long_id, "a"]
    assert labels.missing == [long_id, "a"]
