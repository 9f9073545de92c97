"""A prepared cache is used only for the data it was made from."""

from __future__ import annotations

import json

import numpy as np
import pytest

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
