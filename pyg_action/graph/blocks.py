"""Graphs made of identical blocks: one frame's spatial graph, repeated over every frame."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor


@dataclass(frozen=True)
class BlockPlan:
    r"""A typed graph made of ``F`` identical blocks of ``V`` consecutive nodes.

    Edge ``b * E_0 + e`` of the graph is edge ``e`` of block 0 shifted by ``b * V`` nodes, with
    the same type, weight and slot. The aggregation is then block diagonal: with the
    ``(K, V, V)`` weighted adjacency ``A`` of one block, :math:`\mathbf{x}'_{b,i} = \sum_{k,j}
    A_{k,i,j} \mathbf{W}_k \mathbf{x}_{b,j}` for every block ``b``. A skeleton batch is such a
    graph (one block per frame); :attr:`~pyg_action.graph.levels.SkeletonLevel.block_plan`
    gives its plan from the layout without building the ``F E_0`` edges.

    Attributes:
        num_blocks: ``F``.
        block_size: ``V``.
        edges_per_block: ``E_0``.
        edge_index: ``(2, E_0)`` block-local source and target of block 0's edges.
        edge_type: ``(E_0,)`` their types.
        edge_weight: ``(E_0,)`` their weights, or ``None``.
        edge_slot: ``(E_0,)`` their slots (learnable-importance index); ``None`` when edge
            ``e`` is slot ``e``.
    """

    num_blocks: int
    block_size: int
    edges_per_block: int
    edge_index: Tensor
    edge_type: Tensor
    edge_weight: Tensor | None = None
    edge_slot: Tensor | None = None
    _flat: dict[tuple[int, str], Tensor] = field(default_factory=dict, compare=False, repr=False)

    def adjacency(self, weight: Tensor, num_types: int, order: str) -> Tensor:
        """Weighted adjacency of one block from block 0's edge weights ``(E_0,)``.

        Args:
            weight: ``(E_0,)`` weight of each edge (differentiable).
            num_types: ``K``.
            order: ``"target_type"`` gives ``(V * K, V)`` with entry ``[i K + k, j]``;
                ``"target"`` gives ``(V, V * K)`` with entry ``[i, j K + k]``.
        """
        v = self.block_size
        if order == "target_type":
            shape = (v * num_types, v)
        elif order == "target":
            shape = (v, v * num_types)
        else:
            raise ValueError(f"order must be 'target_type' or 'target', got {order!r}")
        key = (num_types, order)
        if key not in self._flat:  # the entry of every edge, once per plan
            src, dst = self.edge_index
            if order == "target_type":
                self._flat[key] = (dst * num_types + self.edge_type) * v + src
            else:
                self._flat[key] = (dst * v + src) * num_types + self.edge_type
        flat = self._flat[key]
        return weight.new_zeros(v * v * num_types).index_add(0, flat, weight).view(shape)
