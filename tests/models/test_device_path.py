"""The skeleton models' training step on the device path: no value-dependent op, few ops,
bounded by the dense reference's count (what a GPU launches and waits for, counted
deterministically on CPU), and one compiled graph at a fixed shape."""

import pytest
import torch
from torch_geometric.data import Batch

from pyg_action.bench.opcount import count_ops, training_step_ops
from pyg_action.graph import SkeletonGraphBuilder
from pyg_action.models import create_model
from pyg_action.models.dense_ctrgcn import DenseCTRGCN
from pyg_action.models.dense_shiftgcn import DenseShiftGCN
from pyg_action.models.dense_stgcn import DenseSTGCN
from pyg_action.models.dense_stgcnpp import DenseSTGCNPP
from pyg_action.nn import use_backend
from pyg_action.nn.backend import DEVICE_PATH

DENSE = {
    "stgcn": DenseSTGCN,
    "shiftgcn": DenseShiftGCN,
    "stgcnpp": DenseSTGCNPP,
    "ctrgcn": DenseCTRGCN,
}


def _batch(lengths, edges=False, channels=3):
    torch.manual_seed(0)
    builder = SkeletonGraphBuilder("ntu25", edges=edges)
    return Batch.from_data_list([builder(torch.randn(channels, t, 25, 2)) for t in lengths])


@pytest.mark.parametrize("kind,lengths", [("equal", [20] * 4), ("mixed", [20, 17, 13, 18])])
@pytest.mark.parametrize("name", ["stgcn", "shiftgcn", "stgcnpp", "ctrgcn"])
def test_training_step_has_no_value_dependent_op_and_bounded_count(name, kind, lengths):
    labels = torch.zeros(len(lengths), dtype=torch.long)
    with use_backend(**DEVICE_PATH):  # what every device but the CPU runs
        sparse = training_step_ops(create_model(name, num_classes=60), _batch(lengths), labels)
    dense_input = torch.randn(len(lengths), 3, 20, 25, 2)
    dense = training_step_ops(DENSE[name](60), dense_input, labels)
    assert sparse.total_value_dependent == 0, sparse.summary()
    # no more ops than the dense reference, at equal and at mixed lengths (the sparse model
    # then gathers the tracks into gap-separated sequences; the dense one runs padded)
    assert sparse.total <= dense.total, (sparse.summary(), dense.total)


@pytest.mark.parametrize("name", ["stgcn", "shiftgcn", "stgcnpp", "ctrgcn"])
def test_training_step_under_bf16_autocast_bounded_by_dense(name):
    """Under autocast too (what bf16 training dispatches; equal lengths): the temporal
    convolution casts its inputs like autocast and keeps its strided views."""
    labels = torch.zeros(4, dtype=torch.long)
    with use_backend(**DEVICE_PATH):
        sparse = training_step_ops(
            create_model(name, num_classes=60), _batch([20] * 4), labels, torch.bfloat16
        )
    dense_input = torch.randn(4, 3, 20, 25, 2)
    dense = training_step_ops(DENSE[name](60), dense_input, labels, torch.bfloat16)
    assert sparse.total_value_dependent == 0, sparse.summary()
    assert sparse.total <= dense.total, (sparse.summary(), dense.total)


CTRGCN_OPTIONS = {
    "input_branches": dict(in_channels=9, input_branches=3, branch_blocks=2),
    "regularisers": dict(drop_graph=0.1, drop_graph_blocks=6, drop_graph_frames=5, drop_path=0.1),
}


@pytest.mark.parametrize("option", sorted(CTRGCN_OPTIONS))
def test_ctrgcn_options_training_step_bounded_by_dense(option):
    """CTR-GCN with three input branches (9 channels, two blocks each), or with DropGraph in
    every block and stochastic depth, at mixed lengths: no value-dependent op, no more ops
    than the dense reference with the same options."""
    options = CTRGCN_OPTIONS[option]
    channels = options.get("in_channels", 3)
    lengths = [20, 17, 13, 18]
    labels = torch.zeros(len(lengths), dtype=torch.long)
    model = create_model("ctrgcn", num_classes=60, **options)
    sparse = training_step_ops(model, _batch(lengths, channels=channels), labels)
    dense_input = torch.randn(len(lengths), channels, 20, 25, 2)
    dense = training_step_ops(DenseCTRGCN(60, **options), dense_input, labels)
    assert sparse.total_value_dependent == 0, sparse.summary()
    assert sparse.total <= dense.total, (sparse.summary(), dense.total)


def test_batches_with_edges_take_the_same_path():
    """A batch that carries the explicit spatial edges (the builder's default) is convolved
    with the layout's block plan all the same: no edge is read, so nothing value-dependent."""
    labels = torch.zeros(2, dtype=torch.long)
    model = create_model("stgcn", num_classes=5, channels=[8, 8], strides=[1, 2])
    with_edges = training_step_ops(model, _batch([9, 6], edges=True), labels)
    without = training_step_ops(model, _batch([9, 6], edges=False), labels)
    assert with_edges.total_value_dependent == 0
    assert with_edges.total == without.total
    model.eval()
    torch.testing.assert_close(model(_batch([9, 6], True)), model(_batch([9, 6], False)))


def test_gravity_partitions_use_the_batch_edges():
    """Per-frame partition labels (gravity centre) cannot be one block plan: the batch's own
    edges are convolved, and the result differs from the fixed-centre labels."""
    torch.manual_seed(1)
    x = torch.randn(3, 8, 25, 1)
    gravity = Batch.from_data_list(
        [SkeletonGraphBuilder("ntu25", center="gravity", edges=False)(x)]
    )
    fixed = Batch.from_data_list([SkeletonGraphBuilder("ntu25", edges=False)(x)])
    assert hasattr(gravity, "spatial_edge_index")  # kept whatever edges=False says
    model = create_model("stgcn", num_classes=5, channels=[8], strides=[1]).eval()
    assert not torch.allclose(model(gravity), model(fixed))


def test_a_user_batch_without_its_shape_costs_one_read():
    """PyG batches made elsewhere (no host-side ``track_shape``) read their frame and person
    counts once per forward, and nothing else."""
    batch = _batch([7, 5])
    del batch.track_shape
    model = create_model("stgcn", num_classes=5, channels=[8, 8], strides=[1, 2]).eval()
    with torch.no_grad():
        model(batch)
        counts = count_ops(lambda: model(batch))
    assert counts.value_dependent == {"Tensor.tolist": 2}


@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", ["stgcn", "shiftgcn", "stgcnpp", "ctrgcn"])
def test_compiles_as_one_graph_at_a_fixed_shape(name, train):
    """``torch.compile`` sees the whole model as one graph: the level's indices are Python-side
    arithmetic on the batch's host shape, with no data-dependent branch (CTR-GCN with
    DropGraph, whose masks are drawn and built on the device)."""
    options = {"drop_graph": 0.1, "drop_graph_blocks": 2, "drop_graph_frames": 3}
    options = options if name == "ctrgcn" else {}
    model = create_model(name, num_classes=5, channels=[8, 8], strides=[1, 2], **options)
    model.train(train)
    torch._dynamo.reset()
    with use_backend(**DEVICE_PATH):
        explanation = torch._dynamo.explain(model)(_batch([9, 6]))
    assert explanation.graph_break_count == 0, explanation.break_reasons
    assert explanation.graph_count == 1


def test_shift_gcn_ignores_the_batch_edges():
    """Shift-GCN convolves over no spatial edge: a batch that carries them (the builder's
    default) takes the same cached level, and the same ops, as one without."""
    labels = torch.zeros(2, dtype=torch.long)
    model = create_model("shiftgcn", num_classes=5, channels=[8, 8], strides=[1, 2])
    with use_backend(**DEVICE_PATH):
        with_edges = training_step_ops(model, _batch([9, 6], edges=True), labels)
        without = training_step_ops(model, _batch([9, 6], edges=False), labels)
    assert with_edges.total == without.total and with_edges.total_value_dependent == 0


@pytest.mark.parametrize("name,parameter", [("stgcnpp", "offset"), ("ctrgcn", "adjacency")])
def test_learned_adjacencies_are_read_as_views_and_updated_without_a_copy(name, parameter):
    """ST-GCN++'s offset and CTR-GCN's topology are stored in the memory order their
    aggregation reads: stored in the order of their shape instead, every block would copy the
    parameter in the forward or its gradient into the parameter's layout in the backward."""
    lengths = [6, 4]
    labels = torch.zeros(len(lengths), dtype=torch.long)
    model = create_model(name, num_classes=5, channels=[8, 8, 8], strides=[1, 2, 1])
    stored = training_step_ops(model, _batch(lengths), labels)
    for block in model.blocks:
        learned = getattr(block.gcn, parameter)
        setattr(block.gcn, parameter, torch.nn.Parameter(learned.detach().contiguous()))
        assert not learned.is_contiguous()  # the stored order is not the shape's
    in_shape_order = training_step_ops(model, _batch(lengths), labels)
    copies = ("aten.copy_.default", "aten.clone.default")
    assert sum(stored.ops[k] for k in copies) + len(model.blocks) <= sum(
        in_shape_order.ops[k] for k in copies
    ), (stored.summary(), in_shape_order.summary())
    assert stored.total < in_shape_order.total
