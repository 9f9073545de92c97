"""scripts/msr_tracking_jitter.py: the jitter figure is the standard deviation of white noise
added to a smooth motion, in the units of ``random_jitter``'s sigma; and the script runs on
the real MSR Action3D files (and says so when a folder has none)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import msr_tracking_jitter


def test_white_noise_on_a_slow_motion_reads_as_its_standard_deviation():
    jitter = msr_tracking_jitter.sequence_jitter
    t = np.linspace(0, 1, 400)
    smooth = np.stack([np.sin(t), np.cos(t), t])[:, :, None].repeat(20, axis=2) + 1.0  # (3, T, V)
    noise = np.random.default_rng(0).normal(scale=0.05, size=smooth.shape)
    assert jitter(smooth + noise) == pytest.approx(0.05, rel=0.03)
    assert jitter(smooth) < 1e-4
    missing = smooth + noise
    missing[:, 100:300] = 0.0  # left out: as zeros they would read as jumps of the whole body
    assert jitter(missing) == pytest.approx(0.05, rel=0.05)
    assert jitter(smooth[:, :4]) is None


def _run(monkeypatch, capsys, folder) -> str:
    monkeypatch.setattr(sys, "argv", ["msr_tracking_jitter.py", "--data", str(folder)])
    msr_tracking_jitter.main()
    return capsys.readouterr().out


def test_the_script_reports_every_msr_subject(shared_data, monkeypatch, capsys):
    msr = shared_data / "msr_action3d"
    if not msr.is_dir():
        pytest.skip(f"MSR Action3D files not found at {msr}")
    out = _run(monkeypatch, capsys, msr)
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [int(row[0]) for row in rows] == list(range(1, 11))
    assert all(0.0 < float(row[2]) < 0.2 for row in rows)
    assert "skipped: " in out and "a13_s09_e02" in out  # the all-zero file is named


def test_a_folder_without_msr_files_is_an_error_naming_it(tmp_path, monkeypatch, capsys):
    with pytest.raises(SystemExit, match=f"no MSR Action3D skeleton files under {tmp_path}"):
        _run(monkeypatch, capsys, tmp_path)
