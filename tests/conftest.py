"""Shared fixtures: the real data folder beside the project, skipped when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real recorded skeleton data, never copied into the project)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real skeleton data not found at {SHARED_DATA} (see README: Data)")
    return SHARED_DATA
