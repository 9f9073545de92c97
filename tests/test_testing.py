import pytest
import torch

from pyg_action.testing import assert_close_scaled


def test_tolerance_is_relative_to_the_largest_entry():
    expected = torch.tensor([1000.0, 0.0])
    assert_close_scaled(torch.tensor([1000.0, 0.009]), expected)  # 0.009 <= 1e-5 * 1000
    with pytest.raises(AssertionError):
        assert_close_scaled(torch.tensor([1000.0, 0.02]), expected)
    with pytest.raises(AssertionError):
        assert_close_scaled(torch.tensor([0.0, 2e-5]), torch.zeros(2))  # scale is at least 1
    assert_close_scaled(torch.tensor([0.0, 2e-5]), torch.zeros(2), tol=1e-4)
    with pytest.raises(AssertionError):
        assert_close_scaled(torch.tensor([1000.0, 0.009]), expected, scale=1.0)
