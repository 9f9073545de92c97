"""Outputs other tools read: ``evaluate --dump`` scores and ``predict --json``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pyg_action.cli.main import cli
from pyg_action.data import SYNTHETIC_CLASSES, make_synthetic
from pyg_action.io import write_npz
from pyg_action.sequence import SkeletonSequence


@pytest.fixture(scope="module")
def checkpoint(tiny_run):
    return tiny_run[0] / "best.pt"


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


def test_a_rerun_never_overwrites_a_run_folder(tmp_path, monkeypatch, tiny_training):
    """The default folder is numbered and says so; a named --out holding a run is refused
    (its files untouched); --resume continues it."""
    monkeypatch.chdir(tmp_path)
    args = ["train", "--model", "stgcn", "--epochs", "1", "--quiet", *tiny_training]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    finished = tmp_path / "runs" / "stgcn-synthetic"
    result_before = (finished / "result.json").read_bytes()
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0, second.output
    numbered = Path("runs") / "stgcn-synthetic-2"
    assert f"holds a finished run; this run is written to {numbered}" in second.output
    assert (tmp_path / numbered / "result.json").is_file()
    named = CliRunner().invoke(cli, [*args, "--out", str(finished)])
    assert named.exit_code == 1
    assert "holds a finished run" in named.output and "--resume" in named.output
    assert (finished / "result.json").read_bytes() == result_before
    resumed = CliRunner().invoke(cli, [*args, "--out", str(finished), "--resume"])
    assert resumed.exit_code == 0 and "written to" not in resumed.output


def test_quiet_hides_the_progress_bar_but_keeps_the_epoch_lines(
    tmp_path, monkeypatch, tiny_training
):
    """--quiet turns the bars off even on a terminal; the per-epoch lines stay."""
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    args = ["train", "--model", "stgcn", "--epochs", "2", "--out", str(tmp_path), *tiny_training]
    result = CliRunner().invoke(cli, [*args, "--quiet"])
    assert result.exit_code == 0, result.output
    assert "epoch 1/2  loss" in result.output and "epoch 2/2  loss" in result.output
    assert "it/s" not in result.output
