"""Whole-model parity of the sparse CTR-GCN with the dense official formulation, and the
weight converter from the official checkpoint layout."""

from collections import Counter

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch_geometric.data import Batch

from pyg_action.graph import SkeletonGraphBuilder
from pyg_action.graph.levels import SkeletonLevel
from pyg_action.layouts import get_layout
from pyg_action.layouts.partitions import hop_distance
from pyg_action.models import create_model
from pyg_action.models.convert import ctrgcn_from_official
from pyg_action.models.ctrgcn import CTRGCN
from pyg_action.models.dense_ctrgcn import DenseCTRGCN
from pyg_action.nn.ctr_conv import relation_width

SMALL = dict(channels=(16, 16, 32, 32, 32), strides=(1, 2, 1, 2, 1))
JOINTS = {"ntu25": 25, "openpose18": 18}


def paired_models(layout="ntu25", dtype=torch.float32, in_channels=3, **options):
    """A dense model moved away from its initialisation (every parameter, the topology and
    ``alpha`` included, and the batch-norm statistics) and the sparse model converted from its
    state dict."""
    torch.manual_seed(0)
    dense = DenseCTRGCN(7, in_channels, layout, **SMALL, **options)
    for p in dense.parameters():
        p.data.add_(0.2 * torch.randn_like(p))
    for m in dense.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
    sparse = CTRGCN(7, in_channels, layout, **SMALL, **options)
    sparse.load_state_dict(ctrgcn_from_official(dense.state_dict()))
    return dense.to(dtype), sparse.to(dtype)


def batch_of(samples, layout="ntu25", dtype=torch.float32):
    builder = SkeletonGraphBuilder(layout, edges=False)
    batch = Batch.from_data_list([builder(x.float()) for x in samples])
    batch.x = batch.x.to(dtype)
    return batch


def assert_close_to_scale(got, expected, tolerance):
    scale = float(expected.detach().abs().max())
    torch.testing.assert_close(got, expected, atol=tolerance * scale, rtol=0)


def assert_gradients_close(sparse, dense, tolerance):
    """Every parameter gradient within ``tolerance`` of the largest entry of its own
    gradient (or of a thousandth of the largest gradient, for those that are ~0)."""
    expected = ctrgcn_from_official({n: p.grad for n, p in dense.named_parameters()})
    got = {n: p.grad for n, p in sparse.named_parameters()}
    assert set(expected) == set(got)
    scale = max(float(g.abs().max()) for g in expected.values())
    for name, grad in got.items():
        atol = tolerance * max(float(expected[name].abs().max()), 1e-3 * scale)
        torch.testing.assert_close(grad, expected[name], atol=atol, rtol=0, msg=name)


def assert_msr_training_batch_matches(dense, sparse):
    """One float64 MSR-20 batch (one person, equal lengths) through both models in training
    mode: outputs within 1e-9 of their scale, gradients within 1e-6 (then accumulated)."""
    x = torch.randn(4, 3, 16, 20, 1).double()  # fp32 draws, as the builder keeps
    target = torch.randn(4, 7, dtype=torch.float64)
    out, expected = sparse(batch_of(list(x), "msr20", torch.float64)), dense(x)
    assert_close_to_scale(out, expected, 1e-9)
    (out * target).sum().backward()
    (expected * target).sum().backward()
    assert_gradients_close(sparse, dense, 1e-6)


@pytest.mark.parametrize("layout", sorted(JOINTS))
@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
def test_two_person_batch_matches_dense_outputs_and_gradients(layout, train):
    """fp32 outputs within 1e-5 of their scale; gradients compared in float64 (1e-6): in fp32
    the dense reference's own gradients are 2-5e-5 away from its float64 ones (ten layers,
    and a max-pool branch whose argmax a last-bit difference can move), so an fp32 tolerance
    tight enough to matter would test rounding (see tests/models/test_stgcnpp.py)."""
    dense, sparse = paired_models(layout)
    dense.train(train)
    sparse.train(train)
    x = torch.randn(4, 3, 20, JOINTS[layout], 2)
    target = torch.randn(4, 7)
    out_dense = dense(x)
    out_sparse = sparse(batch_of(list(x), layout))
    assert_close_to_scale(out_sparse, out_dense, 1e-5)
    if train:
        torch.testing.assert_close(sparse.person_norm.norm.running_mean, dense.data_bn.running_mean)
        torch.testing.assert_close(sparse.person_norm.norm.running_var, dense.data_bn.running_var)
    dense, sparse = paired_models(layout, torch.float64)
    dense.train(train)
    sparse.train(train)
    x, target = x.double(), target.double()
    (dense(x) * target).sum().backward()
    (sparse(batch_of(list(x), layout, torch.float64)) * target).sum().backward()
    assert_gradients_close(sparse, dense, 1e-6)


@pytest.mark.parametrize(
    "strategy, max_hop, partitions",
    [
        ("spatial", 1, 3),
        ("spatial_full_hops", 1, 3),
        ("distance", 1, 2),
        ("uniform", 1, 1),
        ("spatial", 2, 5),
        ("distance", 2, 3),
    ],
)
def test_other_starting_topologies_match_dense_with_their_partition_count(
    strategy, max_hop, partitions
):
    """The MSR config's spatial start, the paper's spatial rule, strategies with two and one
    partitions (one refined topology per partition), and two-hop starts, on MSR-20 with one
    person: float64 outputs and gradients as the dense model's in training (one batch) and on
    mixed lengths in eval mode."""
    options = dict(strategy=strategy, max_hop=max_hop, num_persons=1)
    dense, sparse = paired_models("msr20", torch.float64, **options)
    assert sparse.blocks[0].gcn.adjacency.shape[0] == dense.l1.gcn1.PA.shape[0] == partitions
    assert_msr_training_batch_matches(dense, sparse)
    dense.eval()
    sparse.eval()
    samples = [torch.randn(3, t, 20, 1).double() for t in (21, 8, 1, 13)]
    out = sparse(batch_of(samples, "msr20", torch.float64))
    for i, sample in enumerate(samples):
        assert_close_to_scale(out[i : i + 1], dense(sample[None]), 1e-9)


def test_a_fixed_topology_matches_dense_and_is_never_trained():
    """``learn_adjacency=False`` (the official ``adaptive=False``): ``A`` is a buffer in both
    models, saved and converted with the weights, left as it started by an optimiser step,
    and the outputs and gradients are the dense model's (float64, training mode)."""
    options = dict(strategy="spatial", num_persons=1, learn_adjacency=False)
    dense, sparse = paired_models("msr20", torch.float64, **options)
    assert not [n for n, _ in sparse.named_parameters() if n.endswith("adjacency")]
    assert not [n for n, _ in dense.named_parameters() if n.endswith("PA")]
    start = {n: t.clone() for n, t in sparse.state_dict().items() if n.endswith("adjacency")}
    assert len(start) == len(SMALL["channels"])
    torch.testing.assert_close(start["blocks.0.gcn.adjacency"], dense.l1.gcn1.PA)
    assert_msr_training_batch_matches(dense, sparse)
    torch.optim.SGD(sparse.parameters(), lr=0.5).step()
    for name, before in start.items():
        torch.testing.assert_close(sparse.state_dict()[name], before, rtol=0, atol=0)
    learned = CTRGCN(7, 3, "msr20", strategy="spatial", num_persons=1, **SMALL)
    assert len([n for n, _ in learned.named_parameters() if n.endswith("adjacency")]) == 5


@pytest.mark.parametrize("strategy, partitions", [("spatial", 5), ("distance", 3)])
def test_two_hop_start_reaches_joints_two_bones_apart_in_both_models(strategy, partitions):
    """``max_hop=2`` starts every block's ``A`` on the joints at most two bones apart, in the
    sparse and the dense model alike (their parity: the test above): ``distance`` adds the
    two-hop ring as a third partition, ``spatial`` splits it by the distance to the centre
    (five partitions, as ST-GCN's)."""
    layout = get_layout("msr20")
    hops = hop_distance(layout.num_joints, layout.bones, 2)
    torch.manual_seed(0)
    sparse = CTRGCN(7, 3, "msr20", strategy=strategy, max_hop=2, num_persons=1, **SMALL)
    dense = DenseCTRGCN(7, 3, "msr20", strategy=strategy, max_hop=2, num_persons=1, **SMALL)
    for start in (sparse.blocks[0].gcn.adjacency, dense.l1.gcn1.PA):
        assert start.shape[0] == partitions
        reached = (start.detach().abs().sum(0) > 0).numpy()
        np.testing.assert_array_equal(reached, hops <= 2)
    assert (hops == 2).any()


REGULARISERS = {
    "drop_path": {"drop_path": 0.6},
    "drop_graph": {"drop_graph": 0.3, "drop_graph_blocks": 3, "drop_graph_frames": 5},
    "both": {"drop_path": 0.4, "drop_graph": 0.3, "drop_graph_blocks": 5, "drop_graph_frames": 3},
}


@pytest.mark.parametrize("layout", sorted(JOINTS))
@pytest.mark.parametrize("regulariser", sorted(REGULARISERS))
def test_random_regularisers_in_training_match_dense_with_the_same_draws(layout, regulariser):
    """Stochastic depth (``drop_path``) and DropGraph in training: from the same generator
    state both models skip the same blocks for the same samples and drop the same joints and
    frames, so outputs and gradients agree (float64, as in the train-mode test above); the
    draws do change the output (against the same model without them), and evaluation ignores
    them."""
    options = REGULARISERS[regulariser]
    dense, sparse = paired_models(layout, torch.float64, **options)
    dense.train()
    sparse.train()
    x = torch.randn(6, 3, 20, JOINTS[layout], 2).double()  # fp32 values, as the builder keeps
    target = torch.randn(6, 7, dtype=torch.float64)
    torch.manual_seed(3)
    out_dense = dense(x)
    torch.manual_seed(3)
    out_sparse = sparse(batch_of(list(x), layout, torch.float64))
    assert_close_to_scale(out_sparse, out_dense, 1e-9)
    (out_dense * target).sum().backward()
    (out_sparse * target).sum().backward()
    assert_gradients_close(sparse, dense, 1e-6)

    _, undropped = paired_models(layout, torch.float64)
    undropped.train()
    out_undropped = undropped(batch_of(list(x), layout, torch.float64))
    assert not torch.allclose(out_sparse, out_undropped, atol=1e-3)
    evaluated = [
        paired_models(layout, torch.float64, **chosen)[1].eval()(
            batch_of(list(x), layout, torch.float64)
        )
        for chosen in (options, {})
    ]
    torch.testing.assert_close(*evaluated)


def test_drop_graph_acts_in_the_last_blocks_only_and_its_options_are_checked():
    model = CTRGCN(7, 3, "ntu25", **SMALL, drop_graph=0.2, drop_graph_blocks=2)
    rates = [block.drop_graph.p for block in model.blocks]
    assert rates == [0.0, 0.0, 0.0, 0.2, 0.2]
    with pytest.raises(ValueError, match="drop_graph_blocks=6"):
        CTRGCN(7, 3, "ntu25", **SMALL, drop_graph=0.2, drop_graph_blocks=6)
    with pytest.raises(ValueError, match="odd"):
        DenseCTRGCN(7, 3, "ntu25", **SMALL, drop_graph=0.2, drop_graph_frames=8)


@pytest.mark.parametrize("layout", sorted(JOINTS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
def test_mixed_lengths_match_dense_on_each_sample_alone(layout, dtype):
    """Two-person samples of lengths 30/9/1/17/4 in one padding-free batch: outputs and summed
    parameter gradients equal the dense model's on every sample at its own length (eval
    mode), in fp32 and, tighter, in float64."""
    output_tolerance, gradient_tolerance = (1e-5, 1e-4) if dtype == torch.float32 else (1e-9, 1e-7)
    dense, sparse = paired_models(layout, dtype)
    dense.eval()
    sparse.eval()
    # fp32 draws (the builder stores fp32 coordinates), exactly representable in float64
    samples = [torch.randn(3, t, JOINTS[layout], 2).to(dtype) for t in (30, 9, 1, 17, 4)]
    target = torch.randn(len(samples), 7, dtype=dtype)
    out = sparse(batch_of(samples, layout, dtype))
    (out * target).sum().backward()
    for i, x in enumerate(samples):
        alone = dense(x[None])
        assert_close_to_scale(out[i : i + 1], alone, output_tolerance)
        (alone * target[i]).sum().backward()
    assert_gradients_close(sparse, dense, gradient_tolerance)


@pytest.mark.parametrize("layout", sorted(JOINTS))
def test_input_branches_match_dense_in_training_and_on_mixed_lengths(layout):
    """Three 3-channel input streams, each through its own first two blocks (the second with
    stride 2), then the shared blocks: train mode (batch statistics, float64) on two-person
    samples, and eval mode on a padding-free batch of lengths 30/9/1/17/4 against each sample
    alone (outputs in fp32, gradients in float64 as in the two-person test); the branches do
    not see each other's channels."""
    options = dict(in_channels=9, input_branches=3, branch_blocks=2)
    dense, sparse = paired_models(layout, torch.float64, **options)
    assert sparse.branches is not None and len(sparse.blocks) == len(SMALL["channels"]) - 2
    dense.train()
    sparse.train()
    x = torch.randn(4, 9, 20, JOINTS[layout], 2).double()
    target = torch.randn(4, 7, dtype=torch.float64)
    out_dense, out_sparse = dense(x), sparse(batch_of(list(x), layout, torch.float64))
    assert_close_to_scale(out_sparse, out_dense, 1e-9)
    (out_dense * target).sum().backward()
    (out_sparse * target).sum().backward()
    assert_gradients_close(sparse, dense, 1e-6)

    samples = [torch.randn(9, t, JOINTS[layout], 2) for t in (30, 9, 1, 17, 4)]
    target = torch.randn(len(samples), 7)
    for dtype in (torch.float64, torch.float32):
        dense, sparse = paired_models(layout, dtype, **options)
        dense.eval()
        sparse.eval()
        out = sparse(batch_of(samples, layout, dtype))
        (out * target.to(dtype)).sum().backward()
        for i, sample in enumerate(samples):
            alone = dense(sample[None].to(dtype))
            assert_close_to_scale(out[i : i + 1], alone, 1e-5)
            (alone * target[i].to(dtype)).sum().backward()
        if dtype == torch.float64:
            assert_gradients_close(sparse, dense, 1e-6)

    # what the shared blocks receive: branch s's output in channels [16 s, 16 s + 16)
    received = []
    sparse.blocks[0].register_forward_pre_hook(lambda _, args: received.append(args[0]))
    moved = samples[0].clone()
    moved[3:6] += 1.0  # the second stream only
    sparse(batch_of([samples[0]], layout))
    sparse(batch_of([moved], layout))
    unmoved, with_moved = (r.view(-1, 3, 16) for r in received)
    torch.testing.assert_close(with_moved[:, [0, 2]], unmoved[:, [0, 2]], atol=0, rtol=0)
    assert not torch.allclose(with_moved[:, 1], unmoved[:, 1], atol=1e-3)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(in_channels=8, input_branches=3), "positive divisor of the 8 input channels"),
        (dict(in_channels=9, input_branches=0), "input_branches=0"),
        (dict(in_channels=9, input_branches=3, branch_blocks=5), "branch_blocks=5"),
        (dict(in_channels=9, input_branches=3, branch_blocks=0), "branch_blocks=0"),
    ],
)
def test_input_branch_options_are_checked(options, message):
    for model in (CTRGCN, DenseCTRGCN):
        with pytest.raises(ValueError, match=message):
            model(7, layout="ntu25", **SMALL, **options)


def test_one_person_samples_use_only_their_own_frames():
    """A one-person sample is the mean over its one person: adding a second, all-zero person
    (the official padding) changes the answer, while the sparse model has no such person."""
    _, sparse = paired_models()
    sparse.eval()
    x = torch.randn(3, 10, 25, 1)
    padded = torch.cat([x, torch.zeros_like(x)], -1)
    alone, with_zeros = sparse(batch_of([x])), sparse(batch_of([padded]))
    assert not torch.allclose(alone, with_zeros, atol=1e-3)
    mixed = sparse(batch_of([x, torch.randn(3, 7, 25, 2)]))
    torch.testing.assert_close(mixed[:1], alone, atol=1e-4, rtol=1e-4)


def test_refinement_reaches_every_joint_pair_per_sample():
    """With ``alpha`` switched on, the topology of each sample differs and joint pairs without
    a bone exchange features: moving a far joint changes another joint's output."""
    model = CTRGCN(5, 3, "ntu25", channels=[8], strides=[1]).eval()
    conv = model.blocks[0].gcn
    with torch.no_grad():
        conv.alpha.fill_(1.0)
        conv.adjacency.zero_()  # only the refinement connects joints
    x = torch.randn(3, 6, 25, 1)
    level_in = batch_of([x])
    moved = x.clone()
    moved[:, :, 24] += 5.0  # a hand tip
    nodes = model.forward_nodes(level_in)[0].view(6, 25, -1)
    nodes_moved = model.forward_nodes(batch_of([moved]))[0].view(6, 25, -1)
    assert not torch.allclose(nodes[:, 3], nodes_moved[:, 3])  # the head


class _TouchesOfSize(TorchDispatchMode):
    """Counts, by name, the operators (views aside) that read or write a tensor of ``size``
    elements."""

    def __init__(self, size):
        super().__init__()
        self.size, self.ops = size, Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        tensors = [t for t in tree_leaves((args, kwargs, out)) if isinstance(t, torch.Tensor)]
        if not func.is_view and any(t.numel() == self.size for t in tensors):
            self.ops[func.overloadpacket.__name__] += 1
        return out


@pytest.mark.parametrize("lengths", [(6, 6), (6, 4)])
def test_refined_topology_is_written_once_and_never_scaled_or_shifted(lengths):
    """The per-channel topology (``K, C_out, R, V, V``, the largest tensor of the layer at
    short clips) comes out of one batched product with the bias, ``alpha`` and ``A`` folded
    in: in a forward and backward only that product, its two backward products and the
    stacking of the partitions' gradients touch a tensor of its size (adding the bias and
    ``A`` and scaling by ``alpha`` there would add, multiply and sum over it)."""
    model = CTRGCN(5, 3, "msr20", channels=[16, 32], strides=[1, 1], num_persons=1)
    conv = model.blocks[1].gcn
    with torch.no_grad():
        conv.alpha.fill_(0.5)
    batch = batch_of([torch.randn(3, t, 20, 1) for t in lengths], layout="msr20")
    level = SkeletonLevel.from_batch(batch, 20, model.layout_graph)
    x = torch.randn(batch.num_nodes, 16, requires_grad=True)
    expected = conv(x, level)
    size = conv.num_partitions * 32 * len(lengths) * 20 * 20
    with _TouchesOfSize(size) as touches:
        out = conv(x, level)
        out.square().sum().backward()
    assert dict(touches.ops) == {"bmm": 3, "stack": 1}
    torch.testing.assert_close(out, expected)
    assert conv.alpha.grad.abs() > 0 and conv.adjacency.grad.abs().sum() > 0


def test_default_model_has_the_official_size_and_converts_key_for_key():
    dense = DenseCTRGCN(60)
    sparse = create_model("ctrgcn", num_classes=60)
    n_dense = sum(p.numel() for p in dense.parameters())
    assert n_dense == sum(p.numel() for p in sparse.parameters())
    assert 1.40e6 < n_dense < 1.50e6  # the paper: 1.46 M
    converted = ctrgcn_from_official(dense.state_dict())
    assert set(converted) == set(sparse.state_dict())
    for name, value in sparse.state_dict().items():
        assert converted[name].shape == value.shape, name


def test_converter_takes_a_data_parallel_prefix_and_names_unknown_keys():
    dense, sparse = paired_models()
    prefixed = {f"module.{k}": v for k, v in dense.state_dict().items()}
    sparse.load_state_dict(ctrgcn_from_official(prefixed))
    with pytest.raises(KeyError, match="head.weight"):
        ctrgcn_from_official({"head.weight": torch.zeros(1)})
    with pytest.raises(KeyError, match="gcn1.attention"):
        ctrgcn_from_official({"l1.gcn1.attention": torch.zeros(1)})


def test_more_persons_than_slots_is_a_clear_error():
    model = create_model("ctrgcn", num_classes=3, channels=[8], strides=[1])
    with pytest.raises(ValueError, match="3 persons"):
        model(batch_of([torch.randn(3, 5, 25, 3)]))


def test_input_norm_recomputes_its_statistics_as_a_cumulative_average():
    """``torch.optim.swa_utils.update_bn`` (momentum ``None``: the plain average over the
    batches) fills the per-person input norm as ``nn.BatchNorm1d`` fills itself: each
    statistic becomes the mean of the batches' ones."""
    model = CTRGCN(5, 3, "ntu25", channels=[8], strides=[1], num_persons=1)
    batches = [batch_of([torch.randn(3, 6, 25, 1) * s + s]) for s in (1.0, 3.0)]
    torch.optim.swa_utils.update_bn(batches, model)
    rows = [batch.x.reshape(6, 75) for batch in batches]
    norm = model.person_norm.norm
    torch.testing.assert_close(norm.running_mean, torch.stack([r.mean(0) for r in rows]).mean(0))
    torch.testing.assert_close(norm.running_var, torch.stack([r.var(0) for r in rows]).mean(0))
    assert int(norm.num_batches_tracked) == 2


def test_relation_width_is_official_and_every_narrow_input_runs():
    """The official relation widths (3, 9, 12, 16, 64, 128, 256 input channels); 4 and 6
    (x, y, z and a score; joint + bone), where the official rule gives 0 and no model, get 8;
    ``input_relation_channels`` sets the input blocks' width and ``relation_reduction`` the
    later blocks'; both match the dense model."""
    official = {3: 8, 9: 8, 12: 1, 16: 2, 64: 8, 128: 16, 256: 32}
    assert {c: relation_width(c) for c in official} == official
    assert [relation_width(c) for c in (4, 6)] == [8, 8]
    for channels, options, width, later in [
        (6, {}, 8, [2, 2, 4, 4]),
        (12, {}, 1, [2, 2, 4, 4]),
        (12, {"input_relation_channels": 8}, 8, [2, 2, 4, 4]),
        (9, {"relation_reduction": 2}, 8, [8, 8, 16, 16]),
    ]:
        dense, sparse = paired_models("ntu25", in_channels=channels, **options)
        dense.eval()
        sparse.eval()
        assert sparse.blocks[0].gcn.rel_channels == width
        assert [block.gcn.rel_channels for block in sparse.blocks[1:]] == later
        assert dense.l2.gcn1.convs[0].conv1.out_channels == later[0]
        samples = [torch.randn(channels, t, 25, 2) for t in (12, 12)]
        out = sparse(batch_of(samples))
        assert_close_to_scale(out, dense(torch.stack(samples)), 1e-5)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="input_relation_channels must be a positive"):
            create_model("ctrgcn", num_classes=3, input_relation_channels=bad)
        with pytest.raises(ValueError, match="relation_reduction must be a positive"):
            create_model("ctrgcn", num_classes=3, relation_reduction=bad)
