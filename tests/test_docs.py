"""The runnable examples in the docs still run."""

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_pyg_pipeline_example_runs():
    text = (DOCS / "pyg-pipeline.md").read_text()
    example = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    scope: dict = {}
    exec(compile(example, "docs/pyg-pipeline.md", "exec"), scope)
    frames = 20 + 29 + 32  # ceil(T / 2) for T = 40, 57, 63
    assert scope["out"].shape == scope["same"].shape == (frames * 25, 64)
    assert (scope["out"] - scope["same"]).abs().max() < 1e-4
