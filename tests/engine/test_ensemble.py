"""Config inheritance (``base:``), score fusion and ``pyg-action ensemble`` end to end."""

import json
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner

from pyg_action.cli.main import cli
from pyg_action.engine.config import load_config
from pyg_action.engine.ensemble import fuse_scores, read_ensemble_spec
from pyg_action.engine.sweep import plan_sweep, read_sweep

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_base_config_merges_sections_and_replaces_lists(tmp_path):
    (tmp_path / "parent.yaml").write_text(
        "model: {name: stgcn, channels: [8, 8], dropout: 0.5}\ntrain: {epochs: 7}\n"
    )
    (tmp_path / "sub").mkdir()
    child = tmp_path / "sub" / "child.yaml"
    child.write_text("base: ../parent.yaml\nmodel: {channels: [4]}\ntrain: {batch_size: 3}\n")
    config = load_config(child)
    assert config["model"] == {"name": "stgcn", "channels": [4], "dropout": 0.5}
    assert config["train"]["epochs"] == 7 and config["train"]["batch_size"] == 3
    (tmp_path / "parent.yaml").write_text("base: sub/child.yaml\n")
    with pytest.raises(ValueError, match="cycle"):
        load_config(child)
    child.write_text("base: [a.yaml]\n")
    with pytest.raises(ValueError, match="base must be a file path"):
        load_config(child)


@pytest.mark.parametrize(
    "bases, start, cycle",
    [
        ({"self.yaml": "self.yaml"}, "self.yaml", ["self.yaml", "self.yaml"]),
        ({"a.yaml": "b.yaml", "b.yaml": "a.yaml"}, "a.yaml", ["a.yaml", "b.yaml", "a.yaml"]),
        (
            {"top.yaml": "a.yaml", "a.yaml": "b.yaml", "b.yaml": "./a.yaml"},
            "top.yaml",
            ["a.yaml", "b.yaml", "a.yaml"],
        ),
    ],
    ids=["itself", "two-files", "entered-from-outside"],
)
def test_base_cycle_error_names_the_given_config_and_exactly_the_cycle(
    tmp_path, bases, start, cycle
):
    for name, base in bases.items():
        (tmp_path / name).write_text(f"base: {base}\ntrain: {{epochs: 2}}\n")
    expected = " -> ".join(str(tmp_path.resolve() / name) for name in cycle)
    with pytest.raises(ValueError) as error:
        load_config(tmp_path / start)
    assert str(error.value) == (
        f"config {tmp_path.resolve() / start}: base files form a cycle: {expected}"
    )


@pytest.mark.parametrize("model", ["stgcn", "shiftgcn"])
@pytest.mark.parametrize("stream", ["joint", "bone", "joint_motion", "bone_motion"])
def test_shipped_stream_configs_differ_from_their_base_only_in_the_stream(model, stream):
    base = load_config(CONFIGS / f"msr_{model}.yaml")
    config = load_config(CONFIGS / f"msr_{model}_{stream}.yaml")
    for split in ("train", "test"):
        steps = config["data"]["transforms"][split]
        assert steps[-1] == {"name": "streams", "streams": [stream]}
        assert steps[:-1] == base["data"]["transforms"][split][:-1]
    assert {k: v for k, v in config.items() if k != "data"} == {
        k: v for k, v in base.items() if k != "data"
    }
    spec = read_ensemble_spec(CONFIGS / f"msr_{model}_ensemble.yaml")
    # Shift-GCN's spec adds its channel-fused model (the base config) to the four streams
    fused = [("multistream", CONFIGS / f"msr_{model}.yaml", 1.0)] if model == "shiftgcn" else []
    assert [(s.name, s.config, s.weight) for s in spec.streams[: len(fused)]] == fused
    assert [s.name for s in spec.streams[len(fused) :]] == [
        "joint",
        "bone",
        "joint_motion",
        "bone_motion",
    ]
    both = read_ensemble_spec(CONFIGS / "msr_stgcn_shiftgcn_ensemble.yaml")
    member = next(s for s in both.streams if s.name == f"{model}_{stream}")
    assert member.config == spec.streams[[s.name for s in spec.streams].index(stream)].config
    assert member.weight == spec.streams[[s.name for s in spec.streams].index(stream)].weight
    # the eight-stream spec keeps the Shift-GCN width its results in docs/stgcn.md were run at
    narrow = ["model.channels=[24, 24, 48, 48, 96, 96]"] if model == "shiftgcn" else []
    assert list(member.overrides) == narrow


#: Each member of the three-model spec and the sweep variant whose committed runs it fuses.
THREE_MODEL_MEMBERS = {
    "ctrgcn": ("msr_ctrgcn_partitions.yaml", "spatial"),
    "ctrgcn_full_hops": ("msr_ctrgcn_directions.yaml", "spatial_full_hops"),
    "stgcnpp": ("msr_stgcnpp_recipes.yaml", "ctrgcn_recipe"),
}


def test_the_three_model_spec_trains_the_configs_of_the_runs_it_was_measured_on(tmp_path):
    """docs/ctrgcn-msr.md fuses the committed runs of three sweep variants as this spec's
    members: each member must build exactly the config those runs trained (seed aside)."""
    spec = read_ensemble_spec(CONFIGS / "msr_ctrgcn_stgcnpp_ensemble.yaml")
    assert [(s.name, s.weight) for s in spec.streams] == [
        (name, 1.0) for name in THREE_MODEL_MEMBERS
    ]
    for stream in spec.streams:
        sweep_file, variant = THREE_MODEL_MEMBERS[stream.name]
        runs = plan_sweep(read_sweep(CONFIGS / "sweeps" / sweep_file), tmp_path / stream.name)
        measured = next(run for run in runs if run.variant == variant and run.seed == 0)
        assert load_config(stream.config, list(stream.overrides)) == measured.config


def test_fuse_scores_softmax_and_logits():
    a = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    b = torch.tensor([[0.0, 10.0], [1.0, 0.0]])
    fused = fuse_scores([a, b], [1.0, 0.5], "logits")
    assert torch.allclose(fused, a + 0.5 * b)
    soft = fuse_scores([a, b], [1.0, 0.5], "softmax")
    assert torch.allclose(soft, a.softmax(1) + 0.5 * b.softmax(1))
    # a scale-happy stream dominates logit fusion but not probability fusion
    assert fused[0].argmax() == 1 and soft[0].argmax() == 0
    with pytest.raises(ValueError, match="2 score sets but 1 weights"):
        fuse_scores([a, b], [1.0], "softmax")
    with pytest.raises(ValueError, match="fusion must be one of"):
        fuse_scores([a], [1.0], "vote")


def test_spec_errors_name_the_file_and_stream(tmp_path):
    spec = tmp_path / "e.yaml"
    spec.write_text("streams: []\n")
    with pytest.raises(ValueError, match="e.yaml: needs a non-empty list"):
        read_ensemble_spec(spec)
    spec.write_text("streams:\n  - {config: missing.yaml}\n")
    with pytest.raises(ValueError, match="stream 1: config .*missing.yaml does not exist"):
        read_ensemble_spec(spec)
    (tmp_path / "a.yaml").write_text("model: {name: stgcn}\n")
    spec.write_text("streams:\n  - {config: a.yaml}\n  - {config: a.yaml}\n")
    with pytest.raises(ValueError, match="stream 2: stream name 'a' is used twice"):
        read_ensemble_spec(spec)
    spec.write_text("streams:\n  - {config: a.yaml, weight: -1}\n")
    with pytest.raises(ValueError, match=r"stream 1 \(a\): weight must be >= 0"):
        read_ensemble_spec(spec)
    spec.write_text("clips: 0\nstreams:\n  - {config: a.yaml}\n")
    with pytest.raises(ValueError, match="e.yaml: clips must be a whole number >= 1, got 0"):
        read_ensemble_spec(spec)
    spec.write_text("clips: 3\nstreams:\n  - {config: a.yaml}\n")
    assert read_ensemble_spec(spec).clips == 3
    spec.write_text("repeats: 1.5\nstreams:\n  - {config: a.yaml}\n")
    with pytest.raises(ValueError, match="e.yaml: repeats must be a whole number >= 1, got 1.5"):
        read_ensemble_spec(spec)
    spec.write_text("repeats: 2\nstreams:\n  - {config: a.yaml}\n")
    assert read_ensemble_spec(spec).repeats == 2
    spec.write_text("streams:\n  - {config: a.yaml, set: model.dropout=0.1}\n")
    with pytest.raises(ValueError, match=r"stream 1 \(a\): set must be a list of 'key=value'"):
        read_ensemble_spec(spec)
    spec.write_text("streams:\n  - {config: a.yaml, set: [model.dropout=0.1]}\n")
    assert read_ensemble_spec(spec).streams[0].overrides == ("model.dropout=0.1",)


def _tiny_stream(folder: Path, stream: str, samples: int = 48) -> None:
    steps = [
        "pre_normalize",
        {"name": "uniform_sample", "length": 8},
        {"name": "streams", "streams": [stream]},
    ]
    config = {
        "model": {"name": "stgcn", "channels": [8, 8], "strides": [1, 2]},
        "data": {
            "name": "synthetic",
            "num_samples": samples,
            "transforms": {"train": steps, "test": steps},
        },
        "train": {"epochs": 2, "batch_size": 8},
    }
    (folder / f"{stream}.yaml").write_text(yaml.safe_dump(config))


def test_ensemble_command_trains_streams_fuses_and_reuses(tmp_path):
    for stream in ("joint", "bone"):
        _tiny_stream(tmp_path, stream)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "fusion: logits\nstreams:\n"
        "  - {name: joint, config: joint.yaml, weight: 1.0}\n"
        "  - {name: bone, config: bone.yaml, weight: 0.5, set: ['model.channels=[6, 6]']}\n"
    )
    out = tmp_path / "runs"
    args = ["ensemble", str(spec), "--out", str(out), "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "ensemble.json").read_text())
    assert [s["name"] for s in summary["streams"]] == ["joint", "bone"]
    assert summary["fusion"] == "logits" and summary["num_samples"] > 0
    assert summary["gain_over_first"] == pytest.approx(
        summary["fused"]["top1"] - summary["streams"][0]["top1"], abs=1e-3
    )
    assert "fused" in result.output and (out / "confusion.png").is_file()
    # a stream's own overrides reach its config only
    widths = [
        json.loads((out / n / "config.json").read_text())["model"]["channels"]
        for n in ("joint", "bone")
    ]
    assert widths == [[8, 8], [6, 6]]
    # the fused top-1 is recomputed from the two checkpoints by hand
    from pyg_action.engine.inference import checkpoint_logits

    (joint, labels, _, _), (bone, _, _, _) = (
        checkpoint_logits(out / name / "last.pt") for name in ("joint", "bone")
    )
    expected = ((joint + 0.5 * bone).argmax(1) == labels).float().mean().item() * 100
    assert summary["fused"]["top1"] == pytest.approx(expected, abs=1e-3)

    # finished streams are reused, not retrained
    stamp = (out / "joint" / "last.pt").stat().st_mtime_ns
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert (out / "joint" / "last.pt").stat().st_mtime_ns == stamp
    # the spec's clips average each stream over temporal samplings before fusing; --clips wins
    spec.write_text(spec.read_text().replace("fusion: logits", "fusion: logits\nclips: 2"))
    assert CliRunner().invoke(cli, args).exit_code == 0
    (joint2, _, _, _), (bone2, _, _, _) = (
        checkpoint_logits(out / name / "last.pt", clips=2) for name in ("joint", "bone")
    )
    expected = ((joint2 + 0.5 * bone2).argmax(1) == labels).float().mean().item() * 100
    clipped = json.loads((out / "ensemble.json").read_text())["fused"]
    assert clipped["top1"] == pytest.approx(expected, abs=1e-3)
    assert (out / "joint" / "last.pt").stat().st_mtime_ns == stamp  # still not retrained
    assert CliRunner().invoke(cli, [*args, "--clips", "1"]).exit_code == 0
    assert json.loads((out / "ensemble.json").read_text())["fused"] == summary["fused"]
    # another seed into the same folder is refused instead of mixing runs
    result = CliRunner().invoke(cli, [*args, "--set", "train.seed=3"])
    assert result.exit_code != 0 and "another config" in result.output

    # fusing checkpoints directly, with explicit weights, gives the same numbers
    direct = CliRunner().invoke(
        cli,
        [
            "ensemble",
            "--checkpoint",
            str(out / "joint" / "last.pt"),
            "--checkpoint",
            str(out / "bone" / "last.pt"),
            "--weights",
            "1,0.5",
            "--fusion",
            "logits",
            "--out",
            str(tmp_path / "direct"),
        ],
    )
    assert direct.exit_code == 0, direct.output
    again = json.loads((tmp_path / "direct" / "ensemble.json").read_text())
    assert again["fused"] == summary["fused"]


def test_repeats_bag_each_stream_with_new_seeds_and_keep_the_first_run(tmp_path):
    from pyg_action.engine.inference import checkpoint_logits

    _tiny_stream(tmp_path, "joint")
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "fusion: logits\nstreams:\n  - {name: joint, config: joint.yaml, weight: 0.6}\n"
    )
    out = tmp_path / "runs"
    args = ["ensemble", str(spec), "--out", str(out), "--quiet", "--set", "train.seed=3"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    stamp = (out / "joint" / "last.pt").stat().st_mtime_ns
    # asking for two repeats trains only the second, with seed 3 + 1000, and reuses the first
    spec.write_text(spec.read_text().replace("streams:", "repeats: 2\nstreams:"))
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert (out / "joint" / "last.pt").stat().st_mtime_ns == stamp
    seeds = [
        json.loads((out / n / "config.json").read_text())["train"]["seed"]
        for n in ("joint", "joint-r1")
    ]
    assert seeds == [3, 1003]
    summary = json.loads((out / "ensemble.json").read_text())
    assert [(s["name"], s["weight"]) for s in summary["streams"]] == [
        ("joint", 0.3),
        ("joint-r1", 0.3),
    ]
    (first, labels, _, _), (second, _, _, _) = (
        checkpoint_logits(out / n / "last.pt") for n in ("joint", "joint-r1")
    )
    assert not torch.allclose(first, second)  # another seed, another model
    expected = ((first + second).argmax(1) == labels).float().mean().item() * 100
    assert summary["fused"]["top1"] == pytest.approx(expected, abs=1e-3)
    # --repeats overrides the spec's: one repeat fuses the first run alone, retraining nothing
    result = CliRunner().invoke(cli, [*args, "--repeats", "1"])
    assert result.exit_code == 0, result.output
    alone = json.loads((out / "ensemble.json").read_text())["streams"]
    assert [(s["name"], s["weight"]) for s in alone] == [("joint", 0.6)]
    assert (out / "joint" / "last.pt").stat().st_mtime_ns == stamp
    assert (
        CliRunner()
        .invoke(cli, ["ensemble", "--checkpoint", str(out / "joint" / "last.pt"), "--repeats", "2"])
        .exit_code
        == 2
    )


def test_ensemble_refuses_streams_that_saw_different_samples(tmp_path):
    _tiny_stream(tmp_path, "joint", samples=48)
    _tiny_stream(tmp_path, "bone", samples=40)
    spec = tmp_path / "spec.yaml"
    spec.write_text("streams:\n  - {config: joint.yaml}\n  - {config: bone.yaml}\n")
    result = CliRunner().invoke(cli, ["ensemble", str(spec), "--out", str(tmp_path / "r")])
    assert result.exit_code != 0
    assert "does not see the same test samples" in result.output
    usage = CliRunner().invoke(cli, ["ensemble"])
    assert usage.exit_code != 0 and "either SPEC or" in usage.output


def test_checkpoints_fused_on_moved_data_keep_their_own_transforms(tmp_path):
    """``--data`` replaces only each checkpoint's data root: a 3-channel joint model and a
    6-channel joint + bone model fused on a copy of their data give the fusion they give on
    the original (each with its own streams), and ``evaluate --data`` likewise."""
    from pyg_action.data.synthetic import make_synthetic
    from pyg_action.io import write_npz

    original, moved = tmp_path / "data.npz", tmp_path / "elsewhere" / "data.npz"
    write_npz(original, make_synthetic(40, seed=3), layout="ntu25")
    moved.parent.mkdir()
    moved.write_bytes(original.read_bytes())
    checkpoints = []
    for streams in (["joint"], ["joint", "bone"]):
        name = "_".join(streams)
        steps = [{"name": "uniform_sample", "length": 8}, {"name": "streams", "streams": streams}]
        config = {
            "model": {"name": "stgcn", "channels": [8], "strides": [1]},
            "data": {
                "name": "npz",
                "root": str(original),
                "test_ratio": 0.3,
                "transforms": {"train": steps, "test": steps},
            },
            "train": {"epochs": 1, "batch_size": 8},
        }
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(config))
        run = tmp_path / name
        train = CliRunner().invoke(
            cli, ["train", "--config", str(tmp_path / f"{name}.yaml"), "--out", str(run), "--quiet"]
        )
        assert train.exit_code == 0, train.output
        checkpoints += ["--checkpoint", str(run / "last.pt")]

    summaries = []
    for extra in ([], ["--data", str(moved)]):
        out = tmp_path / f"fused{len(extra)}"
        result = CliRunner().invoke(cli, ["ensemble", *checkpoints, "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        summaries.append(json.loads((out / "ensemble.json").read_text()))
    assert summaries[1]["streams"][1]["top1"] == summaries[0]["streams"][1]["top1"]
    assert summaries[1]["fused"] == summaries[0]["fused"]
    original.unlink()  # from here on only the copy can be read
    result = CliRunner().invoke(
        cli, ["evaluate", *checkpoints[-2:], "--data", str(moved), "--out", str(tmp_path / "e")]
    )
    assert result.exit_code == 0, result.output
    assert f"{summaries[0]['streams'][1]['top1']:.2f}" in result.output
