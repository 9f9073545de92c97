"""Data-parallel training support: process groups, sharded batches and cross-rank reductions.

A run with ``W`` processes (``torchrun`` or ``pyg-action train --nproc W``) trains exactly what
a one-process run with the same global batch trains:

* :class:`ShardedBatchSampler` cuts each global batch of the epoch's shuffled order into ``W``
  contiguous pieces, one per rank (the union over ranks is the one-process order);
* :func:`sync_batchnorm` makes BatchNorm statistics global (torch's ``SyncBatchNorm`` on
  CUDA, :class:`GlobalBatchNorm` on CPU, where torch's refuses to run);
* :func:`all_reduce_sums` and :func:`gather_rows` give every rank the same metrics.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


@dataclass(frozen=True)
class Context:
    """Where this process stands: its rank, the number of processes and its device."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that prints, logs and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def launched_world_size() -> int:
    """``WORLD_SIZE`` set by ``torchrun`` / :func:`spawn` (1 for a plain run)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True in a plain run and in rank 0 of a launched one."""
    return int(os.environ.get("RANK", "0")) == 0


@contextmanager
def process_group(device: str) -> Iterator[Context]:
    """The :class:`Context` of this process; joins (and finally leaves) the launched group.

    Uses ``nccl`` and ``cuda:LOCAL_RANK`` for ``device="cuda"``, ``gloo`` on the CPU. Without
    a launcher (``WORLD_SIZE`` unset or 1) nothing is initialised.
    """
    world_size = launched_world_size()
    dev = torch.device(device)
    if world_size == 1:
        yield Context(0, 1, dev)
        return
    if dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(dev)
    owner = not dist.is_initialized()
    if owner:
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    try:
        yield Context(dist.get_rank(), dist.get_world_size(), dev)
    finally:
        if owner:
            dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _spawned(rank: int, world_size: int, port: int, fn: Callable[..., Any], args: tuple) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_WORLD_SIZE=str(world_size),
    )
    fn(*args)


def spawn(fn: Callable[..., Any], nproc: int, args: tuple = ()) -> None:
    """Run ``fn(*args)`` in ``nproc`` new local processes set up like ``torchrun`` would.

    ``fn`` and ``args`` must be picklable (a module-level function). Raises
    :class:`torch.multiprocessing.spawn.ProcessException` when a process fails.
    """
    torch.multiprocessing.start_processes(
        _spawned, args=(nproc, _free_port(), fn, args), nprocs=nproc, start_method="spawn"
    )


def check_batch_split(batch_size: int, world_size: int) -> None:
    """Raise :class:`ValueError` unless ``world_size`` processes share ``batch_size`` equally."""
    if batch_size % world_size:
        raise ValueError(
            f"the batch size {batch_size} is not a multiple of the {world_size} processes"
        )


class ShardedBatchSampler(torch.utils.data.Sampler[list[int]]):
    """This rank's part of every global batch of a seeded, per-epoch shuffled order.

    The order of epoch ``e`` depends only on ``(seed, e)``; global batch ``k`` is positions
    ``k*B .. (k+1)*B`` of it and rank ``r`` of ``W`` gets the ``r``-th of ``W`` contiguous,
    near-equal pieces (no padding, no sample twice). A last global batch smaller than ``W``
    would leave a rank without samples and is dropped when ``W > 1``.

    With ``lengths`` (one frame count per sample) batches are made of samples of similar
    length (:func:`bucketed_order`): a batch's tracks then differ little, and variable-length
    data shows few distinct batch shapes (what CUDA graphs and compiled models key on).

    Args:
        num_samples: Dataset length.
        batch_size: Global batch size ``B`` (a multiple of ``W``).
        seed: Shuffling seed.
        rank, world_size: This process's rank and the number of processes ``W``.
        shuffle: Shuffle (training) or keep the dataset order.
        lengths: Frames of every sample, to batch by length; ``None`` for plain shuffling.
    """

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool = True,
        lengths: Sequence[int] | np.ndarray | None = None,
    ) -> None:
        check_batch_split(batch_size, world_size)
        if lengths is not None and len(lengths) != num_samples:
            raise ValueError(f"{len(lengths)} lengths for {num_samples} samples")
        self.lengths = None if lengths is None else np.asarray(lengths)
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the shuffled order of ``epoch``."""
        self.epoch = epoch

    def order(self) -> np.ndarray:
        """The epoch's sample order (identical on every rank)."""
        if not self.shuffle:
            return np.arange(self.num_samples)
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(self.num_samples)
        if self.lengths is None:
            return order
        return bucketed_order(order, self.lengths, self.batch_size, rng)

    def global_batch_size(self, step: int) -> int:
        """Samples in global batch ``step`` (summed over ranks)."""
        return min(self.batch_size, self.num_samples - step * self.batch_size)

    def __len__(self) -> int:
        full, rest = divmod(self.num_samples, self.batch_size)
        return full + int(rest >= self.world_size)

    def __iter__(self) -> Iterator[list[int]]:
        order = self.order()
        for step in range(len(self)):
            batch = order[step * self.batch_size : (step + 1) * self.batch_size]
            yield np.array_split(batch, self.world_size)[self.rank].tolist()


#: Batches whose samples :func:`bucketed_order` sorts together.
BUCKET_BATCHES = 32


def bucketed_order(
    order: np.ndarray,
    lengths: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    pool: int = BUCKET_BATCHES,
) -> np.ndarray:
    """A shuffled ``order`` rearranged so that every run of ``batch_size`` has similar lengths.

    The order is cut into pools of ``pool * batch_size`` samples; each pool is sorted by
    length (stably, so ties keep their shuffled order) and cut into batches; the full batches
    of all pools are then shuffled, and a last, smaller batch stays last. Every sample keeps
    exactly one place, and the result depends only on ``order``, ``lengths`` and ``rng``.
    """
    span = pool * batch_size
    pools = [order[i : i + span] for i in range(0, len(order), span)]
    ranked = np.concatenate([p[np.argsort(lengths[p], kind="stable")] for p in pools])
    full = len(ranked) // batch_size * batch_size
    batches = ranked[:full].reshape(-1, batch_size)
    return np.concatenate([batches[rng.permutation(len(batches))].reshape(-1), ranked[full:]])


def contiguous_shard(num_samples: int, rank: int, world_size: int) -> range:
    """Rank ``rank``'s contiguous piece of ``range(num_samples)`` (pieces in rank order)."""
    bounds = np.linspace(0, num_samples, world_size + 1).round().astype(int)
    return range(int(bounds[rank]), int(bounds[rank + 1]))


def all_reduce_sums(values: Sequence[float], ctx: Context) -> list[float]:
    """``values`` summed over ranks (float64); unchanged in a one-process run."""
    if not ctx.distributed:
        return [float(v) for v in values]
    tensor = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def gather_rows(tensor: torch.Tensor, ctx: Context) -> torch.Tensor:
    """Every rank's ``tensor`` (varying first dimension) concatenated in rank order (CPU)."""
    if not ctx.distributed:
        return tensor.cpu()
    local = tensor.to(ctx.device)
    size = torch.tensor([local.shape[0]], device=ctx.device)
    sizes = [torch.zeros_like(size) for _ in range(ctx.world_size)]
    dist.all_gather(sizes, size)
    longest = int(max(int(s) for s in sizes))
    padded = local.new_zeros((longest, *local.shape[1:]))
    padded[: local.shape[0]] = local
    pieces = [torch.zeros_like(padded) for _ in range(ctx.world_size)]
    dist.all_gather(pieces, padded)
    return torch.cat([p[: int(s)] for p, s in zip(pieces, sizes, strict=True)]).cpu()


def gather_objects(value: Any, ctx: Context) -> list[Any]:
    """Every rank's picklable ``value``, in rank order."""
    if not ctx.distributed:
        return [value]
    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, value)
    return out


class _AllReduceSum(torch.autograd.Function):
    """Differentiable sum over ranks: the gradient is summed over ranks too."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor, group: Any) -> torch.Tensor:
        ctx.group = group
        out = tensor.clone()
        dist.all_reduce(out, group=group)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return _AllReduceSum.apply(grad, ctx.group), None


class GlobalBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics are over the samples of every rank.

    Made from an existing BatchNorm (same parameters, buffers and state-dict keys). Mean and
    variance are reduced with differentiable all-reduces (two passes, like native BatchNorm's
    numerics), so gradients flow across ranks as with a one-process batch. Works with any
    backend, unlike torch's ``SyncBatchNorm`` (GPU only). Eval mode is plain BatchNorm.
    """

    def __init__(self, source: _BatchNorm, group: Any) -> None:
        like = next(iter([*source.parameters(), *source.buffers()]), None)
        super().__init__(
            source.num_features,
            source.eps,
            source.momentum,
            source.affine,
            source.track_running_stats,
            device=None if like is None else like.device,
        )
        self.load_state_dict(source.state_dict())
        self.train(source.training)
        self.group = group

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(input)
        dims = [0, *range(2, input.dim())]
        shape = [1, -1, *([1] * (input.dim() - 2))]
        local_count = input.new_full((1,), input.numel() // input.shape[1])
        totals = _AllReduceSum.apply(torch.cat([input.sum(dims), local_count]), self.group)
        count = totals[-1].detach()
        mean = totals[:-1] / count
        centred = input - mean.view(shape)
        squares = _AllReduceSum.apply((centred * centred).sum(dims), self.group)
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), squares.detach(), float(count))
        out = centred * torch.rsqrt(squares / count + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out

    @torch.no_grad()
    def _update_running_stats(
        self, mean: torch.Tensor, squares: torch.Tensor, count: float
    ) -> None:
        """Native BatchNorm's update: momentum (or cumulative) average, unbiased variance."""
        assert self.num_batches_tracked is not None
        assert self.running_mean is not None and self.running_var is not None
        self.num_batches_tracked.add_(1)
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = squares / max(count - 1.0, 1.0)
        self.running_mean.mul_(1.0 - factor).add_(mean, alpha=factor)
        self.running_var.mul_(1.0 - factor).add_(unbiased, alpha=factor)


def _replace_batchnorms(module: nn.Module, group: Any) -> nn.Module:
    if isinstance(module, _BatchNorm):
        return GlobalBatchNorm(module, group)
    for name, child in module.named_children():
        module.add_module(name, _replace_batchnorms(child, group))
    return module


@runtime_checkable
class ReducesOwnStatistics(Protocol):
    """A module that computes batch statistics itself and sums them with
    ``reduce_statistics`` (``None`` in a one-process run)."""

    reduce_statistics: Callable[[torch.Tensor], torch.Tensor] | None


@dataclass(frozen=True)
class RankSum:
    """``tensor ↦ Σ_ranks tensor`` over ``group`` (``None``: every process), differentiable:
    what a module that computes batch statistics itself reduces them with."""

    group: Any = None

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        return _AllReduceSum.apply(tensor, self.group)


def sync_batchnorm(model: nn.Module, ctx: Context) -> nn.Module:
    """``model`` with rank-global BatchNorm statistics when ``ctx`` is distributed.

    Every ``_BatchNorm`` becomes torch's ``SyncBatchNorm`` (CUDA) or a :class:`GlobalBatchNorm`
    (CPU), and every :class:`ReducesOwnStatistics` module (CTR-GCN's per-person input norm)
    reduces with a :class:`RankSum`.
    """
    if not ctx.distributed:
        return model
    if ctx.device.type == "cuda":
        group = None
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    else:
        group = dist.new_group(backend="gloo")
        model = _replace_batchnorms(model, group)
    for module in model.modules():
        if isinstance(module, ReducesOwnStatistics):
            module.reduce_statistics = RankSum(group)
    return model
