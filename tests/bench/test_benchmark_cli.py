"""``pyg-action benchmark`` on tiny shapes: rows, JSON schema, plots, and a two-size sweep."""

import json

from click.testing import CliRunner

from pyg_action.bench.sweep import (
    dense_adjacency_bytes,
    graph_storage_bytes,
    random_graph,
    sparse_graph_bytes,
    sweep_table,
)
from pyg_action.cli.main import cli

ROW_KEYS = {
    "operator",
    "variant",
    "reference",
    "forward",
    "forward_backward",
    "sparse_peak_bytes",
    "dense_peak_bytes",
    "shape",
    "dtype",
    "device",
}


def invoke(*args):
    result = CliRunner().invoke(cli, ["benchmark", "--threads", "1", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_rows_table_json_and_plot(tmp_path):
    out, plot = tmp_path / "r.json", tmp_path / "r.png"
    text = invoke(
        "--quick",
        "--operators",
        "partitioned_conv,temporal_shift_adaptive,knn",
        "--models",
        "none",
        "--dtype",
        "float64",
        "--repeats",
        "1",
        "--warmup",
        "0",
        "--out",
        str(out),
        "--plot",
        str(plot),
    )
    assert "partitioned_conv" in text and "knn" in text
    report = json.loads(out.read_text())
    assert {"date", "device", "torch", "torch_geometric", "threads", "rows"} <= set(report)
    rows = report["rows"]
    assert [(r["operator"], r["variant"]) for r in rows] == [
        ("partitioned_conv", "block"),
        ("partitioned_conv", "message"),
        ("temporal_shift_adaptive", "gather"),
        ("temporal_shift_adaptive", "message"),
        ("knn", "chunked"),
    ]
    for row in rows:
        assert ROW_KEYS <= set(row)
        assert row["dtype"] == "float64"
        assert row["forward"]["ratio"] > 0
        assert row["sparse_peak_bytes"] >= 0
    assert rows[-1]["forward_backward"] is None  # kNN has no backward
    assert rows[0]["forward_backward"]["ratio"] > 0
    assert plot.stat().st_size > 0


def test_variant_selects_the_sparse_forms_timed(tmp_path):
    out = tmp_path / "r.json"
    invoke(
        "--quick", "--operators", "partitioned_conv,temporal_shift_adaptive", "--models", "none",
        "--variant", "gather", "--repeats", "1", "--warmup", "0", "--no-memory", "--out", str(out),
    )  # fmt: skip
    rows = json.loads(out.read_text())["rows"]
    assert [(r["operator"], r["variant"]) for r in rows] == [("temporal_shift_adaptive", "gather")]


def test_unknown_operator_is_a_usage_error():
    result = CliRunner().invoke(cli, ["benchmark", "--operators", "nope"])
    assert result.exit_code == 2 and "unknown operators" in result.output


def test_graph_sweep_two_tiny_sizes(tmp_path):
    out, plot = tmp_path / "s.json", tmp_path / "s.png"
    args = ("--sweep", "graph", "--quick", "--repeats", "1")
    text = invoke(*args, "--out", str(out), "--plot", str(plot))
    points = json.loads(out.read_text())["points"]
    assert [p["nodes"] for p in points] == [1000, 3000]
    for point in points:
        assert point["edges"] == 10 * point["nodes"] and point["max_rss_bytes"] > 0
        names = {(r["operator"], r["reference"]) for r in point["rows"]}
        assert names == {("partitioned_conv", "dense"), ("mr_conv", "dense_gather")}
    assert plot.stat().st_size > 0 and "partitioned_conv" in text


def test_memory_estimates_and_random_graph():
    assert dense_adjacency_bytes(1_000_000, 4) > 24 * 2**30  # the dense form cannot run
    assert sparse_graph_bytes(1_000_000, 8, 4) < 24 * 2**30
    edges = random_graph(50)
    assert edges.shape == (2, 500)
    assert edges[1].tolist() == sorted(edges[1].tolist())


def test_sweep_memory_counts_each_sides_graph_storage():
    # the dense convolution holds a (K, N, N) adjacency, the sparse one E typed, weighted edges
    assert graph_storage_bytes("partitioned_conv", 1000) == (10_000 * 28, 3 * 1000 * 1000 * 4)
    assert graph_storage_bytes("mr_conv", 1000) == (160_000, 160_000)
    row = {
        "operator": "partitioned_conv",
        "variant": "message",
        "forward_backward": {"sparse_s": 0.01, "dense_s": 0.02, "ratio": 0.5},
        "sparse_peak_bytes": 2**20,
        "dense_peak_bytes": 2**20,
    }
    table = sweep_table([{"nodes": 1000, "rows": [row]}])
    sparse_mib = (2**20 + 280_000) / 2**20
    dense_mib = (2**20 + 12_000_000) / 2**20
    assert table.splitlines()[1].endswith(f"{sparse_mib:.1f}  {dense_mib:.1f}")


def test_linear_backend_applies_during_the_run_and_is_recorded(tmp_path, monkeypatch):
    import pyg_action.bench.run as bench_run
    from pyg_action.nn import get_backend

    seen = []

    def fake_run(settings):
        seen.append(get_backend().linear)
        return []

    monkeypatch.setattr(bench_run, "run", fake_run)
    out = tmp_path / "r.json"
    invoke("--operators", "none", "--models", "none", "--linear", "torch", "--out", str(out))
    assert seen == ["torch"] and get_backend().linear == "onednn"
    assert json.loads(out.read_text())["linear"] == "torch"


def test_the_real_lengths_shape_needs_the_msr_folder():
    args = ["benchmark", "--quick", "--operators", "temporal_conv", "--models", "none"]
    result = CliRunner().invoke(cli, [*args, "--shape", "msr20-real", "--repeats", "1"])
    assert result.exit_code == 2 and "--msr-root" in result.output
