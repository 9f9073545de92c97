"""The training engine behind ``pyg-action train``.

One function, :func:`train`, runs a config: builds the datasets and the model from the
registries, trains with progress bars, evaluates every epoch, writes a JSON-lines log
(``log.jsonl``; TensorBoard too when installed), atomic checkpoints (``last.pt`` every
``train.checkpoint_every`` epochs and after the last, ``best.pt`` on improvement) and resumes
from ``last.pt``; the first non-finite training loss
stops the run with an error naming the batch's samples, and the logs are strict JSON; one
process or data-parallel over several (see :mod:`pyg_action.engine.distributed`). With
``train.ema_decay`` set, an exponential moving average of the weights
(:mod:`pyg_action.engine.averaging`) is what is evaluated every epoch and what inference
loads from the checkpoints. With ``train.cuda_graphs`` on a GPU, each batch shape's forward
and backward is captured once as a CUDA graph and replayed (:mod:`.graphed_step`); with
``train.device_data`` the batches are made on the training device instead of by DataLoaders
(:mod:`pyg_action.data.device_split`). With ``train.mixup`` every training batch's samples are
blended in pairs of equal shape, labels too (:mod:`.mixup`); with ``train.distill`` the target
blends the labels with trained teachers' predictions on the batch (:mod:`.distill`); with
``train.sam_rho`` each step applies the gradient taken at weights moved along the batch's
gradient (sharpness-aware minimisation, :mod:`.sharpness`).

Resuming is per epoch and exact: ``last.pt`` holds the model, optimiser, schedule, scaler, the
torch random state of every rank and the log's records, and the batch order and augmentation
are keyed by (seed, epoch), so a run killed at any moment and resumed ends with the weights and
metrics of an uninterrupted one; ``log.jsonl`` is rewritten from the checkpoint on resume. The
execution choices (:mod:`pyg_action.nn.backend`; ``train.weight_gradient`` sets the CPU
temporal convolution's weight gradient) are fixed by the config, never timed, so two separate
runs of one config on one machine agree to the last bit.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

from ..data.device_split import DeviceSplit
from ..data.registry import (
    DataFacts,
    DatasetInfo,
    allow_dataset_class,
    build_dataset,
    builder_takes,
)
from ..models import create_model
from ..nn.backend import use_backend
from .averaging import (
    WeightAverage,
    averaged_module,
    ema_model,
    ema_state,
    load_ema_state,
)
from .checkpoint import load_checkpoint, load_weights, save_checkpoint
from .distill import Distiller, ModelTeachers, Teachers, load_teachers, scored_teachers
from .distributed import (
    Context,
    ShardedBatchSampler,
    all_reduce_sums,
    contiguous_shard,
    gather_objects,
    gather_rows,
    process_group,
    sync_batchnorm,
)
from .graphed_step import Capture, GraphedSteps, cuda_capture, loss_and_hits
from .metrics import classification_metrics
from .mixup import Mixup
from .schedule import build_optimizer, build_scheduler
from .schema import DistillSection
from .sharpness import SharpnessAwareStep

GRAPH_MODEL_KEYS = ("strategy", "max_hop", "dilation")
# what ``last.pt`` must hold to resume exactly (see :func:`_train`)
RESUME_KEYS = (
    "model",
    "optimizer",
    "scheduler",
    "scaler",
    "rng",
    "epoch",
    "best",
    "metrics",
    "history",
)


@dataclass
class TrainResult:
    """What a run produced: the final and best held-out metrics and where files went."""

    final: dict[str, float]
    best: dict[str, float]
    out_dir: Path
    synthetic: bool


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - user code and libraries may draw from the global RNG
    torch.manual_seed(seed)


def load_split(config: dict[str, Any], split: str) -> DatasetInfo:
    """Build one split of the configured dataset; an empty split is an error."""
    data = dict(config["data"])
    name = data.pop("name")
    if builder_takes(name, "graph"):  # skeleton data: the graph shared with the model
        data["graph"] = config["graph"]
    info = build_dataset(name, split, **data)
    if len(info.dataset) == 0:
        raise ValueError(
            f"dataset {name!r}: split {split!r} is empty; check the data options {data}"
        )
    return info


def build_model_for(config: dict[str, Any], data: DataFacts | DatasetInfo) -> nn.Module:
    """The configured model sized for ``data`` (a split, or the facts a checkpoint records);
    for skeleton data (a ``layout``) the model takes the graph options shared with the data."""
    facts = data.facts if isinstance(data, DatasetInfo) else data
    options = dict(config["model"])
    name = options.pop("name")
    if facts.layout is not None:
        options.setdefault("layout", facts.layout)
        for key in GRAPH_MODEL_KEYS:
            options.setdefault(key, config["graph"][key])
        options.setdefault("kernel_size", config["graph"]["temporal_window"])
    return create_model(
        name, num_classes=facts.num_classes, in_channels=facts.in_channels, **options
    )


@torch.no_grad()
def predict_logits(
    model: nn.Module, loader: Iterable[Any], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and labels (on the CPU) of every sample of the batches in ``loader`` (eval
    mode); they stay on ``device`` until the last batch, so the host waits for it once."""
    model.eval()
    logits, labels = [], []
    for batch in loader:
        batch = batch.to(device, non_blocking=True)
        logits.append(model(batch).float())
        labels.append(batch.y)
    return torch.cat(logits).cpu(), torch.cat(labels).cpu()


def _scalar_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    return {
        k: round(float(v), 4) for k, v in metrics.items() if k in ("top1", "top5", "mean_class")
    }


def _tensorboard(out_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(out_dir / "tensorboard"))


def train(
    config: dict[str, Any],
    out_dir: str | Path,
    device: str = "cpu",
    resume: bool = False,
    progress: bool = True,
    epoch_lines: bool | None = None,
    dataset_class: str | None = None,
) -> TrainResult:
    """Train ``config`` and write logs and checkpoints into ``out_dir``.

    Under ``torchrun`` (or :func:`~pyg_action.engine.distributed.spawn`) every process calls
    this; they train one model data-parallel and return the same result, and only rank 0
    writes files. With ``progress`` rank 0 shows a progress bar over the epoch's batches when
    stderr is a terminal (none in a redirected log); with ``epoch_lines`` (default: as
    ``progress``) it prints one summary line per epoch. ``dataset_class`` is the class the
    command line let ``pyg_dataset`` import
    (:func:`~pyg_action.data.registry.allow_dataset_class`).
    """
    lines = progress if epoch_lines is None else epoch_lines
    trusted = allow_dataset_class(dataset_class) if dataset_class is not None else nullcontext()
    with trusted, process_group(device) as ctx:
        shown = _Shown(bars=progress and ctx.is_main, lines=lines and ctx.is_main)
        return _train(config, Path(out_dir), ctx, resume, shown)


@dataclass(frozen=True)
class _Shown:
    """What rank 0 prints while training: progress bars, per-epoch lines."""

    bars: bool
    lines: bool


def _train(
    config: dict[str, Any], out_dir: Path, ctx: Context, resume: bool, shown: _Shown
) -> TrainResult:
    opts = config["train"]
    with use_backend(conv_weight_gradient=str(opts["weight_gradient"])):
        return _train_with_methods(config, out_dir, ctx, resume, shown)


def _train_with_methods(
    config: dict[str, Any], out_dir: Path, ctx: Context, resume: bool, shown: _Shown
) -> TrainResult:
    opts = config["train"]
    seed_everything(int(opts["seed"]))
    train_info = load_split(config, "train")
    test_info = load_split(config, "test")
    run = _build_run(config, train_info, test_info, ctx)
    epochs = int(opts["epochs"])
    start_epoch, best, history, final = 0, {"top1": -1.0}, [], {}
    if resume and (out_dir / "last.pt").exists():
        state = load_checkpoint(out_dir / "last.pt", map_location=ctx.device)
        missing = [key for key in RESUME_KEYS if key not in state]
        if missing:
            raise ValueError(
                f"{out_dir / 'last.pt'} cannot be resumed: it lacks {missing} (written by an "
                "older pyg_action?); train into another folder instead"
            )
        _restore(run, state, out_dir / "last.pt")
        start_epoch, best = int(state["epoch"]) + 1, dict(state["best"])
        history, final = list(state["history"]), dict(state["metrics"])
    if ctx.distributed:
        run.model = DistributedDataParallel(
            run.net, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None
        )
    meta = {
        "config": config,
        "class_names": train_info.class_names,
        "layout": train_info.layout,
        "in_channels": train_info.in_channels,
        "num_classes": train_info.num_classes,
        "synthetic": train_info.synthetic,
    }
    outputs = _Outputs(out_dir, config, history) if ctx.is_main else None
    for epoch in range(start_epoch, epochs):
        started = time.perf_counter()
        desc = f"epoch {epoch + 1}/{epochs}"
        train_loss, train_top1 = _train_epoch(run, epoch, desc, shown.bars)
        final = _evaluate(run, epoch)
        history.append(
            {
                "epoch": epoch + 1,
                "lr": run.optimizer.param_groups[0]["lr"],
                "train_loss": train_loss,
                "train_top1": train_top1,
                **{f"test_{k}": v for k, v in final.items()},
                "seconds": round(time.perf_counter() - started, 2),
            }
        )
        improved = final["top1"] > best["top1"]
        if improved:
            best = {**final, "epoch": epoch + 1}
        checkpoint = (epoch + 1) % int(opts["checkpoint_every"]) == 0 or epoch + 1 == epochs
        if improved or checkpoint:  # the same on every rank: gather_objects is collective
            rng = gather_objects(_rng_state(ctx.device), ctx)
            if outputs is not None:
                state = {**meta, **_training_state(run, epoch), "rng": rng, "epoch": epoch}
                state.update(best=best, metrics=final, history=history)
                outputs.checkpoint(state, best=improved, last=checkpoint)
        if outputs is not None:
            outputs.log(history[-1])
        if shown.lines:
            tqdm.write(
                f"epoch {epoch + 1}/{epochs}  loss {train_loss:.3f}  "
                f"train {train_top1:.1f}%  test top-1 {final['top1']:.2f}%"
            )
    if outputs is not None:
        outputs.close({"final": final, "best": best, "synthetic": train_info.synthetic})
    return TrainResult(final, best, out_dir, train_info.synthetic)


class _Outputs:
    """Rank 0's files: ``config.json``, ``log.jsonl`` (and TensorBoard), checkpoints, result.

    ``log.jsonl`` starts as the records of the checkpoint resumed from, and an epoch's line is
    appended after the epoch's checkpoints: whenever a crash hits, resuming rewrites the log
    from ``last.pt``'s records, one line per epoch up to the epoch it resumes after.
    """

    def __init__(self, out_dir: Path, config: dict[str, Any], history: list[dict]) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir = out_dir
        _write_text(out_dir / "config.json", json.dumps(config, indent=2))
        _write_text(out_dir / "log.jsonl", "".join(strict_json(r) + "\n" for r in history))
        self.writer = _tensorboard(out_dir)

    def checkpoint(self, state: dict[str, Any], best: bool, last: bool) -> None:
        """Write ``state`` as ``best.pt`` and/or ``last.pt``."""
        if best:
            save_checkpoint(self.out_dir / "best.pt", state)
        if last:
            save_checkpoint(self.out_dir / "last.pt", state)

    def log(self, record: dict[str, Any]) -> None:
        """Append one epoch's record to ``log.jsonl`` (and TensorBoard)."""
        with open(self.out_dir / "log.jsonl", "a", encoding="utf-8") as log:
            log.write(strict_json(record) + "\n")
        if self.writer is not None:
            for key, value in record.items():
                self.writer.add_scalar(key, value, record["epoch"])

    def close(self, summary: dict[str, Any]) -> None:
        """Write ``result.json``."""
        if self.writer is not None:
            self.writer.close()
        _write_text(self.out_dir / "result.json", strict_json(summary, indent=2))


def read_log(out_dir: str | Path) -> list[dict[str, Any]]:
    """The epoch records of a run's ``log.jsonl``, in order."""
    lines = (Path(out_dir) / "log.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def epoch_seconds(out_dir: str | Path) -> float:
    """The summed ``seconds`` of a run's epochs in its ``log.jsonl`` (training and evaluation;
    start-up and checkpoint writing not counted)."""
    return sum(float(record["seconds"]) for record in read_log(out_dir))


def read_result(out_dir: str | Path) -> TrainResult:
    """The :class:`TrainResult` of a finished run, from its ``result.json``."""
    out_dir = Path(out_dir)
    summary = json.loads((out_dir / "result.json").read_text(encoding="utf-8"))
    return TrainResult(summary["final"], summary["best"], out_dir, summary["synthetic"])


@dataclass
class _Run:
    """What one process trains with; ``model`` is ``net`` wrapped for data parallelism and
    ``ema`` the average of ``net``'s weights (``None`` when off), updated from epoch
    ``average_start`` (0-based) on."""

    ctx: Context
    net: nn.Module
    model: nn.Module
    ema: WeightAverage | None
    average_start: int
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    criterion: nn.Module
    sampler: ShardedBatchSampler
    train_loader: DataLoader
    test_loader: DataLoader
    #: ``train.device_data``: the splits on the device, batched there instead of by the loaders
    device_train: DeviceSplit | None
    device_test: DeviceSplit | None
    num_classes: int
    amp_dtype: torch.dtype | None
    grad_clip: float | None
    graphed: GraphedSteps | None
    #: ``train.mixup``: blends each training batch's samples (``None`` when off)
    mixup: Mixup | None
    #: ``train.distill``: the teachers' soft labels as each batch's target (``None`` when off)
    distiller: Distiller | None
    #: ``train.sam_rho``: sharpness-aware gradients (``None`` when off)
    sharpness: SharpnessAwareStep | None


def step_capture(device: torch.device) -> Capture | None:
    """How ``train.cuda_graphs`` records a step on ``device``: CUDA graphs on a GPU, and
    nothing elsewhere (the option is then ignored, like ``train.amp: true`` on a CPU)."""
    return cuda_capture if device.type == "cuda" else None


def _graphed_steps(
    opts: dict[str, Any],
    net: nn.Module,
    criterion: nn.Module,
    amp: torch.dtype | None,
    ctx: Context,
) -> GraphedSteps | None:
    """The recorder of ``train.cuda_graphs`` (see :mod:`.graphed_step`), or ``None``."""
    capture = step_capture(ctx.device) if opts.get("cuda_graphs") else None
    if capture is None:
        return None
    if ctx.distributed:
        raise ValueError(
            "train.cuda_graphs trains in one process: DistributedDataParallel's gradient "
            "all-reduce cannot be recorded; set train.cuda_graphs=false to train distributed"
        )
    if amp == torch.float16:
        raise ValueError(
            "train.cuda_graphs needs bfloat16 or full precision: float16's loss scaling reads "
            "an overflow flag back every step; use train.amp=bf16 or true on this GPU"
        )
    return GraphedSteps(net, criterion, amp, capture)


def _weight_average(net: nn.Module, opts: dict[str, Any]) -> tuple[WeightAverage | None, int]:
    """The average of the weights that is evaluated (``train.ema_decay`` or ``train.swa_from``,
    not both: the schema checks) and the first epoch (0-based) whose steps update it."""
    ema_decay = float(opts.get("ema_decay") or 0.0)
    swa_from = opts.get("swa_from")
    if swa_from is not None:
        return WeightAverage(net), int(swa_from) - 1
    return (ema_model(net, ema_decay) if ema_decay else None), 0


def _build_run(
    config: dict[str, Any], train_info: DatasetInfo, test_info: DatasetInfo, ctx: Context
) -> _Run:
    """Model (rank-global BatchNorm when distributed), optimiser, schedule and loaders."""
    opts = config["train"]
    net = sync_batchnorm(build_model_for(config, train_info).to(ctx.device), ctx)
    sampler = ShardedBatchSampler(
        len(train_info.dataset),
        int(opts["batch_size"]),
        seed=int(opts["seed"]),
        rank=ctx.rank,
        world_size=ctx.world_size,
        lengths=_bucket_lengths(train_info.dataset) if opts.get("bucket_by_length") else None,
    )
    test_shard = contiguous_shard(len(test_info.dataset), ctx.rank, ctx.world_size)
    optimizer = build_optimizer(net, opts["optimizer"])
    amp_dtype = autocast_dtype(opts.get("amp"), ctx.device)
    pinned = ctx.device.type == "cuda"  # page-locked batches copy to the GPU asynchronously
    workers = int(opts.get("num_workers") or 0)
    on_device = bool(opts.get("device_data"))
    if workers and not on_device:  # workers start each epoch from the parent's copy:
        # prepare the samples there
        for info in (train_info, test_info):
            prepare = getattr(info.dataset, "prepare_all", None)
            if prepare is not None:
                prepare()
    ema, average_start = _weight_average(net, opts)
    criterion = nn.CrossEntropyLoss(
        reduction="sum", label_smoothing=float(opts.get("label_smoothing", 0.0))
    )
    return _Run(
        ctx=ctx,
        net=net,
        model=net,
        ema=ema,
        average_start=average_start,
        optimizer=optimizer,
        scheduler=build_scheduler(optimizer, opts["scheduler"], int(opts["epochs"]), len(sampler)),
        scaler=torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16),
        criterion=criterion,
        sampler=sampler,
        # workers start anew each epoch and take the dataset's epoch key with them, so a
        # sample's augmentation is the same with or without them
        train_loader=DataLoader(
            train_info.dataset, batch_sampler=sampler, pin_memory=pinned, num_workers=workers
        ),
        test_loader=DataLoader(
            test_info.dataset,
            batch_size=int(opts["eval_batch_size"]),
            sampler=test_shard,
            pin_memory=pinned,
            num_workers=workers,
        ),
        device_train=DeviceSplit(train_info.dataset, ctx.device) if on_device else None,
        device_test=DeviceSplit(test_info.dataset, ctx.device) if on_device else None,
        num_classes=train_info.num_classes,
        amp_dtype=amp_dtype,
        grad_clip=float(opts["grad_clip"]) if opts.get("grad_clip") else None,
        graphed=_graphed_steps(opts, net, criterion, amp_dtype, ctx),
        mixup=Mixup(
            float(opts["mixup"]), train_info.num_classes, seed=int(opts["seed"]), rank=ctx.rank
        )
        if opts.get("mixup")
        else None,
        distiller=_distiller(config, train_info, amp_dtype, ctx),
        sharpness=SharpnessAwareStep(net, float(opts["sam_rho"])) if opts.get("sam_rho") else None,
    )


def _distiller(
    config: dict[str, Any], info: DatasetInfo, amp: torch.dtype | None, ctx: Context
) -> Distiller | None:
    """The teachers of ``train.distill`` (see :mod:`.distill`), or ``None``."""
    given = config["train"].get("distill")
    if not given:
        return None
    opts = DistillSection.model_validate(given)  # with the defaults of the keys not given
    teachers: Teachers
    if opts.soft_labels:
        teachers = scored_teachers(opts.soft_labels, info, opts.temperature, ctx.device)
    else:
        models = load_teachers(opts.teachers, config, info, ctx.device)
        teachers = ModelTeachers(models, temperature=opts.temperature, amp_dtype=amp)
    return Distiller(teachers, info.num_classes, weight=opts.weight)


def set_training_epoch(net: nn.Module, epoch: int) -> None:
    """Tell every submodule with a schedule over the epochs (a ``set_training_epoch(epoch)``
    method: DropGraph's rising rate) that 0-based epoch ``epoch`` starts."""
    for module in net.modules():
        schedule = getattr(module, "set_training_epoch", None)
        if callable(schedule):
            schedule(epoch)


def _train_epoch(run: _Run, epoch: int, desc: str, progress: bool) -> tuple[float, float]:
    """One epoch over this rank's shards; returns the all-rank mean loss and top-1 (%).

    Each rank's summed loss is scaled by ``world_size / global batch``: after
    DistributedDataParallel averages the gradients they are those of the global batch's mean.
    """
    dev = run.ctx.device
    average = _average_of(run, epoch)
    run.model.train()
    set_training_epoch(run.net, epoch)
    run.sampler.set_epoch(epoch)
    batches: Iterable[Any] = run.train_loader
    if run.device_train is not None:
        batches = run.device_train.batches(list(run.sampler), epoch)
    else:
        set_dataset_epoch = getattr(run.train_loader.dataset, "set_epoch", None)
        if set_dataset_epoch is not None:
            set_dataset_epoch(epoch)
    # the sums stay on the device: the host waits for it once per epoch (and once per
    # PROGRESS_EVERY steps where a progress bar is shown), never per step; so does the
    # non-finite check, whose per-step flags are read with the sums
    loss_sum = torch.zeros((), device=dev)
    correct = torch.zeros((), dtype=torch.long, device=dev)
    finite: list[torch.Tensor] = []
    sample_ids: list[Any] = []
    seen = 0
    bar = tqdm(
        batches,
        desc=desc,
        total=len(run.sampler),
        disable=None if progress else True,
        leave=False,
    )
    for step, batch in enumerate(bar):
        batch = batch.to(dev, non_blocking=True)
        if run.mixup is not None:
            batch = run.mixup(batch, epoch, step)
        if run.distiller is not None:
            batch = run.distiller(batch)
        scale = run.ctx.world_size / run.sampler.global_batch_size(step)
        if run.graphed is not None:
            summed, hits = run.graphed(batch, scale)
        else:
            summed, hits = _forward_backward(run, batch, scale)
            if run.sharpness is not None:
                run.sharpness(partial(_forward_backward, run, batch, scale))
        _update(run, average)
        loss_sum += summed
        correct += hits
        finite.append(torch.isfinite(summed))
        sample_ids.append(getattr(batch, "sample_id", batch.y.numel()))
        seen += int(batch.y.numel())
        if not bar.disable and step % PROGRESS_EVERY == 0:
            bar.set_postfix(loss=f"{float(loss_sum) / seen:.3f}")
    bad = (~torch.stack(finite)).nonzero().view(-1).tolist() if finite else []
    if bad:
        step = bad[0]
        raise ValueError(
            f"non-finite training loss in epoch {epoch + 1}, batch {step + 1}, samples "
            f"{_batch_samples(sample_ids[step], run.train_loader.dataset)}: training stopped "
            "and this epoch's checkpoint was not written (last.pt holds the previous epoch); "
            "check these samples for non-finite or absurd values (or lower the learning rate)"
        )
    total_loss, total_correct, total = all_reduce_sums(
        [float(loss_sum), int(correct), seen], run.ctx
    )
    return total_loss / total, 100.0 * total_correct / total


def _batch_samples(ids: Any, dataset: Any) -> list[str]:
    """Names of a batch's samples from its ``sample_id`` tensor (their positions when the
    dataset has no names, or the batch no ids: then ``ids`` is the sample count)."""
    if isinstance(ids, int):
        return [f"#{i}" for i in range(ids)]
    source = getattr(dataset, "source", None)
    names = getattr(source, "names", None)
    if names is None and isinstance(source, list):
        names = [getattr(item, "name", None) for item in source]
    return [str(names[i]) if names is not None else f"#{i}" for i in ids.view(-1).tolist()]


def strict_json(record: dict[str, Any], indent: int | None = None) -> str:
    """``record`` as one line of strict JSON: a non-finite number, which JSON cannot hold, is
    written as the string ``"nan"``, ``"inf"`` or ``"-inf"``."""

    def encode(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [encode(v) for v in value]
        return value

    return json.dumps(encode(record), allow_nan=False, indent=indent)


def _bucket_lengths(dataset: Any) -> np.ndarray:
    """Frame counts to batch by (``train.bucket_by_length``); the dataset must expose them."""
    counts = getattr(dataset, "frame_counts", None)
    if counts is None:
        raise ValueError(
            f"train.bucket_by_length needs a skeleton dataset, not {type(dataset).__name__}"
        )
    return counts()


#: Steps between two updates of the progress bar's running loss (each one waits for the device).
PROGRESS_EVERY = 20

#: ``train.amp`` values and the autocast dtype each gives.
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast_dtype(amp: Any, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``train.amp`` on ``device`` (``None``: full precision).

    ``true`` is bfloat16 on a CUDA device that supports it (Ampere and later: no loss
    scaling, whose overflow check reads a flag back from the device every step), float16 with
    loss scaling on older ones, and full precision elsewhere; ``"bf16"`` is bfloat16 on any
    device; ``"fp16"`` is float16 and needs CUDA.
    """
    if amp is None or amp is False:
        return None
    if amp is True:
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if amp not in AMP_DTYPES:
        raise ValueError(f"train.amp must be true, false, 'bf16' or 'fp16', got {amp!r}")
    if amp == "fp16" and device.type != "cuda":
        raise ValueError("train.amp='fp16' needs a CUDA device; use 'bf16' on the CPU")
    return AMP_DTYPES[amp]


def _forward_backward(run: _Run, batch: Any, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward, summed loss and backward of the loss times ``scale`` (gradients all-reduced by
    DDP); returns the summed loss and the correct top-1 count, both detached."""
    summed, hits = loss_and_hits(run.model, run.criterion, batch, run.amp_dtype)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(summed * scale).backward()
    return summed.detach(), hits


def _average_of(run: _Run, epoch: int) -> WeightAverage | None:
    """The weight average if epoch ``epoch``'s steps update it (so it exists after that
    epoch), else ``None``."""
    return run.ema if epoch >= run.average_start else None


def _update(run: _Run, average: WeightAverage | None) -> None:
    """Optional clipping, then the optimiser, LR schedule and weight-average steps."""
    if run.grad_clip is not None:
        run.scaler.unscale_(run.optimizer)
        nn.utils.clip_grad_norm_(run.net.parameters(), run.grad_clip)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.scheduler.step()
    if average is not None:
        average.update_parameters(run.net)


def _evaluate(run: _Run, epoch: int) -> dict[str, float]:
    """Held-out metrics after epoch ``epoch`` over the whole test split (each rank predicts its
    contiguous shard)."""
    batches: Iterable[Any] = run.test_loader
    if run.device_test is not None:  # the loader's own shard and batch size
        shard, size = run.test_loader.sampler, run.test_loader.batch_size or 1
        batches = run.device_test.in_order(shard, size, epoch=0)
    if len(run.test_loader):
        logits, labels = predict_logits(inference_net(run, epoch), batches, run.ctx.device)
    else:  # fewer test samples than processes
        logits, labels = torch.empty(0, run.num_classes), torch.empty(0, dtype=torch.long)
    logits, labels = gather_rows(logits, run.ctx), gather_rows(labels, run.ctx)
    return _scalar_metrics(classification_metrics(logits, labels))


def inference_net(run: _Run, epoch: int) -> nn.Module:
    """The weights evaluated after epoch ``epoch``: their average once it is updated, else the
    trained ones."""
    average = _average_of(run, epoch)
    return run.net if average is None else averaged_module(average)


def _training_state(run: _Run, epoch: int) -> dict[str, Any]:
    """Model, optimiser and schedule state after epoch ``epoch`` (the sampler and
    augmentation are keyed by epoch).

    ``model`` holds the trained weights, ``ema`` (once the average is updated) the averaged
    ones; inference uses ``ema`` when present (:func:`~pyg_action.engine.inference.load_trained`).
    """
    state = {
        "model": run.net.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "scaler": run.scaler.state_dict(),
    }
    average = _average_of(run, epoch)
    if average is not None:
        state["ema"] = ema_state(average)
    return state


def _restore(run: _Run, state: dict[str, Any], path: Path) -> None:
    """Load :func:`_training_state` and this rank's random state from checkpoint ``path``."""
    load_weights(run.net, state["model"], path)
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    run.scaler.load_state_dict(state["scaler"])
    if run.ema is not None and "ema" in state:
        load_ema_state(run.ema, state["ema"])
    elif _average_of(run, int(state["epoch"])) is not None:
        raise ValueError(
            "the config averages the weights (train.ema_decay or train.swa_from) but the "
            "checkpoint resumed from has no average; resume with the config it was trained with"
        )
    ranks = state["rng"]
    _set_rng_state(ranks[run.ctx.rank] if len(ranks) == run.ctx.world_size else ranks[0])


def _rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """The torch random state this process draws from (dropout, image augmentation)."""
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(state["cpu"].cpu())
    if "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"].cpu())


def _write_text(path: Path, text: str) -> None:
    """Replace ``path`` atomically: a crash leaves the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
