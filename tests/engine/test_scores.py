"""Score files: written and read back with checks, compared and fused (``pyg-action scores``)."""

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from pyg_action.cli.main import cli
from pyg_action.engine.ensemble import fuse_scores
from pyg_action.engine.scores import (
    RunComparison,
    check_same_samples,
    read_scores,
    write_scores,
)

CLASSES = ["wave", "clap", "kick"]
NAMES = ["s0", "s1", "s2", "s3"]
LABELS = [0, 1, 2, 0]
# three runs' predictions of the four samples: s0 right in all, s1 in two, s2 in one, s3 in none
PREDICTIONS = [[0, 1, 2, 1], [0, 1, 0, 2], [0, 0, 0, 1]]


def dump(path: Path, predictions, labels=LABELS, names=NAMES, margin: float = 3.0) -> Path:
    logits = torch.zeros(len(predictions), len(CLASSES))
    logits[torch.arange(len(predictions)), torch.tensor(predictions)] = margin
    metrics = {
        "logits": logits,
        "labels": torch.tensor(labels),
        "names": names,
        "class_names": CLASSES,
    }
    write_scores(metrics, path)
    return path


@pytest.fixture
def runs(tmp_path):
    return [dump(tmp_path / f"run{i}.npz", p) for i, p in enumerate(PREDICTIONS)]


def test_write_then_read_keeps_every_field(tmp_path):
    scores = read_scores(dump(tmp_path / "a.npz", PREDICTIONS[0]))
    assert scores.names == tuple(NAMES) and scores.class_names == tuple(CLASSES)
    assert scores.labels.tolist() == LABELS and scores.logits.dtype == torch.float32
    assert RunComparison.of([scores]).fraction_right().tolist() == [1, 1, 1, 0]


def test_fraction_right_hard_samples_and_confusions(runs):
    comparison = RunComparison.of([read_scores(p) for p in runs])
    assert comparison.fraction_right().tolist() == pytest.approx([1, 2 / 3, 1 / 3, 0])
    assert comparison.right_counts().tolist() == [1, 1, 1, 1]
    # the first two runs: s0 and s1 right in both, s2 in one, s3 in none
    assert RunComparison.of([read_scores(p) for p in runs[:2]]).right_counts().tolist() == [1, 1, 2]
    hard = comparison.hard_samples(below=0.5)
    assert [(s.name, s.right) for s in hard] == [("s3", 0.0), ("s2", pytest.approx(1 / 3))]
    assert hard[0].label == "wave" and hard[0].usual_mistake == "clap"  # clap twice, kick once
    assert hard[1].usual_mistake == "wave"
    assert [s.name for s in comparison.hard_samples(below=1.0)] == ["s3", "s2", "s1"]
    # mistakes over the runs: s3 -> clap twice, s2 -> wave twice, s3 -> kick, s1 -> wave
    assert comparison.confusions(top=2) == [("wave", "clap", 2), ("kick", "wave", 2)]
    assert sum(c for *_, c in comparison.confusions()) == 6


def test_runs_of_other_samples_are_refused_naming_the_file(tmp_path, runs):
    first = read_scores(runs[0])
    other_order = read_scores(dump(tmp_path / "order.npz", [0, 1, 2, 1], names=NAMES[::-1]))
    other_label = read_scores(dump(tmp_path / "label.npz", [0, 1, 2, 1], labels=[0, 1, 2, 1]))
    for other, why in [(other_order, "order"), (other_label, "another label for s3")]:
        with pytest.raises(ValueError, match=f"{other.path.name}.*{why}"):
            check_same_samples([first, other])


def _archive(path: Path, **arrays) -> Path:
    good = {
        "logits": np.zeros((2, 3), np.float32),
        "labels": np.array([0, 2]),
        "names": np.array(["a", "b"]),
        "class_names": np.array(CLASSES),
    }
    np.savez(path, **{**good, **arrays})
    return path


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"logits": np.zeros(3, np.float32)}, "logits must be a 2-D float array"),
        ({"labels": np.array([0.0, 1.0])}, "labels must be a 1-D integer array"),
        ({"labels": np.array([0, 3])}, r"labels must lie in \[0, 3\)"),
        ({"names": np.array(["a", "b", "c"])}, "2 rows of logits, 2 labels and 3 names"),
        ({"names": np.array(["a", "a"])}, "sample 'a' appears more than once"),
        ({"logits": np.array([[0, 0, 0], [0, np.nan, 0]], np.float32)}, r"row 1 \(b\)"),
        ({"names": np.array([{"x": 1}, {"y": 2}], dtype=object)}, "allow_pickle=False"),
    ],
)
def test_a_bad_score_file_is_named_with_what_is_wrong(tmp_path, arrays, message):
    path = _archive(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=f"score file .*bad.npz: .*{message}"):
        read_scores(path)


def test_missing_keys_and_non_archives_are_named(tmp_path):
    np.savez(tmp_path / "few.npz", logits=np.zeros((1, 1), np.float32))
    with pytest.raises(ValueError, match=r"few.npz: it lacks \['labels', 'names', 'class_names'\]"):
        read_scores(tmp_path / "few.npz")
    (tmp_path / "text.npz").write_text("not an archive")
    with pytest.raises(ValueError, match="score file .*text.npz"):
        read_scores(tmp_path / "text.npz")


def test_scores_command_prints_each_file_the_fusion_and_the_hard_samples(tmp_path, runs):
    report = tmp_path / "report.json"
    result = CliRunner().invoke(
        cli, ["scores", *map(str, runs), "--weights", "1,1,2", "--json", str(report)]
    )
    assert result.exit_code == 0, result.output
    files = [read_scores(p) for p in runs]
    fused = fuse_scores([f.logits for f in files], [1, 1, 2], "softmax").argmax(1)
    expected = float((fused == files[0].labels).float().mean() * 100)
    written = json.loads(report.read_text())
    assert written["fused"]["top1"] == pytest.approx(expected, abs=1e-3)
    assert [row["top1"] for row in written["files"]] == [75.0, 50.0, 25.0]
    assert written["right_in_every_file"] == 1 and written["right_in_no_file"] == 1
    assert [s["name"] for s in written["hard_samples"]] == ["s3", "s2"]
    assert written["fraction_right"]["s1"] == pytest.approx(2 / 3)
    assert f"{expected:.2f}%" in result.output and "s3" in result.output
    assert "wave -> clap" in result.output


def test_scores_command_draws_the_fused_confusion_and_the_runs_right(tmp_path, runs):
    out = tmp_path / "plots"
    result = CliRunner().invoke(cli, ["scores", *map(str, runs), "--plots", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("confusion.png", "runs_right.png"):
        image = plt.imread(out / name)
        assert image.ndim == 3 and min(image.shape[:2]) > 100, name
        assert image[..., :3].std() > 0.05, f"{name} is blank"


def test_scores_command_names_the_mismatching_file_and_bad_weights(tmp_path, runs):
    other = dump(tmp_path / "other.npz", [0, 1, 2, 1], names=["s0", "s1", "s2", "x"])
    result = CliRunner().invoke(cli, ["scores", str(runs[0]), str(other)])
    assert result.exit_code == 1 and "other.npz does not match" in result.output
    result = CliRunner().invoke(cli, ["scores", *map(str, runs), "--weights", "1,2"])
    assert result.exit_code == 2 and "2 weights for 3 score files" in result.output
    for bad in ("1,-1,1", "0,0,0", "1,nan,1"):
        result = CliRunner().invoke(cli, ["scores", *map(str, runs), "--weights", bad])
        assert result.exit_code == 2 and "finite and >= 0, not all 0" in result.output


# a variant's runs and the recipe's, one per seed folder, of six samples of subjects 1 and 2
SUBJECT_NAMES = ["a1_s01", "a2_s01", "a3_s01", "a1_s02", "a2_s02", "a3_s02"]
SUBJECT_LABELS = [0, 1, 2, 0, 1, 2]
VARIANT = {"seed0": [0, 1, 2, 0, 1, 2], "seed1": [0, 1, 2, 0, 0, 2], "seed2": [0, 1, 0, 0, 1, 2]}
RECIPE = {"seed0": [0, 1, 2, 1, 0, 2], "seed1": [0, 1, 2, 1, 1, 0], "seed2": [0, 1, 0, 0, 0, 1]}


def sweep_runs(root: Path, predictions: dict[str, list[int]]) -> list[Path]:
    paths = []
    for seed, predicted in predictions.items():
        (root / seed).mkdir(parents=True)
        path = root / seed / "test_clips1.npz"
        paths.append(dump(path, predicted, SUBJECT_LABELS, SUBJECT_NAMES))
    return paths


def test_scores_against_other_runs_pairs_seeds_and_counts_by_class_and_group(tmp_path):
    variant = sweep_runs(tmp_path / "variant", VARIANT)
    sweep_runs(tmp_path / "recipe", RECIPE)
    report = tmp_path / "report.json"
    pattern = str(tmp_path / "recipe" / "seed*" / "test_clips1.npz")
    args = ["scores", *map(str, variant), "--against", pattern, "--group", r"_s(\d+)"]
    result = CliRunner().invoke(cli, [*args, "--json", str(report)])
    assert result.exit_code == 0, result.output
    against = json.loads(report.read_text())["against"]
    # right answers per seed: variant 6, 5, 5 of 6; recipe 4, 4, 3
    assert against["top1"]["files"] == pytest.approx(100 * 16 / 18)
    assert against["top1"]["against"] == pytest.approx(100 * 11 / 18)
    assert against["paired"] == pytest.approx(
        {"seed0": 100 * 2 / 6, "seed1": 100 * 1 / 6, "seed2": 100 * 2 / 6}
    )
    by_class = {r["group"]: [r["right"], r["against"]] for r in against["groups"]["class"]}
    # wave: 6 right of 6 against 4; clap 5 against 4; kick 5 against 3 (two samples, three runs)
    expected = {"wave": [2, 4 / 3], "clap": [5 / 3, 4 / 3], "kick": [5 / 3, 1]}
    assert by_class.keys() == expected.keys()
    for name, values in expected.items():
        assert by_class[name] == pytest.approx(values), name
    by_subject = against["groups"][r"--group '_s(\d+)'"]
    assert [(r["group"], r["samples"]) for r in by_subject] == [("01", 3), ("02", 3)]
    assert [r["right"] for r in by_subject] == pytest.approx([8 / 3, 8 / 3])
    assert [r["against"] for r in by_subject] == pytest.approx([8 / 3, 1])
    changed = against["changed_samples"]
    assert (changed[0]["name"], changed[0]["label"]) == ("a1_s02", "wave")
    assert [changed[0]["right"], changed[0]["against"]] == pytest.approx([1, 1 / 3])
    assert "a1_s01" not in {c["name"] for c in changed}  # right in every run of both
    assert "paired by folder: seed0 +33.33, seed1 +16.67, seed2 +33.33" in result.output


def test_scores_groups_alone_and_bad_against_or_group_are_named(tmp_path):
    variant = sweep_runs(tmp_path / "variant", VARIANT)
    result = CliRunner().invoke(cli, ["scores", *map(str, variant), "--group", r"_s(\d+)"])
    assert result.exit_code == 0, result.output
    assert "right per run by --group" in result.output and "02" in result.output
    missing = str(tmp_path / "nothing" / "seed*" / "x.npz")
    result = CliRunner().invoke(cli, ["scores", str(variant[0]), "--against", missing])
    assert result.exit_code == 2 and "no file matches" in result.output
    result = CliRunner().invoke(cli, ["scores", str(variant[0]), "--group", r"_p(\d+)"])
    assert result.exit_code == 1 and "does not match sample 'a1_s01'" in result.output
    result = CliRunner().invoke(cli, ["scores", str(variant[0]), "--group", "(unclosed"])
    assert result.exit_code == 1 and "not a regular expression" in result.output
    other = dump(tmp_path / "other.npz", [0, 1, 2, 1])
    result = CliRunner().invoke(cli, ["scores", str(variant[0]), "--against", str(other)])
    assert result.exit_code == 1 and "other.npz does not match" in result.output
