"""Model registry: ``--model NAME`` on the command line is a lookup here.

Register a builder with :func:`register_model`; it receives the dataset facts
(``num_classes``, ``in_channels`` and, for skeleton models, ``layout``) plus the model's
keyword options from the config, and returns an ``nn.Module`` whose ``forward(batch)`` maps a
PyG batch to logits ``(B, num_classes)``.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
from collections.abc import Callable
from typing import Any

from torch import nn

ModelBuilder = Callable[..., nn.Module]
_REGISTRY: dict[str, ModelBuilder] = {}
_DEFAULTS: dict[str, dict[str, Any]] = {}
_OPTIONS: dict[str, Callable[..., Any]] = {}


def register_model(
    name: str,
    default_data: dict[str, Any] | None = None,
    quick_config: dict[str, Any] | None = None,
    options: Callable[..., Any] | None = None,
) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator adding a builder under ``name``.

    Args:
        name: Registry name (``--model NAME``).
        default_data: The ``data`` config section used when the user gives none, so that
            ``pyg-action train --model NAME`` runs on a bare machine (an embedded dataset).
        quick_config: Config sections (``model``, ``data``, ``train``) merged in when the user
            gives no config file: a recipe sized to train in minutes on a CPU.
        options: The class (or function) a builder with ``**kwargs`` forwards them to: its
            keyword parameters are model options too. The builder's and its keyword
            parameters, type hints and defaults are the ``model`` section's schema
            (:mod:`pyg_action.engine.schema`).
    """

    def add(builder: ModelBuilder) -> ModelBuilder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = builder
        if options is not None:
            _OPTIONS[name] = options
        quick = copy.deepcopy(quick_config or {})
        quick["data"] = {**(default_data or {"name": "synthetic"}), **quick.get("data", {})}
        _DEFAULTS[name] = quick
        return builder

    return add


def default_data_config(name: str) -> dict[str, Any]:
    """The ``data`` section a model trains on when the config names none."""
    return dict(quick_config(name)["data"])


def quick_config(name: str) -> dict[str, Any]:
    """The sections used for ``pyg-action train --model NAME`` without a config file."""
    _import_builtin_models()
    if name not in _DEFAULTS:
        raise _unknown_model(name)
    return copy.deepcopy(_DEFAULTS[name])


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a glob pattern."""
    _import_builtin_models()
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def model_option_sources(name: str) -> list[Callable[..., Any]]:
    """What declares the options of model ``name``: its builder, then its options class."""
    _import_builtin_models()
    if name not in _REGISTRY:
        raise _unknown_model(name)
    return [_REGISTRY[name], *([_OPTIONS[name]] if name in _OPTIONS else [])]


def create_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name`` with ``kwargs``."""
    _import_builtin_models()
    if name not in _REGISTRY:
        raise _unknown_model(name)
    return _REGISTRY[name](**kwargs)


def _import_builtin_models() -> None:
    from . import builtin  # noqa: F401  (registers the shipped models)


def _unknown_model(name: str) -> ValueError:
    """The error for an unregistered model name, with the nearest registered one."""
    close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ValueError(f"unknown model {name!r}{hint} (registered: {sorted(_REGISTRY)})")
