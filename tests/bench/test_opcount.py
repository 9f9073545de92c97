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
