"""Printing and plotting benchmark rows: a text table, and a bar chart of the ratios."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.1f}"


def _ratio(entry: dict[str, Any] | None) -> str:
    return "-" if entry is None else f"{entry['ratio']:.2f}"


def table(rows: Sequence[dict[str, Any]]) -> str:
    """One line per row: times in ms, ratios sparse/dense, peak MiB (forward+backward)."""
    header = (
        "operator",
        "variant",
        "shape",
        "fwd ms",
        "dense",
        "ratio",
        "f+b ms",
        "dense",
        "ratio",
        "MiB",
        "dense",
    )
    lines = [header]
    for row in rows:
        fwd, both = row["forward"], row["forward_backward"]
        lines.append(
            (
                row["operator"],
                row["variant"],
                row["shape"],
                f"{1e3 * fwd['sparse_s']:.2f}",
                f"{1e3 * fwd['dense_s']:.2f}",
                _ratio(fwd),
                "-" if both is None else f"{1e3 * both['sparse_s']:.2f}",
                "-" if both is None else f"{1e3 * both['dense_s']:.2f}",
                _ratio(both),
                _mib(row["sparse_peak_bytes"]),
                _mib(row["dense_peak_bytes"]),
            )
        )
        extra = {k: v for k, v in (both or fwd).items() if k.startswith("ratio_vs_")}
        for name, value in extra.items():
            lines.append(("", f"  {name}", "", "", "", "", "", "", f"{value:.2f}", "", ""))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i < 3 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    )


def plot_ratios(rows: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> None:
    """Horizontal bars of sparse/dense time (forward and forward+backward), log scale, with
    the 1.0 parity line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['operator']} [{r['variant']}] {r['shape']}" for r in rows]
    fwd = [r["forward"]["ratio"] for r in rows]
    both = [r["forward_backward"]["ratio"] if r["forward_backward"] else float("nan") for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(rows) + 1.2))
    ys = range(len(rows))
    ax.barh([y + 0.2 for y in ys], fwd, height=0.4, label="forward")
    ax.barh([y - 0.2 for y in ys], both, height=0.4, label="forward + backward")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(list(ys), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time sparse / dense (log; < 1: sparse faster)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90, bbox_inches="tight")  # the longest labels stay whole
    plt.close(fig)
