"""Model registry: ``--model NAME`` on the command line is a lookup here.

Register a builder with :func:`register_model`; it receives the dataset facts
(``num_classes``, ``in_channels`` and, for skeleton models, ``layout``) plus the model's
keyword options from the config, and returns an ``nn.Module`` whose ``forward(batch)`` maps a
PyG batch to logits ``(B, num_classes)``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Any

from torch import nn

ModelBuilder = Callable[..., nn.Module]
_REGISTRY: dict[str, ModelBuilder] = {}


def register_model(name: str) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator adding a builder under ``name``."""

    def add(builder: ModelBuilder) -> ModelBuilder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = builder
        return builder

    return add


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a glob pattern."""
    _import_builtin_models()
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name`` with ``kwargs``."""
    _import_builtin_models()
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; registered: {sorted(_REGISTRY)}")
    return _REGISTRY[name](**kwargs)


def _import_builtin_models() -> None:
    from . import builtin  # noqa: F401  (registers the shipped models)
