"""Whole-model parity of the sparse ST-GCN++ with the dense pyskl formulation, and the weight
converter from pyskl's checkpoint layout."""

import pytest
import torch
from torch_geometric.data import Batch

from pyg_action.graph import SkeletonGraphBuilder
from pyg_action.layouts import adjacency_tensor, get_layout
from pyg_action.models import create_model
from pyg_action.models.convert import stgcnpp_from_pyskl
from pyg_action.models.dense_stgcnpp import DenseSTGCNPP
from pyg_action.models.stgcnpp import STGCNPP
from pyg_action.nn import PartitionedGraphConv

SMALL = dict(channels=(16, 16, 32, 32, 32), strides=(1, 2, 1, 2, 1))
JOINTS = {"ntu25": 25, "openpose18": 18}


def layout_adjacency(layout):
    return torch.tensor(adjacency_tensor(get_layout(layout), "spatial", 1, 1), dtype=torch.float32)


def paired_models(layout="ntu25", **kwargs):
    """A dense model moved away from its initialisation (every parameter, the learned
    adjacency included, and the batch-norm statistics) and the sparse model converted from
    its state dict."""
    torch.manual_seed(0)
    options = {**SMALL, **kwargs}
    dense = DenseSTGCNPP(7, 3, layout, **options)
    for p in dense.parameters():
        p.data.add_(0.2 * torch.randn_like(p))
    for m in dense.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
    sparse = STGCNPP(7, 3, layout, **options)
    sparse.load_state_dict(stgcnpp_from_pyskl(dense.state_dict(), layout_adjacency(layout)))
    return dense, sparse


def batch_of(samples, layout="ntu25"):
    builder = SkeletonGraphBuilder(layout, edges=False)
    return Batch.from_data_list([builder(x) for x in samples])


def sparse_gradients(sparse):
    return {n: p.grad for n, p in sparse.named_parameters()}


def dense_gradients_as_sparse(dense):
    """The dense model's parameter gradients under the sparse model's names (the converter
    is linear in every entry; the adjacency's gradient is the offset's)."""
    grads = {n: p.grad for n, p in dense.named_parameters()}
    zero = torch.zeros_like(dense.backbone.gcn[0].gcn.A)
    return stgcnpp_from_pyskl(grads, zero)


def assert_gradients_close(sparse, dense, tolerance=1e-5):
    """Every parameter gradient within ``tolerance`` of the largest gradient entry of its
    layer kind (the biases before a batch-norm have a zero gradient up to rounding, so their
    own scale is no yardstick)."""
    expected = dense_gradients_as_sparse(dense)
    got = sparse_gradients(sparse)
    assert set(expected) == set(got)
    scale = max(float(g.abs().max()) for g in expected.values())
    for name, grad in got.items():
        own = float(expected[name].abs().max())
        atol = tolerance * max(own, 1e-3 * scale)
        torch.testing.assert_close(grad, expected[name].to(grad.dtype), atol=atol, rtol=0)


@pytest.mark.parametrize("layout", sorted(JOINTS))
@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
def test_two_person_batch_matches_dense_outputs_and_gradients(layout, train):
    """fp32 outputs in both modes and fp32 gradients in eval mode agree to 1e-5. In train
    mode the batch-norms' backward through ten layers of small batch statistics amplifies fp32
    rounding (the converted adjacency ``A - A_layout + A_layout`` alone differs by one ulp)
    to about 1e-2 of a gradient's scale in the worst channel, so train-mode gradients are
    compared in float64, where they agree to 1e-6."""
    dense, sparse = paired_models(layout)
    dense.train(train)
    sparse.train(train)
    x = torch.randn(4, 3, 20, JOINTS[layout], 2)
    target = torch.randn(4, 7)
    batch = batch_of(list(x), layout)
    out_dense = dense(x)
    out_sparse = sparse(batch)
    torch.testing.assert_close(out_sparse, out_dense, atol=1e-5, rtol=1e-5)
    if train:  # the batch statistics were updated identically
        torch.testing.assert_close(
            sparse.blocks[1].tcn.reduce_norm.running_var,
            torch.cat([b[1].running_var for b in dense.backbone.gcn[1].tcn.branches[:-1]]),
        )
        dense, sparse = paired_models(layout)
        dense.double().train()
        sparse.double().train()
        x, target, batch.x = x.double(), target.double(), batch.x.double()
        out_dense = dense(x)
        out_sparse = sparse(batch)
    (out_dense * target).sum().backward()
    (out_sparse * target).sum().backward()
    assert_gradients_close(sparse, dense, 1e-6 if train else 1e-5)


@pytest.mark.parametrize("layout", sorted(JOINTS))
def test_mixed_lengths_and_persons_match_dense_on_each_sample_alone(layout):
    """Outputs and parameter gradients of one padding-free batch equal those of the dense
    model run on every sample at its own length (eval mode: the samples are independent)."""
    dense, sparse = paired_models(layout)
    dense.eval()
    sparse.eval()
    v = JOINTS[layout]
    shapes = [(30, 1), (9, 2), (1, 1), (17, 2), (4, 1), (12, 2)]
    samples = [torch.randn(3, t, v, m) for t, m in shapes]
    target = torch.randn(len(samples), 7)
    out = sparse(batch_of(samples, layout))
    (out * target).sum().backward()
    for i, x in enumerate(samples):
        alone = dense(x[None])
        torch.testing.assert_close(out[i : i + 1], alone, atol=1e-5, rtol=1e-5)
        (alone * target[i]).sum().backward()
    assert_gradients_close(sparse, dense)


def test_padding_changes_the_dense_answer_but_not_the_sparse_one():
    dense, sparse = paired_models()
    dense.eval()
    sparse.eval()
    x = torch.randn(3, 12, 25, 1)
    padded = torch.zeros(3, 40, 25, 1)
    padded[:, :12] = x
    assert not torch.allclose(dense(padded[None]), dense(x[None]), atol=1e-3)
    torch.testing.assert_close(sparse(batch_of([x])), dense(x[None]), atol=1e-5, rtol=1e-5)


def test_learned_adjacency_reaches_pairs_without_a_layout_edge():
    """The offset covers every joint pair (pyskl learns the whole ``A``): a pair with no bone
    between its joints gets a gradient, and moving it changes the output."""
    _, sparse = paired_models()
    sparse.eval()
    batch = batch_of([torch.randn(3, 6, 25, 1)])
    sparse(batch).sum().backward()
    offset = sparse.blocks[0].gcn.offset
    a = layout_adjacency("ntu25")
    no_edge = a.sum(0) == 0
    assert float(offset.grad[:, no_edge].abs().max()) > 0
    before = sparse(batch).detach()
    with torch.no_grad():
        offset[1, 3, 20] += 1.0  # head -> spine shoulder: no bone
    assert not torch.allclose(sparse(batch), before)


def test_default_model_has_pyskl_size_and_converts_a_full_dense_state():
    dense = DenseSTGCNPP(60)
    sparse = create_model("stgcnpp", num_classes=60)
    n_dense = sum(p.numel() for p in dense.parameters())
    assert n_dense == sum(p.numel() for p in sparse.parameters())
    assert 1.35e6 < n_dense < 1.45e6  # pyskl reports 1.39 M
    converted = stgcnpp_from_pyskl(dense.state_dict(), layout_adjacency("ntu25"))
    assert set(converted) == set(sparse.state_dict())
    for name, value in sparse.state_dict().items():
        assert converted[name].shape == value.shape, name


def test_converter_takes_a_data_parallel_prefix_and_names_unknown_keys():
    dense, sparse = paired_models()
    prefixed = {f"module.{k}": v for k, v in dense.state_dict().items()}
    sparse.load_state_dict(stgcnpp_from_pyskl(prefixed, layout_adjacency("ntu25")))
    with pytest.raises(KeyError, match="neck.weight"):
        stgcnpp_from_pyskl({"neck.weight": torch.zeros(1)}, layout_adjacency("ntu25"))
    bad_block = {"backbone.gcn.0.gcn.attention.weight": torch.zeros(1)}
    with pytest.raises(KeyError, match="gcn.attention.weight"):
        stgcnpp_from_pyskl(bad_block, layout_adjacency("ntu25"))


def test_per_frame_partitions_are_a_clear_error():
    model = create_model("stgcnpp", num_classes=3, channels=[8], strides=[1])
    gravity = Batch.from_data_list(
        [SkeletonGraphBuilder("ntu25", center="gravity")(torch.randn(3, 5, 25, 1))]
    )
    with pytest.raises(ValueError, match="every joint pair"):
        model(gravity)


def test_adjacency_offset_needs_the_block_form():
    """Per-edge messages cannot carry an offset over pairs without an edge: asked to, the layer
    says so instead of silently dropping those pairs."""
    conv = PartitionedGraphConv(4, 6, 3, offset_joints=25)
    edges = {
        "edge_index": torch.tensor([[0, 1], [1, 0]]),
        "edge_type": torch.tensor([0, 1]),
    }
    with pytest.raises(ValueError, match="block plan"):
        conv(torch.randn(25, 4), **edges)
