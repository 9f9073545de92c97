"""Averages of the weights (moving and uniform): maths, evaluation, saving, loading, resuming."""

import json

import pytest
import torch
from torch import nn

from pyg_action.engine.averaging import WeightAverage, ema_model, ema_state, load_ema_state
from pyg_action.engine.checkpoint import load_checkpoint
from pyg_action.engine.config import load_config
from pyg_action.engine.inference import evaluate_checkpoint, load_trained
from pyg_action.engine.schema import ConfigError
from pyg_action.engine.trainer import train

from .test_engine import TINY


def test_ema_follows_the_warmed_up_decay_by_hand():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    ema = ema_model(net, decay=0.9)
    expected = None
    for step in range(6):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        net.train()(torch.randn(8, 3))  # moves the BatchNorm running statistics
        ema.update_parameters(net)
        current = torch.cat([t.flatten() for t in (*net.parameters(), net[1].running_mean)])
        if expected is None:
            expected = current.clone()  # the first update copies
        else:
            d = min(0.9, (1 + step) / (10 + step))
            expected = d * expected + (1 - d) * current
        averaged = ema.module
        got = torch.cat([t.flatten() for t in (*averaged.parameters(), averaged[1].running_mean)])
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)
    assert int(averaged[1].num_batches_tracked) == 6  # counters are copied, not averaged
    copy = ema_model(nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)), decay=0.9)
    load_ema_state(copy, ema_state(ema))
    assert int(copy.n_averaged) == 6
    for a, b in zip(copy.module.state_dict().values(), averaged.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="ema_decay"):
        ema_model(net, decay=1.0)


def test_an_ema_update_is_a_few_kernels_and_never_reads_the_device():
    """One update of a whole ST-GCN: a handful of multi-tensor ops, none value-dependent (a
    per-tensor update read the count back once per tensor: 0 waits is what a GPU needs)."""
    from pyg_action.bench.opcount import count_ops
    from pyg_action.models import create_model

    net = create_model("stgcn", num_classes=6, channels=[16, 16, 32], strides=[1, 2, 1])
    ema = ema_model(net, decay=0.99)
    ema.update_parameters(net)
    counted = count_ops(lambda: ema.update_parameters(net))
    assert counted.total_value_dependent == 0, counted.summary()
    tensors = len([*net.parameters(), *net.buffers()])
    assert tensors > 40 and counted.total <= 16, counted.summary()


def test_training_with_ema_evaluates_saves_and_resumes_the_average(tmp_path):
    config = load_config(None, [*TINY, "train.ema_decay=0.9"], model="stgcn")
    result = train(config, tmp_path / "run", progress=False)
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    assert state["ema"]["updates"] == 2 * 5  # 40 training samples / batch 8, two epochs
    weights, averaged = state["model"], state["ema"]["weights"]
    assert weights.keys() == averaged.keys()
    assert any(not torch.equal(weights[k], averaged[k]) for k in weights)
    # inference loads the average, and evaluating it gives the epoch's logged accuracy
    model, _ = load_trained(tmp_path / "run" / "last.pt")
    for key, value in model.state_dict().items():
        assert torch.equal(value, averaged[key])
    metrics = evaluate_checkpoint(tmp_path / "run" / "last.pt")
    assert metrics["top1"] == pytest.approx(result.final["top1"], abs=1e-2)
    # an interrupted EMA run resumes to the uninterrupted one's average
    short = load_config(None, [*TINY, "train.ema_decay=0.9", "train.epochs=1"], model="stgcn")
    train(short, tmp_path / "resumed", progress=False)
    train(config, tmp_path / "resumed", resume=True, progress=False)
    resumed = load_checkpoint(tmp_path / "resumed" / "last.pt")["ema"]
    assert resumed["updates"] == state["ema"]["updates"]
    for key, value in averaged.items():
        torch.testing.assert_close(resumed["weights"][key], value, rtol=1e-6, atol=1e-6)
    log = [
        json.loads(line) for line in (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()
    ]
    assert [r["epoch"] for r in log] == [1, 2]
    # turning the average on for a run trained without it is refused, not silently restarted
    plain = load_config(None, [*TINY, "train.epochs=1"], model="stgcn")
    train(plain, tmp_path / "plain", progress=False)
    with pytest.raises(ValueError, match="has no average"):
        train(config, tmp_path / "plain", resume=True, progress=False)


def test_the_uniform_average_is_the_mean_of_every_weight_seen():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    average = WeightAverage(net)
    seen = []
    for _ in range(5):
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p))
        net.train()(torch.randn(8, 3))
        average.update_parameters(net)
        seen.append(torch.cat([t.flatten() for t in (*net.parameters(), net[1].running_mean)]))
    module = average.module
    got = torch.cat([t.flatten() for t in (*module.parameters(), module[1].running_mean)])
    torch.testing.assert_close(got, torch.stack(seen).mean(0), rtol=1e-6, atol=1e-6)


def test_swa_from_averages_the_later_epochs_and_resumes(tmp_path):
    """``train.swa_from: 2`` of 3 epochs: the average holds the 10 steps of epochs 2-3, is what
    the last epoch evaluated and what inference loads; a run resumed from epoch 1 (whose
    checkpoint has no average yet) ends with the uninterrupted run's average.
    tests/engine/test_crash_resume.py kills and resumes a run across its averaging start."""
    swa = [*TINY, "train.epochs=3", "train.swa_from=2"]
    config = load_config(None, swa, model="stgcn")
    result = train(config, tmp_path / "run", progress=False)
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    assert state["ema"]["updates"] == 2 * 5
    assert any(not torch.equal(state["model"][k], v) for k, v in state["ema"]["weights"].items())
    metrics = evaluate_checkpoint(tmp_path / "run" / "last.pt")
    assert metrics["top1"] == pytest.approx(result.final["top1"], abs=1e-2)

    short = load_config(None, [*TINY, "train.epochs=1"], model="stgcn")
    train(short, tmp_path / "resumed", progress=False)
    train(config, tmp_path / "resumed", resume=True, progress=False)
    resumed = load_checkpoint(tmp_path / "resumed" / "last.pt")["ema"]
    assert resumed["updates"] == 10
    for key, value in state["ema"]["weights"].items():
        torch.testing.assert_close(resumed["weights"][key], value, rtol=1e-6, atol=1e-6)


def test_swa_from_is_checked_with_the_config():
    """Before anything loads, naming the section and the problem."""
    for extra, message in (
        (["train.swa_from=3"], "train: swa_from is epoch 3 of 2 epochs"),
        (["train.swa_from=1", "train.ema_decay=0.9"], "train: ema_decay and swa_from both"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_config(None, [*TINY, *extra], model="stgcn")
