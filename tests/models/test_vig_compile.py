"""ViG on images compiles as one graph at fixed shapes (nothing read back from the device)."""

import torch

from pyg_action.models.vig import ViG


def test_image_vig_compiles_without_graph_breaks():
    torch.manual_seed(0)
    model = ViG(
        10, 3, channels=32, depth=3, k=4, patch_size=4, img_size=32, head_channels=64,
        drop_path=0.1,
    )  # fmt: skip
    images = torch.randn(4, 3, 32, 32)
    expected = model.eval()(images)
    compiled = torch.compile(model, backend="eager", fullgraph=True)  # a break raises
    torch.testing.assert_close(compiled(images), expected, rtol=1e-5, atol=1e-5)
    model.train()
    compiled(images).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
