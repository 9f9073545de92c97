"""The hostile-input corpus: every hand-made hostile file, of every format and the prepared
cache, ends in the project's own error naming the file (and its line, frame or sample), with
no traceback, nothing run, under 1 GiB of memory; ``prepare`` keeps every good sample beside
them and lists every other entry.

The corpus is read in a child process so that its peak memory is measured alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fuzzing.corpus import CASE_FORMATS, hostile_corpus

REPO = Path(__file__).resolve().parents[2]

_CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from click.testing import CliRunner
    from pyg_action.cli.main import cli
    from fuzzing.corpus import check_prepare, hostile_corpus, judge_case

    root = Path(sys.argv[1])
    marker = root / "ran"
    cases = hostile_corpus(marker)
    problems = []
    for case in cases:
        folder = root / "read" / case.name
        folder.mkdir(parents=True)
        problem = judge_case(case, folder)
        if problem:
            problems.append(f"{case.name}: {problem}")
        if case.is_cache:
            continue
        target = folder / next(iter(case.files))
        result = CliRunner().invoke(cli, ["inspect", str(target), "--limit", "1"])
        named = any(str(folder / name) in result.output for name in case.files)
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        if crashed or "Traceback" in result.output or not named or (
            not case.good and result.exit_code != 1
        ):
            problems.append(f"{case.name}: inspect: {result.exit_code} {result.output[-300:]}")
    problems += check_prepare(cases, root / "prepare")
    status = Path("/proc/self/status").read_text()
    peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
    print(json.dumps({"problems": problems, "ran": marker.exists(), "peak_mib": peak}))
    """
)


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={
            "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "scripts")]),
            "OMP_NUM_THREADS": "1",
            "PATH": "/usr/bin:/bin",
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_corpus_covers_every_format_with_at_least_100_files(tmp_path):
    cases = hostile_corpus(tmp_path / "ran")
    assert len(cases) >= 100
    assert sum(len(case.files) for case in cases) >= 100
    formats = {case.format for case in cases}
    assert formats == {*CASE_FORMATS.values(), "cache"}
    assert all(sum(case.format == f for case in cases) >= 10 for f in formats)


def test_every_hostile_file_ends_in_a_named_error_and_prepare_keeps_the_good(corpus_run):
    assert corpus_run["problems"] == []


def test_no_hostile_file_runs_anything(corpus_run):
    assert corpus_run["ran"] is False


def test_reading_the_corpus_stays_under_1_gib(corpus_run):
    # the 120-byte pickle of a (1, 10000, 25, 3000) array took 4 GB, the 12 MB NTU file of
    # 4,000,000 empty frames 3.9 GB; the process itself (torch imported) takes about 330 MiB
    assert corpus_run["peak_mib"] < 1024
