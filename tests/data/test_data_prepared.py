"""The prepared cache: round trip, reports of bad input, memory per sample, real MSR data."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from pyg_action.data.prepared import (
    PreparedCache,
    cache_nbytes,
    edge_nbytes,
    is_prepared,
    open_prepared,
    prepare,
    sample_nbytes,
    write_cache,
)
from pyg_action.errors import SkeletonDataError
from pyg_action.io import write_npz
from pyg_action.sequence import SkeletonSequence


def seq(
    name: str, frames: int, persons: int = 1, label: int | None = 0, joints: int = 20, seed: int = 0
):
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(3, frames, joints, persons)).astype(np.float32)
    return SkeletonSequence(
        data=data, label=label, layout="msr20", name=name, meta={"subject": seed}
    )


def test_round_trip_keeps_every_value(tmp_path):
    samples = [seq("a", 7, 1, 3, seed=1), seq("b", 4, 2, None, seed=2), seq("c", 1, 1, 0, seed=3)]
    report = write_cache(samples, tmp_path / "cache")
    assert report["good"] == 3 and report["bad"] == 0
    cache = open_prepared(tmp_path / "cache")
    assert len(cache) == 3 and cache.layout == "msr20" and cache.get_layout().num_joints == 20
    assert isinstance(cache.frames, np.memmap)  # memory-mapped, read-only
    assert not cache.array(0).flags.writeable
    for original, loaded in zip(samples, cache, strict=True):
        np.testing.assert_array_equal(loaded.data, original.data)
        assert loaded.label == original.label and loaded.name == original.name
        assert loaded.meta == original.meta
    assert cache[-1].name == "c"
    with pytest.raises(IndexError):
        cache[3]


def test_only_numpy_and_json_files_are_written(tmp_path):
    write_cache([seq("a", 3)], tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "frames.npy",
        "index.json",
        "labels.npy",
        "offsets.npy",
        "report.json",
        "shapes.npy",
    ]
    for name in names:
        if name.endswith(".npy"):
            np.load(tmp_path / name, allow_pickle=False)
    index = json.loads((tmp_path / "index.json").read_text())
    assert index["version"] == 1 and index["names"] == ["a"]
    # rows of a sample are the node features x, ordered (person, frame, joint)
    frames = np.load(tmp_path / "frames.npy")
    assert frames.shape == (3, 20, 3)


def test_bad_samples_are_reported_never_dropped_silently(tmp_path):
    zero = seq("zero", 5)
    zero.data[:] = 0
    nan = seq("nan", 5)
    nan.data[0, 2, 3, 0] = np.nan
    wrong = seq("wrong_joints", 5, joints=25)
    wrong.layout = ""
    samples = [seq("good1", 5), zero, nan, wrong, seq("good2", 6)]
    report = write_cache(samples, tmp_path, bad=[("broken.txt", "line 3: not a number")])
    assert report["good"] == 2 and report["bad"] == 4
    reasons = dict(map(tuple, report["bad_files"]))
    assert reasons == {
        "broken.txt": "line 3: not a number",
        "zero": "all coordinates are zero",
        "nan": "frame 2: NaN or infinite value",
        "wrong_joints": "25 joints, but the layout has 20",
    }
    assert json.loads((tmp_path / "report.json").read_text())["bad"] == 4
    assert open_prepared(tmp_path).names == ["good1", "good2"]


def test_ntu_size_sample_costs_180_kb_of_coordinates_and_no_edges(tmp_path):
    assert sample_nbytes(300, 25, 2, 3) == 180_000
    data = np.ones((3, 300, 25, 2), np.float32)
    write_cache(
        [SkeletonSequence(data=data, label=1, layout="ntu25", name="S001C001P001R001A002")],
        tmp_path,
    )
    sizes = cache_nbytes(tmp_path)
    assert sizes["coordinates_per_sample"] == 180_000
    assert sizes["other_per_sample"] < 2_000  # headers, offsets, label, names, meta
    # the cache holds no edges: what they would cost if stored (x26 the coordinates)
    assert edge_nbytes("ntu25", 300, 2) > 20 * 180_000
    assert (tmp_path / "frames.npy").stat().st_size - 180_000 < 256  # npy header only


def test_cache_pickles_without_its_memory_map(tmp_path):
    write_cache([seq("a", 50)], tmp_path)
    cache = open_prepared(tmp_path)
    _ = cache.array(0)
    payload = pickle.dumps(cache)
    assert len(payload) < 10_000  # the 12 kB of coordinates are not in it
    again = pickle.loads(payload)
    np.testing.assert_array_equal(again.array(0), cache.array(0))


def test_not_a_cache_and_empty_cache(tmp_path):
    with pytest.raises(SkeletonDataError, match="not a prepared cache"):
        PreparedCache(tmp_path)
    report = write_cache([], tmp_path / "empty")
    assert report["good"] == 0 and is_prepared(tmp_path / "empty")
    assert len(open_prepared(tmp_path / "empty")) == 0


def test_prepare_npz_container_reports_bad_samples(tmp_path):
    samples = [seq(f"s{i}", 4 + i, label=i % 2, seed=i) for i in range(4)]
    samples[2].data[:] = 0  # rejected by the one sample rule
    write_npz(tmp_path / "set.npz", samples, layout="msr20")
    (tmp_path / "junk.npz").write_bytes(b"not a zip archive")
    report = prepare(tmp_path, tmp_path / "cache", format="npz", progress=False)
    assert report["good"] == 3 and report["bad"] == 2
    files = [file for file, _ in report["bad_files"]]
    assert any(f.endswith("junk.npz") for f in files)
    assert ["sample s2: all coordinates are zero"] == [
        r for f, r in report["bad_files"] if f.endswith("set.npz")
    ]
    cache = open_prepared(tmp_path / "cache")
    assert cache.names == ["s0", "s1", "s3"]
    np.testing.assert_array_equal(cache[2].data, samples[3].data)


def test_prepare_and_dataset_reader_name_a_linked_folder_alike(tmp_path):
    """Through a symlinked folder, ``prepare`` and the raw reader report one path per file."""
    from pyg_action.data.datasets import _read_cached

    real = tmp_path / "real"
    real.mkdir()
    write_npz(real / "set.npz", [seq("s0", 4)], layout="msr20")
    (real / "junk.npz").write_bytes(b"not a zip archive")
    linked = tmp_path / "linked"
    linked.symlink_to(real, target_is_directory=True)
    report = prepare(linked, tmp_path / "cache", format="npz", progress=False)
    _, raw_report = _read_cached(str(linked.resolve()), "npz", ())
    assert report["bad_files"] == raw_report["bad_files"]
    assert report["bad_files"][0][0].startswith(str(real))


def test_prepare_missing_source(tmp_path):
    with pytest.raises(SkeletonDataError, match="does not exist"):
        prepare(tmp_path / "nope", tmp_path / "out", progress=False)
    with pytest.raises(SkeletonDataError, match="no good sample to prepare"):
        prepare(tmp_path, tmp_path / "out", format="msr", progress=False)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["good"] == 0 and "no sample files" in report["bad_files"][0][1]
    assert not is_prepared(tmp_path / "out")


def test_prepare_real_msr_action3d(msr_cli_cache, msr_raw):
    out, _ = msr_cli_cache
    report = json.loads((out / "report.json").read_text())
    assert report["good"] == 566 and report["bad"] == 1
    ((file, reason),) = report["bad_files"]
    assert file.endswith("a13_s09_e02_skeleton3D.txt") and "zero" in reason
    cache = open_prepared(out)
    assert len(cache) == 566 and cache.layout == "msr20"
    first = cache[cache.names.index("a01_s01_e01_skeleton3D")]
    assert first.data.shape == (3, 54, 20, 1) and first.label == 0 and first.meta["subject"] == 1
    # the same samples as reading the raw files
    samples, raw_report = msr_raw
    assert raw_report["bad_files"] == report["bad_files"]
    assert [s.name for s in samples] == cache.names
    np.testing.assert_array_equal(samples[100].data, cache[100].data)
    assert cache_nbytes(out)["coordinates"] == sum(s.data.nbytes for s in samples)
