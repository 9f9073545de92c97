"""Training straight from a pyskl annotation pickle and from ST-GCN arrays (the files users
already hold), and filters that say what they leave out."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pyg_action.cli.main import cli
from pyg_action.data import build_dataset, format_report
from pyg_action.data.registry import dataset_options
from pyg_action.errors import SkeletonDataError

#: NTU-60 x-sub: performers 1 and 2 train, 3 and 6 test.
TRAIN_NAMES = [f"S001C001P00{p}R001A00{a}" for p in (1, 2) for a in (1, 2, 3)]
TEST_NAMES = [f"S001C002P00{p}R001A00{a}" for p in (3, 6) for a in (1, 2, 3)]

TINY = [
    "--set", "model.channels=[8, 8]",
    "--set", "model.strides=[1, 2]",
    "--set", "train.batch_size=4",
    "--set", "data.transforms={train: [pre_normalize,"
    " {name: uniform_sample, length: 8, mode: train}],"
    " test: [pre_normalize, {name: uniform_sample, length: 8}]}",
]  # fmt: skip


def _skeleton(rng: np.random.Generator, frames: int, label: int) -> np.ndarray:
    """One person ``(T, V, 3)`` of 25 joints, moving with the class."""
    base = rng.normal(size=(1, 25, 3)).astype(np.float32)
    t = np.linspace(0, 1, frames, dtype=np.float32)[:, None, None]
    return base + (label + 1) * t + 0.01 * rng.normal(size=(frames, 25, 3)).astype(np.float32)


def _label(name: str) -> int:
    return int(name[-3:]) - 1


def write_pyskl(path: Path, *, extra: list[str] = ()) -> Path:
    """A pyskl pickle: 12 listed samples, plus ``extra`` names in no split list."""
    rng = np.random.default_rng(0)
    annotations = []
    for name in [*TRAIN_NAMES, *TEST_NAMES, *extra]:
        frames = int(rng.integers(10, 20))
        annotations.append(
            {
                "frame_dir": name,
                "label": _label(name),
                "keypoint": _skeleton(rng, frames, _label(name))[None],  # (M, T, V, C)
                "total_frames": frames,
            }
        )
    content = {
        "split": {"xsub_train": TRAIN_NAMES, "xsub_val": TEST_NAMES, "xview_train": []},
        "annotations": annotations,
    }
    path.write_bytes(pickle.dumps(content, protocol=4))
    return path


def write_stgcn_pair(folder: Path, prefix: str, names: list[str]) -> None:
    """``<prefix>_data.npy`` ``(N, 3, 30, 25, 2)`` zero-padded, and ``<prefix>_label.pkl``."""
    rng = np.random.default_rng(len(prefix))
    data = np.zeros((len(names), 3, 30, 25, 2), np.float32)
    for i, name in enumerate(names):
        frames = int(rng.integers(10, 30))
        data[i, :, :frames, :, 0] = _skeleton(rng, frames, _label(name)).transpose(2, 0, 1)
    np.save(folder / f"{prefix}_data.npy", data)
    labels = [_label(name) for name in names]
    (folder / f"{prefix}_label.pkl").write_bytes(pickle.dumps((names, labels)))


@pytest.fixture
def stgcn_folder(tmp_path):
    write_stgcn_pair(tmp_path, "train", TRAIN_NAMES)
    write_stgcn_pair(tmp_path, "val", TEST_NAMES)
    return tmp_path


def _train(tmp_path: Path, config: str) -> dict:
    path = tmp_path / "config.yaml"
    path.write_text(config)
    out = tmp_path / "run"
    args = ["train", "--config", str(path), "--epochs", "2", "--out", str(out), "--quiet", *TINY]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "held-out top-1" in result.output and "synthetic" not in result.output
    return json.loads((out / "result.json").read_text())


def test_pyskl_pickle_trains_with_its_own_split_lists(tmp_path):
    pickle_path = write_pyskl(tmp_path / "ntu60_3danno.pkl")
    _train(
        tmp_path,
        f"model: {{name: stgcn}}\n"
        f"data: {{name: pyskl, path: {pickle_path}, benchmark: xsub, class_names: ntu60}}\n",
    )
    train = build_dataset("pyskl", "train", path=pickle_path, benchmark="xsub")
    test = build_dataset("pyskl", "test", path=pickle_path, benchmark="xsub")
    assert sorted(train.dataset.names) == sorted(TRAIN_NAMES)
    assert sorted(test.dataset.names) == sorted(TEST_NAMES)
    assert train.layout == "ntu25" and train.num_classes == 3


def test_pyskl_reports_samples_in_no_split_list(tmp_path):
    pickle_path = write_pyskl(tmp_path / "a.pkl", extra=["S001C001P001R002A001"])
    info = build_dataset("pyskl", "train", path=pickle_path, benchmark="xsub")
    assert info.report["filtered"] == {"in no split list of the file": 1}
    assert "left out: 1 sample(s): in no split list of the file" in format_report(info.report)
    with pytest.raises(SkeletonDataError, match=r"no split list 'xset_train'.*xsub_train"):
        build_dataset("pyskl", "train", path=pickle_path, benchmark="xset")


def test_stgcn_arrays_train_from_the_official_pairs(stgcn_folder, tmp_path):
    config = f"model: {{name: stgcn}}\ndata: {{name: stgcn_arrays, root: {stgcn_folder}}}\n"
    _train(tmp_path, config)
    explicit = {"data": stgcn_folder / "val_data.npy", "label": stgcn_folder / "val_label.pkl"}
    test = build_dataset(
        "stgcn_arrays", "test", train=stgcn_folder / "train_data.npy", test=explicit
    )
    assert test.dataset.names == TEST_NAMES and test.num_classes == 3
    # padding is cut back: no sample keeps the 30 padded frames or the empty second person
    assert all(test.dataset.array(i).shape[3] == 1 for i in range(len(test.dataset)))


def test_stgcn_arrays_with_a_cache_per_split(stgcn_folder, tmp_path):
    cache = tmp_path / "cache"
    train = build_dataset("stgcn_arrays", "train", root=stgcn_folder, cache=cache)
    test = build_dataset("stgcn_arrays", "val", root=stgcn_folder, cache=cache)
    assert (cache / "train" / "frames.npy").is_file() and (cache / "test" / "frames.npy").is_file()
    assert len(train.dataset) == 6 and len(test.dataset) == 6


def test_data_options_point_at_the_files_a_user_holds(stgcn_folder, tmp_path):
    """``--data train_data.npy`` names the dataset that reads it, and stgcn_arrays takes a
    file of the folder as its root."""
    base = ["train", "--model", "stgcn", "--epochs", "1", "--out", str(tmp_path / "r"), *TINY]
    result = CliRunner().invoke(cli, [*base, "--data", str(stgcn_folder / "train_data.npy")])
    assert result.exit_code == 1 and "--set data.name=stgcn_arrays" in result.output
    pickle_path = write_pyskl(tmp_path / "ntu60_3danno.pkl")
    result = CliRunner().invoke(cli, [*base, "--data", str(pickle_path)])
    assert result.exit_code == 1 and "--set data.name=pyskl" in result.output
    info = build_dataset("stgcn_arrays", "train", root=stgcn_folder / "train_data.npy")
    assert info.dataset.names == TRAIN_NAMES


def test_stgcn_arrays_missing_files_are_named(tmp_path):
    with pytest.raises(SkeletonDataError, match="no train_data.npy"):
        build_dataset("stgcn_arrays", "train", root=tmp_path)


def test_split_is_not_a_data_option_and_options_are_listed():
    with pytest.raises(ValueError, match="benchmark: xsub"):
        build_dataset("pyskl", "train", split="xsub")
    assert {"path", "benchmark", "train_split", "class_names"} <= set(dataset_options("pyskl"))
    assert {"root", "train", "test", "layout"} <= set(dataset_options("stgcn_arrays"))


def test_ntu_reads_pyskl_names_and_says_what_the_ntu60_filter_leaves_out(tmp_path):
    """The NTU benchmarks take facts from the sample names too, and the NTU-60 filter counts
    the NTU-120 samples it leaves out."""
    names = [*TRAIN_NAMES, "S018C001P001R001A061", "S018C001P003R001A061"]
    rng = np.random.default_rng(0)
    content = [{"frame_dir": n, "label": 0, "keypoint": _skeleton(rng, 12, 0)[None]} for n in names]
    path = tmp_path / "annotations.pkl"
    path.write_bytes(pickle.dumps(content))
    cache = tmp_path / "cache"
    result = CliRunner().invoke(cli, ["prepare", str(path), str(cache), "-q"])
    assert result.exit_code == 0, result.output
    info = build_dataset("ntu", "train", root=path, cache=cache, benchmark="xsub")
    assert len(info.dataset) == 6
    [(reason, count)] = info.report["filtered"].items()
    assert count == 1 and "not NTU-60" in reason
    with pytest.raises(SkeletonDataError, match=r"empty.*1 left out: not NTU-60"):
        build_dataset("ntu", "test", root=path, cache=cache, benchmark="xsub")


@pytest.mark.parametrize("classes", [60, 120])
def test_shipped_ntu_configs_read_both_forms(classes, stgcn_folder, tmp_path):
    """configs/ntu{60,120}_xsub_stgcn_{pyskl,arrays}.yaml build their splits once pointed at
    the files (as ``train --data`` does)."""
    from pyg_action.engine.config import load_config
    from pyg_action.engine.trainer import load_split

    configs = Path(__file__).resolve().parents[2] / "configs"
    pickle_path = write_pyskl(tmp_path / "annotations.pkl")
    for form, where in (("pyskl", pickle_path), ("arrays", stgcn_folder)):
        overrides = [f"data.root={where}", f"data.cache={tmp_path / form}"]
        if form == "pyskl":
            overrides.pop()
        config = load_config(configs / f"ntu{classes}_xsub_stgcn_{form}.yaml", overrides)
        info = load_split(config, "test")
        assert sorted(info.dataset.names) == sorted(TEST_NAMES)
        assert info.num_classes == classes and info.class_names[0] == "drink water"
