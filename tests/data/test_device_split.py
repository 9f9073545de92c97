"""``train.device_data``: a split kept on the device gives the DataLoader's batches (same
nodes, labels and shape), augmentation included (each sample's own draws), and builds them
without a value-dependent operation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from pyg_action.bench.opcount import count_ops
from pyg_action.data import SkeletonDataset
from pyg_action.data.device_split import DeviceSplit
from pyg_action.errors import SkeletonDataError
from pyg_action.layouts import NTU25
from pyg_action.sequence import SkeletonSequence

from .test_batched_transforms import FixedDraws, _recorded_draws

RESAMPLED = [
    "pre_normalize",
    {"name": "uniform_sample", "length": 10},
    {"name": "streams", "streams": ["joint", "bone"]},
]
RECORDED_LENGTHS = ["pre_normalize", {"name": "streams", "streams": ["joint", "joint_motion"]}]
AUGMENTED = [
    "pre_normalize",
    {"name": "uniform_sample", "length": 10, "mode": "train"},
    {"name": "random_rotate", "angles": 20},
    {"name": "random_scale", "scale": 0.2},
    {"name": "streams", "streams": ["joint", "bone", "bone_motion"]},
]
JITTERED = [*AUGMENTED[:2], {"name": "random_jitter", "sigma": 0.1}, *AUGMENTED[2:]]
LOST = [*AUGMENTED[:4], {"name": "random_lost_frames", "p": 0.7, "span": [0.2, 0.8]}, AUGMENTED[4]]
SHEARED = [*AUGMENTED[:4], {"name": "random_shear", "shear": 0.2}, AUGMENTED[4]]
INTERPOLATED = [
    AUGMENTED[0],
    {"name": "uniform_sample", "length": 10, "mode": "train", "interpolate": True},
    *AUGMENTED[2:],
]
#: every body made one (a deterministic step: part of the host-side head)
ONE_BODY = [
    AUGMENTED[0],
    {
        "name": "set_bone_lengths",
        "lengths": {
            j: 0.5 for j in NTU25.joints[: NTU25.center] + NTU25.joints[NTU25.center + 1 :]
        },
    },
    *AUGMENTED[1:],
]
KEYS = ("x", "y", "num_frames", "num_persons", "sample_id")


def _dataset(transforms, persons=(1, 2), lengths=(7, 15, 11, 23, 9, 12, 18, 6)):
    rng = np.random.default_rng(1)
    samples = [
        SkeletonSequence(
            rng.normal(size=(3, t, 25, persons[i % len(persons)])).astype(np.float32),
            i % 3,
            layout="ntu25",
            name=f"s{i}",
        )
        for i, t in enumerate(lengths)
    ]
    return SkeletonDataset(samples, split=list(range(1, len(samples))), transforms=transforms,
                           seed=0, verbose=False)  # fmt: skip


@pytest.mark.parametrize("persons", [(2,), (1, 2, 2)], ids=["two_persons", "mixed_persons"])
@pytest.mark.parametrize(
    "transforms",
    [RESAMPLED, RECORDED_LENGTHS, AUGMENTED, ONE_BODY, LOST],
    ids=["resampled", "recorded", "augmented", "one_body", "lost_frames"],
)
def test_batches_equal_the_data_loaders(transforms, persons):
    dataset = _dataset(transforms, persons)
    split = DeviceSplit(dataset, "cpu")
    order = [[3, 0, 5], [1, 6, 2, 4]]
    for epoch in (0, 1):
        ours = list(split.batches(order, epoch))
        dataset.set_epoch(epoch)  # what the trainer's DataLoader path does each epoch
        theirs = list(DataLoader(dataset, batch_sampler=order))
        for mine, loaders in zip(ours, theirs, strict=True):
            for key in KEYS:
                torch.testing.assert_close(mine[key], loaders[key], rtol=1e-6, atol=1e-6, msg=key)
            assert [tuple(p) for p in mine.track_shape] == [tuple(p) for p in loaders.track_shape]


def test_jittered_batches_equal_the_data_loaders_and_mixed_person_counts_are_refused():
    dataset = _dataset(JITTERED, persons=(2,))
    order = [[3, 0, 5], [1, 6, 2, 4]]
    ours = list(DeviceSplit(dataset, "cpu").batches(order, epoch=1))
    dataset.set_epoch(1)
    for mine, loaders in zip(ours, DataLoader(dataset, batch_sampler=order), strict=True):
        torch.testing.assert_close(mine.x, loaders.x, rtol=1e-5, atol=1e-5)
    mixed = DeviceSplit(_dataset(JITTERED, persons=(1, 2)), "cpu")
    with pytest.raises(ValueError, match=r"random_jitter.*person counts \[1, 2\]"):
        list(mixed.batches([[0, 1]], epoch=0))


def test_augmented_batches_follow_the_numpy_pipeline_for_the_same_draws():
    dataset = _dataset(AUGMENTED)
    split = DeviceSplit(dataset, "cpu")
    rows = [4, 0, 6, 2]
    draw, record = _recorded_draws(3)
    batch = split.batch(torch.tensor(rows), rows, draw)
    nodes = batch.x.view(len(rows), -1, batch.x.shape[-1])
    for b, row in enumerate(rows):
        rng = FixedDraws([drawn[b].numpy() for drawn in record])
        expected = dataset.builder(dataset.pipeline(dataset.array(row), rng)).x
        torch.testing.assert_close(nodes[b], expected, rtol=1e-5, atol=1e-6)


def test_draws_follow_the_epoch():
    split = DeviceSplit(_dataset(AUGMENTED), "cpu")
    order = [[0, 1, 2], [3, 4, 5, 6]]
    first, again, other = (list(split.batches(order, epoch=e)) for e in (1, 1, 2))
    for a, b, c in zip(first, again, other, strict=True):
        torch.testing.assert_close(a.x, b.x, rtol=0, atol=0)
        assert not torch.equal(a.x, c.x)


@pytest.mark.parametrize(
    "transforms",
    [AUGMENTED, RECORDED_LENGTHS, LOST, SHEARED, INTERPOLATED],
    ids=["resampled", "recorded", "lost_frames", "sheared", "interpolated"],
)
def test_a_batch_is_built_without_value_dependent_operations(transforms):
    split = DeviceSplit(_dataset(transforms), "cpu")
    list(split.batches([[1, 2]], epoch=0))  # the steps' constants reach a device once
    counted = count_ops(lambda: list(split.batches([[0, 3, 5]], epoch=0)))
    assert not counted.value_dependent, counted.value_dependent
    assert counted.total < 150, counted.total  # ~65 kernels, the rest views (122 ops today)


def test_a_split_beyond_the_byte_budget_is_refused():
    message = r"GiB.*8 samples padded to 10 frames and 2 persons.*device_data"
    with pytest.raises(SkeletonDataError, match=message):
        DeviceSplit(_dataset(RESAMPLED, lengths=(10,) * 9), "cpu", max_bytes=1000)


def test_in_order_batches_as_an_unshuffled_data_loader():
    dataset = _dataset(RESAMPLED)
    ours = list(DeviceSplit(dataset, "cpu").in_order(range(len(dataset)), 3, epoch=0))
    theirs = list(DataLoader(dataset, batch_size=3))
    assert [b.y.numel() for b in ours] == [3, 3, 1]
    for mine, loaders in zip(ours, theirs, strict=True):
        for key in KEYS:
            torch.testing.assert_close(mine[key], loaders[key], rtol=0, atol=0, msg=key)
