"""Per-sample stochastic depth: whole samples keep or skip a branch, evaluation ignores it."""

import pytest
import torch

from pyg_action.nn.drop_path import SampleDropPath, depth_rates


def test_every_row_of_a_sample_shares_its_factor():
    """Training: each sample's rows are all zero or all scaled by ``1 / (1 - p)``; gradients
    flow through the kept samples only."""
    torch.manual_seed(0)
    drop = SampleDropPath(0.5).train()
    row_sample = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    branch = torch.randn(10, 4, requires_grad=True)
    out = drop(branch, row_sample, 4)
    ratio = out / branch
    kept = []
    for s in range(4):
        rows = ratio[row_sample == s]
        assert torch.allclose(rows, rows[0, 0].expand_as(rows))
        assert float(rows[0, 0]) in (0.0, 2.0)
        kept.append(float(rows[0, 0]) == 2.0)
    assert 0 < sum(kept) < 4  # this seed keeps some samples and drops others
    out.sum().backward()
    expected = torch.tensor([2.0 if kept[s] else 0.0 for s in row_sample.tolist()])
    torch.testing.assert_close(branch.grad, expected[:, None].expand(10, 4))


def test_drop_rate_and_expectation():
    """Over many samples about ``p`` of them are dropped and the mean factor is about 1."""
    torch.manual_seed(1)
    drop = SampleDropPath(0.3).train()
    samples = 20_000
    factors = drop(torch.ones(samples, 1, 2, 2), torch.arange(samples), samples)[:, 0, 0, 0]
    assert abs(float((factors == 0).float().mean()) - 0.3) < 0.02
    assert abs(float(factors.mean()) - 1.0) < 0.03


def test_evaluation_and_zero_rate_are_the_identity_without_draws():
    branch = torch.randn(6, 3)
    row_sample = torch.tensor([0, 0, 1, 1, 2, 2])
    state = torch.get_rng_state()
    assert SampleDropPath(0.5).eval()(branch, row_sample, 3) is branch
    assert SampleDropPath(0.0).train()(branch, row_sample, 3) is branch
    assert torch.equal(torch.get_rng_state(), state)


def test_rates_rise_linearly_and_bad_rates_are_refused():
    assert depth_rates(0.2, 5) == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2])
    assert depth_rates(0.2, 1) == [0.0]
    for p in (-0.1, 1.0):
        with pytest.raises(ValueError, match="drop path"):
            SampleDropPath(p)
