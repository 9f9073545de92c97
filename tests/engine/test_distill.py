"""Distillation (``train.distill``): the target's maths, the teachers' and the soft labels'
checks, distilled runs."""

import json

import pytest
import torch
from torch import nn
from torch_geometric.data import Data

from pyg_action.data import build_dataset
from pyg_action.engine.checkpoint import load_checkpoint, save_checkpoint
from pyg_action.engine.config import load_config
from pyg_action.engine.distill import Distiller, ModelTeachers, scored_teachers
from pyg_action.engine.inference import evaluate_checkpoint
from pyg_action.engine.mixup import TARGET
from pyg_action.engine.schema import ConfigError
from pyg_action.engine.scores import write_scores
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
    teachers = ModelTeachers((first.eval(), second.eval()), temperature=2.0)
    distiller = Distiller(teachers, 5, weight=0.3)
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
    alone = Distiller(ModelTeachers((first.eval(),)), 5, weight=1.0)(Data(y=y))[TARGET]
    torch.testing.assert_close(alone, torch.softmax(first.logits, 1).detach())


@pytest.mark.parametrize(
    "options, match",
    [({"weight": 0.0}, "weight"), ({"weight": 1.5}, "weight"), ({"temperature": 0}, "temperature")],
)
def test_the_distiller_refuses_weights_and_temperatures_out_of_range(options, match):
    teacher = FixedLogits(torch.zeros(1, 2))
    with pytest.raises(ValueError, match=match):
        temperature = options.get("temperature", 1.0)
        Distiller(ModelTeachers((teacher,), temperature), 2, weight=options.get("weight", 0.5))
    with pytest.raises(ValueError, match="at least one teacher"):
        ModelTeachers(())


@pytest.mark.parametrize(
    "setting, match",
    [
        ("train.distill={teachers: []}", "teachers"),
        ("train.distill={teachers: [a], weight: 0}", "weight"),
        ("train.distill={teachers: [a], temprature: 2}", "temprature"),
        ("train.distill={weight: 0.5}", "teachers"),
        ("train.distill={teachers: [a], soft_labels: [b]}", "one of the two"),
        ("{train.distill: {soft_labels: [b]}, train.mixup: 0.2}", "mixup"),
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


# ------------------------------------------------------------------ soft labels from score files


@pytest.fixture(scope="module")
def synthetic_train():
    """The training split of a small synthetic set (sample names, labels and ids)."""
    return build_dataset("synthetic", "train", num_samples=24)


def _score_file(path, info, names, logits, labels=None, classes=None):
    """A score file of ``names`` of ``info``'s training split (their true labels by default)."""
    dataset = info.dataset
    row = {name: i for i, name in enumerate(dataset.names)}
    true = [int(dataset.labels[row[name]]) for name in names]
    write_scores(
        {
            "logits": logits,
            "labels": torch.tensor(true if labels is None else labels),
            "names": names,
            "class_names": classes or info.class_names,
        },
        path,
    )
    return path


def test_soft_labels_are_each_samples_mean_softmax_over_the_files_that_score_it(
    synthetic_train, tmp_path
):
    info = synthetic_train
    names = info.dataset.names
    torch.manual_seed(0)
    logits = torch.randn(len(names), info.num_classes)
    half = len(names) // 2
    first = _score_file(tmp_path / "a.npz", info, names[: half + 1], logits[: half + 1])
    second = _score_file(tmp_path / "b.npz", info, names[half:], 3 * logits[half:])
    teachers = scored_teachers([first, second], info, 2.0, torch.device("cpu"))
    expected = torch.softmax(logits / 2.0, 1)
    expected[half + 1 :] = torch.softmax(3 * logits[half + 1 :] / 2.0, 1)
    both = (torch.softmax(logits[half] / 2.0, 0) + torch.softmax(3 * logits[half] / 2.0, 0)) / 2
    expected[half] = both  # scored by both files: their mean
    # a batch names its samples by their index into the source, not their place in the split
    order = torch.tensor([half, 0, len(names) - 1, 3])
    batch = Data(
        y=torch.zeros(4, dtype=torch.long), sample_id=torch.tensor(info.dataset.split)[order]
    )
    torch.testing.assert_close(teachers(batch, info.num_classes), expected[order])
    target = Distiller(teachers, info.num_classes, weight=0.25)(batch)[TARGET]
    one_hot = nn.functional.one_hot(batch.y, info.num_classes).float()
    torch.testing.assert_close(target, 0.75 * one_hot + 0.25 * expected[order])


def test_soft_labels_that_do_not_fit_the_training_split_are_named(synthetic_train, tmp_path):
    info = synthetic_train
    names = info.dataset.names
    logits = torch.zeros(len(names), info.num_classes)
    cpu = torch.device("cpu")
    partial = _score_file(tmp_path / "partial.npz", info, names[1:], logits[1:])
    with pytest.raises(ValueError, match=rf"1 of {len(names)} training samples .*{names[0]}"):
        scored_teachers([partial], info, 1.0, cpu)
    test_names = build_dataset("synthetic", "test", num_samples=24).dataset.names
    stranger = tmp_path / "stranger.npz"
    write_scores(
        {
            "logits": torch.zeros(1, info.num_classes),
            "labels": torch.tensor([0]),
            "names": [test_names[0]],
            "class_names": info.class_names,
        },
        stranger,
    )
    with pytest.raises(ValueError, match=rf"stranger\.npz: 1 of its 1 samples .*{test_names[0]}"):
        scored_teachers([stranger], info, 1.0, cpu)
    wrong = (int(info.dataset.labels[0]) + 1) % info.num_classes
    relabelled = _score_file(tmp_path / "relabelled.npz", info, names[:1], logits[:1], [wrong])
    with pytest.raises(ValueError, match=rf"relabelled\.npz: sample {names[0]} has label"):
        scored_teachers([relabelled], info, 1.0, cpu)
    classes = list(reversed(info.class_names))
    renamed = _score_file(tmp_path / "renamed.npz", info, names, logits, classes=classes)
    with pytest.raises(ValueError, match=r"renamed\.npz: its class names"):
        scored_teachers([renamed], info, 1.0, cpu)


@pytest.mark.parametrize("device_data", [False, True])
def test_a_run_distilled_from_score_files_trains_on_them(teacher, tmp_path, device_data):
    """Soft labels from the teacher's scores of the training split: the target, and so the
    loss, differs from the plain run's with the same seed, batches and initial weights."""
    scores = evaluate_checkpoint(teacher / "last.pt", split="train")
    write_scores(scores, tmp_path / "train_scores.npz")
    overrides = [*TINY, f"train.device_data={str(device_data).lower()}"]
    train(load_config(None, overrides, model="stgcn"), tmp_path / "plain", progress=False)
    setting = f"train.distill={{soft_labels: [{tmp_path / 'train_scores.npz'}], weight: 1.0}}"
    train(
        load_config(None, [*overrides, setting], model="stgcn"), tmp_path / "taught", progress=False
    )
    plain_losses, taught_losses = _losses(tmp_path / "plain"), _losses(tmp_path / "taught")
    assert all(abs(a - b) > 1e-3 for a, b in zip(plain_losses, taught_losses, strict=True))
