"""``pyg-action benchmark``: sparse layers and models against their dense references."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import click


@click.command()
@click.option(
    "--suite",
    "suites",
    multiple=True,
    type=click.Choice(["stgcn", "shiftgcn", "vig"]),
    help="Suites to run (repeatable; default all).",
)
@click.option("--quick", is_flag=True, help="Small shapes: about a minute on a CPU.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--threads", type=int, default=None, help="torch.set_num_threads for the run.")
@click.option(
    "--msr-root",
    default="../shared/data/msr_action3d",
    show_default=True,
    help="MSR Action3D folder for the real variable-length case (skipped if absent).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the results as JSON here.",
)
def benchmark(suites, quick, device, threads, msr_root, out):
    """Time forward+backward of the sparse models against their dense references."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    from ..bench.suites import SUITES

    chosen = suites or tuple(SUITES)
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "device": torch.cuda.get_device_name()
        if device == "cuda"
        else platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "quick": quick,
        "results": {},
    }
    for name in chosen:
        click.echo(f"== {name}")
        results = SUITES[name](quick, device, msr_root)
        report["results"][name] = results
        for row in results:
            click.echo(json.dumps(row, default=float))
    if out:
        Path(out).write_text(json.dumps(report, indent=2, default=float))
        click.echo(f"wrote {out}")
