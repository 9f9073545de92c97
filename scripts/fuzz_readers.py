"""Fuzz every reader with mutated real files: the long run behind the CI fuzz tests.

Each case picks a valid seed file (real recordings from the shared data folder for
NTU, Kinetics and MSR; files built with the library's writers for npz, ST-GCN arrays and
pyskl pickles), applies 1-3 mutations from :mod:`fuzzing.mutations` (``scripts/fuzzing``) and
reads it in a child process limited to ``--memory-mb`` of address space and
``--timeout`` seconds per case. A reader may accept the case (valid finite samples) or
reject it with SkeletonDataError; anything else is counted as a failure. Every exception
type seen is counted, including those CPython prints instead of raising; a mutator that
fails is counted as a ``mutator`` case and the run goes on, and the tables of the readers
done are printed even when the run is interrupted.

Example::

    OMP_NUM_THREADS=1 nice -n 10 python scripts/fuzz_readers.py --cases 10000 --seed 0
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from fuzzing.mutations import RandomChoices, mutate_files
from fuzzing.sandbox import Sandbox
from fuzzing.targets import TARGETS, Outcome, seed_files

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BAD_KINDS = ("failed", "timeout", "crashed", "mutator")


@dataclass
class Report:
    """Counts for one reader."""

    reader: str
    kinds: Counter[str] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    slowest: float = 0.0
    peak_rss_mb: float = 0.0
    examples: list[str] = field(default_factory=list)

    def row(self) -> str:
        """One line of the result table."""
        k = self.kinds
        bad = " ".join(f"{kind}={k[kind]}" for kind in BAD_KINDS if k[kind]) or "0"
        return (
            f"| {self.reader:<15} | {k.total():>6} | {k['accepted']:>8} | {k['rejected']:>8} "
            f"| {bad:<14} | {self.slowest:>9.3f} | {self.peak_rss_mb:>8.0f} |"
        )


def fuzz_reader(
    name: str, seeds: list[dict[str, bytes]], args: argparse.Namespace, shown: int
) -> Report:
    """Run ``args.cases`` mutated cases of ``seeds`` through reader ``name`` (or, with
    ``args.minutes``, as many as fit in the reader's share of that time)."""
    report = Report(name)
    choices = RandomChoices(f"{args.seed}:{name}")
    cases: Iterable[int] = range(args.cases)
    if args.minutes is not None:
        cases = itertools.count()
        deadline = time.monotonic() + 60 * args.minutes / len(args.readers)
    with Sandbox(name, memory_mb=args.memory_mb, timeout=args.timeout) as sandbox:
        progress = tqdm(cases, desc=f"{name:<15}", unit="case", mininterval=1.0)
        for case in progress:
            if args.minutes is not None and time.monotonic() > deadline:
                break
            try:
                files = mutate_files(seeds, choices)
            except Exception:  # noqa: BLE001 - a mutator bug is counted, never ends the run
                outcome = Outcome("mutator", 0.0, traceback.format_exc(), exceptions=("mutator",))
            else:
                outcome = sandbox.run(files)
            report.kinds[outcome.kind] += 1
            report.exceptions.update(outcome.exceptions)
            report.slowest = max(report.slowest, outcome.seconds)
            if outcome.kind in BAD_KINDS and len(report.examples) < shown:
                report.examples.append(f"case {case} ({outcome.kind}):\n{outcome.detail}")
            progress.set_postfix(bad=sum(report.kinds[k] for k in BAD_KINDS), refresh=False)
        report.peak_rss_mb = sandbox.peak_rss_mb
    return report


def main(argv: list[str] | None = None) -> int:
    """Fuzz the chosen readers; exit code 1 when any case failed, hung or crashed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases per reader")
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="run for this long instead, shared equally by the readers",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the mutations")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds allowed per case")
    parser.add_argument("--memory-mb", type=int, default=1024, help="address-space limit")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="real data folder")
    parser.add_argument("--readers", nargs="+", choices=sorted(TARGETS), default=list(TARGETS))
    parser.add_argument("--show", type=int, default=3, help="tracebacks shown per reader")
    args = parser.parse_args(argv)

    reports = []
    try:
        with tempfile.TemporaryDirectory(prefix="fuzz-seeds-") as scratch:
            for name in args.readers:
                seeds = seed_files(name, args.data if args.data.is_dir() else None, Path(scratch))
                if not seeds:
                    print(f"{name}: no seed files under {args.data}; skipped", file=sys.stderr)
                    continue
                reports.append(fuzz_reader(name, seeds, args, args.show))
    finally:  # an interrupted run still prints the tables of the readers done
        _print_tables(reports, args)
    return 1 if any(r.kinds[k] for r in reports for k in BAD_KINDS) else 0


def _print_tables(reports: list[Report], args: argparse.Namespace) -> None:
    """The result table, the exception types seen and the examples of bad cases."""

    cases = f"{args.minutes} minutes in all" if args.minutes is not None else args.cases
    print(f"\ncases per reader: {cases}, seed {args.seed}, timeout {args.timeout} s, "
          f"memory limit {args.memory_mb} MiB")  # fmt: skip
    print("| reader          |  cases | accepted | rejected | other          | slowest s "
          "| peak MiB |")  # fmt: skip
    print("|-----------------|--------|----------|----------|----------------|-----------"
          "|----------|")  # fmt: skip
    for report in reports:
        print(report.row())
    print("\nexception types seen (raised, reported per sample or printed), per reader:")
    for report in reports:
        seen = ", ".join(f"{name} {count}" for name, count in report.exceptions.most_common())
        print(f"  {report.reader}: {seen or 'none'}")
    for report in reports:
        for example in report.examples:
            print(f"\n--- {report.reader}, {example}")


if __name__ == "__main__":
    sys.exit(main())
