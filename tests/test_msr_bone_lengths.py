"""scripts/msr_bone_lengths.py: a sequence's bone lengths and their change over the frames;
the script runs on the real MSR Action3D files and prints a body that ``set_bone_lengths``
takes."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import yaml

import msr_bone_lengths
from pyg_action.data.transforms import build_transforms
from pyg_action.layouts import MSR20


def test_a_rigid_body_has_fixed_lengths_and_a_stretching_bone_reads_as_its_change():
    measure = msr_bone_lengths.sequence_bone_lengths
    rng = np.random.default_rng(0)
    pose = rng.normal(size=(3, 1, 20))
    frames = pose + rng.normal(size=(3, 40, 1))  # the same body moved about: no bone changes
    frames[:, 10:15] = 0.0  # frames without a body are left out
    expected = np.linalg.norm(MSR20.bone_array(pose[:, 0], axis=1), axis=0)
    median, change = measure(frames)
    np.testing.assert_allclose(median, expected, rtol=1e-9)
    np.testing.assert_allclose(change, 0.0, atol=1e-9)
    hand = MSR20.joint_index("left_hand")
    stretch = np.linspace(0.5, 1.5, 40)[None, :]
    frames[:, :, hand] = frames[:, :, MSR20.parents[hand]] + stretch * (
        pose[:, :, hand] - pose[:, :, MSR20.parents[hand]]
    )
    frames[:, 10:15] = 0.0
    _, change = measure(frames)
    kept = np.delete(stretch[0], np.s_[10:15])
    assert change[hand] == pytest.approx(kept.std() / kept.mean(), rel=1e-6)
    assert measure(np.zeros((3, 5, 20))) is None


def test_the_script_reports_every_subject_and_a_body_set_bone_lengths_takes(
    shared_data, monkeypatch, capsys
):
    msr = shared_data / "msr_action3d"
    if not msr.is_dir():
        pytest.skip(f"MSR Action3D files not found at {msr}")
    monkeypatch.setattr(sys, "argv", ["msr_bone_lengths.py", "--data", str(msr)])
    msr_bone_lengths.main()
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [int(row[0]) for row in rows] == list(range(1, 11))
    assert all(0.0 < abs(float(row[2])) < 50.0 for row in rows)
    body = yaml.safe_load(out[out.index("lengths:") :])["lengths"]
    step = build_transforms([{"name": "set_bone_lengths", "lengths": body}], "msr20")
    x = np.random.default_rng(1).normal(size=(3, 4, 20, 1)).astype(np.float32)
    assert step(x).shape == x.shape
    # after scale_normalize (mean bone length 1) the mean body's bones average about 1
    assert np.mean(list(body.values())) == pytest.approx(1.0, abs=0.05)
