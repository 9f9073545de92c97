"""The per-operator and per-model rows of ``pyg-action benchmark``.

Skeleton operators and models run on every selected skeleton shape, image ones on every
selected image shape (the family's default preset when none is selected). Each comparison is
built, measured (:func:`~pyg_action.bench.compare.measure`) and dropped before the next, so
only one comparison's tensors are alive at a time.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .compare import Comparison, measure
from .models import IMAGE_MODELS, SKELETON_MODELS
from .operators import IMAGE_OPERATORS, SKELETON_OPERATORS
from .shapes import (
    PRESETS,
    Shape,
    image_inputs,
    quick,
    sample_lengths,
    skeleton_inputs,
)

OPERATORS = (*SKELETON_OPERATORS, *IMAGE_OPERATORS)
MODELS = (*SKELETON_MODELS, *IMAGE_MODELS)
#: ``--dtype`` choices: the inputs' dtype, or (``bfloat16``, ``float16``) fp32 inputs and
#: parameters under autocast to that dtype, which is how people train in mixed precision.
DTYPES = {"float32": torch.float32, "float64": torch.float64}
AUTOCAST = {"bfloat16": torch.bfloat16, "float16": torch.float16}
FAMILY_DEFAULTS = {"skeleton": "ntu25-T100", "image": "vig-14x14"}


@dataclass
class Settings:
    """What one run measures and how.

    Attributes:
        operators: Operator names (see :data:`OPERATORS`).
        models: Model names (see :data:`MODELS`).
        shapes: Preset names (see :data:`~pyg_action.bench.shapes.PRESETS`).
        quick: Shrink every shape and model (:func:`~pyg_action.bench.shapes.quick`).
        dtype: ``"float32"``, ``"float64"``, or ``"bfloat16"`` / ``"float16"`` autocast.
        device: ``"cpu"`` or ``"cuda"``.
        warmup: Untimed rounds.
        repeats: Timed rounds.
        msr_root: MSR Action3D folder (lengths of the ``msr20-real`` preset, which needs it).
        memory: Measure peak memory.
        variants: Sparse variants to time (``block``, ``message``, ``gather``; empty: all).
    """

    operators: Sequence[str]
    models: Sequence[str]
    shapes: Sequence[str]
    quick: bool = False
    dtype: str = "float32"
    device: str = "cpu"
    warmup: int = 1
    repeats: int = 5
    msr_root: str | Path | None = None
    memory: bool = True
    variants: Sequence[str] = ()


def _shapes(settings: Settings, family: str) -> list[Shape]:
    names = [n for n in settings.shapes if PRESETS[n].family == family]
    chosen = [PRESETS[n] for n in names or [FAMILY_DEFAULTS[family]]]
    return [quick(s) for s in chosen] if settings.quick else chosen


def _describe(shape: Shape, lengths: list[int] | None, channels: int) -> dict[str, Any]:
    info: dict[str, Any] = {"shape": shape.name, "batch_size": shape.batch_size}
    if lengths is None:
        info.update(grid=shape.grid, channels=channels)
    else:
        info.update(
            layout=shape.layout,
            persons=shape.persons,
            frames_mean=sum(lengths) / len(lengths),
            frames_max=max(lengths),
            channels=channels,
        )
    return info


def _measured(
    build: Callable[..., Comparison], args: tuple, settings: Settings, info: dict[str, Any]
) -> list[dict[str, Any]]:
    comparison = build(*args)
    if settings.variants:
        kept = {k: f for k, f in comparison.sparse.items() if k in settings.variants}
        if not kept:
            return []
        comparison.sparse = kept
    device = torch.device(settings.device)
    low = AUTOCAST.get(settings.dtype)
    with torch.autocast(device.type, dtype=low or torch.float32, enabled=low is not None):
        rows = measure(comparison, settings.warmup, settings.repeats, device, settings.memory)
    del comparison
    gc.collect()
    return [{**row, **info, "dtype": settings.dtype, "device": settings.device} for row in rows]


def run(settings: Settings) -> list[dict[str, Any]]:
    """Rows of every selected operator and model on every applicable shape."""
    dtype, device = DTYPES.get(settings.dtype, torch.float32), settings.device
    rows: list[dict[str, Any]] = []
    skeleton_ops = [n for n in settings.operators if n in SKELETON_OPERATORS]
    skeleton_models = [n for n in settings.models if n in SKELETON_MODELS]
    if skeleton_ops or skeleton_models:
        for shape in _shapes(settings, "skeleton"):
            lengths = sample_lengths(shape, settings.msr_root)
            inputs = skeleton_inputs(shape, shape.channels, lengths, dtype, device)
            info = _describe(shape, lengths, shape.channels)
            for name in skeleton_ops:
                rows += _measured(
                    SKELETON_OPERATORS[name], (inputs, shape.channels), settings, info
                )
            raw = skeleton_inputs(shape, 3, lengths, dtype, device)
            info = {
                **_describe(shape, lengths, 3),
                "width": "narrow" if settings.quick else "paper",
            }
            for name in skeleton_models:
                args = (raw, settings.quick, shape.real_lengths)
                rows += _measured(SKELETON_MODELS[name], args, settings, info)
    image_ops = [n for n in settings.operators if n in IMAGE_OPERATORS]
    image_models = [n for n in settings.models if n in IMAGE_MODELS]
    if image_ops or image_models:
        for shape in _shapes(settings, "image"):
            inputs_i = image_inputs(shape, shape.channels, dtype, device)
            info = _describe(shape, None, shape.channels)
            for name in image_ops:
                rows += _measured(IMAGE_OPERATORS[name], (inputs_i, shape.channels), settings, info)
            for name in image_models:
                rows += _measured(IMAGE_MODELS[name], (inputs_i, settings.quick), settings, info)
    return rows
