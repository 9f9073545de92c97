"""Every finished variant of the shipped CTR-GCN recipe on MSR Action3D, seed by seed, against
the shipped config's own run on the same seed.

The variants are those of the sweep files whose base is ``configs/msr_ctrgcn.yaml`` and that set
nothing for all their variants (the sweeps of the inward/outward era pin that start with
``set`` and are left out: they vary another config). Each variant's final-epoch top-1 per seed
comes from its committed ``benchmarks/<sweep>_cpu/summary.json``; the reference from the shipped
config's runs (``benchmarks/msr_ctrgcn_partitions_cpu``, variant ``spatial``, seeds 0-8) and
those of every variant that changes nothing (the config run again on other seeds). Variants
tested on other sequences than the test split (``data.holdout_subjects``: a fold inside the
training subjects; a cross-validated sweep, ``folds``) have nothing to pair and are left out.
Variants stopped before their last epoch have no final top-1 and are listed, not plotted.
Prints a table and, with ``--plot``, draws each seed's difference and their mean.

The shipped config was chosen, among the variants of its day, on seeds 0-2, where it scores
higher than on the seeds no sweep chose on (89.94 % against 88.53 % on seeds 3-11): a difference
on seeds 0-2 is biased against the variant. The table gives the mean on the other seeds apart,
and the figure draws their dots filled, those of seeds 0-2 hollow.

    python scripts/msr_variant_differences.py --plot docs/img/msr_runs/variant_differences.png
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pyg_action.engine.sweep import HOLDOUT_KEY, read_sweep

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "configs" / "msr_ctrgcn.yaml"
REFERENCE = ("msr_ctrgcn_partitions", "spatial")
#: One of the 275 test sequences, in points of top-1.
ONE_SEQUENCE = 100 / 275
#: The seeds the shipped config was chosen on.
CHOSEN_ON = frozenset({0, 1, 2})


@dataclass(frozen=True)
class Variant:
    """One variant's final-epoch top-1 per seed (empty when it was stopped early);
    ``unchanged``: the variant sets nothing, so it is the shipped config itself."""

    sweep: str
    name: str
    top1: dict[int, float]
    unchanged: bool = False

    @property
    def is_shipped(self) -> bool:
        """Runs of the shipped config: :data:`REFERENCE` or a variant that changes nothing."""
        return (self.sweep, self.name) == REFERENCE or self.unchanged


def shipped_config_variants(sweeps: Path, benchmarks: Path) -> list[Variant]:
    """The variants of the shipped config that have a committed summary, in sweep order."""
    found = []
    for path in sorted(sweeps.glob("*.yaml")):
        sweep = read_sweep(path)
        summary = benchmarks / f"{path.stem}_cpu" / "summary.json"
        if sweep.base.resolve() != SHIPPED or sweep.shared or not summary.is_file():
            continue
        if sweep.folds:
            continue  # cross-validated: every seed's top-1 is on the training subjects
        for row in json.loads(summary.read_text(encoding="utf-8"))["variants"]:
            settings = sweep.variants[row["variant"]]
            if HOLDOUT_KEY in settings:
                continue  # its test split is a training subject
            top1 = dict(zip(row["seeds"], row["top1"], strict=True))
            unchanged = not settings
            found.append(Variant(path.stem, row["variant"], top1, unchanged))
    return found


def shipped_runs(variants: list[Variant]) -> Variant:
    """The reference: :data:`REFERENCE`'s runs and those of every unchanged variant."""
    top1: dict[int, float] = {}
    for variant in filter(lambda v: v.is_shipped, variants):
        if set(top1) & set(variant.top1):
            raise ValueError(
                f"{variant.sweep} / {variant.name}: a seed of the shipped config twice"
            )
        top1.update(variant.top1)
    return Variant(*REFERENCE, top1, unchanged=True)


def paired_differences(variant: Variant, reference: Variant) -> dict[int, float]:
    """``variant - reference`` in points, on the seeds both finished."""
    return {s: variant.top1[s] - reference.top1[s] for s in variant.top1 if s in reference.top1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=Path, default=ROOT / "configs" / "sweeps")
    parser.add_argument("--benchmarks", type=Path, default=ROOT / "benchmarks")
    parser.add_argument("--plot", type=Path, help="draw the differences into this image")
    args = parser.parse_args()
    variants = shipped_config_variants(args.sweeps, args.benchmarks)
    reference = shipped_runs(variants)
    rows = []
    print(
        "sweep                        variant                      seeds  mean diff  ahead  "
        "seeds 3+  their mean"
    )
    for variant in variants:
        if variant.is_shipped:
            continue
        diffs = paired_differences(variant, reference)
        sweep = variant.sweep.removeprefix("msr_ctrgcn_")
        label = f"{sweep:28s} {variant.name:28s}"
        if not diffs:
            why = "no seed in common with the shipped runs" if variant.top1 else "stopped early"
            print(f"{label} {why}")
            continue
        values = np.array(list(diffs.values()))
        ahead = int((values > 0).sum())
        fresh = [d for seed, d in diffs.items() if seed not in CHOSEN_ON]
        fresh_mean = f"{np.mean(fresh):+10.2f}" if fresh else f"{'-':>10s}"
        print(
            f"{label} {len(values):5d}  {values.mean():+9.2f}  {ahead:2d}/{len(values)}  "
            f"{len(fresh):8d}  {fresh_mean}"
        )
        rows.append((f"{sweep} / {variant.name} ({len(values)})", diffs))
    if args.plot:
        rows.sort(key=lambda row: -np.mean(list(row[1].values())))
        draw(rows, args.plot)


def draw(rows: list[tuple[str, dict[int, float]]], path: Path) -> None:
    """One row a variant (best mean first, its seed count in brackets): a dot a seed (hollow for
    the seeds of :data:`CHOSEN_ON`), the mean as a bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.4 * len(rows) + 1.6))
    for y, (_, diffs) in enumerate(rows):
        chosen = [d for seed, d in diffs.items() if seed in CHOSEN_ON]
        fresh = [d for seed, d in diffs.items() if seed not in CHOSEN_ON]
        style: dict[str, Any] = {"s": 26, "color": "tab:blue", "alpha": 0.7, "zorder": 3}
        ax.scatter(chosen, [y] * len(chosen), facecolors="none", **style)
        ax.scatter(fresh, [y] * len(fresh), **style)
        mean = np.mean(list(diffs.values()))
        ax.plot([mean, mean], [y - 0.3, y + 0.3], color="black", lw=2.5, zorder=4)
    ax.scatter([], [], facecolors="none", color="tab:blue", label="seeds 0-2 (chosen on)")
    ax.scatter([], [], color="tab:blue", label="other seeds")
    ax.legend(loc="lower right", fontsize="small")
    ax.axvline(0, color="tab:red", lw=1)
    ax.set_yticks(range(len(rows)), [label for label, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel(
        "top-1 minus the shipped run of the same seed "
        f"(points; a test sequence is {ONE_SEQUENCE:.2f})"
    )
    ax.set_title("Variants of configs/msr_ctrgcn.yaml (dot: a seed, bar: their mean)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
