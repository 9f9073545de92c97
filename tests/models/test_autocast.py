"""Every model trains and infers under CPU bfloat16 autocast, close to its fp32 result."""

import pytest
import torch
from torch_geometric.data import Batch

from pyg_action.graph import SkeletonGraphBuilder
from pyg_action.models import create_model

SKELETON = {
    "stgcn": {"channels": [16, 16, 32], "strides": [1, 2, 1]},
    "shiftgcn": {"channels": [16, 16, 32], "strides": [1, 2, 1]},
    "stgcnpp": {"channels": [16, 16, 32], "strides": [1, 2, 1]},
    "ctrgcn": {"channels": [16, 16, 32], "strides": [1, 2, 1]},
}


def _skeleton_batch():
    torch.manual_seed(0)
    builder = SkeletonGraphBuilder("ntu25", edges=False)
    return Batch.from_data_list([builder(torch.randn(3, t, 25, 2)) for t in (12, 9, 12)])


@pytest.mark.parametrize("name", sorted(SKELETON))
def test_skeleton_models_train_and_infer_under_cpu_bf16(name):
    torch.manual_seed(1)
    model = create_model(name, num_classes=6, **SKELETON[name])
    batch, labels = _skeleton_batch(), torch.tensor([0, 3, 5])
    model.eval()
    with torch.no_grad():
        reference = model(batch)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(batch)
    assert low.dtype == torch.bfloat16
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        # the mean over a sample's nodes is summed in fp32: CUDA adds a bf16 scatter's
        # terms atomically in bf16, which cost a 32-frame sample a fifth of a logit
        assert model.forward_features(batch).dtype == torch.float32
    scale = float(reference.abs().max())
    assert float((low.float() - reference).abs().max()) <= 0.05 * scale + 0.05
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = torch.nn.functional.cross_entropy(model(batch).float(), labels)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and bool(torch.isfinite(g).all()) for g in grads)
    assert all(g.dtype == torch.float32 for g in grads)  # parameters stay fp32
