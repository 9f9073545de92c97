"""The generic ``.npz`` schema: round trips, hand-written files, and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyg_action.errors import SkeletonDataError
from pyg_action.io import read_npz, read_ntu_skeleton, read_samples, write_npz
from pyg_action.sequence import SkeletonSequence

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
NTU_DIR = DATA / "ntu_samples"


def _sequence(frames: int, persons: int, label: int | None, name: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(3, frames, 25, persons)).astype(np.float32)
    return SkeletonSequence(
        data=data, label=label, layout="ntu25", name=name, meta={"channels": ("x", "y", "z")}
    )


@pytest.mark.parametrize("dense", [False, True])
def test_round_trip(tmp_path, dense):
    sequences = [_sequence(5, 1, 0, "a"), _sequence(9, 2, None, "b", 1), _sequence(3, 1, 2, "c", 2)]
    path = write_npz(tmp_path / "set.npz", sequences, class_names=["x", "y", "z"], dense=dense)
    result = read_npz(path)
    assert result.ok and len(result) == 3
    for original, loaded in zip(sequences, result.samples, strict=True):
        np.testing.assert_array_equal(original.data, loaded.data)
        assert (loaded.label, loaded.name, loaded.layout) == (
            original.label,
            original.name,
            "ntu25",
        )
        assert loaded.meta["class_names"] == ("x", "y", "z")
        assert loaded.meta["channels"] == ("x", "y", "z")
    with np.load(path, allow_pickle=False) as archive:
        assert ("data" in archive.files) == dense


@pytest.mark.skipif(not NTU_DIR.is_dir(), reason=f"real NTU samples not found at {NTU_DIR}")
def test_round_trip_of_real_ntu_samples(tmp_path):
    sequences = [read_ntu_skeleton(p) for p in sorted(NTU_DIR.glob("*.skeleton"))]
    result = read_samples(write_npz(tmp_path / "ntu.npz", sequences))
    assert [s.data.shape for s in result] == [s.data.shape for s in sequences]
    assert [s.label for s in result] == [s.label for s in sequences]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    shapes=st.lists(st.tuples(st.integers(1, 6), st.integers(1, 3)), min_size=1, max_size=4),
    dense=st.booleans(),
)
def test_round_trip_property(tmp_path, shapes, dense):
    sequences = [
        _sequence(frames, persons, i, f"s{i}", seed=i) for i, (frames, persons) in enumerate(shapes)
    ]
    loaded = read_npz(write_npz(tmp_path / "p.npz", sequences, dense=dense)).samples
    assert [s.data.shape for s in loaded] == [s.data.shape for s in sequences]
    assert all(np.array_equal(a.data, b.data) for a, b in zip(sequences, loaded, strict=True))


def test_hand_written_files_in_both_forms(tmp_path):
    rng = np.random.default_rng(3)
    np.savez(
        tmp_path / "ragged.npz",
        sample_0=rng.normal(size=(2, 4, 17, 1)),
        sample_1=rng.normal(size=(2, 6, 17, 2)),
        labels=np.array([1, -1]),
    )
    ragged = read_npz(tmp_path / "ragged.npz").samples
    assert [s.data.shape for s in ragged] == [(2, 4, 17, 1), (2, 6, 17, 2)]
    assert [s.label for s in ragged] == [1, None]
    assert [s.name for s in ragged] == ["ragged_0", "ragged_1"]
    assert ragged[0].layout == "coco17" and ragged[0].data.dtype == np.float32

    dense = np.zeros((2, 3, 8, 20, 2))
    dense[0, :, :5, :, 0] = 1.0
    dense[1] = 2.0
    np.savez(tmp_path / "dense.npz", data=dense, lengths=[5, 8], persons=[1, 2], layout="msr20")
    samples = read_npz(tmp_path / "dense.npz").samples
    assert [s.data.shape for s in samples] == [(3, 5, 20, 1), (3, 8, 20, 2)]
    assert samples[0].layout == "msr20"

    np.savez(tmp_path / "one.npz", data=np.ones((3, 4, 25, 1)), names=np.array(["only"]))
    (only,) = read_npz(tmp_path / "one.npz").samples
    assert only.name == "only" and only.data.shape == (3, 4, 25, 1)
    assert read_npz(tmp_path / "one.npz", layout="mine").samples[0].layout == "mine"


def test_bad_samples_are_reported_and_the_rest_kept(tmp_path):
    good = np.ones((3, 4, 25, 1))
    nan = np.ones((3, 4, 25, 1))
    nan[0, 2, 3, 0] = np.nan
    huge = np.full((3, 2, 25, 1), 1e300)  # beyond float32
    np.savez(
        tmp_path / "mixed.npz",
        sample_00=good,
        sample_01=nan,
        sample_02=np.ones((3, 4, 25)),
        sample_03=huge,
        sample_04=np.ones((3, 4, 9, 1)),
        names=np.array(["good", "nan", "flat", "huge", "odd"]),
    )
    result = read_npz(tmp_path / "mixed.npz")
    assert [s.name for s in result.samples] == ["good"]
    reasons = {e.sample: e for e in result.errors}
    assert reasons["nan"].frame == 2 and "NaN" in reasons["nan"].reason
    assert "(C, T, V, M)" in reasons["flat"].reason
    assert "NaN or infinite" in reasons["huge"].reason
    assert "layout" in reasons["odd"].reason

    np.savez(
        tmp_path / "lengths.npz", data=np.ones((2, 3, 4, 25, 1)), lengths=[9, 2], persons=[1, 0]
    )
    result = read_npz(tmp_path / "lengths.npz")
    assert [e.reason for e in result.errors] == ["length 9 outside 1..4", "persons 0 outside 1..1"]


@pytest.mark.parametrize(
    "arrays, words",
    [
        ({"labels": np.array([1])}, "no sample data"),
        ({"data": np.ones((3, 25))}, "(N, C, T, V, M)"),
        ({"data": np.ones((1, 3, 2, 25, 1)), "sample_0": np.ones((3, 2, 25, 1))}, "both"),
        ({"sample_0": np.ones((3, 2, 25, 1)), "sample_2": np.ones((3, 2, 25, 1))}, "without gaps"),
        ({"sample_0": np.ones((3, 2, 25, 1)), "labels": np.array([1, 2])}, "'labels'"),
        ({"sample_0": np.ones((3, 2, 25, 1)), "labels": np.array([1.5])}, "'labels'"),
        ({"sample_0": np.ones((3, 2, 25, 1)), "names": np.array(["a", "b"])}, "2 names"),
        ({"sample_0": np.ones((3, 2, 25, 1)), "names": np.array([1])}, "unicode"),
        ({"data": np.ones((0, 3, 2, 25, 1))}, "no samples"),
    ],
)
def test_whole_file_problems(tmp_path, arrays, words):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(SkeletonDataError) as info:
        read_npz(path)
    assert words in info.value.reason
    assert info.value.path == path


def test_object_arrays_are_refused_not_unpickled(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, sample_0=np.ones((3, 2, 25, 1)), names=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(SkeletonDataError, match="object array"):
        read_npz(path)


def test_unreadable_archives(tmp_path):
    with pytest.raises(SkeletonDataError, match="does not exist"):
        read_npz(tmp_path / "none.npz")
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(SkeletonDataError, match="empty"):
        read_npz(tmp_path / "empty.npz")
    (tmp_path / "text.npz").write_text("hello, not a zip")
    with pytest.raises(SkeletonDataError, match="not a readable"):
        read_npz(tmp_path / "text.npz")
    write_npz(tmp_path / "good.npz", [_sequence(4, 1, 0, "a")])
    raw = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(SkeletonDataError, match="not a readable"):
        read_npz(tmp_path / "cut.npz")
    np.save(tmp_path / "plain.npy", np.ones(3))
    (tmp_path / "plain.npy").rename(tmp_path / "plain.npz")
    with pytest.raises(SkeletonDataError, match="no zip header"):
        read_npz(tmp_path / "plain.npz")


def test_member_that_is_not_an_npy_array_is_refused(tmp_path):
    import zipfile

    path = write_npz(tmp_path / "set.npz", [_sequence(4, 1, 0, "a")], compress=False)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("layout", b"ntu25")  # no .npy suffix: numpy returns raw bytes
    with pytest.raises(SkeletonDataError, match="'layout' is not a .npy array"):
        read_npz(path)


def test_write_npz_checks_its_input(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        write_npz(tmp_path / "x.npz", [])
    mixed = [_sequence(3, 1, 0, "a"), SkeletonSequence(np.ones((2, 3, 25, 1), np.float32))]
    with pytest.raises(ValueError, match="differ"):
        write_npz(tmp_path / "x.npz", mixed)
