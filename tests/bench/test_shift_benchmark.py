"""The Shift-GCN against ST-GCN benchmark runs end to end and reports consistent numbers."""

from pyg_action.bench.shift import benchmark_shiftgcn
from pyg_action.nn import linear_map


def test_shift_benchmark_reports_times_counts_shares_and_traced_models(monkeypatch):
    monkeypatch.setattr(linear_map, "MIN_MACS", 0)  # every eager product through oneDNN
    result = benchmark_shiftgcn(
        layout="msr20", batch_size=1, frames=6, persons=1, num_classes=5,
        warmup=0, repeats=1, message_repeats=1, traced=True, threads=1,
    )  # fmt: skip
    for key in ("stgcn", "stgcn_edges", "shiftgcn", "shiftgcn_message"):
        assert result[f"{key}_ms"] > 0
    assert result["speedup"] == result["stgcn_ms"] / result["shiftgcn_ms"]
    assert result["speedup_traced"] == result["stgcn_traced_ms"] / result["shiftgcn_traced_ms"]
    # FLOPs count matrix products only: Shift-GCN has far fewer (paper width, 20 joints)
    # (every product counted, whichever library runs it: the ratio is finite and near the
    # 4.7x of the paper-sized models)
    assert result["shiftgcn_gflops"] > 0 and 3 < result["flop_ratio"] < 8
    assert result["param_ratio"] > 3
    assert 0 < result["graph_shift_share"] < 1 and 0 < result["temporal_shift_share"] < 1
    assert result["max_abs_diff"] < 1e-3  # gather and message shifts give the same logits
    assert result["nodes"] == 6 * 20
