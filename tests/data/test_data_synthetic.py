"""The SYNTHETIC default data set: deterministic, varied, learnable but not trivial."""

from __future__ import annotations

import time

import numpy as np
import pytest

from pyg_action.data.synthetic import (
    SYNTHETIC_CLASSES,
    SYNTHETIC_LAYOUT,
    generate_sample,
    make_synthetic,
    synthetic_split,
)
from pyg_action.data.transforms import PreNormalize3D


@pytest.fixture(scope="module")
def samples():
    return make_synthetic(420, seed=0)


def test_classes_are_labelled_synthetic():
    assert len(SYNTHETIC_CLASSES) >= 8
    assert len(set(SYNTHETIC_CLASSES)) == len(SYNTHETIC_CLASSES)
    assert all(name.startswith("synthetic_") for name in SYNTHETIC_CLASSES)
    assert SYNTHETIC_LAYOUT.name == "ntu25"


def test_generation_is_deterministic_per_seed_and_index():
    a = generate_sample(17, seed=3)
    b = generate_sample(17, seed=3)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.name == b.name and a.label == b.label
    assert not np.array_equal(generate_sample(17, seed=4).data[:, :5], a.data[:, :5])
    # sample i does not depend on how many samples are generated
    np.testing.assert_array_equal(make_synthetic(20, seed=3)[17].data, a.data)


def test_samples_are_varied_and_well_formed(samples):
    labels = np.array([s.label for s in samples])
    counts = np.bincount(labels, minlength=len(SYNTHETIC_CLASSES))
    assert counts.min() >= 420 // len(SYNTHETIC_CLASSES)  # balanced
    frames = [s.num_frames for s in samples]
    assert 40 <= min(frames) and max(frames) <= 120 and len(set(frames)) > 30
    persons = {s.num_persons for s in samples}
    assert persons == {1, 2}
    for s in samples[:50]:
        assert s.data.dtype == np.float32 and s.data.shape[0] == 3 and s.data.shape[2] == 25
        assert np.isfinite(s.data).all()
        assert s.meta["synthetic"] is True and s.layout == "ntu25"
        assert s.name.startswith("synthetic_")
    two = [s for s in samples if SYNTHETIC_CLASSES[s.label] == "synthetic_handshake"]
    assert all(s.num_persons == 2 for s in two)
    subjects = {s.meta["subject"] for s in samples}
    assert subjects == set(range(1, 11))


def test_bodies_are_plausible(samples):
    """Head above the feet, limb lengths constant over time, bone lengths differ by subject."""
    joints = {name: i for i, name in enumerate(SYNTHETIC_LAYOUT.joints)}
    for s in samples[:40]:
        x = PreNormalize3D("ntu25")(s.data)  # spine along +z
        head = x[2, :, joints["head"], 0]
        feet = x[2, :, joints["left_foot"], 0]
        assert np.median(head - feet) > 1.0
    s = generate_sample(5, seed=0, noise=0.0, glitch_prob=0.0)
    arm = np.linalg.norm(
        s.data[:, :, joints["right_elbow"]] - s.data[:, :, joints["right_shoulder"]], axis=0
    )
    assert arm.std(axis=0).max() < 1e-5  # per person, over time
    lengths = {}
    for i in range(60):
        t = generate_sample(i, seed=0, noise=0.0, glitch_prob=0.0)
        lengths[t.meta["subject"]] = float(
            np.linalg.norm(
                t.data[:, 0, joints["left_knee"], 0] - t.data[:, 0, joints["left_hip"], 0]
            )
        )
    assert max(lengths.values()) - min(lengths.values()) > 0.02


def test_generation_is_fast():
    start = time.perf_counter()
    make_synthetic(100, seed=1)
    assert time.perf_counter() - start < 2.5  # about 2.5 ms per sample


def test_cross_subject_split(samples):
    train = synthetic_split(samples, "train")
    test = synthetic_split(samples, "test")
    assert set(train).isdisjoint(test) and len(train) + len(test) == len(samples)
    assert {samples[i].meta["subject"] for i in test} == {8, 9, 10}
    assert 0.2 < len(test) / len(samples) < 0.4


def _ridge_accuracy(x_train, y_train, x_test, y_test, alpha=1.0):
    """Ridge regression on one-hot targets (what sklearn's RidgeClassifier does)."""
    mean, std = x_train.mean(0), x_train.std(0) + 1e-8
    a = np.c_[(x_train - mean) / std, np.ones(len(x_train))]
    b = np.c_[(x_test - mean) / std, np.ones(len(x_test))]
    targets = -np.ones((len(y_train), y_train.max() + 1))
    targets[np.arange(len(y_train)), y_train] = 1
    weights = np.linalg.solve(a.T @ a + alpha * np.eye(a.shape[1]), a.T @ targets)
    return float(((b @ weights).argmax(1) == y_test).mean())


def test_ridge_baseline_is_above_chance_but_not_perfect(samples):
    def features(s):
        d = np.zeros((3, s.num_frames, 25, 2), np.float32)
        d[..., : s.num_persons] = s.data[..., :2]
        return np.concatenate([d.mean(1).ravel(), d.std(1).ravel()])

    x = np.stack([features(s) for s in samples]).astype(np.float64)
    y = np.array([s.label for s in samples])
    train, test = synthetic_split(samples, "train"), synthetic_split(samples, "test")
    accuracy = _ridge_accuracy(x[train], y[train], x[test], y[test])
    chance = 1 / len(SYNTHETIC_CLASSES)
    assert 4 * chance < accuracy < 0.99, accuracy
