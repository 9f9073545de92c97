"""The GPU-busy measurement's arithmetic, and its refusal without a GPU."""

import pytest
import torch

from pyg_action.bench.busy import covered_time, training_busy_fraction


def test_covered_time_counts_overlaps_once():
    assert covered_time([]) == 0.0
    assert covered_time([(0, 2), (1, 3), (5, 6)]) == 4.0
    assert covered_time([(5, 6), (0, 10), (2, 3)]) == 10.0  # nested and unsorted
    assert covered_time([(0, 1), (1, 2)]) == 2.0  # touching


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message torch gives without CUDA")
def test_needs_a_cuda_device():
    with pytest.raises(ValueError, match="CUDA"):
        training_busy_fraction(None, [], 1, "cuda")
