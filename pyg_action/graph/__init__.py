"""Skeleton sequences as PyG graphs: spatial and temporal edges, batching, dense round trip."""

from .skeleton_graph import (
    SkeletonGraphBuilder,
    batch_to_dense,
    node_positions,
    spatial_edges,
    to_dense,
)
from .temporal import strided_lengths, strided_node_mask, temporal_edges, track_lengths

__all__ = [
    "SkeletonGraphBuilder",
    "batch_to_dense",
    "node_positions",
    "spatial_edges",
    "strided_lengths",
    "strided_node_mask",
    "temporal_edges",
    "to_dense",
    "track_lengths",
]
