"""Test-time multi-clip averaging: the mean of the centred clip and seeded random clips."""

import copy

import pytest
import torch
from click.testing import CliRunner
from torch_geometric.loader import DataLoader

from pyg_action.cli.main import cli
from pyg_action.engine.checkpoint import load_checkpoint, save_checkpoint
from pyg_action.engine.config import load_config
from pyg_action.engine.inference import checkpoint_logits, load_trained, random_clip_steps
from pyg_action.engine.trainer import load_split, predict_logits, train

from .test_engine import TINY


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("clips")
    train(load_config(None, [*TINY, "train.epochs=1"], model="stgcn"), out, progress=False)
    return out / "last.pt"


def test_clips_average_the_centred_and_the_random_clips(checkpoint):
    single, labels, state, _ = checkpoint_logits(checkpoint)
    three, same, _, _ = checkpoint_logits(checkpoint, clips=3)
    assert torch.equal(labels, same)
    # rebuild the two random clips by hand: uniform_sample in random mode, keyed by clip 1, 2
    model, _ = load_trained(checkpoint)
    config = copy.deepcopy(state["config"])
    config["data"]["transforms"] = {"test": random_clip_steps(config)}
    assert config["data"]["transforms"]["test"][1] == {
        "name": "uniform_sample",
        "length": 8,
        "mode": "train",
    }
    dataset = load_split(config, "test").dataset
    clips = []
    for clip in (1, 2):
        torch.manual_seed(0)  # the clips' generators are keyed by seed 0, clip and sample
        dataset.set_epoch(clip)
        clips.append(predict_logits(model, DataLoader(dataset, batch_size=64), "cpu")[0])
    assert not torch.allclose(clips[0], clips[1])  # the random clips differ from each other
    torch.testing.assert_close(three, (single + clips[0] + clips[1]) / 3)
    torch.manual_seed(1234)  # the clips do not depend on the process's torch seed
    again, _, _, _ = checkpoint_logits(checkpoint, clips=3)
    assert torch.equal(again, three)  # seeded: the same clips every time


def test_clips_need_a_temporal_sampling_step(checkpoint, tmp_path):
    state = load_checkpoint(checkpoint)
    state["config"]["data"]["transforms"] = {"train": ["pre_normalize"], "test": ["pre_normalize"]}
    save_checkpoint(tmp_path / "no_sampling.pt", state)
    with pytest.raises(ValueError, match="needs a uniform_sample step"):
        checkpoint_logits(tmp_path / "no_sampling.pt", clips=2)
    with pytest.raises(ValueError, match="clips must be"):
        checkpoint_logits(checkpoint, clips=0)


def test_evaluate_and_ensemble_take_clips(checkpoint):
    result = CliRunner().invoke(cli, ["evaluate", "--checkpoint", str(checkpoint), "--clips", "2"])
    assert result.exit_code == 0, result.output
    assert "(2 clips)" in result.output
    result = CliRunner().invoke(cli, ["ensemble", "--checkpoint", str(checkpoint), "--clips", "2"])
    assert result.exit_code == 0, result.output
    assert "2 clips per sequence" in result.output
