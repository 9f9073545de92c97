"""The whole-model ViG benchmark (sparse against dense) runs and reports every cell."""

import json

import pytest

from pyg_action.bench.vig import benchmark_models, main


def test_benchmark_models_reports_every_mode_and_dtype():
    result = benchmark_models(
        "tiny", img_size=8, batch_size=2, num_classes=5, warmup=0, repeats=1,
        dtypes=("float32", "bfloat16"),
    )  # fmt: skip
    cells = {(row["mode"], row["dtype"]) for row in result["rows"]}
    assert cells == {(m, d) for m in ("inference", "train") for d in ("float32", "bfloat16")}
    for row in result["rows"]:
        assert row["sparse_ms"] > 0 and row["dense_ms"] > 0
        assert row["speedup"] == pytest.approx(row["dense_ms"] / row["sparse_ms"])
    assert result["max_abs_diff"] < 1e-4  # same weights, same logits
    assert 0 <= result["max_rel_diff"] <= result["max_abs_diff"] / 1e-3
    with pytest.raises(ValueError, match="dtype"):
        benchmark_models("tiny", img_size=8, dtypes=("int8",))


def test_command_line_writes_json(tmp_path, capsys):
    out = tmp_path / "vig.json"
    main(
        ["--model", "tiny", "--img-size", "8", "--batch-size", "2", "--warmup", "0",
         "--repeats", "1", "--dtype", "float32", "--mode", "train", "--out", str(out)]
    )  # fmt: skip
    written = json.loads(out.read_text())
    assert json.loads(capsys.readouterr().out) == written
    assert [(r["mode"], r["dtype"]) for r in written["rows"]] == [("train", "float32")]
