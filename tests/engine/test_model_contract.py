"""The model-building contract: builders get only what they declare, a model is rebuilt
from the facts a checkpoint records, and non-skeleton data has its own error types."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from pyg_action.data import build_dataset
from pyg_action.data.registry import _REGISTRY, DataFacts, DatasetInfo, builder_takes
from pyg_action.engine.config import load_config
from pyg_action.engine.inference import checkpoint_facts, load_trained
from pyg_action.engine.trainer import build_model_for, load_split
from pyg_action.errors import DataError, GraphDataError, ImageDataError, SkeletonDataError


def _points(split: str, size: int = 4) -> DatasetInfo:
    """A dataset builder that declares no ``graph``: a few two-node graphs."""
    graphs = [
        Data(x=torch.ones(2, 3) * i, edge_index=torch.tensor([[0], [1]]), y=torch.tensor([i % 2]))
        for i in range(size)
    ]
    return DatasetInfo(dataset=graphs, num_classes=2, in_channels=3, class_names=["a", "b"])


def test_the_engine_passes_graph_only_to_builders_that_take_it(monkeypatch):
    monkeypatch.setitem(_REGISTRY, "points_for_test", _points)
    config = {"data": {"name": "points_for_test", "size": 3}, "graph": {"strategy": "spatial"}}
    info = load_split(config, "train")  # used to fail: unexpected keyword argument 'graph'
    assert len(info.dataset) == 3
    assert builder_takes("ntu", "graph") and builder_takes("synthetic", "graph")
    for name in ("digits", "images", "graph_npz", "pyg_dataset", "digits_points"):
        assert not builder_takes(name, "graph"), name


def test_image_and_graph_errors_are_their_own_types(tmp_path):
    with pytest.raises(ImageDataError, match="file not found") as image_error:
        build_dataset("images", "train", path=str(tmp_path / "none.npz"))
    np.savez(tmp_path / "g.npz", x=np.ones((2, 2), np.float32))
    with pytest.raises(GraphDataError, match="missing arrays") as graph_error:
        build_dataset("graph_npz", "train", path=str(tmp_path / "g.npz"))
    for error in (image_error.value, graph_error.value):
        assert isinstance(error, DataError) and not isinstance(error, SkeletonDataError)
        assert str(error).startswith(str(tmp_path))


def test_a_model_is_rebuilt_from_the_facts_a_checkpoint_records(tiny_run):
    out, _ = tiny_run
    model, state = load_trained(out / "best.pt")
    facts = checkpoint_facts(state)
    assert facts == DataFacts(
        state["num_classes"], state["in_channels"], tuple(state["class_names"]), state["layout"]
    )
    rebuilt = build_model_for(state["config"], facts)
    assert rebuilt.state_dict().keys() == model.state_dict().keys()
    info = load_split(state["config"], "test")
    assert info.facts == facts  # what the data gives is what the checkpoint recorded
    assert sum(p.numel() for p in build_model_for(state["config"], info).parameters()) == sum(
        p.numel() for p in model.parameters()
    )


def test_a_model_for_non_skeleton_data_takes_no_graph_options():
    config = load_config(model="vig_graph")
    facts = DataFacts(num_classes=3, in_channels=5, class_names=("a", "b", "c"))
    model = build_model_for(config, facts)
    out = model(Data(x=torch.ones(4, 5), edge_index=torch.tensor([[0, 1], [1, 2]])))
    assert out.shape == (1, 3)
