"""Distillation (``train.distill``): one model learns an ensemble's soft labels with the labels.

An ensemble of separately trained runs is more accurate than any of them, and costs one model
per member at inference. Distillation (Hinton et al., "Distilling the Knowledge in a Neural
Network", 2015) trains a single student on the members' predicted class distributions as well
as on the labels: its cross-entropy compares its logits with

    ỹ_b = (1 − w) · e(y_b) + w · p_b

where ``e(y)`` is the one-hot label (or a ``train.mixup`` batch's blended labels), ``p_b`` the
teachers' class distribution for sample ``b`` and ``w`` = ``train.distill.weight``; label
smoothing, when set, applies to ``ỹ`` as to a hard label. The teachers come in two kinds:

* ``teachers``: trained models that predict on the very batch the student trains on (the same
  random rotation, scale and clip), in eval mode and without gradients (:class:`ModelTeachers`):
  ``p_b = (1/K) Σ_k softmax(z_k,b / T)`` with ``z_k,b`` the logits of teacher ``k`` on sample
  ``b`` and ``T`` = ``train.distill.temperature``.
* ``soft_labels``: score files (:mod:`.scores`) holding predictions on the training samples
  themselves, made before training (:class:`ScoredTeachers`): ``p_b`` is the mean of
  ``softmax(z / T)`` over the files that score sample ``b``. Their use is out-of-fold
  distillation: a model fitted to its training samples predicts their labels and little
  else (the shipped MSR Action3D runs end at 100 % training top-1), while a model that never saw
  a sample's subject (``data.holdout_subjects``) predicts it as it would a new person's, its
  doubts included. Every training sample must be scored by some file, every scored sample must
  be a training sample with the same label, and the classes must be the run's; anything else
  is an error naming the file before training starts. Which samples a file's model trained on
  is not in the file: keeping the folds apart is the user's part.

The temperature softens the teachers only (the student's logits are compared as they are), so
the loss stays the training loss of every other run and a CUDA-graphed step records it like any
other: the targets travel as the batch attribute :data:`~.mixup.TARGET`.

Teacher models are run folders (their ``last.pt``: the final weights, or their average when
the run kept one, never the checkpoint chosen on the test split) or checkpoint files. They were
trained on other batches than the student's, so they must have been built for the same data:
the same classes in the same order, the same input width and layout, and the same test-time
transforms (how a sample becomes the model's input); anything else is an error naming the
teacher before training starts. Checkpoints load as tensors only
(:func:`~pyg_action.engine.checkpoint.load_checkpoint`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..data.registry import DatasetInfo
from .mixup import TARGET
from .scores import ScoreFile, read_scores


@dataclass(frozen=True)
class ModelTeachers:
    """Trained models predicting on each batch: their mean class distribution at temperature
    ``T``.

    Args:
        models: Trained models in eval mode, on the training device.
        temperature: ``T > 0``, dividing the teachers' logits before their softmax.
        amp_dtype: The autocast dtype the student trains under (``None``: full precision).
    """

    models: tuple[nn.Module, ...]
    temperature: float = 1.0
    amp_dtype: torch.dtype | None = None

    def __post_init__(self) -> None:
        if not self.models:
            raise ValueError("train.distill needs at least one teacher")
        _check_temperature(self.temperature)

    @torch.no_grad()
    def __call__(self, batch: Any, num_classes: int) -> Tensor:
        """``p``, ``(B, num_classes)`` fp32."""
        device_type = batch.y.device.type
        mean = torch.zeros(batch.y.numel(), num_classes, device=batch.y.device)
        with torch.autocast(device_type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            for model in self.models:
                logits = model(batch).float()
                mean += torch.softmax(logits / self.temperature, dim=1)
        return mean / len(self.models)


@dataclass(frozen=True)
class ScoredTeachers:
    """Class distributions stored per sample, looked up by each batch's ``sample_id``.

    Args:
        table: ``(N_source, num_classes)`` fp32 on the training device: row ``i`` is ``p`` of
            the sample with ``sample_id`` ``i`` (rows of samples outside the training split are
            never read). Build it with :func:`scored_teachers`.
    """

    table: Tensor

    def __call__(self, batch: Any, num_classes: int) -> Tensor:
        """``p``, ``(B, num_classes)``: one gather, no value read back."""
        return self.table[batch.sample_id.view(-1)]


Teachers = ModelTeachers | ScoredTeachers


@dataclass(frozen=True)
class Distiller:
    """Sets every training batch's target to the teachers' blend with its labels.

    Args:
        teachers: Where ``p`` comes from (:class:`ModelTeachers` or :class:`ScoredTeachers`).
        num_classes: Classes of the labels (the width of ``ỹ``).
        weight: ``w``, the teachers' share of the target, in ``(0, 1]``.
    """

    teachers: Teachers
    num_classes: int
    weight: float

    def __post_init__(self) -> None:
        if not 0 < self.weight <= 1:
            raise ValueError(f"train.distill.weight must be in (0, 1], got {self.weight}")

    def __call__(self, batch: Any) -> Any:
        """``batch`` with :data:`~.mixup.TARGET` set to ``ỹ`` (in place); a blended
        ``train.mixup`` target already there takes the labels' place."""
        labels = getattr(batch, TARGET, None)
        if labels is None:
            labels = nn.functional.one_hot(batch.y.view(-1), self.num_classes).float()
        taught = self.teachers(batch, self.num_classes)
        batch[TARGET] = torch.lerp(labels, taught, self.weight)
        return batch


def _check_temperature(temperature: float) -> None:
    if not temperature > 0:
        raise ValueError(f"train.distill.temperature must be > 0, got {temperature}")


def scored_teachers(
    files: Sequence[str | Path], info: DatasetInfo, temperature: float, device: torch.device
) -> ScoredTeachers:
    """The soft labels of score ``files`` for the training split of ``info``.

    Each file's logits become ``softmax(z / T)``; a sample scored by several files gets their
    mean.

    Raises:
        ValueError: naming the file, where one is not a valid score file
            (:func:`~.scores.read_scores`), has other classes than the run, scores a sample
            that is not a training sample of this run or gives one another label; naming the
            samples, where a training sample is scored by no file; and where the dataset does
            not name its samples.
    """
    _check_temperature(temperature)
    dataset = info.dataset
    names, labels = getattr(dataset, "names", None), getattr(dataset, "labels", None)
    split, source = getattr(dataset, "split", None), getattr(dataset, "source", None)
    if names is None or labels is None or split is None or source is None:
        raise ValueError(
            "train.distill.soft_labels needs a skeleton dataset, whose samples have names "
            f"and ids, not {type(dataset).__name__}"
        )
    row_of = {name: i for i, name in enumerate(names)}
    total = torch.zeros(len(row_of), info.num_classes)
    count = torch.zeros(len(row_of))
    for file in files:
        scores = read_scores(file)
        _check_scored(scores, info, row_of, labels)
        rows = torch.tensor([row_of[name] for name in scores.names], dtype=torch.long)
        total.index_add_(0, rows, torch.softmax(scores.logits / temperature, dim=1))
        count.index_add_(0, rows, torch.ones(len(rows)))
    unscored = [name for name, row in row_of.items() if count[row] == 0]
    if unscored:
        raise ValueError(
            f"train.distill.soft_labels: {len(unscored)} of {len(row_of)} training samples are "
            f"scored by no file (first: {', '.join(unscored[:5])}); every training sample "
            "needs a soft label"
        )
    table = torch.zeros(len(source), info.num_classes)
    table[torch.as_tensor(split, dtype=torch.long)] = total / count.unsqueeze(1)
    return ScoredTeachers(table.to(device))


def _check_scored(
    scores: ScoreFile, info: DatasetInfo, row_of: dict[str, int], labels: Any
) -> None:
    """An error naming the score file where it does not score this run's training samples
    (``row_of``: each training sample's place in the split, ``labels``: their labels)."""
    where = f"train.distill.soft_labels {scores.path}"
    if list(scores.class_names) != list(info.class_names):
        raise ValueError(
            f"{where}: its class names {list(scores.class_names)!r} differ from this run's "
            f"{list(info.class_names)!r}"
        )
    strangers = [name for name in scores.names if name not in row_of]
    if strangers:
        raise ValueError(
            f"{where}: {len(strangers)} of its {len(scores.names)} samples are not in this "
            f"run's training split (first: {', '.join(strangers[:5])}); soft labels are "
            "predictions on the training samples (a held-out fold's test scores, say)"
        )
    for name, label in zip(scores.names, scores.labels.tolist(), strict=True):
        true = int(labels[row_of[name]])
        if true != label:
            raise ValueError(
                f"{where}: sample {name} has label {scores.class_names[label]!r} there, "
                f"{info.class_names[true]!r} in this run's data"
            )


def teacher_checkpoint(entry: str | Path) -> Path:
    """The checkpoint a ``train.distill.teachers`` entry names: a run folder's ``last.pt``, or
    the file itself."""
    path = Path(entry)
    if path.is_dir():
        path = path / "last.pt"
    if not path.is_file():
        raise FileNotFoundError(
            f"train.distill teacher {entry}: no such checkpoint (give a run folder with a "
            "last.pt, or a checkpoint file)"
        )
    return path


def load_teachers(
    entries: Sequence[str | Path], config: dict[str, Any], info: DatasetInfo, device: torch.device
) -> tuple[nn.Module, ...]:
    """The teachers ``entries`` names (:func:`teacher_checkpoint`), in eval mode on ``device``,
    each checked to be built for the data of ``info`` and prepared by ``config``'s test
    transforms."""
    from .inference import load_trained, test_steps

    wanted = test_steps(config)
    teachers = []
    for entry in entries:
        path = teacher_checkpoint(entry)
        model, state = load_trained(path, device=str(device))
        _check_teacher(path, state, info, wanted, test_steps(state["config"]))
        teachers.append(model.requires_grad_(False))
    return tuple(teachers)


def _check_teacher(
    path: Path, state: dict[str, Any], info: DatasetInfo, wanted: Any, steps: Any
) -> None:
    """An error naming the teacher at ``path`` where it was not built for this run's data."""
    facts = {
        "class names": (list(state["class_names"]), list(info.class_names)),
        "input width": (state["in_channels"], info.in_channels),
        "layout": (state["layout"], info.layout),
        "test transforms": (steps, wanted),
    }
    for what, (teacher, student) in facts.items():
        if teacher != student:
            raise ValueError(
                f"train.distill teacher {path}: its {what} {teacher!r} differ from this run's "
                f"{student!r}; a teacher predicts on this run's batches, so it must have been "
                "trained on the same classes and input"
            )
