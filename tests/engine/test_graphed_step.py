"""``train.cuda_graphs``: steps recorded once per batch shape and replayed train exactly like
eager steps. On the CPU the record is a stand-in that keeps the step instead of capturing it,
so every later step runs on the record's own batch tensors, refilled from the new batch: what
a CUDA graph replays. tests/test_cuda.py runs the same comparison with real CUDA graphs."""

import json

import pytest
import torch
from torch import nn

from pyg_action.engine import trainer
from pyg_action.engine.config import load_config
from pyg_action.engine.distributed import Context
from pyg_action.engine.graphed_step import GraphedSteps, shape_key
from pyg_action.engine.trainer import train

from .test_engine import TINY

# one person, 8 frames: the 34 training samples make three batches of one shape (10
# samples) and a last one of another (4 samples)
GRAPHED = [
    *TINY[:-2],
    "train.batch_size=10",
    "train.epochs=3",
    "data.transforms={train: [pre_normalize, {name: max_persons, count: 1},"
    " {name: uniform_sample, length: 8, mode: train}],"
    " test: [pre_normalize, {name: max_persons, count: 1}, {name: uniform_sample, length: 8}]}",
]


class KeptStep:
    """A capture that records nothing: the replay runs the step again on the same tensors."""

    def __init__(self) -> None:
        self.captures = 0
        self.replays = 0

    def __call__(self, step):
        self.captures += 1

        def replay() -> None:
            self.replays += 1
            step()

        return replay


def _log(folder):
    lines = (folder / "log.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["train.ema_decay=0.9", "train.grad_clip=1.0"],
        ["train.device_data=true"],
        ["train.mixup=0.4", "train.device_data=true"],  # the blended labels are refilled too
    ],
)
def test_recorded_steps_train_like_eager_steps(tmp_path, monkeypatch, extra):
    eager = load_config(None, [*GRAPHED, *extra], model="stgcn")
    train(eager, tmp_path / "eager", progress=False)
    kept = KeptStep()
    monkeypatch.setattr(trainer, "step_capture", lambda device: kept)
    graphed = load_config(None, [*GRAPHED, *extra, "train.cuda_graphs=true"], model="stgcn")
    train(graphed, tmp_path / "graphed", progress=False)
    # each shape: two eager steps, then one capture and its replays: the 10-sample shape is
    # captured in epoch 1 (replayed 1 + 3 + 3 times), the 4-sample one in epoch 3 (once)
    assert kept.captures == 2
    assert kept.replays == 8
    assert _log(tmp_path / "graphed") == _log(tmp_path / "eager")
    weights = [torch.load(tmp_path / f / "last.pt")["model"] for f in ("eager", "graphed")]
    for name, value in weights[0].items():
        torch.testing.assert_close(weights[1][name], value, rtol=0, atol=0, msg=name)


def test_cuda_graphs_is_ignored_off_the_gpu(tmp_path):
    """Like ``train.amp: true``, the option only acts on CUDA devices."""
    config = load_config(None, [*TINY, "train.epochs=1", "train.cuda_graphs=true"], model="stgcn")
    train(config, tmp_path, progress=False)
    assert (tmp_path / "result.json").exists()


def test_refused_with_float16_and_several_processes(monkeypatch):
    monkeypatch.setattr(trainer, "step_capture", lambda device: KeptStep())
    net, loss = nn.Linear(2, 2), nn.CrossEntropyLoss()
    one = Context(rank=0, world_size=1, device=torch.device("cpu"))
    two = Context(rank=0, world_size=2, device=torch.device("cpu"))
    opts = {"cuda_graphs": True}
    assert isinstance(trainer._graphed_steps(opts, net, loss, torch.bfloat16, one), GraphedSteps)
    assert trainer._graphed_steps({"cuda_graphs": False}, net, loss, None, one) is None
    with pytest.raises(ValueError, match="float16's loss scaling"):
        trainer._graphed_steps(opts, net, loss, torch.float16, one)
    with pytest.raises(ValueError, match="DistributedDataParallel"):
        trainer._graphed_steps(opts, net, loss, None, two)


def test_shape_key_separates_what_a_record_depends_on():
    from torch_geometric.data import Batch

    from pyg_action.graph import SkeletonGraphBuilder

    builder = SkeletonGraphBuilder("ntu25", edges=False)
    batch = Batch.from_data_list([builder(torch.randn(3, t, 25, 1)) for t in (6, 4)])
    same = Batch.from_data_list([builder(torch.randn(3, t, 25, 1)) for t in (6, 4)])
    swapped = Batch.from_data_list([builder(torch.randn(3, t, 25, 1)) for t in (4, 6)])
    assert shape_key(batch) == shape_key(same)
    # same node count and tensor shapes, other track lengths: other indices, other record
    assert batch.x.shape == swapped.x.shape
    assert shape_key(batch) != shape_key(swapped)
