"""The op counter flags every way a host can wait on a value, and nothing else."""

import torch

from pyg_action.bench.opcount import count_ops


def test_value_dependent_ops_are_flagged():
    x = torch.tensor([0.0, 2.0, 0.0, 3.0])
    repeats = torch.tensor([1, 2, 0, 1])
    for fn, flagged in [
        (lambda: x.nonzero(), "aten.nonzero.default"),
        (lambda: x[x > 0], "aten.index.Tensor[mask]"),
        (lambda: x.tolist(), "Tensor.tolist"),
        (lambda: bool(x.any()), "aten._local_scalar_dense.default"),
        (lambda: torch.repeat_interleave(x, repeats), "aten.repeat_interleave.Tensor"),
        (lambda: torch.unique(x), "aten._unique2.default"),
    ]:
        counts = count_ops(fn)
        assert flagged in counts.value_dependent, (flagged, counts.summary())


def test_shape_known_ops_are_not_flagged():
    x = torch.tensor([0.0, 2.0, 0.0, 3.0])
    repeats = torch.tensor([1, 2, 0, 1])
    counts = count_ops(
        lambda: (
            torch.repeat_interleave(x, repeats, output_size=4),
            x.index_select(0, torch.tensor([3, 1])),
            torch.where(x > 0, x, 0.0),
        )
    )
    assert counts.total_value_dependent == 0, counts.summary()
    assert counts.total >= 4
    assert torch.Tensor.tolist(x) == [0.0, 2.0, 0.0, 3.0]  # restored after counting


def test_views_are_told_apart_from_the_ops_that_do_work():
    x = torch.randn(4, 6)
    counts = count_ops(lambda: (x.t().contiguous(), x.view(2, 12), x.permute(1, 0) + 1))
    assert counts.views == {
        "aten.t.default": 1,
        "aten.view.default": 1,
        "aten.permute.default": 1,
    }, counts.summary()
    assert counts.total_views == 3
    assert counts.total - counts.total_views == 2  # the copy and the addition


def test_host_cost_rows_count_and_time_both_forms():
    from pyg_action.bench.host import format_row, host_row

    row = host_row("stgcn", [4, 3], None, "inference", torch.device("cpu"), repeats=1)
    assert row["sparse_ms"] > 0 and row["dense_ms"] > 0
    assert row["ratio"] == row["sparse_ms"] / row["dense_ms"]
    for form in ("sparse", "dense"):
        assert 0 < row[f"{form}_views"] < row[f"{form}_ops"]
    # an inference forward dispatches no backward: far fewer ops than a training step
    step = host_row("stgcn", [4, 3], None, "train", torch.device("cpu"), repeats=1)
    assert step["sparse_ops"] > 2 * row["sparse_ops"]
    assert format_row(step).split()[:4] == ["stgcn", "train", "float32", "mixed"]
