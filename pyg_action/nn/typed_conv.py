r"""Typed linear message passing: the operator behind the spatial and temporal convolutions.

Every edge ``j -> i`` carries a type ``k_e`` (a partition label or a frame offset) and an
optional scalar weight ``w_e``. With one linear map per type,

.. math::
    \mathbf{x}'_i = \sum_{e = (j \to i)} w_e \, \mathbf{W}_{k_e} \mathbf{x}_j .

It is computed as one dense product ``h = x W`` with ``W`` of shape ``(C_in, K * C_out)``,
followed by a gather of row ``(j, k_e)`` of ``h`` per edge and a scatter-add into the target:
the same arithmetic as the dense ``einsum('nkctv,kvw->nctw')`` but touching only the ``E``
existing edges instead of all ``K * V * V`` joint pairs, and with no padding across samples of
different lengths.

The scatter-add runs on torch's ``index_add_`` by default, or on ``torch_scatter.scatter``
when the backend's ``scatter`` is ``"torch_scatter"`` (:mod:`pyg_action.nn.backend`; the
package is optional). :func:`block_plan` recognises graphs made of identical blocks (every
frame of a skeleton batch), which layers may aggregate with small dense products instead.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary
from torch_geometric.nn import MessagePassing

from ..graph.blocks import BlockPlan
from .backend import get_backend


class TypedMessagePassing(MessagePassing):
    """Base class: sums ``w_e * h[j, k_e]`` over the edges ``j -> i``.

    Subclasses compute ``h`` ``(N_src, K, C)`` and call :meth:`propagate_typed`.
    """

    # Declared so PyG need not parse the caller's source to find propagate's arguments.
    propagate_type = {"x": Tensor, "edge_weight": Tensor | None}

    def __init__(self) -> None:
        super().__init__(aggr="add", flow="source_to_target")

    def propagate_typed(
        self,
        h: Tensor,
        edge_index: Tensor,
        edge_type: Tensor,
        edge_weight: Tensor | None = None,
        num_targets: int | None = None,
    ) -> Tensor:
        """Aggregate typed messages.

        Args:
            h: ``(N_src, K, C)`` per-type transformed source features.
            edge_index: ``(2, E)`` source and target node indices.
            edge_type: ``(E,)`` type of each edge in ``0..K-1``.
            edge_weight: ``(E,)`` optional scalar per edge.
            num_targets: Number of target nodes (defaults to ``N_src``; differs for bipartite,
                e.g. strided temporal, edges).

        Returns:
            ``(num_targets, C)``.
        """
        num_src, num_types, channels = h.shape
        typed_source = edge_index[0] * num_types + edge_type
        typed_index = edge_index.new_empty(edge_index.shape)
        typed_index[0] = typed_source
        typed_index[1] = edge_index[1]
        size = (num_src * num_types, num_src if num_targets is None else num_targets)
        return self.propagate(
            typed_index,
            x=h.reshape(num_src * num_types, channels),
            edge_weight=edge_weight,
            size=size,
        )

    def message(self, x_j: Tensor, edge_weight: Tensor | None) -> Tensor:
        return x_j if edge_weight is None else x_j * edge_weight.unsqueeze(-1)

    def aggregate(
        self, inputs: Tensor, index: Tensor, ptr: Tensor | None = None, dim_size: int | None = None
    ) -> Tensor:
        """Sum into the targets with ``index_add_`` (no ``(E, C)`` expanded index as scatter),
        or with ``torch_scatter.scatter`` (the backend's ``scatter``)."""
        size = int(index.max()) + 1 if dim_size is None else dim_size
        if get_backend().scatter == "torch_scatter":
            import torch_scatter

            return torch_scatter.scatter(inputs, index, 0, dim_size=size, reduce="sum")
        return inputs.new_zeros(size, inputs.shape[-1]).index_add_(0, index, inputs)


def _periodic(values: Tensor, blocks: int) -> bool:
    """Whether ``(..., E)`` ``values`` repeat their first ``E / blocks`` entries ``blocks``
    times along the last dimension."""
    per_block = values.view(*values.shape[:-1], blocks, -1)
    return bool((per_block == per_block[..., :1, :]).all())


def _detect_blocks(
    num_nodes: int,
    edge_index: Tensor,
    edge_type: Tensor,
    edge_weight: Tensor | None,
    edge_slot: Tensor,
) -> BlockPlan | None:
    num_edges = edge_index.shape[1]
    if num_edges == 0 or edge_slot.shape[0] != num_edges:
        return None
    per_block = int(edge_slot.max()) + 1
    if num_edges % per_block:
        return None
    blocks = num_edges // per_block
    if num_nodes % blocks:
        return None
    size = num_nodes // blocks
    local = edge_index[:, :per_block]
    if int(local.min()) < 0 or int(local.max()) >= size:
        return None
    offset = torch.arange(blocks, device=edge_index.device).repeat_interleave(per_block) * size
    if not _periodic(edge_index - offset, blocks):
        return None
    for values in (edge_type, edge_slot, edge_weight):
        if values is not None and not _periodic(values, blocks):
            return None
    # copies: a view would keep ``edge_index`` (the cache's weak key) alive
    return BlockPlan(
        blocks,
        size,
        per_block,
        local.clone(),
        edge_type[:per_block].clone(),
        None if edge_weight is None else edge_weight[:per_block].clone(),
        edge_slot[:per_block].clone(),
    )


#: ``edge_index`` -> (the other tensors and versions it was checked with, its plan). Keys are
#: weak, so a batch's entry goes with its graph; values never reference their key.
_PLANS: WeakIdKeyDictionary = WeakIdKeyDictionary()


def block_plan(
    num_nodes: int,
    edge_index: Tensor,
    edge_type: Tensor,
    edge_weight: Tensor | None,
    edge_slot: Tensor | None,
) -> BlockPlan | None:
    """The :class:`BlockPlan` of a graph whose blocks are identical, else ``None``.

    Block 0's edges are counted from the slots (``E_0 = max(edge_slot) + 1``: every block
    lists one edge per slot, in the same order); the graph qualifies when its ``N`` nodes split
    into ``F = E / E_0`` blocks of ``V = N / F`` and every block repeats block 0's local edges,
    types, weights and slots. The check costs a few passes over the ``E`` edges and is cached
    per ``edge_index`` object (with the other tensors and their versions), so the layers of one
    model that share a graph pay it once per batch.

    Args:
        num_nodes: ``N``.
        edge_index: ``(2, E)``.
        edge_type: ``(E,)``.
        edge_weight: ``(E,)`` or ``None``.
        edge_slot: ``(E,)`` index of each edge within its block, or ``None`` (no plan).
    """
    if edge_slot is None:
        return None
    others = (edge_type, edge_weight, edge_slot)
    versions = (num_nodes, edge_index._version, *(-1 if t is None else t._version for t in others))
    cached = _PLANS.get(edge_index)
    if (
        cached is not None
        and cached[1] == versions
        and all(a is b for a, b in zip(cached[0], others, strict=True))
    ):
        return cached[2]
    plan = _detect_blocks(num_nodes, edge_index, edge_type, edge_weight, edge_slot)
    _PLANS[edge_index] = (others, versions, plan)
    return plan
