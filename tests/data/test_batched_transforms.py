"""The batched on-device transforms (``train.device_data``) compute, for the same uniform draws,
what the numpy transforms compute sample by sample: on synthetic samples of many lengths
(some shorter and some longer than the resampled length) and on real MSR Action3D sequences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyg_action.data.batched_transforms import Clips, batched_steps
from pyg_action.data.transforms import build_transforms

LENGTH = 12
STEPS = {
    "resample_train": [{"name": "uniform_sample", "length": LENGTH, "mode": "train"}],
    "resample_test": [{"name": "uniform_sample", "length": LENGTH}],
    "interpolate_train": [
        {"name": "uniform_sample", "length": LENGTH, "mode": "train", "interpolate": True}
    ],
    "interpolate_test": [{"name": "uniform_sample", "length": LENGTH, "interpolate": True}],
    "lost_then_interpolate": [
        {"name": "random_lost_frames", "p": 0.8, "span": [0.2, 0.9]},
        {"name": "uniform_sample", "length": LENGTH, "mode": "train", "interpolate": True},
    ],
    "streams_then_sample": [
        {"name": "streams", "streams": ["joint", "bone", "joint_motion"]},
        {"name": "uniform_sample", "length": LENGTH, "mode": "train"},
    ],
    "rotate": [{"name": "random_rotate", "angles": [20, 10, 30]}],
    "rotate_2d": [{"name": "random_rotate", "angles": [20, 10, 30], "coords": 2}],
    "scale_per_axis": [{"name": "random_scale", "scale": 0.2}],
    "scale_one_factor": [{"name": "random_scale", "scale": 0.2, "per_axis": False}],
    "shear": [{"name": "random_shear", "shear": 0.3}],
    "shear_2d": [{"name": "random_shear", "shear": 0.3, "coords": 2}],
    "streams": [{"name": "streams", "streams": ["joint", "bone", "joint_motion", "bone_motion"]}],
    "bone_direction": [{"name": "streams", "streams": ["bone_direction", "joint"]}],
    "bone_motion": ["bone", "motion"],
    "jitter": [
        {"name": "uniform_sample", "length": LENGTH, "mode": "train"},
        {"name": "random_jitter", "sigma": 0.3},
    ],
    "lost_frames": [{"name": "random_lost_frames", "p": 0.8, "span": [0.2, 0.9]}],
    "normalize": [{"name": "normalize", "mean": [0.1, -0.2, 0.3], "std": [2.0, 0.5, 1.5]}],
    "msr_train": [
        {"name": "uniform_sample", "length": LENGTH, "mode": "train"},
        {"name": "random_rotate", "angles": 15},
        {"name": "random_scale", "scale": 0.1},
        {"name": "streams", "streams": ["joint", "bone", "joint_motion"]},
    ],
}


class FixedDraws:
    """A stand-in for a numpy Generator that returns given uniform numbers in order
    (``uniform(low, high)`` as numpy computes it: ``low + (high - low) * u``)."""

    def __init__(self, values: list[np.ndarray]) -> None:
        self.values = [float(v) for row in values for v in np.ravel(row)]

    def _take(self, count: int) -> np.ndarray:
        taken, self.values = self.values[:count], self.values[count:]
        assert len(taken) == count, "the numpy step drew more numbers than the batched one"
        return np.array(taken)

    def random(self, size: int | None = None) -> np.ndarray | float:
        return self._take(1)[0] if size is None else self._take(size)

    def uniform(self, low: float, high: float, size: int | None = None) -> np.ndarray | float:
        return low + (high - low) * self.random(size)


def _recorded_draws(seed: int):
    """A batched ``draw`` that records what it returned, step by step."""
    generator = torch.Generator().manual_seed(seed)
    record: list[torch.Tensor] = []

    def draw(shape):
        values = torch.rand(shape, generator=generator, dtype=torch.float64)
        record.append(values)
        return values

    return draw, record


def _batched(samples: list[np.ndarray], steps, layout: str, seed: int = 0):
    """The batched steps on the padded samples; returns each sample's output and the draws."""
    frames = [s.shape[1] for s in samples]
    padded = np.full((len(samples), *samples[0].shape[:1], max(frames), *samples[0].shape[2:]), 7.0)
    for row, sample in enumerate(samples):
        padded[row, :, : sample.shape[1]] = sample  # the padding holds garbage: never read
    persons = tuple(s.shape[3] for s in samples)
    clips = Clips(torch.from_numpy(padded).float(), torch.tensor(frames), tuple(frames), persons)
    draw, record = _recorded_draws(seed)
    out = batched_steps(build_transforms(steps, layout).transforms)(clips, draw)
    outputs = [out.x[b, :, : out.host_frames[b]].numpy() for b in range(len(samples))]
    assert out.frames.tolist() == list(out.host_frames)
    return outputs, record


def _numpy(samples: list[np.ndarray], steps, layout: str, record: list[torch.Tensor]):
    pipeline = build_transforms(steps, layout)
    outputs = []
    for b, sample in enumerate(samples):
        rng = FixedDraws([drawn[b].numpy() for drawn in record])
        outputs.append(pipeline(sample, rng))
        assert not rng.values, "the numpy step drew fewer numbers than the batched one"
    return outputs


def _synthetic(lengths, persons=2, joints=25, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(channels, t, joints, persons)).astype(np.float32) for t in lengths]


@pytest.mark.parametrize("name", list(STEPS))
def test_batched_steps_equal_the_numpy_steps_for_the_same_draws(name):
    samples = _synthetic([5, 12, 17, 30, 9, 1])  # shorter, equal and longer than LENGTH
    batched, record = _batched(samples, STEPS[name], "ntu25")
    expected = _numpy(samples, STEPS[name], "ntu25", record)
    for b, (got, want) in enumerate(zip(batched, expected, strict=True)):
        assert got.shape == want.shape, b
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=f"sample {b}")


def test_a_score_channel_is_carried_unchanged():
    samples = _synthetic([8, 14], joints=18, channels=3)
    steps = [
        {"name": "random_rotate", "angles": 25, "coords": 2},
        {"name": "random_scale", "coords": 2},
    ]
    batched, record = _batched(samples, steps, "openpose18")
    expected = _numpy(samples, steps, "openpose18", record)
    for got, want, sample in zip(batched, expected, samples, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(got[2], sample[2])


@pytest.mark.parametrize("name", ["msr_train", "shear", "streams", "lost_then_interpolate"])
def test_a_confidence_channel_after_xyz_is_carried_as_numpy_carries_it(name):
    """MSR Action3D read ``with_confidence``: four channels, the geometric steps act on three."""
    samples = _synthetic([5, 12, 17, 30], joints=20, channels=4)
    batched, record = _batched(samples, STEPS[name], "msr20")
    expected = _numpy(samples, STEPS[name], "msr20", record)
    for got, want in zip(batched, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_an_axis_without_rotation_is_left_alone():
    samples = _synthetic([6])
    batched, _ = _batched(samples, [{"name": "random_rotate", "angles": [0, 0, 40]}], "ntu25")
    np.testing.assert_allclose(batched[0][2], samples[0][2], rtol=1e-6, atol=1e-6)  # z kept
    assert not np.allclose(batched[0][0], samples[0][0])


def test_a_step_without_a_batched_form_is_named():
    steps = build_transforms([{"name": "random_mirror"}], "ntu25").transforms
    with pytest.raises(ValueError, match=r"RandomMirror.*no batched form.*device_data"):
        batched_steps(steps)


def test_jitter_keeps_absent_person_frames_and_needs_clips_of_one_shape():
    samples = _synthetic([LENGTH, LENGTH])
    samples[1][:, 3, :, 1] = 0.0  # the second person of the second sample is absent in frame 3
    batched, _ = _batched(samples, [{"name": "random_jitter", "sigma": 0.5}], "ntu25")
    np.testing.assert_array_equal(batched[1][:, 3, :, 1], 0.0)
    assert not np.allclose(batched[1][:, 3, :, 0], samples[1][:, 3, :, 0])
    with pytest.raises(ValueError, match=r"needs clips of one length and person count"):
        _batched(_synthetic([5, LENGTH]), [{"name": "random_jitter"}], "ntu25")


def test_msr_sequences_batched_equal_numpy(msr_raw):
    samples, _ = msr_raw
    head = build_transforms(["pre_normalize", "scale_normalize"], "msr20")
    arrays = [head(s.data) for s in samples[:40]]
    assert len({a.shape[1] for a in arrays}) > 10  # real, varied lengths
    steps = STEPS["msr_train"]
    batched, record = _batched(arrays, steps, "msr20", seed=5)
    for got, want in zip(batched, _numpy(arrays, steps, "msr20", record), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
