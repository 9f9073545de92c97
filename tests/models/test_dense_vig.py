"""Dense ViG reference model: the sparse ViG with its weights gives the same logits and
gradients (fp32, training and evaluation mode)."""

import pytest
import torch

from pyg_action.models.dense_vig import DenseViG, dense_from_sparse, dense_vig
from pyg_action.models.vig import VARIANTS, ViG, build_vig
from pyg_action.testing import assert_close_scaled

CONFIGS = {
    "tiny": dict(variant="tiny", num_classes=10, in_channels=1, size=8),
    "isotropic_dilated": dict(  # six blocks: dilation 2 from the fifth on, 8x8 patches
        channels=32, depth=6, k=3, patch_size=4, img_size=32, head_channels=64,
        num_classes=5, in_channels=3, size=32,
    ),
    "pyramid": dict(  # pooled candidates and relative-position bias
        variant="pyramid_ti", channels=[16, 24, 32, 48], depth=[1, 1, 1, 1], k=2,
        img_size=64, num_classes=4, in_channels=3, size=64,
    ),
    "edge_conv": dict(
        channels=16, depth=2, k=3, patch_size=2, img_size=8, head_channels=0, conv="edge",
        num_classes=3, in_channels=1, size=8,
    ),
}  # fmt: skip


def build_pair(config):
    options = dict(config)
    num_classes, in_channels = options.pop("num_classes"), options.pop("in_channels")
    options.pop("size")
    variant = options.pop("variant", "tiny")
    sparse = build_vig(num_classes, in_channels, variant=variant, **options)
    dense = dense_vig(num_classes, in_channels, variant=variant, **options)
    return sparse, dense_from_sparse(dense, sparse)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_dense_model_matches_sparse(name):
    config = CONFIGS[name]
    torch.manual_seed(0)
    sparse, dense = build_pair(config)
    size = config["size"]
    images = torch.randn(3, config["in_channels"], size, size)
    for training in (True, False):  # eval after train: the running statistics agree too
        sparse.train(training)
        dense.train(training)
        sparse.zero_grad()
        dense.zero_grad()
        x_s = images.clone().requires_grad_()
        x_d = images.clone().requires_grad_()
        logits_s, logits_d = sparse(x_s), dense(x_d)
        assert logits_s.shape == (3, config["num_classes"])
        assert_close_scaled(logits_s, logits_d)
        upstream = torch.randn_like(logits_s)
        logits_s.backward(upstream)
        logits_d.backward(upstream)
        assert_close_scaled(x_s.grad, x_d.grad)
        dense_params = dict(dense.named_parameters())
        scale = max(float(p.grad.abs().max()) for p in dense_params.values())
        for param_name, param in sparse.named_parameters():
            expected = dense_params[param_name].grad
            assert param.grad is not None and expected is not None, param_name
            assert_close_scaled(param.grad, expected.view_as(param.grad), scale=max(1.0, scale))
        for buffer_name, buffer in dense.named_buffers():
            assert_close_scaled(sparse.get_buffer(buffer_name).view_as(buffer), buffer)


@pytest.mark.parametrize("variant", ["ti", "s"])
def test_isotropic_presets_have_the_sparse_parameters(variant):
    sparse = build_vig(1000, 3, variant=variant)
    dense = dense_vig(1000, 3, variant=variant)
    shapes = {name: p.numel() for name, p in sparse.state_dict().items()}
    assert {name: p.numel() for name, p in dense.state_dict().items()} == shapes
    assert VARIANTS[variant]["channels"] == dense.pos_embed.size(1)


def test_dense_model_is_built_from_dense_layers():
    model = dense_vig(10, 1)
    kinds = {type(m).__name__ for m in model.modules()}
    assert {"DenseGrapher", "DenseFFN", "Conv2d"} <= kinds
    assert not kinds & {"Grapher", "FFN", "GroupedLinear", "RowLinear"}
    with pytest.raises(ValueError, match="variant"):
        dense_vig(10, 1, variant="xl")


def test_weights_of_another_configuration_are_refused():
    sparse = ViG(10, 1, channels=16, depth=2, k=3, patch_size=2, img_size=8)
    dense = DenseViG(10, 1, channels=16, depth=3, k=3, patch_size=2, img_size=8)
    with pytest.raises(ValueError, match="state dicts differ"):
        dense_from_sparse(dense, sparse)
