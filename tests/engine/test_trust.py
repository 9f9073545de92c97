"""Hostile checkpoints and configs: each ends in the project's own error naming the file (and
the key where there is one), with no traceback and nothing executed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pyg_action.cli.main import cli
from pyg_action.engine.checkpoint import load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tiny_run) -> Path:
    return tiny_run[0] / "last.pt"


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


def test_a_non_finite_loss_stops_training_naming_the_samples(tmp_path, tiny_training):
    out = tmp_path / "run"
    args = ["train", "--model", "stgcn", "--epochs", "2", "--out", str(out), "--quiet",
            *tiny_training, "--set", "train.optimizer.lr=1e30",
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


def _set(path: str, value):
    """A change setting the dotted ``path`` of a checkpoint's state."""

    def change(state):
        *parents, last = path.split(".")
        node = state
        for part in parents:
            node = node[part]
        node[last] = value

    return change


def _drop(key: str):
    return lambda state: state.pop(key)


def _narrow_weight(state):
    key = next(k for k, v in state["model"].items() if v.ndim == 2)
    state["model"][key] = state["model"][key][:1]


#: (name, change, what the error names besides the file)
CRAFTED_CHECKPOINTS = [
    ("no_config", _drop("config"), "its config: must be a mapping"),
    ("config_list", _set("config", [1, 2]), "must be a mapping of sections"),
    ("config_typo", _set("config.model.dropuot", 0.1), "did you mean 'model.dropout'"),
    ("config_channels_int", _set("config.model.channels", 64), "model.channels"),
    ("config_epochs_text", _set("config.train.epochs", "ten"), "train.epochs"),
    ("config_batch_fraction", _set("config.train.batch_size", 8.5), "train.batch_size"),
    ("config_scheduler_text", _set("config.train.scheduler", "cosine"), "train.scheduler"),
    ("config_unknown_model", _set("config.model.name", "nope"), "model.name: unknown model"),
    ("config_unknown_data", _set("config.data.name", "nope"), "data.name: unknown data"),
    ("config_strategy", _set("config.graph.strategy", "all"), "graph.strategy"),
    ("config_section", _set("config.extra", {}), "extra: unknown key"),
    ("other_widths", _set("config.model.channels", [16, 16]), "has shape"),
    ("narrow_weight", _narrow_weight, "has shape"),
    ("weights_not_dict", _set("model", {"x": 1}), "do not fit the model"),
    ("num_classes_text", _set("num_classes", "14"), "num_classes must be a positive integer"),
    ("class_names_short", _set("class_names", ["a"]), "1 class_names for num_classes"),
    ("layout_unknown", _set("layout", "nope"), "unknown layout 'nope'"),
    ("layout_not_name", _set("layout", 5), "layout must be a layout name"),
    ("no_in_channels", _drop("in_channels"), "lacks ['in_channels']"),
]


@pytest.mark.parametrize(("name", "change", "message"), CRAFTED_CHECKPOINTS)
def test_crafted_checkpoints_end_in_a_clear_error(checkpoint, tmp_path, name, change, message):
    path = crafted(checkpoint, tmp_path, name, change)
    result = invoke(["evaluate", "--checkpoint", str(path), "--out", str(tmp_path / "out")])
    assert str(path) in result.output and message in result.output
    assert not (tmp_path / "out").exists()


def _raw(path: Path, payload) -> None:
    torch.save(payload, path)


class _RunsCode:
    def __reduce__(self):
        return (print, ("code ran",))


@pytest.mark.parametrize(
    ("name", "write", "message"),
    [
        ("garbage", lambda p: p.write_bytes(b"\x00not a checkpoint" * 10), "not a loadable"),
        ("a_list", lambda p: _raw(p, [1, 2, 3]), "no model weights"),
        ("pickled_code", lambda p: _raw(p, {"model": _RunsCode()}), "not a loadable"),
        ("config_not_json", lambda p: _raw(p, {"model": {}, "config": "{oops"}), "not JSON"),
    ],
)
@pytest.mark.parametrize("command", ["evaluate", "predict", "visualize", "export", "ensemble"])
def test_files_that_are_not_checkpoints(tmp_path, name, write, message, command, capfd):
    path = tmp_path / f"{name}.pt"
    write(path)
    sample = tmp_path / "sample.npz"

    np.savez(sample, data=np.random.default_rng(0).normal(size=(3, 8, 25, 1)).astype("float32"))
    out = tmp_path / "out.png"
    args = {
        "evaluate": ["evaluate", "--checkpoint", str(path)],
        "predict": ["predict", "--checkpoint", str(path), str(sample)],
        "visualize": ["visualize", str(sample), "--checkpoint", str(path), "--out", str(out)],
        "export": ["export", "--checkpoint", str(path), "--out", str(tmp_path / "m.ts")],
        "ensemble": ["ensemble", "--checkpoint", str(path), "--out", str(tmp_path / "e")],
    }[command]
    result = invoke(args)
    assert str(path) in result.output and message in result.output
    assert "code ran" not in capfd.readouterr().out
    assert not out.exists() and not (tmp_path / "m.ts").exists()


def test_visualize_checks_the_checkpoint_layout_before_writing(checkpoint, tmp_path):

    sample = tmp_path / "msr.npz"
    np.savez(
        sample,
        data=np.random.default_rng(0).normal(size=(3, 8, 20, 1)).astype("float32"),
        layout="msr20",
    )
    out = tmp_path / "seq.png"
    args = ["visualize", str(sample), "--checkpoint", str(checkpoint), "--out", str(out)]
    result = invoke(args)
    assert "trained on layout 'ntu25'" in result.output and str(checkpoint) in result.output
    assert not out.exists()


def test_resume_with_other_widths_names_the_checkpoint_and_key(checkpoint, tmp_path, tiny_training):
    import shutil

    out = tmp_path / "run"
    out.mkdir()
    shutil.copy(checkpoint, out / "last.pt")
    args = ["train", "--model", "stgcn", "--epochs", "2", "--out", str(out), "--quiet", "--resume",
            *tiny_training, "--set", "model.channels=[16, 16]"]  # fmt: skip
    result = invoke(args)
    assert str(out / "last.pt") in result.output and "has shape" in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("trian: {epochs: 3}\n", "trian.epochs: unknown key; did you mean 'train.epochs'?"),
        ("train: {optimiser: {lr: 0.1}}\n", "did you mean 'train.optimizer.lr'?"),
        ("model: {name: stgcn, dropuot: 0.1}\n", "did you mean 'model.dropout'?"),
        ("model: {name: stgcn, channels: 64}\n", "model.channels"),
        ("train: {epochs: ten}\n", "train.epochs"),
        ("train: {batch_size: 8.5}\n", "train.batch_size"),
        ("train: {scheduler: cosine}\n", "train.scheduler"),
        ("- a list\n", "must be a mapping of sections"),
        ("train: {epochs: [1\n", "cannot read config"),
        ("base: missing.yaml\n", "its base file"),
        ("base: self.yaml\n", "base files form a cycle"),
        ("base: 3\n", "base must be a file path"),
    ],
)
def test_crafted_configs_end_in_a_clear_error_before_data_loads(tmp_path, text, message):
    config = tmp_path / "self.yaml"
    config.write_text(text)
    result = invoke(["train", "--config", str(config), "--out", str(tmp_path / "out")])
    assert message in result.output and "self.yaml" in result.output
    assert not (tmp_path / "out").exists()
