"""Shared fixtures: the real data folder beside the project, skipped when absent."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real recorded skeleton data, never copied into the project)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real skeleton data not found at {SHARED_DATA} (see README: Data)")
    return SHARED_DATA


#: ``--set`` options of an ST-GCN training run small enough for command-line tests.
TINY_TRAINING = [
    "--set", "model.channels=[8, 8]",
    "--set", "model.strides=[1, 2]",
    "--set", "data.num_samples=48",
    "--set", "train.batch_size=8",
    "--set", "data.transforms={train: [pre_normalize,"
    " {name: uniform_sample, length: 8, mode: train}],"
    " test: [pre_normalize, {name: uniform_sample, length: 8}]}",
]  # fmt: skip


@pytest.fixture(scope="session")
def tiny_training() -> list[str]:
    """The ``--set`` options of a tiny ST-GCN run on the synthetic data."""
    return list(TINY_TRAINING)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_training) -> tuple[Path, str]:
    """One epoch of the tiny run through ``pyg-action train``: its folder and its output."""
    from pyg_action.cli.main import cli

    out = tmp_path_factory.mktemp("tiny-run")
    args = ["train", "--model", "stgcn", "--epochs", "1", "--out", str(out), "--quiet"]
    result = CliRunner().invoke(cli, [*args, *tiny_training])
    assert result.exit_code == 0, result.output
    return out, result.output
