"""``pyg-action sweep``: train recipe variants over several seeds, then summarize."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command()
@click.argument("sweep_file", type=click.Path(exists=True, dir_okay=False), required=False)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="The sweep's folder: runs go to OUT/<variant>/seed<k> (with folds, "
    "OUT/<variant>/seed<k>/without<s>).",
)
@click.option("--data", "data_path", default=None, help="Dataset root/file (sets data.root).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option(
    "--parallel",
    type=click.IntRange(min=1),
    default=None,
    help="Runs at once. Default: the number of usable CPUs // --threads.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="OMP_NUM_THREADS of every run.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Dotted config override for every run, applied after the variant's (repeatable).",
)
@click.option(
    "--only", multiple=True, metavar="VARIANT", help="Run only this variant (repeatable)."
)
@click.option(
    "--dry-run", is_flag=True, help="Check every run's config and list the runs; train nothing."
)
@click.option(
    "--summarize",
    "summarize_dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Only rebuild the summary of an existing sweep folder from its runs.",
)
@click.option(
    "--clips",
    type=click.IntRange(min=1),
    default=None,
    help="Also evaluate every run averaging this many temporal clips per test sequence "
    "(pyg-action evaluate --clips); the summary adds their top-1. A sweep with folds always "
    "evaluates (default 1 clip): its summary pools the folds' scores.",
)
@click.option(
    "--epochs",
    "window",
    default=None,
    metavar="A-B",
    callback=lambda ctx, param, value: _epoch_window(value),
    help="The summary also gives each variant's mean held-out top-1 over epochs A to B of every "
    "run that reached B, finished or stopped (to compare variants stopped early).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sweep(
    sweep_file,
    out_dir,
    data_path,
    device,
    parallel,
    threads,
    overrides,
    only,
    dry_run,
    summarize_dir,
    clips,
    window,
    quiet,
):
    """Train every variant of SWEEP_FILE with every seed, each run in its own process, and
    summarize the held-out top-1 per variant (mean ± sample standard deviation over seeds).
    With folds in SWEEP_FILE, every seed is a cross-validation inside the training subjects
    and its top-1 is the pooled out-of-fold top-1.

    Runs whose folder has result.json are skipped, so rerunning a stopped sweep continues
    it; a failing run does not stop the others, and the command fails at the end.
    """
    from ..engine.sweep import SweepError, plan_sweep, read_sweep
    from ..engine.sweep_runner import run_status, run_sweep, write_manifest

    if summarize_dir is not None:
        if sweep_file is not None or out_dir is not None:
            raise click.UsageError("--summarize takes a sweep folder alone (no SWEEP_FILE/--out)")
        _echo_summary(summarize_dir, window)
        return
    if sweep_file is None or out_dir is None:
        raise click.UsageError("give SWEEP_FILE and --out (or --summarize OUT)")
    extra = [*overrides, *([f"data.root={data_path}"] if data_path is not None else [])]
    try:
        plan = read_sweep(sweep_file)
        runs = plan_sweep(plan, out_dir, extra, only)
    except SweepError as exc:
        raise click.ClickException(str(exc)) from exc
    if plan.folds and clips is None:
        clips = 1  # the summary pools the folds' out-of-fold scores
    if dry_run:
        for run in runs:
            try:
                status = run_status(run)
            except ValueError as exc:
                status = f"refused: {exc}"
            fold = f" without {', '.join(map(str, run.fold))}" if run.fold else ""
            click.echo(f"{run.variant} seed {run.seed}{fold} -> {run.folder} ({status})")
        click.echo(f"{len(runs)} runs, every config checked; nothing trained (--dry-run)")
        return
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise click.ClickException("--device cuda asked for, but torch sees no CUDA device")
    at_once = parallel or max(1, _usable_cpus() // threads)
    click.echo(
        f"{len(runs)} runs into {out_dir}, at most {at_once} at once, {threads} thread(s) each"
    )
    write_manifest(plan, out_dir)
    outcomes = run_sweep(
        runs, device=device, threads=threads, parallel=at_once, progress=not quiet, clips=clips
    )
    skipped = sum(outcome.status == "done" for outcome in outcomes)
    if skipped:
        click.echo(f"{skipped} runs were finished before and kept")
    failed = [outcome for outcome in outcomes if outcome.status == "failed"]
    for outcome in failed:
        click.echo(f"failed: {outcome.run.folder}: {outcome.message}", err=True)
    _echo_summary(out_dir, window)
    if failed:
        raise click.ClickException(
            f"{len(failed)} of {len(runs)} runs failed (their stderr.log is in their folder)"
        )


def _usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _epoch_window(value: str | None) -> tuple[int, int] | None:
    """``"A-B"`` as ``(A, B)`` with ``1 <= A <= B``."""
    if value is None:
        return None
    first, dash, last = value.partition("-")
    if dash and first.strip().isdigit() and last.strip().isdigit():
        window = int(first), int(last)
        if 1 <= window[0] <= window[1]:
            return window
    raise click.BadParameter(f"{value!r} is not A-B with 1 <= A <= B", param_hint="--epochs")


def _echo_summary(out_dir: str, window: tuple[int, int] | None = None) -> None:
    """Write the sweep folder's summary files and print its table."""
    from ..engine.sweep_summary import write_summary

    try:
        text = write_summary(out_dir, window)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(text, nl=False)
    click.echo(f"summary.json and summary.md in {Path(out_dir)}")
