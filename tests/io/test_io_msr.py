"""MSR Action3D reader: every real file, the known all-zero file, and bad variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pyg_action.errors import SkeletonDataError
from pyg_action.io import find_sample_files, parse_msr_name, read_msr_action3d

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
MSR_DIR = DATA / "msr_action3d"
GOOD = MSR_DIR / "a01_s01_e01_skeleton3D.txt"
ZERO = MSR_DIR / "a13_s09_e02_skeleton3D.txt"

needs_data = pytest.mark.skipif(
    not MSR_DIR.is_dir(), reason=f"real MSR Action3D files not found at {MSR_DIR} (../shared/data)"
)


@needs_data
def test_good_file_matches_the_text():
    sample = read_msr_action3d(GOOD)
    expected = np.loadtxt(GOOD).reshape(-1, 20, 4)
    assert sample.data.shape == (3, 54, 20, 1)
    assert sample.data.dtype == np.float32
    np.testing.assert_array_equal(
        sample.data[..., 0], expected[..., :3].transpose(2, 0, 1).astype(np.float32)
    )
    assert sample.layout == "msr20"
    assert sample.name == "a01_s01_e01_skeleton3D"
    assert sample.label == 0
    assert (sample.meta["action"], sample.meta["subject"], sample.meta["repetition"]) == (1, 1, 1)
    # head (joint 20) above the feet (joints 18, 19): y is up
    assert (sample.data[1, :, 19, 0] > sample.data[1, :, 17:19, 0].max(axis=1)).all()


@needs_data
def test_confidence_channel_on_request():
    sample = read_msr_action3d(GOOD, with_confidence=True)
    assert sample.data.shape == (4, 54, 20, 1)
    assert sample.meta["channels"] == ("x", "y", "z", "confidence")
    assert 0 <= sample.data[3].min() and sample.data[3].max() <= 1


@needs_data
def test_known_all_zero_file_is_reported():
    with pytest.raises(SkeletonDataError) as info:
        read_msr_action3d(ZERO)
    assert info.value.reason == "all coordinates are zero"
    assert info.value.path == ZERO


@needs_data
def test_every_real_file():
    files = find_sample_files(MSR_DIR)
    assert len(files) == 567
    bad, shapes = [], []
    for path in files:
        try:
            sample = read_msr_action3d(path)
        except SkeletonDataError as exc:
            bad.append(exc.path.name)
            continue
        shapes.append(sample.data.shape)
        assert sample.label == int(path.name[1:3]) - 1
    assert bad == [ZERO.name]
    assert {s[0] for s in shapes} == {3} and {s[2:] for s in shapes} == {(20, 1)}
    assert min(s[1] for s in shapes) == 13 and max(s[1] for s in shapes) == 936


@needs_data
def test_lost_frames_are_kept_and_counted():
    sample = read_msr_action3d(MSR_DIR / "a07_s04_e01_skeleton3D.txt")
    assert sample.num_frames == 45
    assert sample.meta["lost_frames"] == 36


def test_parse_msr_name():
    assert parse_msr_name("a20_s10_e03_skeleton3D") == {
        "action": 20,
        "subject": 10,
        "repetition": 3,
    }
    assert parse_msr_name("walk.txt") is None


# ---------------------------------------------------------------- bad files


def _lines() -> list[str]:
    return GOOD.read_text().splitlines()


def _error(tmp_path: Path, lines: list[str] | str, name="a02_s03_e01_skeleton3D.txt"):
    path = tmp_path / name
    path.write_text(lines if isinstance(lines, str) else "\n".join(lines) + "\n")
    with pytest.raises(SkeletonDataError) as info:
        read_msr_action3d(path)
    assert str(path) in str(info.value)
    return info.value


def test_missing_and_empty(tmp_path):
    with pytest.raises(SkeletonDataError, match="does not exist"):
        read_msr_action3d(tmp_path / "a01_s01_e01_skeleton3D.txt")
    assert "empty" in _error(tmp_path, "").reason
    assert "white space" in _error(tmp_path, "\n\n  \n").reason


@needs_data
def test_line_count_not_a_multiple_of_20(tmp_path):
    error = _error(tmp_path, _lines()[:-1])
    assert "not a multiple of 20" in error.reason
    assert error.line == 53 * 20 + 1 and error.frame == 53


@needs_data
@pytest.mark.parametrize(
    "token, words", [("0.3x", "not a number"), ("nan", "non-finite"), ("inf", "non-finite")]
)
def test_garbled_and_non_finite_values_name_the_line(tmp_path, token, words):
    lines = _lines()
    fields = lines[416].split()
    fields[2] = token
    lines[416] = " ".join(fields)
    error = _error(tmp_path, lines)
    assert words in error.reason
    assert error.line == 417 and error.frame == 20


@needs_data
def test_wrong_column_count_and_blank_line(tmp_path):
    lines = _lines()
    lines[5] = "0.1 0.2 0.3"
    error = _error(tmp_path, lines)
    assert "4 values" in error.reason and error.line == 6
    lines = _lines()
    lines[30] = ""
    assert _error(tmp_path, lines).line == 31


@needs_data
def test_truncated_mid_line(tmp_path):
    text = GOOD.read_text()
    error = _error(tmp_path, text[: len(text) // 2 - 3])
    assert error.line is not None


def test_zero_file_synthetic(tmp_path):
    assert _error(tmp_path, ["0 0 0 1"] * 40).reason == "all coordinates are zero"
