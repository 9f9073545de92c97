"""Distillation (``train.distill``): one model learns an ensemble's soft labels with the labels.

An ensemble of separately trained runs is more accurate than any of them, and costs one model
per member at inference. Distillation (Hinton et al., "Distilling the Knowledge in a Neural
Network", 2015) trains a single student on the members' predicted class distributions as well
as on the labels. Here the teachers predict on the very batch the student trains on (the same
random rotation, scale and clip), in eval mode and without gradients, and the student's
cross-entropy compares its logits with

    ỹ_b = (1 − w) · e(y_b) + w · (1/K) Σ_k softmax(z_k,b / T)

where ``e(y)`` is the one-hot label (or a ``train.mixup`` batch's blended labels), ``z_k,b`` the
logits of teacher ``k`` on sample ``b``, ``w`` = ``train.distill.weight`` and ``T`` =
``train.distill.temperature``; label smoothing, when set, applies to ``ỹ`` as to a hard label.
The temperature softens the teachers only (the student's logits are compared as they are), so
the loss stays the training loss of every other run and a CUDA-graphed step records it like any
other: the targets travel as the batch attribute :data:`~.mixup.TARGET`.

The teachers are run folders (their ``last.pt``: the final weights, or their average when the
run kept one, never the checkpoint chosen on the test split) or checkpoint files. They were
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


@dataclass(frozen=True)
class Distiller:
    """Sets every training batch's target to the teachers' blend with its labels.

    Args:
        teachers: Trained models in eval mode, on the training device.
        num_classes: Classes of the labels (the width of ``ỹ``).
        weight: ``w``, the teachers' share of the target, in ``(0, 1]``.
        temperature: ``T > 0``, dividing the teachers' logits before their softmax.
        amp_dtype: The autocast dtype the student trains under (``None``: full precision).
    """

    teachers: tuple[nn.Module, ...]
    num_classes: int
    weight: float
    temperature: float = 1.0
    amp_dtype: torch.dtype | None = None

    def __post_init__(self) -> None:
        if not self.teachers:
            raise ValueError("train.distill needs at least one teacher")
        if not 0 < self.weight <= 1:
            raise ValueError(f"train.distill.weight must be in (0, 1], got {self.weight}")
        if not self.temperature > 0:
            raise ValueError(f"train.distill.temperature must be > 0, got {self.temperature}")

    @torch.no_grad()
    def teacher_probabilities(self, batch: Any) -> Tensor:
        """The teachers' mean class distribution at temperature ``T``, ``(B, num_classes)``
        fp32."""
        device_type = batch.y.device.type
        mean = torch.zeros(batch.y.numel(), self.num_classes, device=batch.y.device)
        with torch.autocast(device_type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            for teacher in self.teachers:
                logits = teacher(batch).float()
                mean += torch.softmax(logits / self.temperature, dim=1)
        return mean / len(self.teachers)

    def __call__(self, batch: Any) -> Any:
        """``batch`` with :data:`~.mixup.TARGET` set to ``ỹ`` (in place); a blended
        ``train.mixup`` target already there takes the labels' place."""
        labels = getattr(batch, TARGET, None)
        if labels is None:
            labels = nn.functional.one_hot(batch.y.view(-1), self.num_classes).float()
        taught = self.teacher_probabilities(batch)
        batch[TARGET] = torch.lerp(labels, taught, self.weight)
        return batch


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
