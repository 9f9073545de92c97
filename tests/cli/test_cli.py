"""The command line end to end on a tiny run: train, evaluate, predict, visualize, layouts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pyg_action.cli.main import cli


@pytest.fixture(scope="module")
def trained(tiny_run):
    return tiny_run


def test_train_prints_accuracy_and_labels_synthetic(trained):
    out, output = trained
    assert "held-out top-1" in output and "(synthetic data)" in output
    assert json.loads((out / "result.json").read_text())["synthetic"] is True


def test_train_without_a_terminal_prints_epoch_lines_and_no_progress_bar(tmp_path, tiny_training):
    """Redirected output (here: the test runner's) keeps the per-epoch summaries and leaves out
    the bar's carriage-return updates, so a log file stays readable."""
    args = ["train", "--model", "stgcn", "--epochs", "2", "--out", str(tmp_path), *tiny_training]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "epoch 1/2  loss" in result.output and "epoch 2/2  loss" in result.output
    assert "it/s" not in result.output and "\r" not in result.output


def test_evaluate_writes_confusion_and_csv(trained, tmp_path):
    out, _ = trained
    result = CliRunner().invoke(
        cli, ["evaluate", "--checkpoint", str(out / "best.pt"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "top-1" in result.output and "mean-class" in result.output
    assert (tmp_path / "confusion.png").stat().st_size > 1000
    rows = (tmp_path / "per_class.csv").read_text().splitlines()
    assert rows[0].startswith("class,name") and len(rows) == 1 + 14


def test_predict_real_ntu_file_and_layout_mismatch(trained, shared_data):
    out, _ = trained
    ntu = shared_data / "ntu_samples" / "S001C001P001R001A001.skeleton"
    result = CliRunner().invoke(cli, ["predict", "--checkpoint", str(out / "best.pt"), str(ntu)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("S001C001P001R001A001: synthetic_")
    assert len(result.output.strip().splitlines()) == 5  # label + 4 more of the top-5
    msr = shared_data / "msr_action3d" / "a01_s01_e01_skeleton3D.txt"
    result = CliRunner().invoke(cli, ["predict", "--checkpoint", str(out / "best.pt"), str(msr)])
    assert result.exit_code == 1
    assert "20 joints" in result.output and "'ntu25'" in result.output


def test_inspect_predict_and_prepare_judge_an_all_zero_sample_alike(trained, tmp_path):
    """One rule for every command: the all-zero sample of an npz is a bad sample, named, and
    the good one beside it is used (inspect used to traceback, predict to classify it)."""
    import numpy as np

    from pyg_action.io import write_npz
    from pyg_action.sequence import SkeletonSequence

    rng = np.random.default_rng(0)
    good = SkeletonSequence(rng.normal(size=(3, 12, 25, 1)).astype(np.float32), 0, "ntu25", "g")
    zero = SkeletonSequence(np.zeros((3, 12, 25, 1), np.float32), 0, "ntu25", "z")
    path = write_npz(tmp_path / "two.npz", [good, zero])
    expected = f"{path}, sample z: all coordinates are zero"
    runner = CliRunner()
    inspected = runner.invoke(cli, ["inspect", str(path)])
    assert inspected.exception is None or isinstance(inspected.exception, SystemExit)
    assert expected in inspected.output and "1 good sample(s), 1 bad sample(s)" in inspected.output
    out, _ = trained
    predicted = runner.invoke(cli, ["predict", "--checkpoint", str(out / "best.pt"), str(path)])
    assert predicted.exit_code == 1 and expected in predicted.output
    assert predicted.output.count("g: synthetic_") == 1 and "z: synthetic_" not in predicted.output
    prepared = runner.invoke(cli, ["prepare", str(path), str(tmp_path / "cache"), "-q"])
    assert prepared.exit_code == 0 and "sample z: all coordinates are zero" in prepared.output


def test_visualize_sequence_importance_and_response(trained, shared_data, tmp_path):
    out, _ = trained
    ntu = shared_data / "ntu_samples" / "S001C003P008R002A058.skeleton"
    target = tmp_path / "seq.png"
    result = CliRunner().invoke(
        cli, ["visualize", str(ntu), "--out", str(target), "--checkpoint", str(out / "best.pt")]
    )
    assert result.exit_code == 0, result.output
    for name in ("seq.png", "seq_importance.png", "seq_response.png"):
        assert (tmp_path / name).stat().st_size > 1000
    gif = tmp_path / "seq.gif"
    assert CliRunner().invoke(cli, ["visualize", str(ntu), "--out", str(gif)]).exit_code == 0
    assert gif.read_bytes()[:3] == b"GIF"


def test_layouts_command():
    runner = CliRunner()
    listing = runner.invoke(cli, ["layouts"])
    assert listing.exit_code == 0 and "ntu25" in listing.output and "msr20" in listing.output
    shown = runner.invoke(cli, ["layouts", "openpose18", "--strategy", "distance"])
    assert shown.exit_code == 0 and "K=2" in shown.output and "neck" in shown.output
    bad = runner.invoke(cli, ["layouts", "nope"])
    assert bad.exit_code != 0 and "unknown layout" in bad.output


def test_python_m_runs_the_command_line_from_a_source_checkout(tmp_path):
    """``python -m pyg_action`` is ``pyg-action`` where only the source is on the path."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-m", "pyg_action", "layouts", "msr20"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "msr20" in done.stdout and "20 joints" in done.stdout
    wrong = subprocess.run(
        [sys.executable, "-m", "pyg_action", "nope"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert wrong.returncode != 0 and "Usage: pyg-action" in wrong.stderr


def test_train_reports_bad_config(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model: {name: nope}\n")
    result = CliRunner().invoke(cli, ["train", "--config", str(config)])
    assert result.exit_code != 0 and "unknown model" in result.output


def _train_generic(tmp_path, *data_options):
    out = tmp_path / "run"
    args = ["train", "--model", "vig_graph", "--epochs", "1", "--out", str(out), "--quiet",
            "--set", "model.depth=1", "--set", "model.channels=16", "--set", "model.k=3",
            "--set", "train.batch_size=8", *data_options]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "held-out top-1" in result.output and "synthetic" not in result.output
    return json.loads((out / "result.json").read_text())


def test_train_on_a_generic_graph_npz(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    sizes = rng.integers(4, 12, 30)
    edges = [rng.integers(0, n, (2, 2 * n)) for n in sizes]
    np.savez(
        tmp_path / "graphs.npz",
        x=rng.normal(size=(sizes.sum(), 3)).astype(np.float32),
        node_ptr=np.cumsum([0, *sizes]),
        edge_index=np.concatenate(edges, axis=1),
        edge_ptr=np.cumsum([0, *(e.shape[1] for e in edges)]),
        y=np.arange(30) % 2,
    )
    result = _train_generic(
        tmp_path, "--set", "data.name=graph_npz", "--set", f"data.path={tmp_path / 'graphs.npz'}"
    )
    assert 0 <= result["final"]["top1"] <= 100


def test_train_on_a_pyg_in_memory_dataset(tmp_path):
    result = _train_generic(
        tmp_path,
        "--set", "data.name=pyg_dataset",
        "--dataset-class", "torch_geometric.datasets.FakeDataset",
        "--set", "data.options={num_graphs: 40, avg_num_nodes: 12,"
        " num_channels: 4, num_classes: 2}",
    )  # fmt: skip
    assert 0 <= result["final"]["top1"] <= 100
