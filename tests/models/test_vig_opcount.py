"""A ViG training step on images dispatches no value-dependent operator and no more ATen
operators than the dense official formulation (counted, not timed)."""

import pytest
import torch

from pyg_action.bench.opcount import training_step_ops
from pyg_action.models.dense_vig import DenseViG, dense_from_sparse
from pyg_action.models.vig import ViG

# ViG-Ti's layout at a small size: 32x32 images, 4x4 patches (8x8 nodes), k from 9 to 18.
SHAPES = {
    "three_blocks": dict(channels=48, depth=3, k=9, patch_size=4, img_size=32),
    "dilated": dict(channels=48, depth=6, k=4, patch_size=4, img_size=32),  # dilation 2
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_training_step_ops_bounded_by_dense(name):
    torch.manual_seed(0)
    options = SHAPES[name]
    sparse = ViG(10, 3, head_channels=64, **options)
    dense = dense_from_sparse(DenseViG(10, 3, head_channels=64, **options), sparse)
    images = torch.randn(4, 3, 32, 32)
    labels = torch.randint(0, 10, (4,))
    sparse_ops = training_step_ops(sparse, images, labels)
    dense_ops = training_step_ops(dense, images, labels)
    print(f"{name}: sparse {sparse_ops.summary(6)}\n{name}: dense {dense_ops.summary(6)}")
    assert sparse_ops.total_value_dependent == 0, sparse_ops.value_dependent
    assert dense_ops.total_value_dependent == 0
    assert sparse_ops.total <= dense_ops.total, (sparse_ops.total, dense_ops.total)


def test_drop_path_in_training_reads_nothing_from_the_device():
    torch.manual_seed(1)
    model = ViG(10, 3, drop_path=0.2, **SHAPES["three_blocks"])
    counts = training_step_ops(model, torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,)))
    assert counts.total_value_dependent == 0, counts.value_dependent
