"""Sweep files: recipe variants of one config, each trained over several seeds.

A sweep file names a base config, the seeds, overrides for every variant and the variants
themselves, each a mapping of dotted config key to value::

    base: ../msr_ctrgcn.yaml          # relative to the sweep file
    seeds: [0, 1, 2]
    set: [train.batch_size=16]        # optional, --set text applied to every variant
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


class SweepError(ValueError):
    """A sweep file or request that cannot run; the message names the sweep file."""


class SweepFile(BaseModel):
    """The schema of a sweep file."""

    model_config = ConfigDict(extra="forbid")

    base: StrictStr
    seeds: list[StrictInt] = Field(min_length=1)
    set: list[StrictStr] = Field(default_factory=list)
    variants: dict[StrictStr, dict[StrictStr, Any] | None] = Field(min_length=1)


@dataclass(frozen=True)
class Sweep:
    """A checked sweep file: its base config, seeds, shared overrides and variants."""

    path: Path
    base: Path
    seeds: tuple[int, ...]
    shared: tuple[str, ...]
    variants: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class SweepRun:
    """One (variant, seed) of a sweep: its folder and its full, schema-checked config."""

    variant: str
    seed: int
    folder: Path
    config: dict[str, Any]


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
    base = path.parent / checked.base
    if not base.is_file():
        raise SweepError(f"sweep file {path}: its base config {base} does not exist")
    return Sweep(
        path=path,
        base=base,
        seeds=tuple(checked.seeds),
        shared=tuple(checked.set),
        variants={name: dict(value or {}) for name, value in checked.variants.items()},
    )


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
    full config, each built and checked against the schema.

    Args:
        sweep: The sweep (:func:`read_sweep`).
        out: The sweep's folder.
        overrides: ``--set`` text applied to every run after the variant's own overrides.
        only: Names of the variants to run (default: all).

    Raises:
        SweepError: An unknown variant in ``only``, ``train.seed`` in ``overrides``, or a
            config that does not match the schema or names a bad transform step (naming the
            variant).
    """
    only = list(only)
    unknown = [name for name in only if name not in sweep.variants]
    if unknown:
        raise SweepError(
            f"sweep file {sweep.path}: no variant {', '.join(map(repr, unknown))} "
            f"(variants: {', '.join(sweep.variants)})"
        )
    if any(text.split("=", 1)[0].strip() == "train.seed" for text in (*sweep.shared, *overrides)):
        raise SweepError(f"sweep file {sweep.path}: train.seed is set by the sweep's seeds")
    runs = []
    for name, variant in sweep.variants.items():
        if only and name not in only:
            continue
        steps: list[Override] = [*sweep.shared, *variant.items(), *overrides]
        for seed in sweep.seeds:
            try:
                config = load_config(sweep.base, [*steps, ("train.seed", seed)])
                check_transforms_config((config.get("data") or {}).get("transforms"))
            except ValueError as exc:
                raise SweepError(f"sweep file {sweep.path}: variant {name!r}: {exc}") from None
            runs.append(SweepRun(name, seed, Path(out) / name / f"seed{seed}", config))
    return runs
