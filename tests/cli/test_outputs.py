"""Outputs other tools read: ``evaluate --dump`` scores and ``predict --json``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from pyg_action.cli.main import cli
from pyg_action.data import SYNTHETIC_CLASSES, make_synthetic
from pyg_action.io import write_npz
from pyg_action.sequence import SkeletonSequence

TINY = [
    "--set", "model.channels=[8, 8]",
    "--set", "model.strides=[1, 2]",
    "--set", "data.num_samples=48",
    "--set", "train.batch_size=8",
    "--set", "data.transforms={train: [pre_normalize,"
    " {name: uniform_sample, length: 8, mode: train}],"
    " test: [pre_normalize, {name: uniform_sample, length: 8}]}",
]  # fmt: skip


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    args = ["train", "--model", "stgcn", "--epochs", "1", "--out", str(out), "--quiet", *TINY]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out / "best.pt"


def test_evaluate_dump_writes_per_sample_scores(checkpoint, tmp_path):
    dump = tmp_path / "scores.npz"
    args = ["evaluate", "--checkpoint", str(checkpoint), "--out", str(tmp_path)]
    result = CliRunner().invoke(cli, [*args, "--dump", str(dump)])
    assert result.exit_code == 0, result.output
    assert f"to {dump}" in result.output
    scores = np.load(dump, allow_pickle=False)
    logits, labels, names = scores["logits"], scores["labels"], scores["names"]
    count = int(result.output.split(" samples")[0].split()[-1])
    assert logits.shape == (count, 14) and labels.shape == (count,) and names.shape == (count,)
    assert len(set(names.tolist())) == count and all(n.startswith("synthetic") for n in names)
    assert scores["class_names"].tolist() == list(SYNTHETIC_CLASSES)
    top1 = float(result.output.split("top-1 ")[1].split("%")[0])
    assert np.isclose(100 * np.mean(logits.argmax(1) == labels), top1, atol=0.01)


def test_predict_json_lists_every_sample_and_error(checkpoint, tmp_path):
    samples = make_synthetic(3, seed=4)
    write_npz(tmp_path / "three.npz", samples)
    msr = SkeletonSequence(np.ones((3, 5, 20, 1), np.float32), 0, "msr20", "wrong_layout")
    write_npz(tmp_path / "msr.npz", [msr])
    args = ["predict", "--checkpoint", str(checkpoint), "--top", "3", "--json"]
    result = CliRunner().invoke(
        cli, [*args, str(tmp_path / "three.npz"), str(tmp_path / "msr.npz")]
    )
    assert result.exit_code == 1  # one file failed, and says so in the document
    document = json.loads(result.stdout)
    assert [p["sample"] for p in document["predictions"]] == [s.name for s in samples]
    for prediction in document["predictions"]:
        assert len(prediction["top"]) == 3
        probabilities = [entry["probability"] for entry in prediction["top"]]
        assert probabilities == sorted(probabilities, reverse=True)
    [error] = document["errors"]
    assert error["file"].endswith("msr.npz") and "20 joints" in error["error"]
    both = CliRunner().invoke(cli, [*args, "--stream", str(tmp_path / "three.npz")])
    assert both.exit_code == 2 and "--stream" in both.output
