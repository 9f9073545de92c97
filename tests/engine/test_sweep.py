"""``pyg-action sweep``: sweep files, the runs' configs, running, resuming and the summary."""

from __future__ import annotations

import json
import signal
import statistics
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from pyg_action.cli.main import cli
from pyg_action.engine import sweep_runner
from pyg_action.engine.config import load_config
from pyg_action.engine.sweep import SweepError, SweepRun, plan_sweep, read_sweep
from pyg_action.engine.sweep_runner import exit_description, run_status
from pyg_action.engine.sweep_summary import summarize

CONFIGS = Path(__file__).resolve().parents[2] / "configs"

#: A base config of a tiny ST-GCN on the synthetic data (one epoch in a few seconds).
TINY_BASE = {
    "model": {"name": "stgcn", "channels": [8, 8], "strides": [1, 2]},
    "data": {
        "name": "synthetic",
        "num_samples": 48,
        "transforms": {
            "train": ["pre_normalize", {"name": "uniform_sample", "length": 8, "mode": "train"}],
            "test": ["pre_normalize", {"name": "uniform_sample", "length": 8}],
        },
    },
    "train": {"epochs": 1, "batch_size": 8},
}


def _write_sweep(folder: Path, sweep: dict, name: str = "sweep.yaml") -> Path:
    (folder / "base.yaml").write_text(yaml.safe_dump(TINY_BASE))
    path = folder / name
    path.write_text(yaml.safe_dump({"base": "base.yaml", **sweep}))
    return path


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"seeds": [0], "variant": {"a": {}}}, "variant: unknown key (valid: base, seeds,"),
        ({"seeds": ["0"], "variants": {"a": {}}}, "seeds.0: Input should be a valid integer"),
        ({"seeds": 0, "variants": {"a": {}}}, "seeds: Input should be a valid list"),
        ({"seeds": [], "variants": {"a": {}}}, "seeds: List should have at least 1 item"),
        ({"seeds": [1, 1], "variants": {"a": {}}}, "seeds: [1] listed more than once"),
        ({"seeds": [0], "variants": {"a": [1]}}, "variants.a: Input should be a valid dict"),
        ({"seeds": [0], "variants": {"a/b": {}}}, "variants.a/b: a variant's name is its folder"),
        ({"seeds": [0], "variants": {"a": {"train.seed": 3}}}, "train.seed is set by the sweep"),
        ({"seeds": [0]}, "variants: missing"),
    ],
)
def test_sweep_file_errors_name_the_file_and_the_key(tmp_path, sweep, message):
    path = _write_sweep(tmp_path, sweep, "bad_sweep.yaml")
    with pytest.raises(SweepError) as caught:
        read_sweep(path)
    assert "bad_sweep.yaml" in str(caught.value) and message in str(caught.value)


def test_a_missing_base_is_named(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("base: nowhere.yaml\nseeds: [0]\nvariants: {a: {}}\n")
    with pytest.raises(SweepError, match=r"s\.yaml: its base config .*nowhere\.yaml does not"):
        read_sweep(path)


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ({"train.epoch": 3}, "train.epoch: unknown key; did you mean 'train.epochs'?"),
        ({"train.epochs": "ten"}, "train.epochs: Input should be a valid integer"),
        ({"model.channels": {"a": 1}}, "model.channels:"),
        ({"data.transforms.train": ["pre_normalise"]}, "unknown transform 'pre_normalise'"),
        ({"data.transforms.test": [{"name": "random_mirror", "q": 1}]}, "unknown option(s) ['q']"),
        ({"data.transforms.train": [{"name": "random_scale", "scale": 1.5}]}, "scale must be in"),
        ({"data.transforms.train": [{"name": "random_rotate", "angles": [1, 2]}]}, "angles is one"),
        ({"data.transforms": {"trian": []}}, "unknown split keys ['trian']"),
    ],
)
def test_a_bad_variant_fails_before_anything_runs(tmp_path, variant, message):
    path = _write_sweep(tmp_path, {"seeds": [0], "variants": {"good": {}, "typo": variant}})
    sweep = read_sweep(path)
    with pytest.raises(SweepError) as caught:
        plan_sweep(sweep, tmp_path / "out")
    text = str(caught.value)
    assert "sweep.yaml" in text and "variant 'typo'" in text and message in text
    assert not (tmp_path / "out").exists()


def test_an_unknown_variant_in_only_is_named(tmp_path):
    sweep = read_sweep(_write_sweep(tmp_path, {"seeds": [0], "variants": {"a": {}, "b": {}}}))
    with pytest.raises(SweepError, match=r"sweep\.yaml: no variant 'c' \(variants: a, b\)"):
        plan_sweep(sweep, tmp_path / "out", only=["a", "c"])
    result = CliRunner().invoke(
        cli, ["sweep", str(sweep.path), "--out", str(tmp_path / "o"), "--only", "c"]
    )
    assert result.exit_code != 0 and "no variant 'c'" in result.output


def test_a_runs_config_is_base_then_set_then_variant_then_command_line_then_seed(tmp_path):
    mirror = [*TINY_BASE["data"]["transforms"]["train"], {"name": "random_mirror", "p": 0.3}]
    sweep = read_sweep(
        _write_sweep(
            tmp_path,
            {
                "seeds": [3, 7],
                "set": ["train.batch_size=4", "train.optimizer.lr=0.2"],
                "variants": {
                    "plain": None,
                    "mirror": {"data.transforms.train": mirror, "train.batch_size": 6},
                    "sgd": {"train.optimizer": {"name": "sgd", "lr": 0.01}},
                },
            },
        )
    )
    runs = plan_sweep(sweep, tmp_path / "out", ["train.epochs=2"], only=["mirror", "sgd"])
    assert [(r.variant, r.seed) for r in runs] == [
        ("mirror", 3),
        ("mirror", 7),
        ("sgd", 3),
        ("sgd", 7),
    ]
    assert [r.folder for r in runs[:2]] == [
        tmp_path / "out" / "mirror" / f"seed{s}" for s in (3, 7)
    ]
    mirrored = runs[0].config
    assert mirrored["data"]["transforms"]["train"] == mirror  # a list replaced as a whole
    assert mirrored["data"]["transforms"]["test"] == TINY_BASE["data"]["transforms"]["test"]
    assert mirrored["train"]["batch_size"] == 6 and mirrored["train"]["optimizer"]["lr"] == 0.2
    assert [r.config["train"]["seed"] for r in runs] == [3, 7, 3, 7]
    assert all(r.config["train"]["epochs"] == 2 for r in runs)
    # a mapping replaces the section: the shared lr gives way, the schema's defaults are not
    # filled in (validation only checks)
    assert runs[2].config["train"]["optimizer"] == {"name": "sgd", "lr": 0.01}
    with pytest.raises(SweepError, match="train.seed is set by the sweep's seeds"):
        plan_sweep(sweep, tmp_path / "out", ["train.seed=1"])


@pytest.mark.parametrize("path", sorted((CONFIGS / "sweeps").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_sweep_plans_its_runs_with_valid_configs(tmp_path, path):
    """Each run's config of each shipped sweep is built and checked against the schema (and its
    transform steps), as `pyg-action sweep` does before starting anything."""
    sweep = read_sweep(path)
    runs = plan_sweep(sweep, tmp_path)
    assert len(runs) == len(sweep.variants) * len(sweep.seeds) * max(1, len(sweep.folds)) > 0
    assert {run.config["train"]["seed"] for run in runs} == set(sweep.seeds)


CTRGCN_CONFIG = CONFIGS / "msr_ctrgcn.yaml"
CTRGCN_SWEEPS = sorted(
    path
    for path in (CONFIGS / "sweeps").glob("*.yaml")
    if read_sweep(path).base.resolve() == CTRGCN_CONFIG
)


def test_the_shipped_ctrgcn_config_starts_from_the_spatial_partitions():
    assert load_config(CTRGCN_CONFIG)["graph"]["strategy"] == "spatial"


SPATIAL_START_SWEEPS = {
    "msr_ctrgcn_partitions": {"spatial"},
    "msr_ctrgcn_hops": {"distance", "spatial"},
    "msr_ctrgcn_directions": {"distance", "spatial_full_hops"},
    "msr_ctrgcn_capacity": {"spatial"},
    "msr_ctrgcn_bone_direction": {"spatial"},
    "msr_ctrgcn_turn": {"spatial"},
    "msr_ctrgcn_smoothing_spatial": {"spatial"},
    "msr_ctrgcn_resample": {"spatial"},
    "msr_ctrgcn_batch_decay": {"spatial"},
    "msr_ctrgcn_fixed_topology": {"spatial"},
    "msr_ctrgcn_confidence": {"spatial"},
    "msr_ctrgcn_shear": {"spatial"},
    "msr_ctrgcn_relation": {"spatial"},
    "msr_ctrgcn_spatial_seeds": {"spatial"},
    "msr_ctrgcn_swa_spatial": {"spatial"},
    "msr_ctrgcn_low_decay": {"spatial"},
    "msr_ctrgcn_crop": {"spatial"},
    "msr_ctrgcn_seeds_12_17": {"spatial"},
    "msr_ctrgcn_folds": {"spatial"},
    "msr_ctrgcn_oof_distill": {"spatial"},
    "msr_ctrgcn_oof_distill_seeds_12_15": {"spatial"},
    "msr_ctrgcn_cv_start": {"spatial", "inward_outward"},
}


@pytest.mark.parametrize("path", CTRGCN_SWEEPS, ids=lambda p: p.stem)
def test_ctrgcn_sweeps_train_the_topology_start_they_measured(tmp_path, path):
    """The sweeps measured before the shipped config started from the spatial partitions still
    train the official inward/outward start; the ones measured since (the comparisons of
    starts) train the starts their variants name."""
    expected = SPATIAL_START_SWEEPS.get(path.stem, {"inward_outward"})
    strategies = {run.config["graph"]["strategy"] for run in plan_sweep(read_sweep(path), tmp_path)}
    assert strategies == expected


def _streams(*names: str) -> dict:
    return {"name": "streams", "streams": list(names)}


STEP_SWEEPS = {
    "msr_ctrgcn_bone_direction": {
        "direction_for_bone": {
            split: [_streams("joint", "bone_direction", "joint_motion")]
            for split in ("train", "test")
        },
        "direction_added": {
            split: [_streams("joint", "bone", "joint_motion", "bone_direction")]
            for split in ("train", "test")
        },
    },
    "msr_ctrgcn_turn": {
        "turn30": {"train": [{"name": "random_rotate", "angles": [15, 15, 30]}], "test": []}
    },
}


@pytest.mark.parametrize("name", sorted(STEP_SWEEPS))
def test_transform_sweeps_change_only_the_steps_they_name(tmp_path, name):
    """Each variant's pipelines are the shipped config's with just the named steps replaced."""
    shipped = load_config(CTRGCN_CONFIG)["data"]["transforms"]
    for run in plan_sweep(read_sweep(CONFIGS / "sweeps" / f"{name}.yaml"), tmp_path):
        for split in ("train", "test"):
            steps = run.config["data"]["transforms"][split]
            pairs = zip(steps, shipped[split], strict=True)
            changed = [step for step, base in pairs if step != base]
            assert changed == STEP_SWEEPS[name][run.variant][split]


def _is_sampling(step) -> bool:
    return isinstance(step, dict) and step["name"] == "uniform_sample"


def test_the_resample_sweep_changes_only_how_the_frames_are_sampled(tmp_path):
    """``native_motion`` moves the shipped sampling step to the end of each pipeline (the
    streams taken at the recorded frame rate); ``interpolate`` only sets its flag."""
    shipped = load_config(CTRGCN_CONFIG)["data"]["transforms"]
    runs = plan_sweep(read_sweep(CONFIGS / "sweeps" / "msr_ctrgcn_resample.yaml"), tmp_path)
    assert {run.variant for run in runs} == {"native_motion", "interpolate"}
    for run in runs:
        for split in ("train", "test"):
            steps, base = run.config["data"]["transforms"][split], shipped[split]
            (sampling,) = [step for step in base if _is_sampling(step)]
            if run.variant == "native_motion":
                assert steps == [step for step in base if step != sampling] + [sampling]
            else:
                flagged = {**sampling, "interpolate": True}
                assert steps == [flagged if step == sampling else step for step in base]


def _sweep_configs(tmp_path, name: str) -> list[dict]:
    return [run.config for run in plan_sweep(read_sweep(CONFIGS / "sweeps" / name), tmp_path)]


def test_the_confidence_and_shear_sweeps_change_only_what_they_name(tmp_path):
    """``confidence`` only reads the fourth column; ``shear01`` only adds a shear to the
    training pipeline, after the rotation and scaling and before the streams."""
    shipped = load_config(CTRGCN_CONFIG)
    for config in _sweep_configs(tmp_path / "confidence", "msr_ctrgcn_confidence.yaml"):
        assert config["data"].pop("with_confidence") is True
        assert config["data"] == shipped["data"] and config["model"] == shipped["model"]
    train = shipped["data"]["transforms"]["train"]
    streams = next(
        i for i, step in enumerate(train) if isinstance(step, dict) and step["name"] == "streams"
    )
    shear = {"name": "random_shear", "shear": 0.1}
    for config in _sweep_configs(tmp_path / "shear", "msr_ctrgcn_shear.yaml"):
        steps = config["data"]["transforms"]
        assert steps["train"] == [*train[:streams], shear, *train[streams:]]
        assert steps["test"] == shipped["data"]["transforms"]["test"]


@pytest.mark.parametrize("name", ["msr_recipes.yaml", "msr_stgcnpp_recipes.yaml"])
def test_the_shipped_sweeps_build_every_run(tmp_path, name):
    sweep = read_sweep(CONFIGS / "sweeps" / name)
    runs = plan_sweep(sweep, tmp_path)
    assert len(runs) == len(sweep.variants) * 3 and sweep.seeds == (0, 1, 2)
    configs = {run.variant: run.config for run in runs if run.seed == 0}
    base = configs["baseline"]
    assert configs["epochs100"]["train"]["epochs"] == 100 and base["train"]["epochs"] == 50
    strong = configs["strong_aug"]["data"]["transforms"]["train"]
    assert {"name": "random_rotate", "angles": 30} in strong
    assert {"name": "random_scale", "scale": 0.2} in strong
    names = [step if isinstance(step, str) else step["name"] for step in strong]
    assert names.index("random_mirror") < names.index("streams")
    assert configs["strong_aug"]["data"]["transforms"]["test"] == base["data"]["transforms"]["test"]


def test_the_ctrgcn_sweep_changes_what_each_variant_names(tmp_path):
    runs = plan_sweep(read_sweep(CONFIGS / "sweeps" / "msr_recipes.yaml"), tmp_path)
    configs = {run.variant: run.config for run in runs if run.seed == 1}
    base = configs["baseline"]
    train_steps = base["data"]["transforms"]["train"]
    mirrored = configs["mirror"]["data"]["transforms"]["train"]
    assert mirrored == [*train_steps[:-1], "random_mirror", train_steps[-1]]
    for split in ("train", "test"):
        steps = configs["len64"]["data"]["transforms"][split]
        assert [s for s in steps if isinstance(s, dict) and s["name"] == "uniform_sample"][0][
            "length"
        ] == 64
    assert configs["narrow"]["model"]["channels"] == [32, 32, 64, 64, 128, 128]
    assert configs["wd1e-3"]["train"]["optimizer"]["weight_decay"] == 0.001
    assert configs["wd1e-3"]["train"]["optimizer"]["lr"] == base["train"]["optimizer"]["lr"]
    assert configs["dropout_long"]["model"]["dropout"] == 0.2
    assert "random_mirror" in configs["dropout_long"]["data"]["transforms"]["train"]
    for name in ("narrow", "wd1e-3", "dropout_long"):
        assert configs[name]["train"]["epochs"] == 100
    crop = {"name": "random_crop", "ratio": [0.7, 1.0]}
    assert configs["crop"]["data"]["transforms"]["train"] == [
        *train_steps[:2],
        crop,
        *train_steps[2:],
    ]
    everything = configs["all_aug"]
    assert (
        crop in everything["data"]["transforms"]["train"] and everything["model"]["dropout"] == 0.2
    )
    for split in ("train", "test"):  # the median filter before the scale normalisation
        steps = configs["median"]["data"]["transforms"][split]
        assert steps[:3] == ["pre_normalize", {"name": "temporal_median", "window": 5},
                             "scale_normalize"]  # fmt: skip
        assert steps[3:] == base["data"]["transforms"][split][2:]


def test_dry_run_lists_every_run_and_trains_nothing(tmp_path):
    sweep = _write_sweep(
        tmp_path, {"seeds": [0, 1], "variants": {"a": {}, "b": {"train.epochs": 2}}}
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["sweep", str(sweep), "--out", str(out), "--dry-run"])
    assert result.exit_code == 0, result.output
    for variant in ("a", "b"):
        for seed in (0, 1):
            assert (
                f"{variant} seed {seed} -> {out / variant / f'seed{seed}'} (new)" in result.output
            )
    assert "4 runs, every config checked" in result.output and not out.exists()
    bad = CliRunner().invoke(
        cli, ["sweep", str(sweep), "--out", str(out), "--dry-run", "--set", "train.epochs=0"]
    )
    assert bad.exit_code != 0 and "train.epochs: Input should be greater than 0" in bad.output


def _finished_run(folder: Path, top1: float, best: float, seconds: list[float]) -> None:
    """A run folder as training leaves it (result.json and log.jsonl)."""
    folder.mkdir(parents=True)
    result = {"final": {"top1": top1}, "best": {"top1": best, "epoch": 1}, "synthetic": False}
    (folder / "result.json").write_text(json.dumps(result))
    lines = [json.dumps({"epoch": i + 1, "seconds": s}) for i, s in enumerate(seconds)]
    (folder / "log.jsonl").write_text("\n".join(lines) + "\n")


def test_the_summary_of_a_partial_sweep(tmp_path):
    out = tmp_path / "out"
    _finished_run(out / "wide" / "seed0", 80.0, 82.0, [10.0, 20.0])
    _finished_run(out / "wide" / "seed1", 90.0, 91.0, [10.0, 10.0])
    _finished_run(out / "wide" / "seed2", 85.0, 88.0, [30.0])
    _finished_run(out / "narrow" / "seed0", 87.5, 87.5, [5.0])
    (out / "narrow" / "seed1").mkdir()  # started, not finished
    (out / "sweep.json").write_text(json.dumps({"seeds": [0, 1, 2], "variants": ["wide"]}))
    result = CliRunner().invoke(cli, ["sweep", "--summarize", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())["variants"]
    assert [v["variant"] for v in summary] == ["narrow", "wide"]  # best mean first
    narrow, wide = summary
    assert wide["seeds"] == [0, 1, 2] and wide["top1"] == [80.0, 90.0, 85.0]
    assert wide["mean"] == pytest.approx(85.0) and wide["std"] == pytest.approx(5.0)  # n - 1
    assert (wide["min"], wide["max"]) == (80.0, 90.0)
    assert wide["best_top1_mean"] == pytest.approx(87.0)
    assert wide["seconds_per_run"] == pytest.approx(80.0 / 3)
    assert narrow["seeds"] == [0] and narrow["std"] is None and narrow["unfinished"] == [1]
    table = (out / "summary.md").read_text()
    assert "| wide | 3/3 | 85.00 ± 5.00 | 80.00 | 90.00 | 87.00 |" in table
    assert "| narrow | 1/3 | 87.50 ± – |" in table
    assert "narrow: seeds 1 not finished" in table and table in result.output


def _stopped_run(folder: Path, test_top1: list[float]) -> None:
    """A run folder of a run stopped after ``len(test_top1)`` epochs (log.jsonl only)."""
    folder.mkdir(parents=True)
    lines = [
        json.dumps({"epoch": i + 1, "seconds": 1.0, "test_top1": a})
        for i, a in enumerate(test_top1)
    ]
    (folder / "log.jsonl").write_text("\n".join(lines) + "\n")


def test_the_summary_compares_stopped_runs_over_a_window_of_epochs(tmp_path):
    out = tmp_path / "out"
    _stopped_run(out / "stopped" / "seed0", [50.0, 70.0, 80.0, 90.0])
    _stopped_run(out / "stopped" / "seed1", [40.0, 60.0, 70.0, 60.0, 99.0])
    _stopped_run(out / "stopped" / "seed2", [40.0, 60.0])  # stopped before the window ends
    _finished_run(out / "full" / "seed0", 88.0, 90.0, [1.0])
    _stopped_run(out / "unrelated" / "seed0", [10.0])
    (out / "full" / "seed0" / "log.jsonl").write_text(
        "\n".join(
            json.dumps({"epoch": e, "seconds": 1.0, "test_top1": 80.0 + e}) for e in range(1, 5)
        )
    )
    result = CliRunner().invoke(cli, ["sweep", "--summarize", str(out), "--epochs", "2-4"])
    assert result.exit_code == 0, result.output
    summary = {v["variant"]: v for v in json.loads((out / "summary.json").read_text())["variants"]}
    stopped, full = summary["stopped"], summary["full"]
    assert stopped["window"] == [2, 4] and stopped["window_seeds"] == [0, 1]
    assert stopped["window_top1"] == pytest.approx([80.0, 190 / 3])
    assert stopped["window_mean"] == pytest.approx((80.0 + 190 / 3) / 2)
    assert stopped["window_std"] == pytest.approx(abs(80.0 - 190 / 3) / 2**0.5)
    assert stopped["unfinished"] == [0, 1, 2] and stopped["mean"] is None
    assert full["window_top1"] == pytest.approx([83.0]) and full["window_std"] is None
    assert summary["unrelated"]["window_mean"] is None
    table = (out / "summary.md").read_text()
    assert "epochs 2–4: top-1 mean ± sd" in table and "| 0: 80.00, 1: 63.33 |" in table
    for bad in ("4-2", "0-3", "3", "a-b"):
        result = CliRunner().invoke(cli, ["sweep", "--summarize", str(out), "--epochs", bad])
        assert result.exit_code == 2 and "is not A-B with 1 <= A <= B" in result.output


def test_an_unreadable_result_is_reported_not_counted(tmp_path):
    _finished_run(tmp_path / "a" / "seed0", 50.0, 50.0, [1.0])
    _finished_run(tmp_path / "a" / "seed1", 60.0, 60.0, [1.0])
    (tmp_path / "a" / "seed1" / "result.json").write_text('{"final": {"top1": NaN}}')
    (variant,) = summarize(tmp_path)
    assert variant.seeds == [0] and variant.mean == 50.0
    assert len(variant.problems) == 1 and "seed1" in variant.problems[0]


def test_a_folder_of_another_config_is_never_touched(tmp_path):
    config = {"model": {"name": "stgcn"}, "train": {"epochs": 3, "seed": 0}}
    folder = tmp_path / "a" / "seed0"
    folder.mkdir(parents=True)
    run = SweepRun("a", 0, folder, config)
    assert run_status(run) == "new"
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "last.pt").write_bytes(b"")
    assert run_status(run) == "resume"
    (folder / "result.json").write_text("{}")
    assert run_status(run) == "done"
    other = SweepRun("a", 0, folder, {**config, "train": {"epochs": 4, "seed": 0}})
    with pytest.raises(ValueError, match=r"another config \(differing: train\.epochs\)"):
        run_status(other)


@pytest.mark.slow
def test_a_sweep_trains_summarizes_resumes_and_reports_a_failing_variant(tmp_path):
    """2 variants x 2 seeds in parallel, beside a variant whose data folder does not exist (it
    fails at run time); then a rerun trains nothing more."""
    sweep = _write_sweep(
        tmp_path,
        {
            "seeds": [0, 1],
            "variants": {
                "plain": {},
                "fast_lr": {"train.optimizer.lr": 0.3},
                "broken": {"data": {"name": "msr_action3d", "root": str(tmp_path / "none")}},
            },
        },
    )
    out = tmp_path / "runs"
    args = ["sweep", str(sweep), "--out", str(out), "--parallel", "2", "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code != 0
    assert "2 of 6 runs failed" in result.output
    for seed in (0, 1):
        failed = out / "broken" / f"seed{seed}"
        assert "MSR Action3D: not found at" in (failed / "stderr.log").read_text()
        assert not (failed / "result.json").exists()
    summary = {v["variant"]: v for v in json.loads((out / "summary.json").read_text())["variants"]}
    assert summary["broken"]["seeds"] == [] and summary["broken"]["unfinished"] == [0, 1]
    for variant in ("plain", "fast_lr"):
        folders = [out / variant / f"seed{seed}" for seed in (0, 1)]
        results = [json.loads((f / "result.json").read_text()) for f in folders]
        top1 = [r["final"]["top1"] for r in results]
        assert summary[variant]["top1"] == top1
        assert summary[variant]["mean"] == pytest.approx(statistics.fmean(top1))
        assert summary[variant]["std"] == pytest.approx(statistics.stdev(top1))
        configs = [json.loads((f / "config.json").read_text()) for f in folders]
        assert [c["train"]["seed"] for c in configs] == [0, 1]
        assert configs[0] == json.loads((folders[0] / "sweep_config.json").read_text())
    assert json.loads((out / "fast_lr" / "seed1" / "config.json").read_text())["train"][
        "optimizer"
    ]["lr"] == pytest.approx(0.3)
    finished = {f: f.stat().st_mtime_ns for f in out.glob("*/seed*/result.json")}
    again = CliRunner().invoke(cli, [*args, "--only", "plain", "--only", "fast_lr"])
    assert again.exit_code == 0, again.output
    assert "4 runs were finished before and kept" in again.output
    assert {f: f.stat().st_mtime_ns for f in out.glob("*/seed*/result.json")} == finished


def test_a_failing_run_is_reported_and_a_foreign_folder_left_alone(tmp_path):
    """The failing run's stderr is kept in its folder and named in the output; a folder holding
    a run of another config is refused without being touched; the command fails at the end."""
    sweep = _write_sweep(
        tmp_path,
        {
            "seeds": [0],
            "variants": {
                "broken": {"data": {"name": "msr_action3d", "root": str(tmp_path / "none")}},
                "taken": {},
            },
        },
    )
    out = tmp_path / "runs"
    foreign = out / "taken" / "seed0"
    foreign.mkdir(parents=True)
    (foreign / "config.json").write_text(json.dumps({"model": {"name": "vig"}}))
    result = CliRunner().invoke(cli, ["sweep", str(sweep), "--out", str(out), "--quiet"])
    assert result.exit_code != 0 and "2 of 2 runs failed" in result.output
    stderr = (out / "broken" / "seed0" / "stderr.log").read_text()
    assert f"MSR Action3D: not found at {tmp_path / 'none'}" in stderr
    assert f"MSR Action3D: not found at {tmp_path / 'none'}" in result.output
    assert f"{foreign} holds a run of another config" in result.output
    assert sorted(p.name for p in foreign.iterdir()) == ["config.json"]
    summary = json.loads((out / "summary.json").read_text())["variants"]
    assert [(v["variant"], v["seeds"], v["unfinished"]) for v in summary] == [
        ("broken", [], [0]),
        ("taken", [], [0]),
    ]


def _clip_dump(folder: Path, clips: int, logits: list[list[float]], labels: list[int]) -> None:
    np.savez(
        folder / f"test_clips{clips}.npz",
        logits=np.array(logits, dtype=np.float32),
        labels=np.array(labels, dtype=np.int64),
        names=np.array([f"s{i}" for i in range(len(labels))]),
        class_names=np.array(["a", "b"]),
    )


def test_the_summary_adds_clip_scores_and_their_fusion(tmp_path):
    """Each seed's clip top-1 and the top-1 of the seeds' mean softmax: here each seed gets
    one of two samples right and their fusion both (the confident score wins each sample)."""
    for seed, logits in enumerate([[[4.0, 0.0], [0.2, 0.0]], [[0.0, 0.2], [0.0, 4.0]]]):
        folder = tmp_path / "out" / "a" / f"seed{seed}"
        _finished_run(folder, 50.0, 50.0, [1.0])
        _clip_dump(folder, 3, [[0.0, 9.0]] * 2, [0, 1])  # fewer clips: not read
        _clip_dump(folder, 10, logits, [0, 1])
    (variant,) = summarize(tmp_path / "out")
    assert variant.clips == 10
    assert variant.clip_top1 == [50.0, 50.0]
    assert variant.fused_top1 == 100.0
    table = (CliRunner().invoke(cli, ["sweep", "--summarize", str(tmp_path / "out")])).output
    assert "| 10 | 50.00 ± 0.00 | 100.00 |" in table


def test_a_sweep_evaluates_its_runs_with_clips_once(tmp_path):
    sweep = _write_sweep(tmp_path, {"seeds": [0], "variants": {"plain": {}}})
    out = tmp_path / "runs"
    args = ["sweep", str(sweep), "--out", str(out), "--clips", "2", "--quiet"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    dump = out / "plain" / "seed0" / "test_clips2.npz"
    with np.load(dump, allow_pickle=False) as scores:
        expected = 100.0 * float(np.mean(scores["logits"].argmax(1) == scores["labels"]))
    (variant,) = summarize(out)
    assert variant.clips == 2 and variant.clip_top1 == [pytest.approx(expected)]
    written = dump.stat().st_mtime_ns
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "1 runs were finished before and kept" in again.output
    assert dump.stat().st_mtime_ns == written


def test_a_killed_run_says_it_was_killed_not_only_its_last_log_line(tmp_path, monkeypatch, capsys):
    """A run whose process dies of a signal (out of memory, stopped by hand) is reported as
    killed, with its error log named, even when that log ends with an unrelated warning."""
    child = (
        "import os, signal, sys; sys.stderr.write('warning: one sample skipped\\n'); "
        "sys.stderr.flush(); os.kill(os.getpid(), signal.SIGTERM)"
    )
    monkeypatch.setattr(sweep_runner, "train_command", lambda *_: [sys.executable, "-c", child])
    run = SweepRun("v", 0, tmp_path / "v" / "seed0", {"model": {"name": "stgcn"}})
    [outcome] = sweep_runner.run_sweep([run], progress=False)
    assert outcome.status == "failed"
    first, *rest = outcome.message.splitlines()
    assert first == f"killed by SIGTERM; the end of {run.folder / 'stderr.log'}:"
    assert rest == ["warning: one sample skipped"]
    shown = capsys.readouterr().out
    assert "killed by SIGTERM" in shown and "warning: one sample skipped" in shown
    assert exit_description(3) == "exit status 3"
    assert exit_description(-signal.SIGKILL) == "killed by SIGKILL"


# ------------------------------------------------------------------ cross-validation folds


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"folds": [1]}, "folds: List should have at least 2 items"),
        ({"folds": [1, [3, 1]]}, "folds: subjects [1] are in more than one fold"),
        ({"folds": [1, []]}, "folds: a fold holds out no subject"),
        ({"folds": [1, "3"]}, "folds.1.int: Input should be a valid integer"),
        ({"folds": [1, 3], "set": ["data.holdout_subjects=[5]"]}, "set: data.holdout_subjects is"),
        (
            {"folds": [1, 3], "variants": {"a": {"data.holdout_subjects": [5]}}},
            "variants.a: data.holdout_subjects is set by the sweep's folds",
        ),
    ],
)
def test_fold_errors_name_the_file_and_the_key(tmp_path, sweep, message):
    path = _write_sweep(tmp_path, {"seeds": [0], "variants": {"a": {}}, **sweep}, "bad.yaml")
    with pytest.raises(SweepError) as caught:
        read_sweep(path)
    assert "bad.yaml" in str(caught.value) and message in str(caught.value)


def _write_msr_sweep(folder: Path, sweep: dict, root: Path) -> Path:
    """A sweep file over a tiny ST-GCN on MSR Action3D files in ``root``."""
    data = {**TINY_BASE["data"], "name": "msr_action3d", "root": str(root)}
    del data["num_samples"]
    base = {**TINY_BASE, "data": data}
    (folder / "base.yaml").write_text(yaml.safe_dump(base))
    path = folder / "cv.yaml"
    path.write_text(yaml.safe_dump({"base": "base.yaml", **sweep}))
    return path


def test_every_fold_of_every_seed_is_a_run_that_holds_its_subjects_out(tmp_path):
    folds = {"seeds": [0, 1], "folds": [1, [5, 3]]}
    variants = {"a": {}, "b": {"train.epochs": 2}}
    sweep = read_sweep(_write_msr_sweep(tmp_path, {**folds, "variants": variants}, tmp_path))
    assert sweep.folds == ((1,), (3, 5))
    runs = plan_sweep(sweep, tmp_path / "out")
    assert [(r.variant, r.seed, r.fold, r.folder.relative_to(tmp_path / "out")) for r in runs] == [
        (v, s, f, Path(v, f"seed{s}", name))
        for v in ("a", "b")
        for s in (0, 1)
        for f, name in (((1,), "without1"), ((3, 5), "without3-5"))
    ]
    for run in runs:
        assert run.config["data"]["holdout_subjects"] == list(run.fold)
        assert run.config["train"]["seed"] == run.seed
        assert run.config["train"]["epochs"] == (2 if run.variant == "b" else 1)
    with pytest.raises(SweepError, match="data.holdout_subjects is set by the sweep's folds"):
        plan_sweep(sweep, tmp_path / "out", ["data.holdout_subjects=[7]"])
    dry = CliRunner().invoke(cli, ["sweep", str(sweep.path), "--out", "o", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"b seed 1 without 3, 5 -> {Path('o', 'b', 'seed1', 'without3-5')} (new)" in dry.output
    assert "8 runs, every config checked" in dry.output
    no_subjects = read_sweep(_write_sweep(tmp_path, {**folds, "variants": variants}))
    with pytest.raises(SweepError, match="data.holdout_subjects: unknown key"):
        plan_sweep(no_subjects, tmp_path / "out")  # the synthetic data has no subjects


def _fold_run(folder: Path, logits: list[list[float]], labels: list[int], best: float) -> None:
    """A finished fold run: result.json (final top-1 from ``logits``) and its 1-clip dump."""
    right = [int(np.argmax(row) == label) for row, label in zip(logits, labels, strict=True)]
    _finished_run(folder, 100.0 * sum(right) / len(right), best, [2.0, 3.0])
    _clip_dump(folder, 1, logits, labels)


def test_a_cross_validated_seed_pools_its_folds_out_of_fold_scores(tmp_path):
    """Seed 0: fold 1 gets 1 of 4 samples right, fold 3 both of 2: pooled 3 / 6 = 50 %, not
    the mean of the folds' 25 and 100 %. Seed 1 has a fold still training: unfinished."""
    out = tmp_path / "out"
    seed0 = out / "cv" / "seed0"
    _fold_run(seed0 / "without1", [[1, 0], [1, 0], [1, 0], [1, 0]], [0, 1, 1, 1], best=50.0)
    _fold_run(seed0 / "without3", [[0, 1], [1, 0]], [1, 0], best=100.0)
    _fold_run(out / "cv" / "seed1" / "without1", [[1, 0]] * 4, [0, 1, 1, 1], best=25.0)
    (out / "cv" / "seed1" / "without3").mkdir(parents=True)  # still training
    _fold_run(out / "cv" / "seed2" / "without1", [[1, 0]] * 4, [0, 1, 1, 1], best=25.0)
    (variant,) = summarize(out)  # seed 2's fold 3 has not started: it is not finished either
    assert variant.seeds == [0] and variant.unfinished == [1, 2]
    assert variant.top1 == [pytest.approx(50.0)] and variant.clip_top1 == [pytest.approx(50.0)]
    assert variant.best_top1_mean == pytest.approx((4 * 50.0 + 2 * 100.0) / 6)
    assert variant.seconds_per_run == pytest.approx(10.0)  # both folds' epochs
    assert variant.folds == ["without1", "without3"]
    assert variant.fold_top1 == {"without1": [25.0], "without3": [100.0]}
    table = (CliRunner().invoke(cli, ["sweep", "--summarize", str(out)])).output
    assert "cv: every seed's top-1 is the out-of-fold top-1 pooled over its folds" in table
    assert "each fold's mean top-1: without1 25.00, without3 100.00" in table
    (out / "sweep.json").write_text(json.dumps({"seeds": [0, 1, 2], "folds": [[1], [3], [5]]}))
    (variant,) = summarize(out)  # the sweep's folds, from its manifest: seed 0 lacks fold 5
    assert variant.seeds == [] and variant.unfinished == [0, 1, 2]
    assert variant.folds == ["without1", "without3", "without5"]
    (out / "sweep.json").unlink()
    windowed = summarize(out, (1, 2))[0]
    assert windowed.window_mean is None
    assert any("not computed for cross-validated seeds" in p for p in windowed.problems)


def test_a_fold_without_its_scores_is_reported_not_counted(tmp_path):
    seed0 = tmp_path / "cv" / "seed0"
    _fold_run(seed0 / "without1", [[1, 0]], [0], best=100.0)
    _finished_run(seed0 / "without3", 100.0, 100.0, [1.0])  # no test_clips<N>.npz
    (variant,) = summarize(tmp_path)
    assert variant.seeds == [] and variant.unfinished == []
    assert "a fold has no test scores" in variant.problems[0]


def _msr_file(folder: Path, action: int, subject: int, take: int, rng) -> None:
    """An MSR Action3D text file of 12 frames: a body that moves one way per action."""
    base = rng.normal(0, 0.3, (20, 3)) + [0.0, 0.0, 2.5]
    frames = [base + 0.05 * t * np.eye(3)[action % 3] for t in range(12)]
    lines = [f"{x:.4f} {y:.4f} {z:.4f} 1\n" for frame in frames for x, y, z in frame]
    (folder / f"a{action:02d}_s{subject:02d}_e{take:02d}_skeleton3D.txt").write_text("".join(lines))


def test_a_fold_sweep_tests_each_fold_on_its_held_out_subject_alone(tmp_path):
    """MSR-format files of training subjects 1, 3, 5 and test subject 2; folds [1, 3]: two
    runs, each tested on its held-out subject only (never on subject 2), the summary pooling
    both."""
    rng = np.random.default_rng(0)
    data = tmp_path / "msr"
    data.mkdir()
    for subject in (1, 2, 3, 5):
        for action in (1, 2, 3):
            _msr_file(data, action, subject, 1, rng)
    sweep = _write_msr_sweep(tmp_path, {"seeds": [0], "folds": [1, 3], "variants": {"a": {}}}, data)
    out = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["sweep", str(sweep), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    names = []
    for subject in (1, 3):
        with np.load(out / "a" / "seed0" / f"without{subject}" / "test_clips1.npz") as dump:
            tested = [str(name) for name in dump["names"]]
        assert sorted(tested) == [f"a{a:02d}_s{subject:02d}_e01_skeleton3D" for a in (1, 2, 3)]
        names += tested
    (variant,) = summarize(out)
    assert variant.seeds == [0] and variant.folds == ["without1", "without3"]
    assert variant.clips == 1 and len(names) == 6
