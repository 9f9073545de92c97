"""Training steps replayed as CUDA graphs: each batch shape is recorded once, then replayed.

An eager training step issues every kernel from the host, one by one. A skeleton model at the
sizes of a small dataset (ST-GCN on MSR Action3D: about 900 kernels a step, each running for
microseconds) leaves the GPU idle most of the time, waiting for the next launch. With
``train.cuda_graphs`` the zeroing of the gradients, the forward, the loss and the backward of
a step are captured once per batch shape as a CUDA graph and replayed for every later batch of
that shape: one launch instead of hundreds. The optimiser, the learning-rate schedule, gradient
clipping and the moving average stay eager (a few multi-tensor kernels), so the learning rate
still changes every step.

Two batches share a record when their tensors have the same shapes and dtypes and their
host-side values are equal (a skeleton batch's ``track_shape``): the indices a model derives
from those are part of the record. The first :attr:`GraphedSteps.warmup` steps of every shape
run eagerly (on a side stream, as capture requires: lazy initialisation, cuBLAS workspaces,
autograd's device threads); they are ordinary training steps. The next step of the shape is
captured and then replayed, and so are all later ones; each step's batch is copied into the
tensors of the batch the record was made from.

The gradients live in tensors allocated by the first step and zeroed in place at the start of
every step (inside the record), so every shape's record writes the same gradient tensors and
the optimiser reads them as usual; a step gives the same gradients as an eager one (zero plus
the gradient is the gradient), and parameters that receive no gradient keep ``grad = None``.

Limits, each refused where the trainer reads the config: one process (DistributedDataParallel
all-reduces from hooks that a record cannot hold), bfloat16 or full precision (float16's loss
scaling reads an overflow flag back every step). Each record keeps its activations in a private
memory pool; :attr:`GraphedSteps.max_graphs` bounds how many shapes are recorded, and batches
of further shapes run eagerly. Records pay where batch shapes repeat: clips of a fixed length
(``uniform_sample``) with a fixed person count, as on MSR Action3D; batches that mix one- and
two-person samples in varying proportions rarely repeat a shape and run eagerly.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from .mixup import soft_target

#: Shapes counted towards their capture at most; when more have been seen, the counts restart.
SEEN_LIMIT = 1024

#: Records a step once and returns the callable that replays it.
Capture = Callable[[Callable[[], None]], Callable[[], None]]


def cuda_capture(step: Callable[[], None]) -> Callable[[], None]:
    """``step`` captured as a CUDA graph (its kernels recorded, not run); returns the replay."""
    graph = torch.cuda.CUDAGraph()
    # thread-local: a DataLoader's pin-memory thread may allocate page-locked memory meanwhile
    with torch.cuda.graph(graph, capture_error_mode="thread_local"):
        step()
    return graph.replay


def shape_key(batch: Any) -> Hashable:
    """What a record depends on: every tensor's shape and dtype, every other value itself."""

    def frozen(value: Any) -> Hashable:
        if isinstance(value, Tensor):
            return ("tensor", tuple(value.shape), value.dtype, value.device)
        if isinstance(value, list | tuple):
            return tuple(frozen(v) for v in value)
        if isinstance(value, dict):
            return tuple(sorted((k, frozen(v)) for k, v in value.items()))
        return value

    return tuple(sorted((key, frozen(batch[key])) for key in batch.keys()))


def loss_and_hits(
    model: nn.Module,
    criterion: nn.Module,
    batch: Any,
    amp_dtype: torch.dtype | None,
    cache_enabled: bool = True,
) -> tuple[Tensor, Tensor]:
    """A training step's forward: the loss of ``model``'s logits on ``batch`` (autocast to
    ``amp_dtype`` when given, the loss in fp32) and the number of correct top-1 predictions.
    The loss compares with the blended labels of a ``train.mixup`` batch where it has them
    (:func:`.mixup.soft_target`), the hits always with ``y``."""
    device_type = batch.y.device.type
    with torch.autocast(
        device_type, dtype=amp_dtype, enabled=amp_dtype is not None, cache_enabled=cache_enabled
    ):
        logits = model(batch)
        loss = criterion(logits.float(), soft_target(batch))
    return loss, (logits.detach().argmax(1) == batch.y).sum()


@dataclass
class _Record:
    """One batch shape: the batch whose tensors the record reads, and the replay."""

    batch: Any
    scale: Tensor
    loss: Tensor
    correct: Tensor
    replay: Callable[[], None]


@dataclass
class GraphedSteps:
    """Forward, loss and backward of training steps, replayed as CUDA graphs per batch shape.

    Args:
        net: The model (in train mode when called).
        criterion: Loss of ``(logits, labels)``; a summed loss is expected.
        amp_dtype: Autocast dtype, or ``None`` for full precision.
        capture: How a step is recorded (:func:`cuda_capture` on a GPU).
        warmup: Eager steps of each shape before it is captured (at least 1).
        max_graphs: Shapes recorded at most; later shapes run eagerly.
    """

    net: nn.Module
    criterion: nn.Module
    amp_dtype: torch.dtype | None
    capture: Capture
    warmup: int = 2
    max_graphs: int = 16
    seen: dict[Hashable, int] = field(default_factory=dict)
    records: dict[Hashable, _Record] = field(default_factory=dict)
    grads: list[Tensor] | None = None

    def __post_init__(self) -> None:
        if self.warmup < 1:  # the first eager step allocates the gradients every record writes
            raise ValueError(f"warmup must be at least 1, got {self.warmup}")

    def __call__(self, batch: Any, scale: float) -> tuple[Tensor, Tensor]:
        """One step's forward and backward of ``batch`` (on the model's device), with the
        loss multiplied by ``scale`` before the backward.

        Returns:
            The summed loss (unscaled) and the number of correct top-1 predictions, as 0-d
            device tensors valid until the next call.
        """
        key = shape_key(batch)
        record = self.records.get(key)
        if record is not None:
            for name, static in _tensors(record.batch):
                static.copy_(batch[name], non_blocking=True)
            record.scale.fill_(scale)
            record.replay()
            return record.loss, record.correct
        count = self.seen.get(key, 0)
        if len(self.seen) >= SEEN_LIMIT:  # shapes that never repeat: forget, stay bounded
            self.seen.clear()
        self.seen[key] = count + 1
        if count < self.warmup or len(self.records) >= self.max_graphs:
            return self._eager(batch, scale)
        return self._record(key, batch, scale)

    def _eager(self, batch: Any, scale: float) -> tuple[Tensor, Tensor]:
        device = batch.y.device
        with _side_stream(device):
            loss, correct = self._forward_backward(batch, torch.tensor(scale, device=device))
        return loss, correct

    def _record(self, key: Hashable, batch: Any, scale: float) -> tuple[Tensor, Tensor]:
        """Capture the step of ``batch``'s shape, then run it by replaying the record."""
        device = batch.y.device
        record = _Record(
            batch=batch.clone(),  # the record's own inputs, refilled by every later step
            scale=torch.tensor(scale, device=device),
            loss=torch.zeros((), device=device),
            correct=torch.zeros((), dtype=torch.long, device=device),
            replay=_unset,
        )

        def step() -> None:
            loss, correct = self._forward_backward(record.batch, record.scale)
            record.loss.copy_(loss)
            record.correct.copy_(correct)

        record.replay = self.capture(step)
        self.records[key] = record
        record.replay()
        return record.loss, record.correct

    def _forward_backward(self, batch: Any, scale: Tensor) -> tuple[Tensor, Tensor]:
        if self.grads is not None:
            torch._foreach_zero_(self.grads)
        else:  # the first step: its backward allocates the gradients kept from then on
            self.net.zero_grad(set_to_none=True)
        # autocast's weight cache cannot outlive a capture: off, in every step alike
        loss, correct = loss_and_hits(self.net, self.criterion, batch, self.amp_dtype, False)
        (loss * scale).backward()
        if self.grads is None:
            self.grads = [p.grad for p in self.net.parameters() if p.grad is not None]
        return loss.detach(), correct


def _unset() -> None:
    raise RuntimeError("the step has not been captured yet")


def _tensors(batch: Any) -> list[tuple[str, Tensor]]:
    return [(key, batch[key]) for key in batch.keys() if isinstance(batch[key], Tensor)]


def _side_stream(device: torch.device) -> AbstractContextManager[Any]:
    """Eager steps before a capture run on a side stream (CUDA); elsewhere nothing changes."""
    if device.type != "cuda":
        return nullcontext()
    return _SideStream()


class _SideStream:
    def __enter__(self) -> None:
        self.stream = torch.cuda.Stream()
        self.stream.wait_stream(torch.cuda.current_stream())
        self.context = torch.cuda.stream(self.stream)
        self.context.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.context.__exit__(*exc)
        torch.cuda.current_stream().wait_stream(self.stream)
