"""Standard splits from file names / meta."""

from __future__ import annotations

import numpy as np
import pytest

from pyg_action.data.splits import (
    NTU60_TRAIN_SUBJECTS,
    NTU120_TRAIN_SUBJECTS,
    assign_split,
    kinetics_split,
    npz_split_key,
    ratio_split,
    sample_facts,
    split_indices,
)
from pyg_action.errors import SkeletonDataError


def test_msr_cross_subject_on_the_real_file_names(msr_root):
    names = sorted(p.name.removesuffix(".txt") for p in msr_root.glob("*.txt"))
    names.remove("a13_s09_e02_skeleton3D")  # the all-zero file the reader rejects
    train = split_indices("msr_cross_subject", "train", names)
    test = split_indices("cross_subject", "test", names)
    assert (len(train), len(test)) == (291, 275)  # as the dataset's README states
    assert {sample_facts(names[i])["subject"] for i in train} == {1, 3, 5, 7, 9}
    assert split_indices("msr_cross_subject", "val", names) == test


def test_held_out_training_subjects_make_a_fold_inside_the_training_split():
    names = [f"a01_s{subject:02d}_e01" for subject in range(1, 11)]  # subject i at index i - 1

    def subjects(split, holdout):
        chosen = split_indices("msr_cross_subject", split, names, holdout_subjects=holdout)
        return [sample_facts(names[i])["subject"] for i in chosen]

    assert subjects("train", [3]) == [1, 5, 7, 9]
    assert subjects("test", [3]) == [3]  # the held-out subject, never the protocol's test ones
    assert subjects("val", [1, 9]) == [1, 9]
    assert subjects("all", [3]) == list(range(1, 11))
    assert subjects("test", ()) == [2, 4, 6, 8, 10]  # no holdout: the protocol as it is
    ntu = ["S001C001P001R001A001", "S001C001P002R001A001", "S001C001P003R001A001"]
    assert split_indices("xsub", "test", ntu, holdout_subjects=[2]) == [1]
    assert split_indices("xsub", "train", ntu, holdout_subjects=[2]) == [0]


@pytest.mark.parametrize(
    "protocol, holdout, match",
    [
        ("msr_cross_subject", [2], r"\[2\] are not training subjects"),
        ("msr_cross_subject", [1, 3, 5, 7, 9], "every training subject"),
        ("xview", [1], "needs a cross-subject protocol"),
    ],
)
def test_a_holdout_that_is_no_fold_is_refused(protocol, holdout, match):
    with pytest.raises(ValueError, match=match):
        split_indices(protocol, "train", ["S001C002P001R001A001"], holdout_subjects=holdout)


def test_ntu_protocols_from_names():
    assert assign_split("ntu60_xsub", "S001C001P001R001A001") == "train"
    assert assign_split("xsub", "S001C001P003R001A001") == "test"
    assert assign_split("xview", "S001C001P001R001A001") == "test"
    assert assign_split("xview", "S001C002P001R001A001") == "train"
    assert assign_split("xview", "S001C003P001R001A001") == "train"
    assert assign_split("xsub120", "S018C001P103R001A120") == "train"
    assert assign_split("xsub120", "S018C001P104R001A120") == "test"
    assert assign_split("xset120", "S032C001P001R001A001") == "train"
    assert assign_split("xset120", "S031C001P001R001A001") == "test"
    # meta wins over the name (readers fill these keys)
    assert assign_split("xsub", "anything", {"performer": 2}) == "train"


def test_published_subject_lists():
    assert len(NTU60_TRAIN_SUBJECTS) == 20 and max(NTU60_TRAIN_SUBJECTS) == 38
    assert len(NTU120_TRAIN_SUBJECTS) == 53
    assert NTU60_TRAIN_SUBJECTS < NTU120_TRAIN_SUBJECTS


def test_missing_facts_are_a_clear_error():
    with pytest.raises(SkeletonDataError, match="needs the camera"):
        assign_split("xview", "my_clip")
    with pytest.raises(ValueError, match="unknown split protocol"):
        split_indices("nope", "train", ["a"])
    with pytest.raises(ValueError, match="unknown split"):
        split_indices("xsub", "dev", ["S001C001P001R001A001"])


def test_kinetics_split_by_label_file():
    names = ["vid_a", "vid_b", "vid_c"]
    assert kinetics_split(names, "train", {"vid_a", "zzz"}, {"vid_b"}) == [0]
    assert kinetics_split(names, "val", {"vid_a"}, {"vid_b"}) == [1]
    assert kinetics_split(names, "all", set(), set()) == [0, 1, 2]


@pytest.mark.parametrize("labels", [None, [i % 3 for i in range(50)]])
def test_ratio_split_is_seeded_disjoint_and_complete(labels):
    train = ratio_split(50, "train", 0.2, seed=1, labels=labels)
    test = ratio_split(50, "test", 0.2, seed=1, labels=labels)
    assert sorted(train + test) == list(range(50)) and not set(train) & set(test)
    assert 8 <= len(test) <= 12
    assert test == ratio_split(50, "test", 0.2, seed=1, labels=labels)
    assert test != ratio_split(50, "test", 0.2, seed=2, labels=labels)
    if labels is not None:  # stratified: every class in both splits
        assert {labels[i] for i in test} == {0, 1, 2}


def test_npz_split_key(tmp_path):
    np.savez(tmp_path / "a.npz", sample_0=np.ones((3, 2, 20, 1)), split=np.array(["train"]))
    np.savez(tmp_path / "b.npz", sample_0=np.ones((3, 2, 20, 1)))
    assert npz_split_key(tmp_path / "a.npz") == ["train"]
    assert npz_split_key(tmp_path / "b.npz") is None
