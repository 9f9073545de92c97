r"""Batched, dilated k-nearest-neighbour graphs in feature space, as ViG builds them.

PyG's :func:`~torch_geometric.nn.knn_graph` needs ``torch-cluster`` or ``pyg-lib``; this module
needs neither. It follows the official ViG ``DenseDilatedKnnGraph``:

* features are L2-normalised first and the distance is the squared Euclidean distance of the
  normalised features, :math:`d(i, j) = \lVert \hat{\mathbf{x}}_i - \hat{\mathbf{x}}_j
  \rVert^2` (plus an optional bias :math:`\mathbf{B}_{ij}`, *e.g.* a relative-position term),
* the :math:`k \cdot d` nearest nodes are found and every :math:`d`-th of them is kept
  (dilation :math:`d`), or, with random dilation, a random choice of :math:`k` of them,
* a node is its own nearest neighbour, so self-loops are part of the graph.

Graphs of a batch may differ in size. Graphs are grouped by size and each group is solved with
one batched matrix product and ``topk`` (:func:`batched_knn`; images of equal size form a single
group and need no gather at all), chunked over graphs and query nodes so that a distance block
never exceeds ``chunk_bytes``. Pairs of nodes from different graphs are never compared.

When the graphs are known to be of equal size from the tensor shape (images), call
:func:`batched_knn` on ``(B, N, C)`` directly: it reads nothing back from the device and its
output shape depends only on the input shapes; :func:`neighbor_table` and
:func:`neighbors_to_edge_index` turn its per-graph indices into a global neighbour table or a
PyG ``edge_index`` by arithmetic.

**Small graphs.** A graph with :math:`m < k \cdot d` candidate nodes clamps the candidate list
to its :math:`m` nodes and keeps every :math:`d`-th of those, so each of its nodes gets
:math:`\lceil m / d \rceil` neighbours instead of :math:`k` (all :math:`m` nodes when
:math:`d = 1`); a graph without candidates gets no edges.

**Output.** ``edge_index`` ``(2, E)`` with ``edge_index[0]`` the neighbour (source :math:`j`)
and ``edge_index[1]`` the centre (target :math:`i`), sorted by target; the neighbours of a
target are listed nearest first (random order with random dilation). When every target has the
same number :math:`k'` of neighbours, ``edge_index[1]`` is ``arange(N).repeat_interleave(k')``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor, nn

DEFAULT_CHUNK_BYTES = 64 * 2**20


def num_neighbors(num_candidates: int, k: int, dilation: int = 1) -> int:
    """Neighbours per node in a graph of ``num_candidates`` nodes (see *Small graphs*)."""
    return math.ceil(min(k * dilation, num_candidates) / dilation)


def knn(
    x: Tensor,
    y: Tensor,
    k: int,
    batch_x: Tensor | None = None,
    batch_y: Tensor | None = None,
    *,
    dilation: int = 1,
    random_dilation: bool = False,
    normalize: bool = True,
    bias: Tensor | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Tensor:
    r"""For every node of ``x``, its dilated :math:`k` nearest nodes of ``y`` in the same graph.

    Args:
        x: Query (centre) features :math:`(N, C)`.
        y: Candidate (neighbour) features :math:`(M, C)`; pass ``x`` for a kNN graph.
        k: Neighbours per node.
        batch_x: Graph of every query node :math:`(N,)`, sorted; ``None``: one graph.
        batch_y: Graph of every candidate node :math:`(M,)`, sorted; ``None``: one graph.
        dilation: Keep every ``dilation``-th of the :math:`k \cdot d` nearest.
        random_dilation: Keep a random choice of :math:`k` of the :math:`k \cdot d` nearest
            instead (one draw per call and graph size, shared by all nodes, as the official
            stochastic ViG).
        normalize: L2-normalise the features before measuring distances.
        bias: Added to the distances, :math:`(n, m)` for graphs that all have :math:`n` query
            and :math:`m` candidate nodes (*e.g.* a relative-position term for images).
        chunk_bytes: Largest distance block computed at once.

    Returns:
        ``edge_index`` :math:`(2, E)`: row 0 indexes ``y`` (neighbour :math:`j`), row 1
        indexes ``x`` (centre :math:`i`), sorted by centre.
    """
    if k < 1 or dilation < 1:
        raise ValueError(f"k and dilation must be positive, got k={k}, dilation={dilation}")
    with torch.no_grad():
        if normalize:
            same = x is y
            x = F.normalize(x, p=2.0, dim=-1)
            y = x if same else F.normalize(y, p=2.0, dim=-1)
        ptr_x, ptr_y = _pointers(batch_x, batch_y, x.size(0), y.size(0), x.device)
        num_x, num_y = ptr_x.diff(), ptr_y.diff()
        if bias is not None and not (
            bool((num_x == bias.size(0)).all()) and bool((num_y == bias.size(1)).all())
        ):
            raise ValueError(
                f"a distance bias of shape {tuple(bias.shape)} needs every graph to have "
                f"{bias.size(0)} query and {bias.size(1)} candidate nodes"
            )
        sizes = torch.stack([num_x, num_y], dim=1)
        groups, group_of = torch.unique(sizes, dim=0, return_inverse=True)
        rows: list[Tensor] = []
        cols: list[Tensor] = []
        for group, (n, m) in enumerate(groups.tolist()):
            graphs = (group_of == group).nonzero().view(-1)
            kk = num_neighbors(m, k, dilation)
            if n == 0 or kk == 0:
                continue
            if len(groups) == 1:  # every graph has the same size: a plain reshape
                xq = x.reshape(-1, n, x.size(-1))
                yk = y.reshape(-1, m, y.size(-1))
            else:
                xq = x[ptr_x[graphs].view(-1, 1) + torch.arange(n, device=x.device)]
                yk = y[ptr_y[graphs].view(-1, 1) + torch.arange(m, device=y.device)]
            nearest = batched_knn(
                xq,
                yk,
                k,
                dilation=dilation,
                random_dilation=random_dilation,
                normalize=False,
                bias=bias,
                chunk_bytes=chunk_bytes,
            )
            targets = ptr_x[graphs].view(-1, 1) + torch.arange(n, device=x.device)
            rows.append(targets.reshape(-1))
            cols.append((nearest + ptr_y[graphs].view(-1, 1, 1)).reshape(-1, kk))
        return _edge_index(rows, cols, x.size(0), x.device)


def batched_knn(
    x: Tensor,
    y: Tensor | None,
    k: int,
    *,
    dilation: int = 1,
    random_dilation: bool = False,
    normalize: bool = True,
    bias: Tensor | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Tensor:
    r"""Dilated :math:`k` nearest neighbours within each of :math:`B` equal-size graphs.

    The fixed-shape core of :func:`knn`: one batched matrix product and ``topk`` (chunked by
    ``chunk_bytes``), no host synchronisation and no value-dependent shapes, so image batches
    (whose sizes are known from the tensor shape) never need a batch vector.

    Args:
        x: Query features :math:`(B, N, C)`.
        y: Candidate features :math:`(B, M, C)`; ``None``: ``x``.
        k, dilation, random_dilation, normalize, bias, chunk_bytes: As in :func:`knn`
            (``bias`` :math:`(N, M)`).

    Returns:
        Neighbour indices :math:`(B, N, k')` into the :math:`M` candidates of the same graph,
        nearest first, with :math:`k' =` :func:`num_neighbors` ``(M, k, dilation)``.
    """
    if k < 1 or dilation < 1:
        raise ValueError(f"k and dilation must be positive, got k={k}, dilation={dilation}")
    with torch.no_grad():
        if normalize:
            x = F.normalize(x, p=2.0, dim=-1)
            y = None if y is None else F.normalize(y, p=2.0, dim=-1)
        y = x if y is None else y
        count = min(k * dilation, y.size(1))
        nearest = _nearest(x, y, count, bias, chunk_bytes)
        if random_dilation:
            keep = torch.randperm(count, device=x.device)[: num_neighbors(count, k, dilation)]
            return nearest[..., keep]
        return nearest if dilation == 1 else nearest[..., ::dilation]


def neighbor_table(local: Tensor, num_candidates: int) -> Tensor:
    r"""Global neighbour table :math:`(B N, k)` from per-graph indices :math:`(B, N, k)` of
    :func:`batched_knn`: graph :math:`b`'s candidates are rows :math:`b M \ldots (b+1) M - 1`
    of the stacked candidates, :math:`M` = ``num_candidates``."""
    batch_size, _, kk = local.shape
    offsets = torch.arange(0, batch_size * num_candidates, num_candidates, device=local.device)
    return (local + offsets.view(-1, 1, 1)).view(-1, kk)


def neighbors_to_edge_index(neighbors: Tensor) -> Tensor:
    r"""``edge_index`` :math:`(2, N k)` (neighbour, centre; sorted by centre) of a neighbour
    table :math:`(N, k)`: the same graph as a PyG edge list, built by arithmetic."""
    num_nodes, kk = neighbors.shape
    centers = torch.arange(num_nodes, device=neighbors.device).view(-1, 1).expand(-1, kk)
    return torch.stack([neighbors.reshape(-1), centers.reshape(-1)])


def knn_graph(
    x: Tensor,
    k: int,
    batch: Tensor | None = None,
    *,
    dilation: int = 1,
    random_dilation: bool = False,
    normalize: bool = True,
    bias: Tensor | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Tensor:
    r"""Dilated kNN graph of ``x`` per graph of ``batch``, self-loops included.

    Same as :func:`knn` with ``y = x``; returns ``edge_index`` :math:`(2, E)` (neighbour,
    centre), sorted by centre.
    """
    return knn(
        x,
        x,
        k,
        batch,
        batch,
        dilation=dilation,
        random_dilation=random_dilation,
        normalize=normalize,
        bias=bias,
        chunk_bytes=chunk_bytes,
    )


class DilatedKnnGraph(nn.Module):
    r"""Builds the ViG graph of the current features: dilated kNN on normalised features.

    In training mode with ``stochastic=True``, each call keeps a random choice of :math:`k`
    of the :math:`k \cdot d` nearest with probability ``epsilon`` (every :math:`d`-th
    otherwise), as the official ``DenseDilatedKnnGraph``.

    Args:
        k: Neighbours per node.
        dilation: Dilation :math:`d`.
        stochastic: Random dilation during training.
        epsilon: Probability of random dilation per call.
        normalize: L2-normalise features before measuring distances.
        chunk_bytes: Largest distance block computed at once.

    Shapes:
        - **input:** features :math:`(N, C)`, batch :math:`(N,)` (optional), candidate
          features :math:`(M, C)` and batch :math:`(M,)` (optional, default: the input),
          distance bias :math:`(n, m)` (optional)
        - **output:** ``edge_index`` :math:`(2, E)`
    """

    def __init__(
        self,
        k: int = 9,
        dilation: int = 1,
        stochastic: bool = False,
        epsilon: float = 0.0,
        normalize: bool = True,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        super().__init__()
        self.k = k
        self.dilation = dilation
        self.stochastic = stochastic
        self.epsilon = epsilon
        self.normalize = normalize
        self.chunk_bytes = chunk_bytes

    def forward(
        self,
        x: Tensor,
        batch: Tensor | None = None,
        y: Tensor | None = None,
        batch_y: Tensor | None = None,
        bias: Tensor | None = None,
    ) -> Tensor:
        random = self._random_dilation()
        if y is None:
            y, batch_y = x, batch
        return knn(
            x,
            y,
            self.k,
            batch,
            batch_y,
            dilation=self.dilation,
            random_dilation=random,
            normalize=self.normalize,
            bias=bias,
            chunk_bytes=self.chunk_bytes,
        )

    def batched(self, x: Tensor, y: Tensor | None = None, bias: Tensor | None = None) -> Tensor:
        r"""Neighbours within equal-size graphs: features :math:`(B, N, C)`, candidates
        :math:`(B, M, C)` (default: ``x``), bias :math:`(N, M)`; returns per-graph indices
        :math:`(B, N, k')` (:func:`batched_knn`)."""
        return batched_knn(
            x,
            y,
            self.k,
            dilation=self.dilation,
            random_dilation=self._random_dilation(),
            normalize=self.normalize,
            bias=bias,
            chunk_bytes=self.chunk_bytes,
        )

    def _random_dilation(self) -> bool:
        """Whether this call draws a random dilation (``stochastic``, training, ``epsilon``)."""
        return self.stochastic and self.training and bool(torch.rand(()) < self.epsilon)

    def extra_repr(self) -> str:
        return (
            f"k={self.k}, dilation={self.dilation}, stochastic={self.stochastic}, "
            f"epsilon={self.epsilon}"
        )


def grid_relative_position_bias(
    channels: int, size: tuple[int, int], reduce_ratio: int = 1
) -> Tensor:
    r"""ViG's relative-position distance bias for an :math:`H \times W` grid of patches.

    With :math:`\mathbf{e}_p` the :math:`D`-dimensional 2-D sine-cosine embedding of position
    :math:`p` (half the channels encode the row, half the column),

    .. math::
        \mathbf{B}_{ij} = -\frac{2}{D}\, \mathbf{e}_{p_i}^{\top} \mathbf{e}_{q_j},

    so that nearby patches look closer. Candidates :math:`q_j` are the centres of the
    :math:`r \times r` average-pooled grid when ``reduce_ratio`` :math:`r > 1` (the official
    code instead resamples the :math:`r = 1` matrix bicubically along the candidate axis).

    Args:
        channels: Embedding width :math:`D` (a multiple of 4).
        size: Grid ``(H, W)``.
        reduce_ratio: Pooling ratio :math:`r` of the candidates.

    Returns:
        Bias :math:`(H W, \lfloor H/r \rfloor \lfloor W/r \rfloor)`, row-major positions.
    """
    return _grid_bias(channels, tuple(size), reduce_ratio).clone()


@lru_cache(maxsize=64)
def _grid_bias(channels: int, size: tuple[int, int], reduce_ratio: int) -> Tensor:
    if channels % 4:
        raise ValueError(f"the position embedding needs channels % 4 == 0, got {channels}")
    height, width = size
    query = _sincos_2d(channels, torch.arange(height).double(), torch.arange(width).double())
    offset = (reduce_ratio - 1) / 2
    rows = torch.arange(height // reduce_ratio).double() * reduce_ratio + offset
    cols = torch.arange(width // reduce_ratio).double() * reduce_ratio + offset
    key = _sincos_2d(channels, rows, cols)
    return (-2.0 / channels * query @ key.T).float()


def _sincos_2d(channels: int, rows: Tensor, cols: Tensor) -> Tensor:
    """Row-major ``(len(rows) * len(cols), channels)`` sine-cosine position embedding."""
    grid_rows, grid_cols = torch.meshgrid(rows, cols, indexing="ij")
    quarter = channels // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter).double() / quarter)
    parts = []
    for coord in (grid_rows.reshape(-1), grid_cols.reshape(-1)):
        angle = coord[:, None] * omega[None, :]
        parts += [angle.sin(), angle.cos()]
    return torch.cat(parts, dim=1)


def _pointers(
    batch_x: Tensor | None, batch_y: Tensor | None, num_x: int, num_y: int, device: torch.device
) -> tuple[Tensor, Tensor]:
    """CSR pointers of the query and candidate nodes over a common set of graphs."""
    if (batch_x is None) != (batch_y is None):
        raise ValueError("give both batch vectors or neither")
    if batch_x is None or batch_y is None:
        return torch.tensor([0, num_x], device=device), torch.tensor([0, num_y], device=device)
    num_graphs = max(int(b.max()) + 1 if b.numel() else 0 for b in (batch_x, batch_y))
    counts_x = torch.bincount(batch_x, minlength=num_graphs)
    counts_y = torch.bincount(batch_y, minlength=num_graphs)
    zero = counts_x.new_zeros(1)
    return torch.cat([zero, counts_x.cumsum(0)]), torch.cat([zero, counts_y.cumsum(0)])


def _nearest(xq: Tensor, yk: Tensor, count: int, bias: Tensor | None, chunk_bytes: int) -> Tensor:
    """Indices ``(G, n, count)`` of the ``count`` nearest candidates, nearest first."""
    num_graphs, n, m = xq.size(0), xq.size(1), yk.size(1)
    per_row = m * xq.element_size()
    rows_per_chunk = max(1, min(n, chunk_bytes // per_row))
    graphs_per_chunk = max(1, chunk_bytes // (rows_per_chunk * per_row))
    sq_x = xq.pow(2).sum(-1, keepdim=True)
    sq_y = sq_x.transpose(1, 2) if yk is xq else yk.pow(2).sum(-1).unsqueeze(1)
    if rows_per_chunk == n and graphs_per_chunk >= num_graphs:  # one block: no copies
        dist = torch.baddbmm(sq_y, xq, yk.transpose(1, 2), alpha=-2.0).add_(sq_x)
        if bias is not None:
            dist += bias
        return dist.topk(count, dim=-1, largest=False).indices
    out = torch.empty(num_graphs, n, count, dtype=torch.long, device=xq.device)
    for g in range(0, num_graphs, graphs_per_chunk):
        gs = slice(g, g + graphs_per_chunk)
        keys = yk[gs].transpose(1, 2)
        for r in range(0, n, rows_per_chunk):
            rs = slice(r, r + rows_per_chunk)
            dist = torch.baddbmm(sq_y[gs], xq[gs, rs], keys, alpha=-2.0).add_(sq_x[gs, rs])
            if bias is not None:
                dist += bias[rs]
            out[gs, rs] = dist.topk(count, dim=-1, largest=False).indices
    return out


def _edge_index(
    rows: list[Tensor], cols: list[Tensor], num_nodes: int, device: torch.device
) -> Tensor:
    """``(2, E)`` sorted by target from per-group targets ``(t,)`` and neighbours ``(t, k')``."""
    if not rows:
        return torch.empty(2, 0, dtype=torch.long, device=device)
    degrees = {c.size(1) for c in cols}
    if len(degrees) == 1 and sum(r.numel() for r in rows) == num_nodes:
        kk = degrees.pop()
        if len(rows) == 1:
            neighbors = cols[0]
        else:
            neighbors = torch.empty(num_nodes, kk, dtype=torch.long, device=device)
            neighbors[torch.cat(rows)] = torch.cat(cols)
        target = torch.arange(num_nodes, device=device).repeat_interleave(kk)
        return torch.stack([neighbors.reshape(-1), target])
    target = torch.cat([r.repeat_interleave(c.size(1)) for r, c in zip(rows, cols, strict=True)])
    source = torch.cat([c.reshape(-1) for c in cols])
    order = torch.sort(target, stable=True).indices
    return torch.stack([source[order], target[order]])
