"""scripts/msr_variant_differences.py: pairs each variant's seeds with the shipped run of the
same seed, takes exactly the sweeps that vary the shipped config, and draws its figure."""

from __future__ import annotations

import sys

import pytest

import msr_variant_differences as script
from msr_variant_differences import REFERENCE, Variant, paired_differences, shipped_runs


def test_differences_are_taken_seed_by_seed_on_the_seeds_both_finished():
    reference = Variant("ref", "spatial", {0: 90.0, 1: 89.0, 2: 88.0})
    variant = Variant("sweep", "v", {1: 90.0, 2: 87.5, 7: 99.0})
    assert paired_differences(variant, reference) == {1: 1.0, 2: -0.5}
    assert paired_differences(Variant("sweep", "stopped", {}), reference) == {}


def test_runs_of_the_unchanged_config_join_the_reference():
    runs = [
        Variant(*REFERENCE, {0: 90.0, 1: 89.0}),
        Variant("more_seeds", "shipped", {9: 88.0}, unchanged=True),
        Variant("sweep", "v", {9: 87.0}),
    ]
    reference = shipped_runs(runs)
    assert reference.top1 == {0: 90.0, 1: 89.0, 9: 88.0}
    assert paired_differences(runs[2], reference) == {9: -1.0}
    with pytest.raises(ValueError, match="a seed of the shipped config twice"):
        shipped_runs([*runs, Variant("again", "shipped", {1: 88.0}, unchanged=True)])


def test_only_the_sweeps_of_the_shipped_config_are_read():
    variants = script.shipped_config_variants(script.ROOT / "configs" / "sweeps",
                                              script.ROOT / "benchmarks")  # fmt: skip
    sweeps = {v.sweep for v in variants}
    assert script.REFERENCE in {(v.sweep, v.name) for v in variants}
    # the inward/outward era pins its start with `set`: another config, left out
    assert "msr_ctrgcn_penalties" not in sweeps and "msr_ctrgcn_more_seeds" not in sweeps
    assert {"msr_ctrgcn_low_decay", "msr_ctrgcn_swa_spatial", "msr_ctrgcn_turn"} <= sweeps
    # runs tested on a held-out training subject have no test-split score to pair
    assert "msr_ctrgcn_folds" not in sweeps and "msr_ctrgcn_oof_distill" in sweeps
    assert "msr_ctrgcn_cv_start" not in sweeps  # cross-validated, the same
    reference = shipped_runs(variants)
    assert sorted(reference.top1)[:9] == list(range(9))
    low_decay = next(v for v in variants if v.name == "wd2.5e-4")
    assert paired_differences(low_decay, reference)[2] == pytest.approx(91.2727 - 89.8182)


def test_the_script_prints_every_variant_and_draws_the_figure(tmp_path, monkeypatch, capsys):
    image = tmp_path / "differences.png"
    monkeypatch.setattr(sys, "argv", ["msr_variant_differences.py", "--plot", str(image)])
    script.main()
    out = capsys.readouterr().out
    assert "swa76" in out and "stopped early" in out
    rows = [line.split() for line in out.splitlines()[1:]]
    assert ["partitions", "spatial"] not in [row[:2] for row in rows]  # not its own variant
    # seeds 0-5 against the shipped runs 90.18 89.82 89.82 | 89.45 89.09 87.64: all six, then
    # the three the shipped config was not chosen on
    low_decay = next(row for row in rows if row[1] == "wd2.5e-4")
    assert low_decay[2:] == ["6", "-0.91", "2/6", "3", "-1.21"]
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
