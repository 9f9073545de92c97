"""Transforms: invariants (hypothesis) and the config builder."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyg_action.data.transforms import (
    TRANSFORMS,
    Bone,
    Centre,
    Compose,
    DropMissingFrames,
    Motion,
    Normalize,
    PreNormalize3D,
    RandomBoneRotate,
    RandomBoneScale,
    RandomCrop,
    RandomJitter,
    RandomLostFrames,
    RandomMirror,
    RandomMove,
    RandomRotate,
    RandomScale,
    RandomShear,
    ScaleNormalize,
    SetBoneLengths,
    Streams,
    TemporalMedian,
    UniformSample,
    build_transforms,
    interpolate_frames,
    mirror_pairs,
    rotation_matrix,
    uniform_sample_indices,
    uniform_sample_positions,
)
from pyg_action.errors import SkeletonDataError
from pyg_action.layouts import MSR20, NTU25, get_layout
from pyg_action.sequence import SkeletonSequence

LAYOUTS = st.sampled_from(["ntu25", "msr20"])
SETTINGS = settings(max_examples=40, deadline=None, database=None)


def sample(seed: int, layout: str, frames: int, persons: int, channels: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    joints = get_layout(layout).num_joints
    x = rng.normal(size=(channels, frames, joints, persons)) + rng.normal(size=(channels, 1, 1, 1))
    return x.astype(np.float32)


def bone_lengths(x: np.ndarray, layout: str) -> np.ndarray:
    bones = get_layout(layout).bone_array(x[:3].astype(np.float64), axis=2)
    return np.linalg.norm(bones, axis=0)


samples = st.builds(
    sample,
    seed=st.integers(0, 2**31),
    layout=LAYOUTS,
    frames=st.integers(1, 12),
    persons=st.integers(1, 2),
)


@SETTINGS
@given(seed=st.integers(0, 2**31), layout=LAYOUTS, frames=st.integers(1, 12))
def test_random_rotation_preserves_bone_lengths(seed, layout, frames):
    x = sample(seed, layout, frames, 2)
    out = RandomRotate(angles=[180, 90, 180])(x, np.random.default_rng(seed))
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_allclose(bone_lengths(out, layout), bone_lengths(x, layout), atol=1e-4)
    # a rotation, not the identity, was drawn
    assert not np.allclose(out, x)


@SETTINGS
@given(
    seed=st.integers(0, 2**31), layout=LAYOUTS, frames=st.integers(1, 12), per_frame=st.booleans()
)
def test_centre_puts_joint_at_origin(seed, layout, frames, per_frame):
    x = sample(seed, layout, frames, 2)
    lay = get_layout(layout)
    out = Centre(lay, joint=lay.joints[3], per_frame=per_frame)(x)
    if per_frame:
        np.testing.assert_allclose(out[:, :, 3, :], 0, atol=1e-5)
    else:
        np.testing.assert_allclose(out[:, 0, 3, 0], 0, atol=1e-5)
        # one translation for everything: differences between joints and persons unchanged
        np.testing.assert_allclose(out - out[:, :1, :1, :1], x - x[:, :1, :1, :1], atol=1e-4)


def test_centre_default_joint_and_missing_frames_stay_zero():
    x = sample(0, "ntu25", 6, 2)
    x[:, 2, :, 1] = 0  # person 2 absent in frame 2
    out = Centre("ntu25")(x)
    np.testing.assert_allclose(out[:, :, NTU25.center], 0, atol=1e-6)
    assert not out[:, 2, :, 1].any()


@SETTINGS
@given(seed=st.integers(0, 2**31), layout=LAYOUTS, frames=st.integers(1, 12))
def test_pre_normalize_aligns_spine_with_z_and_shoulders_with_x(seed, layout, frames):
    x = sample(seed, layout, frames, 2)
    step = PreNormalize3D(layout)
    out = step(x)
    frame = out[:, 0, :, 0].astype(np.float64)
    origin, (z0, z1), (x0, x1) = step.origin, step.z_axis, step.x_axis
    np.testing.assert_allclose(frame[:, origin], 0, atol=1e-5)
    spine = frame[:, z1] - frame[:, z0]
    np.testing.assert_allclose(spine[:2], 0, atol=1e-4 * max(1, np.linalg.norm(spine)))
    assert spine[2] > 0
    shoulders = frame[:, x1] - frame[:, x0]
    assert abs(shoulders[1]) < 1e-4 * max(1, np.linalg.norm(shoulders))
    assert shoulders[0] >= -1e-6
    # a rigid motion: bone lengths survive
    np.testing.assert_allclose(bone_lengths(out, layout), bone_lengths(x, layout), atol=1e-4)


@SETTINGS
@given(seed=st.integers(0, 2**31), frames=st.integers(1, 6))
def test_pre_normalize_pyskl_mode_aligns_shoulders_exactly(seed, frames):
    x = sample(seed, "ntu25", frames, 1)
    out = PreNormalize3D("ntu25", keep_spine=False)(x)
    shoulders = out[:, 0, 8, 0].astype(np.float64) - out[:, 0, 4, 0]
    np.testing.assert_allclose(shoulders[1:], 0, atol=1e-4 * max(1, np.linalg.norm(shoulders)))
    assert shoulders[0] > 0


def test_pre_normalize_joint_names_follow_pyskl_for_ntu_and_msr():
    ntu = PreNormalize3D("ntu25")
    assert (ntu.origin, ntu.z_axis, ntu.x_axis) == (1, (0, 1), (4, 8))  # pyskl: 1, [0,1], [8,4]
    msr = PreNormalize3D("msr20")
    names = [MSR20.joints[i] for i in (msr.origin, *msr.z_axis, *msr.x_axis)]
    assert names == ["spine", "hip_center", "spine", "left_shoulder", "right_shoulder"]
    with pytest.raises(ValueError, match="no default joints"):
        PreNormalize3D("coco17")
    with pytest.raises(SkeletonDataError, match="3D"):
        PreNormalize3D("ntu25")(sample(0, "ntu25", 3, 1, channels=2))


def test_pre_normalize_skips_leading_missing_frames():
    x = sample(1, "ntu25", 5, 1)
    x[:, :2] = 0
    out = PreNormalize3D("ntu25")(x)
    assert not out[:, :2].any()
    np.testing.assert_allclose(out[:, 2, 1, 0], 0, atol=1e-5)


def test_pre_normalize_median_reference_ignores_a_glitched_first_frame():
    rng = np.random.default_rng(3)
    pose = sample(2, "msr20", 1, 1)
    x = np.repeat(pose, 9, axis=1) + 0.002 * rng.normal(size=(3, 9, 20, 1)).astype(np.float32)
    x[:, 0, 0, 0] += [0.0, 0.0, 2.0]  # the left shoulder jumps 2 m in depth in the first frame
    steady = PreNormalize3D("msr20")(x[:, 1:])
    robust = PreNormalize3D("msr20", reference="median")(x)
    first = PreNormalize3D("msr20")(x)
    # the median pose is not fooled: frames 1.. end up oriented as without the glitch
    np.testing.assert_allclose(robust[:, 1:], steady, atol=0.05)
    assert np.abs(first[:, 1:] - steady).max() > 0.5
    # rigid either way, and the median pose itself is aligned
    np.testing.assert_allclose(bone_lengths(robust, "msr20"), bone_lengths(x, "msr20"), atol=1e-4)
    with pytest.raises(ValueError, match="reference"):
        PreNormalize3D("msr20", reference="mean")


@SETTINGS
@given(seed=st.integers(0, 2**31), frames=st.integers(1, 6))
def test_pre_normalize_vertical_maps_camera_up_to_z_and_faces_the_shoulders_along_x(seed, frames):
    x = sample(seed, "msr20", frames, 1)
    step = PreNormalize3D("msr20", vertical=[0, 1, 0])
    out = step(x)
    lifted = x.copy()
    lifted[1] += 0.7  # the whole body 0.7 higher in the camera: centring removes it
    np.testing.assert_allclose(step(lifted), out, atol=1e-4)
    matrix = step.matrix(x[:, 0, :, 0] - x[:, 0, step.origin : step.origin + 1, 0])
    np.testing.assert_allclose(matrix @ [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], atol=1e-9)
    shoulders = out[:, 0, step.x_axis[1], 0].astype(np.float64) - out[:, 0, step.x_axis[0], 0]
    assert abs(shoulders[1]) < 1e-4 * max(1, np.linalg.norm(shoulders)) and shoulders[0] >= -1e-6
    np.testing.assert_allclose(bone_lengths(out, "msr20"), bone_lengths(x, "msr20"), atol=1e-4)
    with pytest.raises(ValueError, match="vertical"):
        PreNormalize3D("msr20", vertical=[0, 0, 0])


def test_mirror_pairs_and_random_mirror_reflects_a_body():
    pairs = mirror_pairs(MSR20)
    names = [(MSR20.joints[a], MSR20.joints[b]) for a, b in pairs]
    assert len(pairs) == 8 and ("left_wrist", "right_wrist") in names
    assert len(mirror_pairs(NTU25)) == 10
    x = sample(4, "msr20", 6, 1)
    out = RandomMirror("msr20", p=1.0)(x, np.random.default_rng(0))
    for left, right in pairs:
        np.testing.assert_array_equal(out[0, :, left], -x[0, :, right])
        np.testing.assert_array_equal(out[1:, :, right], x[1:, :, left])
    neck = MSR20.joint_index("neck")
    np.testing.assert_array_equal(out[:, :, neck, 0], [[-1], [1], [1]] * x[:, :, neck, 0])
    # the same bones, left and right swapped: the same lengths in another order
    np.testing.assert_allclose(
        np.sort(bone_lengths(out, "msr20"), axis=1),
        np.sort(bone_lengths(x, "msr20"), axis=1),
        atol=1e-5,
    )
    # twice is the identity; p=0 never flips; p=0.5 flips about half the time
    again = RandomMirror("msr20", p=1.0)(out, np.random.default_rng(0))
    np.testing.assert_array_equal(again, x)
    np.testing.assert_array_equal(RandomMirror("msr20", p=0.0)(x, np.random.default_rng(0)), x)
    rng = np.random.default_rng(1)
    flips = sum(not np.array_equal(RandomMirror("msr20")(x, rng), x) for _ in range(400))
    assert 150 < flips < 250
    with pytest.raises(ValueError, match="no left_"):
        RandomMirror(
            "coco17_no_sides"
            if False
            else get_layout("openpose18").__class__(
                name="chain", joints=("a", "b"), bones=((0, 1),), center=0
            )
        )
    with pytest.raises(SkeletonDataError, match="20 joints"):
        RandomMirror("msr20", p=1.0)(sample(0, "ntu25", 2, 1), np.random.default_rng(0))


def test_temporal_median_removes_a_one_frame_glitch_and_keeps_missing_frames():
    t = np.arange(12, dtype=np.float32)
    x = np.zeros((3, 12, 20, 2), dtype=np.float32)
    x[:, :, :, 0] = t[None, :, None] + 1  # a steady ramp: the median keeps it exactly
    x[2, :, 7, 0] = 2.0  # a joint standing still in depth...
    clean = x.copy()
    x[2, 5, 7, 0] = 5.0  # ...but for one frame where its depth jumps
    x[:, 8:, :, 1] = 1.0  # the second person is present from frame 8 only
    x[0, 9, 3, 1] = 9.0
    out = TemporalMedian(window=3)(x)
    np.testing.assert_array_equal(out[:, :, :, 0], clean[:, :, :, 0])
    assert not out[:, :8, :, 1].any()  # missing frames stay zero, not smeared in
    assert out[0, 9, 3, 1] == 1.0
    np.testing.assert_array_equal(TemporalMedian(window=1)(x), x)
    with pytest.raises(ValueError, match="odd"):
        TemporalMedian(window=4)


def _sampled(sampler, frames: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``sampler``'s training and test points, checked: ``length`` of them, inside the
    recording, in order, the test points the same on every call."""
    train = sampler(frames, length, np.random.default_rng(seed))
    test = sampler(frames, length)
    for points in (train, test):
        assert points.shape == (length,)
        assert points.min() >= 0 and points.max() <= frames - 1
        assert np.all(np.diff(points) >= 0)
    np.testing.assert_array_equal(test, sampler(frames, length))
    return train, test


@SETTINGS
@given(frames=st.integers(1, 400), length=st.integers(1, 150), seed=st.integers(0, 2**31))
def test_uniform_sampling_indices(frames, length, seed):
    train, _ = _sampled(uniform_sample_indices, frames, length, seed)
    if frames >= length:  # one frame from each segment, all distinct
        lower = np.floor(np.arange(length) * frames / length)
        upper = np.floor((np.arange(length) + 1) * frames / length)
        assert np.all((train >= lower) & (train < upper))
        assert len(set(train.tolist())) == length


@SETTINGS
@given(x=samples, length=st.integers(1, 40), mode=st.sampled_from(["train", "test"]))
def test_uniform_sample_output_length(x, length, mode):
    out = UniformSample(length, mode)(x, np.random.default_rng(0))
    assert out.shape == (x.shape[0], length, *x.shape[2:])


@SETTINGS
@given(frames=st.integers(1, 400), length=st.integers(1, 150), seed=st.integers(0, 2**31))
def test_uniform_sampling_positions(frames, length, seed):
    train, test = _sampled(uniform_sample_positions, frames, length, seed)
    part = frames / length  # part i of the recording's time is [i part, (i + 1) part)
    lower = np.clip(np.arange(length) * part - 0.5, 0, frames - 1)
    upper = np.clip((np.arange(length) + 1) * part - 0.5, 0, frames - 1)
    assert np.all((train >= lower) & (train <= upper))
    np.testing.assert_allclose(test, np.clip((np.arange(length) + 0.5) * part - 0.5, 0, frames - 1))


def test_interpolated_resampling_follows_a_steady_motion_and_keeps_the_frames_at_equal_length():
    frames, length = 13, 32
    time = np.arange(frames, dtype=np.float64)
    x = np.zeros((3, frames, 20, 1), dtype=np.float32)
    x[0] = (0.5 + 0.25 * time)[:, None, None]  # every joint moves steadily along x
    x[1] = 1.0
    stretched = UniformSample(length, interpolate=True)(x)
    position = uniform_sample_positions(frames, length)
    np.testing.assert_allclose(stretched[0, :, 0, 0], 0.5 + 0.25 * position, rtol=1e-6)
    motion = Streams("msr20", ["joint_motion"])(stretched)[0, :-1, 0, 0]
    assert np.all(motion > 0)  # stretched, never a repeated frame
    repeated = Streams("msr20", ["joint_motion"])(UniformSample(length)(x))[0, :-1, 0, 0]
    assert np.sum(repeated == 0) == length - frames  # whole frames: a zero per repeat
    same = sample(3, "msr20", length, 2, channels=4)
    np.testing.assert_allclose(UniformSample(length, interpolate=True)(same), same, atol=1e-6)


def test_interpolation_never_blends_a_body_with_a_lost_frame():
    x = sample(4, "msr20", 10, 2)
    x[:, 4:6, :, 0] = 0.0  # the tracker lost the first person in frames 4 and 5
    position = np.linspace(0.0, 9.0, 37)
    out = interpolate_frames(x, position)
    for i, p in enumerate(position):
        low, high = int(np.floor(p)), min(int(np.floor(p)) + 1, 9)
        if {low, high} & {4, 5}:  # the nearer frame as it is: a recorded body or a lost frame
            nearer = high if p - low >= 0.5 else low
            np.testing.assert_allclose(out[:, i, :, 0], x[:, nearer, :, 0], atol=1e-6)
        w = p - low  # the second person is present throughout: always blended
        blended = (1 - w) * x[:, low, :, 1] + w * x[:, high, :, 1]
        np.testing.assert_allclose(out[:, i, :, 1], blended, atol=1e-6)


def test_drop_missing_frames_keeps_the_frames_with_a_body_in_order():
    x = sample(2, "msr20", 8, 2, channels=4)
    x[:, [0, 3, 4, 7]] = 0.0  # nobody in these frames
    x[:, 5, :, 0] = 0.0  # only the second person in frame 5
    out = DropMissingFrames()(x)
    np.testing.assert_array_equal(out, x[:, [1, 2, 5, 6]])
    assert out.dtype == np.float32 and out.flags.c_contiguous
    assert DropMissingFrames.deterministic
    np.testing.assert_array_equal(DropMissingFrames()(out), out)
    with pytest.raises(SkeletonDataError, match="no frame of the sample holds a body"):
        DropMissingFrames()(np.zeros_like(x))


def test_uniform_sample_test_mode_is_deterministic_centre():
    x = np.arange(10, dtype=np.float32).reshape(1, 10, 1, 1)
    out = UniformSample(5, "test")(x, np.random.default_rng(0))
    np.testing.assert_array_equal(out.ravel(), [1, 3, 5, 7, 9])


@SETTINGS
@given(x=samples, seed=st.integers(0, 2**31))
def test_random_crop_keeps_a_contiguous_window(x, seed):
    out = RandomCrop(ratio=[0.5, 1.0])(x, np.random.default_rng(seed))
    frames = x.shape[1]
    assert max(1, round(0.5 * frames)) <= out.shape[1] <= frames
    starts = [
        s
        for s in range(frames - out.shape[1] + 1)
        if np.array_equal(x[:, s : s + out.shape[1]], out)
    ]
    assert starts


@SETTINGS
@given(seed=st.integers(0, 2**31), layout=LAYOUTS, frames=st.integers(1, 8))
def test_bone_stream_of_centred_sample_rebuilds_joints(seed, layout, frames):
    lay = get_layout(layout)
    x = Centre(lay)(sample(seed, layout, frames, 2))  # centre joint at the origin
    bones = Bone(lay)(x)
    assert not bones[:, :, lay.center].any()
    rebuilt = np.zeros_like(bones, dtype=np.float64)
    for joint in range(lay.num_joints):  # walk each joint's path to the centre
        node = joint
        while node != lay.center:
            rebuilt[:, :, joint] += bones[:, :, node]
            node = lay.parents[node]
    np.testing.assert_allclose(rebuilt, x, atol=1e-4)


def test_bone_uses_the_layout_definition_and_keeps_extra_channels():
    x = sample(3, "msr20", 4, 1, channels=4)
    out = Bone("msr20")(x)
    np.testing.assert_allclose(out[:3], MSR20.bone_array(x[:3], axis=2), atol=1e-6)
    np.testing.assert_array_equal(out[3], x[3])


@SETTINGS
@given(seed=st.integers(0, 2**31), layout=LAYOUTS, frames=st.integers(1, 12))
def test_bone_direction_is_the_unit_bone_and_ignores_the_build(seed, layout, frames):
    lay = get_layout(layout)
    x = sample(seed, layout, frames, 2, channels=4)
    x[:, 0, :, 1] = 0.0  # person 2 absent in the first frame
    direction = Streams(lay, ["bone_direction"])(x)
    bones = Bone(lay)(x)[:3]
    lengths = np.linalg.norm(bones, axis=0)
    has_length = lengths > 1e-6
    np.testing.assert_allclose(np.linalg.norm(direction[:3], axis=0)[has_length], 1.0, atol=1e-5)
    np.testing.assert_allclose(direction[:3] * lengths, bones, atol=1e-4)  # same way as the bone
    assert not direction[:3, :, lay.center].any() and not direction[:3, 0, :, 1].any()
    np.testing.assert_array_equal(direction[3], x[3])
    # another build (every bone lengthened or shortened on its own) points the same way
    rebuilt = RandomBoneScale(lay, scale=0.5, symmetric=False)(x, np.random.default_rng(seed))
    np.testing.assert_allclose(Streams(lay, ["bone_direction"])(rebuilt), direction, atol=1e-4)


@SETTINGS
@given(x=samples)
def test_motion_stream(x):
    out = Motion()(x)
    assert not out[:, -1].any()
    np.testing.assert_allclose(out[:, :-1], x[:, 1:] - x[:, :-1], atol=1e-6)
    np.testing.assert_allclose(np.cumsum(out, axis=1)[:, :-1], x[:, 1:] - x[:, :1], atol=1e-4)


def test_streams_concatenate_in_order():
    x = sample(4, "ntu25", 5, 2)
    out = Streams("ntu25", ["joint", "bone", "joint_motion", "bone_motion"])(x)
    assert out.shape == (12, 5, 25, 2)
    np.testing.assert_array_equal(out[:3], x)
    np.testing.assert_allclose(out[3:6], Bone("ntu25")(x), atol=1e-6)
    np.testing.assert_allclose(out[6:9], Motion()(x), atol=1e-6)
    np.testing.assert_allclose(out[9:], Motion()(Bone("ntu25")(x)), atol=1e-6)
    with pytest.raises(ValueError, match="unknown or no streams"):
        Streams("ntu25", ["velocity"])
    with pytest.raises(ValueError, match="unknown or no streams"):
        Streams("ntu25", ["joint_direction"])


@SETTINGS
@given(seed=st.integers(0, 2**31), layout=LAYOUTS, by=st.sampled_from(["bones", "torso"]))
def test_scale_normalize_sets_the_body_length(seed, layout, by):
    step = ScaleNormalize(layout, by=by, target=2.0)
    out = step(sample(seed, layout, 6, 2))
    assert step.length(out) == pytest.approx(2.0, rel=1e-4)


@SETTINGS
@given(seed=st.integers(0, 2**31))
def test_isotropic_random_scale_scales_every_bone_alike(seed):
    x = sample(seed, "ntu25", 4, 1)
    out = RandomScale(0.3, per_axis=False)(x, np.random.default_rng(seed))
    real = np.arange(25) != NTU25.center  # the centre's "bone" has length 0
    ratio = bone_lengths(out, "ntu25")[:, real] / bone_lengths(x, "ntu25")[:, real]
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-4)
    assert 0.7 <= ratio.flat[0] <= 1.3


@SETTINGS
@given(seed=st.integers(0, 2**31), layout=LAYOUTS, frames=st.integers(1, 12))
def test_random_shear_is_one_unit_diagonal_map_of_the_whole_sample(seed, layout, frames):
    x = sample(seed, layout, frames, 2, channels=4)
    out = RandomShear(0.3)(x, np.random.default_rng(seed))
    points, moved = x[:3].reshape(3, -1).astype(np.float64), out[:3].reshape(3, -1)
    fitted = np.linalg.lstsq(points.T, moved.T, rcond=None)[0].T  # moved = S points
    np.testing.assert_allclose(fitted @ points, moved, atol=1e-4)  # one map for every point
    np.testing.assert_allclose(np.diag(fitted), 1.0, atol=1e-4)
    off = fitted[~np.eye(3, dtype=bool)]
    assert np.all(np.abs(off) <= 0.3 + 1e-4) and np.any(np.abs(off) > 1e-3)
    np.testing.assert_array_equal(out[3], x[3])  # a fourth channel is kept


def test_random_shear_zero_is_the_identity_and_checks_its_limit():
    x = sample(0, "msr20", 5, 1)
    np.testing.assert_array_equal(RandomShear(0.0)(x, np.random.default_rng(0)), x)
    two_d = RandomShear(0.2, coords=2)(x, np.random.default_rng(0))
    np.testing.assert_array_equal(two_d[2], x[2])
    assert not np.allclose(two_d[:2], x[:2])
    for bad in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="random_shear"):
            RandomShear(bad)


@SETTINGS
@given(seed=st.integers(0, 2**31), layout=LAYOUTS, frames=st.integers(1, 12))
def test_random_bone_scale_changes_each_bone_length_and_keeps_its_direction(seed, layout, frames):
    x = sample(seed, layout, frames, 2, channels=4)
    x[:, frames // 2, :, 1] = 0.0  # the second person is absent in one frame
    step = RandomBoneScale(layout, scale=0.3)
    out = step(x, np.random.default_rng(seed))
    skeleton = get_layout(layout)
    centre = skeleton.center
    real = np.arange(skeleton.num_joints) != centre
    before = skeleton.bone_array(x[:3].astype(np.float64), axis=2)[:, :, real]
    after = skeleton.bone_array(out[:3].astype(np.float64), axis=2)[:, :, real]
    # one factor per bone, the same in every frame and for both persons, the direction kept
    factor = np.linalg.norm(after[:, 0, :, 0], axis=0) / np.linalg.norm(before[:, 0, :, 0], axis=0)
    np.testing.assert_allclose(after, before * factor[None, None, :, None], atol=1e-4)
    assert np.all((factor >= 0.7 - 1e-4) & (factor <= 1.3 + 1e-4))
    assert np.ptp(factor) > 0.01  # the bones got different factors
    # twins share their factor; the centre, the score channel and the absent frame are kept
    index = [j for j in range(skeleton.num_joints) if j != centre]
    for left, right in mirror_pairs(skeleton):
        assert factor[index.index(left)] == pytest.approx(factor[index.index(right)], rel=1e-4)
    np.testing.assert_allclose(out[:3, :, centre], x[:3, :, centre], atol=1e-6)
    np.testing.assert_array_equal(out[3], x[3])
    np.testing.assert_array_equal(out[:, frames // 2, :, 1], 0.0)


def test_random_bone_scale_zero_is_the_identity_and_checks_its_input():
    x = sample(3, "msr20", 5, 1)
    np.testing.assert_allclose(
        RandomBoneScale("msr20", scale=0.0)(x, np.random.default_rng(0)), x, atol=1e-5
    )
    independent = RandomBoneScale("msr20", scale=0.3, symmetric=False)(x, np.random.default_rng(0))
    lengths = bone_lengths(independent, "msr20")[0] / bone_lengths(x, "msr20")[0]
    left, right = mirror_pairs(MSR20)[0]
    assert lengths[left] != pytest.approx(lengths[right], rel=1e-3)
    with pytest.raises(ValueError, match="scale must be in"):
        RandomBoneScale("msr20", scale=1.0)
    with pytest.raises(SkeletonDataError, match="20 joints"):
        RandomBoneScale("msr20")(sample(0, "ntu25", 2, 1), np.random.default_rng(0))
    step = build_transforms([{"name": "random_bone_scale", "scale": 0.2}], layout="msr20")
    assert step(x, np.random.default_rng(1)).shape == x.shape


def _fitted_rotations(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``(V, 3, 3)``: per joint, the rotation ``Q`` that best maps its bones ``before`` onto
    ``after`` over every frame and person (orthogonal Procrustes, ``(3, T, V, M)`` bones)."""
    rotations = []
    for joint in range(before.shape[2]):
        a = before[:, :, joint].reshape(3, -1)
        b = after[:, :, joint].reshape(3, -1)
        u, _, vt = np.linalg.svd(b @ a.T)
        fix = np.diag([1.0, 1.0, np.linalg.det(u @ vt)])
        rotations.append(u @ fix @ vt)
    return np.stack(rotations)


def _euler_xyz(matrix: np.ndarray) -> np.ndarray:
    """Degrees ``(ax, ay, az)`` with ``matrix = rotation_matrix([ax, ay, az])``."""
    ay = -np.arcsin(np.clip(matrix[2, 0], -1.0, 1.0))
    ax = np.arctan2(matrix[2, 1], matrix[2, 2])
    az = np.arctan2(matrix[1, 0], matrix[0, 0])
    return np.degrees([ax, ay, az])


@SETTINGS
@given(seed=st.integers(0, 2**31), layout=LAYOUTS, angle=st.floats(1.0, 30.0))
def test_random_bone_rotate_turns_each_bone_by_angles_that_compound_outwards(seed, layout, angle):
    frames = 8
    x = sample(seed, layout, frames, 2, channels=4)
    x[:, frames // 2, :, 1] = 0.0  # the second person is absent in one frame
    out = RandomBoneRotate(layout, angles=angle)(x, np.random.default_rng(seed))
    skeleton = get_layout(layout)
    before = skeleton.bone_array(x[:3].astype(np.float64), axis=2)
    after = skeleton.bone_array(out[:3].astype(np.float64), axis=2)
    # every bone keeps its length; the centre, the score channel and the absent frame are kept
    np.testing.assert_allclose(
        np.linalg.norm(after, axis=0), np.linalg.norm(before, axis=0), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(out[:3, :, skeleton.center], x[:3, :, skeleton.center], atol=1e-6)
    np.testing.assert_array_equal(out[3], x[3])
    np.testing.assert_array_equal(out[:, frames // 2, :, 1], 0.0)
    # one rotation per bone, the same in every frame and for both persons ...
    rotations = _fitted_rotations(before, after)
    np.testing.assert_allclose(
        np.einsum("vij,jtvm->itvm", rotations, before), after, rtol=1e-4, atol=1e-4
    )
    # ... that is its parent's rotation times one within the drawn range about each axis
    relative = []
    for joint in range(skeleton.num_joints):
        if joint != skeleton.center:
            parent = (
                rotations[skeleton.parents[joint]]
                if skeleton.parents[joint] != skeleton.center
                else np.eye(3)
            )
            relative.append(_euler_xyz(parent.T @ rotations[joint]))
    relative = np.abs(np.array(relative))
    assert relative.max() <= angle + 1e-2
    assert relative.max() > 0.2 * angle  # the bones did turn


def test_random_bone_rotate_zero_is_the_identity_and_checks_its_input():
    x = sample(3, "msr20", 5, 1)
    np.testing.assert_allclose(
        RandomBoneRotate("msr20", angles=0.0)(x, np.random.default_rng(0)), x, atol=1e-5
    )
    only_z = RandomBoneRotate("msr20", angles=[0, 0, 20])(x, np.random.default_rng(0))
    np.testing.assert_allclose(only_z[2], x[2], atol=1e-5)  # turns about z keep every z
    assert not np.allclose(only_z[:2], x[:2], atol=1e-3)
    a = RandomBoneRotate("msr20", angles=10)(x, np.random.default_rng(7))
    np.testing.assert_array_equal(
        a, RandomBoneRotate("msr20", angles=10)(x, np.random.default_rng(7))
    )
    with pytest.raises(ValueError, match="angles is one finite number"):
        RandomBoneRotate("msr20", angles=[1.0, 2.0])
    with pytest.raises(ValueError, match="angles is one finite number"):
        RandomBoneRotate("msr20", angles=float("nan"))
    with pytest.raises(ValueError, match="needs 3D coordinates"):
        RandomBoneRotate("msr20")(x[:2], np.random.default_rng(0))
    with pytest.raises(SkeletonDataError, match="20 joints"):
        RandomBoneRotate("msr20")(sample(0, "ntu25", 2, 1), np.random.default_rng(0))
    for name in ("random_bone_rotate", "random_joint_angles"):
        step = build_transforms([{"name": name, "angles": 5}], layout="msr20")
        assert step(x, np.random.default_rng(1)).shape == x.shape


def _body(layout: str, seed: int) -> dict[str, float]:
    """Random bone lengths for every joint of ``layout`` but the centre."""
    skeleton = get_layout(layout)
    rng = np.random.default_rng(seed)
    centre = skeleton.joints[skeleton.center]
    return {j: float(rng.uniform(0.2, 2.0)) for j in skeleton.joints if j != centre}


@SETTINGS
@given(seed=st.integers(0, 2**31), layout=LAYOUTS, frames=st.integers(1, 12))
def test_set_bone_lengths_gives_every_frame_the_body_and_keeps_the_directions(seed, layout, frames):
    x = sample(seed, layout, frames, 2, channels=4)
    x[:, frames // 2, :, 1] = 0.0  # the second person is absent in one frame
    body = _body(layout, seed)
    out = SetBoneLengths(layout, lengths=body)(x)
    skeleton = get_layout(layout)
    centre = skeleton.center
    real = np.arange(skeleton.num_joints) != centre
    wanted = np.array([body[j] for j in skeleton.joints if j != skeleton.joints[centre]])
    present = np.ones((frames, 2), dtype=bool)
    present[frames // 2, 1] = False
    lengths = bone_lengths(out, layout)[:, real]  # (T, V - 1, M)
    np.testing.assert_allclose(lengths.transpose(0, 2, 1)[present], np.broadcast_to(
        wanted, (int(present.sum()), wanted.size)), rtol=1e-4)  # fmt: skip
    before = skeleton.bone_array(x[:3].astype(np.float64), axis=2)[:, :, real]
    after = skeleton.bone_array(out[:3].astype(np.float64), axis=2)[:, :, real]
    cosine = (before * after).sum(axis=0) / (
        np.linalg.norm(before, axis=0) * np.linalg.norm(after, axis=0) + 1e-12
    )
    np.testing.assert_allclose(cosine.transpose(0, 2, 1)[present], 1.0, atol=1e-4)
    # the centre, the score channel and the absent person-frame are kept
    np.testing.assert_allclose(out[:3, :, centre], x[:3, :, centre], atol=1e-6)
    np.testing.assert_array_equal(out[3], x[3])
    np.testing.assert_array_equal(out[:, frames // 2, :, 1], 0.0)
    # one body: applying it again changes nothing
    np.testing.assert_allclose(SetBoneLengths(layout, lengths=body)(out), out, atol=1e-4)


def test_set_bone_lengths_keeps_a_zero_bone_and_checks_its_options():
    body = _body("msr20", 0)
    x = sample(5, "msr20", 3, 1)
    hand = MSR20.joint_index("left_hand")
    x[:, :, hand] = x[:, :, MSR20.parents[hand]]  # the hand bone has no length, no direction
    out = SetBoneLengths("msr20", lengths=body)(x)
    np.testing.assert_allclose(bone_lengths(out, "msr20")[:, hand], 0.0, atol=1e-6)
    step = build_transforms([{"name": "canonical_bone_lengths", "lengths": body}], "msr20")
    np.testing.assert_allclose(step(x), out)
    assert SetBoneLengths.deterministic  # part of the cached deterministic head
    centre = MSR20.joints[MSR20.center]
    with pytest.raises(ValueError, match=rf"missing \['head'\], unknown \['{centre}'\]"):
        SetBoneLengths("msr20", lengths={**{k: v for k, v in body.items() if k != "head"},
                                         centre: 1.0})  # fmt: skip
    with pytest.raises(ValueError, match="length of 'head' must be finite and > 0"):
        SetBoneLengths("msr20", lengths={**body, "head": 0.0})
    with pytest.raises(ValueError, match="length of 'head' must be finite"):
        SetBoneLengths("msr20", lengths={**body, "head": float("nan")})
    with pytest.raises(ValueError, match="length of 'head' must be a number"):
        SetBoneLengths("msr20", lengths={**body, "head": "1.0"})
    with pytest.raises(ValueError, match="must map joint names to lengths, got list"):
        SetBoneLengths("msr20", lengths=list(body.values()))
    with pytest.raises(SkeletonDataError, match="20 joints"):
        SetBoneLengths("msr20", lengths=body)(sample(0, "ntu25", 2, 1))


def test_random_jitter_adds_gaussian_noise_of_sigma_to_present_coordinates_only():
    x = sample(4, "msr20", 400, 2, channels=4)
    x[:, 7, :, 1] = 0.0  # the second person is absent in one frame
    out = RandomJitter(sigma=0.05)(x, np.random.default_rng(0))
    noise = (out[:3] - x[:3]).astype(np.float64)
    present = np.ones(noise.shape, dtype=bool)
    present[:, 7, :, 1] = False
    assert noise[present].std() == pytest.approx(0.05, rel=0.02)
    assert abs(noise[present].mean()) < 0.002
    # Gaussian, not uniform: about 4.6 % of the values lie beyond two sigma
    assert np.mean(np.abs(noise[present]) > 0.1) == pytest.approx(0.0455, abs=0.004)
    np.testing.assert_array_equal(out[:, 7, :, 1], 0.0)  # the absent person-frame stays absent
    np.testing.assert_array_equal(out[3], x[3])  # a score channel is carried unchanged
    again = RandomJitter(sigma=0.05)(x, np.random.default_rng(0))
    np.testing.assert_array_equal(out, again)


def test_random_jitter_checks_sigma_and_builds_from_a_config():
    with pytest.raises(ValueError, match="sigma must be finite and >= 0"):
        RandomJitter(sigma=-0.1)
    with pytest.raises(ValueError, match="sigma must be finite"):
        RandomJitter(sigma=float("nan"))
    x = sample(2, "ntu25", 5, 1)
    step = build_transforms([{"name": "gaussian_noise", "sigma": 0.0}], layout="ntu25")
    np.testing.assert_allclose(step(x, np.random.default_rng(1)), x, atol=1e-7)


def test_random_lost_frames_blanks_one_contiguous_span_of_whole_frames():
    frames, low, high = 40, 0.1, 0.6
    x = sample(6, "msr20", frames, 2, channels=4)
    step = RandomLostFrames(p=1.0, span=[low, high])
    counts, touches_start, touches_end = [], 0, 0
    for seed in range(300):
        out = step(x, np.random.default_rng(seed))
        blank = (out == 0).all(axis=(0, 2, 3))
        lost = np.flatnonzero(blank)
        assert lost.size, seed  # p = 1: every sample loses a span
        assert lost[-1] - lost[0] + 1 == lost.size, seed  # one run of frames
        assert lost.size <= int(high * frames), seed  # never longer than drawn
        np.testing.assert_array_equal(out[:, ~blank], x[:, ~blank])  # the rest untouched
        touches_start += int(lost[0] == 0)
        touches_end += int(lost[-1] == frames - 1)
        if 0 < lost[0] and lost[-1] < frames - 1:  # not cut by an end: the drawn length
            counts.append(lost.size)
    assert min(counts) == int(low * frames) and max(counts) == int(high * frames) - 1
    assert touches_start > 20 and touches_end > 20  # losses at the ends, cut there
    never = RandomLostFrames(p=0.0, span=[low, high])
    np.testing.assert_array_equal(never(x, np.random.default_rng(0)), x)
    half = RandomLostFrames(p=0.5, span=[low, high])
    hit = [(half(x, np.random.default_rng(s)) == 0).all(axis=(0, 2, 3)).any() for s in range(400)]
    assert np.mean(hit) == pytest.approx(0.5, abs=0.08)


def test_random_lost_frames_checks_its_options_and_builds_from_a_config():
    for bad in ([0.2, 1.0], [0.5, 0.4], [-0.1, 0.3], [0.1, 0.2, 0.3]):
        with pytest.raises(ValueError, match="span is \\[low, high\\]"):
            RandomLostFrames(span=bad)
    with pytest.raises(ValueError, match="p must be in \\[0, 1\\]"):
        RandomLostFrames(p=1.5)
    x = sample(3, "ntu25", 3, 1)
    step = build_transforms(
        [{"name": "random_tracking_loss", "p": 1.0, "span": [0.5, 0.9]}], layout="ntu25"
    )
    blank = (step(x, np.random.default_rng(0)) == 0).all(axis=(0, 2, 3))
    assert 1 <= blank.sum() <= 2  # a span overlaps the clip; floor(0.9 * 3) frames at most


def test_normalize_and_rotation_matrix():
    x = sample(5, "ntu25", 3, 1)
    out = Normalize(mean=[1, 2, 3], std=[2, 2, 4])(x)
    np.testing.assert_allclose(out[2], (x[2] - 3) / 4, atol=1e-6)
    with pytest.raises(SkeletonDataError, match="channels"):
        Normalize(mean=[0, 0], std=[1, 1])(x)
    np.testing.assert_allclose(rotation_matrix([0, 0, 90]) @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_rotation_of_2d_data_uses_only_the_z_angle_and_keeps_scores():
    x = sample(6, "ntu25", 4, 1)
    out = RandomRotate(angles=[0, 0, 45], coords=2)(x, np.random.default_rng(1))
    np.testing.assert_array_equal(out[2], x[2])
    np.testing.assert_allclose(np.hypot(out[0], out[1]), np.hypot(x[0], x[1]), atol=1e-5)


@pytest.mark.parametrize("angles", [float("nan"), [0.0, float("inf"), 0.0], [1.0, 2.0]])
def test_rotation_angles_must_be_one_finite_number_or_three(angles):
    with pytest.raises(ValueError, match="random_rotate: angles is one finite number"):
        RandomRotate(angles=angles)


def test_build_transforms_from_config():
    pipeline = build_transforms(
        [
            "pre_normalize",
            {"name": "uniform_sample", "length": 16, "mode": "train"},
            {"name": "random_rotate", "angles": 5},
            {"name": "streams", "streams": ["joint", "bone"]},
        ],
        layout="ntu25",
    )
    assert isinstance(pipeline, Compose) and len(pipeline) == 4
    out = pipeline(sample(7, "ntu25", 40, 2), np.random.default_rng(0))
    assert out.shape == (6, 16, 25, 2) and out.dtype == np.float32
    with pytest.raises(ValueError, match="unknown transform 'blur'"):
        build_transforms([{"name": "blur"}], layout="ntu25")
    with pytest.raises(ValueError, match="unknown option"):
        build_transforms([{"name": "uniform_sample", "size": 3}])
    with pytest.raises(ValueError, match="needs a skeleton layout"):
        build_transforms(["bone"])
    assert {"centre", "pre_normalize", "scale_normalize", "uniform_sample", "random_crop"} <= set(
        TRANSFORMS
    )
    assert {"random_rotate", "random_scale", "bone", "motion", "streams", "normalize"} <= set(
        TRANSFORMS
    )


def test_compose_accepts_sequences_and_never_writes_its_input():
    x = sample(8, "msr20", 10, 1)
    x.setflags(write=False)  # like a memory-mapped cache
    pipeline = build_transforms(
        ["centre", "pre_normalize", "scale_normalize", "bone", "motion",
         {"name": "random_crop", "ratio": 0.5}, {"name": "random_scale", "scale": 0.2}],
        layout="msr20",
    )  # fmt: skip
    before = x.copy()
    out = pipeline(x, np.random.default_rng(0))
    np.testing.assert_array_equal(x, before)
    assert out.flags.writeable
    seq = SkeletonSequence(data=x, label=3, layout="msr20", name="s", meta={"k": 1})
    result = pipeline(seq, np.random.default_rng(0))
    assert isinstance(result, SkeletonSequence) and result.label == 3
    np.testing.assert_array_equal(result.data, out)


def test_every_registered_transform_and_alias_is_in_the_datasets_doc_table():
    doc = (Path(__file__).parents[2] / "docs" / "datasets.md").read_text(encoding="utf-8")
    named: set[str] = set()
    for name, aliases in re.findall(r"^\| `([a-z_0-9]+)`(?: \(([^)]*)\))? \|", doc, re.M):
        named |= {name, *re.findall(r"`([a-z_0-9]+)`", aliases)}
    assert set(TRANSFORMS) - named == set()


def _similarity(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares ``s, R, d`` with ``target ≈ s R source + d`` for ``(n, 3)`` points."""
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    cs, ct = source - mu_s, target - mu_t
    u, d, vt = np.linalg.svd(ct.T @ cs / len(source))
    flip = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ flip @ vt
    scale = float(np.trace(np.diag(d) @ flip) / (cs**2).sum(axis=1).mean())
    return scale, rotation, mu_t - scale * rotation @ mu_s


@SETTINGS
@given(
    seed=st.integers(0, 2**31),
    layout=LAYOUTS,
    frames=st.integers(2, 12),
    segments=st.integers(1, 3),
    angle=st.floats(1, 30),
    scale=st.floats(0, 0.3),
    translate=st.floats(0, 1),
)
def test_random_move_is_a_similarity_per_frame_moving_linearly_between_control_frames(
    seed, layout, frames, segments, angle, scale, translate
):
    x = sample(seed, layout, frames, 2)
    move = RandomMove(angles=angle, scale=scale, translate=translate, segments=segments)
    out = move(x, np.random.default_rng(seed))
    fits = []
    for t in range(frames):
        source = x[:, t].transpose(1, 2, 0).reshape(-1, 3).astype(np.float64)
        target = out[:, t].transpose(1, 2, 0).reshape(-1, 3).astype(np.float64)
        s, rotation, d = _similarity(source, target)
        np.testing.assert_allclose(s * source @ rotation.T + d, target, atol=1e-4)
        fits.append([s, *_euler_xyz(rotation), *d])
    fits = np.array(fits)  # (T, 7): scale, three angles, three offsets
    assert np.all(np.abs(fits[:, 0] - 1) <= scale + 1e-5)
    assert np.all(np.abs(fits[:, 1:4]) <= angle + 1e-3)
    assert np.all(np.abs(fits[:, 4:]) <= translate + 1e-4)
    if segments == 1:  # one straight line from the first frame to the last
        assert np.abs(np.diff(fits, n=2, axis=0)).max(initial=0) < 1e-3
    else:  # straight between the control frames: bends only where a segment ends
        knots = np.linspace(0, frames - 1, segments + 1)
        bends = np.abs(np.diff(fits, n=2, axis=0)).max(axis=1) > 1e-3
        inner = np.arange(1, frames - 1)
        assert not np.any(bends & ~np.any(np.abs(inner[:, None] - knots) < 1, axis=1))


def test_random_move_keeps_absent_frames_extra_channels_and_checks_its_options():
    x = sample(0, "msr20", 10, 2, channels=4)
    x[:, 3, :, 1] = 0.0  # the second person is absent in frame 3
    out = RandomMove(angles=20, scale=0.2, translate=0.5, coords=3)(x, np.random.default_rng(1))
    assert np.all(out[:, 3, :, 1] == 0) and np.array_equal(out[3], x[3])
    assert not np.allclose(out[:3], x[:3])
    # the first and the last frame take their own draws: the body turns along the clip
    first, last = (
        _euler_xyz(_similarity(x[:3, t, :, 0].T.astype(np.float64), out[:3, t, :, 0].T)[1])
        for t in (0, -1)
    )
    assert np.abs(first - last).max() > 1.0
    identity = RandomMove(angles=0, scale=0, translate=0, segments=4)
    np.testing.assert_allclose(identity(x, np.random.default_rng(2)), x, atol=1e-6)
    again = RandomMove(angles=20, scale=0.2, translate=0.5, coords=3)(x, np.random.default_rng(1))
    assert np.array_equal(out, again)
    # 2D coordinates with a score channel: only the z angle turns them, the score is kept
    flat = sample(3, "msr20", 6, 1)
    tilted = RandomMove(angles=[30, 30, 0], scale=0, coords=2)(flat, np.random.default_rng(0))
    np.testing.assert_allclose(tilted, flat, atol=1e-6)
    turned = RandomMove(angles=[0, 0, 30], scale=0, coords=2)(flat, np.random.default_rng(0))
    assert np.array_equal(turned[2], flat[2]) and not np.allclose(turned[:2], flat[:2])
    lengths = np.linalg.norm(np.diff(flat[:2], axis=2), axis=0)
    np.testing.assert_allclose(
        np.linalg.norm(np.diff(turned[:2], axis=2), axis=0), lengths, atol=1e-5
    )
    for options, message in [
        ({"scale": 1.0}, "scale must be in"),
        ({"translate": -1.0}, "translate must be finite"),
        ({"segments": 0}, "segments must be an integer"),
        ({"segments": 1.5}, "segments must be an integer"),
        ({"angles": [1, 2]}, "angles is one finite number"),
    ]:
        with pytest.raises(ValueError, match=message):
            RandomMove(**options)
    built = build_transforms([{"name": "random_move", "angles": 5, "segments": 2}], "msr20")
    assert isinstance(built.transforms[0], RandomMove) and built.transforms[0].segments == 2
