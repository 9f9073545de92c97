"""Whole-model parity of the sparse ST-GCN with the dense official formulation."""

import pytest
import torch
from torch_geometric.loader import DataLoader

from pyg_action.graph import SkeletonGraphBuilder
from pyg_action.layouts import layout_graph
from pyg_action.models import create_model
from pyg_action.models.convert import sparse_from_dense
from pyg_action.models.dense_stgcn import DenseSTGCN
from pyg_action.models.stgcn import STGCN

SMALL = dict(channels=(16, 16, 32, 32, 32), strides=(1, 2, 1, 2, 1))


def paired_models(layout="ntu25", strategy="spatial", **kwargs):
    torch.manual_seed(0)
    options = {**SMALL, **kwargs}
    temporal_impl = options.pop("temporal_impl", "tracks")
    dense = DenseSTGCN(7, 3, layout, strategy, **options)
    for p in dense.parameters():  # move away from the ones/zeros initialisation
        p.data.add_(0.2 * torch.randn_like(p))
    for m in dense.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
    sparse = STGCN(7, 3, layout, strategy, **options, temporal_impl=temporal_impl)
    sparse.load_state_dict(
        sparse_from_dense(dense.state_dict(), layout_graph(sparse.layout, strategy))
    )
    return dense, sparse


def batch_of(samples, layout="ntu25", strategy="spatial"):
    builder = SkeletonGraphBuilder(layout, strategy)
    return next(iter(DataLoader([builder(x) for x in samples], batch_size=len(samples))))


@pytest.mark.parametrize("layout,joints", [("ntu25", 25), ("openpose18", 18)])
@pytest.mark.parametrize("train", [False, True])
def test_fixed_length_batch_matches_dense(layout, joints, train):
    dense, sparse = paired_models(layout, dropout=0.0)
    dense.train(train)
    sparse.train(train)
    x = torch.randn(4, 3, 20, joints, 2)
    out_dense = dense(x)
    out_sparse = sparse(batch_of(list(x), layout))
    torch.testing.assert_close(out_sparse, out_dense, atol=1e-4, rtol=1e-4)
    if train:  # batch statistics were updated identically
        torch.testing.assert_close(sparse.data_norm.norm.running_mean, dense.data_bn.running_mean)


@pytest.mark.parametrize("temporal_impl", ["tracks", "edges"])
def test_variable_lengths_match_dense_on_each_sample_alone(temporal_impl):
    dense, sparse = paired_models(temporal_impl=temporal_impl)
    dense.eval()
    sparse.eval()
    samples = [torch.randn(3, t, 25, m) for t, m in [(30, 1), (9, 2), (1, 1), (17, 2), (4, 1)]]
    out = sparse(batch_of(samples))
    for i, x in enumerate(samples):
        torch.testing.assert_close(out[i : i + 1], dense(x[None]), atol=1e-4, rtol=1e-4)


def test_padding_changes_the_dense_answer_but_not_the_sparse_one():
    """Why padding-free matters: the official zero padding to a fixed length alters logits."""
    dense, sparse = paired_models()
    dense.eval()
    sparse.eval()
    x = torch.randn(3, 12, 25, 1)
    padded = torch.zeros(3, 40, 25, 1)
    padded[:, :12] = x
    assert not torch.allclose(dense(padded[None]), dense(x[None]), atol=1e-3)
    torch.testing.assert_close(sparse(batch_of([x])), dense(x[None]), atol=1e-4, rtol=1e-4)


def test_joint_responses_average_to_logits():
    _, sparse = paired_models()
    sparse.eval()
    batch = batch_of([torch.randn(3, t, 25, 1) for t in (8, 13)])
    responses = sparse.joint_responses(batch)
    assert responses.shape == (2, 25, 7)
    torch.testing.assert_close(responses.mean(1), sparse(batch), atol=1e-5, rtol=1e-5)


def test_registry_builds_default_stgcn_and_backward_has_no_nan():
    model = create_model("stgcn", num_classes=5, in_channels=3, layout="msr20")
    assert [b.gcn.out_channels for b in model.blocks] == [
        64,
        64,
        64,
        64,
        128,
        128,
        128,
        256,
        256,
        256,
    ]
    assert [b.stride for b in model.blocks] == [1, 1, 1, 1, 2, 1, 1, 2, 1, 1]
    batch = batch_of([torch.randn(3, t, 20, 1) for t in (10, 7)], layout="msr20")
    out = model(batch)
    out.sum().backward()
    assert out.shape == (2, 5)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert model.blocks[0].gcn.importance.grad is not None
    with pytest.raises(ValueError, match="unknown model"):
        create_model("nope", num_classes=2)


def test_layout_mismatch_is_a_clear_error():
    model = create_model("stgcn", num_classes=2, layout="msr20", **SMALL)
    with pytest.raises(ValueError, match="does the layout match"):
        model(batch_of([torch.randn(3, 5, 25, 1)]))
