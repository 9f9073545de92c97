"""``track_conv_rows``: the temporal convolution of node-major rows through strided views
gives what the view, permute, ``conv2d`` and permute back give, values and gradients, in fp32,
with the per-tap weight gradient, and under bf16 autocast (where it casts like autocast)."""

import pytest
import torch
import torch.nn.functional as F

from pyg_action.nn import use_backend
from pyg_action.nn.track_conv import track_conv_rows

TRACKS, FRAMES, JOINTS, C_IN, C_OUT, TAPS = 3, 11, 5, 6, 8, 5


def _portable(rows, weight, bias, padding, dilation, stride):
    images = rows.view(TRACKS, FRAMES, JOINTS, C_IN).permute(0, 3, 1, 2)
    out = F.conv2d(
        images, weight.unsqueeze(-1), bias, stride=(stride, 1), padding=(padding, 0),
        dilation=(dilation, 1),
    )  # fmt: skip
    return out.permute(0, 2, 3, 1).reshape(-1, C_OUT)


def _run(form, inputs, amp, **geometry):
    rows, weight, bias = (t.detach().clone().requires_grad_() for t in inputs)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
        if form == "rows":
            out = track_conv_rows(rows, TRACKS, JOINTS, weight, bias, **geometry)
        else:
            out = _portable(rows, weight, bias, **geometry)
    torch.manual_seed(1)
    (out.float() * torch.randn(out.shape)).sum().backward()
    return out, rows.grad, weight.grad, bias.grad


@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "bf16"])
@pytest.mark.parametrize(
    "geometry",
    [dict(padding=2, dilation=1, stride=1), dict(padding=4, dilation=2, stride=2)],
    ids=["plain", "dilated-strided"],
)
@pytest.mark.parametrize("gradient", ["onednn", "taps"])
def test_rows_equal_the_portable_form(amp, geometry, gradient):
    torch.manual_seed(0)
    inputs = (
        torch.randn(TRACKS * FRAMES * JOINTS, C_IN),
        torch.randn(C_OUT, C_IN, TAPS) / 4,
        torch.randn(C_OUT),
    )
    with use_backend(conv_weight_gradient=gradient):
        ours = _run("rows", inputs, amp, **geometry)
        reference = _run("portable", inputs, amp, **geometry)
    assert ours[0].dtype == reference[0].dtype == (torch.bfloat16 if amp else torch.float32)
    # the same kernels in the same dtype: equal, but for the per-tap weight gradient's order of
    # summation (fp32 only: autocast keeps the convolution's own backward)
    summed_otherwise = gradient == "taps" and not amp
    tolerance = dict(rtol=1e-5, atol=1e-5) if summed_otherwise else dict(rtol=0, atol=0)
    for name, a, b in zip(("output", "rows", "weight", "bias"), ours, reference, strict=True):
        assert a.dtype == b.dtype, name
        torch.testing.assert_close(a.float(), b.float(), **tolerance, msg=name)


@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "bf16"])
def test_inference_skips_the_autograd_function_and_gives_the_same_rows(amp, monkeypatch):
    """Without a gradient the views and convolution run directly: the autograd function's
    own host cost is spent only where a backward needs it."""
    import pyg_action.nn.track_conv as track_conv

    torch.manual_seed(0)
    inputs = (
        torch.randn(TRACKS * FRAMES * JOINTS, C_IN),
        torch.randn(C_OUT, C_IN, TAPS, requires_grad=True),
        torch.randn(C_OUT, requires_grad=True),
    )
    geometry = dict(padding=4, dilation=2, stride=2)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
        with torch.no_grad():
            reference = _portable(*inputs, **geometry)

        def refuse(*args):
            raise AssertionError("the autograd function ran without a gradient wanted")

        monkeypatch.setattr(track_conv._RowsConv, "apply", refuse)
        with torch.no_grad():
            ours = track_conv_rows(inputs[0], TRACKS, JOINTS, *inputs[1:], **geometry)
        with pytest.raises(AssertionError, match="without a gradient"):
            track_conv_rows(inputs[0], TRACKS, JOINTS, *inputs[1:], **geometry)
    assert ours.grad_fn is None
    assert ours.dtype == reference.dtype
    torch.testing.assert_close(ours, reference, rtol=0, atol=0)
