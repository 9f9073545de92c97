"""Fuzzing of every reader: mutated real and built files give samples or SkeletonDataError.

Each case is read in a sandbox process with a 1 GiB address-space limit and a time limit,
so a runaway allocation or a hang fails the case instead of the test run. The long run
is ``scripts/fuzz_readers.py``; these are its CI-sized, derandomized counterparts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzing.mutations import RandomChoices, mutate_files, replace_count
from fuzzing.sandbox import Sandbox
from fuzzing.targets import (
    REAL_DATA_TARGETS,
    TARGETS,
    Files,
    Target,
    run_case,
    seed_files,
)
from pyg_action.errors import SkeletonDataError

CASES_PER_READER = 60
BUILT_TARGETS = sorted(set(TARGETS) - set(REAL_DATA_TARGETS))


class HypothesisChoices:
    """Mutation decisions drawn by Hypothesis, so a failing case shrinks."""

    def __init__(self, data: st.DataObject) -> None:
        self._data = data

    def integer(self, low: int, high: int) -> int:
        return self._data.draw(st.integers(low, high))


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Callable[[str], Sandbox]]:
    """One sandbox process per reader, shared by the tests of this module."""
    pool: dict[str, Sandbox] = {}

    def get(name: str) -> Sandbox:
        if name not in pool:
            pool[name] = Sandbox(name, memory_mb=1024, timeout=20.0)
        return pool[name]

    yield get
    for box in pool.values():
        box.close()


def _fuzz(seeds: list[Files], box: Sandbox) -> None:
    assert seeds, "no seed files"

    @settings(
        max_examples=CASES_PER_READER,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.data())
    def case(data: st.DataObject) -> None:
        outcome = box.run(mutate_files(seeds, HypothesisChoices(data)))
        assert outcome.kind in ("accepted", "rejected"), f"{outcome.kind}:\n{outcome.detail}"

    case()


@pytest.mark.parametrize("name", REAL_DATA_TARGETS)
def test_mutated_real_files(name, shared_data, tmp_path, sandbox):
    _fuzz(seed_files(name, shared_data, tmp_path), sandbox(name))


@pytest.mark.parametrize("name", BUILT_TARGETS)
def test_mutated_built_files(name, tmp_path, sandbox):
    _fuzz(seed_files(name, None, tmp_path), sandbox(name))


@pytest.mark.parametrize("count", [b"1000000000000", b"9223372036854775808", b"2147483647"])
def test_huge_ntu_frame_count_allocates_nothing(shared_data, tmp_path, sandbox, count):
    (seed,) = seed_files("ntu", shared_data, tmp_path)[:1]
    name, raw = next(iter(seed.items()))
    hostile = count + raw[raw.index(b"\r\n") :]  # the first line is the frame count
    outcome = sandbox("ntu").run({name: hostile})
    assert outcome.kind == "rejected", outcome.detail
    assert outcome.peak_rss_mb < 300


def test_seeds_are_valid_and_mutations_reproducible(tmp_path):
    for name in BUILT_TARGETS:
        for seed in seed_files(name, None, tmp_path):
            assert run_case(TARGETS[name], seed, tmp_path).kind == "accepted"
    seeds = seed_files("stgcn", None, tmp_path)
    first = [mutate_files(seeds, RandomChoices("s")) for _ in range(3)]
    assert first == [mutate_files(seeds, RandomChoices("s")) for _ in range(3)]
    assert replace_count(b"25\r\n1 2\r\n", RandomChoices(0)) != b"25\r\n1 2\r\n"


def _raises(error: Exception) -> Callable[[Path], tuple[list, list]]:
    def read(path: Path) -> tuple[list, list]:
        raise error

    return read


def test_run_case_flags_contract_breaks(tmp_path):
    files = {"a.txt": b"x"}
    assert run_case(Target("t", _raises(KeyError("k"))), files, tmp_path).kind == "failed"
    nameless = SkeletonDataError("bad")  # names no file
    assert run_case(Target("t", _raises(nameless)), files, tmp_path).kind == "failed"
    named = SkeletonDataError("bad", tmp_path / "a.txt")
    assert run_case(Target("t", _raises(named)), files, tmp_path).kind == "rejected"
    (seed,) = seed_files("npz", None, tmp_path)[:1]
    wrong = Target("t", TARGETS["npz"].read, channels=4)  # a valid file, wrong expectations
    outcome = run_case(wrong, seed, tmp_path)
    assert outcome.kind == "failed" and "unexpected shape" in outcome.detail


def test_sandbox_reports_a_timeout_and_recovers(tmp_path):
    (seed,) = seed_files("pyskl", None, tmp_path)[:1]
    with Sandbox("pyskl", timeout=0.001) as box:
        assert box.run(seed).kind == "timeout"  # starting the process alone takes longer
        box.timeout = 60.0
        assert box.run(seed).kind == "accepted"


@pytest.mark.parametrize("name", BUILT_TARGETS)
def test_mutators_never_raise_on_a_sweep_of_seeds(name, tmp_path):
    seeds = seed_files(name, None, tmp_path)
    for seed in range(60):
        choices = RandomChoices(f"{seed}:{name}")
        for _ in range(25):
            mutate_files(seeds, choices)


def test_the_long_run_of_seed_77_mutates_pyskl_past_its_old_crash(tmp_path):
    # `fuzz_readers.py --seed 77` crashed in _mutate_array at pyskl case 3265 (a string
    # array cast to a complex dtype) and lost the tables of the readers already done
    seeds = seed_files("pyskl", None, tmp_path)
    choices = RandomChoices("77:pyskl")  # the stream the long run draws for pyskl
    for _ in range(3300):
        mutate_files(seeds, choices)


def test_mutated_string_arrays_stay_mutable():
    from fuzzing.mutations import _mutate_array

    for seed in range(40):
        out = _mutate_array(np.array(["x", "yz"]), RandomChoices(seed))
        assert isinstance(out, np.ndarray)


def _prints_system_error(path: Path) -> tuple[list, list]:
    print("SystemError: deallocated bytearray object has exported buffers", file=sys.stderr)
    return [], []


def test_run_case_counts_exceptions_printed_instead_of_raised(tmp_path):
    outcome = run_case(Target("t", _prints_system_error), {"a.txt": b"x"}, tmp_path)
    assert outcome.kind == "failed" and outcome.exceptions == ("SystemError",)
    named = SkeletonDataError("bad", tmp_path / "a.txt")
    assert run_case(Target("t", _raises(named)), {"a.txt": b"x"}, tmp_path).exceptions == (
        "SkeletonDataError",
    )


def test_long_run_counts_exception_types_and_survives_a_failing_mutator(monkeypatch, capsys):
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "scripts" / "fuzz_readers.py"
    spec = importlib.util.spec_from_file_location("fuzz_readers", script)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "fuzz_readers", module)
    spec.loader.exec_module(module)
    calls = iter(range(10**6))

    def flaky(seeds, choices):
        if next(calls) % 2:
            raise ValueError("could not convert string to float")
        return mutate_files(seeds, choices)

    monkeypatch.setattr(module, "mutate_files", flaky)
    code = module.main(["--cases", "6", "--readers", "npz", "pyskl", "--seed", "77"])
    out = capsys.readouterr().out
    assert code == 1  # the failing mutator is reported
    assert "| npz " in out and "| pyskl " in out  # both tables, the run went on
    assert out.count("mutator 3") == 2  # counted per reader among the exception types


def test_the_fuzzing_tooling_is_not_part_of_the_installed_package():
    import re
    from fnmatch import fnmatch

    import fuzzing

    repo = Path(__file__).resolve().parents[2]
    assert Path(fuzzing.__file__).resolve().parent == repo / "scripts" / "fuzzing"
    assert not list((repo / "pyg_action").rglob("fuzzing/*.py"))
    pyproject = (repo / "pyproject.toml").read_text()
    find = re.search(r"\[tool\.setuptools\.packages\.find\]\ninclude = \[(.*)\]", pyproject)
    assert find is not None, "the installed packages are listed in pyproject.toml"
    patterns = [p.strip().strip('"') for p in find.group(1).split(",")]
    assert patterns and not any(fnmatch("fuzzing", p) for p in patterns)
