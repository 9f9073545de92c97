"""``train.device_data`` and ``train.checkpoint_every``: a run whose batches are built on the
device trains as the DataLoader path does, checkpoints every N epochs, and resumes after a
crash exactly as if never stopped."""

from __future__ import annotations

import json

import pytest
import torch

from pyg_action.engine import trainer
from pyg_action.engine.checkpoint import load_checkpoint
from pyg_action.engine.config import load_config
from pyg_action.engine.trainer import train

from .test_crash_resume import TINY, _log, _without_time

ON_DEVICE = [*TINY, "train.epochs=5", "train.device_data=true", "train.checkpoint_every=2"]


class Crash(RuntimeError):
    pass


def _crash_in_epoch(monkeypatch: pytest.MonkeyPatch, epoch: int) -> None:
    """Make the evaluation of ``epoch`` (1-based) raise, as a kill would stop the run."""
    real = trainer._evaluate

    def evaluate(run, index):
        if index + 1 == epoch:
            raise Crash
        return real(run, index)

    monkeypatch.setattr(trainer, "_evaluate", evaluate)


def test_device_data_checkpoints_every_n_epochs_and_resumes_exactly(tmp_path, monkeypatch):
    config = load_config(None, ON_DEVICE, model="stgcn")
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    train(config, reference, progress=False)
    with monkeypatch.context() as patch:
        _crash_in_epoch(patch, 4)
        with pytest.raises(Crash):
            train(config, crashed, progress=False)
    assert load_checkpoint(crashed / "last.pt")["epoch"] == 1  # written after epochs 2 (and 5)
    assert [r["epoch"] for r in _log(crashed)] == [1, 2, 3]  # every epoch is logged
    train(config, crashed, resume=True, progress=False)
    assert [r["epoch"] for r in _log(crashed)] == [1, 2, 3, 4, 5]
    assert _without_time(_log(crashed)) == _without_time(_log(reference))
    result = [json.loads((run / "result.json").read_text()) for run in (reference, crashed)]
    assert result[0] == result[1]
    expected = load_checkpoint(reference / "last.pt")
    assert expected["epoch"] == 4  # the last epoch is always checkpointed
    for key, value in load_checkpoint(crashed / "last.pt")["model"].items():
        torch.testing.assert_close(value, expected["model"][key], rtol=0, atol=1e-6)


def test_device_data_trains_as_the_data_loaders_do(tmp_path):
    """The same batches, augmentation included: without dropout (whose masks come from torch's
    generator, from which every DataLoader iterator also draws a seed) the two paths' runs
    agree up to the float rounding of the batched transforms."""
    logs = {}
    for flag in ("true", "false"):
        overrides = [*TINY, "model.dropout=0", "train.epochs=2", f"train.device_data={flag}"]
        config = load_config(None, overrides, "stgcn")
        train(config, tmp_path / flag, progress=False)
        logs[flag] = _without_time(_log(tmp_path / flag))
    for ours, theirs in zip(logs["true"], logs["false"], strict=True):
        assert ours["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-4)
        assert ours["test_top1"] == pytest.approx(theirs["test_top1"], abs=2.1)  # a sample or two


def test_device_data_is_refused_for_other_than_skeleton_data(tmp_path):
    config = load_config(None, ["train.epochs=1", "train.device_data=true"], model="vig")
    with pytest.raises(ValueError, match=r"device_data keeps skeleton datasets.*not \w+"):
        train(config, tmp_path, progress=False)
