"""Parity of the sparse ST-GCN layers with their dense references (fp32, copied weights)."""

import pytest
import torch
from torch_geometric.loader import DataLoader

from pyg_action.graph import SkeletonGraphBuilder, batch_to_dense, track_lengths
from pyg_action.graph.levels import SkeletonLevel, TrackShape
from pyg_action.layouts import STRATEGIES, adjacency_tensor, get_layout, layout_graph
from pyg_action.nn import PartitionedGraphConv, TemporalGraphConv, use_backend
from pyg_action.nn.dense import DenseGraphConv, DenseTemporalConv
from pyg_action.testing import assert_close_scaled

TOL = dict(atol=1e-5, rtol=1e-5)


def nodes_to_dense(x, batch, num_joints):
    """(N, C) -> (B*M, C, T, V) for a batch whose samples share T and M."""
    dense = batch_to_dense(
        batch.__class__(x=x, num_frames=batch.num_frames, num_persons=batch.num_persons), num_joints
    )
    b, c, t, v, m = dense.shape
    return dense.permute(0, 4, 1, 2, 3).reshape(b * m, c, t, v)


@pytest.mark.parametrize("layout_name", ["ntu25", "openpose18"])
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("importance", [False, True])
@pytest.mark.parametrize(("c_in", "c_out"), [(6, 8), (16, 32), (32, 32)])  # see _BATCHED_MIN_WIDTH
def test_partitioned_conv_matches_dense(layout_name, strategy, importance, c_in, c_out):
    torch.manual_seed(0)
    layout = get_layout(layout_name)
    v = layout.num_joints
    graph = layout_graph(layout, strategy)
    adjacency = torch.tensor(adjacency_tensor(layout, strategy), dtype=torch.float32)
    k = adjacency.shape[0]
    dense = DenseGraphConv(c_in, c_out, k)
    sparse = PartitionedGraphConv(c_in, c_out, k, graph.num_edges if importance else None)
    sparse.lin.weight.data.copy_(dense.conv.weight.data.flatten(1))
    sparse.lin.bias.data.copy_(dense.conv.bias.data)
    mask = torch.ones_like(adjacency)
    if importance:
        mask = torch.rand_like(adjacency) + 0.5
        src, dst, kind = (torch.from_numpy(a) for a in (graph.src, graph.dst, graph.edge_type))
        sparse.importance.data.copy_(mask[kind, src, dst])
    builder = SkeletonGraphBuilder(layout, strategy)
    xs = [torch.randn(c_in, 11, v, 2) for _ in range(3)]
    batch = next(iter(DataLoader([builder(x) for x in xs], batch_size=3)))
    x_sparse = batch.x.clone().requires_grad_()
    x_dense = nodes_to_dense(batch.x, batch, v).clone().requires_grad_()
    out_sparse = sparse(
        x_sparse,
        batch.spatial_edge_index,
        batch.spatial_edge_type,
        batch.spatial_edge_weight,
        batch.spatial_edge_id,
    )
    out_dense = dense(x_dense, adjacency * mask)
    torch.testing.assert_close(nodes_to_dense(out_sparse, batch, v), out_dense, **TOL)
    grad = torch.randn_like(out_dense)
    out_dense.backward(grad)
    (out_sparse * nodes_to_dense_inverse(grad, batch, v)).sum().backward()
    torch.testing.assert_close(nodes_to_dense(x_sparse.grad, batch, v), x_dense.grad, **TOL)
    assert_close_scaled(sparse.lin.weight.grad, dense.conv.weight.grad.flatten(1))
    assert_close_scaled(sparse.lin.bias.grad, dense.conv.bias.grad)


def nodes_to_dense_inverse(dense, batch, num_joints):
    """(B*M, C, T, V) -> (N, C) for equal-shape batches (inverse of nodes_to_dense)."""
    b = int(batch.num_frames.numel())
    m = int(batch.num_persons[0])
    _, c, t, v = dense.shape
    return dense.view(b, m, c, t, v).permute(0, 1, 3, 4, 2).reshape(-1, c)


def test_importance_gradient_matches_dense():
    torch.manual_seed(1)
    layout = get_layout("ntu25")
    graph = layout_graph(layout)
    adjacency = torch.tensor(adjacency_tensor(layout), dtype=torch.float32)
    dense = DenseGraphConv(3, 4, 3)
    sparse = PartitionedGraphConv(3, 4, 3, graph.num_edges)
    sparse.lin.load_state_dict({"weight": dense.conv.weight.flatten(1), "bias": dense.conv.bias})
    mask = torch.ones_like(adjacency, requires_grad=True)
    batch = next(iter(DataLoader([SkeletonGraphBuilder(layout)(torch.randn(3, 6, 25, 1))])))
    out_dense = dense(nodes_to_dense(batch.x, batch, 25), adjacency * mask)
    out_dense.square().sum().backward()
    out_sparse = sparse(
        batch.x,
        batch.spatial_edge_index,
        batch.spatial_edge_type,
        batch.spatial_edge_weight,
        batch.spatial_edge_id,
    )
    out_sparse.square().sum().backward()
    src, dst, kind = (torch.from_numpy(a) for a in (graph.src, graph.dst, graph.edge_type))
    assert_close_scaled(sparse.importance.grad, mask.grad[kind, src, dst])


def copy_temporal(dense, sparse):
    sparse.weight.data.copy_(dense.weight[..., 0])
    sparse.bias.data.copy_(dense.bias)


@pytest.mark.parametrize(
    "shapes",
    [[(13, 1), (4, 2), (1, 1), (9, 2)], [(7, 1), (7, 2), (7, 1)]],
    ids=["mixed-lengths", "equal-lengths"],
)
@pytest.mark.parametrize("kernel,stride,dilation", [(9, 1, 1), (9, 2, 1), (5, 1, 2), (3, 2, 2)])
def test_temporal_conv_matches_conv2d_per_sample_length(
    kernel, stride, dilation, shapes, monkeypatch
):
    """A batch (mixed lengths, or all one length: the batched fast path) equals Conv2d run on
    each sample alone at its own length."""
    torch.manual_seed(2)
    dense = DenseTemporalConv(4, 5, kernel, stride, dilation)
    sparse = TemporalGraphConv(4, 5, kernel, stride, dilation)
    copy_temporal(dense, sparse)
    v = 18
    xs = [torch.randn(4, t, v, m) for t, m in shapes]
    batch = next(
        iter(DataLoader([SkeletonGraphBuilder("openpose18")(x) for x in xs], batch_size=len(xs)))
    )
    lengths = track_lengths(batch.num_frames, batch.num_persons)
    index, kind, out_lengths = sparse.build_edges(lengths, v)
    x = batch.x.clone().requires_grad_()
    out = sparse(x, index, kind, int(out_lengths.sum()) * v)
    out.square().sum().backward()
    node, out_node = 0, 0
    for sample in xs:
        _, t, _, m = sample.shape
        ref_in = sample.permute(3, 0, 1, 2).clone().requires_grad_()  # (M, C, T, V)
        ref = dense(ref_in)
        ref.square().sum().backward()
        t_out = ref.shape[2]
        got = out[out_node : out_node + m * t_out * v].view(m, t_out, v, 5).permute(0, 3, 1, 2)
        torch.testing.assert_close(got, ref, **TOL)
        got_grad = x.grad[node : node + m * t * v].view(m, t, v, 4).permute(0, 3, 1, 2)
        torch.testing.assert_close(got_grad, ref_in.grad, **TOL)
        node += m * t * v
        out_node += m * t_out * v
    assert out_node == out.shape[0]
    # dense.weight.grad holds the sum over the samples, i.e. the batch loss's gradient
    dense_weight_grad = dense.weight.grad[..., 0]
    torch.testing.assert_close(sparse.weight.grad, dense_weight_grad, **TOL)
    torch.testing.assert_close(sparse.bias.grad, dense.bias.grad, **TOL)
    # the structure-aware fast path gives the same outputs and gradients with either CPU
    # weight gradient (see pyg_action.nn.track_conv)
    for method in ("taps", "onednn"):
        sparse.zero_grad()
        x_fast = batch.x.clone().requires_grad_()
        with use_backend(conv_weight_gradient=method):
            fast = sparse.forward_tracks(x_fast, SkeletonLevel.from_batch(batch, v))
            torch.testing.assert_close(fast, out.detach(), **TOL)
            fast.square().sum().backward()
        torch.testing.assert_close(x_fast.grad, x.grad, **TOL)
        torch.testing.assert_close(sparse.weight.grad, dense_weight_grad, **TOL)
        torch.testing.assert_close(sparse.bias.grad, dense.bias.grad, **TOL)


def test_temporal_fast_path_trains_under_cpu_autocast():
    """bfloat16 autocast takes plain conv2d (the own weight gradient is fp32 only); the
    gradients stay close to the fp32 ones."""
    torch.manual_seed(3)
    conv = TemporalGraphConv(8, 8, 9)
    x = torch.randn(2 * 12 * 5, 8)
    lengths = SkeletonLevel.structured(TrackShape((12, 12), (1, 1), 5), "cpu")
    conv.forward_tracks(x, lengths).square().sum().backward()
    reference = conv.weight.grad.clone()
    conv.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = conv.forward_tracks(x, lengths)
    assert out.dtype == torch.bfloat16
    out.float().square().sum().backward()
    assert conv.weight.grad.dtype == torch.float32
    torch.testing.assert_close(conv.weight.grad, reference, atol=0.5, rtol=0.05)


def test_repr_and_generic_graph():
    conv = PartitionedGraphConv(3, 4, num_partitions=2)
    assert str(conv) == "PartitionedGraphConv(3, 4, num_partitions=2)"
    # any PyG graph with an edge type works: a 3-node path with two relation types
    x = torch.randn(3, 3)
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    edge_type = torch.tensor([0, 1, 0, 1])
    out = conv(x, edge_index, edge_type)
    w = conv.lin.weight.view(2, 4, 3)
    b = conv.lin.bias.view(2, 4)
    expected_1 = x[0] @ w[0].T + b[0] + x[2] @ w[1].T + b[1]
    torch.testing.assert_close(out[1], expected_1)
    with pytest.raises(ValueError, match="edge_slot"):
        PartitionedGraphConv(3, 4, 2, num_edge_slots=4)(x, edge_index, edge_type)
    assert "stride=2" in str(TemporalGraphConv(3, 4, 9, stride=2))


def test_temporal_conv_loads_the_point_wise_layout_of_earlier_files():
    """Checkpoints of earlier releases hold the taps as ``lin.weight`` ``(Γ C_out, C_in)``
    (rows ``k C_out + o``); they load into the convolution layout with the same outputs."""
    torch.manual_seed(0)
    conv = TemporalGraphConv(3, 4, 5)
    old = {
        "lin.weight": conv.weight.detach().permute(2, 0, 1).reshape(20, 3).clone(),
        "bias": torch.randn(4),
    }
    loaded = TemporalGraphConv(3, 4, 5)
    loaded.load_state_dict(old)
    torch.testing.assert_close(loaded.weight, conv.weight)
    x = torch.randn(2 * 6 * 5, 3)
    level = SkeletonLevel.structured(TrackShape((6, 6), (2,), 5), "cpu")
    index, kind = level.temporal(5)
    torch.testing.assert_close(loaded(x, index, kind), loaded.forward_tracks(x, level), **TOL)
    with pytest.raises(RuntimeError, match="lin.weight|weight"):
        TemporalGraphConv(3, 4, 5).load_state_dict({"lin.weight": torch.zeros(20, 2)})


def test_temporal_conv_refuses_edges_of_another_window_or_stride():
    """Edges built for another window would read the next node's taps (or index past the
    last node); a strided layer without its coarser output would return unstrided rows."""
    lengths, joints = torch.tensor([10, 6]), 3
    x = torch.randn(int(lengths.sum()) * joints, 4)
    index, kind, _ = TemporalGraphConv(4, 5, 9).build_edges(lengths, joints)
    with pytest.raises(ValueError, match=r"kernel_size 3 got edge taps 0\.\.8: .*window=3"):
        TemporalGraphConv(4, 5, 3)(x, index, kind)
    strided = TemporalGraphConv(4, 5, 9, stride=2)
    with pytest.raises(ValueError, match="stride 2 needs num_targets"):
        strided(x, index, kind)
    out_nodes = int(strided.build_edges(lengths, joints)[2].sum()) * joints
    with pytest.raises(ValueError, match=f"targets up to 47 for {out_nodes} .*stride=2"):
        strided(x, index, kind, out_nodes)
    index, kind, _ = strided.build_edges(lengths, joints)
    assert strided(x, index, kind, out_nodes).shape == (out_nodes, 5)


@pytest.mark.parametrize("order", ["target", "target_type"])
def test_slot_adjacency_is_the_scattered_scaled_edge_weights(order):
    """One product with the constant table gives the adjacency of the edge weights times their
    slots' importance, gradient included, also when slots are shared and two edges fall on one
    entry (summed)."""
    from pyg_action.graph.blocks import BlockPlan

    torch.manual_seed(0)
    edge_index = torch.tensor([[0, 1, 2, 2, 0], [1, 2, 0, 0, 1]])  # edges 0 and 4 coincide
    edge_type = torch.tensor([0, 1, 1, 1, 0])
    edge_weight = torch.rand(5)
    edge_slot = torch.tensor([0, 1, 2, 0, 1])
    plan = BlockPlan(4, 3, 5, edge_index, edge_type, edge_weight, edge_slot)
    importance = torch.rand(3, requires_grad=True)
    got = plan.slot_adjacency(importance, 2, order)
    expected_importance = importance.detach().clone().requires_grad_()
    expected = plan.adjacency(edge_weight * expected_importance[edge_slot], 2, order)
    torch.testing.assert_close(got, expected)
    seed = torch.randn_like(got)
    (got * seed).sum().backward()
    (expected * seed).sum().backward()
    torch.testing.assert_close(importance.grad, expected_importance.grad)
