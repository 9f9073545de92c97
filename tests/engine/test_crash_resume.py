"""Crash safety: `pyg-action train` killed at random moments and resumed ends as if never killed."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pyg_action.engine import checkpoint
from pyg_action.engine.config import load_config
from pyg_action.engine.trainer import train

# dropout, random augmentation and mixup on: resuming must restore every random number
TINY = [
    "model.channels=[8, 8]",
    "model.strides=[1, 2]",
    "model.dropout=0.3",
    "train.mixup=0.4",
    "data.num_samples=96",
    "train.epochs=6",
    "train.batch_size=8",
    "train.seed=7",
    "data.transforms={train: [pre_normalize, {name: uniform_sample, length: 8, mode: train},"
    " {name: random_rotate, angles: 20}],"
    " test: [pre_normalize, {name: uniform_sample, length: 8}]}",
    # the reference is a separate run: under "auto" it may time its way to other kernels
    "train.weight_gradient=taps",
]
# the killed runs also average the weights from epoch 4 on (the logged test top-1 of epochs
# 4-6 is the average's): kills before and after its start resume to the same average; and
# take sharpness-aware steps, whose second pass draws dropout masks of its own
KILLED = [*TINY, "train.swa_from=4", "train.sam_rho=0.05"]
CLI = "from pyg_action.cli.main import cli; cli(prog_name='pyg-action')"
TOLERANCE = 1e-6


def _start(out: Path, errors: Path) -> subprocess.Popen:
    """`pyg-action train --resume` in a new process; returns once training has begun."""
    command = [sys.executable, "-c", CLI, "train", "--model", "stgcn", "--out", str(out)]
    command += ["--quiet", "--resume", *[f"--set={item}" for item in KILLED]]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # the single thread of the reference
    with open(errors, "w") as stderr:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # printed just before training starts
    assert first.startswith("model stgcn"), first + errors.read_text()
    return proc


def _reference(out: Path) -> float:
    """Train uninterrupted in this process (one thread, like the subprocesses); seconds taken."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.monotonic()
    try:
        train(load_config(None, KILLED, model="stgcn"), out, progress=False)
    finally:
        torch.set_num_threads(threads)
    return time.monotonic() - started


def _assert_loadable_with_weights_only(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``last.pt`` (when written yet) loads, through ``torch.load(weights_only=True)``."""
    if not path.exists():
        return
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(checkpoint.torch, "load", spy)
        state = checkpoint.load_checkpoint(path)
    assert calls == [True]
    assert len(state["history"]) == state["epoch"] + 1


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def _without_time(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def _run_with_kills(tmp_path: Path, kills: int, seed: int, monkeypatch: pytest.MonkeyPatch):
    reference, out, errors = tmp_path / "reference", tmp_path / "killed", tmp_path / "stderr"
    duration = _reference(reference)
    delays = random.Random(seed).sample(range(5, 50), kills)  # % of an uninterrupted run
    interrupted = 0
    for percent in delays:
        proc = _start(out, errors)
        try:
            proc.wait(timeout=duration * percent / 100)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            interrupted += 1
        proc.communicate()
        _assert_loadable_with_weights_only(out / "last.pt", monkeypatch)
    proc = _start(out, errors)
    proc.communicate()
    assert proc.returncode == 0, errors.read_text()
    assert interrupted >= 1  # the first run needs the whole duration: it is always killed

    log = _log(out)
    assert [r["epoch"] for r in log] == [1, 2, 3, 4, 5, 6]  # one line per epoch, no repeats
    assert _without_time(log) == _without_time(_log(reference))
    results = [json.loads((run / "result.json").read_text()) for run in (reference, out)]
    assert results[0] == results[1]
    for name in ("last.pt", "best.pt"):
        expected = checkpoint.load_checkpoint(reference / name)
        got = checkpoint.load_checkpoint(out / name)
        assert ("ema" in got) == ("ema" in expected)
        pairs = [(got["model"], expected["model"])]
        if "ema" in got:
            pairs.append((got["ema"]["weights"], expected["ema"]["weights"]))
        for weights, reference_weights in pairs:
            for key, value in weights.items():
                torch.testing.assert_close(value, reference_weights[key], rtol=0, atol=TOLERANCE)


def test_killed_and_resumed_run_equals_an_uninterrupted_one(tmp_path, monkeypatch):
    _run_with_kills(tmp_path, kills=3, seed=0, monkeypatch=monkeypatch)


@pytest.mark.slow
def test_many_kills(tmp_path, monkeypatch):
    _run_with_kills(tmp_path, kills=10, seed=1, monkeypatch=monkeypatch)


def test_resume_repairs_the_log_after_a_crash_around_the_checkpoint(tmp_path):
    config = load_config(None, [*TINY, "train.epochs=2", "data.num_samples=48"], model="stgcn")
    train(config, tmp_path, progress=False)
    lines = (tmp_path / "log.jsonl").read_text().splitlines(keepends=True)
    # killed after writing a line but before the checkpoint (and mid-way through the next)
    (tmp_path / "log.jsonl").write_text("".join([*lines, lines[-1], '{"epoch": 3, "lr']))
    longer = load_config(None, [*TINY, "train.epochs=3", "data.num_samples=48"], model="stgcn")
    train(longer, tmp_path, resume=True, progress=False)
    assert [r["epoch"] for r in _log(tmp_path)] == [1, 2, 3]
    # killed after the checkpoint but before its log line
    (tmp_path / "log.jsonl").write_text("".join(lines[:1]))
    train(longer, tmp_path, resume=True, progress=False)  # already finished: nothing to train
    assert [r["epoch"] for r in _log(tmp_path)] == [1, 2, 3]
    assert _without_time(_log(tmp_path)[:2]) == _without_time([json.loads(x) for x in lines])
