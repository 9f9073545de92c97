"""Sparse message-passing layers (the dense references live in :mod:`pyg_action.nn.dense`).

* ST-GCN: :class:`PartitionedGraphConv` (spatial), :class:`TemporalGraphConv` (temporal);
* Shift-GCN: :class:`NonLocalGraphShift`, :class:`LocalGraphShift`,
  :class:`FixedTemporalShift`, :class:`AdaptiveTemporalShift` and the units built on them,
  :class:`ShiftGraphConv` and :class:`ShiftTemporalConv`;
* :class:`MotionExcitation` (frame-difference channel gate, for either model);
* ViG: :func:`knn_graph` / :class:`DilatedKnnGraph` (no compiled extension needed),
  :class:`MaxRelativeConv`, :class:`Grapher`, :class:`FFN`;
* :class:`Linear` / :func:`linear`: the point-wise maps of all of them, through oneDNN on CPU;
* :func:`use_backend` / :func:`set_backend`: every execution choice (:mod:`.backend`).
"""

from .backend import Backend, get_backend, set_backend, use_backend
from .knn import DilatedKnnGraph, knn, knn_graph
from .linear_map import Linear, linear
from .motion import MotionExcitation
from .shift import (
    AdaptiveTemporalShift,
    FixedTemporalShift,
    LocalGraphShift,
    NonLocalGraphShift,
    ShiftGraphConv,
    ShiftTemporalConv,
)
from .stgcn_conv import PartitionedGraphConv, TemporalGraphConv
from .typed_conv import TypedMessagePassing
from .vig_conv import FFN, Grapher, MaxRelativeConv

__all__ = [
    "FFN",
    "Backend",
    "AdaptiveTemporalShift",
    "DilatedKnnGraph",
    "FixedTemporalShift",
    "Grapher",
    "Linear",
    "LocalGraphShift",
    "MaxRelativeConv",
    "MotionExcitation",
    "NonLocalGraphShift",
    "PartitionedGraphConv",
    "ShiftGraphConv",
    "ShiftTemporalConv",
    "TemporalGraphConv",
    "TypedMessagePassing",
    "get_backend",
    "knn",
    "knn_graph",
    "linear",
    "set_backend",
    "use_backend",
]
