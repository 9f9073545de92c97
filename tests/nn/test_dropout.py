"""The sparse models' dropout: torch's distribution, its CPU mask from uniform draws."""

import pytest
import torch
import torch.nn.functional as F

from pyg_action.bench.opcount import count_ops
from pyg_action.nn.backend import DEVICE_PATH, use_backend
from pyg_action.nn.dropout import Dropout


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_keeps_one_minus_p_of_the_elements_scaled_and_zeroes_the_rest(p):
    torch.manual_seed(0)
    x = torch.rand(400, 500) + 0.5  # no zero to be mistaken for a dropped element
    out = Dropout(p).train()(x)
    kept = out != 0
    assert abs(kept.float().mean().item() - (1 - p)) < 0.005  # 200,000 draws: sd 0.001
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))


def test_gradient_is_the_mask_and_a_seed_repeats_it():
    layer = Dropout(0.3).train()
    x = torch.randn(64, 32, requires_grad=True)
    torch.manual_seed(1)
    out = layer(x)
    out.sum().backward()
    torch.testing.assert_close(x.grad, (out != 0).float() / 0.7)
    torch.manual_seed(1)
    torch.testing.assert_close(layer(x), out)


def test_cpu_draws_uniform_numbers_and_the_device_path_bernoulli_samples():
    """The CPU default never calls torch's per-element Bernoulli kernel; the device path (what
    CUDA runs, there as one fused kernel) is ``F.dropout`` itself."""
    layer = Dropout(0.5).train()
    x = torch.randn(8, 4, requires_grad=True)
    uniform = count_ops(lambda: layer(x).sum().backward())
    assert "aten.rand.default" in uniform.ops
    assert not any("bernoulli" in op or "native_dropout" in op for op in uniform.ops)
    with use_backend(**DEVICE_PATH):
        native = count_ops(lambda: layer(x).sum().backward())
        torch.manual_seed(2)
        expected = F.dropout(x, 0.5, True)
        torch.manual_seed(2)
        torch.testing.assert_close(layer(x), expected)
    assert "aten.bernoulli_.float" in native.ops


def test_evaluation_and_zero_rate_return_the_input_and_dtype_is_kept():
    x = torch.randn(16, 8)
    torch.testing.assert_close(Dropout(0.5).eval()(x), x)
    torch.testing.assert_close(Dropout(0.0).train()(x), x)
    out = Dropout(0.5).train()(x.bfloat16())
    assert out.dtype == torch.bfloat16
    inplace = x.clone()
    Dropout(0.5, inplace=True).train()(inplace)
    assert (inplace == 0).any() and ((inplace == 0) | (inplace == 2 * x)).all()


def test_compiles_without_a_graph_break():
    torch._dynamo.reset()
    layer = Dropout(0.4).train()
    explanation = torch._dynamo.explain(layer)(torch.randn(16, 8))
    assert explanation.graph_break_count == 0, explanation.break_reasons
