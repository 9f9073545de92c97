import json
import os
import pickle
import shutil

import pytest
import torch

from pyg_action.engine.checkpoint import load_checkpoint, save_checkpoint
from pyg_action.engine.config import load_config
from pyg_action.engine.metrics import classification_metrics
from pyg_action.engine.schedule import lr_factor
from pyg_action.engine.trainer import load_split, train
from pyg_action.errors import SkeletonDataError

TINY = [
    "model.channels=[8, 8]",
    "model.strides=[1, 2]",
    "data.num_samples=48",
    "train.epochs=2",
    "train.batch_size=8",
    "data.transforms={train: [pre_normalize, {name: uniform_sample, length: 8, mode: train}],"
    " test: [pre_normalize, {name: uniform_sample, length: 8}]}",
]


def test_config_layers_and_overrides(tmp_path):
    config = load_config(None, ["train.optimizer.lr=0.3", "model.dropout=0.1"], model="stgcn")
    assert config["data"]["name"] == "synthetic"  # the model's embedded data
    assert config["train"]["optimizer"] == {**config["train"]["optimizer"], "lr": 0.3}
    assert config["model"]["dropout"] == 0.1
    path = tmp_path / "c.yaml"
    path.write_text("model: {name: stgcn}\ntrain: {epochs: 3}\n")
    from_file = load_config(path, ["data.num_samples=10"])
    assert from_file["train"]["epochs"] == 3
    assert from_file["data"] == {**from_file["data"], "name": "synthetic", "num_samples": 10}
    path.write_text("modle: {name: stgcn}\n")
    with pytest.raises(ValueError, match="modle.name: unknown key; did you mean 'model.name'"):
        load_config(path)
    with pytest.raises(ValueError, match="key=value"):
        load_config(None, ["train.epochs"])


def test_lr_schedule_warmup_cosine_and_step():
    spec = {"name": "cosine"}
    assert lr_factor(0, 100, 10, spec, 10) == pytest.approx(0.1)
    assert lr_factor(10, 100, 10, spec, 10) == pytest.approx(1.0)
    assert lr_factor(99, 100, 10, spec, 10) < 0.01
    step = {"name": "step", "milestones": [2, 4], "gamma": 0.1}
    assert [lr_factor(s, 60, 0, step, 10) for s in (5, 25, 45)] == pytest.approx([1, 0.1, 0.01])


def test_metrics():
    logits = torch.tensor([[3.0, 1, 0, 0, 0, 0], [0, 2, 3, 0, 0, 0], [0, 0, 0, 0, 0, 1]])
    labels = torch.tensor([0, 1, 5])
    m = classification_metrics(logits, labels)
    assert m["top1"] == pytest.approx(200 / 3)
    assert m["top5"] == pytest.approx(100)
    assert m["confusion"][1, 2] == 1
    assert m["mean_class"] == pytest.approx(200 / 3)  # classes 0, 1, 5 present: 100, 0, 100


def test_checkpoint_atomic_and_restricted(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, {"model": {"w": torch.ones(2)}, "config": {"a": 1}})
    assert load_checkpoint(path)["config"] == {"a": 1}

    def broken_save(obj, handle):
        handle.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        save_checkpoint(path, {"model": {"w": torch.zeros(2)}})
    monkeypatch.undo()
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(2))  # old one intact
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]  # no temporary left behind
    (tmp_path / ".ck.pt.killed.tmp").write_bytes(b"half")  # what a SIGKILL mid-write leaves
    save_checkpoint(path, {"model": {"w": torch.ones(2)}})
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"model": Evil()}))
    with pytest.raises(ValueError, match="evil.pt"):
        load_checkpoint(evil)
    assert not (tmp_path / "pwned").exists()


def test_train_resume_and_result(tmp_path):
    config = load_config(None, TINY, model="stgcn")
    result = train(config, tmp_path, progress=False)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2]
    assert result.synthetic and 0 <= result.final["top1"] <= 100
    assert (tmp_path / "best.pt").exists() and (tmp_path / "last.pt").exists()
    # resuming a longer schedule continues from epoch 3, not from scratch
    longer = load_config(None, [*TINY, "train.epochs=3"], model="stgcn")
    train(longer, tmp_path, resume=True, progress=False)
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [1, 2, 3]
    # a checkpoint without the resume state (an older format) is refused by name
    state = load_checkpoint(tmp_path / "last.pt")
    del state["rng"], state["history"]
    save_checkpoint(tmp_path / "last.pt", state)
    with pytest.raises(
        ValueError, match=r"last.pt cannot be resumed: it lacks \['rng', 'history'\]"
    ):
        train(longer, tmp_path, resume=True, progress=False)


def test_weight_gradient_option_holds_for_the_run_and_two_runs_agree(tmp_path, monkeypatch):
    """The CPU weight-gradient method comes from the config, not from timing: two runs of one
    config give the same log to the last digit, and the choice is undone after the run."""
    from pyg_action.nn import get_backend, track_conv

    seen = []
    real = track_conv._weight_grad

    def spy(*args):
        seen.append(get_backend().conv_weight_gradient)
        return real(*args)

    monkeypatch.setattr(track_conv, "_weight_grad", spy)
    config = load_config(None, TINY, model="stgcn")
    train(config, tmp_path / "a", progress=False)
    train(config, tmp_path / "b", progress=False)
    assert seen == []  # the default, oneDNN's own backward, never takes the per-tap products
    logs = [(tmp_path / run / "log.jsonl").read_text() for run in ("a", "b")]
    strip = [[{k: v for k, v in json.loads(line).items() if k != "seconds"}
              for line in log.splitlines()] for log in logs]  # fmt: skip
    assert strip[0] == strip[1]
    fixed = load_config(None, [*TINY, "train.weight_gradient=taps"], model="stgcn")
    train(fixed, tmp_path / "fixed", progress=False)
    assert seen and set(seen) == {"taps"} and get_backend().conv_weight_gradient == "onednn"
    with pytest.raises(ValueError, match="train.weight_gradient"):  # refused by the schema
        load_config(None, [*TINY, "train.weight_gradient=blas"], model="stgcn")


def test_amp_true_is_bf16_on_gpus_that_have_it(monkeypatch):
    from pyg_action.engine.trainer import autocast_dtype

    cuda = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert autocast_dtype(True, cuda) == torch.bfloat16  # no loss scaling, no per-step read
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert autocast_dtype(True, cuda) == torch.float16
    assert autocast_dtype(True, torch.device("cpu")) is None
    assert autocast_dtype("bf16", torch.device("cpu")) == torch.bfloat16


def test_data_loader_workers_give_the_same_run(tmp_path):
    """``train.num_workers`` prepares batches in worker processes: the augmentation of every
    sample (keyed by seed, epoch and sample) and so the whole run stay as without them."""
    augmented = [
        *TINY[:-1],
        "data.transforms={train: [pre_normalize, {name: uniform_sample, length: 8, mode: train},"
        " {name: random_rotate, angles: 20}, {name: random_scale, scale: 0.2}],"
        " test: [pre_normalize, {name: uniform_sample, length: 8}]}",
    ]
    runs = {}
    for workers in (0, 2):
        config = load_config(None, [*augmented, f"train.num_workers={workers}"], model="stgcn")
        train(config, tmp_path / str(workers), progress=False)
        log = (tmp_path / str(workers) / "log.jsonl").read_text().splitlines()
        runs[workers] = [
            {k: v for k, v in json.loads(line).items() if k != "seconds"} for line in log
        ]
    assert runs[0] == runs[2]
    with pytest.raises(ValueError, match="train.num_workers"):
        load_config(None, [*TINY, "train.num_workers=-1"], model="stgcn")


def test_bad_file_is_reported_and_empty_split_fails(shared_data, tmp_path, capsys):
    folder = tmp_path / "msr"
    folder.mkdir()
    for name in ("a01_s01_e01", "a02_s01_e01", "a13_s09_e02"):  # subjects 1 and 9 only
        shutil.copy(shared_data / "msr_action3d" / f"{name}_skeleton3D.txt", folder)
    (folder / "a03_s03_e01_skeleton3D.txt").write_text("0.1 0.2 0.3 1\nnot numbers\n")
    config = load_config(None, ["data.name=msr_action3d", f"data.root={folder}"], model="stgcn")
    info = load_split(config, "train")
    assert len(info.dataset) == 2  # the two good files; the zero and garbled ones are reported
    bad = {os.path.basename(f) for f, _ in info.report["bad_files"]}
    assert bad == {"a13_s09_e02_skeleton3D.txt", "a03_s03_e01_skeleton3D.txt"}
    with pytest.raises(SkeletonDataError, match="test"):
        load_split(config, "test")  # no even-numbered subject in the folder


def test_quick_vig_recipe_is_the_shipped_digits_config():
    """`pyg-action train --model vig` trains exactly the measured configs/vig_digits.yaml."""
    from pathlib import Path

    shipped = load_config(Path(__file__).resolve().parents[2] / "configs" / "vig_digits.yaml")
    quick = load_config(None, [], model="vig")
    for section in ("model", "data", "graph"):
        assert quick[section] == shipped[section]
    unused_by_adamw = ("momentum", "nesterov")
    for key, value in shipped["train"].items():
        if key == "optimizer":
            for name, setting in value.items():
                assert name in unused_by_adamw or quick["train"]["optimizer"][name] == setting
        else:
            assert quick["train"][key] == value


def test_the_trainer_sets_each_epochs_drop_graph_rate(tmp_path, monkeypatch):
    """Every DropGraph layer hears of every epoch's start: the rate of a ramp of 2 epochs is
    0, half and full in epochs 0, 1, 2 of the run (and 0 throughout where ``p = 0``)."""
    from pyg_action.nn.drop_graph import DropRate

    heard = []
    original = DropRate.set_training_epoch

    def recording(self, epoch):
        original(self, epoch)
        heard.append((epoch, self.p, round(float(self.rate), 6)))

    monkeypatch.setattr(DropRate, "set_training_epoch", recording)
    extra = ["train.epochs=3", "model.drop_graph=0.2", "model.drop_graph_blocks=1"]
    extra += ["model.drop_graph_frames=3", "model.drop_graph_ramp_epochs=2"]
    train(load_config(None, [*TINY, *extra], model="ctrgcn"), tmp_path, progress=False)
    assert sorted(set(heard)) == [
        (0, 0.0, 0.0),
        (0, 0.2, 0.0),
        (1, 0.0, 0.0),
        (1, 0.2, 0.1),
        (2, 0.0, 0.0),
        (2, 0.2, 0.2),
    ]


def drop_graph_ramp_losses(tmp_path, device="cpu", extra=()):
    """Training losses per epoch of a tiny CTR-GCN run without DropGraph and with a rate of
    0.5 reached after one epoch of ramp (rate 0 in epoch 0)."""
    from .test_graphed_step import GRAPHED, _log

    ramp = ["model.drop_graph=0.5", "model.drop_graph_blocks=2", "model.drop_graph_frames=3"]
    ramp += ["model.drop_graph_ramp_epochs=1"]
    losses = {}
    for name, options in (("plain", []), ("ramp", ramp)):
        config = load_config(None, [*GRAPHED, "train.amp=false", *extra, *options], model="ctrgcn")
        train(config, tmp_path / name, device=device, progress=False)
        losses[name] = [record["train_loss"] for record in _log(tmp_path / name)]
    return losses


def test_a_drop_graph_ramp_trains_undisturbed_in_its_first_epoch(tmp_path):
    """At rate 0 (epoch 0 of the ramp) the run is the run without DropGraph, loss for loss;
    once the rate rises it is not."""
    losses = drop_graph_ramp_losses(tmp_path)
    assert losses["ramp"][0] == losses["plain"][0]
    assert losses["ramp"][1:] != pytest.approx(losses["plain"][1:], rel=1e-3)
