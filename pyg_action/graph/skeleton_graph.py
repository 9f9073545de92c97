"""Skeleton samples as PyG :class:`~torch_geometric.data.Data` graphs, and back.

A sample ``(C, T, V, M)`` becomes ``N = M * T * V`` nodes ordered ``(person, frame, joint)``
(joint fastest), with

* ``x`` ``(N, C)`` node features,
* ``spatial_edge_index`` ``(2, E_s)``: the layout's partitioned edges inside every frame,
  with ``spatial_edge_type`` (partition label), ``spatial_edge_weight`` (ST-GCN
  normalisation) and ``spatial_edge_id`` (which layout edge, for learnable edge importance;
  the name has no "index" in it so batching leaves it alone),
* ``temporal_edge_index`` ``(2, E_t)``: each joint joined to itself in the frames of a window,
  with ``temporal_edge_type`` = frame offset label (see :mod:`pyg_action.graph.temporal`),
* ``num_frames``, ``num_persons`` ``(1,)``: enough to map nodes back to (person, frame, joint)
  and to a dense tensor,
* ``track_shape`` the host-side pair ``(T, M)`` (a list of pairs after batching), from which
  the models derive every index without reading the device
  (:class:`~pyg_action.graph.levels.TrackShape`),
* ``y`` ``(1,)`` the label (``-1`` when unknown).

Every sample keeps its own ``T`` and ``M``; PyG's ``DataLoader`` batches them into one
disconnected graph and offsets every ``*_index`` attribute. Edges are never stored on disk:
:class:`SkeletonGraphBuilder` derives them from the layout and ``(T, M)`` and caches them per
shape, so a dataset holds only the coordinates. The models need none of them (they derive
what they use from ``track_shape``): ``SkeletonGraphBuilder(..., edges=False)`` leaves them
out, which makes batching several times cheaper; they are kept whatever ``edges`` says when
the partition labels vary per frame (``center="gravity"``, marked ``partitions="gravity"``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from ..layouts import LayoutLike, get_layout, gravity_partition_labels, layout_graph
from ..layouts.partitions import LayoutGraph
from .temporal import temporal_edges, track_lengths


def spatial_edges(graph: LayoutGraph, num_frames: int) -> dict[str, Tensor]:
    """The layout's edges repeated over ``num_frames`` blocks of ``V`` nodes."""
    num_joints, num_edges = graph.num_joints, graph.num_edges
    base = torch.arange(num_frames).repeat_interleave(num_edges) * num_joints
    src = torch.from_numpy(graph.src).repeat(num_frames) + base
    dst = torch.from_numpy(graph.dst).repeat(num_frames) + base
    return {
        "spatial_edge_index": torch.stack([src, dst]),
        "spatial_edge_type": torch.from_numpy(graph.edge_type).repeat(num_frames),
        "spatial_edge_weight": torch.from_numpy(graph.edge_weight).float().repeat(num_frames),
        "spatial_edge_id": torch.arange(num_edges).repeat(num_frames),
    }


class SkeletonGraphBuilder:
    """Turns ``(C, T, V, M)`` arrays into :class:`Data` with spatial and temporal edges.

    Args:
        layout: Layout name, file, dict or :class:`~pyg_action.layouts.SkeletonLayout`.
        strategy: Partition strategy (``uniform``, ``distance``, ``spatial``, ``inward_outward``).
        max_hop: Largest hop distance inside a neighbourhood.
        dilation: Hop dilation.
        temporal_window: Frames in the temporal neighbourhood (odd).
        cache_size: Number of ``(T, M)`` edge sets kept in memory.
        center: The centre of the spatial-configuration partition: ``None`` keeps the
            layout's centre joint, a joint name or index picks another fixed joint (what the
            official code does), and ``"gravity"`` uses each frame's centre of gravity, as the
            paper words it (labels then vary per frame, computed from the first
            ``gravity_coords`` channels; see
            :func:`~pyg_action.layouts.gravity_partition_labels`).
        gravity_coords: Coordinate channels used for the centre of gravity.
        edges: Attach the spatial and temporal edges (PyG graphs for any layer); without
            them a sample holds its features, label and shape only (what the models need).
    """

    def __init__(
        self,
        layout: LayoutLike,
        strategy: str = "spatial",
        max_hop: int = 1,
        dilation: int = 1,
        temporal_window: int = 9,
        cache_size: int = 512,
        center: str | int | None = None,
        gravity_coords: int = 3,
        edges: bool = True,
    ) -> None:
        self.edges = edges
        self.layout = get_layout(layout)
        self.gravity = center == "gravity"
        if self.gravity and not strategy.startswith("spatial"):
            raise ValueError(f"center='gravity' needs a spatial strategy, not {strategy!r}")
        if center is not None and not self.gravity:
            self.layout = replace(self.layout, center=self.layout.joint_index(center))
        self.gravity_coords = gravity_coords
        self.graph = layout_graph(self.layout, strategy, max_hop, dilation)
        self.temporal_window = temporal_window
        self._edges = lru_cache(maxsize=cache_size)(self._build_edges)

    def _build_edges(self, num_frames: int, num_persons: int) -> dict[str, Tensor]:
        edges = spatial_edges(self.graph, num_frames * num_persons)
        lengths = torch.full((num_persons,), num_frames, dtype=torch.long)
        index, kind = temporal_edges(lengths, self.layout.num_joints, self.temporal_window)
        edges["temporal_edge_index"] = index
        edges["temporal_edge_type"] = kind
        return edges

    def __call__(self, data: np.ndarray | Tensor, label: int | None = None) -> Data:
        """Build the graph of one ``(C, T, V, M)`` sample."""
        x = torch.as_tensor(data, dtype=torch.float32)
        if x.ndim != 4:
            raise ValueError(f"expected a (C, T, V, M) sample, got shape {tuple(x.shape)}")
        channels, frames, joints, persons = x.shape
        if joints != self.layout.num_joints:
            raise ValueError(
                f"sample has {joints} joints but layout {self.layout.name!r} has "
                f"{self.layout.num_joints}"
            )
        features = x.permute(3, 1, 2, 0).reshape(persons * frames * joints, channels)
        edges: dict[str, Any] = {}
        if self.edges or self.gravity:
            edges = self._edges(frames, persons)
        if self.gravity:
            positions = features[:, : self.gravity_coords].reshape(-1, joints, self.gravity_coords)
            labels = gravity_partition_labels(self.graph, positions.double().numpy())
            edges = {**edges, "spatial_edge_type": torch.from_numpy(labels.reshape(-1))}
            edges["partitions"] = "gravity"
        return Data(
            x=features,
            y=torch.tensor([-1 if label is None else int(label)]),
            num_frames=torch.tensor([frames]),
            num_persons=torch.tensor([persons]),
            track_shape=(frames, persons),
            num_nodes=features.shape[0],
            **edges,
        )


def node_positions(num_frames: Tensor, num_persons: Tensor, num_joints: int) -> dict[str, Tensor]:
    """Sample, person, frame and joint of every node of a (batched) skeleton graph."""
    lengths = track_lengths(num_frames, num_persons)
    per_track_nodes = lengths * num_joints
    sample_of_track = torch.repeat_interleave(torch.arange(num_frames.numel()), num_persons)
    first_track = torch.cumsum(num_persons, 0) - num_persons
    person_of_track = torch.arange(lengths.numel()) - first_track[sample_of_track]
    track = torch.repeat_interleave(torch.arange(lengths.numel()), per_track_nodes)
    start = torch.cumsum(per_track_nodes, 0) - per_track_nodes
    local = torch.arange(track.numel()) - start[track]
    return {
        "sample": sample_of_track[track],
        "person": person_of_track[track],
        "frame": torch.div(local, num_joints, rounding_mode="floor"),
        "joint": local % num_joints,
    }


def to_dense(x: Tensor, num_frames: Tensor, num_persons: Tensor, num_joints: int) -> Tensor:
    """Node features ``(N, C)`` of a batch back to ``(B, C, T_max, V, M_max)``, zero padded."""
    where = node_positions(num_frames.cpu(), num_persons.cpu(), num_joints)
    batch = num_frames.numel()
    out = x.new_zeros(batch, int(num_frames.max()), num_joints, int(num_persons.max()), x.shape[-1])
    out[where["sample"], where["frame"], where["joint"], where["person"]] = x
    return out.permute(0, 4, 1, 2, 3)


def batch_to_dense(batch: Data, num_joints: int) -> Tensor:
    """``(B, C, T_max, V, M_max)`` of a batched skeleton graph's ``x``."""
    return to_dense(batch.x, batch.num_frames, batch.num_persons, num_joints)
