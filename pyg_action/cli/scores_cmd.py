"""``pyg-action scores``: compare and fuse saved per-sample test scores of several runs."""

from __future__ import annotations

import dataclasses
import glob
import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .options import parse_weights
from .tables import echo_accuracy_table

if TYPE_CHECKING:
    from ..engine.scores import GroupChange, RunComparison


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--weights", default=None, help="Comma-separated fusion weights, one per file.")
@click.option(
    "--fusion",
    type=click.Choice(["softmax", "logits"]),
    default="softmax",
    show_default=True,
    help="Sum probabilities or logits.",
)
@click.option(
    "--below",
    type=click.FloatRange(0, 1, max_open=False),
    default=0.5,
    show_default=True,
    help="List the samples that fewer than this fraction of the files get right.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write every number printed, and each sample's fraction right, to this file.",
)
@click.option(
    "--plots",
    "plot_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Also draw the fused confusion matrix (confusion.png) and how many samples each "
    "number of files gets right (runs_right.png) into this folder.",
)
@click.option(
    "--against",
    multiple=True,
    help="Score files of other runs of the same samples to compare FILES with (repeatable; "
    "a quoted pattern such as 'runs/x/base/seed*/test_clips1.npz' is expanded).",
)
@click.option(
    "--group",
    "group_pattern",
    default=None,
    help="A regular expression whose first group, found in every sample name, groups the "
    "samples (e.g. '_s(\\d+)_' for MSR Action3D's subjects): right answers per run by group.",
)
def scores(files, weights, fusion, below, json_path, plot_dir, against, group_pattern):
    """Each score file's accuracy, their late fusion, and the samples most of them miss.

    FILES are per-sample score dumps of one split (pyg-action evaluate --dump, a sweep run's
    test_clips<N>.npz), read without their checkpoints; all must hold the same samples in
    the same order. Prints each file's top-1, top-5 and mean-class accuracy, the weighted
    fusion of all files, how many samples every file / no file gets right, the samples fewer
    than --below of the files get right (with their most frequent wrong class), and the most
    frequent mistakes over all files. --plots draws the fused confusion matrix and a bar
    chart of the samples right in 0, 1, ..., all of the files.

    With --against, FILES are compared with those runs: mean top-1 of each side, the
    difference per folder both sides hold once (a sweep's seed<k>), the samples right per
    run by class (and by --group), and the samples whose fraction of runs right changed most.
    """
    from ..engine.ensemble import accuracy_summary, fuse_scores
    from ..engine.scores import (
        RunComparison,
        check_same_samples,
        compare_groups,
        read_scores,
        sample_groups,
    )

    values = parse_weights(weights, len(files), "score files")
    against_files = _expand(against)
    try:
        loaded = [read_scores(f) for f in files]
        others = [read_scores(f) for f in against_files]
        check_same_samples([*loaded, *others])
        groups = None if group_pattern is None else sample_groups(loaded[0].names, group_pattern)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    comparison = RunComparison.of(loaded)

    labels, right = comparison.labels, comparison.fraction_right()
    counts = comparison.right_counts()
    rows = [
        {"file": str(f.path), "weight": w, **accuracy_summary(f.logits, labels)}
        for f, w in zip(loaded, values, strict=True)
    ]
    fused_scores = fuse_scores([f.logits for f in loaded], values, fusion)
    fused = accuracy_summary(fused_scores, labels)
    hard = comparison.hard_samples(below)
    mistakes = comparison.confusions()

    click.echo(f"{len(labels)} samples, {len(loaded)} score files, {fusion} fusion")
    echo_accuracy_table(
        "file", [*((r["file"], r["weight"], r) for r in rows), ("fused", sum(values), fused)]
    )
    everywhere, nowhere = int(counts[-1]), int(counts[0])
    click.echo(
        f"right in every file: {everywhere}; in none: {nowhere}; "
        f"in fewer than {below:g} of them: {len(hard)}"
    )
    if hard:
        click.echo(f"{'sample':<28}{'label':<22}{'right':>7}  usual mistake")
        for s in hard:
            click.echo(f"{s.name:<28}{s.label:<22}{s.right:>7.2f}  {s.usual_mistake or '-'}")
    if mistakes:
        click.echo("most frequent mistakes, over all files:")
        for true, predicted, count in mistakes:
            click.echo(f"  {count:>5}  {true} -> {predicted}")
    compared = None
    if others:
        compared = _echo_comparison(comparison, RunComparison.of(others), groups, group_pattern)
    elif groups is not None:
        click.echo(f"right per run by --group '{group_pattern}' (samples, right):")
        for change in sorted(compare_groups(comparison, comparison, groups), key=_group_key):
            click.echo(f"  {change.group:<24}{change.samples:>6}{change.right:>9.2f}")
    if json_path is not None:
        report = {
            "files": rows,
            "fusion": fusion,
            "fused": fused,
            "right_in_every_file": everywhere,
            "right_in_no_file": nowhere,
            "below": below,
            "hard_samples": [dataclasses.asdict(s) for s in hard],
            "confusions": [{"true": t, "predicted": p, "count": c} for t, p, c in mistakes],
            "fraction_right": dict(zip(loaded[0].names, right.tolist(), strict=True)),
            "against": compared,
        }
        Path(json_path).write_text(json.dumps(report, indent=2))
    if plot_dir is not None:
        from ..engine.metrics import confusion_matrix
        from ..engine.plots import plot_confusion, plot_runs_right

        out = Path(plot_dir)
        out.mkdir(parents=True, exist_ok=True)
        classes = list(loaded[0].class_names)
        confusion = confusion_matrix(labels, fused_scores.argmax(dim=1), len(classes))
        title = f"{fusion} fusion of {len(loaded)} score files"
        plot_confusion(confusion, classes, out / "confusion.png", title)
        plot_runs_right(counts.numpy(), out / "runs_right.png")
        click.echo(f"wrote {out / 'confusion.png'} and {out / 'runs_right.png'}")


def _group_key(change: GroupChange) -> tuple[int, str]:
    """Groups in name order, numbers by value (``2`` before ``10``)."""
    name = change.group
    return (int(name), name) if name.isdigit() else (-1, name)


def _expand(patterns: Sequence[str]) -> list[str]:
    """The files of ``--against``: each value a file, or a pattern expanded in sorted order."""
    found = []
    for pattern in patterns:
        if glob.has_magic(pattern):
            matched = sorted(glob.glob(pattern))
            if not matched:
                raise click.BadParameter(f"no file matches {pattern!r}", param_hint="--against")
            found += matched
        elif not Path(pattern).is_file():
            raise click.BadParameter(f"{pattern!r} is not a file", param_hint="--against")
        else:
            found.append(pattern)
    return found


def _echo_comparison(
    runs: RunComparison, against: RunComparison, groups: list[str] | None, group_pattern: str
) -> dict[str, Any]:
    """Print FILES against the --against runs (see the command's help); the same numbers as
    a dictionary for --json (a standard deviation of one run is ``None``)."""
    from ..engine.scores import changed_samples, compare_groups, paired_differences

    def spread(values: list[float]) -> tuple[float, float | None]:
        sd = statistics.stdev(values) if len(values) > 1 else None
        return statistics.fmean(values), sd

    def shown(sd: float | None) -> str:
        return "-" if sd is None else f"{sd:.2f}"

    (mine, mine_sd), (theirs, theirs_sd) = (
        spread(runs.top1().tolist()),
        spread(against.top1().tolist()),
    )
    click.echo(
        f"against {len(against.files)} score files: top-1 {mine:.2f} ± {shown(mine_sd)} "
        f"({len(runs.files)} files) and {theirs:.2f} ± {shown(theirs_sd)}, "
        f"difference {mine - theirs:+.2f}"
    )
    paired = paired_differences(runs, against)
    if paired:
        mean, sd = spread(list(paired.values()))
        each = ", ".join(f"{k} {d:+.2f}" for k, d in paired.items())
        click.echo(f"paired by folder: {each}; mean {mean:+.2f} ± {shown(sd)}")
    first = runs.files[0]
    classes = [first.class_names[int(y)] for y in runs.labels]
    by_class = [r for r in compare_groups(runs, against, classes) if abs(r.change) > 1e-9]
    tables = {"class": sorted(by_class, key=lambda r: (r.change, r.group))}
    if groups is not None:
        by_group = compare_groups(runs, against, groups)
        tables[f"--group '{group_pattern}'"] = sorted(by_group, key=_group_key)
    for title, rows in tables.items():
        click.echo(f"right per run by {title} (samples, FILES, against, change):")
        for r in rows:
            click.echo(
                f"  {r.group:<24}{r.samples:>6}{r.right:>9.2f}{r.against:>9.2f}{r.change:>+9.2f}"
            )
    changed = changed_samples(runs, against)
    if changed:
        click.echo("samples whose fraction of runs right changed most (FILES, against):")
        for name, label, right, other in changed:
            click.echo(f"  {name:<28}{label:<22}{right:>6.2f}{other:>7.2f}")
    return {
        "files": [str(f.path) for f in against.files],
        "top1": {"files": mine, "files_sd": mine_sd, "against": theirs, "against_sd": theirs_sd},
        "paired": paired,
        "groups": {title: [dataclasses.asdict(r) for r in rows] for title, rows in tables.items()},
        "changed_samples": [
            {"name": n, "label": c, "right": r, "against": o} for n, c, r, o in changed
        ],
    }
