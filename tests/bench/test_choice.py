"""``python -m pyg_action.bench.choice``: a config's training step under each value of a
backend choice, alternately."""

from __future__ import annotations

import json

from pyg_action.bench.choice import compare_choice, config_training_step, main
from pyg_action.nn.backend import get_backend

from ..engine.test_crash_resume import TINY


def test_every_value_is_timed_in_turn_and_restored():
    seen: list[str] = []
    values = ["native", "uniform"]
    report = compare_choice(lambda: seen.append(get_backend().dropout), "dropout", values, 2)
    # four rounds (two warm-up, two timed), one step under each value per round, the order
    # shifting by one each round
    assert seen == ["native", "uniform", "uniform", "native"] * 2
    assert get_backend().dropout == "uniform"  # the default again
    assert set(report["median_ms"]) == {"native", "uniform"}
    assert report["ratio_to_native"]["native"] == 1.0


def test_the_step_trains_the_configs_model_and_the_command_writes_json(tmp_path):
    step = config_training_step(None, TINY)
    step()  # forward and backward of the first batch
    out = tmp_path / "report.json"
    main(["--choice", "dropout", "--rounds", "1", "--out", str(out), *[f"--set={o}" for o in TINY]])
    report = json.loads(out.read_text())
    assert report["choice"] == "dropout" and set(report["median_ms"]) == {"uniform", "native"}
