"""Data-parallel training: 2 gloo processes on the CPU train what 1 process trains."""

import copy
import json

import pytest
import torch
import torch.distributed as dist
from click.testing import CliRunner
from torch_geometric.data import Batch

from pyg_action.cli.main import cli
from pyg_action.engine.checkpoint import load_checkpoint
from pyg_action.engine.config import load_config
from pyg_action.engine.distributed import (
    ShardedBatchSampler,
    contiguous_shard,
    process_group,
    spawn,
    sync_batchnorm,
)
from pyg_action.engine.trainer import build_model_for, load_split, seed_everything, train
from pyg_action.graph import SkeletonGraphBuilder
from pyg_action.graph.levels import SkeletonLevel
from pyg_action.models.ctrgcn import PersonDataNorm

# dropout off: its masks depend on how a batch is split over ranks; random augmentation on
TINY = [
    "model.channels=[8, 8]",
    "model.strides=[1, 2]",
    "model.dropout=0.0",
    "data.num_samples=48",
    "train.epochs=2",
    "train.batch_size=8",
    "train.scheduler={name: constant}",
    "data.transforms={train: [pre_normalize, {name: uniform_sample, length: 8, mode: train},"
    " {name: random_rotate, angles: 20}],"
    " test: [pre_normalize, {name: uniform_sample, length: 8}]}",
]
#: float32 sums in another order (gradients, BatchNorm statistics) over 10 steps. CTR-GCN's
#: training amplifies them more: 2e-6 after one step, 2e-5 after five, 4e-4 after ten
#: (measured); with per-process statistics in its input norm the weights differ by 0.2.
WEIGHT_TOLERANCE = {"stgcn": 1e-5, "ctrgcn": 1e-3}
#: the input norm's running statistics (ST-GCN's, and CTR-GCN's per person slot, computed by
#: the model itself) are the global batch's, to float32 rounding
STATISTICS_TOLERANCE = 1e-5


@pytest.mark.parametrize("num_samples", [34, 33, 32])
def test_sharded_batches_partition_the_one_process_order(num_samples):
    single = ShardedBatchSampler(num_samples, 8, seed=3)
    single.set_epoch(1)
    ranks = [ShardedBatchSampler(num_samples, 8, seed=3, rank=r, world_size=2) for r in (0, 1)]
    for sampler in ranks:
        sampler.set_epoch(1)
    per_rank = [list(sampler) for sampler in ranks]
    assert len(per_rank[0]) == len(per_rank[1]) == len(ranks[0])
    for step, (batch, first, second) in enumerate(zip(single, *per_rank, strict=False)):
        assert first + second == batch  # rank 0 then rank 1: the global batch, in order
        assert len(first) == 4 or step == len(ranks[0]) - 1
        assert ranks[0].global_batch_size(step) == len(batch)
    served = sorted(i for batches in per_rank for batch in batches for i in batch)
    # 33 = 4 * 8 + 1: a last global batch of 1 sample cannot feed 2 ranks and is dropped
    kept = 32 if num_samples == 33 else num_samples
    assert served == sorted(single.order()[:kept].tolist())
    single.set_epoch(2)
    assert list(single) != [list(b) for b in ShardedBatchSampler(num_samples, 8, seed=3)]


def test_sampler_refuses_a_batch_not_divisible_by_the_processes():
    with pytest.raises(ValueError, match="not a multiple of the 3 processes"):
        ShardedBatchSampler(10, 8, seed=0, rank=0, world_size=3)


def test_contiguous_shards_cover_in_rank_order():
    pieces = [contiguous_shard(14, r, 3) for r in range(3)]
    assert [i for piece in pieces for i in piece] == list(range(14))
    assert [len(contiguous_shard(1, r, 2)) for r in (0, 1)] == [0, 1]


def test_epoch_keyed_augmentation_does_not_depend_on_access_order():
    dataset = load_split(load_config(None, TINY, model="stgcn"), "train").dataset
    dataset.set_epoch(4)
    first = dataset[5].x
    _ = [dataset[i] for i in range(3)]  # other samples drawn in between (another rank's share)
    torch.testing.assert_close(dataset[5].x, first, rtol=0, atol=0)
    dataset.set_epoch(5)
    assert not torch.equal(dataset[5].x, first)


@pytest.mark.parametrize(
    ("model", "extra"),
    [("stgcn", []), ("ctrgcn", []), ("stgcn", ["train.sam_rho=0.05"])],
    ids=["stgcn", "ctrgcn", "stgcn-sam"],
)
def test_two_gloo_processes_match_one_process(tmp_path, model, extra):
    """ST-GCN; CTR-GCN, whose per-person input norm computes its own statistics (the
    synthetic samples have one or two persons); and sharpness-aware steps, whose weight
    perturbation must be the whole batch's on every rank."""
    options = [*TINY, *extra]
    config = load_config(None, options, model=model)
    single = train(config, tmp_path / "one", progress=False)
    args = [f"--set={item}" for item in options]
    out = tmp_path / "two"
    result = CliRunner().invoke(
        cli, ["train", "--model", model, "--nproc", "2", "--out", str(out), "--quiet", *args]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("held-out top-1") == 1

    logs = [
        [json.loads(line) for line in (tmp_path / run / "log.jsonl").read_text().splitlines()]
        for run in ("one", "two")
    ]
    assert [r["epoch"] for r in logs[1]] == [1, 2]
    for one, two in zip(*logs, strict=True):  # reduced over ranks: the whole epoch's numbers
        assert two["train_top1"] == pytest.approx(one["train_top1"], abs=1e-9)
        assert two["train_loss"] == pytest.approx(one["train_loss"], rel=1e-5)
        for key in ("test_top1", "test_top5", "test_mean_class"):
            assert two[key] == one[key]
    assert json.loads((out / "result.json").read_text())["final"] == single.final

    weights = [load_checkpoint(tmp_path / run / "last.pt")["model"] for run in ("one", "two")]
    assert weights[0].keys() == weights[1].keys()
    for key, value in weights[0].items():
        torch.testing.assert_close(
            weights[1][key], value, rtol=0, atol=WEIGHT_TOLERANCE[model], msg=f"{key} differs"
        )
    input_norm = ("data_norm.norm.running_", "person_norm.norm.running_")
    for key in [k for k in weights[0] if k.startswith(input_norm)]:
        torch.testing.assert_close(
            weights[1][key], weights[0][key], rtol=0, atol=STATISTICS_TOLERANCE, msg=key
        )
    seed_everything(0)
    initial = build_model_for(config, load_split(config, "train")).state_dict()
    moved = max(
        float((weights[0][k].double() - v.double()).abs().max()) for k, v in initial.items()
    )
    assert moved > 100 * WEIGHT_TOLERANCE[model]  # training moved them far beyond the tolerance
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in single.out_dir.iterdir())


def test_cli_refuses_a_global_batch_the_processes_cannot_share(tmp_path):
    args = ["train", "--model", "stgcn", "--nproc", "3", "--out", str(tmp_path), "--quiet"]
    result = CliRunner().invoke(cli, [*args, *[f"--set={item}" for item in TINY]])
    assert result.exit_code == 1
    assert "batch size 8 is not a multiple of the 3 processes" in result.output


def _person_norm_shards() -> list[Batch]:
    """Two shards: one-person samples only (rank 0), two-person samples (rank 1)."""
    generator = torch.Generator().manual_seed(0)
    builder = SkeletonGraphBuilder("ntu25", edges=False)
    shapes = [[(6, 1), (4, 1)], [(5, 2), (7, 2)]]
    return [
        Batch.from_data_list(
            [builder(torch.randn(3, t, 25, m, generator=generator) * 2 + 1) for t, m in shard]
        )
        for shard in shapes
    ]


def _person_norm_step(
    batch: Batch, norm: PersonDataNorm, weights: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Output of one training step and the gradient of ``Σ out · weights`` on the input."""
    x = batch.x.clone().requires_grad_()
    out = norm(x, SkeletonLevel.from_batch(batch, 25, None, spatial=False))
    (out * weights).sum().backward()
    return out, x.grad


def _person_norm_worker() -> None:
    """One rank of :func:`test_person_norm_statistics_are_the_global_batchs`."""
    shards = _person_norm_shards()
    whole = Batch.from_data_list([*shards[0].to_data_list(), *shards[1].to_data_list()])
    torch.manual_seed(1)
    reference = PersonDataNorm(3, 25, num_persons=2).train()
    with torch.no_grad():
        reference.norm.weight.uniform_(0.5, 1.5)
        reference.norm.bias.uniform_(-0.5, 0.5)
    local = copy.deepcopy(reference)
    weights = torch.linspace(-1, 1, whole.x.numel()).view(whole.x.shape)
    expected, expected_grad = _person_norm_step(whole, reference, weights)
    with process_group("cpu") as ctx:
        local = sync_batchnorm(local, ctx)
        shard = shards[ctx.rank]
        start = shards[0].x.shape[0] if ctx.rank else 0
        rows = slice(start, start + shard.x.shape[0])
        got, got_grad = _person_norm_step(shard, local, weights[rows])
        for param in local.parameters():
            dist.all_reduce(param.grad)
        torch.testing.assert_close(got, expected[rows], atol=1e-5, rtol=0)
        torch.testing.assert_close(got_grad, expected_grad[rows], atol=1e-5, rtol=0)
        for name, value in reference.state_dict().items():
            torch.testing.assert_close(local.state_dict()[name], value, atol=1e-5, rtol=0)
        for mine, theirs in zip(local.parameters(), reference.parameters(), strict=True):
            torch.testing.assert_close(mine.grad, theirs.grad, atol=1e-4, rtol=0)


def test_person_norm_statistics_are_the_global_batchs():
    """CTR-GCN's per-person input norm computes its statistics itself: over two gloo
    processes, one of which has no frame of the second person slot, its outputs, gradients
    and running statistics are those of the whole batch in one process (each rank checks its
    own rows; a per-process slot loop would also hang, the ranks calling different
    collectives)."""
    spawn(_person_norm_worker, 2)
