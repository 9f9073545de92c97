"""Skeleton layouts as plain data: joint names, bones and a centre joint.

A layout is the single source of truth for a skeleton. Partitions
(:mod:`pyg_action.layouts.partitions`), the bone stream and the plots all derive
from it; bones are stored undirected and oriented towards the centre on demand.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SkeletonLayout:
    """A skeleton: ``V`` named joints joined by undirected bones.

    Args:
        name: Registry name, e.g. ``"ntu25"``.
        joints: Joint names, in the order the data stores them (length ``V``).
        bones: Pairs ``(a, b)`` of 0-based joint indices; the graph must be connected.
        center: 0-based index of the centre joint (the root of the spatial-configuration
            partition and of the bone orientation).
        description: Free text shown by ``pyg-action layouts``.
    """

    name: str
    joints: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]
    center: int
    description: str = ""
    _parents: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        num = len(self.joints)
        if num == 0:
            raise ValueError(f"layout {self.name!r}: no joints")
        if len(set(self.joints)) != num:
            raise ValueError(f"layout {self.name!r}: joint names are not unique")
        if not 0 <= self.center < num:
            raise ValueError(f"layout {self.name!r}: centre {self.center} outside 0..{num - 1}")
        seen = set()
        for a, b in self.bones:
            if not (0 <= a < num and 0 <= b < num) or a == b:
                raise ValueError(f"layout {self.name!r}: bad bone ({a}, {b}) for {num} joints")
            key = (min(a, b), max(a, b))
            if key in seen:
                raise ValueError(f"layout {self.name!r}: bone ({a}, {b}) listed twice")
            seen.add(key)
        object.__setattr__(self, "_parents", self._orient())

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def _orient(self) -> tuple[int, ...]:
        """Breadth-first search from the centre; the centre is its own parent."""
        adjacency: list[list[int]] = [[] for _ in self.joints]
        for a, b in self.bones:
            adjacency[a].append(b)
            adjacency[b].append(a)
        parent = [-1] * self.num_joints
        parent[self.center] = self.center
        queue = deque([self.center])
        while queue:
            node = queue.popleft()
            for nxt in adjacency[node]:
                if parent[nxt] == -1:
                    parent[nxt] = node
                    queue.append(nxt)
        missing = [self.joints[i] for i, p in enumerate(parent) if p == -1]
        if missing:
            raise ValueError(f"layout {self.name!r}: joints not connected to the centre: {missing}")
        return tuple(parent)

    @property
    def parents(self) -> tuple[int, ...]:
        """Parent of each joint on the way to the centre (the centre maps to itself)."""
        return self._parents

    def inward_bones(self) -> list[tuple[int, int]]:
        """Bones as ``(child, parent)`` pairs, child farther from the centre."""
        return [(j, p) for j, p in enumerate(self._parents) if j != p]

    def joint_index(self, name_or_index: str | int) -> int:
        if isinstance(name_or_index, int):
            if not 0 <= name_or_index < self.num_joints:
                raise ValueError(f"layout {self.name!r} has no joint {name_or_index}")
            return name_or_index
        try:
            return self.joints.index(name_or_index)
        except ValueError:
            raise ValueError(
                f"layout {self.name!r} has no joint {name_or_index!r}; joints: {list(self.joints)}"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "joints": list(self.joints),
            "bones": [list(b) for b in self.bones],
            "center": self.joints[self.center],
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> SkeletonLayout:
        """Build a layout from ``{name, joints, bones, center}``.

        Bones may name joints or give 0-based indices; ``center`` likewise.
        """
        missing = {"name", "joints", "bones", "center"} - set(spec)
        if missing:
            raise ValueError(f"layout spec lacks {sorted(missing)}")
        joints = tuple(str(j) for j in spec["joints"])

        def resolve(ref: str | int) -> int:
            if isinstance(ref, str):
                if ref not in joints:
                    raise ValueError(f"layout spec names unknown joint {ref!r}")
                return joints.index(ref)
            return int(ref)

        bones = tuple((resolve(a), resolve(b)) for a, b in spec["bones"])
        return cls(
            name=str(spec["name"]),
            joints=joints,
            bones=bones,
            center=resolve(spec["center"]),
            description=str(spec.get("description", "")),
        )

    @classmethod
    def from_file(cls, path: str | Path) -> SkeletonLayout:
        """Read a layout from a ``.json``, ``.yaml`` or ``.yml`` file."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix.lower() in {".yaml", ".yml"}:
                import yaml

                spec = yaml.safe_load(text)
            else:
                spec = json.loads(text)
        except Exception as exc:  # noqa: BLE001 - re-raised with the file name
            raise ValueError(f"{path}: cannot parse layout file: {exc}") from exc
        if not isinstance(spec, Mapping):
            raise ValueError(f"{path}: a layout file holds a mapping, got {type(spec).__name__}")
        try:
            return cls.from_dict(spec)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    def bone_array(self, joints: np.ndarray, axis: int = -2) -> np.ndarray:
        """Bone stream: each joint minus its parent along ``axis`` (the centre gets zero)."""
        parents = np.asarray(self._parents)
        return joints - np.take(joints, parents, axis=axis)


def _one_based(pairs: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    return tuple((a - 1, b - 1) for a, b in pairs)
