"""ViG models: shapes, presets, both inputs (images and graphs), and that they learn."""

import importlib.util
import math
from pathlib import Path

import pytest
import torch
from torch_geometric.loader import DataLoader

from pyg_action.data.registry import build_dataset
from pyg_action.models import create_model, default_data_config, list_models
from pyg_action.models.vig import VARIANTS, GraphViG, ViG, block_schedule

ROOT = Path(__file__).resolve().parents[2]


def digits_batch(n=6, **options):
    info = build_dataset("digits", "test", **options)
    return next(iter(DataLoader(info.dataset, batch_size=n)))


def test_registered_with_embedded_default_data():
    assert {"vig", "vig_graph"} <= set(list_models())
    assert default_data_config("vig")["name"] == "digits"  # plus the quick recipe's options
    assert default_data_config("vig_graph") == {"name": "digits_points"}


@pytest.mark.parametrize("conv", ["mr", "edge", "gin", "sage"])
def test_tiny_vig_on_digits_forward_backward(conv):
    torch.manual_seed(0)
    model = create_model("vig", num_classes=10, in_channels=1, conv=conv, depth=2)
    batch = digits_batch()
    assert batch.image.shape == (6, 1, 8, 8)
    logits = model(batch)
    assert logits.shape == (6, 10)
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    assert model.forward_features(batch).shape == (6, 64)


@pytest.mark.parametrize("patch_size,nodes", [(1, 64), (2, 16)])
def test_patch_size_sets_the_node_grid(patch_size, nodes):
    model = create_model("vig", num_classes=10, in_channels=1, patch_size=patch_size, depth=1)
    assert model.stem(torch.zeros(2, 1, 8, 8)).shape[-2:].numel() == nodes


def test_presets_follow_the_paper():
    """Isotropic widths and depths (Ti/S/B) and parameter counts of the paper (M)."""
    expected = {"ti": (192, 12, 7.1), "s": (320, 16, 22.7), "b": (640, 16, None)}
    for variant, (channels, depth, millions) in expected.items():
        assert VARIANTS[variant]["channels"] == channels
        assert VARIANTS[variant]["depth"] == depth
        if millions is not None:  # ViG-B (86.8 M) takes long to initialise
            model = create_model("vig", num_classes=1000, in_channels=3, variant=variant)
            count = sum(p.numel() for p in model.parameters()) / 1e6
            assert count == pytest.approx(millions, rel=0.02)
    with pytest.raises(ValueError, match="variant"):
        create_model("vig", num_classes=10, in_channels=1, variant="xl")


def test_isotropic_schedule_matches_official():
    """ViG-Ti: k from 9 to 18, dilation min(i // 4 + 1, 196 // 18)."""
    schedule = block_schedule(12, 9, 196)
    assert [k for k, _ in schedule] == [9, 9, 10, 11, 12, 13, 13, 14, 15, 16, 17, 18]
    assert [d for _, d in schedule] == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]
    assert [d for _, d in block_schedule(12, 9, 40)] == [1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]
    assert block_schedule(3, 4, 100, use_dilation=False) == [(4, 1), (6, 1), (8, 1)]


def test_isotropic_ti_forward_on_a_small_image():
    torch.manual_seed(0)
    model = create_model("vig", num_classes=5, in_channels=3, variant="ti", depth=2).eval()
    with torch.no_grad():  # 64 px / patch 16 = 4x4 grid; position embedding resampled
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 5)


def test_pyramid_forward_backward():
    torch.manual_seed(0)
    model = create_model(
        "vig", num_classes=7, in_channels=3, variant="pyramid_ti", depth=[1, 1, 1, 1], img_size=64
    )
    images = torch.randn(2, 3, 64, 64)
    out = model(images)
    assert out.shape == (2, 7)
    out.sum().backward()
    assert model.forward_features(images).shape == (2, 384)
    graphers = [block.grapher for blocks in model.stages for block in blocks]
    assert [g.reduce_ratio for g in graphers] == [4, 2, 1, 1]
    assert all(g.relative_pos for g in graphers)


def test_pyramid_on_digits_clamps_small_stages():
    """8x8 digits with patch 1: stages of 8x8, 4x4, 2x2, 1x1 nodes; k clamps to the grid."""
    torch.manual_seed(0)
    model = create_model(
        "vig",
        num_classes=10,
        in_channels=1,
        variant="pyramid_ti",
        depth=[1, 1, 1, 1],
        patch_size=1,
        img_size=8,
        k=4,
    )
    assert model(digits_batch()).shape == (6, 10)


def test_graph_vig_on_point_clouds_uses_the_input_graph_first():
    torch.manual_seed(0)
    info = build_dataset("digits_points", "test")
    batch = next(iter(DataLoader(info.dataset, batch_size=8)))
    model = create_model("vig_graph", num_classes=10, in_channels=3, depth=2, k=4)
    assert isinstance(model, GraphViG)
    calls = []
    for block in model.blocks:
        block.grapher.knn.register_forward_hook(lambda *args: calls.append(1))
    logits = model(batch)
    assert logits.shape == (8, 10)
    assert len(calls) == 1  # block 0 used batch.edge_index
    model.input_graph = False
    model(batch)
    assert len(calls) == 3
    logits.sum().backward()


def test_graph_vig_pools_per_graph():
    torch.manual_seed(0)
    model = GraphViG(3, 5, channels=16, depth=1, k=3, pool="max").eval()
    info = build_dataset("digits_points", "test")
    graphs = [info.dataset[i] for i in range(4)]
    for data in graphs:
        data.x = torch.randn(data.num_nodes, 5)
    together = model(next(iter(DataLoader(graphs, batch_size=4))))
    alone = torch.cat([model(next(iter(DataLoader([g], batch_size=1)))) for g in graphs])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)


def test_vig_image_model_is_batch_independent_in_eval():
    torch.manual_seed(0)
    model = ViG(10, 1, channels=32, depth=2, k=4, patch_size=2, img_size=8).eval()
    images = digits_batch(5).image
    together = model(images)
    alone = torch.cat([model(images[i : i + 1]) for i in range(5)])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)


def train_digits(model_options, data_options, epochs, seed, subset=None, lr=2e-3):
    """Minimal AdamW + warm-up/cosine loop (independent of the engine); held-out top-1."""
    torch.manual_seed(seed)
    train = build_dataset("digits", "train", **data_options).dataset
    test = build_dataset("digits", "test", **data_options).dataset
    if subset is not None:
        train = torch.utils.data.Subset(train, range(subset))
    model = create_model("vig", num_classes=10, in_channels=1, **model_options)
    loader = DataLoader(
        train, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
    total, warmup = epochs * len(loader), len(loader)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: (
            (s + 1) / warmup
            if s < warmup
            else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup)))
        ),
    )
    for _ in range(epochs):
        model.train()
        for batch in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(batch), batch.y).backward()
            optimizer.step()
            schedule.step()
    model.eval()
    with torch.no_grad():
        batch = next(iter(DataLoader(test, batch_size=len(test))))
        return float((model(batch).argmax(dim=1) == batch.y).float().mean())


def test_small_vig_learns_digits_quickly():
    options = dict(channels=32, depth=2, k=4, patch_size=2, head_channels=64)
    accuracy = train_digits(options, {"augment": False}, epochs=4, seed=0, subset=640, lr=3e-3)
    assert accuracy > 0.6  # chance: 0.1


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tiny_vig_reaches_97_percent_on_digits(seed, tmp_path):
    """configs/vig_digits.yaml through the training engine (1.5-10 min per seed on 2 cores)."""
    from pyg_action.engine.config import load_config
    from pyg_action.engine.trainer import train

    config = load_config(ROOT / "configs" / "vig_digits.yaml", [f"train.seed={seed}"])
    result = train(config, tmp_path, progress=False)
    assert result.final["top1"] >= 97.0


def test_karate_club_example_learns():
    spec = importlib.util.spec_from_file_location(
        "vig_generic_graph_example", ROOT / "scripts" / "vig_generic_graph_example.py"
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.train(epochs=100, seed=0)
    assert result["train_accuracy"] == 1.0  # chance: 0.25
    assert result["test_accuracy"] > 0.3
