"""Multi-stream late fusion: several trained models, one weighted vote.

Skeleton models trained on different views of the same sequences (joints, bones, and their
frame-to-frame motion) make partly independent mistakes. Late fusion combines their class
scores on each test sample:

.. math::

    s_n = \\sum_i w_i \\, \\sigma(z^{(i)}_n) \\qquad \\text{(``softmax`` fusion)}

    s_n = \\sum_i w_i \\, z^{(i)}_n \\qquad \\text{(``logits`` fusion)}

where :math:`z^{(i)}_n \\in \\mathbb{R}^K` are the logits of stream :math:`i` on sample
:math:`n` and :math:`\\sigma` the softmax. Softmax fusion is insensitive to each model's logit
scale; logit fusion is what most published multi-stream results used.

An ensemble spec (YAML) names each stream's training config and weight::

    fusion: softmax
    clips: 5          # optional: test-time clips per sequence (default 1)
    repeats: 2        # optional: trainings per stream, with different seeds (default 1)
    streams:
      - {name: joint, config: msr_stgcn_joint.yaml, weight: 0.6}
      - {name: bone,  config: msr_stgcn_bone.yaml,  weight: 0.6,
         set: ["model.dropout=0.5"]}     # optional: overrides for this stream only

Config paths are relative to the spec file. A stream's ``set`` list takes the same
``key=value`` assignments as ``--set`` and applies them before the command line's.
``clips`` averages each stream's logits over that many temporal samplings of every sequence
before fusing
(:func:`~pyg_action.engine.inference.checkpoint_logits`). ``repeats`` trains every stream
``R`` times, repeat :math:`r` with seed ``train.seed + 1000 r`` (folder ``<name>`` for
:math:`r = 0`, ``<name>-r<r>`` after), and fuses each repeat with weight :math:`w_i / R`: a
bagged stream keeps its share of the vote and its repeats' independent errors average out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import Tensor

from .config import load_config
from .inference import checkpoint_logits
from .metrics import classification_metrics

FUSIONS = ("softmax", "logits")
REPEAT_SEED_STEP = 1000  # repeat r of a stream trains with seed train.seed + 1000 r


@dataclass(frozen=True)
class Stream:
    """One member of an ensemble: a name, its weight, its training config file and the
    overrides (``key=value``) applied to that config for this stream."""

    name: str
    weight: float
    config: Path | None = None
    overrides: tuple[str, ...] = ()


@dataclass
class EnsembleSpec:
    """The parsed spec file: streams in order (the first is the reference), the fusion, the
    test-time clips per sequence and the trainings per stream."""

    streams: list[Stream]
    fusion: str = "softmax"
    clips: int = 1
    repeats: int = 1


def read_ensemble_spec(path: str | Path) -> EnsembleSpec:
    """Parse an ensemble spec file (see the module docstring).

    Raises:
        ValueError: unreadable file, no streams, a duplicate name, a missing config, a
            negative weight, an unknown fusion, a bad clip or repeat count or a ``set`` that
            is not a list of ``key=value`` strings — naming the file and the stream.
    """
    path = Path(path)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read ensemble spec {path}: {exc}") from exc
    entries = loaded.get("streams") if isinstance(loaded, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"ensemble spec {path}: needs a non-empty list 'streams'")
    fusion = check_fusion(str(loaded.get("fusion", "softmax")), f"ensemble spec {path}")
    clips, repeats = (_count(loaded, key, path) for key in ("clips", "repeats"))
    streams: list[Stream] = []
    for i, entry in enumerate(entries):
        where = f"ensemble spec {path}: stream {i + 1}"
        if not isinstance(entry, dict) or "config" not in entry:
            raise ValueError(f"{where}: expected a mapping with 'config' (and 'name', 'weight')")
        config = path.parent / str(entry["config"])
        if not config.is_file():
            raise ValueError(f"{where}: config {config} does not exist")
        name = str(entry.get("name", config.stem))
        weight = float(entry.get("weight", 1.0))
        if weight < 0:
            raise ValueError(f"{where} ({name}): weight must be >= 0, got {weight}")
        if any(s.name == name for s in streams):
            raise ValueError(f"{where}: stream name {name!r} is used twice")
        streams.append(Stream(name, weight, config, _stream_overrides(entry, f"{where} ({name})")))
    return EnsembleSpec(streams, fusion, clips, repeats)


def _stream_overrides(entry: dict[str, Any], where: str) -> tuple[str, ...]:
    assignments = entry.get("set", [])
    if not isinstance(assignments, list) or not all(
        isinstance(a, str) and "=" in a for a in assignments
    ):
        raise ValueError(f"{where}: set must be a list of 'key=value' strings, got {assignments!r}")
    return tuple(assignments)


def _count(loaded: dict[str, Any], key: str, path: Path) -> int:
    value = loaded.get(key, 1)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"ensemble spec {path}: {key} must be a whole number >= 1, got {value!r}")
    return value


def check_fusion(fusion: str, where: str = "ensemble") -> str:
    if fusion not in FUSIONS:
        raise ValueError(f"{where}: fusion must be one of {FUSIONS}, got {fusion!r}")
    return fusion


def fuse_scores(logits: Sequence[Tensor], weights: Sequence[float], fusion: str) -> Tensor:
    """Weighted sum of per-stream scores: ``(N, K)`` from ``S`` tensors of ``(N, K)``."""
    check_fusion(fusion)
    if len(logits) != len(weights) or not logits:
        raise ValueError(f"fuse_scores: {len(logits)} score sets but {len(weights)} weights")
    scores = [z.float().softmax(dim=1) if fusion == "softmax" else z.float() for z in logits]
    return sum((w * s for w, s in zip(weights, scores, strict=True)), torch.zeros_like(scores[0]))


def accuracy_summary(logits: Tensor, labels: Tensor) -> dict[str, float]:
    """Top-1, top-5 and mean-class accuracy (%) of ``logits (N, K)``, rounded to 4 digits."""
    return _rounded(classification_metrics(logits, labels))


def _rounded(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: round(float(metrics[k]), 4) for k in ("top1", "top5", "mean_class")}


def evaluate_ensemble(
    members: Sequence[tuple[Stream, Path]],
    fusion: str = "softmax",
    data_root: str | Path | None = None,
    split: str = "test",
    device: str = "cpu",
    clips: int = 1,
) -> dict[str, Any]:
    """Each member's metrics and the fused metrics on one split.

    ``members`` pairs each stream with its checkpoint. Every checkpoint is run with its own
    data options (``data_root``, when given, replaces only their ``root``) and test-time
    transforms (averaged over ``clips`` temporal samplings, see
    :func:`~pyg_action.engine.inference.checkpoint_logits`); all must see the same samples in
    the same order (checked on the labels and class names).

    Returns:
        ``{"streams": [{name, weight, checkpoint, top1, top5, mean_class}, ...],
        "fused": {top1, top5, mean_class}, "gain_over_first": top-1 points, "fusion",
        "num_samples", "class_names", "confusion"}``.
    """
    rows: list[dict[str, Any]] = []
    all_logits: list[Tensor] = []
    reference: tuple[Tensor, list[str]] | None = None
    for stream, checkpoint in members:
        logits, labels, state, _ = checkpoint_logits(checkpoint, data_root, split, device, clips)
        names = list(state["class_names"])
        if reference is None:
            reference = (labels, names)
        elif names != reference[1] or not torch.equal(labels, reference[0]):
            raise ValueError(
                f"stream {stream.name!r} ({checkpoint}) does not see the same {split} samples "
                f"as stream {members[0][0].name!r}: check that every stream uses the same data"
            )
        all_logits.append(logits)
        rows.append(
            {
                "name": stream.name,
                "weight": stream.weight,
                "checkpoint": str(checkpoint),
                **accuracy_summary(logits, labels),
            }
        )
    assert reference is not None
    fused = fuse_scores(all_logits, [s.weight for s, _ in members], fusion)
    metrics = classification_metrics(fused, reference[0])
    return {
        "streams": rows,
        "fused": _rounded(metrics),
        "gain_over_first": round(float(metrics["top1"]) - float(rows[0]["top1"]), 4),
        "fusion": fusion,
        "num_samples": int(reference[0].numel()),
        "class_names": reference[1],
        "confusion": metrics["confusion"],
    }


def train_streams(
    spec: EnsembleSpec,
    out_dir: str | Path,
    overrides: Iterable[str] = (),
    device: str = "cpu",
    progress: bool = True,
) -> list[tuple[Stream, Path]]:
    """Train every stream of ``spec`` into ``out_dir/<name>`` and return the checkpoints.

    With ``spec.repeats`` R > 1 every stream is trained R times (see the module docstring):
    the members are ``<name>``, ``<name>-r1``, ..., each weighted ``weight / R``.

    A run folder that already holds a finished run of the same config
    (``result.json``) is reused; an interrupted one is resumed from its ``last.pt``. The
    final epoch's weights (``last.pt``) are fused, so no choice is made on the test split.

    Raises:
        ValueError: a stream folder holds a run of a different config.
    """
    from .trainer import train

    members = []
    for stream, repeat in ((s, r) for s in spec.streams for r in range(spec.repeats)):
        assert stream.config is not None
        name = stream.name if repeat == 0 else f"{stream.name}-r{repeat}"
        folder = Path(out_dir) / name
        assignments = [*stream.overrides, *overrides]
        config = load_config(stream.config, assignments)
        config["train"]["seed"] = int(config["train"]["seed"]) + REPEAT_SEED_STEP * repeat
        previous = folder / "config.json"
        if previous.is_file() and json.loads(previous.read_text()) != json.loads(
            json.dumps(config)
        ):
            raise ValueError(
                f"{folder} holds a run of another config than {stream.config} with "
                f"{assignments or 'no overrides'}: choose another output folder"
            )
        if not (folder / "result.json").is_file():
            train(config, folder, device=device, resume=True, progress=progress)
        members.append(
            (
                Stream(name, stream.weight / spec.repeats, stream.config, stream.overrides),
                folder / "last.pt",
            )
        )
    return members
