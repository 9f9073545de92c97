"""Imports every shipped model module so their ``@register_model`` lines run."""

from . import (
    ctrgcn,  # noqa: F401
    shiftgcn,  # noqa: F401
    stgcn,  # noqa: F401
    stgcnpp,  # noqa: F401
    vig,  # noqa: F401
)
