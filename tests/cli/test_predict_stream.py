"""`pyg-action export`, `predict --model-file` and streaming `predict --stream`."""

import re

import numpy as np
import pytest
from click.testing import CliRunner

from pyg_action.cli.main import cli
from pyg_action.engine.config import load_config
from pyg_action.engine.streaming import (
    StreamFormatError,
    latency_summary,
    read_text_frames,
    sliding_windows,
    stream_predictions,
)
from pyg_action.engine.trainer import train

TINY = [
    "model.channels=[8, 8]",
    "model.strides=[1, 2]",
    "data.num_samples=24",
    "train.epochs=1",
    "train.batch_size=8",
    "data.transforms={train: [pre_normalize, {name: uniform_sample, length: 8, mode: train}],"
    " test: [pre_normalize, {name: uniform_sample, length: 8}]}",
]
WINDOW_LINE = re.compile(r"^(\S+): frames (\d+)-(\d+): (\S+) \((0\.\d{3}|1\.000)\) (\d+\.\d) ms$")
SUMMARY_LINE = re.compile(r"^(\d+) windows, latency median \d+\.\d ms, p95 \d+\.\d ms$")
TWO_PERSONS = "S001C003P008R002A058.skeleton"  # NTU A058 (handshaking): two persons


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A checkpoint trained for one epoch and its TorchScript export."""
    out = tmp_path_factory.mktemp("stream")
    train(load_config(None, TINY, model="stgcn"), out, progress=False)
    runner = CliRunner()
    checkpoint, exported = str(out / "best.pt"), str(out / "model.ts")
    result = runner.invoke(cli, ["export", "--checkpoint", checkpoint, "--out", exported])
    assert result.exit_code == 0, result.output
    assert "input (B, C, T, V, M) = (1, 3, 8, 25, 2)" in result.output
    return checkpoint, exported


def _windows(output: str) -> list[tuple[int, int]]:
    matches = [WINDOW_LINE.match(line) for line in output.splitlines()]
    return [(int(m[2]), int(m[3])) for m in matches if m]


def _frame_lines(frames: int, seed: int = 0) -> list[str]:
    values = np.random.default_rng(seed).normal(size=(frames, 25 * 3))
    return [" ".join(f"{v:.4f}" for v in row) for row in values]


def test_model_file_predicts_like_the_checkpoint(run, shared_data):
    checkpoint, exported = run
    ntu = str(shared_data / "ntu_samples" / TWO_PERSONS)
    from_checkpoint = CliRunner().invoke(cli, ["predict", "--checkpoint", checkpoint, ntu])
    from_file = CliRunner().invoke(cli, ["predict", "--model-file", exported, ntu])
    assert from_file.exit_code == 0, from_file.output
    assert from_file.output.startswith("S001C003P008R002A058: synthetic_")
    assert from_file.output == from_checkpoint.output  # same labels, same rounded probabilities


def test_stream_over_a_real_file(run, shared_data):
    checkpoint, _ = run
    ntu = str(shared_data / "ntu_samples" / "S001C001P001R001A001.skeleton")  # 103 frames
    result = CliRunner().invoke(
        cli,
        ["predict", "--checkpoint", checkpoint, "--stream", "--window", "30", "--hop", "20", ntu],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert all(line.startswith("S001C001P001R001A001: frames ") for line in lines[:-1])
    # windows end every 20 frames from frame 30, and a last one ends at the last frame
    assert _windows(result.output) == [(0, 29), (20, 49), (40, 69), (60, 89), (73, 102)]
    assert SUMMARY_LINE.match(lines[-1])[1] == "5"


def test_stream_from_stdin_with_the_exported_model(run):
    _, exported = run
    text = "\n".join(_frame_lines(22)) + "\n\nignored after the blank line\n"
    result = CliRunner().invoke(
        cli,
        ["predict", "--model-file", exported, "--stream", "--window", "8", "--hop", "4", "-"],
        input=text,
    )
    assert result.exit_code == 0, result.output
    assert _windows(result.output) == [(0, 7), (4, 11), (8, 15), (12, 19), (14, 21)]
    assert all(line.startswith("stdin: ") for line in result.output.splitlines()[:-1])


def test_stdin_errors_name_the_line(run):
    checkpoint, _ = run
    lines = _frame_lines(12)
    lines[2] = lines[2].replace(" ", " x ", 1)
    args = ["predict", "--checkpoint", checkpoint, "--stream", "--window", "2", "--hop", "1", "-"]
    result = CliRunner().invoke(cli, args, input="\n".join(lines) + "\n")
    assert result.exit_code == 1
    assert "error: stdin: line 3: not a number" in result.output
    assert _windows(result.output) == [(0, 1)]  # frames before the bad line were classified
    short = CliRunner().invoke(cli, args, input="1 2 3\n")
    assert short.exit_code == 1 and "line 1: 3 numbers, expected a multiple of 75" in short.output
    assert "no window classified" in short.output


@pytest.mark.parametrize("bad", ["nan", "inf", "-Infinity"])
def test_stdin_rejects_non_finite_numbers_naming_the_line(run, bad):
    checkpoint, _ = run
    lines = _frame_lines(4)
    lines[1] = " ".join([bad, *lines[1].split()[1:]])
    args = ["predict", "--checkpoint", checkpoint, "--stream", "--window", "8", "--hop", "1", "-"]
    result = CliRunner().invoke(cli, args, input="\n".join(lines) + "\n")
    assert result.exit_code == 1, result.output
    assert f"error: stdin: line 2: non-finite value {bad!r}" in result.output
    assert "(nan)" not in result.output


@pytest.mark.parametrize("top", ["0", "-3"])
def test_top_must_be_positive(run, top):
    checkpoint, _ = run
    result = CliRunner().invoke(cli, ["predict", "--checkpoint", checkpoint, "--top", top, "-"])
    assert result.exit_code == 2 and "--top" in result.output
    assert "Traceback" not in result.output


def test_predict_option_checks(run):
    checkpoint, exported = run
    both = ["predict", "--checkpoint", checkpoint, "--model-file", exported, "-"]
    result = CliRunner().invoke(cli, both)
    assert result.exit_code == 2 and "exactly one of --checkpoint and --model-file" in result.output
    result = CliRunner().invoke(cli, ["predict", "--checkpoint", checkpoint, "-"], input="")
    assert result.exit_code == 2 and "needs --stream" in result.output
    result = CliRunner().invoke(cli, ["predict", "--model-file", checkpoint, checkpoint])
    assert result.exit_code == 1 and "not a TorchScript file" in result.output


def test_sliding_windows_bounds():
    frames = [np.full((3, 25, 1), t, dtype=np.float32) for t in range(10)]
    windows = list(sliding_windows(frames, window=4, hop=3))
    assert [start for start, _ in windows] == [0, 3, 6]  # ends at 4, 7, 10: no extra window
    start, data = windows[-1]
    assert data.shape == (3, 4, 25, 1) and data[0, :, 0, 0].tolist() == [6, 7, 8, 9]
    assert [s for s, _ in sliding_windows(frames[:9], 4, 3)] == [0, 3, 5]  # last ends at 9
    [(start, data)] = sliding_windows(frames[:3], 4, 3)  # shorter than one window
    assert start == 0 and data.shape[1] == 3
    with pytest.raises(ValueError, match=">= 1"):
        list(sliding_windows(frames, 4, 0))


def test_text_frames_are_read_lazily_and_checked():
    consumed = []

    def lines():
        for number, line in enumerate(_frame_lines(6), start=1):
            consumed.append(number)
            yield line

    calls = []

    def classify(sequences):
        calls.append((len(consumed), sequences[0].data.shape))
        return [[("a", 0.5)]]

    results = stream_predictions(read_text_frames(lines(), 25), classify, window=3, hop=2)
    first = next(results)
    assert (first.start, first.stop, first.label) == (0, 3, "a") and first.latency_ms >= 0
    assert calls == [(3, (3, 3, 25, 1))]  # classified after 3 of 6 lines were read
    assert [(r.start, r.stop) for r in results] == [(2, 5), (3, 6)]
    two_persons = "\n".join(" ".join(["1"] * 150) for _ in range(2))
    assert next(read_text_frames(two_persons.splitlines(), 25)).shape == (3, 25, 2)
    with pytest.raises(StreamFormatError, match="line 2: 1 persons, but the stream started with 2"):
        list(read_text_frames([" ".join(["1"] * 150), " ".join(["1"] * 75)], 25))
    summary = latency_summary([1.0, 2.0, 3.0, 4.0])
    assert summary == {"count": 4, "median": 2.5, "p95": pytest.approx(3.85)}
