"""SkeletonDataset and the registered builders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from pyg_action.data import DEFAULT_TRANSFORMS, SkeletonDataset, build_dataset, list_datasets
from pyg_action.data.datasets import MSR_ACTIONS, NTU_ACTIONS, pick_transforms
from pyg_action.data.prepared import write_cache
from pyg_action.data.splits import sample_facts
from pyg_action.data.synthetic import SYNTHETIC_CLASSES
from pyg_action.errors import SkeletonDataError
from pyg_action.graph import SkeletonGraphBuilder, batch_to_dense
from pyg_action.io import write_npz
from pyg_action.sequence import SkeletonSequence


def sequences(count=6, joints=25, layout="ntu25"):
    rng = np.random.default_rng(0)
    return [
        SkeletonSequence(
            data=rng.normal(size=(3, 5 + i, joints, 1 + i % 2)).astype(np.float32),
            label=i % 3,
            layout=layout,
            name=f"s{i}",
        )
        for i in range(count)
    ]


def test_in_memory_dataset_builds_graphs_and_batches():
    seqs = sequences()
    dataset = SkeletonDataset(seqs, [1, 3, 4], split_name="train", graph={"temporal_window": 3})
    assert len(dataset) == 3 and dataset.names == ["s1", "s3", "s4"]
    assert dataset.labels.tolist() == [1, 0, 1] and dataset.num_classes == 2
    data = dataset[0]
    assert data.x.shape == (2 * 6 * 25, 3) and int(data.y) == 1 and int(data.sample_id) == 1
    np.testing.assert_array_equal(data.x.numpy(), seqs[1].data.transpose(3, 1, 2, 0).reshape(-1, 3))
    batch = next(iter(DataLoader(dataset, batch_size=3)))
    assert batch.num_graphs == 3 and batch.y.tolist() == [1, 0, 1]
    dense = batch_to_dense(batch, 25)
    assert dense.shape == (3, 3, 9, 25, 2)
    torch.testing.assert_close(dense[0, :, :6, :, :2], torch.from_numpy(seqs[1].data))


def test_dataset_over_a_prepared_cache_matches_the_list(tmp_path):
    seqs = sequences()
    write_cache(seqs, tmp_path)
    steps = ["centre", {"name": "uniform_sample", "length": 4}]
    from_cache = SkeletonDataset(tmp_path, transforms=steps)
    from_list = SkeletonDataset(seqs, transforms=steps)
    assert from_cache.layout.name == "ntu25" and len(from_cache) == 6
    for i in range(6):
        torch.testing.assert_close(from_cache[i].x, from_list[i].x)
    assert from_cache[2].num_frames.item() == 4
    assert from_cache.in_channels == 3


def test_transforms_change_in_channels_and_augment_per_call():
    dataset = SkeletonDataset(
        sequences(),
        transforms=[
            {"name": "random_rotate", "angles": 30},
            {"name": "streams", "streams": ["joint", "bone"]},
        ],
        seed=0,
    )
    assert dataset.in_channels == 6
    assert not torch.equal(dataset[0].x, dataset[0].x)  # a new random rotation each time
    again = SkeletonDataset(sequences(), transforms=dataset.pipeline, seed=0)
    torch.testing.assert_close(
        again[0].x, SkeletonDataset(sequences(), transforms=dataset.pipeline, seed=0)[0].x
    )


def test_workers_get_their_own_random_streams():
    dataset = SkeletonDataset(
        sequences(4), transforms=[{"name": "random_rotate", "angles": 90}], seed=1
    )
    loader = DataLoader(dataset, batch_size=1, num_workers=2)
    torch.manual_seed(0)
    first = [b.x[0].clone() for b in loader]
    torch.manual_seed(0)
    second = [b.x[0].clone() for b in loader]
    for a, b in zip(first, second, strict=True):  # reproducible under a torch seed
        torch.testing.assert_close(a, b)
    # the two workers (samples 0 and 1 go to different workers) do not repeat each other
    assert not torch.allclose(first[0], first[1])


def test_a_report_shared_by_two_splits_is_printed_once(capsys):
    report = {"good": 6, "bad": 1, "bad_files": [["twice.txt", "all coordinates are zero"]]}
    SkeletonDataset(sequences(), [0, 1, 2], report=report, split_name="train")
    SkeletonDataset(sequences(), [3, 4, 5], report=report, split_name="test")
    assert capsys.readouterr().err.count("twice.txt") == 1


def test_strict_and_empty_split_errors(capsys):
    report = {"good": 6, "bad": 1, "bad_files": [["x.txt", "all coordinates are zero"]]}
    with pytest.raises(SkeletonDataError, match="x.txt: all coordinates are zero"):
        SkeletonDataset(sequences(), report=report, strict=True)
    dataset = SkeletonDataset(sequences(), report=report)
    assert dataset.report["bad"] == 1
    assert "x.txt" in capsys.readouterr().err
    SkeletonDataset(sequences(), report={"good": 6, "bad": 0, "unread_files": ["a.npy"]})
    assert "not read: a.npy" in capsys.readouterr().err
    with pytest.raises(SkeletonDataError, match="split 'test' of 6 in-memory sequences is empty"):
        SkeletonDataset(sequences(), [], split_name="test")
    with pytest.raises(SkeletonDataError, match="outside"):
        SkeletonDataset(sequences(), [9])
    with pytest.raises(SkeletonDataError, match="pass layout="):
        SkeletonDataset([SkeletonSequence(np.ones((3, 2, 25, 1), np.float32), 0)])


def test_graph_builder_options_are_used():
    builder = SkeletonGraphBuilder("ntu25", strategy="uniform", temporal_window=3)
    dataset = SkeletonDataset(sequences(), graph=builder)
    assert dataset.builder is builder
    assert int(dataset[0].spatial_edge_type.max()) == 0


def test_pick_transforms():
    default = {"train": ["a"], "test": ["b"]}
    assert pick_transforms(None, "train", default) == ["a"]
    assert pick_transforms(None, "val", default) == ["b"]
    assert pick_transforms(["c"], "test", default) == ["c"]
    assert pick_transforms({"train": ["d"]}, "test", default) == []
    with pytest.raises(ValueError, match="unknown split keys"):
        pick_transforms({"training": []}, "train", default)


def test_registered_datasets():
    assert {"synthetic", "msr_action3d", "ntu", "kinetics", "npz"} <= set(list_datasets())
    assert set(DEFAULT_TRANSFORMS) == {
        *("synthetic", "msr_action3d", "ntu", "kinetics", "npz", "pyskl", "stgcn_arrays")
    }
    assert len(MSR_ACTIONS) == 20 and len(NTU_ACTIONS) == 120
    assert NTU_ACTIONS[57] == "handshaking"


def test_synthetic_dataset_is_the_labelled_default():
    train = build_dataset("synthetic", "train", num_samples=140, seed=2)
    test = build_dataset("synthetic", "test", num_samples=140, seed=2)
    assert train.synthetic and test.synthetic
    assert train.class_names == list(SYNTHETIC_CLASSES) and train.num_classes == len(
        SYNTHETIC_CLASSES
    )
    assert train.layout == "ntu25" and train.in_channels == 3
    assert len(train.dataset) + len(test.dataset) == 140
    assert set(train.dataset.split).isdisjoint(test.dataset.split)
    data = train.dataset[0]
    assert data.num_frames.item() == 64  # the default uniform sampling
    streams = build_dataset(
        "synthetic", "test", num_samples=140, seed=2,
        transforms={"test": ["pre_normalize", {"name": "streams", "streams": ["joint", "bone"]}]},
        graph={"strategy": "spatial", "max_hop": 1, "dilation": 1, "temporal_window": 3},
    )  # fmt: skip
    assert streams.in_channels == 6


def test_msr_action3d_builder(msr_raw, msr_root, tmp_path):
    train = build_dataset("msr_action3d", "train", root=str(msr_root))
    test = build_dataset("msr_action3d", "test", root=str(msr_root))
    assert (len(train.dataset), len(test.dataset)) == (291, 275)
    assert train.report["bad"] == 1 and train.num_classes == 20 and train.layout == "msr20"
    assert not train.synthetic and train.class_names[0] == "high arm wave"
    assert test.dataset[0].x.shape == (64 * 20, 3)
    with pytest.raises(SkeletonDataError, match="strict"):
        build_dataset("msr_action3d", "train", root=str(msr_root), strict=True)
    with pytest.raises(SkeletonDataError, match="not found"):
        build_dataset("msr_action3d", "train", root=str(tmp_path / "nothing"))


def test_msr_action3d_holds_out_a_training_subject_on_request(msr_root):
    """A fold of the real training split: subject 3 leaves training and is all the test split."""
    held = {
        split: build_dataset("msr_action3d", split, root=str(msr_root), holdout_subjects=[3])
        for split in ("train", "test")
    }
    subjects = {
        split: {sample_facts(name)["subject"] for name in info.dataset.names}
        for split, info in held.items()
    }
    assert subjects == {"train": {1, 5, 7, 9}, "test": {3}}
    assert (len(held["train"].dataset), len(held["test"].dataset)) == (235, 56)  # 291 = 235 + 56


@pytest.mark.parametrize(
    "name, expects",
    [
        ("msr_action3d", "aAA_sSS_eEE_skeleton3D.txt"),
        ("ntu", "SsssCcccPpppRrrrAaaa.skeleton"),
        ("kinetics", "kinetics_train_label.json"),
    ],
)
def test_a_dataset_without_a_root_says_what_files_it_needs(name, expects):
    with pytest.raises(SkeletonDataError, match="no root folder given") as err:
        build_dataset(name, "train")
    assert expects in str(err.value) and "data.root" in str(err.value)


def test_the_library_names_no_workspace_data_folder():
    package = Path(__file__).resolve().parents[2] / "pyg_action"
    named = [p for p in package.rglob("*.py") if "shared/data" in p.read_text(encoding="utf-8")]
    assert not named, f"library modules pointing at a development data folder: {named}"


def test_msr_action3d_from_cache(msr_cli_cache):
    out, _ = msr_cli_cache
    test = build_dataset("msr_action3d", "test", root="unused", cache=str(out))
    assert len(test.dataset) == 275 and "prepared cache" in test.dataset.description


def test_ntu_and_kinetics_builders(shared_data):
    ntu = build_dataset("ntu", "train", root=str(shared_data / "ntu_samples"))
    assert ntu.num_classes == 60 and ntu.layout == "ntu25"
    train_names = ["S001C001P001R001A001", "S001C001P001R001A011"]
    train_names += ["S001C003P008R002A058", "S003C001P015R001A034"]  # performers 1, 8, 15
    assert sorted(ntu.dataset.names) == train_names
    xset = build_dataset("ntu", "test", root=str(shared_data / "ntu_samples"), benchmark="xset120")
    assert xset.num_classes == 120 and sorted(xset.dataset.names) == train_names  # odd setups
    kinetics = build_dataset("kinetics", "train", root=str(shared_data / "kinetics_samples"))
    assert kinetics.layout == "openpose18" and kinetics.num_classes == 400
    assert sorted(kinetics.dataset.names) == [
        "S004C002P003R001A055_rgb",
        "S004C003P003R001A007_rgb",
    ]
    assert kinetics.report["unlisted"] == ["--33Lscn6sk"] and kinetics.report["missing_files"] > 0
    with pytest.raises(SkeletonDataError, match="split 'test' of dataset 'kinetics'.* is empty"):
        build_dataset("kinetics", "test", root=str(shared_data / "kinetics_samples"))


def test_npz_builder_with_split_key_and_with_ratio(tmp_path):
    seqs = sequences(10, joints=20, layout="msr20")
    write_npz(tmp_path / "ratio.npz", seqs, class_names=["a", "b", "c"])
    train = build_dataset("npz", "train", path=str(tmp_path / "ratio.npz"), test_ratio=0.3)
    test = build_dataset("npz", "test", path=str(tmp_path / "ratio.npz"), test_ratio=0.3)
    assert len(train.dataset) + len(test.dataset) == 10 and len(test.dataset) == 3
    assert train.class_names == ["a", "b", "c"] and train.layout == "msr20"

    with np.load(tmp_path / "ratio.npz") as archive:
        arrays = dict(archive)
    arrays["split"] = np.array(["train"] * 7 + ["val"] * 3)
    np.savez(tmp_path / "keyed.npz", **arrays)
    test = build_dataset("npz", "val", path=str(tmp_path / "keyed.npz"))
    assert test.dataset.names == ["s7", "s8", "s9"]


def test_root_option_is_handled_clearly(tmp_path):
    with pytest.raises(ValueError, match="synthetic dataset is generated"):
        build_dataset("synthetic", "train", root="somewhere")
    with pytest.raises(ValueError, match="needs path"):
        build_dataset("npz", "train")
    write_npz(tmp_path / "d.npz", sequences(5, joints=20, layout="msr20"))
    info = build_dataset("npz", "all", root=str(tmp_path / "d.npz"))  # root = path
    assert len(info.dataset) == 5


def test_msr_action3d_keeps_the_confidence_on_request(msr_root):
    """``with_confidence`` adds the file's fourth column after ``x y z``; the coordinate
    transforms leave it alone and every stream carries it."""
    name = "a01_s02_e01_skeleton3D"
    rows = np.loadtxt(msr_root / f"{name}.txt", dtype=np.float32).reshape(-1, 20, 4)
    plain = build_dataset("msr_action3d", "test", root=str(msr_root), transforms=[])
    kept = build_dataset(
        "msr_action3d", "test", root=str(msr_root), transforms=[], with_confidence=True
    )
    index = kept.dataset.names.index(name)
    assert (plain.in_channels, kept.in_channels) == (3, 4)
    np.testing.assert_array_equal(kept.dataset[index].x.view(-1, 20, 4).numpy(), rows)
    steps = [
        "pre_normalize",
        {"name": "random_rotate", "angles": 15},
        {"name": "random_scale", "scale": 0.1},
        {"name": "streams", "streams": ["joint", "bone", "joint_motion"]},
    ]
    streams = build_dataset(
        "msr_action3d", "test", root=str(msr_root), transforms=steps, with_confidence=True
    )
    x = streams.dataset[index].x.view(-1, 20, 3, 4).numpy()  # (T, V, stream, xyz + conf)
    assert streams.in_channels == 12
    for stream in range(3):
        np.testing.assert_array_equal(x[:, :, stream, 3], rows[..., 3])
    assert not np.allclose(x[:, :, 0, :3], rows[..., :3])  # the coordinates did move
