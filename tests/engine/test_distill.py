"""Distillation (``train.distill``): the target's maths, the teachers' checks, a distilled run."""

import json

import pytest
import torch
from torch import nn
from torch_geometric.data import Data

from pyg_action.engine.checkpoint import load_checkpoint, save_checkpoint
from pyg_action.engine.config import load_config
from pyg_action.engine.distill import Distiller
from pyg_action.engine.mixup import TARGET
from pyg_action.engine.schema import ConfigError
from pyg_action.engine.trainer import train

from .test_engine import TINY


class FixedLogits(nn.Module):
    """A teacher that predicts the same logits for every batch, and counts its calls."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = nn.Parameter(logits)
        self.calls = 0

    def forward(self, batch):
        self.calls += 1
        return self.logits * 1.0


def test_the_target_blends_the_labels_with_the_teachers_mean_softmax_at_temperature():
    torch.manual_seed(0)
    first, second = FixedLogits(torch.randn(4, 5)), FixedLogits(torch.randn(4, 5))
    y = torch.tensor([0, 3, 4, 3])
    distiller = Distiller((first.eval(), second.eval()), 5, weight=0.3, temperature=2.0)
    batch = distiller(Data(y=y))
    taught = (torch.softmax(first.logits / 2, 1) + torch.softmax(second.logits / 2, 1)) / 2
    expected = 0.7 * nn.functional.one_hot(y, 5).float() + 0.3 * taught
    torch.testing.assert_close(batch[TARGET], expected, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(batch[TARGET].sum(1), torch.ones(4))
    assert not batch[TARGET].requires_grad  # the teachers learn nothing from the student's loss
    assert first.calls == second.calls == 1
    # a mixup batch's blended labels take the one-hot labels' place
    mixed = torch.softmax(torch.randn(4, 5), 1)
    batch = distiller(Data(y=y, **{TARGET: mixed}))
    torch.testing.assert_close(batch[TARGET], 0.7 * mixed + 0.3 * taught, rtol=1e-6, atol=1e-7)
    # weight 1: the teachers alone
    alone = Distiller((first.eval(),), 5, weight=1.0)(Data(y=y))[TARGET]
    torch.testing.assert_close(alone, torch.softmax(first.logits, 1).detach())


@pytest.mark.parametrize(
    "options, match",
    [({"weight": 0.0}, "weight"), ({"weight": 1.5}, "weight"), ({"temperature": 0}, "temperature")],
)
def test_the_distiller_refuses_weights_and_temperatures_out_of_range(options, match):
    teacher = FixedLogits(torch.zeros(1, 2))
    with pytest.raises(ValueError, match=match):
        Distiller((teacher,), 2, **{"weight": 0.5, **options})
    with pytest.raises(ValueError, match="at least one teacher"):
        Distiller((), 2, weight=0.5)


@pytest.mark.parametrize(
    "setting, match",
    [
        ("train.distill={teachers: []}", "teachers"),
        ("train.distill={teachers: [a], weight: 0}", "weight"),
        ("train.distill={teachers: [a], temprature: 2}", "temprature"),
        ("train.distill={weight: 0.5}", "teachers"),
    ],
)
def test_the_schema_names_a_bad_distill_section(setting, match):
    with pytest.raises(ConfigError, match=match):
        load_config(None, [setting], model="stgcn")


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """A run of the tiny config: the teacher of the tests below."""
    out = tmp_path_factory.mktemp("teacher") / "run"
    train(load_config(None, TINY, model="stgcn"), out, progress=False)
    return out


def _losses(out) -> list[float]:
    lines = (out / "log.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["train_loss"] for line in lines]


def test_a_distilled_run_trains_on_the_teachers_targets(teacher, tmp_path):
    train(load_config(None, TINY, model="stgcn"), tmp_path / "plain", progress=False)
    setting = f"train.distill={{teachers: [{teacher}, {teacher / 'last.pt'}], weight: 1.0}}"
    config = load_config(None, [*TINY, setting], model="stgcn")
    train(config, tmp_path / "taught", progress=False)
    # the same seed, batches and initial weights: only the target differs, so the loss does
    plain_losses, taught_losses = _losses(tmp_path / "plain"), _losses(tmp_path / "taught")
    assert all(abs(a - b) > 1e-3 for a, b in zip(plain_losses, taught_losses, strict=True))
    stored = load_checkpoint(tmp_path / "taught" / "last.pt")["config"]["train"]["distill"]
    assert stored["teachers"] == [str(teacher), str(teacher / "last.pt")]


def test_a_teacher_not_built_for_the_run_is_named_before_training(teacher, tmp_path):
    other_length = [
        *TINY[:-1],
        "data.transforms={train: [pre_normalize, {name: uniform_sample, length: 6, mode: train}],"
        " test: [pre_normalize, {name: uniform_sample, length: 6}]}",
    ]
    with pytest.raises(ValueError, match=r"teacher .*last\.pt: its test transforms"):
        train(
            load_config(None, [*other_length, f"train.distill={{teachers: [{teacher}]}}"]),
            tmp_path / "a",
            progress=False,
        )
    renamed = load_checkpoint(teacher / "last.pt")
    renamed["class_names"] = list(reversed(renamed["class_names"]))
    save_checkpoint(tmp_path / "renamed.pt", renamed)
    with pytest.raises(ValueError, match=r"renamed\.pt: its class names"):
        setting = f"train.distill={{teachers: [{tmp_path / 'renamed.pt'}]}}"
        train(load_config(None, [*TINY, setting]), tmp_path / "b", progress=False)
    with pytest.raises(FileNotFoundError, match="nowhere: no such checkpoint"):
        setting = f"train.distill={{teachers: [{tmp_path / 'nowhere'}]}}"
        train(load_config(None, [*TINY, setting]), tmp_path / "c", progress=False)
    assert not (tmp_path / "c" / "log.jsonl").exists()
