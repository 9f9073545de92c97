"""Using a trained checkpoint: rebuild its model, evaluate a split, predict files."""

from __future__ import annotations

import copy
import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch_geometric.loader import DataLoader

from ..data.registry import DataFacts, DatasetInfo
from ..graph import SkeletonGraphBuilder
from ..layouts import SkeletonLayout, get_layout
from ..sequence import SkeletonSequence
from .checkpoint import load_checkpoint, load_weights
from .metrics import classification_metrics
from .schema import validate_config
from .trainer import build_model_for, load_split, predict_logits


def load_trained(path: str | Path, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """The model of a checkpoint (eval mode) and the checkpoint's metadata.

    The embedded config is checked against the schema first and the metadata (classes, layout,
    channels) for type and agreement; a model that does not take the stored weights is an error
    naming the checkpoint and the mismatching key.
    """
    state = load_checkpoint(path, map_location=device)
    validate_config(state.get("config"), f"checkpoint {path}: its config")
    try:
        model = build_model_for(state["config"], checkpoint_facts(state)).to(device)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"checkpoint {path}: its model cannot be built: {exc}") from exc
    # a run with train.ema_decay is evaluated (and so selected) with its averaged weights
    ema = state.get("ema")
    weights = ema.get("weights") if isinstance(ema, dict) else state["model"]
    load_weights(model, weights, path)
    model.eval()
    return model, state


def checkpoint_facts(state: dict[str, Any]) -> DataFacts:
    """What a checkpoint's model was built for, checked for type and agreement."""
    missing = [k for k in ("num_classes", "in_channels", "class_names", "layout") if k not in state]
    if missing:
        raise KeyError(f"it lacks {missing}")
    counts = {key: state[key] for key in ("num_classes", "in_channels")}
    for key, value in counts.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise TypeError(f"{key} must be a positive integer, got {value!r}")
    names = state["class_names"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"class_names must be a list of strings, got {type(names).__name__}")
    if len(names) != counts["num_classes"]:
        raise ValueError(f"{len(names)} class_names for num_classes {counts['num_classes']}")
    if state["layout"] is not None and not isinstance(state["layout"], str):
        raise TypeError(f"layout must be a layout name, got {type(state['layout']).__name__}")
    return DataFacts(counts["num_classes"], counts["in_channels"], tuple(names), state["layout"])


def checkpoint_logits(
    path: str | Path,
    data_root: str | Path | None = None,
    split: str = "test",
    device: str = "cpu",
    clips: int = 1,
) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any], DatasetInfo]:
    """Logits ``(N, K)`` and labels ``(N,)`` of a checkpoint's model on a split.

    ``data_root`` replaces the ``root`` of the checkpoint's data section (the same data
    elsewhere); the split is always prepared with the checkpoint's own data options and
    test-time transforms. Also returns the checkpoint's metadata and the split.

    With ``clips > 1`` the logits are the mean over ``clips`` temporal samplings of every
    sequence (test-time multi-clip averaging, as pyskl's ``num_clips``): the test transforms'
    centred clip, and ``clips - 1`` clips whose ``uniform_sample`` step picks a random frame in
    each segment, drawn from generators keyed by (seed, clip, sample) with the dataset's
    augmentation seed or 0, so results repeat exactly in any process.
    """
    if clips < 1:
        raise ValueError(f"clips must be >= 1, got {clips}")
    model, state = load_trained(path, device)
    config = copy.deepcopy(state["config"])
    if data_root is not None:
        config["data"]["root"] = str(data_root)
    try:
        info = load_split(config, split)
    except ValueError as exc:
        raise ValueError(f"{path}: its data section: {exc}") from exc
    batch_size = int(config["train"]["eval_batch_size"])
    logits, labels = predict_logits(
        model, DataLoader(info.dataset, batch_size=batch_size), torch.device(device)
    )
    if clips > 1:
        steps = random_clip_steps(config)
        with_transforms = getattr(info.dataset, "with_transforms", None)
        if with_transforms is None:
            raise ValueError(f"dataset {config['data']['name']!r} cannot draw random clips")
        clip_dataset = with_transforms(steps)  # the split already read, random sampling
        for clip in range(1, clips):
            with torch.random.fork_rng():  # key the clips by seed 0 unless the data names one
                torch.manual_seed(0)
                clip_dataset.set_epoch(clip)
            more, same = predict_logits(
                model, DataLoader(clip_dataset, batch_size=batch_size), torch.device(device)
            )
            assert torch.equal(same, labels), "a clip saw other samples than the centred one"
            logits = logits + more
        logits = logits / clips
    return logits, labels, state, info


def random_clip_steps(config: dict[str, Any]) -> list[Any]:
    """The test transform steps with every ``uniform_sample`` step in random mode.

    Raises:
        ValueError: when the test transforms have no ``uniform_sample`` step.
    """
    steps = copy.deepcopy(list(test_steps(config)))
    found = False
    for i, step in enumerate(steps):
        name = step if isinstance(step, str) else step.get("name")
        if name == "uniform_sample":
            steps[i] = {**({} if isinstance(step, str) else step), "name": name, "mode": "train"}
            found = True
    if not found:
        raise ValueError(
            "clips > 1 needs a uniform_sample step in the test transforms "
            f"(they are {steps}): there is no temporal sampling to vary"
        )
    return steps


def evaluate_checkpoint(
    path: str | Path,
    data_root: str | Path | None = None,
    split: str = "test",
    device: str = "cpu",
    clips: int = 1,
) -> dict[str, Any]:
    """Top-1, top-5, mean-class accuracy, per-class accuracy and confusion on a split
    (``clips``: see :func:`checkpoint_logits`)."""
    logits, labels, state, info = checkpoint_logits(path, data_root, split, device, clips)
    metrics: dict[str, Any] = dict(classification_metrics(logits, labels))
    metrics["class_names"] = state["class_names"]
    metrics["synthetic"] = info.synthetic
    metrics["num_samples"] = int(labels.numel())
    metrics["logits"] = logits
    metrics["labels"] = labels
    metrics["names"] = sample_names(info)
    return metrics


def sample_names(info: DatasetInfo) -> list[str]:
    """Names of the split's samples in loader order (their indices where it has none)."""
    names = getattr(info.dataset, "names", None)
    if names is None:
        return [str(i) for i in range(len(info.dataset))]
    return [str(name) for name in names]


def write_per_class_csv(metrics: dict[str, Any], path: str | Path) -> None:
    confusion = metrics["confusion"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["class", "name", "samples", "correct", "accuracy_percent"])
        for i, name in enumerate(metrics["class_names"]):
            writer.writerow(
                [
                    i,
                    name,
                    int(confusion[i].sum()),
                    int(confusion[i, i]),
                    f"{metrics['per_class'][i]:.2f}",
                ]
            )


def prepared_arrays(
    config: dict[str, Any],
    layout: SkeletonLayout,
    in_channels: int,
    sequences: list[SkeletonSequence],
) -> list[np.ndarray]:
    """Each sequence's ``(C, T, V, M)`` float32 array after the test-time transforms of ``config``.

    Raises:
        ValueError: when a sequence's joints or channels do not match the model.
    """
    transform = test_transform(config, layout)
    arrays = []
    for seq in sequences:
        if seq.num_joints != layout.num_joints:
            raise ValueError(
                f"{seq.name}: {seq.num_joints} joints ({seq.layout or 'unknown layout'}) but the "
                f"model was trained on layout {layout.name!r} with {layout.num_joints} joints"
            )
        data = transform(seq.data) if transform is not None else seq.data
        if data.shape[0] != in_channels:
            raise ValueError(
                f"{seq.name}: {data.shape[0]} channels after the test transforms, the model "
                f"expects {in_channels}"
            )
        arrays.append(np.ascontiguousarray(data, dtype=np.float32))
    return arrays


def sample_batch(state: dict[str, Any], sequences: list[SkeletonSequence]):
    """One batch of ``sequences`` prepared as the checkpoint's test data was.

    Raises:
        ValueError: when a sequence's joints or channels do not match the model.
    """
    config = state["config"]
    layout = get_layout(state["layout"])
    builder = SkeletonGraphBuilder(layout, **{"edges": False, **config["graph"]})
    arrays = prepared_arrays(config, layout, int(state["in_channels"]), sequences)
    graphs = [builder(array) for array in arrays]
    return next(iter(DataLoader(graphs, batch_size=len(graphs))))


def rank_classes(
    logits: torch.Tensor, names: list[str], top: int = 5
) -> list[list[tuple[str, float]]]:
    """Top-``top`` (class name, softmax probability) of each row of ``logits`` ``(B, K)``."""
    probs = torch.softmax(logits.float(), dim=1).cpu()
    values, index = probs.topk(min(top, probs.shape[1]), dim=1)
    return [
        [(names[int(i)], float(p)) for p, i in zip(vs, ix, strict=True)]
        for vs, ix in zip(values, index, strict=True)
    ]


def predict_sequences(
    model: nn.Module, state: dict[str, Any], sequences: list[SkeletonSequence], top: int = 5
) -> list[list[tuple[str, float]]]:
    """Top-``top`` (class name, probability) for each sequence (see :func:`sample_batch`)."""
    device = next(model.parameters()).device
    batch = sample_batch(state, sequences).to(device)
    with torch.no_grad():
        logits = model(batch)
    return rank_classes(logits, state["class_names"], top)


def test_steps(config: dict[str, Any]) -> Any:
    """The dataset's test-time transform steps (its own, or its dataset's default)."""
    from ..data.datasets import DEFAULT_TRANSFORMS, pick_transforms

    default = DEFAULT_TRANSFORMS.get(config["data"]["name"], {"test": []})
    return pick_transforms(config["data"].get("transforms"), "test", default)


def test_transform(config: dict[str, Any], layout):
    """The dataset's deterministic test-time transform pipeline, or ``None``."""
    from ..data.transforms import build_transforms

    steps = test_steps(config)
    if not steps:
        return None
    pipeline = build_transforms(steps, layout=layout)
    rng = np.random.default_rng(0)
    return lambda array: pipeline(array, rng)
