"""Shift-GCN operators: message form == gather form == the official dense formulation.

Forward within 1e-6, gradients within 1e-5 (parameter gradients relative to their scale),
on real layouts and mixed-length batches compared with the dense reference run on each
sample alone at its own length.
"""

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch_geometric.loader import DataLoader

from pyg_action.graph import SkeletonGraphBuilder, strided_lengths
from pyg_action.graph.levels import SkeletonLevel, TrackShape
from pyg_action.layouts import get_layout
from pyg_action.nn import use_backend
from pyg_action.nn.dense.shift import (
    DenseMotionExcitation,
    DenseShiftGraphConv,
    DenseShiftTemporalConv,
    dense_graph_shift,
    dense_temporal_shift,
)
from pyg_action.nn.motion import MotionExcitation
from pyg_action.nn.shift import (
    AdaptiveTemporalShift,
    FixedTemporalShift,
    LocalGraphShift,
    NonLocalGraphShift,
    ShiftGraphConv,
    ShiftTemporalConv,
    graph_shift,
    temporal_shift,
)
from pyg_action.testing import assert_close_scaled

LAYOUTS = ["ntu25", "openpose18", "msr20"]
MIXED = [(13, 1), (4, 2), (1, 1), (9, 2)]  # (frames, persons) per sample
FWD = dict(atol=1e-6, rtol=1e-6)
GRAD = dict(atol=1e-5, rtol=1e-5)


@pytest.fixture(autouse=True, params=["rows", "gather"])
def temporal_shift_form(request):
    """Every test runs with both CPU forms of the stride-1 temporal shift: the row slices
    (the CPU default) and the gathers every other device runs."""
    with use_backend(temporal_shift=request.param):
        yield request.param


def mixed_batch(layout, channels, shapes=MIXED, seed=0):
    """Batch of samples ``(C, T, V, M)`` with node features ``x`` requiring grad."""
    torch.manual_seed(seed)
    joints = get_layout(layout).num_joints
    samples = [torch.randn(channels, t, joints, m) for t, m in shapes]
    builder = SkeletonGraphBuilder(layout)
    batch = next(iter(DataLoader([builder(s) for s in samples], batch_size=len(samples))))
    level = SkeletonLevel.from_batch(batch, joints)
    return batch.x.clone().requires_grad_(), level, samples


def split_tracks(nodes, samples, stride=1):
    """Node tensor ``(N, C)`` -> per-sample ``(M, C, ceil(T/s), V)`` views."""
    out, start = [], 0
    for sample in samples:
        _, t, v, m = sample.shape
        t = -(-t // stride)
        count = m * t * v
        out.append(nodes[start : start + count].view(m, t, v, -1).permute(0, 3, 1, 2))
        start += count
    assert start == nodes.shape[0]
    return out


def dense_inputs(x, samples):
    """Leaf copies of each sample's input in ``(M, C, T, V)``, for the dense reference."""
    return [part.detach().clone().requires_grad_() for part in split_tracks(x, samples)]


# ---------------------------------------------------------------- graph shifts


def test_nonlocal_shift_is_the_official_convention():
    v, c = 5, 7
    x = torch.randn(2 * v, c)
    frames = x.view(2, v, c)
    shift_in, shift_out = NonLocalGraphShift(c, v), NonLocalGraphShift(c, v, transpose=True)
    got_in, got_out = shift_in(x).view(2, v, c), shift_out(x).view(2, v, c)
    for joint in range(v):
        for ch in range(c):
            assert torch.equal(got_in[:, joint, ch], frames[:, (joint + ch) % v, ch])
            assert torch.equal(got_out[:, joint, ch], frames[:, (joint - ch) % v, ch])
    torch.testing.assert_close(shift_out(shift_in(x)), x, atol=0, rtol=0)


def test_local_shift_partitions_follow_sorted_neighbours():
    shift = LocalGraphShift(12, "ntu25")
    source = (shift.index.view(25, 12) // 12).tolist()
    # spine shoulder (20) has neighbours 1, 2, 4, 8: 5 partitions of 12 -> 3, 3, 2, 2, 2
    assert source[20] == [20] * 3 + [1] * 3 + [2] * 2 + [4] * 2 + [8] * 2
    assert source[3] == [3] * 6 + [2] * 6  # head: one neighbour, half and half
    # three channels and four owners: the last neighbour gets nothing
    assert (LocalGraphShift(3, "ntu25").index.view(25, 3)[20] // 3).tolist() == [20, 1, 2]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("kind", ["nonlocal", "local"])
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("channels", [3, 32])
def test_graph_shift_matches_dense_and_impls_agree(layout, kind, transpose, channels):
    x, _, samples = mixed_batch(layout, channels)
    dense = dense_graph_shift(kind, channels, layout, out=transpose)
    refs_in = dense_inputs(x, samples)
    refs = [dense(r) for r in refs_in]
    outs = {}
    for impl in ("gather", "message"):
        x.grad = None
        out = graph_shift(kind, channels, layout, transpose, impl)(x)
        out.square().sum().backward()
        for got, ref in zip(split_tracks(out, samples), refs, strict=True):
            torch.testing.assert_close(got, ref, **FWD)
        outs[impl] = (out.detach(), x.grad.clone())
    sum(r.square().sum() for r in refs).backward()
    for got, ref in zip(split_tracks(outs["gather"][1], samples), refs_in, strict=True):
        torch.testing.assert_close(got, ref.grad, **GRAD)
    torch.testing.assert_close(outs["message"][0], outs["gather"][0], **FWD)
    torch.testing.assert_close(outs["message"][1], outs["gather"][1], **FWD)


def test_graph_shift_message_edges_are_sparse():
    shift = NonLocalGraphShift(64, 25, impl="message")
    edge_index, edge_type = shift.build_edges(3)
    assert edge_index.shape == (2, 3 * 25 * 25) and int(edge_type.max()) == 624
    local = LocalGraphShift(64, "ntu25")
    degrees = torch.bincount(torch.tensor(get_layout("ntu25").bones).flatten(), minlength=25)
    assert local.build_edges(1)[0].shape[1] == int((degrees + 1).sum())


# ------------------------------------------------------------- temporal shifts


def make_temporal(kind, channels, stride, impl, shift=None):
    op = temporal_shift(kind, channels, stride, kernel_size=5, impl=impl)
    if shift is not None:
        op.shift.data.copy_(shift)
    return op


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("kind", ["fixed", "adaptive"])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_temporal_shift_matches_dense_on_each_sample_alone(layout, kind, stride):
    channels = 12
    x, level, samples = mixed_batch(layout, channels)
    dense = dense_temporal_shift(kind, channels, stride, kernel_size=5)
    shift = None
    if kind == "adaptive":  # beyond short tracks, integral (alpha = 0) and negative values
        shift = torch.tensor([-3.7, -1.0, -0.4, 0.0, 0.3, 1.0, 1.5, 2.2, 4.9, -6.1, 0.999, -2.5])
        dense.shift.data.copy_(shift)
    refs_in = dense_inputs(x, samples)
    refs = [dense(r) for r in refs_in]
    sum(r.square().sum() for r in refs).backward()
    results = {}
    for impl in ("gather", "message"):
        x.grad = None
        op = make_temporal(kind, channels, stride, impl, shift)
        out = op(x, level)
        assert out.shape[0] == level.coarsen(stride).num_nodes
        out.square().sum().backward()
        for got, ref in zip(split_tracks(out, samples, stride), refs, strict=True):
            torch.testing.assert_close(got, ref, **FWD)
        for got, ref in zip(split_tracks(x.grad, samples), refs_in, strict=True):
            torch.testing.assert_close(got, ref.grad, **GRAD)
        if kind == "adaptive":
            assert_close_scaled(op.shift.grad, dense.shift.grad)
            assert op.shift.grad.abs().sum() > 0
        results[impl] = out.detach()
    torch.testing.assert_close(results["message"], results["gather"], **FWD)


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 9), min_size=1, max_size=4),
    shifts=st.lists(st.floats(-5, 5, allow_nan=False), min_size=3, max_size=3),
    stride=st.integers(1, 3),
)
@example(lengths=[3, 7], shifts=[1.5, 2.0, 3.2], stride=1)  # no tap at offset 0
@example(lengths=[2, 1], shifts=[-4.5, 4.5, 0.0], stride=1)  # shifts beyond the whole batch
def test_adaptive_shift_tracks_are_independent(lengths, shifts, stride):
    """Message == gather, and every track's output equals the track shifted alone."""
    joints = 4
    lengths_t = torch.tensor(lengths)
    x = torch.randn(int(lengths_t.sum()) * joints, 3)
    gather = AdaptiveTemporalShift(3, stride)
    gather.shift.data.copy_(torch.tensor(shifts))
    message = AdaptiveTemporalShift(3, stride, impl="message")
    message.load_state_dict(gather.state_dict())

    def level_of(track_lengths):
        lengths = tuple(track_lengths.tolist())
        return SkeletonLevel(TrackShape(lengths, (len(lengths),), joints), torch.device("cpu"))

    out = gather(x, level_of(lengths_t))
    torch.testing.assert_close(message(x, level_of(lengths_t)), out, **FWD)
    start, out_start = 0, 0
    for length in lengths:
        alone = gather(x[start : start + length * joints], level_of(torch.tensor([length])))
        torch.testing.assert_close(out[out_start : out_start + alone.shape[0]], alone, **FWD)
        start += length * joints
        out_start += alone.shape[0]
    assert out_start == out.shape[0] == int(strided_lengths(lengths_t, stride).sum()) * joints


def test_fixed_shift_groups_and_adaptive_centre():
    fixed = FixedTemporalShift(7, kernel_size=3)
    assert fixed.offset.tolist() == [-1, -1, -1, 0, 0, 1, 1]
    adaptive = AdaptiveTemporalShift(2, stride=2)
    adaptive.shift.data.copy_(torch.tensor([0.0, -0.25]))
    (low, w_low), (high, w_high) = adaptive.taps()
    assert low.tolist() == [0, 0] and high.tolist() == [1, 1]
    torch.testing.assert_close(w_high, torch.tensor([0.5, 0.25]))


# ------------------------------------------------------------------------ units


def copy_dense_into(sparse, dense):
    state = sparse.state_dict()
    sparse.load_state_dict({k: v.reshape(state[k].shape) for k, v in dense.state_dict().items()})


def perturb(module):
    torch.manual_seed(3)
    for p in module.parameters():
        p.data.add_(0.3 * torch.randn_like(p))
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)


def loss(out):
    """Not a sum of squares: batch-norm makes that constant, its gradient pure rounding."""
    return out.sin().sum()


def dense_reference(dense, x, samples, train):
    """Dense outputs and leaf inputs: the whole fixed-shape batch (train), else each sample."""
    refs_in = dense_inputs(x, samples)
    if train:  # batch-norm statistics must come from the same batch
        refs_in = [torch.cat(refs_in).detach().requires_grad_()]
    refs = [dense(r) for r in refs_in]
    sum(loss(r) for r in refs).backward()
    return refs, refs_in


def assert_tracks_close(nodes, refs, samples, train, stride=1):
    """Per-track comparison; relative to the scale in train mode, where batch-norm's backward
    subtracts sums over the whole batch."""
    parts = split_tracks(nodes, samples, stride)
    for got, ref in zip([torch.cat(parts)] if train else parts, refs, strict=True):
        if train:
            assert_close_scaled(got, ref)
        else:
            torch.testing.assert_close(got, ref, **GRAD)


def param_tol(train):
    """Train-mode batch-norm's fp32 backward alone is off by ~1e-5 of the gradient's scale
    (measured against fp64); weight gradients sum hundreds of such terms behind it."""
    return 1e-4 if train else 1e-5


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("kind", ["nonlocal", "local"])
@pytest.mark.parametrize("train", [False, True])
def test_shift_graph_conv_matches_dense(layout, kind, train):
    """Train mode: one fixed-shape batch (same BN statistics); eval: mixed lengths."""
    x, _, samples = mixed_batch(layout, 6, [(6, 2)] * 3 if train else MIXED)
    dense = DenseShiftGraphConv(6, 10, layout, kind)
    perturb(dense)
    sparse = ShiftGraphConv(6, 10, layout, kind)
    copy_dense_into(sparse, dense)
    dense.train(train)
    sparse.train(train)
    refs, refs_in = dense_reference(dense, x, samples, train)
    out = sparse(x)
    loss(out).backward()
    assert_tracks_close(out, refs, samples, train)
    assert_tracks_close(x.grad, [r.grad for r in refs_in], samples, train)
    assert_close_scaled(sparse.mask.grad, dense.mask.grad, param_tol(train))
    assert_close_scaled(sparse.lin.weight.grad, dense.lin.weight.grad.flatten(1), param_tol(train))


@pytest.mark.parametrize("kind", ["fixed", "adaptive"])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("train", [False, True])
def test_shift_temporal_conv_matches_dense(kind, stride, train):
    x, level, samples = mixed_batch("openpose18", 6, [(7, 2)] * 3 if train else MIXED)
    dense = DenseShiftTemporalConv(6, 8, stride, kind, kernel_size=3)
    perturb(dense)
    sparse = ShiftTemporalConv(6, 8, stride, kind, kernel_size=3)
    copy_dense_into(sparse, dense)
    dense.train(train)
    sparse.train(train)
    refs, refs_in = dense_reference(dense, x, samples, train)
    out = sparse(x, level)
    loss(out).backward()
    assert_tracks_close(out, refs, samples, train, stride)
    assert_tracks_close(x.grad, [r.grad for r in refs_in], samples, train)
    assert_close_scaled(sparse.lin.weight.grad, dense.lin.weight.grad.flatten(1), param_tol(train))
    if kind == "adaptive":
        for name in ("shift_in", "shift_out"):
            shift_grad = getattr(dense, name).shift.grad
            assert_close_scaled(getattr(sparse, name).shift.grad, shift_grad, param_tol(train))


@pytest.mark.parametrize("kind", ["fixed", "adaptive"])
@pytest.mark.parametrize("stride", [1, 2])
def test_shift_temporal_conv_folds_its_batch_norms_in_inference(kind, stride):
    """Without gradients in eval mode the unit runs with both batch-norms folded (neither is
    called) and matches the dense reference and its own unfolded path on mixed lengths,
    one-frame tracks and shifts reaching three frames included."""
    x, level, samples = mixed_batch("openpose18", 6, MIXED)
    dense = DenseShiftTemporalConv(6, 8, stride, kind, kernel_size=7 if kind == "fixed" else 3)
    perturb(dense)
    if kind == "adaptive":
        for shift in (dense.shift_in, dense.shift_out):
            shift.shift.data.uniform_(-3.0, 3.0)
    sparse = ShiftTemporalConv(6, 8, stride, kind, kernel_size=7 if kind == "fixed" else 3)
    copy_dense_into(sparse, dense)
    dense.eval()
    sparse.eval()
    calls = []
    for norm in (sparse.norm_in, sparse.norm_out):
        norm.register_forward_hook(lambda *args: calls.append(1))
    with torch.no_grad():
        refs = [dense(part) for part in dense_inputs(x, samples)]
        out = sparse(x, level)
    assert not calls
    for got, ref in zip(split_tracks(out, samples, stride), refs, strict=True):
        torch.testing.assert_close(got, ref, **FWD)
    unfolded = sparse(x, level)
    assert len(calls) == 2
    torch.testing.assert_close(out, unfolded.detach(), **FWD)


@pytest.mark.parametrize("impl", ["frames", "message"])
@pytest.mark.parametrize("train", [False, True])
def test_motion_excitation_matches_dense(train, impl):
    x, level, samples = mixed_batch("msr20", 16, [(5, 2)] * 3 if train else MIXED)
    dense = DenseMotionExcitation(16)
    perturb(dense)
    sparse = MotionExcitation(16, impl=impl)
    copy_dense_into(sparse, dense)
    dense.train(train)
    sparse.train(train)
    refs, refs_in = dense_reference(dense, x, samples, train)
    out = sparse(x, level)
    loss(out).backward()
    assert_tracks_close(out, refs, samples, train)
    assert_tracks_close(x.grad, [r.grad for r in refs_in], samples, train)
    for name in ("squeeze", "expand"):
        dense_grad = getattr(dense, name).weight.grad.flatten(1)
        assert_close_scaled(getattr(sparse, name).weight.grad, dense_grad, param_tol(train))


def test_no_motion_leaves_features_unchanged():
    """Single-frame tracks and static sequences have zero difference: the gate is 0."""
    me = MotionExcitation(8).eval()
    x, level, _ = mixed_batch("msr20", 8, [(1, 1), (1, 2)])
    torch.testing.assert_close(me(x, level), x)
    static = mixed_batch("msr20", 8, [(1, 1)])[0].detach().repeat(6, 1)
    level = SkeletonLevel.from_batch(
        next(iter(DataLoader([SkeletonGraphBuilder("msr20")(torch.zeros(8, 6, 20, 1))]))), 20
    )
    torch.testing.assert_close(me(static, level), static)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="impl"):
        NonLocalGraphShift(4, 5, impl="fast")
    with pytest.raises(ValueError, match="spatial shift"):
        graph_shift("global", 4, "ntu25")
    with pytest.raises(ValueError, match="motion excitation impl"):
        MotionExcitation(4, impl="edges")
    with pytest.raises(ValueError, match="temporal shift"):
        temporal_shift("learned", 4)
    with pytest.raises(ValueError, match="odd"):
        FixedTemporalShift(4, kernel_size=4)
    with pytest.raises(ValueError, match=r"\(F \* 5, 4\)"):
        NonLocalGraphShift(4, 5)(torch.randn(7, 4))
    assert "transpose=True" in repr(NonLocalGraphShift(4, 5, transpose=True))
    assert "stride=2" in repr(AdaptiveTemporalShift(4, 2))
