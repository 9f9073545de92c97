"""Graphs made of identical blocks: one frame's spatial graph, repeated over every frame."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
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
    _tables: dict[tuple[object, ...], Tensor] = field(
        default_factory=dict, compare=False, repr=False
    )

    def adjacency(self, weight: Tensor, num_types: int, order: str) -> Tensor:
        """Weighted adjacency of one block from block 0's edge weights ``(E_0,)``.

        Args:
            weight: ``(E_0,)`` weight of each edge (differentiable).
            num_types: ``K``.
            order: ``"target_type"`` gives ``(V * K, V)`` with entry ``[i K + k, j]``;
                ``"target"`` gives ``(V, V * K)`` with entry ``[i, j K + k]``.
        """
        flat, shape = self._entries(num_types, order)
        return weight.new_zeros(shape[0] * shape[1]).index_add(0, flat, weight).view(shape)

    def slot_adjacency(self, importance: Tensor, num_types: int, order: str) -> Tensor:
        r"""The adjacency (as :meth:`adjacency`) whose edge ``e`` has weight
        :math:`w_e m_{s_e}`: block 0's weight times the importance ``(S,)`` of its slot.

        The entries are linear in the importance, so the adjacency is one product
        :math:`\mathbf{P} \mathbf{m}` with a constant ``(V V K, S)`` table :math:`\mathbf{P}`
        (built once per plan, order and dtype): one kernel forward and one backward, whatever
        the number of edges.
        """
        flat, shape = self._entries(num_types, order)
        key = (num_types, order, importance.numel(), importance.dtype, importance.device)
        table = self._tables.get(key)
        if table is None:
            slots = self.edge_slot
            if slots is None:
                slots = torch.arange(self.edges_per_block, device=flat.device)
            weight = self.edge_weight
            if weight is None:
                weight = torch.ones(self.edges_per_block, device=flat.device)
            table = importance.new_zeros(shape[0] * shape[1], importance.numel()).detach()
            table.index_put_((flat, slots), weight.to(importance.dtype), accumulate=True)
            self._tables[key] = table
        return torch.mv(table, importance).view(shape)

    def _entries(self, num_types: int, order: str) -> tuple[Tensor, tuple[int, int]]:
        """The flat adjacency entry of every edge of block 0 (cached) and the shape."""
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
        return self._flat[key], shape
