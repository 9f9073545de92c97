"""Every shipped config loads, its transforms build and its model builds (no data needed)."""

from pathlib import Path

import numpy as np
import pytest

from pyg_action.data.transforms import build_transforms
from pyg_action.engine.config import load_config
from pyg_action.engine.ensemble import read_ensemble_spec
from pyg_action.models import create_model

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SPECS = sorted(p for p in CONFIGS.glob("*.yaml") if p.stem.endswith("_ensemble"))
TRAINING = sorted(p for p in CONFIGS.glob("*.yaml") if p not in SPECS)
LAYOUTS = {
    "msr_action3d": "msr20",
    "ntu": "ntu25",
    "pyskl": "ntu25",
    "stgcn_arrays": "ntu25",
    "kinetics": "openpose18",
}


@pytest.mark.parametrize("path", TRAINING, ids=lambda p: p.stem)
def test_config_transforms_and_model_build(path):
    config = load_config(path)
    layout = LAYOUTS.get(config["data"]["name"])
    if layout is None:  # image and generic-graph data have no skeleton transforms
        return
    transforms = config["data"].get("transforms") or {}
    channels = 3
    for split in ("train", "test"):
        pipeline = build_transforms(transforms.get(split), layout=layout)
        frames = np.random.default_rng(0).normal(size=(3, 40, 1, 1)) * np.ones((1, 1, 1, 2))
        joints = {"msr20": 20, "ntu25": 25, "openpose18": 18}[layout]
        sample = np.repeat(frames, joints, axis=2).astype(np.float32)
        sample += np.random.default_rng(1).normal(size=sample.shape).astype(np.float32)
        channels = pipeline(sample, np.random.default_rng(0)).shape[0]
    options = dict(config["model"])
    name = options.pop("name")
    graph = {k: config["graph"][k] for k in ("strategy", "max_hop", "dilation")}
    model = create_model(
        name, num_classes=5, in_channels=channels, layout=layout, **options, **graph
    )
    assert sum(p.numel() for p in model.parameters()) > 0


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_ensemble_specs_name_shipped_stream_configs(path):
    spec = read_ensemble_spec(path)
    assert spec.streams and all(Path(s.config).is_file() for s in spec.streams)
    assert all(load_config(s.config)["data"]["name"] == "msr_action3d" for s in spec.streams)
