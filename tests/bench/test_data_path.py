"""``python -m pyg_action.bench.data_path``: times both ways of making a config's batches."""

from __future__ import annotations

import json

from pyg_action.bench.data_path import data_path_seconds, main

from ..engine.test_crash_resume import TINY


def test_both_paths_are_timed_over_the_configs_splits(tmp_path):
    overrides = [item for item in TINY if not item.startswith("model.")]
    report = data_path_seconds(None, overrides, epochs=1, device="cpu")
    assert report["train_samples"] + report["test_samples"] == 96
    assert report["loader_epoch_s"] > 0 and report["device_epoch_s"] > 0
    assert report["speedup"] == report["loader_epoch_s"] / report["device_epoch_s"]
    out = tmp_path / "report.json"
    main(["--epochs", "1", "--out", str(out), *[f"--set={item}" for item in overrides]])
    assert json.loads(out.read_text())["batch_size"] == 8
