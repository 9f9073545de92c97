"""Batching by length: every sample once per epoch, batches of similar lengths, seeded."""

import numpy as np
import pytest

from pyg_action.engine.config import load_config
from pyg_action.engine.distributed import ShardedBatchSampler, bucketed_order
from pyg_action.engine.trainer import train


def test_bucketed_batches_hold_every_sample_once_and_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(10, 300, size=1000)
    sampler = ShardedBatchSampler(1000, 16, seed=3, lengths=lengths)
    plain = ShardedBatchSampler(1000, 16, seed=3)
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        plain.set_epoch(epoch)
        batches = list(sampler)
        assert sorted(i for b in batches for i in b) == list(range(1000))
        spread = np.mean([np.ptp(lengths[b]) for b in batches])
        plain_spread = np.mean([np.ptp(lengths[b]) for b in plain])
        assert spread < plain_spread / 5
        assert batches == list(sampler)  # the same epoch gives the same batches
    sampler.set_epoch(0)
    first = list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first  # and another epoch others


def test_bucketed_order_keeps_a_short_last_batch_last():
    order = np.random.default_rng(1).permutation(21)
    out = bucketed_order(order, np.arange(21) % 7, 5, np.random.default_rng(2), pool=2)
    assert sorted(out.tolist()) == list(range(21))
    assert len(out) == 21


def test_lengths_must_match_the_samples():
    with pytest.raises(ValueError, match="3 lengths for 4 samples"):
        ShardedBatchSampler(4, 2, seed=0, lengths=[1, 2, 3])


def test_training_with_bucketing(tmp_path):
    config = load_config(
        None,
        [
            "model.channels=[8]",
            "model.strides=[1]",
            "data.num_samples=40",
            "train.epochs=1",
            "train.batch_size=8",
            "train.bucket_by_length=true",
            "data.transforms={train: [pre_normalize], test: [pre_normalize]}",
        ],
        model="stgcn",
    )
    result = train(config, tmp_path, progress=False)
    assert np.isfinite(result.final["top1"])
