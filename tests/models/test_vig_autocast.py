"""ViG under CPU autocast: training and inference in bfloat16 (and float16 where the CPU
autocast supports it), close to fp32."""

import pytest
import torch
from torch_geometric.data import Batch, Data

from pyg_action.models.vig import GraphViG, ViG

DTYPES = [torch.bfloat16, torch.float16]


def image_model(**options):
    torch.manual_seed(0)
    defaults = dict(channels=32, depth=3, k=4, patch_size=4, img_size=32, head_channels=64)
    return ViG(10, 3, **{**defaults, **options})


def point_clouds():
    torch.manual_seed(1)
    graphs = []
    for n in (9, 14, 6):
        pos = torch.randn(n, 3)
        ring = torch.arange(n)
        graphs.append(Data(x=pos, edge_index=torch.stack([ring, (ring + 1) % n])))
    return Batch.from_data_list(graphs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "options", [{}, {"conv": "edge"}, {"conv": "sage", "drop_path": 0.1}], ids=str
)
def test_image_vig_trains_under_autocast(dtype, options):
    model = image_model(**options).train()
    images = torch.randn(4, 3, 32, 32)
    with torch.autocast("cpu", dtype=dtype):
        logits = model(images)
    assert logits.dtype == dtype
    torch.nn.functional.cross_entropy(logits.float(), torch.arange(4)).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.dtype == torch.float32, name
        assert torch.isfinite(param.grad).all(), name


@pytest.mark.parametrize("dtype", DTYPES)
def test_image_vig_inference_under_autocast_is_close_to_fp32(dtype):
    model = image_model(conv="mr").eval()
    images = torch.randn(8, 3, 32, 32)
    with torch.no_grad():
        reference = model(images)
        with torch.autocast("cpu", dtype=dtype):
            low = model(images)
    assert torch.isfinite(low).all()
    scale = float(reference.abs().max())
    # A few bf16 roundings per layer, and a kNN that may pick another neighbour at a tie.
    torch.testing.assert_close(low.float(), reference, rtol=0.0, atol=0.1 * scale)
    assert (low.float().argmax(1) == reference.argmax(1)).float().mean() >= 0.75


@pytest.mark.parametrize("dtype", DTYPES)
def test_pyramid_vig_under_autocast(dtype):
    """Pooled candidates and the relative-position bias (an fp32 table) under autocast."""
    torch.manual_seed(2)
    model = ViG(
        4, 3, channels=[16, 24, 32, 48], depth=[1, 1, 1, 1], k=2, patch_size=4, img_size=64,
        reduce_ratios=[4, 2, 1, 1], relative_pos=True, head_channels=32,
    )  # fmt: skip
    with torch.autocast("cpu", dtype=dtype):
        logits = model(torch.randn(2, 3, 64, 64))
    logits.float().sum().backward()
    assert torch.isfinite(logits).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("conv", ["mr", "edge", "gin", "sage"])
def test_graph_vig_scatter_path_under_autocast(dtype, conv):
    """Graphs of different sizes take the generic kNN and scatter aggregation."""
    torch.manual_seed(3)
    model = GraphViG(3, 3, channels=16, depth=2, k=4, conv=conv, drop_path=0.1).train()
    with torch.autocast("cpu", dtype=dtype):
        logits = model(point_clouds())
    logits.float().sum().backward()
    assert logits.shape == (3, 3) and torch.isfinite(logits).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
