"""The summary of a sweep's folder: per variant, the held-out top-1 over its seeds.

Read from the run folders themselves (``<variant>/seed<k>/result.json`` and ``log.jsonl``), so
it can be rebuilt at any time, from a finished sweep or from one still partial: every variant
says how many seeds it has. Written as ``summary.json`` and ``summary.md``.

A cross-validated seed (a sweep with ``folds``: ``<variant>/seed<k>/without<s>/``, one run per
fold) counts as one: its top-1 is that of its out-of-fold predictions pooled, i.e. each fold's
weighted by the samples it tests (from the folds' ``test_clips<N>.npz``), its clip scores the
folds' concatenated, and its time the sum of its folds'.

Variants stopped before their last epoch (they trailed, and the machine was wanted for
others) compare at a window of epochs instead: with ``window = (a, b)`` every run whose log
reaches epoch ``b``, finished or not, contributes the mean held-out top-1 of its epochs
``a … b``, and each variant adds the mean ± sample standard deviation of those.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from .ensemble import fuse_scores
from .metrics import classification_metrics
from .scores import read_scores
from .sweep import FOLD_FOLDER, SEED_FOLDER, fold_folder
from .sweep_runner import MANIFEST
from .trainer import epoch_seconds, read_log, read_result


@dataclass
class VariantSummary:
    """One variant's finished seeds and the statistics of their final-epoch top-1 (%).

    ``std`` is the sample standard deviation (n - 1; ``None`` for one seed), ``best_top1_mean``
    the mean of each seed's best epoch, ``seconds_per_run`` the mean wall time of a run's
    epochs (from ``log.jsonl``; start-up not counted). ``unfinished`` are the seeds whose
    folder holds no ``result.json`` (failed, stopped or still training); ``problems`` the
    finished runs whose files could not be read. ``folds`` names the fold folders of a
    cross-validated variant (empty otherwise), whose seeds each pool their folds (module notes),
    and ``fold_top1`` gives each fold's final top-1 for every seed in ``seeds``.
    """

    variant: str
    seeds: list[int]
    top1: list[float]
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    best_top1_mean: float | None
    seconds_per_run: float | None
    expected_seeds: int | None
    unfinished: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    clips: int | None = None
    clip_top1: list[float] = field(default_factory=list)
    clip_mean: float | None = None
    clip_std: float | None = None
    fused_top1: float | None = None
    window: tuple[int, int] | None = None
    window_seeds: list[int] = field(default_factory=list)
    window_top1: list[float] = field(default_factory=list)
    window_mean: float | None = None
    window_std: float | None = None
    folds: list[str] = field(default_factory=list)
    fold_top1: dict[str, list[float]] = field(default_factory=dict)


def _seed_folders(variant: Path) -> list[tuple[int, Path]]:
    found = []
    for folder in variant.iterdir():
        match = SEED_FOLDER.fullmatch(folder.name)
        if match and folder.is_dir():
            found.append((int(match.group(1)), folder))
    return sorted(found)


CLIPS_DUMP = re.compile(r"test_clips(\d+)\.npz")


def clip_scores(folder: Path) -> tuple[int, torch.Tensor, torch.Tensor] | None:
    """``(clips, logits (N, K), labels (N,))`` of a run's most-clips evaluation dump
    (``test_clips<N>.npz``), or ``None`` when it has none."""
    dumps = [(int(m.group(1)), f) for f in folder.iterdir() if (m := CLIPS_DUMP.fullmatch(f.name))]
    if not dumps:
        return None
    clips, path = max(dumps)
    scores = read_scores(path)
    return clips, scores.logits, scores.labels


def _top1(scores: torch.Tensor, labels: torch.Tensor) -> float:
    return float(classification_metrics(scores, labels)["top1"])


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def window_top1(folder: Path, window: tuple[int, int]) -> float | None:
    """The mean held-out top-1 of a run's epochs ``a … b`` (``window``) from its
    ``log.jsonl``, or ``None`` when the log does not hold every one of them."""
    first, last = window
    if not (folder / "log.jsonl").is_file():
        return None
    top1 = {int(r["epoch"]): float(r["test_top1"]) for r in read_log(folder) if "test_top1" in r}
    epochs = range(first, last + 1)
    if any(epoch not in top1 for epoch in epochs):
        return None
    return statistics.fmean(top1[epoch] for epoch in epochs)


@dataclass
class _SeedOutcome:
    """A finished seed: final and best-epoch top-1 (%), the seconds of its epochs, its clip
    scores ``(clips, logits, labels)`` when dumped, and (cross-validated) each fold's final
    top-1."""

    final: float
    best: float
    seconds: float
    scores: tuple[int, torch.Tensor, torch.Tensor] | None
    fold_top1: list[float] = field(default_factory=list)


def _run_outcome(folder: Path, problems: list[str]) -> _SeedOutcome | None:
    """One finished run's outcome (``None``, with the problem noted, when its files cannot be
    read or hold a non-finite top-1)."""
    try:
        result = read_result(folder)
        final, best = float(result.final["top1"]), float(result.best["top1"])
        seconds = epoch_seconds(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(f"{folder}: {type(exc).__name__}: {exc}")
        return None
    if not (math.isfinite(final) and math.isfinite(best)):
        problems.append(f"{folder}: result.json holds a non-finite top-1")
        return None
    try:
        scores = clip_scores(folder)
    except (OSError, ValueError, KeyError) as exc:
        problems.append(f"{folder}: its clip scores cannot be read: {exc}")
        scores = None
    return _SeedOutcome(final, best, seconds, scores)


def fold_folders(seed: Path) -> list[Path]:
    """The fold runs of a cross-validated seed's folder (``without<s>``), by name."""
    return sorted(f for f in seed.iterdir() if f.is_dir() and FOLD_FOLDER.fullmatch(f.name))


def _pooled_outcome(folds: list[Path], problems: list[str]) -> _SeedOutcome | None:
    """A cross-validated seed: the out-of-fold scores of its folds concatenated, its top-1s the
    folds' weighted by their test samples, its seconds their sum (``None``, with the problem
    noted, when a fold cannot be read or has no scores)."""
    finished = [o for o in (_run_outcome(fold, problems) for fold in folds) if o is not None]
    if len(finished) < len(folds):
        return None
    dumped = [outcome.scores for outcome in finished if outcome.scores is not None]
    if len(dumped) < len(folds):
        problems.append(
            f"{folds[0].parent}: a fold has no test scores (test_clips<N>.npz); running the "
            "sweep again evaluates it"
        )
        return None
    if len({clips for clips, _, _ in dumped}) > 1:
        problems.append(f"{folds[0].parent}: its folds were evaluated with different clips")
        return None
    sizes = [len(labels) for _, _, labels in dumped]
    total = sum(sizes)
    return _SeedOutcome(
        final=sum(o.final * n for o, n in zip(finished, sizes, strict=True)) / total,
        best=sum(o.best * n for o, n in zip(finished, sizes, strict=True)) / total,
        seconds=sum(o.seconds for o in finished),
        fold_top1=[o.final for o in finished],
        scores=(
            dumped[0][0],
            torch.cat([logits for _, logits, _ in dumped]),
            torch.cat([labels for _, _, labels in dumped]),
        ),
    )


def summarize_variant(
    variant: Path,
    expected_seeds: int | None,
    window: tuple[int, int] | None = None,
    expected_folds: Sequence[str] = (),
) -> VariantSummary:
    """The summary of one variant's folder (with ``window``, also its epoch-window top-1).

    A seed folder holding fold runs (``without<s>``) is a cross-validation: its top-1 is the
    pooled out-of-fold top-1, and it is unfinished until every fold is, the folds being
    ``expected_folds`` (the sweep's, from its manifest) or else every fold folder any seed of
    the variant has.
    """
    seed_folders = _seed_folders(variant)
    fold_names = list(expected_folds) or sorted(
        {fold.name for _, folder in seed_folders for fold in fold_folders(folder)},
        key=_fold_order,
    )
    seeds, top1, best, seconds = [], [], [], []
    unfinished, problems = [], []
    in_window: list[tuple[int, float]] = []
    clip_runs: list[tuple[int, torch.Tensor, torch.Tensor]] = []
    per_fold: list[list[float]] = [[] for _ in fold_names]
    for seed, folder in seed_folders:
        folds = [folder / name for name in fold_names]
        if window is not None and folds:
            problems.append(f"{folder}: epoch windows are not computed for cross-validated seeds")
        elif window is not None:
            try:
                value = window_top1(folder, window)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                problems.append(f"{folder}: its log.jsonl cannot be read: {exc}")
                value = None
            if value is not None:
                in_window.append((seed, value))
        runs = folds or [folder]
        if not all((run / "result.json").is_file() for run in runs):
            unfinished.append(seed)
            continue
        outcome = _pooled_outcome(folds, problems) if folds else _run_outcome(folder, problems)
        if outcome is None:
            continue
        if outcome.scores is not None:
            clip_runs.append(outcome.scores)
        seeds.append(seed)
        top1.append(outcome.final)
        for values, value in zip(per_fold, outcome.fold_top1, strict=True):
            values.append(value)
        best.append(outcome.best)
        seconds.append(outcome.seconds)
    clip_top1 = [_top1(logits, labels) for _, logits, labels in clip_runs]
    fused = None
    counts = {clips for clips, _, _ in clip_runs}
    same_samples = all(torch.equal(run[2], clip_runs[0][2]) for run in clip_runs)
    if clip_runs and len(counts) == 1 and same_samples:
        logits = [logits for _, logits, _ in clip_runs]
        fused = _top1(fuse_scores(logits, [1.0] * len(logits), "softmax"), clip_runs[0][2])
    elif clip_runs:
        problems.append(f"{variant}: its runs were evaluated with different clips or samples")
    return VariantSummary(
        variant=variant.name,
        seeds=seeds,
        top1=top1,
        mean=_mean(top1),
        std=statistics.stdev(top1) if len(top1) > 1 else None,
        min=min(top1) if top1 else None,
        max=max(top1) if top1 else None,
        best_top1_mean=_mean(best),
        seconds_per_run=_mean(seconds),
        expected_seeds=expected_seeds,
        unfinished=unfinished,
        problems=problems,
        clips=max(counts) if counts else None,
        clip_top1=clip_top1,
        clip_mean=_mean(clip_top1),
        clip_std=statistics.stdev(clip_top1) if len(clip_top1) > 1 else None,
        fused_top1=fused,
        window=window,
        window_seeds=[seed for seed, _ in in_window],
        window_top1=[value for _, value in in_window],
        window_mean=_mean([value for _, value in in_window]),
        window_std=statistics.stdev(v for _, v in in_window) if len(in_window) > 1 else None,
        folds=fold_names,
        fold_top1=dict(zip(fold_names, per_fold, strict=True)),
    )


def _fold_order(name: str) -> list[int]:
    match = FOLD_FOLDER.fullmatch(name)
    return [int(part) for part in match.group(1).split("-")] if match else []


def summarize(out: str | Path, window: tuple[int, int] | None = None) -> list[VariantSummary]:
    """Every variant folder of the sweep folder ``out``, best mean first (variants without a
    finished seed last); ``window``: see the module notes."""
    out = Path(out)
    if not out.is_dir():
        raise ValueError(f"no sweep folder {out}")
    expected, folds = None, []
    if (out / MANIFEST).is_file():
        try:
            manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
            expected = len(manifest["seeds"])
            folds = [fold_folder(fold) for fold in manifest.get("folds", [])]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{out / MANIFEST} cannot be read: {exc}") from None
    variants = [
        summarize_variant(folder, expected, window, folds)
        for folder in sorted(out.iterdir())
        if folder.is_dir() and _seed_folders(folder)
    ]
    if not variants:
        raise ValueError(f"{out} holds no run folders (<variant>/seed<k>)")
    return sorted(variants, key=lambda v: (v.mean is None, -(v.mean or 0.0), v.variant))


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def summary_markdown(variants: list[VariantSummary]) -> str:
    """The summary as a Markdown table (top-1 in %, best mean first)."""
    with_clips = any(v.clips for v in variants)
    window = next((v.window for v in variants if v.window is not None), None)
    lines = [
        "| variant | seeds | top-1 mean ± sd | min | max | best-epoch top-1 mean "
        "| top-1 per seed | s/run |"
        + (" clips | clip top-1 mean ± sd | seeds fused |" if with_clips else "")
        + (f" epochs {window[0]}–{window[1]}: top-1 mean ± sd | per seed |" if window else ""),
        "|---|---|---|---|---|---|---|---|"
        + ("---|---|---|" if with_clips else "")
        + ("---|---|" if window else ""),
    ]
    for v in variants:
        count = f"{len(v.seeds)}/{v.expected_seeds}" if v.expected_seeds else str(len(v.seeds))
        spread = f"{_number(v.mean)} ± {_number(v.std)}" if v.mean is not None else "–"
        per_seed = ", ".join(f"{s}: {t:.2f}" for s, t in zip(v.seeds, v.top1, strict=True))
        lines.append(
            f"| {v.variant} | {count} | {spread} | {_number(v.min)} | {_number(v.max)} "
            f"| {_number(v.best_top1_mean)} | {per_seed or '–'} | {_number(v.seconds_per_run, 1)} |"
            + (_clip_cells(v) if with_clips else "")
            + (_window_cells(v) if window else "")
        )
    notes = [
        f"- {v.variant}: every seed's top-1 is the out-of-fold top-1 pooled over its folds "
        f"(cross-validation inside the training subjects); each fold's mean top-1: "
        + ", ".join(f"{name} {_number(_mean(v.fold_top1.get(name, [])))}" for name in v.folds)
        for v in variants
        if v.folds
    ]
    notes += [
        f"- {v.variant}: seeds {', '.join(map(str, v.unfinished))} not finished"
        for v in variants
        if v.unfinished
    ]
    notes += [f"- {problem}" for v in variants for problem in v.problems]
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def _clip_cells(v: VariantSummary) -> str:
    if v.clip_mean is None:
        return " – | – | – |"
    return (
        f" {v.clips} | {_number(v.clip_mean)} ± {_number(v.clip_std)} | {_number(v.fused_top1)} |"
    )


def _window_cells(v: VariantSummary) -> str:
    if v.window_mean is None:
        return " – | – |"
    per_seed = ", ".join(
        f"{s}: {t:.2f}" for s, t in zip(v.window_seeds, v.window_top1, strict=True)
    )
    return f" {_number(v.window_mean)} ± {_number(v.window_std)} | {per_seed} |"


def write_summary(out: str | Path, window: tuple[int, int] | None = None) -> str:
    """Summarize the sweep folder ``out`` into ``summary.json`` and ``summary.md``; returns
    the Markdown."""
    out = Path(out)
    variants = summarize(out, window)
    payload: dict[str, Any] = {"variants": [asdict(v) for v in variants]}
    (out / "summary.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    text = summary_markdown(variants)
    (out / "summary.md").write_text(text, encoding="utf-8")
    return text
