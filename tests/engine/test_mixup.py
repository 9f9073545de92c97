"""``train.mixup``: samples blended in pairs of equal shape, node for node, labels too."""

import json

import numpy as np
import pytest
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from pyg_action.engine.config import load_config
from pyg_action.engine.graphed_step import loss_and_hits
from pyg_action.engine.mixup import TARGET, Mixup, partners
from pyg_action.engine.trainer import train
from pyg_action.graph import SkeletonGraphBuilder

from .test_engine import TINY

CLASSES = 5


def _batch(shapes, seed=0):
    """Skeleton samples of ``(frames, persons)`` each on NTU-25, with labels 0, 1, 2, ..."""
    gen = torch.Generator().manual_seed(seed)
    build = SkeletonGraphBuilder("ntu25", edges=False)
    samples = [
        build(torch.randn(3, t, 25, m, generator=gen), label=b % CLASSES)
        for b, (t, m) in enumerate(shapes)
    ]
    return Batch.from_data_list(samples)


def _per_sample(batch, shapes):
    sizes = [t * m * 25 for t, m in shapes]
    return list(torch.split(batch.x, sizes))


def test_each_sample_is_blended_with_its_drawn_partner():
    shapes = [(10, 2), (7, 1), (10, 2), (10, 2), (7, 1), (4, 2)]
    batch = _batch(shapes)
    before, labels = _per_sample(batch, shapes), batch.y.clone()
    mixup = Mixup(1.0, CLASSES, seed=3)
    partner, lam = mixup.draw(shapes, epoch=2, step=5)
    assert all(shapes[p] == shapes[b] for b, p in enumerate(partner))
    assert (lam >= 0.5).all() and (lam <= 1).all()  # the own label keeps the larger weight
    assert (partner != np.arange(len(shapes))).any() and (lam < 0.9).any()  # a real blend
    mixed = mixup(batch.clone(), epoch=2, step=5)
    after, target = _per_sample(mixed, shapes), mixed[TARGET]
    for b, p in enumerate(partner):
        expected = lam[b] * before[b] + (1 - lam[b]) * before[p]
        torch.testing.assert_close(after[b], expected, rtol=1e-6, atol=1e-6)
        hard = nn.functional.one_hot(labels, CLASSES).float()
        expected_target = lam[b] * hard[b] + (1 - lam[b]) * hard[p]
        torch.testing.assert_close(target[b], expected_target, rtol=1e-6, atol=1e-6)
    # the (4, 2) sample has no partner of its shape: it is left as it was, its label hard
    assert partner[5] == 5
    torch.testing.assert_close(after[5], before[5], rtol=0, atol=0)
    torch.testing.assert_close(target[5], nn.functional.one_hot(labels[5], CLASSES).float())


def test_partners_permute_inside_each_shape_group():
    shapes = [(3, 1), (5, 1), (3, 1), (3, 1), (5, 1), (9, 2)]
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(50):
        partner = partners(shapes, rng)
        assert sorted(partner) == list(range(len(shapes)))  # a permutation
        assert all(shapes[p] == shapes[b] for b, p in enumerate(partner))
        assert partner[5] == 5
        seen.add(tuple(partner))
    assert len(seen) > 5  # drawn anew each time


def test_draws_are_keyed_by_seed_epoch_step_and_rank():
    shapes = [(6, 1)] * 8

    def mixed(seed=0, epoch=0, step=0, rank=0):
        return Mixup(1.0, CLASSES, seed=seed, rank=rank)(_batch(shapes), epoch, step).x

    torch.testing.assert_close(mixed(), mixed(), rtol=0, atol=0)
    for change in ({"seed": 1}, {"epoch": 1}, {"step": 1}, {"rank": 1}):
        assert not torch.equal(mixed(**change), mixed())


def test_the_loss_is_the_cross_entropy_against_the_blend():
    batch = Mixup(0.4, CLASSES, seed=0)(_batch([(6, 1)] * 6), epoch=0, step=0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, CLASSES))
    criterion = nn.CrossEntropyLoss(reduction="sum", label_smoothing=0.1)

    def logits_of(batch):
        return model(batch.x).view(6, -1, CLASSES).mean(1)

    loss, hits = loss_and_hits(logits_of, criterion, batch, None)
    logits = logits_of(batch)
    smoothed = batch[TARGET] * 0.9 + 0.1 / CLASSES
    expected = -(smoothed * logits.log_softmax(1)).sum()
    torch.testing.assert_close(loss, expected)
    assert int(hits) == int((logits.argmax(1) == batch.y).sum())
    # without the blend the loss is the usual one against y
    delattr(batch, TARGET)
    loss, _ = loss_and_hits(logits_of, criterion, batch, None)
    torch.testing.assert_close(loss, criterion(logits_of(batch), batch.y))


def test_refused_for_batches_that_are_not_skeleton_samples():
    graphs = Batch.from_data_list([Data(x=torch.randn(4, 3), y=torch.tensor([0]))] * 2)
    with pytest.raises(ValueError, match="train.mixup blends skeleton samples"):
        Mixup(0.2, CLASSES, seed=0)(graphs, 0, 0)
    with pytest.raises(ValueError, match=r"train.mixup.*must be > 0"):
        Mixup(0.0, CLASSES, seed=0)


def test_a_run_with_mixup_trains_and_differs_from_one_without(tmp_path):
    runs = {}
    for name, extra in (("plain", []), ("mixup", ["train.mixup=0.4"])):
        config = load_config(None, [*TINY, *extra], model="stgcn")
        train(config, tmp_path / name, progress=False)
        log = (tmp_path / name / "log.jsonl").read_text().splitlines()
        runs[name] = [json.loads(line)["train_loss"] for line in log]
    assert all(np.isfinite(runs["mixup"]))
    assert runs["mixup"] != runs["plain"]
