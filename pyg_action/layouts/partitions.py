r"""ST-GCN partition strategies, in dense (K, V, V) and in edge form.

For a layout with ``V`` joints, ``hop(v, w)`` is the graph distance. The neighbour set of a
root joint ``w`` is :math:`B(w) = \{v : hop(v, w) \in H\}` with the valid hops
``H = {0, d, 2d, ..., max_hop}`` (``d`` = dilation). Each neighbour gets a partition label
:math:`l(v, w) \in \{0..K-1\}`:

* ``uniform`` (uni-labelling): ``K = 1``, every neighbour has label 0.
* ``distance``: ``K = |H|``, the label is the index of ``hop(v, w)`` in ``H``.
* ``spatial`` (spatial configuration): the root itself (label 0); per hop ``h > 0`` two
  labels: neighbours at least as far from the centre as the root (label ``2g-1``) and
  neighbours closer to the centre than the root (label ``2g``), where ``g`` is the index of
  ``h`` in ``H``. Distance to the centre is the hop count to the layout's centre joint, as the
  official code does, or (see :func:`gravity_partition_labels`) the Euclidean distance to the
  frame's centre of gravity, as the paper words it.

  .. note::
      The official code counts hops to the centre only up to ``max_hop``: every joint farther
      away is at distance ``inf``, so all those joints tie and their edges all land in label
      ``2g-1``. ``spatial`` reproduces that exactly (it is what published ST-GCN weights were
      trained with); ``spatial_full_hops`` counts the true hop distance to the centre, the rule
      as the paper states it.
* ``inward_outward``: the split of later models (2s-AGCN, pyskl): ``K = 3`` with the self
  link, each joint's parent sent to the joint, and each joint's children sent to it. Each
  matrix is normalised on its own.

Normalisation (official ST-GCN): with the neighbour matrix :math:`A_{vw} = [v \in B(w)]` and
the in-degree :math:`D_w = \sum_v A_{vw}`, the weight of edge ``v -> w`` is :math:`A_{vw} / D_w`
(normalised before splitting into partitions). The dense tensor ``A[k, v, w]`` is used as
``einsum('nkctv,kvw->nctw')``: ``v`` is the source, ``w`` the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from .layout import SkeletonLayout

PartitionStrategy = Literal["uniform", "distance", "spatial", "spatial_full_hops", "inward_outward"]
STRATEGIES: tuple[str, ...] = get_args(PartitionStrategy)


def hop_distance(num_joints: int, bones: list[tuple[int, int]] | tuple, max_hop: int) -> np.ndarray:
    """Hop distances ``(V, V)`` up to ``max_hop``; farther pairs are ``inf``."""
    adjacency = np.eye(num_joints, dtype=bool)
    for a, b in bones:
        adjacency[a, b] = adjacency[b, a] = True
    distance = np.full((num_joints, num_joints), np.inf)
    reach = np.eye(num_joints, dtype=bool)
    distance[reach] = 0
    for hop in range(1, max_hop + 1):
        reach = (reach.astype(np.int64) @ adjacency.astype(np.int64)) > 0
        distance[reach & np.isinf(distance)] = hop
    return distance


def _normalise_columns(matrix: np.ndarray) -> np.ndarray:
    """``M[v, w] / sum_v M[v, w]`` (columns without entries stay zero)."""
    degree = matrix.sum(axis=0)
    scale = np.zeros_like(degree)
    np.divide(1.0, degree, out=scale, where=degree > 0)
    return matrix * scale[None, :]


def _valid_hops(max_hop: int, dilation: int) -> list[int]:
    if max_hop < 1 or dilation < 1:
        raise ValueError(f"max_hop and dilation must be >= 1, got {max_hop}, {dilation}")
    return list(range(0, max_hop + 1, dilation))


def adjacency_tensor(
    layout: SkeletonLayout,
    strategy: str = "spatial",
    max_hop: int = 1,
    dilation: int = 1,
) -> np.ndarray:
    """Normalised partitioned adjacency ``A`` of shape ``(K, V, V)`` (float64)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown partition strategy {strategy!r}; choose from {STRATEGIES}")
    num = layout.num_joints
    if strategy == "inward_outward":
        eye = np.eye(num)
        parent_to_child = np.zeros((num, num))
        child_to_parent = np.zeros((num, num))
        for child, parent in layout.inward_bones():
            parent_to_child[parent, child] = 1.0
            child_to_parent[child, parent] = 1.0
        return np.stack(
            [eye, _normalise_columns(parent_to_child), _normalise_columns(child_to_parent)]
        )

    hops = _valid_hops(max_hop, dilation)
    distance = hop_distance(num, layout.bones, max_hop)
    neighbours = np.isin(distance, hops).astype(np.float64)
    normalised = _normalise_columns(neighbours)
    if strategy == "uniform":
        return normalised[None]
    if strategy == "distance":
        return np.stack([np.where(distance == h, normalised, 0.0) for h in hops])

    if strategy == "spatial_full_hops":
        distance_to_centre = hop_distance(num, layout.bones, num)
    else:
        distance_to_centre = distance
    to_centre = distance_to_centre[:, layout.center]  # hop count of every joint to the centre
    source_as_far = to_centre[:, None] >= to_centre[None, :]  # [v, w]: r_v >= r_w
    parts = [np.where(distance == 0, normalised, 0.0)]
    for h in hops[1:]:
        at_hop = distance == h
        parts.append(np.where(at_hop & source_as_far, normalised, 0.0))
        parts.append(np.where(at_hop & ~source_as_far, normalised, 0.0))
    return np.stack(parts)


@dataclass(frozen=True)
class LayoutGraph:
    """Edge form of a partitioned adjacency for one frame.

    Attributes:
        src, dst: ``(E,)`` joint indices of each edge ``src -> dst`` (sorted by ``dst``).
        edge_type: ``(E,)`` partition label in ``0..K-1``.
        edge_weight: ``(E,)`` normalisation ``A[k, src, dst]``.
        hop: ``(E,)`` hop distance of the pair (used by gravity-centre labels).
        num_types: ``K``.
        num_joints: ``V``.
    """

    src: np.ndarray
    dst: np.ndarray
    edge_type: np.ndarray
    edge_weight: np.ndarray
    hop: np.ndarray
    num_types: int
    num_joints: int

    @property
    def num_edges(self) -> int:
        return int(self.src.shape[0])

    def dense(self) -> np.ndarray:
        """Back to ``(K, V, V)``."""
        out = np.zeros((self.num_types, self.num_joints, self.num_joints))
        out[self.edge_type, self.src, self.dst] = self.edge_weight
        return out


def layout_graph(
    layout: SkeletonLayout,
    strategy: str = "spatial",
    max_hop: int = 1,
    dilation: int = 1,
) -> LayoutGraph:
    """Edge form of :func:`adjacency_tensor`: one edge per non-zero ``A[k, v, w]``."""
    dense = adjacency_tensor(layout, strategy, max_hop, dilation)
    kind, src, dst = np.nonzero(dense)
    order = np.lexsort((src, kind, dst))
    kind, src, dst = kind[order], src[order], dst[order]
    distance = hop_distance(layout.num_joints, layout.bones, max(max_hop, 1))
    return LayoutGraph(
        src=src.astype(np.int64),
        dst=dst.astype(np.int64),
        edge_type=kind.astype(np.int64),
        edge_weight=dense[kind, src, dst],
        hop=distance[src, dst].astype(np.int64),
        num_types=dense.shape[0],
        num_joints=layout.num_joints,
    )


def gravity_partition_labels(graph: LayoutGraph, positions: np.ndarray) -> np.ndarray:
    """Spatial-configuration labels by distance to each frame's centre of gravity.

    The paper defines the centripetal/centrifugal split by the distance to the skeleton's
    centre of gravity (the mean of all joints in the frame); the official code instead uses
    the hop distance to a fixed centre joint (:func:`adjacency_tensor`). This gives the
    paper's version: labels change from frame to frame, which the sparse layers handle
    natively (the edge type is per edge), while a dense ``(K, V, V)`` cannot express it.

    Args:
        graph: A ``spatial``-strategy :class:`LayoutGraph`.
        positions: ``(F, V, D)`` joint coordinates of ``F`` frames.

    Returns:
        ``(F, E)`` labels: 0 for the root, ``2g-1`` when the neighbour is at least as far
        from the centre of gravity as the root, ``2g`` when closer (``g`` = hop group).
    """
    if positions.ndim != 3 or positions.shape[1] != graph.num_joints:
        raise ValueError(f"positions must be (F, {graph.num_joints}, D), got {positions.shape}")
    centre = positions.mean(axis=1, keepdims=True)
    radius = np.linalg.norm(positions - centre, axis=-1)  # (F, V)
    hops = sorted(set(graph.hop.tolist()) - {0})
    group = np.zeros_like(graph.hop)
    for g, h in enumerate(hops, start=1):
        group[graph.hop == h] = g
    as_far = radius[:, graph.src] >= radius[:, graph.dst]
    labels = np.where(as_far, 2 * group - 1, 2 * group)
    labels[:, graph.hop == 0] = 0
    return labels.astype(np.int64)
