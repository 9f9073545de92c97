"""Whole-model parity of the sparse Shift-GCN with the dense official formulation, and the
motion-excitation option of both Shift-GCN and ST-GCN."""

import pytest
import torch
from torch_geometric.loader import DataLoader

from pyg_action.graph import SkeletonGraphBuilder
from pyg_action.models import create_model
from pyg_action.models.dense_shiftgcn import DenseShiftGCN, sparse_state_from_dense
from pyg_action.models.shiftgcn import ShiftGCN
from pyg_action.models.stgcn import STGCN
from pyg_action.nn import use_backend

SMALL = dict(channels=(16, 16, 32, 32, 32), strides=(1, 2, 1, 2, 1))
TOL = dict(atol=1e-4, rtol=1e-4)
MIXED = [(14, 1), (6, 2), (1, 1), (9, 2), (3, 1)]


@pytest.fixture(autouse=True, params=["rows", "gather"])
def temporal_shift_form(request):
    """Every test runs with both CPU forms of the stride-1 temporal shift: the row slices
    (the CPU default) and the gathers every other device runs."""
    with use_backend(temporal_shift=request.param):
        yield request.param


def paired_models(layout="ntu25", **kwargs):
    torch.manual_seed(0)
    options = {**SMALL, **kwargs}
    dense = DenseShiftGCN(7, 3, layout, **options)
    for p in dense.parameters():  # away from the zero mask / unit BN initialisation
        p.data.add_(0.2 * torch.randn_like(p))
    for m in dense.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
    sparse = ShiftGCN(7, 3, layout, **options)
    sparse.load_state_dict(sparse_state_from_dense(dense.state_dict(), sparse.state_dict()))
    return dense, sparse


def batch_of(samples, layout="ntu25"):
    builder = SkeletonGraphBuilder(layout)
    return next(iter(DataLoader([builder(x) for x in samples], batch_size=len(samples))))


@pytest.mark.parametrize("spatial", ["nonlocal", "local"])
@pytest.mark.parametrize("temporal", ["fixed", "adaptive"])
@pytest.mark.parametrize("train", [False, True])
def test_fixed_length_batch_matches_dense(spatial, temporal, train):
    dense, sparse = paired_models(
        "openpose18", spatial_shift=spatial, temporal_shift=temporal, motion_excitation=train
    )
    dense.train(train)
    sparse.train(train)
    x = torch.randn(3, 3, 12, 18, 2)
    torch.testing.assert_close(sparse(batch_of(list(x), "openpose18")), dense(x), **TOL)
    if train:  # batch statistics were updated identically
        torch.testing.assert_close(
            sparse.blocks[1].gcn.norm.running_mean, dense.blocks[1].gcn.norm.running_mean
        )


@pytest.mark.parametrize("motion_excitation", [False, True])
def test_variable_lengths_match_dense_on_each_sample_alone(motion_excitation):
    dense, sparse = paired_models(motion_excitation=motion_excitation)
    dense.eval()
    sparse.eval()
    samples = [torch.randn(3, t, 25, m) for t, m in MIXED]
    out = sparse(batch_of(samples))
    for i, x in enumerate(samples):
        torch.testing.assert_close(out[i : i + 1], dense(x[None]), **TOL)


def test_message_and_gather_models_agree():
    torch.manual_seed(1)
    gather = ShiftGCN(5, 3, "msr20", **SMALL, motion_excitation=True, spatial_shift="local")
    message = ShiftGCN(
        5, 3, "msr20", **SMALL, motion_excitation=True, spatial_shift="local", impl="message"
    )
    message.load_state_dict(gather.state_dict())
    batch = batch_of([torch.randn(3, t, 20, 1) for t in (11, 3, 6)], "msr20")
    torch.testing.assert_close(message(batch), gather(batch), atol=1e-5, rtol=1e-5)


def test_registry_builds_default_shiftgcn_and_trains():
    # the engine passes the graph options (strategy, max_hop, dilation) to every skeleton model
    model = create_model(
        "shiftgcn",
        num_classes=5,
        in_channels=3,
        layout="msr20",
        strategy="spatial",
        max_hop=1,
        dilation=1,
        kernel_size=9,
    )
    assert [b.gcn.out_channels for b in model.blocks] == [64] * 4 + [128] * 3 + [256] * 3
    assert [b.stride for b in model.blocks] == [1, 1, 1, 1, 2, 1, 1, 2, 1, 1]
    batch = batch_of([torch.randn(3, t, 20, 1) for t in (10, 7)], "msr20")
    out = model(batch)
    out.sum().backward()
    assert out.shape == (2, 5)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert model.blocks[4].tcn.shift_out.shift.grad.abs().sum() > 0
    assert model.blocks[0].gcn.mask.grad.abs().sum() > 0
    stgcn = create_model("stgcn", num_classes=5, layout="msr20")
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(model) < count(stgcn) / 4


def test_joint_responses_and_forward_features():
    _, sparse = paired_models()
    sparse.eval()
    batch = batch_of([torch.randn(3, t, 25, 1) for t in (8, 13)])
    responses = sparse.joint_responses(batch)
    assert responses.shape == (2, 25, 7)
    torch.testing.assert_close(responses.mean(1), sparse(batch), atol=1e-5, rtol=1e-5)
    assert sparse.forward_features(batch).shape == (2, 32)


def test_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match="spatial shift"):
        create_model("shiftgcn", num_classes=2, spatial_shift="global")
    with pytest.raises(ValueError, match="strides"):
        ShiftGCN(2, channels=(8, 8), strides=(1,))


def test_stgcn_motion_excitation_option():
    torch.manual_seed(2)
    plain = STGCN(4, 3, "ntu25", **SMALL)
    assert not any("motion" in k for k in plain.state_dict())
    model = STGCN(4, 3, "ntu25", **SMALL, motion_excitation=True)
    assert model.blocks[0].motion is None and model.blocks[1].motion is not None
    samples = [torch.randn(3, t, 25, m) for t, m in MIXED[:3]]
    batch = batch_of(samples)
    out = model(batch)
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    assert model.blocks[3].motion.squeeze.weight.grad.abs().sum() > 0
    model.eval()
    together = model(batch)
    for i, x in enumerate(samples):  # each track's frame differences stop at its own end
        torch.testing.assert_close(together[i : i + 1], model(batch_of([x])), **TOL)
