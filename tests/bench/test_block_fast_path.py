"""The block fast path of PartitionedGraphConv equals message passing; when it applies."""

import pytest
import torch

from pyg_action.bench.shapes import Shape, skeleton_inputs
from pyg_action.layouts import get_layout, layout_graph
from pyg_action.nn import PartitionedGraphConv
from pyg_action.nn.backend import get_backend, set_backend, use_backend
from pyg_action.nn.typed_conv import block_plan


def pair(c_in, c_out, layout, bias=True):
    torch.manual_seed(0)
    graph = layout_graph(get_layout(layout))
    fast = PartitionedGraphConv(c_in, c_out, graph.num_types, graph.num_edges, bias)
    slow = PartitionedGraphConv(
        c_in, c_out, graph.num_types, graph.num_edges, bias, block_fast_path=False
    )
    fast.importance.data.uniform_(0.5, 1.5)
    slow.load_state_dict(fast.state_dict())
    return fast, slow


def run(conv, x, spatial):
    x = x.detach().clone().requires_grad_()
    out = conv(x, **spatial)
    out.sin().sum().backward()
    return out, x.grad, {n: p.grad for n, p in conv.named_parameters()}


@pytest.mark.parametrize("layout", ["ntu25", "openpose18", "msr20"])
# both product orders, each with one wide product (width < 16) and per-block products
@pytest.mark.parametrize(("c_in", "c_out"), [(3, 8), (8, 8), (8, 4), (16, 24), (24, 24), (32, 16)])
@pytest.mark.parametrize("coarsen", [1, 2])
@pytest.mark.parametrize("bias", [True, False])
def test_block_path_equals_message_passing(layout, c_in, c_out, coarsen, bias):
    shape = Shape("t", "skeleton", layout, persons=2)
    inputs = skeleton_inputs(shape, c_in, [7, 1, 4], torch.float64)
    level = inputs.level.coarsen(coarsen)
    x = inputs.nodes[: level.num_nodes] if coarsen == 1 else torch.randn(level.num_nodes, c_in)
    x = x.double()
    fast, slow = (m.double() for m in pair(c_in, c_out, layout, bias))
    spatial = level.spatial
    keys = ("edge_index", "edge_type", "edge_weight", "edge_slot")
    plan = block_plan(level.num_nodes, *(spatial[k] for k in keys))
    assert plan is not None and plan.block_size == get_layout(layout).num_joints
    out_f, grad_f, params_f = run(fast, x, spatial)
    out_s, grad_s, params_s = run(slow, x, spatial)
    torch.testing.assert_close(out_f, out_s)
    torch.testing.assert_close(grad_f, grad_s)
    for name in params_s:
        torch.testing.assert_close(params_f[name], params_s[name])


def spatial_of(frames=(3, 2)):
    shape = Shape("t", "skeleton", "ntu25", persons=1)
    inputs = skeleton_inputs(shape, 2, list(frames))
    return inputs.nodes.shape[0], dict(inputs.level.spatial)


def test_plan_needs_slots_and_identical_blocks():
    nodes, sp = spatial_of()
    args = (sp["edge_index"], sp["edge_type"], sp["edge_weight"])
    assert block_plan(nodes, *args, None) is None
    assert block_plan(nodes, *args, sp["edge_slot"]).num_blocks == 5
    weight = sp["edge_weight"].clone()
    weight[-1] += 1.0  # one frame differs: the general path must run
    assert block_plan(nodes, sp["edge_index"], sp["edge_type"], weight, sp["edge_slot"]) is None
    edge_type = sp["edge_type"].clone()
    edge_type[80] = (edge_type[80] + 1) % 3
    assert block_plan(nodes, sp["edge_index"], edge_type, weight, sp["edge_slot"]) is None
    assert block_plan(nodes + 1, *args, sp["edge_slot"]) is None


def test_plan_cache_follows_in_place_changes():
    nodes, sp = spatial_of()
    args = (sp["edge_index"], sp["edge_type"], sp["edge_weight"], sp["edge_slot"])
    assert block_plan(nodes, *args) is not None
    sp["edge_weight"][0] += 1.0  # bumps the version: checked again
    assert block_plan(nodes, *args) is None


def test_generic_graph_without_blocks_uses_messages():
    conv = PartitionedGraphConv(3, 4, 2, num_edge_slots=4)
    x = torch.randn(3, 3)
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    edge_type = torch.tensor([0, 1, 0, 1])
    slot = torch.arange(4)
    expected = PartitionedGraphConv(3, 4, 2, num_edge_slots=4, block_fast_path=False)
    expected.load_state_dict(conv.state_dict())
    torch.testing.assert_close(
        conv(x, edge_index, edge_type, edge_slot=slot),
        expected(x, edge_index, edge_type, edge_slot=slot),
    )


def test_torch_scatter_backend_equals_index_add():
    pytest.importorskip("torch_scatter")
    nodes, sp = spatial_of()
    fast, slow = pair(2, 5, "ntu25")
    x = torch.randn(nodes, 2)
    reference = slow(x, **sp)
    with use_backend(scatter="torch_scatter"):
        torch.testing.assert_close(slow(x, **sp), reference)


def test_unknown_scatter_backend_is_an_error():
    with pytest.raises(ValueError, match="scatter must be one of"):
        set_backend(scatter="nope")
    assert get_backend().scatter == "index_add"
