"""NTU RGB+D ``.skeleton`` reader: real files, body selection, and every kind of bad file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyg_action.errors import SkeletonDataError
from pyg_action.io import ntu_missing_samples, parse_ntu_name, read_ntu_skeleton
from pyg_action.io.ntu import body_activity

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
NTU_DIR = DATA / "ntu_samples"


def needs(path: Path) -> pytest.MarkDecorator:
    """Skip unless the real recorded data at ``path`` is there (it is never in the repo)."""
    return pytest.mark.skipif(
        not path.exists(),
        reason=f"real skeleton data not found at {path} (expected beside the repo in "
        "../shared/data; see its README.md)",
    )


def ntu_text(frames: list[list[tuple[int, np.ndarray]]], *, crlf: bool = True) -> str:
    """A synthetic NTU ``.skeleton`` text: per frame a list of ``(body_id, joints (25, 3))``."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, joints in bodies:
            lines.append(f"{body_id} 0 1 1 1 1 0 0.01 -0.2 2")
            lines.append("25")
            for x, y, z in joints:
                lines.append(f"{x:.7g} {y:.7g} {z:.7g} 300 200 1000 500 0.1 0.2 0.9 0.1 2")
    newline = "\r\n" if crlf else "\n"
    return newline.join(lines) + newline


def moving_body(
    num_frames: int, amplitude: float, seed: int, offset: float = 0.0, spread: float = 0.9
) -> np.ndarray:
    """``(T, 25, 3)`` joints spread over ``spread`` metres, moving by ``amplitude`` (never 0)."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.1, 0.1 + spread, size=(25, 3)) + np.array([offset, 0.0, 3.0])
    phase = np.sin(np.linspace(0, 3, num_frames))[:, None, None]
    return base[None] + amplitude * phase * rng.uniform(0.5, 1.0, size=(1, 25, 3))


FIRST = NTU_DIR / "S001C001P001R001A001.skeleton"
TWO_BODY = NTU_DIR / "S001C003P008R002A058.skeleton"


@needs(FIRST)
def test_body0_equals_official_converter_output():
    sample = read_ntu_skeleton(FIRST)
    expected = np.load(NTU_DIR / "S001C001P001R001A001.skel_body0.npy", allow_pickle=False)
    assert expected.shape == (103, 25, 3)
    assert sample.data.shape == (3, 103, 25, 1)
    assert sample.data.dtype == np.float32
    np.testing.assert_array_equal(
        sample.data[..., 0].transpose(1, 2, 0), expected.astype(np.float32)
    )


@needs(FIRST)
def test_name_gives_meta_and_label():
    sample = read_ntu_skeleton(FIRST)
    assert sample.name == "S001C001P001R001A001"
    assert sample.layout == "ntu25"
    assert sample.label == 0
    keys = ("setup", "camera", "performer", "replication", "action")
    assert [sample.meta[k] for k in keys] == [1, 1, 1, 1, 1]
    assert sample.meta["channels"] == ("x", "y", "z")
    assert sample.meta["listed_missing"] is False


@needs(TWO_BODY)
def test_two_person_interaction_keeps_both_bodies():
    sample = read_ntu_skeleton(TWO_BODY)
    assert sample.num_persons == 2
    assert sample.num_frames == 70
    assert sample.label == 57
    # both bodies are present in every frame, and the more active one comes first
    assert (sample.data != 0).any(axis=(0, 2)).all()
    assert sample.meta["body_activity"][0] >= sample.meta["body_activity"][1] > 0
    assert len(set(sample.meta["body_ids"])) == 2


@needs(NTU_DIR)
@pytest.mark.parametrize(
    "name, frames, persons",
    [
        ("S001C001P001R001A011", 82, 1),
        ("S002C001P003R001A003", 100, 1),
        ("S003C001P015R001A034", 71, 1),
        ("S004C002P003R001A017", 124, 1),
    ],
)
def test_single_body_files(name, frames, persons):
    sample = read_ntu_skeleton(NTU_DIR / f"{name}.skeleton")
    assert sample.data.shape == (3, frames, 25, persons)
    assert sample.label == int(name[-3:]) - 1
    assert np.isfinite(sample.data).all()


def _write(tmp_path: Path, text: str, name: str = "S001C001P001R001A005.skeleton") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def test_keeps_the_two_most_active_of_three_bodies(tmp_path):
    # activity is the spread of the joint values over space and time (the official
    # heuristic): a small, still "body" (a misdetected object) has the least of it
    frames = 20
    still = moving_body(frames, 0.0, seed=1, spread=0.02)
    calm = moving_body(frames, 0.05, seed=2, offset=1.0, spread=0.5)
    lively = moving_body(frames, 0.5, seed=3, offset=-1.0, spread=0.9)
    text = ntu_text([[(11, still[t]), (22, calm[t]), (33, lively[t])] for t in range(frames)])
    sample = read_ntu_skeleton(_write(tmp_path, text))
    assert sample.num_persons == 2
    assert sample.meta["body_ids"] == ["33", "22"]
    np.testing.assert_allclose(sample.data[..., 0].transpose(1, 2, 0), lively, atol=1e-5)
    np.testing.assert_allclose(sample.data[..., 1].transpose(1, 2, 0), calm, atol=1e-5)
    assert sample.meta["body_activity"][0] == pytest.approx(body_activity(lively), rel=1e-5)


def test_absent_second_body_is_not_padded(tmp_path):
    body = moving_body(5, 0.2, seed=0)
    text = ntu_text([[(7, body[t])] for t in range(5)])
    assert read_ntu_skeleton(_write(tmp_path, text)).num_persons == 1


def test_frames_without_bodies_stay_zero(tmp_path):
    body = moving_body(4, 0.2, seed=0)
    text = ntu_text([[(7, body[0])], [], [(7, body[2])], []])
    sample = read_ntu_skeleton(_write(tmp_path, text))
    assert sample.num_frames == 4
    assert not sample.data[:, 1].any() and not sample.data[:, 3].any()
    assert sample.data[:, 2].any()


def test_slot_modes_differ_when_bodies_swap_places(tmp_path):
    a = moving_body(6, 0.3, seed=4)
    b = moving_body(6, 0.3, seed=5, offset=2.0)
    frames = [[(1, a[t]), (2, b[t])] if t < 3 else [(2, b[t]), (1, a[t])] for t in range(6)]
    path = _write(tmp_path, ntu_text(frames))
    by_id = read_ntu_skeleton(path, slots="body_id")
    by_position = read_ntu_skeleton(path, slots="position")
    for m in range(2):  # with bodyID slots every person stays whole
        body = by_id.data[..., m].transpose(1, 2, 0)
        assert np.allclose(body, a, atol=1e-5) or np.allclose(body, b, atol=1e-5)
    assert not np.allclose(by_position.data, by_id.data)


def test_bodies_beyond_the_gathered_slots_are_counted(tmp_path):
    bodies = [moving_body(3, 0.1 * (i + 1), seed=i, offset=i) for i in range(5)]
    text = ntu_text([[(i, bodies[i][t]) for i in range(5)] for t in range(3)])
    sample = read_ntu_skeleton(_write(tmp_path, text))
    assert sample.meta["bodies_beyond_slots"] == 3
    assert sample.meta["bodies_seen"] == 4
    assert sample.num_persons == 2


def test_lf_line_endings_also_read(tmp_path):
    body = moving_body(3, 0.1, seed=0)
    text = ntu_text([[(7, body[t])] for t in range(3)], crlf=False)
    assert read_ntu_skeleton(_write(tmp_path, text)).num_frames == 3


# ---------------------------------------------------------------- bad files


def _real_lines() -> list[str]:
    return FIRST.read_bytes().decode().split("\r\n")


def _error(path: Path) -> SkeletonDataError:
    with pytest.raises(SkeletonDataError) as info:
        read_ntu_skeleton(path)
    assert str(path) in str(info.value)
    return info.value


def test_missing_file(tmp_path):
    error = _error(tmp_path / "S001C001P001R001A001.skeleton")
    assert "does not exist" in error.reason


def test_empty_and_blank_files(tmp_path):
    assert "empty" in _error(_write(tmp_path, "")).reason
    assert "white space" in _error(_write(tmp_path, "\r\n \r\n", "blank.skeleton")).reason


def test_folder_instead_of_file(tmp_path):
    folder = tmp_path / "S001C001P001R001A001.skeleton"
    folder.mkdir()
    assert "folder" in _error(folder).reason


@needs(FIRST)
def test_truncated_mid_frame(tmp_path):
    lines = _real_lines()
    cut = 2 + 3 * 28 + 10  # inside the joints of frame 3
    error = _error(_write(tmp_path, "\r\n".join(lines[:cut])))
    assert "truncated" in error.reason
    assert error.frame == 3
    assert error.line == cut + 1


@needs(FIRST)
def test_truncated_mid_line(tmp_path):
    data = FIRST.read_bytes()
    error = _error(_write(tmp_path, data[: len(data) // 2 + 7].decode()))
    assert error.frame is not None and error.line is not None


@needs(FIRST)
@pytest.mark.parametrize(
    "token, words",
    [
        ("abc", "not a number"),
        ("nan", "non-finite"),
        ("-inf", "non-finite"),
        ("1e999", "non-finite"),
    ],
)
def test_garbled_and_non_finite_joint_values(tmp_path, token, words):
    lines = _real_lines()
    target = 2 + 28 * 5 + 3 + 4  # frame 5, fifth joint line (0-based index)
    values = lines[target].split(" ")
    values[1] = token
    lines[target] = " ".join(values)
    error = _error(_write(tmp_path, "\r\n".join(lines)))
    assert words in error.reason
    assert error.line == target + 1
    assert error.frame == 5


@needs(FIRST)
def test_garbled_counts(tmp_path):
    lines = _real_lines()
    lines[0] = "many"
    assert "frame count" in _error(_write(tmp_path, "\r\n".join(lines))).reason
    lines = _real_lines()
    lines[1 + 28 * 2] = "x"  # body count of frame 2
    error = _error(_write(tmp_path, "\r\n".join(lines), "b.skeleton"))
    assert "body count" in error.reason and error.frame == 2
    lines = _real_lines()
    lines[3] = "24"  # joint count of frame 0
    error = _error(_write(tmp_path, "\r\n".join(lines), "c.skeleton"))
    assert "joint count" in error.reason and error.line == 4


@needs(FIRST)
def test_short_joint_line_and_body_line(tmp_path):
    lines = _real_lines()
    lines[10] = " ".join(lines[10].split(" ")[:5])
    assert "12" in _error(_write(tmp_path, "\r\n".join(lines))).reason
    lines = _real_lines()
    lines[2] = "72057594037931101 0 1"
    assert "body information" in _error(_write(tmp_path, "\r\n".join(lines), "d.skeleton")).reason


@needs(FIRST)
def test_content_after_last_frame(tmp_path):
    lines = _real_lines()
    lines[0] = str(int(lines[0]) - 1)
    assert "after the last" in _error(_write(tmp_path, "\r\n".join(lines))).reason


def test_zero_frames_and_no_bodies(tmp_path):
    assert "no frames" in _error(_write(tmp_path, "0\r\n")).reason
    assert "no body" in _error(_write(tmp_path, "2\r\n0\r\n0\r\n", "e.skeleton")).reason


def test_binary_garbage(tmp_path):
    path = tmp_path / "garbage.skeleton"
    path.write_bytes(bytes(range(256)) * 4)
    assert "text" in _error(path).reason


@needs(FIRST)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(min_value=1, max_value=FIRST.stat().st_size - 3 if FIRST.exists() else 10))
def test_any_truncation_gives_skeleton_data_error(tmp_path, cut):
    path = tmp_path / "cut.skeleton"
    path.write_bytes(FIRST.read_bytes()[:cut])
    with pytest.raises(SkeletonDataError):
        read_ntu_skeleton(path)


# ---------------------------------------------------------------- names and lists


def test_parse_ntu_name():
    assert parse_ntu_name("S017C003P020R002A120_rgb") == {
        "setup": 17, "camera": 3, "performer": 20, "replication": 2, "action": 120,
    }  # fmt: skip
    assert parse_ntu_name("not_an_ntu_name") is None


def test_missing_skeleton_lists():
    ntu60 = ntu_missing_samples()
    ntu120 = ntu_missing_samples("ntu120")
    assert len(ntu60) == 302 and len(ntu120) == 535
    assert ntu60 <= ntu120
    assert {"S001C002P005R002A008", "S017C003P020R001A059"} <= ntu60
    assert "S032C003P067R002A077" in ntu120
    assert all(parse_ntu_name(name) for name in ntu120)
    with pytest.raises(ValueError):
        ntu_missing_samples("ntu30")  # type: ignore[arg-type]


def test_missing_lists_are_package_data():
    folder = resources.files("pyg_action").joinpath("resources")
    assert folder.joinpath("ntu_samples_with_missing_skeletons.txt").is_file()
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["pyg_action"]
    assert "resources/*" in patterns


def test_garbled_huge_frame_count_is_not_allocated(tmp_path):
    body = moving_body(2, 0.1, seed=0)
    text = ntu_text([[(7, body[t])] for t in range(2)]).replace("2", "2000000000", 1)
    error = _error(_write(tmp_path, text))
    assert "beyond the 100000 frames" in error.reason and error.line == 1


def test_frame_count_within_the_cap_but_beyond_the_file_is_truncation(tmp_path):
    body = moving_body(2, 0.1, seed=0)
    text = ntu_text([[(7, body[t])] for t in range(2)]).replace("2", "90000", 1)
    error = _error(_write(tmp_path, text))
    assert "truncated" in error.reason and error.frame == 2
