"""Saved per-sample test scores: write, read back with checks, fuse and compare runs.

A score file (``pyg-action evaluate --dump``, every sweep run's ``test_clips<N>.npz``) is an
``.npz`` readable with ``allow_pickle=False``:

* ``logits`` float ``(N, K)``: the model's scores of each sample,
* ``labels`` int ``(N,)``: the true classes, in ``[0, K)``,
* ``names`` str ``(N,)``: the samples, in the order of the rows,
* ``class_names`` str ``(K,)``.

Runs of one test split can then be compared without their checkpoints: each run's top-1, a
weighted late fusion of their scores (:func:`~pyg_action.engine.ensemble.fuse_scores`), and,
per sample, the fraction of runs that classify it correctly,

.. math::

    r_n = \\frac{1}{R} \\sum_{i=1}^{R} [\\arg\\max_k z^{(i)}_{nk} = y_n],

which separates the samples every model misses (``r_n = 0``: a floor no fusion of these
models lifts) from those on which runs disagree (what fusion and seeds average out).

Two groups of runs of the same samples (a recipe's variant and the recipe, say) compare
sample by sample: the change of ``r_n`` says which samples a variant gains and loses, and
summed over a class or any other group of samples, ``Σ_{n ∈ G} r_n``, the samples of ``G``
each group's runs get right on average. Runs of the two groups that share a folder name (a
sweep's ``seed<k>``) pair up, so that the seed's own luck cancels in their difference.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

SCORE_KEYS = ("logits", "labels", "names", "class_names")


@dataclass(frozen=True)
class ScoreFile:
    """One run's scores on one split: ``logits (N, K)``, ``labels (N,)``, sample and class
    names, and the file they came from."""

    path: Path
    logits: Tensor
    labels: Tensor
    names: tuple[str, ...]
    class_names: tuple[str, ...]


def write_scores(metrics: dict[str, Any], path: str | Path) -> None:
    """Per-sample scores of an evaluation (``logits``, ``labels``, ``names`` and
    ``class_names`` of ``metrics``) as a score file."""
    np.savez(
        path,
        logits=metrics["logits"].float().cpu().numpy(),
        labels=metrics["labels"].cpu().numpy().astype(np.int64),
        names=np.array(metrics["names"], dtype=str),
        class_names=np.array(metrics["class_names"], dtype=str),
    )


def read_scores(path: str | Path) -> ScoreFile:
    """Read a score file, checking what it says before anything uses it.

    Raises:
        ValueError: naming ``path``: not a readable ``.npz`` without pickled objects, a key
            missing, wrong dimensions or dtypes, counts that disagree, a label outside the
            classes, a non-finite score or a sample name used twice.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in SCORE_KEYS if key not in archive.files]
            if missing:
                raise ValueError(f"it lacks {missing} (a score file has {list(SCORE_KEYS)})")
            arrays = {key: archive[key] for key in SCORE_KEYS}
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"score file {path}: {exc}") from exc
    logits, labels = arrays["logits"], arrays["labels"]
    names, classes = arrays["names"], arrays["class_names"]
    problem = None
    if logits.ndim != 2 or logits.dtype.kind != "f":
        problem = f"logits must be a 2-D float array, got {logits.dtype} {logits.shape}"
    elif labels.ndim != 1 or labels.dtype.kind not in "iu":
        problem = f"labels must be a 1-D integer array, got {labels.dtype} {labels.shape}"
    elif names.ndim != 1 or classes.ndim != 1 or "U" not in (names.dtype.kind + classes.dtype.kind):
        problem = "names and class_names must be 1-D string arrays"
    elif not (len(labels) == len(names) == logits.shape[0]) or logits.shape[1] != len(classes):
        problem = (
            f"{logits.shape[0]} rows of logits, {len(labels)} labels and {len(names)} names; "
            f"{logits.shape[1]} columns and {len(classes)} class names"
        )
    elif len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        problem = f"labels must lie in [0, {len(classes)}), found {labels.min()}..{labels.max()}"
    elif not np.isfinite(logits).all():
        row = int(np.nonzero(~np.isfinite(logits).all(axis=1))[0][0])
        problem = f"non-finite scores, first in row {row} ({names[row]})"
    elif len(set(names.tolist())) != len(names):
        twice = next(n for n, c in Counter(names.tolist()).items() if c > 1)
        problem = f"sample {twice!r} appears more than once"
    if problem is not None:
        raise ValueError(f"score file {path}: {problem}")
    return ScoreFile(
        path,
        torch.from_numpy(logits.astype(np.float32)),
        torch.from_numpy(labels.astype(np.int64)),
        tuple(str(n) for n in names),
        tuple(str(c) for c in classes),
    )


def check_same_samples(files: Sequence[ScoreFile]) -> None:
    """All files score the same samples, in the same order, with the same labels and classes.

    Raises:
        ValueError: naming the first file that differs from the first one, and how.
    """
    if not files:
        raise ValueError("no score files")
    first = files[0]
    for other in files[1:]:
        if other.class_names != first.class_names:
            why = "other class names"
        elif other.names != first.names:
            why = "other samples or another order"
        elif not torch.equal(other.labels, first.labels):
            row = int(torch.nonzero(other.labels != first.labels)[0])
            why = f"another label for {first.names[row]}"
        else:
            continue
        raise ValueError(f"score file {other.path} does not match {first.path}: {why}")


@dataclass(frozen=True)
class HardSample:
    """A sample with the fraction of runs that get it right and its most frequent wrong
    prediction (``None`` when no run gets it wrong)."""

    name: str
    label: str
    right: float
    usual_mistake: str | None


@dataclass(frozen=True)
class RunComparison:
    """Several runs' score files of the same samples, with each run's top-1 predictions
    ``(R, N)`` taken once. Build it with :meth:`of`."""

    files: tuple[ScoreFile, ...]
    predictions: Tensor

    @classmethod
    def of(cls, files: Sequence[ScoreFile]) -> RunComparison:
        """Raises ``ValueError`` (see :func:`check_same_samples`) unless all ``files`` hold
        the same samples in the same order."""
        check_same_samples(files)
        return cls(tuple(files), torch.stack([f.logits.argmax(dim=1) for f in files]))

    @property
    def labels(self) -> Tensor:
        return self.files[0].labels

    def top1(self) -> Tensor:
        """``(R,)`` float: each run's top-1 accuracy in percent."""
        return (self.predictions == self.labels).float().mean(dim=1) * 100

    def fraction_right(self) -> Tensor:
        """``(N,)`` float: per sample, the fraction of runs whose top-1 is right (``r_n``)."""
        return (self.predictions == self.labels).float().mean(dim=0)

    def right_counts(self) -> Tensor:
        """``(R + 1,)`` int: entry ``k`` counts the samples exactly ``k`` of the ``R`` runs
        classify correctly (entry 0: the floor no fusion lifts; entry ``R``: every run)."""
        right = (self.predictions == self.labels).sum(dim=0)
        return torch.bincount(right, minlength=len(self.files) + 1)

    def hard_samples(self, below: float = 0.5) -> list[HardSample]:
        """The samples that fewer than ``below`` of the runs get right, hardest first (ties
        by name)."""
        right = self.fraction_right()
        first = self.files[0]
        found = []
        for n in torch.nonzero(right < below).flatten().tolist():
            label = int(self.labels[n])
            wrong = [int(p) for p in self.predictions[:, n] if int(p) != label]
            usual = Counter(wrong).most_common(1)[0][0] if wrong else None
            found.append(
                HardSample(
                    first.names[n],
                    first.class_names[label],
                    float(right[n]),
                    None if usual is None else first.class_names[usual],
                )
            )
        return sorted(found, key=lambda s: (s.right, s.name))

    def confusions(self, top: int = 10) -> list[tuple[str, str, int]]:
        """The ``top`` most frequent (true class, predicted class, count) mistakes, summed
        over the runs."""
        run, sample = torch.nonzero(self.predictions != self.labels, as_tuple=True)
        pairs = zip(
            self.labels[sample].tolist(), self.predictions[run, sample].tolist(), strict=True
        )
        names = self.files[0].class_names
        return [(names[t], names[p], c) for (t, p), c in Counter(pairs).most_common(top)]


def sample_groups(names: Sequence[str], pattern: str) -> list[str]:
    """Each sample's group: the first capture group of the regular expression ``pattern``
    found in its name, or the whole match without groups (``_s(\\d+)_`` gives MSR Action3D's
    subject, ``P(\\d+)`` NTU's performer).

    Raises:
        ValueError: ``pattern`` is not a valid expression, or names the first sample it does
            not match.
    """
    try:
        expression = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"--group {pattern!r} is not a regular expression: {exc}") from exc
    groups = []
    for name in names:
        found = expression.search(name)
        if found is None:
            raise ValueError(f"--group {pattern!r} does not match sample {name!r}")
        groups.append(found.group(1) if expression.groups else found.group(0))
    return groups


@dataclass(frozen=True)
class GroupChange:
    """A group of samples (a class, a subject) with the number of them right per run, on
    average, in each of two groups of runs."""

    group: str
    samples: int
    right: float
    against: float

    @property
    def change(self) -> float:
        return self.right - self.against


def compare_groups(
    runs: RunComparison, against: RunComparison, groups: Sequence[str]
) -> list[GroupChange]:
    """Per group (one entry of ``groups`` per sample), ``Σ_{n ∈ G} r_n`` in ``runs`` and in
    ``against`` (pass the same runs twice for one side alone), in the order the groups first
    appear."""
    if len(groups) != len(runs.labels):
        raise ValueError(f"{len(groups)} groups for {len(runs.labels)} samples")
    right, other = runs.fraction_right(), against.fraction_right()
    members: dict[str, list[int]] = {}
    for n, key in enumerate(groups):
        members.setdefault(key, []).append(n)
    return [
        GroupChange(g, len(m), float(right[m].sum()), float(other[m].sum()))
        for g, m in members.items()
    ]


def paired_differences(runs: RunComparison, against: RunComparison) -> dict[str, float]:
    """``top-1(runs) − top-1(against)`` per folder name that holds exactly one file on each
    side (a sweep's ``seed<k>``), in the order of ``runs``; empty when none pairs up."""

    def by_folder(side: RunComparison) -> dict[str, float]:
        folders = Counter(f.path.parent.name for f in side.files)
        top1 = side.top1().tolist()
        return {
            f.path.parent.name: a
            for f, a in zip(side.files, top1, strict=True)
            if folders[f.path.parent.name] == 1
        }

    mine, theirs = by_folder(runs), by_folder(against)
    return {key: mine[key] - theirs[key] for key in mine if key in theirs}


def changed_samples(
    runs: RunComparison, against: RunComparison, top: int = 10
) -> list[tuple[str, str, float, float]]:
    """The ``top`` samples whose fraction of runs right changed most, as ``(name, class,
    r_n in runs, r_n in against)``, largest change first (ties by name); unchanged ones are
    left out."""
    right, other = runs.fraction_right(), against.fraction_right()
    first = runs.files[0]
    changed = [
        (first.names[n], first.class_names[int(runs.labels[n])], float(right[n]), float(other[n]))
        for n in torch.nonzero(right != other).flatten().tolist()
    ]
    return sorted(changed, key=lambda s: (-abs(s[2] - s[3]), s[0]))[:top]
