"""Hostile checkpoints and configs: each ends in the project's own error naming the file (and
the key where there is one), with no traceback and nothing executed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pyg_action.cli.main import cli
from pyg_action.engine.checkpoint import load_checkpoint, save_checkpoint

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
def checkpoint(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    args = ["train", "--model", "stgcn", "--epochs", "1", "--out", str(out), "--quiet", *TINY]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out / "last.pt"


def invoke(args: list[str]):
    """Run the command line; the result must be a clean error (no traceback)."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def crafted(checkpoint: Path, folder: Path, name: str, change) -> Path:
    """A copy of ``checkpoint`` whose state ``change`` edited in place."""
    state = load_checkpoint(checkpoint)
    change(state)
    path = folder / f"{name}.pt"
    save_checkpoint(path, state)
    return path


def _system_call_data(marker: Path) -> dict:
    return {
        "name": "pyg_dataset",
        "class_path": "os.system",
        "options": {"command": f"touch {marker}"},
    }


@pytest.mark.parametrize("command", ["evaluate", "ensemble"])
def test_a_checkpoint_naming_a_class_runs_no_code(checkpoint, tmp_path, command):
    marker = tmp_path / "marker"

    def hostile(state):
        state["config"]["data"] = _system_call_data(marker)

    path = crafted(checkpoint, tmp_path, "hostile", hostile)
    result = invoke([command, "--checkpoint", str(path), "--out", str(tmp_path / "out")])
    assert not marker.exists()
    assert "--dataset-class os.system" in result.output and "data.class_path" in result.output
    assert str(path) in result.output


def test_a_config_naming_a_class_runs_no_code_on_train(tmp_path):
    marker = tmp_path / "marker"
    config = tmp_path / "hostile.yaml"
    data = json.dumps(_system_call_data(marker))
    config.write_text(f"model: {{name: vig_graph}}\ndata: {data}\n")
    result = invoke(["train", "--config", str(config), "--out", str(tmp_path / "out")])
    assert not marker.exists()
    assert "--dataset-class os.system" in result.output and "data.class_path" in result.output


def test_a_command_line_class_must_be_a_dataset(tmp_path):
    marker = tmp_path / "marker"
    config = tmp_path / "hostile.yaml"
    config.write_text(
        f"model: {{name: vig_graph}}\ndata: {json.dumps(_system_call_data(marker))}\n"
    )
    args = [
        "train",
        "--config",
        str(config),
        "--dataset-class",
        "os.system",
        "--out",
        str(tmp_path),
    ]
    result = invoke(args)
    assert not marker.exists()
    assert "not a torch_geometric.data.Dataset subclass" in result.output


def test_a_non_finite_loss_stops_training_naming_the_samples(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--model", "stgcn", "--epochs", "2", "--out", str(out), "--quiet", *TINY,
            "--set", "train.optimizer.lr=1e30",
            "--set", "train.scheduler.warmup_epochs=0"]  # fmt: skip
    result = invoke(args)
    assert "non-finite training loss" in result.output and "samples [" in result.output
    assert "synthetic" in result.output.split("samples [", 1)[1]
    for line in (
        (out / "log.jsonl").read_text().splitlines() if (out / "log.jsonl").exists() else []
    ):
        json.loads(line, parse_constant=lambda name: pytest.fail(f"bare {name} in log.jsonl"))


def test_logs_are_strict_json():
    from pyg_action.engine.trainer import strict_json

    line = strict_json({"train_loss": float("nan"), "lr": float("inf"), "top1": 1.5})
    assert json.loads(line) == {"train_loss": "nan", "lr": "inf", "top1": 1.5}
