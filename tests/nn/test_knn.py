"""The batched dilated kNN against brute force, and its options."""

import math

import pytest
import torch
import torch.nn.functional as F

from pyg_action.bench.opcount import count_ops
from pyg_action.nn.knn import (
    DilatedKnnGraph,
    batched_knn,
    grid_relative_position_bias,
    knn,
    knn_graph,
    neighbor_table,
    neighbors_to_edge_index,
)


def make_batch(sizes, channels=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(sum(sizes), channels, generator=gen)
    batch = torch.arange(len(sizes)).repeat_interleave(torch.tensor(sizes))
    return x, batch


def brute_force(x, batch_x, y, batch_y, k, dilation, bias=None):
    """{centre: set of neighbours} from float64 distances, graph by graph."""
    xn = F.normalize(x.double(), dim=-1)
    yn = F.normalize(y.double(), dim=-1)
    out = {}
    for g in batch_x.unique().tolist():
        qi = (batch_x == g).nonzero().view(-1)
        ki = (batch_y == g).nonzero().view(-1)
        dist = torch.cdist(xn[qi], yn[ki]).pow(2)
        if bias is not None:
            dist = dist + bias.double()
        order = dist.argsort(dim=1)[:, : k * dilation : dilation]
        for row, centre in enumerate(qi.tolist()):
            out[centre] = set(ki[order[row]].tolist())
    return out


def as_sets(edge_index):
    out = {}
    for src, dst in edge_index.t().tolist():
        out.setdefault(dst, set()).add(src)
    return out


@pytest.mark.parametrize(
    "sizes,k,dilation",
    [
        ([40], 9, 1),
        ([30, 30, 30], 5, 2),
        ([25, 60, 13, 60, 25], 4, 3),
        ([100, 7, 50], 8, 1),
        ([3, 20], 9, 2),  # smaller than k * d
    ],
)
def test_knn_graph_matches_brute_force(sizes, k, dilation):
    x, batch = make_batch(sizes)
    edge_index = knn_graph(x, k, batch, dilation=dilation)
    assert as_sets(edge_index) == brute_force(x, batch, x, batch, k, dilation)
    assert torch.equal(batch[edge_index[0]], batch[edge_index[1]]), "cross-graph edge"
    assert bool((edge_index[1].diff() >= 0).all()), "not sorted by target"


def test_bipartite_knn_matches_brute_force():
    x, batch_x = make_batch([12, 30, 9], seed=1)
    y, batch_y = make_batch([20, 15, 40], seed=2)
    edge_index = knn(x, y, 4, batch_x, batch_y, dilation=2)
    assert as_sets(edge_index) == brute_force(x, batch_x, y, batch_y, 4, 2)
    assert torch.equal(batch_y[edge_index[0]], batch_x[edge_index[1]])


def test_neighbors_nearest_first_and_self_loop_first():
    x, batch = make_batch([50, 50])
    edge_index = knn_graph(x, 6, batch)
    neighbors = edge_index[0].view(100, 6)
    assert torch.equal(neighbors[:, 0], torch.arange(100))
    xn = F.normalize(x, dim=-1)
    dist = (xn[neighbors] - xn[:, None]).pow(2).sum(-1)
    assert bool((dist.diff(dim=1) >= -1e-6).all())


@pytest.mark.parametrize("sizes", [[64] * 4, [30, 70, 30, 5]])
def test_chunked_equals_unchunked(sizes):
    x, batch = make_batch(sizes, seed=3)
    full = knn_graph(x, 5, batch, dilation=2)
    tiny = knn_graph(x, 5, batch, dilation=2, chunk_bytes=1)  # one query row at a time
    mid = knn_graph(x, 5, batch, dilation=2, chunk_bytes=3 * 70 * 4)
    assert torch.equal(full, tiny)
    assert torch.equal(full, mid)


def test_equal_sizes_give_regular_layout():
    x, batch = make_batch([16] * 5)
    edge_index = knn_graph(x, 4, batch, dilation=2)
    assert torch.equal(edge_index[1], torch.arange(80).repeat_interleave(4))


def test_mixed_sizes_with_enough_nodes_give_regular_layout():
    x, batch = make_batch([16, 9, 30])
    edge_index = knn_graph(x, 3, batch, dilation=3)
    assert torch.equal(edge_index[1], torch.arange(55).repeat_interleave(3))


def test_small_graph_is_clamped():
    x, batch = make_batch([5, 1, 40])
    edge_index = knn_graph(x, 4, batch, dilation=2)
    degree = torch.bincount(edge_index[1], minlength=46)
    assert degree[:5].tolist() == [math.ceil(5 / 2)] * 5
    assert degree[5].item() == 1
    assert degree[6:].tolist() == [4] * 40
    assert edge_index[:, degree[:5].sum()].tolist() == [5, 5]  # the lone node: itself


def test_empty_candidate_graph_gives_no_edges():
    x, batch_x = make_batch([3, 4])
    y, _ = make_batch([5])
    edge_index = knn(x, y, 2, batch_x, torch.zeros(5, dtype=torch.long))
    assert edge_index[1].unique().tolist() == [0, 1, 2]


def test_bias_is_added_to_distances():
    x, batch = make_batch([20, 20], seed=4)
    bias = torch.randn(20, 20, generator=torch.Generator().manual_seed(5))
    edge_index = knn_graph(x, 3, batch, dilation=2, bias=bias)
    assert as_sets(edge_index) == brute_force(x, batch, x, batch, 3, 2, bias)
    with pytest.raises(ValueError, match="bias"):
        knn_graph(x[:30], 3, batch[:30], bias=bias)


def test_random_dilation_picks_k_of_the_k_d_nearest():
    torch.manual_seed(0)
    x, batch = make_batch([30, 30])
    edge_index = knn_graph(x, 4, batch, dilation=3, random_dilation=True)
    candidates = brute_force(x, batch, x, batch, 12, 1)
    for centre, neighbors in as_sets(edge_index).items():
        assert len(neighbors) == 4 and neighbors <= candidates[centre]


def test_module_is_stochastic_only_in_training():
    x, batch = make_batch([30, 30])
    module = DilatedKnnGraph(k=4, dilation=3, stochastic=True, epsilon=1.0)
    deterministic = knn_graph(x, 4, batch, dilation=3)
    assert torch.equal(module.eval()(x, batch), deterministic)
    torch.manual_seed(1)
    draws = [module.train()(x, batch) for _ in range(5)]
    assert any(not torch.equal(d, deterministic) for d in draws)


def test_features_are_normalised_first():
    x, batch = make_batch([25])
    scaled = x * torch.rand(25, 1) * 10
    assert torch.equal(knn_graph(x, 5, batch), knn_graph(scaled, 5, batch))


def test_no_gradient_flows_through_the_graph():
    x, batch = make_batch([10, 10])
    assert not knn_graph(x.requires_grad_(), 3, batch).requires_grad


def test_grid_relative_position_bias():
    bias = grid_relative_position_bias(16, (4, 5))
    assert bias.shape == (20, 20)
    torch.testing.assert_close(bias, bias.T)
    torch.testing.assert_close(bias.diagonal(), torch.full((20,), -1.0))
    assert bool((bias >= -1.0 - 1e-6).all())
    # depends on the offset only: (0,0)-(1,2) equals (2,1)-(3,3)
    assert bias[0, 7].item() == pytest.approx(bias[11, 18].item(), abs=1e-6)
    pooled = grid_relative_position_bias(16, (4, 6), reduce_ratio=2)
    assert pooled.shape == (24, 6)
    # the pooled cell centred between pixels (0,0),(0,1),(1,0),(1,1) is nearest to them
    assert set(pooled.argmin(dim=1)[[0, 1, 6, 7]].tolist()) == {0}


@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("chunk_bytes", [2**26, 256])
def test_batched_knn_as_a_table_equals_knn_graph(dilation, chunk_bytes):
    """Equal-size graphs from the shape alone: the same graph as knn_graph with a batch."""
    x, batch = make_batch([10, 10, 10], seed=5)
    local = batched_knn(x.view(3, 10, -1), None, 3, dilation=dilation, chunk_bytes=chunk_bytes)
    assert local.shape == (3, 10, 3)
    table = neighbor_table(local, 10)
    expected = knn_graph(x, 3, batch, dilation=dilation)
    assert torch.equal(neighbors_to_edge_index(table), expected)


def test_batched_bipartite_knn_with_bias_equals_knn():
    x, batch_x = make_batch([6, 6], seed=6)
    y, batch_y = make_batch([4, 4], seed=7)
    bias = torch.randn(6, 4)
    local = batched_knn(x.view(2, 6, -1), y.view(2, 4, -1), 2, bias=bias)
    table = neighbor_table(local, 4)
    expected = knn(x, y, 2, batch_x, batch_y, bias=bias)
    assert torch.equal(neighbors_to_edge_index(table), expected)


def test_batched_knn_clamps_to_the_candidates_and_reads_nothing_back():
    x = torch.randn(2, 5, 4)
    counts = count_ops(lambda: batched_knn(x, None, 4, dilation=2))
    assert counts.total_value_dependent == 0
    assert batched_knn(x, None, 4, dilation=2).shape == (2, 5, 3)  # ceil(5 / 2)


def test_module_batched_random_dilation_draws_k_of_the_k_d_nearest():
    torch.manual_seed(8)
    x = torch.randn(2, 12, 4)
    graph = DilatedKnnGraph(3, 2, stochastic=True, epsilon=1.0).train()
    nearest = batched_knn(x, None, 6)
    picked = graph.batched(x)
    assert picked.shape == (2, 12, 3)
    for b in range(2):
        for i in range(12):
            assert set(picked[b, i].tolist()) <= set(nearest[b, i].tolist())
    assert torch.equal(graph.eval().batched(x), nearest[..., ::2])


def test_neighbors_to_edge_index_layout():
    table = torch.tensor([[0, 2], [1, 0], [2, 1]])
    assert neighbors_to_edge_index(table).tolist() == [[0, 2, 1, 0, 2, 1], [0, 0, 1, 1, 2, 2]]
