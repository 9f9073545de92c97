"""Fixtures shared by the data tests: the real MSR Action3D folder, read once per session."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pyg_action.cli.main import cli


@pytest.fixture(scope="session")
def msr_root(shared_data):
    root = shared_data / "msr_action3d"
    if not root.is_dir():
        pytest.skip(f"MSR Action3D not found at {root}")
    return root


@pytest.fixture(scope="session")
def msr_cli_cache(msr_root, tmp_path_factory):
    """``pyg-action prepare <msr> <out>`` run once: (output folder, CliRunner result)."""
    out = tmp_path_factory.mktemp("msr_cache")
    result = CliRunner().invoke(cli, ["prepare", str(msr_root), str(out), "--quiet"])
    return out, result


@pytest.fixture(scope="session")
def msr_raw(msr_root):
    """The raw files read into memory (the same cached read the dataset builder uses)."""
    from pyg_action.data.datasets import _read_cached

    samples, report = _read_cached(str(msr_root.resolve()), "msr", (("with_confidence", False),))
    return list(samples), report
