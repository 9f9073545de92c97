"""Models built from the sparse layers, with a registry for ``--model NAME``."""

from .registry import (
    create_model,
    default_data_config,
    list_models,
    quick_config,
    register_model,
)

__all__ = ["create_model", "default_data_config", "list_models", "quick_config", "register_model"]
