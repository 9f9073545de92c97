"""Multi-resolution view of a batched skeleton graph, for models with temporal strides.

A :class:`SkeletonLevel` holds one temporal resolution of a batch: its spatial edges, its
track lengths and which sample every node belongs to. :meth:`SkeletonLevel.temporal` builds
(and memoises) the temporal edges of a window, and :meth:`SkeletonLevel.coarsen` gives the
next level after a stride: nodes at frames ``0, s, 2s, ...`` of each track are kept, and the
spatial edges among them (within-frame, so a kept target always has a kept source) are
relabelled. Per-frame edge labels (e.g. gravity-centre partitions) survive coarsening.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from .temporal import strided_lengths, strided_node_mask, temporal_edges, track_lengths


@dataclass
class SkeletonLevel:
    """One temporal resolution of a batched skeleton graph.

    Attributes:
        spatial_edge_index, spatial_edge_type, spatial_edge_weight, spatial_edge_id:
            The spatial edges (see :mod:`pyg_action.graph.skeleton_graph`).
        lengths: ``(R,)`` frames per track (person of a sample).
        node_sample: ``(N,)`` sample of every node.
        num_joints: ``V``.
    """

    spatial_edge_index: Tensor
    spatial_edge_type: Tensor
    spatial_edge_weight: Tensor
    spatial_edge_id: Tensor
    lengths: Tensor
    node_sample: Tensor
    num_joints: int
    _temporal: dict[tuple[int, int, int], tuple[Tensor, Tensor]] = field(
        default_factory=dict, repr=False
    )
    _keep: dict[int, Tensor] = field(default_factory=dict, repr=False)
    _coarse: dict[int, SkeletonLevel] = field(default_factory=dict, repr=False)

    @classmethod
    def from_batch(cls, batch, num_joints: int) -> SkeletonLevel:
        """Level 0 of a batch made by :class:`~pyg_action.graph.SkeletonGraphBuilder`."""
        num_nodes = batch.x.shape[0]
        node_sample = getattr(batch, "batch", None)
        if node_sample is None:
            node_sample = torch.zeros(num_nodes, dtype=torch.long, device=batch.x.device)
        lengths = track_lengths(batch.num_frames, batch.num_persons)
        if int(lengths.sum()) * num_joints != num_nodes:
            raise ValueError(
                f"batch has {num_nodes} nodes but num_frames x num_persons x {num_joints} joints "
                f"gives {int(lengths.sum()) * num_joints}: does the layout match the data?"
            )
        return cls(
            batch.spatial_edge_index,
            batch.spatial_edge_type,
            batch.spatial_edge_weight,
            batch.spatial_edge_id,
            lengths,
            node_sample,
            num_joints,
        )

    @property
    def num_nodes(self) -> int:
        return int(self.node_sample.shape[0])

    @property
    def spatial(self) -> dict[str, Tensor]:
        """Keyword arguments for :class:`~pyg_action.nn.PartitionedGraphConv`."""
        return {
            "edge_index": self.spatial_edge_index,
            "edge_type": self.spatial_edge_type,
            "edge_weight": self.spatial_edge_weight,
            "edge_slot": self.spatial_edge_id,
        }

    def temporal(self, window: int, dilation: int = 1, stride: int = 1) -> tuple[Tensor, Tensor]:
        """Temporal ``(edge_index, edge_type)`` of a window, targets at stride ``stride``."""
        key = (window, dilation, stride)
        if key not in self._temporal:
            self._temporal[key] = temporal_edges(
                self.lengths, self.num_joints, window, dilation, stride
            )
        return self._temporal[key]

    def keep_mask(self, stride: int) -> Tensor:
        """Nodes of this level that form the next level after ``stride`` (memoised)."""
        if stride not in self._keep:
            self._keep[stride] = strided_node_mask(self.lengths, self.num_joints, stride)
        return self._keep[stride]

    def coarsen(self, stride: int) -> SkeletonLevel:
        """The level after a temporal stride (itself when ``stride == 1``; memoised)."""
        if stride == 1:
            return self
        if stride not in self._coarse:
            self._coarse[stride] = self._coarsened(stride)
        return self._coarse[stride]

    def _coarsened(self, stride: int) -> SkeletonLevel:
        keep = self.keep_mask(stride)
        new_id = torch.cumsum(keep, 0) - 1
        edge_keep = keep[self.spatial_edge_index[1]]
        return SkeletonLevel(
            new_id[self.spatial_edge_index[:, edge_keep]],
            self.spatial_edge_type[edge_keep],
            self.spatial_edge_weight[edge_keep],
            self.spatial_edge_id[edge_keep],
            strided_lengths(self.lengths, stride),
            self.node_sample[keep],
            self.num_joints,
        )
