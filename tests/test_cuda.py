"""On a CUDA device every operator and model computes what it computes on CPU, and the
commands run there.

The CPU tests hold every sparse form to its dense reference; these hold every form (sparse
and dense) on CUDA to itself on CPU: outputs, input gradients and parameter gradients, in
fp32 with TF32 off (cuDNN convolutions and cuBLAS products may round to TF32's 10 mantissa
bits by default). Skipped, with the reason, where torch sees no CUDA device.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from torch import Tensor

from pyg_action.bench.compare import Comparison
from pyg_action.bench.models import IMAGE_MODELS, SKELETON_MODELS
from pyg_action.bench.operators import IMAGE_OPERATORS, SKELETON_OPERATORS
from pyg_action.bench.shapes import PRESETS, image_inputs, quick, skeleton_inputs
from pyg_action.bench.shift import benchmark_shiftgcn
from pyg_action.cli.main import cli
from pyg_action.engine.config import load_config
from pyg_action.engine.trainer import train

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device: the GPU checks need one"
)

# fixed-length two-person clips, and one-person clips of different lengths in one batch
SKELETON_CASES = {
    "ntu25 fixed": (quick(PRESETS["ntu25-T100"]), [32, 32]),
    "msr20 variable": (quick(PRESETS["msr20-real"]), [13, 32, 7, 25]),
}
IMAGE_SHAPE = quick(PRESETS["vig-14x14"])
RTOL = 1e-4


@pytest.fixture(autouse=True)
def full_fp32() -> Iterator[None]:
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _results(comparison: Comparison, train_mode: bool) -> dict[str, dict[str, Tensor]]:
    """Every variant's output and, when differentiable, the gradients of a fixed random
    projection of it (a ones gradient would hide errors that cancel), moved to CPU."""
    for module in comparison.modules:
        module.train(train_mode)
    results = {}
    for name, forward in {**comparison.sparse, **comparison.dense}.items():
        for module in comparison.modules:
            module.zero_grad(set_to_none=True)
        for tensor in comparison.inputs:
            tensor.grad = None
        out = forward()
        got = {"output": out.detach().cpu()}
        if comparison.differentiable:
            generator = torch.Generator().manual_seed(1)
            weight = torch.randn(out.shape, generator=generator).to(out)
            (out * weight).sum().backward()
            for i, tensor in enumerate(comparison.inputs):
                if tensor.grad is not None:
                    got[f"input {i} gradient"] = tensor.grad.cpu()
            for j, module in enumerate(comparison.modules):
                for key, param in module.named_parameters():
                    if param.grad is not None:
                        got[f"module {j} {key} gradient"] = param.grad.cpu()
        results[name] = got
    return results


def _assert_same_on_cuda(build: Callable[[str], Comparison], train_mode: bool) -> None:
    """``build(device)`` twice, seeded alike (weights are drawn on CPU, then moved)."""
    outcomes = []
    for device in ("cpu", "cuda"):
        torch.manual_seed(0)
        outcomes.append(_results(build(device), train_mode))
    on_cpu, on_cuda = outcomes
    assert on_cuda.keys() == on_cpu.keys()
    for variant, tensors in on_cpu.items():
        assert on_cuda[variant].keys() == tensors.keys(), variant
        for what, expected in tensors.items():
            got = on_cuda[variant][what]
            if not expected.is_floating_point():  # kNN indices
                assert torch.equal(got, expected), f"{variant}: {what}"
                continue
            scale = float(expected.abs().max()) if expected.numel() else 1.0
            torch.testing.assert_close(
                got, expected, rtol=RTOL, atol=RTOL * max(scale, 1.0),
                msg=lambda m, v=variant, w=what: f"{v}: {w} differs on CUDA\n{m}",
            )  # fmt: skip


@pytest.mark.parametrize("case", list(SKELETON_CASES))
@pytest.mark.parametrize("name", list(SKELETON_OPERATORS))
def test_skeleton_operators_on_cuda_equal_cpu(name: str, case: str) -> None:
    shape, lengths = SKELETON_CASES[case]

    def build(device: str) -> Comparison:
        inputs = skeleton_inputs(shape, shape.channels, lengths, device=device)
        return SKELETON_OPERATORS[name](inputs, shape.channels)

    _assert_same_on_cuda(build, train_mode=True)


@pytest.mark.parametrize("name", list(IMAGE_OPERATORS))
def test_image_operators_on_cuda_equal_cpu(name: str) -> None:
    def build(device: str) -> Comparison:
        inputs = image_inputs(IMAGE_SHAPE, IMAGE_SHAPE.channels, device=device)
        return IMAGE_OPERATORS[name](inputs, IMAGE_SHAPE.channels)

    _assert_same_on_cuda(build, train_mode=True)


@pytest.mark.parametrize("case", list(SKELETON_CASES))
@pytest.mark.parametrize("name", list(SKELETON_MODELS))
def test_skeleton_models_on_cuda_equal_cpu(name: str, case: str) -> None:
    """Eval mode: dropout draws differ between devices; gradients still flow everywhere."""
    shape, lengths = SKELETON_CASES[case]

    def build(device: str) -> Comparison:
        inputs = skeleton_inputs(shape, 3, lengths, device=device)
        return SKELETON_MODELS[name](inputs, True, False)

    _assert_same_on_cuda(build, train_mode=False)


@pytest.mark.parametrize("name", list(IMAGE_MODELS))
def test_image_models_on_cuda_equal_cpu(name: str) -> None:
    def build(device: str) -> Comparison:
        inputs = image_inputs(IMAGE_SHAPE, IMAGE_SHAPE.channels, device=device)
        return IMAGE_MODELS[name](inputs, True)

    _assert_same_on_cuda(build, train_mode=False)


@pytest.mark.parametrize("model", ["stgcn", "shiftgcn", "stgcnpp", "ctrgcn", "vig"])
def test_training_on_cuda(model: str, tmp_path) -> None:
    config = load_config(None, ["train.epochs=1", "train.batch_size=8"], model=model)
    result = train(config, tmp_path, device="cuda", progress=False)
    assert 0 <= result.final["top1"] <= 100
    assert (tmp_path / "last.pt").exists()


@pytest.mark.parametrize("model", ["stgcn", "shiftgcn", "stgcnpp", "ctrgcn"])
def test_training_replayed_as_cuda_graphs_follows_eager_training(model, tmp_path, monkeypatch):
    """``train.cuda_graphs``: the same run recorded per batch shape and replayed gives the
    losses and accuracies of the eager run (up to the GPU's atomic-add order), and every
    shape of the run is recorded once."""
    from pyg_action.engine import trainer
    from pyg_action.engine.graphed_step import cuda_capture

    from .engine.test_graphed_step import GRAPHED, _log

    captures = []

    def counted(step: Callable[[], None]) -> Callable[[], None]:
        captures.append(step)
        return cuda_capture(step)

    monkeypatch.setattr(trainer, "step_capture", lambda device: counted)
    logs = {}
    for graphs in ("false", "true"):
        overrides = [*GRAPHED, "train.amp=false", f"train.cuda_graphs={graphs}"]
        train(load_config(None, overrides, model=model), tmp_path / graphs, device="cuda",
              progress=False)  # fmt: skip
        logs[graphs] = _log(tmp_path / graphs)
    assert len(captures) == 2
    for eager, graphed in zip(logs["false"], logs["true"], strict=True):
        assert graphed["train_loss"] == pytest.approx(eager["train_loss"], rel=1e-3)
        assert graphed["train_top1"] == pytest.approx(eager["train_top1"], abs=10)
    amp = [*GRAPHED, "train.amp=bf16", "train.cuda_graphs=true"]
    result = train(load_config(None, amp, model=model), tmp_path / "bf16", device="cuda",
                   progress=False)  # fmt: skip
    assert len(captures) == 4 and 0 <= result.final["top1"] <= 100


@pytest.mark.parametrize("graphs", ["false", "true"])
def test_drop_graph_ramp_on_cuda_and_under_cuda_graphs(graphs, tmp_path):
    """DropGraph's rate is a device scalar set at each epoch's start: at rate 0 (epoch 0 of
    the ramp) the run is the run without DropGraph (within the GPU's atomic-add order), and
    the replayed steps of later epochs read the risen rate instead of a captured 0."""
    from .engine.test_engine import drop_graph_ramp_losses

    losses = drop_graph_ramp_losses(tmp_path, "cuda", [f"train.cuda_graphs={graphs}"])
    assert losses["ramp"][0] == pytest.approx(losses["plain"][0], rel=1e-3)
    assert losses["ramp"][1:] != pytest.approx(losses["plain"][1:], rel=1e-3)


def test_device_data_on_cuda_builds_the_loaders_batches_and_trains(tmp_path):
    """``train.device_data`` on the GPU: with a deterministic pipeline its batches equal the
    DataLoader's; a run with augmentation on the device and CUDA graphs trains, and the CUDA
    generator keyed by (seed, epoch) makes two runs equal."""
    from torch_geometric.loader import DataLoader

    from pyg_action.data.device_split import DeviceSplit

    from .data.test_device_split import RECORDED_LENGTHS, _dataset
    from .engine.test_graphed_step import GRAPHED, _log

    dataset = _dataset(RECORDED_LENGTHS)
    order = [[3, 0, 5], [1, 6, 2, 4]]
    batches = DeviceSplit(dataset, "cuda").batches(order, epoch=0)
    for ours, theirs in zip(batches, DataLoader(dataset, batch_sampler=order), strict=True):
        assert ours.x.is_cuda
        for key in ("x", "y", "num_frames", "num_persons", "sample_id"):
            torch.testing.assert_close(ours[key].cpu(), theirs[key], rtol=0, atol=0, msg=key)
    overrides = [*GRAPHED, "train.device_data=true", "train.cuda_graphs=true",
                 "train.checkpoint_every=2"]  # fmt: skip
    logs = []
    for run in ("first", "second"):
        train(load_config(None, overrides, model="stgcn"), tmp_path / run, device="cuda",
              progress=False)  # fmt: skip
        logs.append(_log(tmp_path / run))
    assert all(math.isfinite(record["train_loss"]) for record in logs[0])
    for first, second in zip(*logs, strict=True):
        assert second["train_loss"] == pytest.approx(first["train_loss"], rel=1e-3)


def test_jittered_device_batches_on_cuda_equal_the_loaders():
    """``random_jitter`` in batched form on the GPU turns each sample's host draws into the
    noise its numpy step adds."""
    from torch_geometric.loader import DataLoader

    from pyg_action.data.device_split import DeviceSplit

    from .data.test_device_split import JITTERED, _dataset

    dataset = _dataset(JITTERED, persons=(2,))
    order = [[3, 0, 5], [1, 6, 2, 4]]
    ours = list(DeviceSplit(dataset, "cuda").batches(order, epoch=1))
    dataset.set_epoch(1)
    for mine, loaders in zip(ours, DataLoader(dataset, batch_sampler=order), strict=True):
        assert mine.x.is_cuda
        torch.testing.assert_close(mine.x.cpu(), loaders.x, rtol=1e-5, atol=1e-5)


def test_benchmark_command_on_cuda(tmp_path) -> None:
    out = tmp_path / "bench.json"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["benchmark", "--quick", "--device", "cuda", "--out", str(out)],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(out.read_text())
    assert report["device"] == torch.cuda.get_device_name()
    assert report["rows"] and all(row["sparse_peak_bytes"] > 0 for row in report["rows"])


def test_shift_benchmark_on_cuda() -> None:
    result = benchmark_shiftgcn(
        layout="msr20", batch_size=2, frames=16, persons=1, num_classes=5,
        warmup=1, repeats=2, message_repeats=1, traced=True, device="cuda",
    )  # fmt: skip
    assert result["device"] == torch.cuda.get_device_name()
    assert result["shiftgcn_ms"] > 0 and result["shiftgcn_traced_ms"] > 0
    assert result["max_abs_diff"] < 1e-3


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
@pytest.mark.parametrize("model", ["stgcn", "shiftgcn", "stgcnpp", "ctrgcn"])
def test_skeleton_models_under_cuda_autocast(model: str, dtype: torch.dtype) -> None:
    """Inference and a training step under autocast: finite, close to fp32, fp32 gradients."""
    from pyg_action.models import create_model

    shape, lengths = SKELETON_CASES["msr20 variable"]
    inputs = skeleton_inputs(shape, 3, lengths, device="cuda")
    net = create_model(
        model, num_classes=6, layout=inputs.layout, channels=[16, 32], strides=[1, 2]
    )
    net = net.cuda().eval()
    with torch.no_grad():
        reference = net(inputs.batch)
        with torch.autocast("cuda", dtype=dtype):
            low = net(inputs.batch)
    assert (
        float((low.float() - reference).abs().max()) <= 0.05 * float(reference.abs().max()) + 0.05
    )
    net.train()
    with torch.autocast("cuda", dtype=dtype):
        loss = net(inputs.batch).float().logsumexp(1).sum()
    loss.backward()
    assert all(bool(torch.isfinite(p.grad).all()) for p in net.parameters() if p.grad is not None)


def test_stgcn_training_step_on_cuda_never_waits_on_the_device() -> None:
    from pyg_action.bench.opcount import training_step_ops
    from pyg_action.models import create_model

    shape, lengths = SKELETON_CASES["msr20 variable"]
    inputs = skeleton_inputs(shape, 3, lengths, device="cuda")
    net = create_model("stgcn", num_classes=6, layout=inputs.layout).cuda()
    labels = torch.zeros(len(lengths), dtype=torch.long, device="cuda")
    counts = training_step_ops(net, inputs.batch, labels)
    assert counts.total_value_dependent == 0, counts.summary()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_vig_under_cuda_autocast(dtype: torch.dtype) -> None:
    from pyg_action.models import create_model

    net = create_model("vig", num_classes=5, in_channels=3, depth=2, channels=48).cuda()
    images = torch.randn(4, 3, 64, 64, device="cuda")
    net.eval()
    with torch.no_grad():
        reference = net(images)
        with torch.autocast("cuda", dtype=dtype):
            low = net(images)
    scale = float(reference.abs().max())
    assert float((low.float() - reference).abs().max()) <= 0.1 * scale + 0.05
    net.train()
    with torch.autocast("cuda", dtype=dtype):
        net(images).float().logsumexp(1).sum().backward()
    assert all(bool(torch.isfinite(p.grad).all()) for p in net.parameters() if p.grad is not None)


def test_sharpness_aware_step_on_cuda_equals_cpu() -> None:
    """``train.sam_rho``'s step (multi-tensor ops on the device, the norm never read back):
    the same gradients, weights and running statistics as on the CPU."""
    from torch import nn

    from pyg_action.engine.sharpness import SharpnessAwareStep

    torch.manual_seed(0)
    x, y = torch.randn(16, 3), torch.randint(0, 4, (16,))
    cpu = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 4))
    gpu = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 4)).cuda()
    gpu.load_state_dict(cpu.state_dict())
    for net, inputs, labels in ((cpu, x, y), (gpu, x.cuda(), y.cuda())):

        def backward(net: nn.Module = net, inputs: Tensor = inputs, labels: Tensor = labels):
            net.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(net(inputs), labels).backward()

        backward()
        SharpnessAwareStep(net, 0.1)(backward)
    for (name, a), b in zip(cpu.named_parameters(), gpu.parameters(), strict=True):
        torch.testing.assert_close(b.grad.cpu(), a.grad, rtol=RTOL, atol=1e-6, msg=name)
        assert torch.equal(b.detach().cpu(), a.detach())
    for a, b in zip(cpu.buffers(), gpu.buffers(), strict=True):
        torch.testing.assert_close(b.cpu(), a, rtol=RTOL, atol=1e-6)
