"""``pyg-action prepare`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from pyg_action.cli.main import cli
from pyg_action.io import write_npz
from pyg_action.sequence import SkeletonSequence


def test_prepare_msr_action3d_reports_the_zero_file(msr_cli_cache):
    out, result = msr_cli_cache
    assert result.exit_code == 0, result.output
    assert "good:   566 samples" in result.output
    assert "bad:    1" in result.output
    assert "a13_s09_e02_skeleton3D.txt: all coordinates are zero" in result.output
    assert (out / "frames.npy").is_file()


def test_strict_exits_with_1_on_bad_input(tmp_path):
    good = SkeletonSequence(np.ones((3, 4, 20, 1), np.float32), 0, "msr20", "good")
    zero = SkeletonSequence(np.zeros((3, 4, 20, 1), np.float32), 1, "msr20", "zero")
    write_npz(tmp_path / "data.npz", [good, zero])
    runner = CliRunner()
    args = ["prepare", str(tmp_path / "data.npz"), str(tmp_path / "out"), "--format", "npz"]
    relaxed = runner.invoke(cli, [*args, "-q"])
    assert relaxed.exit_code == 0 and "bad:    1" in relaxed.output
    strict = runner.invoke(cli, [*args, "-q", "--strict"])
    assert strict.exit_code == 1
    assert "data.npz: sample zero: all coordinates are zero" in strict.output


def test_layout_option_and_errors(tmp_path):
    sample = SkeletonSequence(np.ones((3, 4, 20, 1), np.float32), 0, "msr20", "s")
    write_npz(tmp_path / "data.npz", [sample])
    runner = CliRunner()
    ok = runner.invoke(
        cli, ["prepare", str(tmp_path), str(tmp_path / "o"), "--layout", "msr20", "-q"]
    )
    assert ok.exit_code == 0 and "good:   1 samples" in ok.output
    bad = runner.invoke(cli, ["prepare", str(tmp_path), str(tmp_path / "o"), "--layout", "nope"])
    assert bad.exit_code != 0 and "unknown layout" in bad.output
    missing = runner.invoke(cli, ["prepare", str(tmp_path / "none"), str(tmp_path / "o")])
    assert missing.exit_code == 2


def test_prepare_lists_the_files_it_does_not_read(tmp_path):
    """A folder's files of no per-sample format are named in the output and the report (the
    cache written inside the folder, hidden files and Kinetics label files excepted)."""
    sample = SkeletonSequence(np.ones((3, 4, 20, 1), np.float32), 0, "msr20", "s")
    write_npz(tmp_path / "data.npz", [sample])
    (tmp_path / "notes.md").write_text("recording notes")
    np.save(tmp_path / "joints.npy", np.zeros((1, 3, 4, 20, 1), np.float32))
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".DS_Store").write_text("x")
    (tmp_path / "kinetics_val_label.json").write_text("{}")
    runner = CliRunner()
    for _ in range(2):  # the second run finds the first run's cache inside the folder
        result = runner.invoke(cli, ["prepare", str(tmp_path), str(tmp_path / "o"), "-q"])
        assert result.exit_code == 0, result.output
        assert "good:   1 samples" in result.output
        assert "not read: 2 file(s) (a folder is searched for .skeleton, .json" in result.output
        assert "joints.npy" in result.output and "notes.md" in result.output
        assert "containers are read when named" in result.output
        for hidden in (".hidden", ".DS_Store", "_label.json", "frames.npy", "report.json"):
            assert hidden not in result.output
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert [Path(f).name for f in report["unread_files"]] == ["joints.npy", "notes.md"]
