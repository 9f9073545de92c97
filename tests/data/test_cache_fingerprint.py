"""A prepared cache is used only for the data it was made from."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pyg_action.data.prepared import prepare
from pyg_action.data.registry import build_dataset
from pyg_action.errors import SkeletonDataError


def _folder(path, count, seed):
    path.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(count):
        data = rng.normal(size=(3, 6, 20, 1)).astype("float32")
        np.savez(path / f"s{i}.npz", data=data, label=i % 2, layout="msr20")
    return path


def _build(root, cache):
    return build_dataset("npz", "all", root=str(root), cache=str(cache), class_names=["a", "b"])


def test_a_cache_of_another_folder_is_an_error(tmp_path):
    first, second = _folder(tmp_path / "a", 6, 0), _folder(tmp_path / "b", 4, 1)
    cache = tmp_path / "cache"
    assert len(_build(first, cache).dataset) == 6
    recorded = json.loads((cache / "source.json").read_text())
    assert recorded["source"] == str(first.resolve()) and recorded["files"] == 6
    assert len(_build(first, cache).dataset) == 6  # the same data: the cache is used
    with pytest.raises(SkeletonDataError, match=r"prepared from .*/a, but the data is .*/b") as err:
        _build(second, cache)
    assert str(cache) in str(err.value) and "data.cache" in str(err.value)


def test_a_cache_of_changed_files_is_an_error(tmp_path):
    first = _folder(tmp_path / "a", 6, 0)
    cache = tmp_path / "cache"
    _build(first, cache)
    np.savez(first / "s9.npz", data=np.ones((3, 6, 20, 1), "float32"), label=1, layout="msr20")
    with pytest.raises(SkeletonDataError, match=r"changed since .* \(6 files then, 7 now\)"):
        _build(first, cache)


def test_a_cache_inside_its_source_folder_is_not_part_of_the_fingerprint(tmp_path):
    first = _folder(tmp_path / "a", 6, 0)
    _build(first, first / "cache")
    assert len(_build(first, first / "cache").dataset) == 6


def test_a_cache_records_the_reader_settings_with_the_readers_defaults(tmp_path):
    first = _folder(tmp_path / "a", 6, 0)
    cache = tmp_path / "cache"
    prepare(first, cache, progress=False)  # as `pyg-action prepare`: no format, no options
    recorded = json.loads((cache / "source.json").read_text())
    assert recorded["reader"] == {"format": None, "options": {}}
    assert len(_build(first, cache).dataset) == 6  # the npz dataset reads it the same way


def test_a_cache_read_with_other_reader_options_is_refused(shared_data, tmp_path):
    root = shared_data / "ntu_samples"
    if not root.is_dir():
        pytest.skip(f"NTU samples not found at {root}")
    cache = tmp_path / "cache"
    build_dataset("ntu", "train", root=str(root), cache=str(cache), max_bodies=1)
    recorded = json.loads((cache / "source.json").read_text())["reader"]
    assert recorded == {
        "format": "ntu",
        "options": {"max_bodies": 1, "max_gathered": 4, "slots": "position"},
    }
    build_dataset("ntu", "train", root=str(root), cache=str(cache), max_bodies=1)  # same: used
    with pytest.raises(
        SkeletonDataError, match=r"read with max_bodies=1, .* asks for max_bodies=2"
    ):
        build_dataset("ntu", "train", root=str(root), cache=str(cache))
    # without the raw files (a cache used on its own) the settings are still compared
    with pytest.raises(SkeletonDataError, match="max_bodies=2"):
        build_dataset("ntu", "train", root=str(tmp_path / "elsewhere"), cache=str(cache))


def test_a_reader_default_given_explicitly_is_the_same_setting(shared_data, tmp_path):
    root = shared_data / "kinetics_samples"
    if not root.is_dir():
        pytest.skip(f"Kinetics samples not found at {root}")
    cache, capped = tmp_path / "cache", tmp_path / "capped"
    prepare(root, cache, progress=False)  # by suffix, the reader's defaults
    build_dataset("kinetics", "train", root=str(root), cache=str(cache), max_persons=2)
    prepare(root, capped, "kinetics", progress=False, max_frames=1000)
    with pytest.raises(SkeletonDataError, match=r"max_frames=1000, .* max_frames=100000") as err:
        build_dataset("kinetics", "train", root=str(root), cache=str(capped))
    assert str(capped) in str(err.value) and "data.cache" in str(err.value)


def test_a_fingerprint_without_reader_settings_is_refused(tmp_path):
    first = _folder(tmp_path / "a", 6, 0)
    cache = tmp_path / "cache"
    _build(first, cache)
    record = json.loads((cache / "source.json").read_text())
    del record["reader"]
    (cache / "source.json").write_text(json.dumps(record))
    with pytest.raises(SkeletonDataError, match="records no reader settings"):
        _build(first, cache)
