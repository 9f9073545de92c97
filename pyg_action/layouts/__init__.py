"""Skeleton layouts and the ST-GCN partition strategies derived from them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .builtin import BUILTIN_LAYOUTS, COCO17, MSR20, NTU25, OPENPOSE18
from .layout import SkeletonLayout
from .partitions import (
    STRATEGIES,
    LayoutGraph,
    adjacency_tensor,
    gravity_partition_labels,
    hop_distance,
    layout_graph,
)

LayoutLike = str | Path | Mapping[str, Any] | SkeletonLayout


def get_layout(spec: LayoutLike) -> SkeletonLayout:
    """Resolve a built-in name, a YAML/JSON file, a dict or a layout to a layout."""
    if isinstance(spec, SkeletonLayout):
        return spec
    if isinstance(spec, Mapping):
        return SkeletonLayout.from_dict(spec)
    text = str(spec)
    if text in BUILTIN_LAYOUTS:
        return BUILTIN_LAYOUTS[text]
    path = Path(text)
    if path.suffix.lower() in {".json", ".yaml", ".yml"}:
        if not path.exists():
            raise FileNotFoundError(f"layout file {path} does not exist")
        return SkeletonLayout.from_file(path)
    raise ValueError(f"unknown layout {text!r}; built-in layouts: {sorted(BUILTIN_LAYOUTS)}")


__all__ = [
    "BUILTIN_LAYOUTS",
    "COCO17",
    "MSR20",
    "NTU25",
    "OPENPOSE18",
    "STRATEGIES",
    "LayoutGraph",
    "LayoutLike",
    "SkeletonLayout",
    "adjacency_tensor",
    "get_layout",
    "gravity_partition_labels",
    "hop_distance",
    "layout_graph",
]
