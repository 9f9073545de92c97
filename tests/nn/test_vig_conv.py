"""ViG layers: sparse message passing against the dense official formulation, and pieces."""

import pytest
import torch
from torch_geometric.nn import GCNConv
from torch_geometric.nn.aggr import MaxAggregation

from pyg_action.nn.dense.vig import (
    DenseFFN,
    DenseGrapher,
    batched_index_select,
    dense_pointwise,
    load_sparse_state,
)
from pyg_action.nn.knn import knn_graph, neighbors_to_edge_index
from pyg_action.nn.vig_conv import (
    CONVS,
    FFN,
    DropPath,
    Grapher,
    GroupedLinear,
    MaxRelativeConv,
    RegularMaxAggregation,
    graph_conv,
    neighbor_conv,
    pointwise,
)
from pyg_action.testing import assert_close_scaled


def to_nodes(images):
    b, c, h, w = images.shape
    return images.permute(0, 2, 3, 1).reshape(b * h * w, c)


def run_both(sparse, dense, images, grid_mode):
    """Forward + backward of both on the same images and upstream gradient."""
    b, c, h, w = images.shape
    x_dense = images.clone().requires_grad_()
    x_sparse = to_nodes(images).clone().requires_grad_()
    out_dense = dense(x_dense)
    batch = torch.arange(b).repeat_interleave(h * w)
    out_sparse = sparse(x_sparse, batch, grid=(h, w)) if grid_mode else sparse(x_sparse, batch)
    upstream = torch.randn_like(out_dense)
    out_dense.backward(upstream)
    out_sparse.backward(to_nodes(upstream))
    return out_sparse, to_nodes(out_dense), x_sparse.grad, to_nodes(x_dense.grad)


def check_parity(sparse, dense, images, grid_mode=True):
    load_sparse_state(dense, sparse)
    for training in (True, False):  # eval after train: running statistics match too
        sparse.train(training)
        dense.train(training)
        sparse.zero_grad()
        dense.zero_grad()
        out_s, out_d, grad_s, grad_d = run_both(sparse, dense, images, grid_mode)
        assert_close_scaled(out_s, out_d)
        assert_close_scaled(grad_s, grad_d)
        # Parameter gradients are compared at the scale of the module's largest gradient:
        # biases feeding a training-mode BatchNorm have an exactly zero gradient, so what is
        # compared there is fp32 rounding of sums whose terms are of that scale.
        dense_params = dict(dense.named_parameters())
        scale = max(float(p.grad.abs().max()) for p in dense_params.values())
        for name, param in sparse.named_parameters():
            assert param.grad is not None, name
            expected = dense_params[name].grad.view_as(param.grad)
            assert_close_scaled(param.grad, expected, scale=max(1.0, scale))
        for name, buf in dense.named_buffers():
            assert_close_scaled(sparse.get_buffer(name).view_as(buf), buf)


@pytest.mark.parametrize("conv", CONVS)
@pytest.mark.parametrize(
    "dilation,reduce_ratio,relative_pos", [(1, 1, False), (2, 1, True), (2, 2, True)]
)
def test_grapher_matches_dense(conv, dilation, reduce_ratio, relative_pos):
    torch.manual_seed(0)
    options = dict(
        k=4,
        dilation=dilation,
        conv=conv,
        reduce_ratio=reduce_ratio,
        relative_pos=relative_pos,
        groups=4,
    )
    images = torch.randn(3, 16, 6, 6)
    check_parity(Grapher(16, **options), DenseGrapher(16, **options), images)


@pytest.mark.parametrize("conv", CONVS)
def test_grapher_batch_mode_matches_dense(conv):
    """Without a grid the Grapher builds the same graph from the batch vector."""
    torch.manual_seed(1)
    images = torch.randn(2, 8, 5, 5)
    options = dict(k=3, dilation=2, conv=conv, groups=2, act="relu")
    check_parity(Grapher(8, **options), DenseGrapher(8, **options), images, grid_mode=False)


def test_ffn_matches_dense():
    torch.manual_seed(2)
    check_parity(FFN(8, 32), DenseFFN(8, 32), torch.randn(2, 8, 4, 4), grid_mode=False)


def test_drop_path_is_per_graph_and_matches_in_eval():
    torch.manual_seed(3)
    drop = DropPath(0.5).train()
    x = torch.ones(40, 3)
    batch = torch.arange(4).repeat_interleave(10)
    out = drop(x, batch).view(4, 10, 3)
    for graph in out:
        assert graph.unique().numel() == 1 and graph[0, 0].item() in (0.0, 2.0)
    assert torch.equal(drop.eval()(x, batch), x)


def test_grouped_linear_is_a_grouped_1x1_convolution():
    torch.manual_seed(4)
    linear = GroupedLinear(12, 8, groups=4)
    conv = dense_pointwise(12, 8, groups=4, norm=None, act=None)[0]
    conv.weight.data.copy_(linear.weight.view_as(conv.weight))
    conv.bias.data.copy_(linear.bias)
    x = torch.randn(2, 12, 7, 1)
    expected = to_nodes(conv(x))
    torch.testing.assert_close(linear(to_nodes(x)), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="groups"):
        GroupedLinear(10, 8, groups=4)


def test_batched_index_select():
    x = torch.arange(2 * 3 * 4, dtype=torch.float).view(2, 3, 4, 1)
    idx = torch.tensor([[[1, 3]], [[0, 2]]])
    out = batched_index_select(x, idx)
    assert out.shape == (2, 3, 1, 2)
    assert torch.equal(out[1, :, 0, 1], x[1, :, 2, 0])


def test_regular_max_fast_path_equals_scatter_with_ties(monkeypatch):
    torch.manual_seed(5)
    num_nodes, k, channels = 6, 3, 4
    messages = torch.randint(0, 3, (num_nodes * k, channels)).float()  # many ties
    index = torch.arange(num_nodes).repeat_interleave(k)
    fast_in = messages.clone().requires_grad_()
    slow_in = messages.clone().requires_grad_()
    upstream = torch.randn(num_nodes, channels)
    fast_aggr = RegularMaxAggregation()
    monkeypatch.setattr(fast_aggr, "reduce", lambda *a, **kw: pytest.fail("scatter path used"))
    fast = fast_aggr(fast_in, index, dim_size=num_nodes)
    slow = MaxAggregation()(slow_in, index, dim_size=num_nodes)
    fast.backward(upstream)
    slow.backward(upstream)
    assert torch.equal(fast, slow)
    assert torch.equal(fast_in.grad, slow_in.grad)


@pytest.mark.parametrize("conv", CONVS)
def test_fast_path_equals_general_path_in_a_conv(conv):
    """The same kNN edges, sorted (fast path) or shuffled (scatter path)."""
    torch.manual_seed(6)
    x = torch.randn(40, 8)
    batch = torch.arange(2).repeat_interleave(20)
    edge_index = knn_graph(x, 5, batch)
    shuffled = edge_index[:, torch.randperm(edge_index.size(1))]
    layer = graph_conv(conv, 8, 16, groups=2).eval()
    results = []
    for edges in (edge_index, shuffled):
        inp = x.clone().requires_grad_()
        out = layer(inp, edges)
        out.backward(torch.ones_like(out))
        results.append((out, inp.grad))
    if conv == "gin":  # a sum: the edge order changes the rounding
        torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-6, atol=1e-5)
    else:  # a max is exact in any order
        assert torch.equal(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1], rtol=1e-6, atol=1e-5)


def test_max_relative_conv_formula_and_isolated_nodes():
    x = torch.tensor([[1.0, 0.0], [3.0, -1.0], [0.0, 5.0]])
    edge_index = torch.tensor([[1, 2, 0], [0, 0, 1]])  # 0 <- {1, 2}, 1 <- {0}, 2 <- {}
    conv = MaxRelativeConv(torch.nn.Identity())
    out = conv(x, edge_index)
    expected_max = torch.tensor([[2.0, 5.0], [-2.0, 1.0], [0.0, 0.0]])
    expected = torch.stack([x, expected_max], dim=-1).flatten(-2)  # interleaved channels
    assert torch.equal(out, expected)


def test_bipartite_max_relative_conv():
    x = torch.randn(4, 3)
    y = torch.randn(2, 3)
    edge_index = torch.tensor([[0, 1, 1, 0], [0, 1, 2, 3]])
    out = MaxRelativeConv(torch.nn.Identity())((y, x), edge_index)
    assert out.shape == (4, 6)
    torch.testing.assert_close(out[2, 1::2], y[1] - x[2])


def test_grapher_given_edges_and_errors():
    torch.manual_seed(7)
    grapher = Grapher(8, k=3).eval()
    x = torch.randn(10, 8)
    edge_index = torch.tensor([[1, 2, 3], [0, 0, 1]])
    assert grapher(x, edge_index=edge_index).shape == (10, 8)
    with pytest.raises(ValueError, match="grid"):
        Grapher(8, reduce_ratio=2)(x)
    with pytest.raises(ValueError, match="unknown graph convolution"):
        graph_conv("gat", 8, 8)
    with pytest.raises(ValueError, match="norm"):
        pointwise(8, 8, norm="layer")


@pytest.mark.parametrize("conv", CONVS)
@pytest.mark.parametrize("bipartite", [False, True])
def test_neighbor_table_path_equals_message_passing(conv, bipartite):
    """The fixed-degree path (gather + reduction) against PyG message passing on the same
    edges: outputs and gradients (random features: no tied maxima)."""
    torch.manual_seed(8)
    target = torch.randn(12, 6)
    source = torch.randn(5, 6) if bipartite else target
    table = torch.randint(0, source.size(0), (12, 3))
    layer = graph_conv(conv, 6, 8, groups=2).train()
    results = []
    for fixed in (True, False):
        src = source.clone().requires_grad_()
        tgt = src if not bipartite else target.clone().requires_grad_()
        layer.zero_grad()
        if fixed:
            out = neighbor_conv(layer, (src, tgt), table)
        else:
            out = layer((src, tgt), neighbors_to_edge_index(table))
        out.backward(torch.linspace(-1, 1, out.numel()).view_as(out))
        grads = [src.grad] + ([tgt.grad] if bipartite else [])
        results.append((out, grads, [p.grad.clone() for p in layer.parameters()]))
    (out_a, grads_a, params_a), (out_b, grads_b, params_b) = results
    torch.testing.assert_close(out_a, out_b, rtol=1e-5, atol=1e-5)
    for a, b in zip(grads_a + params_a, grads_b + params_b, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_neighbor_conv_rejects_other_operators():
    table = torch.zeros(3, 1, dtype=torch.long)
    with pytest.raises(TypeError, match="GCNConv"):
        neighbor_conv(GCNConv(4, 4), (torch.randn(3, 4), torch.randn(3, 4)), table)


def test_drop_path_on_equal_blocks_needs_no_batch_vector():
    torch.manual_seed(9)
    drop = DropPath(0.5).train()
    out = drop(torch.ones(40, 3), num_graphs=4).view(4, 10, 3)
    for graph in out:
        assert graph.unique().numel() == 1 and graph[0, 0].item() in (0.0, 2.0)
    torch.manual_seed(9)
    with_batch = drop(torch.ones(40, 3), torch.arange(4).repeat_interleave(10), num_graphs=4)
    assert torch.equal(with_batch.view(4, 10, 3), out)
