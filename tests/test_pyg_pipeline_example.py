"""scripts/pyg_pipeline_example.py (the README's "own PyG pipeline" example) runs as shipped
and learns."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "pyg_pipeline_example.py"


def _example():
    spec = importlib.util.spec_from_file_location("pyg_pipeline_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_runs_from_the_command_line(tmp_path):
    """As a user runs it: MSR Action3D files when ../shared/data has them, else SYNTHETIC."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--epochs", "2", "--limit", "40", "--frames", "16"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "epoch 2/2  loss" in done.stdout and "test" in done.stdout.splitlines()[-1]


def test_the_example_model_learns_synthetic_actions():
    result = _example().train(data=None, epochs=4, frames=16, limit=140, seed=0)
    assert result["data"] == "synthetic"
    assert result["test_accuracy"] > 0.2  # 14 classes: chance is 0.07


def test_the_readme_snippet_runs_as_pasted():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using the layers in your own PyG pipeline", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the project's own README
    assert tuple(scope["pooled"].shape) == (3, 64)
