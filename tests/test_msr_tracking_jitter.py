"""scripts/msr_tracking_jitter.py: the jitter figure is the standard deviation of white noise
added to a smooth motion, in the units of ``random_jitter``'s sigma; and the script runs on
the real MSR Action3D files."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "msr_tracking_jitter.py"
MSR = ROOT.parent / "shared" / "data" / "msr_action3d"


def _script():
    spec = importlib.util.spec_from_file_location("msr_tracking_jitter", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_white_noise_on_a_slow_motion_reads_as_its_standard_deviation():
    jitter = _script().sequence_jitter
    t = np.linspace(0, 1, 400)
    smooth = np.stack([np.sin(t), np.cos(t), t])[:, :, None].repeat(20, axis=2) + 1.0  # (3, T, V)
    noise = np.random.default_rng(0).normal(scale=0.05, size=smooth.shape)
    assert jitter(smooth + noise) == pytest.approx(0.05, rel=0.03)
    assert jitter(smooth) < 1e-4
    missing = smooth + noise
    missing[:, 100:300] = 0.0  # left out: as zeros they would read as jumps of the whole body
    assert jitter(missing) == pytest.approx(0.05, rel=0.05)
    assert jitter(smooth[:, :4]) is None


@pytest.mark.skipif(not MSR.is_dir(), reason="MSR Action3D files not found at ../shared/data")
def test_the_script_reports_every_msr_subject():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(MSR)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [int(row[0]) for row in rows] == list(range(1, 11))
    assert all(0.0 < float(row[2]) < 0.2 for row in rows)
