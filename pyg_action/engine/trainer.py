"""The training engine behind ``pyg-action train``.

One function, :func:`train`, runs a config: builds the datasets and the model from the
registries, trains with progress bars, evaluates every epoch, writes a JSON-lines log
(``log.jsonl``; TensorBoard too when installed), atomic checkpoints (``last.pt`` every epoch,
``best.pt`` on improvement) and resumes from ``last.pt``.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch_geometric.loader import DataLoader
from tqdm.auto import tqdm

from ..data.registry import DatasetInfo, build_dataset
from ..models import create_model
from .checkpoint import load_checkpoint, save_checkpoint
from .metrics import classification_metrics
from .schedule import build_optimizer, build_scheduler

GRAPH_MODEL_KEYS = ("strategy", "max_hop", "dilation")


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
    info = build_dataset(name, split, graph=config["graph"], **data)
    if len(info.dataset) == 0:
        raise ValueError(
            f"dataset {name!r}: split {split!r} is empty; check the data options {data}"
        )
    return info


def build_model_for(config: dict[str, Any], info: DatasetInfo) -> nn.Module:
    """The configured model sized for ``info`` (graph options shared with the data)."""
    options = dict(config["model"])
    name = options.pop("name")
    if info.layout is not None:
        options.setdefault("layout", info.layout)
        for key in GRAPH_MODEL_KEYS:
            options.setdefault(key, config["graph"][key])
        options.setdefault("kernel_size", config["graph"]["temporal_window"])
    return create_model(name, num_classes=info.num_classes, in_channels=info.in_channels, **options)


@torch.no_grad()
def predict_logits(
    model: nn.Module, loader: DataLoader, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and labels of every sample in ``loader`` (eval mode)."""
    model.eval()
    logits, labels = [], []
    for batch in loader:
        batch = batch.to(device)
        logits.append(model(batch).float().cpu())
        labels.append(batch.y.cpu())
    return torch.cat(logits), torch.cat(labels)


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
) -> TrainResult:
    """Train ``config`` and write logs and checkpoints into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    opts = config["train"]
    seed_everything(int(opts["seed"]))
    dev = torch.device(device)
    train_info = load_split(config, "train")
    test_info = load_split(config, "test")
    model = build_model_for(config, train_info).to(dev)
    generator = torch.Generator().manual_seed(int(opts["seed"]))
    train_loader = DataLoader(
        train_info.dataset, batch_size=int(opts["batch_size"]), shuffle=True, generator=generator
    )
    test_loader = DataLoader(test_info.dataset, batch_size=int(opts["eval_batch_size"]))
    epochs = int(opts["epochs"])
    optimizer = build_optimizer(model, opts["optimizer"])
    scheduler = build_scheduler(optimizer, opts["scheduler"], epochs, len(train_loader))
    use_amp = bool(opts.get("amp")) and dev.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    criterion = nn.CrossEntropyLoss(label_smoothing=float(opts.get("label_smoothing", 0.0)))
    start_epoch, best = 0, {"top1": -1.0}
    if resume and (out_dir / "last.pt").exists():
        state = load_checkpoint(out_dir / "last.pt", map_location=dev)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["loader_rng"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch, best = int(state["epoch"]) + 1, dict(state["best"])
    meta = {
        "config": config,
        "class_names": train_info.class_names,
        "layout": train_info.layout,
        "in_channels": train_info.in_channels,
        "num_classes": train_info.num_classes,
        "synthetic": train_info.synthetic,
    }
    (out_dir / "config.json").write_text(json.dumps(config, indent=2))
    writer = _tensorboard(out_dir)
    final: dict[str, float] = {}
    for epoch in range(start_epoch, epochs):
        model.train()
        started = time.perf_counter()
        loss_sum, correct, seen = 0.0, 0, 0
        bar = tqdm(
            train_loader, desc=f"epoch {epoch + 1}/{epochs}", disable=not progress, leave=False
        )
        for batch in bar:
            batch = batch.to(dev)
            with torch.autocast(dev.type, enabled=use_amp):
                logits = model(batch)
                loss = criterion(logits.float(), batch.y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if opts.get("grad_clip"):
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), float(opts["grad_clip"]))
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            size = int(batch.y.numel())
            loss_sum += float(loss.detach()) * size
            correct += int((logits.argmax(1) == batch.y).sum())
            seen += size
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}")
        logits, labels = predict_logits(model, test_loader, dev)
        final = _scalar_metrics(classification_metrics(logits, labels))
        record = {
            "epoch": epoch + 1,
            "lr": optimizer.param_groups[0]["lr"],
            "train_loss": loss_sum / seen,
            "train_top1": 100.0 * correct / seen,
            **{f"test_{k}": v for k, v in final.items()},
            "seconds": round(time.perf_counter() - started, 2),
        }
        with open(out_dir / "log.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        if writer is not None:
            for key, value in record.items():
                writer.add_scalar(key, value, epoch + 1)
        if progress:
            tqdm.write(
                f"epoch {epoch + 1}/{epochs}  loss {record['train_loss']:.3f}  "
                f"train {record['train_top1']:.1f}%  test top-1 {final['top1']:.2f}%"
            )
        improved = final["top1"] > best["top1"]
        if improved:
            best = {**final, "epoch": epoch + 1}
        state = {
            **meta,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "loader_rng": generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "epoch": epoch,
            "best": best,
            "metrics": final,
        }
        if improved:
            save_checkpoint(out_dir / "best.pt", state)
        save_checkpoint(out_dir / "last.pt", state)
    if writer is not None:
        writer.close()
    if not final:  # resumed a finished run
        final = dict(load_checkpoint(out_dir / "last.pt")["metrics"])
    summary = {"final": final, "best": best, "synthetic": train_info.synthetic}
    (out_dir / "result.json").write_text(json.dumps(summary, indent=2))
    return TrainResult(final, best, out_dir, train_info.synthetic)
