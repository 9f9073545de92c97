"""``pyg-action benchmark``: sparse operators and models against their dense references."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import click

from ..bench.run import AUTOCAST, DTYPES, MODELS, OPERATORS
from ..bench.shapes import PRESETS
from ..bench.sweep import SWEEPS
from ..nn.backend import Backend, use_backend


def _names(value: str | None, known: tuple[str, ...], what: str) -> list[str]:
    """``"all"``, ``"none"`` or a comma-separated selection of ``known``."""
    if value is None or value == "all":
        return list(known)
    if value == "none":
        return []
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise click.BadParameter(f"unknown {what} {unknown}; choose from {', '.join(known)}")
    return names


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _environment(device: str, threads: int) -> dict[str, Any]:
    import torch
    import torch_geometric

    try:
        import torch_scatter

        scatter = torch_scatter.__version__
    except ImportError:
        scatter = None
    return {
        "date": time.strftime("%Y-%m-%d"),
        "device": torch.cuda.get_device_name() if device == "cuda" else _cpu_name(),
        "threads": threads,
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "torch_scatter": scatter,
        "python": platform.python_version(),
    }


@click.command()
@click.option(
    "--operators",
    default=None,
    help=f"Comma-separated operators, 'all' or 'none' (default all): {', '.join(OPERATORS)}.",
)
@click.option(
    "--models",
    default=None,
    help=f"Comma-separated models, 'all' or 'none' (default all): {', '.join(MODELS)}.",
)
@click.option(
    "--shape",
    "shapes",
    multiple=True,
    type=click.Choice(list(PRESETS)),
    help="Input shape preset (repeatable; default ntu25-T100 and vig-14x14).",
)
@click.option("--quick", is_flag=True, help="Small shapes and widths: under a minute on a CPU.")
@click.option(
    "--dtype",
    type=click.Choice([*DTYPES, *AUTOCAST]),
    default="float32",
    show_default=True,
    help="Input dtype; bfloat16 and float16 keep fp32 inputs and run under autocast.",
)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--repeats", type=int, default=None, help="Timed rounds [3 with --quick, else 5].")
@click.option("--warmup", type=int, default=1, show_default=True, help="Untimed rounds.")
@click.option("--threads", type=int, default=None, help="torch.set_num_threads for the run.")
@click.option("--no-memory", is_flag=True, help="Skip the peak-memory measurements.")
@click.option(
    "--linear",
    type=click.Choice(list(Backend.CHOICES["linear"])),
    default="onednn",
    show_default=True,
    help="Point-wise maps of the sparse layers: oneDNN on CPU where it applies, or always "
    "torch's F.linear.",
)
@click.option(
    "--sweep",
    type=click.Choice(list(SWEEPS)),
    default=None,
    help="Instead of the rows: scaling sweep in batch size or in generic graph size.",
)
@click.option(
    "--max-nodes",
    type=int,
    default=1_000_000,
    show_default=True,
    help="Largest graph of --sweep graph (10 edges per node).",
)
@click.option(
    "--msr-root",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="MSR Action3D folder: sample lengths of the msr20-real shape (which needs it).",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    help="Sparse variant to time, e.g. block, gather, message (repeatable; default all). The "
    "message forms of Shift-GCN need over 100 GB at B=64, T=300.",
)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write JSON here.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write a PNG here (ratio bars; log-log time and memory for a sweep).",
)
def benchmark(
    operators,
    models,
    shapes,
    quick,
    dtype,
    device,
    repeats,
    warmup,
    threads,
    no_memory,
    linear,
    sweep,
    max_nodes,
    msr_root,
    variants,
    out,
    plot,
):
    """Time forward and forward+backward of sparse operators and models against their dense
    references in one process (interleaved rounds, medians, ratio sparse/dense, peak memory)."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    repeats = repeats if repeats is not None else 3 if quick else 5
    report: dict[str, Any] = {
        **_environment(device, torch.get_num_threads()),
        "dtype": dtype,
        "quick": quick,
        "repeats": repeats,
        "warmup": warmup,
        "linear": linear,
    }
    with use_backend(linear=linear):
        if sweep is not None:
            from ..bench.sweep import plot_sweep, sweep_table

            if dtype not in DTYPES:
                raise click.UsageError(f"--sweep runs in {' or '.join(DTYPES)}, not {dtype}")
            points = SWEEPS[sweep](
                quick=quick, device=device, dtype=dtype, repeats=repeats, max_nodes=max_nodes
            )
            report.update(sweep=sweep, points=points)
            click.echo(sweep_table(points))
            if plot:
                plot_sweep(points, plot, f"{sweep} sweep, {report['device']}")
        else:
            from ..bench.report import plot_ratios, table
            from ..bench.run import Settings, run

            if msr_root is None and any(PRESETS[name].real_lengths for name in shapes):
                raise click.UsageError(
                    "--shape msr20-real draws its sample lengths from MSR Action3D files: "
                    "give their folder with --msr-root"
                )
            settings = Settings(
                _names(operators, OPERATORS, "operators"),
                _names(models, MODELS, "models"),
                list(shapes),
                quick,
                dtype,
                device,
                warmup,
                repeats,
                msr_root,
                not no_memory,
                variants,
            )
            rows = run(settings)
            report["rows"] = rows
            click.echo(table(rows))
            if plot:
                plot_ratios(rows, plot, f"{report['device']}, {dtype}, {report['date']}")
    if out:
        Path(out).write_text(json.dumps(report, indent=2, default=float))
        click.echo(f"wrote {out}")
    if plot:
        click.echo(f"wrote {plot}")
