"""Sharpness-aware minimisation (``train.sam_rho``): the step's maths, its cost, the config."""

import copy

import pytest
import torch
from torch import nn

from pyg_action.bench.opcount import count_ops
from pyg_action.engine.checkpoint import load_checkpoint
from pyg_action.engine.config import load_config
from pyg_action.engine.schema import ConfigError
from pyg_action.engine.sharpness import SharpnessAwareStep
from pyg_action.engine.trainer import train

from .test_engine import TINY


def _net_and_batch():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 4))
    return net, torch.randn(16, 3), torch.randint(0, 4, (16,))


def _backward(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    net.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(net(x), y).backward()


def test_the_gradient_is_taken_at_the_weights_moved_rho_along_the_gradient():
    rho = 0.3
    net, x, y = _net_and_batch()
    weights = [p.detach().clone() for p in net.parameters()]
    _backward(net, x, y)
    statistics = [b.clone() for b in net.buffers()]  # after one training pass
    gradient = torch.cat([p.grad.flatten() for p in net.parameters()])

    moved = copy.deepcopy(net)  # by hand: w + rho g / |g|, and the gradient there
    with torch.no_grad():
        steps = (rho * gradient / gradient.norm()).split([p.numel() for p in moved.parameters()])
        for p, step in zip(moved.parameters(), steps, strict=True):
            p.add_(step.view_as(p))
    _backward(moved, x, y)
    seen = []

    def second_pass() -> None:
        seen.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
        _backward(net, x, y)

    SharpnessAwareStep(net, rho)(second_pass)
    distance = seen[0] - torch.cat([w.flatten() for w in weights])
    assert float(distance.norm()) == pytest.approx(rho, rel=1e-5)
    for p, q in zip(net.parameters(), moved.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-7)
    # the weights bit for bit, and the running statistics as the first pass left them
    for p, w in zip(net.parameters(), weights, strict=True):
        assert torch.equal(p, w)
    for b, kept in zip(net.buffers(), statistics, strict=True):
        assert torch.equal(b, kept)
    assert not torch.equal(moved[1].running_mean, statistics[0])  # which a pass would move


def test_the_step_is_a_few_kernels_and_never_reads_the_device():
    """Around the second pass: multi-tensor ops whose number does not grow with the model's
    tensors (a copy per tensor was 66 launches here), none of them value-dependent (no host
    wait per step on a GPU)."""
    from pyg_action.models import create_model

    net = create_model("stgcn", num_classes=6, channels=[16, 16, 32], strides=[1, 2, 1])
    for p in net.parameters():
        p.grad = torch.randn_like(p)
    step = SharpnessAwareStep(net, 0.05)
    step(lambda: None)  # the first step allocates the copies it reuses
    counted = count_ops(lambda: step(lambda: None))
    assert counted.total_value_dependent == 0, counted.summary()
    tensors = len([*net.parameters(), *net.buffers()])
    assert tensors > 40 and counted.total <= 20, counted.summary()


def test_a_run_with_a_vanishing_radius_trains_as_one_without_and_a_real_radius_does_not(
    tmp_path,
):
    """The second pass and the put-back leave nothing behind: with rho = 1e-9 the weights and
    running statistics after two epochs are the plain run's (to rounding); with rho = 0.05 the
    same run ends elsewhere. Without dropout, whose second pass draws other masks."""
    final = {}
    for name, extra in (
        ("plain", []),
        ("tiny", ["train.sam_rho=1e-9"]),
        ("sam", ["train.sam_rho=0.05"]),
    ):
        config = load_config(None, [*TINY, "model.dropout=0", *extra], model="stgcn")
        train(config, tmp_path / name, progress=False)
        final[name] = load_checkpoint(tmp_path / name / "last.pt")["model"]
    for key, value in final["plain"].items():
        torch.testing.assert_close(final["tiny"][key], value, rtol=1e-5, atol=1e-6, msg=key)
    differences = [
        float((final["sam"][k].double() - v.double()).abs().max())
        for k, v in final["plain"].items()
        if v.is_floating_point()
    ]
    assert max(differences) > 1e-3


def test_the_radius_is_checked_with_the_config():
    """A negative radius is refused with the other bad values (tests/engine/test_schema.py)."""
    with pytest.raises(ConfigError, match="train: cuda_graphs records one forward"):
        load_config(None, [*TINY, "train.sam_rho=0.05", "train.cuda_graphs=true"], model="stgcn")
    with pytest.raises(ValueError, match="sam_rho must be > 0"):
        SharpnessAwareStep(nn.Linear(2, 2), 0.0)
