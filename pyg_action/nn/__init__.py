"""Sparse message-passing layers (the dense references live in :mod:`pyg_action.nn.dense`)."""

from .stgcn_conv import PartitionedGraphConv, TemporalGraphConv
from .typed_conv import TypedMessagePassing

__all__ = ["PartitionedGraphConv", "TemporalGraphConv", "TypedMessagePassing"]
