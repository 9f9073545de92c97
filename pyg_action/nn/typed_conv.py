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
"""

from __future__ import annotations

from torch import Tensor
from torch_geometric.nn import MessagePassing


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
        """Sum into the targets with ``index_add_`` (no ``(E, C)`` expanded index as scatter)."""
        size = int(index.max()) + 1 if dim_size is None else dim_size
        return inputs.new_zeros(size, inputs.shape[-1]).index_add_(0, index, inputs)
