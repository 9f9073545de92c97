"""The oneDNN-backed point-wise linear map against torch's own."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pyg_action.nn import Linear, linear, use_backend
from pyg_action.nn.linear_map import MIN_MACS, uses_onednn

needs_onednn = pytest.mark.skipif(
    not (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")),
    reason="this torch build has no oneDNN linear",
)


def _pair(in_features: int, out_features: int, bias: bool) -> tuple[nn.Linear, Linear]:
    torch.manual_seed(0)
    reference = nn.Linear(in_features, out_features, bias=bias)
    ours = Linear(in_features, out_features, bias=bias)
    ours.load_state_dict(reference.state_dict())
    return reference, ours


@needs_onednn
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(2048, 64), (4, 196, 96)])
def test_forward_and_gradients_match_torch_linear(shape, bias):
    reference, ours = _pair(shape[-1], 128, bias)
    x = torch.randn(*shape, requires_grad=True)
    assert uses_onednn(x, ours.weight)
    grad = torch.randn(*shape[:-1], 128)
    expected = reference(x)
    (expected_x,) = torch.autograd.grad(expected, x, grad, retain_graph=True)
    expected.backward(grad)
    out = ours(x)
    (out_x,) = torch.autograd.grad(out, x, grad, retain_graph=True)
    out.backward(grad)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out_x, expected_x, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours.weight.grad, reference.weight.grad, rtol=1e-5, atol=1e-4)
    if bias:
        torch.testing.assert_close(ours.bias.grad, reference.bias.grad, rtol=1e-5, atol=1e-4)


@needs_onednn
def test_non_contiguous_input_and_no_grad():
    reference, ours = _pair(64, 64, True)
    x = torch.randn(64, 4096).t()  # (4096, 64), transposed storage
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-5)


@needs_onednn
def test_only_large_fp32_cpu_products_outside_tracing_take_the_onednn_path():
    weight = torch.randn(64, 64)
    large = torch.randn(MIN_MACS // 64 // 64, 64)
    assert uses_onednn(large, weight)
    assert not uses_onednn(large[:-1], weight)  # one row short of MIN_MACS
    assert not uses_onednn(large.double(), weight.double())
    with use_backend(linear="torch"):
        assert not uses_onednn(large, weight)
    assert uses_onednn(large, weight)  # restored
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not uses_onednn(large, weight)


@needs_onednn
def test_traced_programs_hold_portable_operators():
    _, ours = _pair(64, 64, True)
    x = torch.randn(2048, 64)
    traced = torch.jit.trace(ours, x)
    assert "mkldnn" not in str(traced.graph)
    torch.testing.assert_close(traced(x), linear(x, ours.weight, ours.bias), rtol=1e-5, atol=1e-5)


def test_unknown_backend_choice_is_refused_and_nothing_changes():
    from pyg_action.nn import get_backend

    before = get_backend()
    with pytest.raises(ValueError, match="linear must be one of"):
        with use_backend(linear="blas"):
            pass
    with pytest.raises(TypeError):
        with use_backend(linaer="torch"):
            pass
    assert get_backend() is before


@needs_onednn
@pytest.mark.parametrize("name", ["stgcn", "shiftgcn"])
def test_models_give_the_same_logits_and_gradients_on_both_backends(name):
    from torch_geometric.loader import DataLoader

    from pyg_action.graph import SkeletonGraphBuilder
    from pyg_action.models import create_model

    torch.manual_seed(0)
    builder = SkeletonGraphBuilder("ntu25")
    batch = next(iter(DataLoader([builder(torch.randn(3, 24, 25, 2)) for _ in range(2)], 2)))
    model = create_model(
        name, num_classes=10, layout="ntu25", channels=[64, 64, 128], strides=[1, 1, 2]
    )
    model.train()
    results = {}
    for backend in ("onednn", "torch"):
        model.zero_grad()
        torch.manual_seed(1)  # the same dropout masks
        with use_backend(linear=backend):
            logits = model(batch)
        logits.square().sum().backward()
        grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
        results[backend] = logits.detach(), grads
    (logits, grads), (expected, expected_grads) = results["onednn"], results["torch"]
    torch.testing.assert_close(logits, expected, rtol=1e-4, atol=1e-5)
    for grad, expected_grad in zip(grads, expected_grads, strict=True):
        # a bias followed by a training-mode batch-norm has a gradient that is zero but for
        # rounding (~1e-8 here, which two product kernels round differently): such
        # gradients are compared at an absolute 1e-7
        scale = expected_grad.abs().max().clamp_min(1e-3)
        assert (grad - expected_grad).abs().max() <= 1e-4 * scale
