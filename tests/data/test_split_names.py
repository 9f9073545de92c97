"""One split vocabulary: requested names, stored per-sample names, and no silent guesses."""

from __future__ import annotations

import numpy as np
import pytest

from pyg_action.data import build_dataset, ratio_split, split_indices
from pyg_action.data.split_names import requested_split, select_stored, split_part
from pyg_action.errors import DataError, GraphDataError, ImageDataError, SkeletonDataError
from pyg_action.io import write_npz
from pyg_action.sequence import SkeletonSequence


def test_requested_and_stored_names():
    assert [requested_split(n) for n in ("train", "TEST", " val ", "valid", "eval", "all")] == [
        "train", "test", "test", "test", "test", "all",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown split 'holdout'; use train, test"):
        requested_split("holdout")
    assert split_part("Validation") == "test" and split_part("all") is None
    stored = ["train", "Test", "val", "train"]
    assert select_stored("train", stored, "f.npz") == [0, 3]
    assert select_stored("valid", stored, "f.npz") == [1, 2]
    assert select_stored("all", stored, "f.npz") == [0, 1, 2, 3]
    with pytest.raises(DataError, match=r"f.npz, sample b: stored split 'dev' is not train"):
        select_stored("train", ["train", "dev"], "f.npz", ["a", "b"])


def test_every_protocol_takes_the_same_names():
    names = [f"a01_s{s:02d}_e01" for s in range(1, 11)]
    for alias in ("val", "valid", "validation", "eval", "test"):
        assert split_indices("msr_cross_subject", alias, names) == [1, 3, 5, 7, 9]
        assert ratio_split(10, alias, 0.3, 0) == ratio_split(10, "test", 0.3, 0)
    assert len(build_dataset("synthetic", "eval", num_samples=30).dataset) == len(
        build_dataset("synthetic", "test", num_samples=30).dataset
    )


def _graph_npz(path, split):
    sizes = [3, 4, 5]
    np.savez(
        path,
        x=np.ones((sum(sizes), 2), np.float32),
        node_ptr=np.cumsum([0, *sizes]),
        edge_index=np.zeros((2, 0), np.int64),
        edge_ptr=np.zeros(4, np.int64),
        y=np.array([0, 1, 0]),
        split=np.array(split),
    )
    return path


def test_an_unknown_stored_graph_split_is_an_error_naming_the_sample(tmp_path):
    # used to count silently as a test graph
    path = _graph_npz(tmp_path / "g.npz", ["train", "test", "holdout"])
    with pytest.raises(GraphDataError, match=r"g.npz, sample 2: stored split 'holdout'"):
        build_dataset("graph_npz", "test", path=str(path))
    good = _graph_npz(tmp_path / "ok.npz", ["train", "val", "test"])
    assert len(build_dataset("graph_npz", "test", path=str(good)).dataset) == 2


def test_an_unknown_stored_image_split_names_the_sample(tmp_path):
    path = tmp_path / "imgs.npz"
    split = ["train"] * 4 + ["spare"]
    np.savez(path, images=np.ones((5, 4, 4), np.uint8), labels=np.arange(5) % 2, split=split)
    with pytest.raises(ImageDataError, match=r"imgs.npz, sample 4: stored split 'spare'"):
        build_dataset("images", "train", path=str(path))


def test_an_unknown_stored_npz_split_is_an_error_not_a_dropped_sample(tmp_path):
    # used to leave the sample out of both splits without a word
    rng = np.random.default_rng(0)
    seqs = [
        SkeletonSequence(rng.normal(size=(3, 4, 20, 1)).astype(np.float32), i % 2, "msr20", f"s{i}")
        for i in range(4)
    ]
    write_npz(tmp_path / "a.npz", seqs)
    with np.load(tmp_path / "a.npz") as archive:
        arrays = dict(archive)
    arrays["split"] = np.array(["train", "train", "Val", "unlabelled"])
    np.savez(tmp_path / "b.npz", **arrays)
    with pytest.raises(SkeletonDataError, match=r"b.npz, sample s3: stored split 'unlabelled'"):
        build_dataset("npz", "train", path=str(tmp_path / "b.npz"))
    arrays["split"] = np.array(["train", "train", "Val", "test"])
    np.savez(tmp_path / "c.npz", **arrays)
    assert build_dataset("npz", "test", path=str(tmp_path / "c.npz")).dataset.names == ["s2", "s3"]
