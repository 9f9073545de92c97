"""Sweep files: recipe variants of one config, each trained over several seeds.

A sweep file names a base config, the seeds, overrides for every variant and the variants
themselves, each a mapping of dotted config key to value::

    base: ../msr_ctrgcn.yaml          # relative to the sweep file
    seeds: [0, 1, 2]
    set: [train.batch_size=16]        # optional, --set text applied to every variant
    folds: [1, 3, 5, 7, 9]            # optional: cross-validation inside the training subjects
    variants:
      baseline: {}
      epochs100: {train.epochs: 100}
      wide_rotation: {data.transforms.train: [pre_normalize, ...]}

A variant's value replaces what the config holds at its key (a list or a mapping as a whole),
as ``--set`` does. :func:`plan_sweep` builds and schema-checks the full config of every
(variant, seed), transform steps included, before anything trains, so a typo fails in
seconds, not after hours. A run's
config is, in order: the base file, the sweep's ``set``, the variant, the command line's
overrides, and ``train.seed``.

With ``folds`` every (variant, seed) is a cross-validation instead of one run: one run per
fold, each trained without the fold's training subjects and tested on them
(``data.holdout_subjects``, :func:`~pyg_action.data.splits.split_indices`), in
``<variant>/seed<k>/without<s>``. The protocol's test subjects take no part, so recipes can be
compared without ever scoring them; the summary pools each seed's out-of-fold predictions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from ..data.datasets import check_transforms_config
from .config import Override, load_config

#: A variant's name is a folder name: letters, digits, ``.``, ``_`` and ``-``.
VARIANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: What names a run's folder inside the sweep's folder: ``<variant>/seed<k>``.
SEED_FOLDER = re.compile(r"seed(-?\d+)")
#: What names a fold's run inside a seed's folder: ``without<s>[-<s>...]``.
FOLD_FOLDER = re.compile(r"without(\d+(?:-\d+)*)")
#: The config key a fold sets.
HOLDOUT_KEY = "data.holdout_subjects"


class SweepError(ValueError):
    """A sweep file or request that cannot run; the message names the sweep file."""


class SweepFile(BaseModel):
    """The schema of a sweep file."""

    model_config = ConfigDict(extra="forbid")

    base: StrictStr
    seeds: list[StrictInt] = Field(min_length=1)
    set: list[StrictStr] = Field(default_factory=list)
    folds: list[StrictInt | list[StrictInt]] | None = Field(default=None, min_length=2)
    variants: dict[StrictStr, dict[StrictStr, Any] | None] = Field(min_length=1)


@dataclass(frozen=True)
class Sweep:
    """A checked sweep file: its base config, seeds, shared overrides and variants."""

    path: Path
    base: Path
    seeds: tuple[int, ...]
    shared: tuple[str, ...]
    variants: dict[str, dict[str, Any]]
    folds: tuple[tuple[int, ...], ...] = ()


@dataclass(frozen=True)
class SweepRun:
    """One (variant, seed) of a sweep, or one fold of it: its folder and its full,
    schema-checked config (``fold``: the training subjects it holds out)."""

    variant: str
    seed: int
    folder: Path
    config: dict[str, Any]
    fold: tuple[int, ...] = ()


def fold_folder(fold: Sequence[int]) -> str:
    """The folder name of the fold holding out ``fold``: ``without3``, ``without3-5``."""
    return "without" + "-".join(str(subject) for subject in fold)


def read_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file (:class:`SweepError` naming the file otherwise)."""
    path = Path(path)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SweepError(f"cannot read sweep file {path}: {exc}") from None
    try:
        checked = SweepFile.model_validate(loaded)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise SweepError(f"sweep file {path}: {problems}") from None
    duplicates = sorted({seed for seed in checked.seeds if checked.seeds.count(seed) > 1})
    if duplicates:
        raise SweepError(f"sweep file {path}: seeds: {duplicates} listed more than once")
    for name, overrides in checked.variants.items():
        if not VARIANT_NAME.fullmatch(name):
            raise SweepError(
                f"sweep file {path}: variants.{name}: a variant's name is its folder's name: "
                "letters, digits, '.', '_' and '-'"
            )
        if "train.seed" in (overrides or {}):
            raise SweepError(
                f"sweep file {path}: variants.{name}: train.seed is set by the sweep's seeds"
            )
    folds = _folds(path, checked)
    base = path.parent / checked.base
    if not base.is_file():
        raise SweepError(f"sweep file {path}: its base config {base} does not exist")
    return Sweep(
        path=path,
        base=base,
        seeds=tuple(checked.seeds),
        shared=tuple(checked.set),
        variants={name: dict(value or {}) for name, value in checked.variants.items()},
        folds=folds,
    )


def _folds(path: Path, checked: SweepFile) -> tuple[tuple[int, ...], ...]:
    """The sweep's folds, each a tuple of subjects; a subject in two folds, an empty fold, or
    ``data.holdout_subjects`` set anywhere else is an error."""
    if checked.folds is None:
        return ()
    folds = tuple(
        (fold,) if isinstance(fold, int) else tuple(sorted(fold)) for fold in checked.folds
    )
    if any(not fold for fold in folds):
        raise SweepError(f"sweep file {path}: folds: a fold holds out no subject")
    subjects = [subject for fold in folds for subject in fold]
    repeated = sorted({subject for subject in subjects if subjects.count(subject) > 1})
    if repeated:
        raise SweepError(
            f"sweep file {path}: folds: subjects {repeated} are in more than one fold "
            "(each training subject is held out once)"
        )
    if any(_sets(text, HOLDOUT_KEY) for text in checked.set):
        raise SweepError(f"sweep file {path}: set: {HOLDOUT_KEY} is set by the sweep's folds")
    for name, overrides in checked.variants.items():
        if HOLDOUT_KEY in (overrides or {}):
            raise SweepError(
                f"sweep file {path}: variants.{name}: {HOLDOUT_KEY} is set by the sweep's folds"
            )
    return folds


def _sets(text: str, key: str) -> bool:
    """Whether the ``--set`` text ``text`` sets ``key``."""
    return text.split("=", 1)[0].strip() == key


def _describe(error: Any) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(the file)"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key (valid: {', '.join(SweepFile.model_fields)})"
    if error["type"] == "missing":
        return f"{key}: missing"
    return f"{key}: {error['msg']} (got {error['input']!r})"


def plan_sweep(
    sweep: Sweep,
    out: str | Path,
    overrides: Sequence[str] = (),
    only: Iterable[str] = (),
) -> list[SweepRun]:
    """Every (variant, seed) run of ``sweep`` with its folder ``out/<variant>/seed<k>`` and its
    full config, each built and checked against the schema; with folds, every fold of each
    (variant, seed) in ``out/<variant>/seed<k>/without<s>``.

    Args:
        sweep: The sweep (:func:`read_sweep`).
        out: The sweep's folder.
        overrides: ``--set`` text applied to every run after the variant's own overrides.
        only: Names of the variants to run (default: all).

    Raises:
        SweepError: An unknown variant in ``only``, ``train.seed`` (or, with folds,
            ``data.holdout_subjects``) in ``overrides``, or a config that does not match the
            schema or names a bad transform step (naming the variant).
    """
    only = list(only)
    unknown = [name for name in only if name not in sweep.variants]
    if unknown:
        raise SweepError(
            f"sweep file {sweep.path}: no variant {', '.join(map(repr, unknown))} "
            f"(variants: {', '.join(sweep.variants)})"
        )
    if any(_sets(text, "train.seed") for text in (*sweep.shared, *overrides)):
        raise SweepError(f"sweep file {sweep.path}: train.seed is set by the sweep's seeds")
    if sweep.folds and any(_sets(text, HOLDOUT_KEY) for text in overrides):
        raise SweepError(f"sweep file {sweep.path}: {HOLDOUT_KEY} is set by the sweep's folds")
    runs = []
    for name, variant in sweep.variants.items():
        if only and name not in only:
            continue
        steps: list[Override] = [*sweep.shared, *variant.items(), *overrides]
        for seed in sweep.seeds:
            folder = Path(out) / name / f"seed{seed}"
            for fold in sweep.folds or ((),):
                try:
                    held = [(HOLDOUT_KEY, list(fold))] if fold else []
                    config = load_config(sweep.base, [*steps, *held, ("train.seed", seed)])
                    check_transforms_config((config.get("data") or {}).get("transforms"))
                except ValueError as exc:
                    raise SweepError(f"sweep file {sweep.path}: variant {name!r}: {exc}") from None
                where = folder / fold_folder(fold) if fold else folder
                runs.append(SweepRun(name, seed, where, config, fold))
    return runs
