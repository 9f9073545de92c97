"""A dataset computes the leading deterministic transforms of a sample once and keeps the
result: samples are the same as recomputed every time, in every epoch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyg_action.data import SkeletonDataset
from pyg_action.data.transforms import TRANSFORMS, Transform, build_transforms
from pyg_action.sequence import SkeletonSequence

TRAIN = [
    "pre_normalize",
    "scale_normalize",
    {"name": "uniform_sample", "length": 8, "mode": "train"},
    {"name": "random_rotate", "angles": 20},
    {"name": "random_scale", "scale": 0.2},
    {"name": "streams", "streams": ["joint", "bone"]},
]
TEST = ["pre_normalize", "scale_normalize", {"name": "uniform_sample", "length": 8}]


def _dataset(transforms, keep_bytes=None):
    rng = np.random.default_rng(0)
    samples = [
        SkeletonSequence(rng.normal(size=(3, 9 + i, 25, 1 + i % 2)).astype(np.float32), i % 3,
                         layout="ntu25", name=f"s{i}")
        for i in range(6)
    ]  # fmt: skip
    dataset = SkeletonDataset(samples, transforms=transforms, seed=3, verbose=False)
    if keep_bytes is not None:
        dataset.PREPARED_BYTES = keep_bytes
    return dataset


def test_split_stops_at_the_first_random_step():
    head, tail = build_transforms(TRAIN, "ntu25").split()
    assert [type(t).__name__ for t in head.transforms] == ["PreNormalize3D", "ScaleNormalize"]
    assert len(tail) == 4
    head, tail = build_transforms(TEST, "ntu25").split()
    assert len(head) == 3 and len(tail) == 0  # uniform_sample's test mode draws nothing
    assert not TRANSFORMS["random_mirror"].deterministic
    assert TRANSFORMS["uniform_sample"](length=4, mode="test").deterministic


@pytest.mark.parametrize("transforms", [TRAIN, TEST], ids=["train", "test"])
def test_kept_samples_equal_recomputed_ones(transforms):
    kept = _dataset(transforms)
    recomputed = _dataset(transforms, keep_bytes=0)
    for epoch in (0, 1):
        kept.set_epoch(epoch)
        recomputed.set_epoch(epoch)
        for idx in range(len(kept)):
            torch.testing.assert_close(kept[idx].x, recomputed[idx].x, rtol=0, atol=0)
    assert len(kept._prepared) == len(kept) and not recomputed._prepared
    first = kept[0].x
    first.mul_(0)  # a sample's tensor is its own: changing it leaves the kept array intact
    assert kept[0].x.abs().sum() > 0


def test_deterministic_steps_run_once_per_sample():
    calls = []

    class Counted(Transform):
        deterministic = True

        def __call__(self, x, rng=None):
            calls.append(1)
            return x * 2

    dataset = _dataset([Counted(), {"name": "random_scale", "scale": 0.1}])
    for epoch in range(3):
        dataset.set_epoch(epoch)
        _ = [dataset[i] for i in range(len(dataset))]
    assert len(calls) == len(dataset)
    other = dataset.with_transforms([Counted()])  # another pipeline keeps its own results
    _ = other[0]
    assert len(calls) == len(dataset) + 1


def test_kept_bytes_are_bounded():
    dataset = _dataset(TRAIN)
    one = dataset.prepared(0).nbytes
    bounded = _dataset(TRAIN, keep_bytes=2 * one)
    calls = []
    head = bounded._head.transforms[0]
    bounded._head.transforms[0] = lambda x, rng: calls.append(1) or head(x, rng)
    bounded.prepare_all()
    assert 1 <= len(bounded._prepared) < len(bounded)
    assert bounded._prepared_bytes <= 2 * one
    assert len(calls) == len(bounded._prepared) + 1  # it stops once the budget is full


def _kept_in_worker(data):
    return len(torch.utils.data.get_worker_info().dataset._prepared)


def test_workers_use_what_the_parent_kept_and_keep_nothing():
    from torch.utils.data import DataLoader

    dataset = _dataset(TRAIN)
    dataset.prepared(0)  # the parent keeps sample 0 only
    loader = DataLoader(dataset, batch_size=None, num_workers=1, collate_fn=_kept_in_worker)
    assert list(loader) == [1] * len(dataset)  # the worker reads it and adds nothing
