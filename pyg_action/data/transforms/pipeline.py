"""Pipelines: :class:`Compose`, and building transforms from config specs by name."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ...layouts import LayoutLike, get_layout
from ...sequence import SkeletonSequence
from .base import (
    TRANSFORMS,
    Transform,
)


class Compose(Transform):
    """Apply transforms in order.

    ``Compose(...)(x, rng)`` takes a ``(C, T, V, M)`` array (returns an array) or a
    :class:`SkeletonSequence` (returns a copy with the new data). Without ``rng`` a fresh,
    unseeded generator is used.
    """

    def __init__(self, transforms: Iterable[Callable[..., np.ndarray]] = ()) -> None:
        self.transforms = list(transforms)

    def __call__(self, x: Any, rng: np.random.Generator | None = None) -> Any:
        rng = np.random.default_rng() if rng is None else rng
        if isinstance(x, SkeletonSequence):
            return replace(x, data=self(x.data, rng), meta=dict(x.meta))
        out = np.asarray(x, dtype=np.float32)
        for transform in self.transforms:
            out = transform(out, rng)
        return np.ascontiguousarray(out, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.transforms)

    def split(self) -> tuple[Compose, Compose]:
        """The leading steps whose output depends on the input alone, and the rest:
        ``rest(head(x), rng)`` is ``self(x, rng)``, with the same draws from ``rng``, so the
        head's output can be computed once per sample and kept."""
        count = 0
        while count < len(self.transforms) and getattr(
            self.transforms[count], "deterministic", False
        ):
            count += 1
        return Compose(self.transforms[:count]), Compose(self.transforms[count:])

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


def _transform_class(
    spec: str | Mapping[str, Any],
) -> tuple[str, type[Transform], dict[str, Any]]:
    """The name, registered class and options of one step, checked."""
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or "name" not in spec:
        raise ValueError(f"a transform is a name or a mapping with a 'name' key, got {spec!r}")
    name = spec["name"]
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}; registered: {sorted(TRANSFORMS)}")
    cls = TRANSFORMS[name]
    options = {k: v for k, v in spec.items() if k != "name"}
    accepted = [
        p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "layout")
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"transform {name!r} got unknown option(s) {unknown}; options: {accepted}")
    return name, cls, options


def build_transform(spec: str | Mapping[str, Any], layout: LayoutLike | None = None) -> Transform:
    """One transform from ``"name"`` or ``{"name": ..., **options}``."""
    name, cls, options = _transform_class(spec)
    if cls.needs_layout:
        if layout is None:
            raise ValueError(f"transform {name!r} needs a skeleton layout")
        return cls(get_layout(layout), **options)  # type: ignore[call-arg]
    return cls(**options)


def check_transform(spec: str | Mapping[str, Any]) -> None:
    """Check one step without the data: its name and options, and its values by building it
    (a step that needs the skeleton layout is checked by name and options only).

    Raises:
        ValueError: An unknown transform or option, or a value its class refuses.
    """
    name, cls, options = _transform_class(spec)
    if not cls.needs_layout:
        try:
            cls(**options)
        except TypeError as exc:  # e.g. a number where a list is expected
            raise ValueError(f"transform {name!r}: {exc}") from None


def build_transforms(
    specs: Iterable[str | Mapping[str, Any] | Transform] | Compose | None,
    layout: LayoutLike | None = None,
) -> Compose:
    """A :class:`Compose` from config steps (names, mappings or ready transforms)."""
    if isinstance(specs, Compose):
        return specs
    if specs is None:
        return Compose([])
    if isinstance(specs, str | Mapping):
        specs = [specs]
    steps = []
    for spec in specs:
        steps.append(spec if callable(spec) else build_transform(spec, layout))
    return Compose(steps)


def describe_transforms() -> dict[str, str]:
    """``{name: first docstring line}`` of every registered transform."""
    return {
        name: (cls.__doc__ or "").strip().splitlines()[0]
        for name, cls in sorted(TRANSFORMS.items())
    }
